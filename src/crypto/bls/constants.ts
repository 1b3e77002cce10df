/** Secret keys: 32-byte big-endian scalars in [1, r). */
export const SECRET_KEY_LENGTH = 32;
/** Public keys are G1 points: 48 bytes compressed (the canonical form), 96 uncompressed. */
export const PUBLIC_KEY_LENGTH = 48;
export const PUBLIC_KEY_UNCOMPRESSED_LENGTH = 96;
/** Signatures are G2 points: 96 bytes compressed (the canonical form), 192 uncompressed. */
export const SIGNATURE_LENGTH = 96;
export const SIGNATURE_UNCOMPRESSED_LENGTH = 192;

/** Ethereum's ciphersuite (IETF draft-irtf-cfrg-bls-signature, proof-of-possession scheme): the signing DST. */
export const SIGNATURE_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/** The DST PopProve/PopVerify hash the public key with, so a proof of possession is never a valid message signature. */
export const POP_DST = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/** Order r of G1, G2 and GT. */
export const CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

/**
 * Bits of each random scalar in batch verification (random linear combination). 64 bits gives a forgery
 * probability of 2^-64 per batch, the same choice as blst's verifyMultipleAggregateSignatures and Ethereum clients.
 */
export const BATCH_RANDOM_BITS = 64;
