/**
 * Sizes and bounds of the wire format. The codec enforces every one of them on encode and on decode, so a peer can
 * never make a node allocate or loop beyond them, and the node can never emit a message its peers would refuse.
 */

/** SHA-256 digests: block hashes, parent links, Merkle and state roots. */
export const HASH_BYTES = 32;
/** BLS12-381 public key, compressed G1 (Ethereum ciphersuite). */
export const PUBLIC_KEY_BYTES = 48;
/** BLS12-381 signature, compressed G2: aggregates in QCs and TCs, and the handshake's proof of key possession. */
export const SIGNATURE_BYTES = 96;
/**
 * A vote's or a timeout's own signature travels uncompressed (G2, 192 bytes). The collector parses 2f+1 of them per
 * view: uncompressed parsing is an on-curve check (≈ 1 µs with blst) where a compressed one costs a square root and a
 * subgroup check (≈ 20 + 36 µs). 96 extra bytes per vote buy a QC build of 0.96 ms instead of 1.77 ms for n = 64
 * (bench bls, "qc build"); the aggregate is subgroup-checked once (see src/crypto/bls/qc.ts for the argument).
 */
export const VOTE_SIGNATURE_BYTES = 192;
/** Handshake nonces: 256 bits from a CSPRNG. */
export const NONCE_BYTES = 32;
/** Handshake ephemeral keys: an X25519 public key (RFC 7748). */
export const EPHEMERAL_KEY_BYTES = 32;

/** Largest encoded message. The link's maximum frame must be at least this (plus its coalescing overhead). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Largest single transaction. */
export const MAX_TX_BYTES = 64 * 1024;
/** Most transactions in one block (the proposal's payload). Its packed index is 4 bytes per tx: 256 KiB at most. */
export const MAX_TXS_PER_BLOCK = 65_536;
/** Most transactions in one gossip batch. */
export const MAX_TXS_PER_BATCH = 8_192;
/**
 * Longest client id a gossip batch carries for the origin of its txs (the RPC's client ids are IP addresses: 45
 * characters at most for IPv6 text, a zone id included stays under this).
 */
export const MAX_ORIGIN_BYTES = 64;
/** Most committed blocks in one sync response (the message size bounds the total bytes as well). */
export const MAX_SYNC_BLOCKS = 256;
/**
 * Most transactions across all blocks of one sync response. Without it a 16 MiB response of tiny transactions would
 * decode into ~3 million views (~300 MB of heap); with it a response costs at most ~26 MB of views. Responders fill
 * a response up to whichever of MAX_SYNC_BLOCKS, MAX_SYNC_TXS and MAX_MESSAGE_BYTES comes first.
 */
export const MAX_SYNC_TXS = 4 * 65_536;
/**
 * Largest encoded bitmap (QC/TC signer sets, a block's tx-result bitmap). A dense bitset of MAX_TXS_PER_BLOCK bits is
 * 8 KiB; the Roaring portable format of the same set stays under 9 KiB; this leaves generous room.
 */
export const MAX_BITMAP_BYTES = 64 * 1024;
/** Most entries in a TC's high-QC view list (one per signer). */
export const MAX_CERT_SIGNERS = 4_096;
/** Chain ids are short names or digests. */
export const MAX_CHAIN_ID_BYTES = 64;
/**
 * Views, heights and timestamps are uint64 on the wire and JS numbers here: values above 2^53 - 1 are refused on both
 * sides (at one view per millisecond that is still 285,000 years).
 */
export const MAX_UINT53 = Number.MAX_SAFE_INTEGER;
