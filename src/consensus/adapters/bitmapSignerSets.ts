/**
 * Certificate signer sets as the crypto layer's compact bitmaps (src/crypto/bitmap): exactly `n` bits (the validator
 * count), canonical encodings only — so one signer set has one byte string, which keeps QC/TC bytes non-malleable
 * for the verification cache and equivocation keys — and never a throw on hostile bytes (a `BitmapError` is null).
 */
import { Bitset, BitmapError, bitmapCodec } from "../../crypto/bitmap/index.js";
import type { BitmapCodec } from "../../crypto/bitmap/index.js";
import type { SignerSetCodec } from "../scheme.js";

export function bitmapSignerSets(codec: BitmapCodec = bitmapCodec()): SignerSetCodec {
  return {
    encode(indices, n) {
      return codec.encode(Bitset.fromIndices(n, indices));
    },
    decode(bytes, n) {
      try {
        return Array.from(codec.decode(bytes, { length: n, maxBits: n, canonical: true }).toIndices());
      } catch (e) {
        if (e instanceof BitmapError) return null;
        throw e;
      }
    },
  };
}
