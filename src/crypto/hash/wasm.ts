import type { WasmBaseExports } from "../wasm/loader.js";
import { WasmCore, wasmCore } from "../wasm/loader.js";
import { DIGEST_LENGTH, checkDigestOutput, checkLevel, checkPrefix } from "../hasher.js";
import type { TreeHasher } from "../hasher.js";
import { high32 } from "../../util/bytes.js";

/** The SHA-256 and Merkle exports of the core (assembly/sha256.ts, assembly/merkle.ts); all addresses are arena offsets. */
interface HashExports extends WasmBaseExports {
  sha256(ptr: number, len: number, prefix: number, out: number): void;
  sha256Batch(data: number, offsets: number, count: number, prefix: number, out: number): void;
  sha256Level(input: number, count: number, prefix: number, out: number): void;
  merkleRoot(data: number, offsets: number, count: number, work: number, out: number): void;
  merkleProof(data: number, offsets: number, count: number, index: number, work: number, proof: number, root: number, leafHash: number): number;
  merkleVerify(leafHash: number, indexLo: number, indexHi: number, sizeLo: number, sizeHi: number, proof: number, proofLen: number, root: number): number;
}

// Inputs start this far into the arena: the core reads the byte before a prefixed message (its prefix slot).
const INPUT_OFFSET = 16;
// An RFC 6962 audit path has at most 64 nodes (tree sizes are 64-bit).
const MAX_PROOF_NODES = 64;

const align16 = (n: number): number => (n + 15) & ~15;

/**
 * SHA-256 and whole RFC 6962 trees in the WebAssembly core: each call copies its input into the core's scratch
 * arena, crosses the boundary once and copies the result out. Memory grows on demand (2^20 leaves need ~70 MiB).
 */
export class WasmHasher implements TreeHasher {
  readonly backend = "wasm" as const;
  readonly core: WasmCore;
  private readonly x: HashExports;

  /** `core` selects the build (tests run `new WasmCore("scalar")` and `new WasmCore("simd")`); default: this thread's core. */
  constructor(core: WasmCore = wasmCore()) {
    this.core = core;
    this.x = core.exports as unknown as HashExports;
  }

  digest(data: Uint8Array, prefix?: number): Uint8Array {
    const out = new Uint8Array(DIGEST_LENGTH);
    this.digestInto(data, out, 0, prefix);
    return out;
  }

  digestInto(data: Uint8Array, out: Uint8Array, offset = 0, prefix?: number): void {
    const p = checkPrefix(prefix);
    checkDigestOutput(out, offset);
    const inPtr = this.core.reserve(INPUT_OFFSET + align16(data.length) + DIGEST_LENGTH) + INPUT_OFFSET;
    const outPtr = inPtr + align16(data.length);
    const mem = this.core.u8();
    mem.set(data, inPtr);
    this.x.sha256(inPtr, data.length, p, outPtr);
    out.set(mem.subarray(outPtr, outPtr + DIGEST_LENGTH), offset);
  }

  digestMany(messages: readonly Uint8Array[], prefix?: number): Uint8Array {
    const p = checkPrefix(prefix);
    const n = messages.length;
    const { data, offsets } = this.copyMessages(messages, n * DIGEST_LENGTH);
    const outPtr = align16(offsets + 4 * (n + 1));
    this.x.sha256Batch(data, offsets, n, p, outPtr);
    return this.core.u8().slice(outPtr, outPtr + n * DIGEST_LENGTH);
  }

  digestLevel(input: Uint8Array, out: Uint8Array, prefix?: number): void {
    const p = checkPrefix(prefix);
    const n = checkLevel(input, out);
    const ptr = this.core.reserve(INPUT_OFFSET + input.length) + INPUT_OFFSET;
    const mem = this.core.u8();
    mem.set(input, ptr);
    this.x.sha256Level(ptr, n, p, ptr); // in place inside the arena
    out.set(mem.subarray(ptr, ptr + n * DIGEST_LENGTH));
  }

  treeRoot(leaves: readonly Uint8Array[]): Uint8Array {
    const n = leaves.length;
    const { data, offsets } = this.copyMessages(leaves, n * DIGEST_LENGTH + DIGEST_LENGTH);
    const work = align16(offsets + 4 * (n + 1));
    const out = work + n * DIGEST_LENGTH;
    this.x.merkleRoot(data, offsets, n, work, out);
    return this.core.u8().slice(out, out + DIGEST_LENGTH);
  }

  treeProof(leaves: readonly Uint8Array[], leafIndex: number): { root: Uint8Array; leafHash: Uint8Array; proof: Uint8Array[] } {
    const n = leaves.length;
    const tail = n * DIGEST_LENGTH + (MAX_PROOF_NODES + 2) * DIGEST_LENGTH;
    const { data, offsets } = this.copyMessages(leaves, tail);
    const work = align16(offsets + 4 * (n + 1));
    const root = work + n * DIGEST_LENGTH;
    const leafHash = root + DIGEST_LENGTH;
    const proof = leafHash + DIGEST_LENGTH;
    const len = this.x.merkleProof(data, offsets, n, leafIndex, work, proof, root, leafHash);
    const mem = this.core.u8();
    const path: Uint8Array[] = [];
    for (let i = 0; i < len; i++) path.push(mem.slice(proof + i * DIGEST_LENGTH, proof + (i + 1) * DIGEST_LENGTH));
    return { root: mem.slice(root, root + DIGEST_LENGTH), leafHash: mem.slice(leafHash, leafHash + DIGEST_LENGTH), proof: path };
  }

  treeVerify(leafHash: Uint8Array, leafIndex: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): number {
    const base = this.core.reserve((proof.length + 2) * DIGEST_LENGTH);
    const mem = this.core.u8();
    mem.set(leafHash, base);
    mem.set(root, base + DIGEST_LENGTH);
    const proofPtr = base + 2 * DIGEST_LENGTH;
    for (let i = 0; i < proof.length; i++) mem.set(proof[i]!, proofPtr + i * DIGEST_LENGTH);
    return this.x.merkleVerify(base, leafIndex >>> 0, high32(leafIndex), treeSize >>> 0, high32(treeSize), proofPtr, proof.length, base + DIGEST_LENGTH);
  }

  /**
   * Copies messages into the arena as one byte run plus a u32 offset table (count + 1 entries), reserving `extra`
   * bytes (plus alignment) after the table. Returns the arena addresses of both.
   */
  private copyMessages(messages: readonly Uint8Array[], extra: number): { data: number; offsets: number } {
    const n = messages.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += messages[i]!.length;
    const tableBytes = 4 * (n + 1);
    const base = this.core.reserve(INPUT_OFFSET + align16(total) + tableBytes + 16 + extra);
    const data = base + INPUT_OFFSET;
    const offsets = data + align16(total);
    const mem = this.core.u8();
    const table = new Uint32Array(mem.buffer, offsets, n + 1);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const m = messages[i]!;
      table[i] = off;
      mem.set(m, data + off);
      off += m.length;
    }
    table[n] = off;
    return { data, offsets };
  }
}
