// The default hasher: each job goes to the backend that is fastest for it on this kind of machine.
//
// The WASM core hashes four messages at once in SIMD lanes and costs little to call; node:crypto (OpenSSL) pays
// ~0.6 us per call to reach C++ but then runs the CPU's SHA instructions, 5-7x faster per byte than one wasm lane.
// So short messages and anything batched (tx ids, Merkle levels and trees) stay in the core, and long messages go to
// OpenSSL. The thresholds below are measured (best of 25 batches, this 2-vCPU machine, Dec 3 2026; reproduce with
// `quire bench crypto --filter "hash per job"`); both are bytes hashed, the prefix byte included.

import { checkPrefix, DIGEST_LENGTH } from "../hasher.js";
import type { TreeHasher } from "../hasher.js";
import { NodeHasher } from "./node.js";
import { WasmHasher } from "./wasm.js";

/**
 * A single message of at least this many bytes goes to node:crypto. Below, one wasm call is cheaper than the trip
 * into OpenSSL: 112 B (two SHA-256 blocks) 0.60 us wasm vs 0.66 us node; from 120 B the message takes a third block
 * and wasm costs 0.88 us vs 0.75 us; 1 KiB 4.2 vs 1.2 us; 64 KiB 259 vs 37 us.
 */
export const SINGLE_NODE_MIN_BYTES = 120;

/**
 * In a digestMany of at least BATCH_LANES messages, a message of at least this many bytes goes to node:crypto: the
 * core's four lanes win until then. Per message, 1,000 x 320 B: 0.73 us wasm vs 0.92 us node; 448 B: 0.97 vs 1.03
 * (a tie, also at 4 and 16 messages); 512 B: 1.20 vs 1.11; 768 B: 1.59 vs 1.05; 2 KiB: 3.8 vs 1.9.
 */
export const MANY_NODE_MIN_BYTES = 512;

/**
 * Fewer messages than this do not fill the core's SIMD lanes, so each is judged like a single message: 2 x 256 B
 * cost 1.38 us per message in the core and 0.75 us in node; 4 x 256 B 0.65 vs 0.83.
 */
export const BATCH_LANES = 4;

/** The backends an AutoHasher dispatches to (tests pass other cores). */
export interface AutoHasherModules {
  wasm?: WasmHasher;
  node?: NodeHasher;
}

/**
 * SHA-256 that picks, per call, the faster of the WASM core and node:crypto (thresholds above). Levels and whole
 * RFC 6962 trees always run in the core: they are batches of 64-byte messages. Identical bytes to every backend.
 */
export class AutoHasher implements TreeHasher {
  readonly backend = "auto" as const;
  readonly wasm: WasmHasher;
  readonly node: NodeHasher;

  constructor(modules: AutoHasherModules = {}) {
    this.wasm = modules.wasm ?? new WasmHasher();
    this.node = modules.node ?? new NodeHasher();
  }

  /** Whether a single message of `length` bytes (prefix excluded) goes to node:crypto. */
  singleToNode(length: number, prefix?: number): boolean {
    return length + (prefix === undefined ? 0 : 1) >= SINGLE_NODE_MIN_BYTES;
  }

  // One call site per backend (not a method called on either): each stays monomorphic for the JIT.
  digest(data: Uint8Array, prefix?: number): Uint8Array {
    return this.singleToNode(data.length, prefix) ? this.node.digest(data, prefix) : this.wasm.digest(data, prefix);
  }

  digestInto(data: Uint8Array, out: Uint8Array, offset = 0, prefix?: number): void {
    if (this.singleToNode(data.length, prefix)) this.node.digestInto(data, out, offset, prefix);
    else this.wasm.digestInto(data, out, offset, prefix);
  }

  /**
   * Long messages go to node:crypto one by one and the rest to the core in one batch; a batch that is all short
   * (tx ids, leaves) or all long costs one length pass more than calling that backend directly.
   */
  digestMany(messages: readonly Uint8Array[], prefix?: number): Uint8Array {
    checkPrefix(prefix);
    const n = messages.length;
    const min = (n < BATCH_LANES ? SINGLE_NODE_MIN_BYTES : MANY_NODE_MIN_BYTES) - (prefix === undefined ? 0 : 1);
    let long = 0;
    for (let i = 0; i < n; i++) if (messages[i]!.length >= min) long++;
    if (long === 0) return this.wasm.digestMany(messages, prefix);
    if (long === n) return this.node.digestMany(messages, prefix);
    const out = new Uint8Array(n * DIGEST_LENGTH);
    const short: Uint8Array[] = [];
    const where: number[] = [];
    for (let i = 0; i < n; i++) {
      const m = messages[i]!;
      if (m.length >= min) this.node.digestInto(m, out, i * DIGEST_LENGTH, prefix);
      else {
        short.push(m);
        where.push(i);
      }
    }
    const packed = this.wasm.digestMany(short, prefix);
    for (let k = 0; k < where.length; k++) out.set(packed.subarray(k * DIGEST_LENGTH, (k + 1) * DIGEST_LENGTH), where[k]! * DIGEST_LENGTH);
    return out;
  }

  digestLevel(input: Uint8Array, out: Uint8Array, prefix?: number): void {
    this.wasm.digestLevel(input, out, prefix);
  }

  treeRoot(leaves: readonly Uint8Array[]): Uint8Array {
    return this.wasm.treeRoot(leaves);
  }

  treeProof(leaves: readonly Uint8Array[], leafIndex: number): { root: Uint8Array; leafHash: Uint8Array; proof: Uint8Array[] } {
    return this.wasm.treeProof(leaves, leafIndex);
  }

  treeVerify(leafHash: Uint8Array, leafIndex: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): number {
    return this.wasm.treeVerify(leafHash, leafIndex, treeSize, proof, root);
  }
}
