import { HASH_BACKENDS, HashError } from "../hasher.js";
import type { HashBackend, Hasher } from "../hasher.js";
import type { WasmCore } from "../wasm/loader.js";
import { AutoHasher } from "./auto.js";
import { NodeHasher } from "./node.js";
import { NobleHasher } from "./noble.js";
import { WasmHasher } from "./wasm.js";

export interface HasherOptions {
  /** For the wasm and auto backends: the core (build) to run on; default: this thread's shared core. */
  core?: WasmCore;
}

/** A hasher for `backend`. Throws HashError("UNKNOWN_BACKEND") for a name that is not one of HASH_BACKENDS. */
export function createHasher(backend: HashBackend, opts: HasherOptions = {}): Hasher {
  switch (backend) {
    case "wasm":
      return new WasmHasher(opts.core);
    case "node":
      return new NodeHasher();
    case "noble":
      return new NobleHasher();
    case "auto":
      return new AutoHasher({ wasm: new WasmHasher(opts.core) });
    default:
      throw new HashError("UNKNOWN_BACKEND", `unknown hash backend "${String(backend)}" (expected ${HASH_BACKENDS.join("|")})`);
  }
}

let shared: Hasher | undefined;

/**
 * This thread's default hasher: per call, the WASM core (SIMD build when the runtime supports it) for short
 * messages, batches, levels and trees, node:crypto for long messages (thresholds in auto.ts).
 */
export function defaultHasher(): Hasher {
  shared ??= new AutoHasher();
  return shared;
}

/**
 * Makes `hasher` what `defaultHasher()` returns on this thread from now on: the node's `hash.backend` setting, applied
 * at start before anything takes the default (the mempool, executor and KV app take it when they are built). Callers
 * of `defaultHasher()` use only the `Hasher` contract (tree methods are probed with `isTreeHasher`).
 */
export function setDefaultHasher(hasher: Hasher): void {
  shared = hasher;
}
