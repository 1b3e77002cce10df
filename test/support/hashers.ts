import type { Hasher } from "../../src/crypto/hasher.js";
import { AutoHasher } from "../../src/crypto/hash/auto.js";
import { NobleHasher } from "../../src/crypto/hash/noble.js";
import { NodeHasher } from "../../src/crypto/hash/node.js";
import { WasmHasher } from "../../src/crypto/hash/wasm.js";
import { WasmCore, simdAvailable } from "../../src/crypto/wasm/loader.js";

/**
 * Every hashing backend, with both WASM builds as separate contenders, and the per-job dispatcher (`auto`, the
 * default), for the shared suites.
 */
export function allHashers(): Array<{ name: string; hasher: Hasher }> {
  const list: Array<{ name: string; hasher: Hasher }> = [
    { name: "wasm-scalar", hasher: new WasmHasher(new WasmCore("scalar")) },
    { name: "node", hasher: new NodeHasher() },
    { name: "noble", hasher: new NobleHasher() },
    { name: "auto", hasher: new AutoHasher({ wasm: new WasmHasher(new WasmCore(simdAvailable() ? "simd" : "scalar")) }) },
  ];
  // Node >= 16.4 validates SIMD; the guard keeps the suite meaningful on a runtime without it.
  if (simdAvailable()) list.unshift({ name: "wasm-simd", hasher: new WasmHasher(new WasmCore("simd")) });
  return list;
}
