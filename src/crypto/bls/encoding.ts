import { BlsError } from "./errors.js";
import {
  PUBLIC_KEY_LENGTH,
  PUBLIC_KEY_UNCOMPRESSED_LENGTH,
  SECRET_KEY_LENGTH,
  CURVE_ORDER,
  SIGNATURE_LENGTH,
  SIGNATURE_UNCOMPRESSED_LENGTH,
} from "./constants.js";

// The three flag bits of the ZCash/IETF serialisation, in the first byte.
const FLAG_COMPRESSED = 0x80;
const FLAG_INFINITY = 0x40;
const FLAG_SORT = 0x20;

/** Which serialisation a point's bytes use. */
export type PointForm = "compressed" | "uncompressed";

/**
 * Checks the length and flag bits of a serialised point before any backend parses it, so all three backends reject
 * the same encodings with the same code: the length picks the form, the compression bit must agree with it, the sort
 * bit is only allowed on compressed points, and the identity is refused outright (an identity public key verifies
 * anything against an identity signature, and an identity signature is never a valid signature from a real key).
 */
export function precheckPoint(bytes: Uint8Array, what: "publicKey" | "signature"): PointForm {
  const compressedLength = what === "publicKey" ? PUBLIC_KEY_LENGTH : SIGNATURE_LENGTH;
  const uncompressedLength = what === "publicKey" ? PUBLIC_KEY_UNCOMPRESSED_LENGTH : SIGNATURE_UNCOMPRESSED_LENGTH;
  const code = what === "publicKey" ? "BAD_PUBLIC_KEY" : "BAD_SIGNATURE";
  let form: PointForm;
  if (bytes.length === compressedLength) form = "compressed";
  else if (bytes.length === uncompressedLength) form = "uncompressed";
  else throw new BlsError(code, `${what} must be ${compressedLength} or ${uncompressedLength} bytes, got ${bytes.length}`);
  const flags = bytes[0]!;
  if ((flags & FLAG_COMPRESSED) !== 0 !== (form === "compressed")) {
    throw new BlsError(code, `${what}: compression flag does not match the ${bytes.length}-byte length`);
  }
  if ((flags & FLAG_INFINITY) !== 0) throw new BlsError(code, `${what} is the point at infinity`);
  if (form === "uncompressed" && (flags & FLAG_SORT) !== 0) throw new BlsError(code, `${what}: sort flag set on an uncompressed point`);
  return form;
}

/** Checks a secret key's encoding: 32 bytes, big-endian, 1 <= sk < r. Returns the scalar. Never echoes the bytes. */
export function secretKeyScalar(bytes: Uint8Array): bigint {
  if (bytes.length !== SECRET_KEY_LENGTH) throw new BlsError("BAD_SECRET_KEY", `secret key must be ${SECRET_KEY_LENGTH} bytes, got ${bytes.length}`);
  let x = 0n;
  for (let i = 0; i < bytes.length; i++) x = (x << 8n) | BigInt(bytes[i]!);
  if (x === 0n || x >= CURVE_ORDER) throw new BlsError("BAD_SECRET_KEY", "secret key is not in [1, r)");
  return x;
}

/** 32-byte big-endian encoding of a scalar below 2^256. */
export function scalarToBytes(x: bigint): Uint8Array {
  const out = new Uint8Array(SECRET_KEY_LENGTH);
  for (let i = SECRET_KEY_LENGTH - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
