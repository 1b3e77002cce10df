import type { BenchSuite } from "./harness.js";
import { runCases } from "./harness.js";
import { hashCases } from "./crypto/hash.js";
import { bitmapCases } from "./crypto/bitmap.js";

/** `quire bench crypto`: hashing, Merkle roots and level hashing per backend, then the bitmap codec vs roaring. */
export const suite: BenchSuite = {
  flags: [],
  async run(_args, opts) {
    const cases = [...(await hashCases()), ...(await bitmapCases())];
    return runCases("crypto", cases, opts);
  },
};
