// Bitmap benchmarks. The codec rows compare Quire's compact format (wasm, ts) against the `roaring` native addon's
// portable format (the baseline) on the two bitmaps the node ships: a QC signer set and a block's tx-result bitmap.
// Group names carry the encoded sizes; a summary line with counts and sizes goes to stderr.
//
// What is compared: Quire encodes a dense Bitset (scanning all n bits) and decodes into a freshly allocated dense
// Bitset; roaring serializes/deserializes its own compressed containers (a memcpy of sorted arrays for sparse sets).
// The bitset rows show the core's word operations against the plain JS loops Bitset uses below WASM_MIN_WORDS_SCAN (wasmBitset.ts).
import type { BenchCase } from "../harness.js";
import { Bitset, decodeBitmap, encodeBitmap } from "../../src/crypto/bitmap/index.js";
import type { BitmapBackend } from "../../src/crypto/bitmap/index.js";
import { popcount32 } from "../../src/crypto/bitmap/bitset.js";
import { SeededRng } from "../../src/util/rng.js";

type RoaringModule = typeof import("roaring");

// `roaring` is a dev dependency (a native addon): without it the roaring rows are skipped, the rest still runs.
async function loadRoaring(): Promise<RoaringModule["RoaringBitmap32"] | undefined> {
  try {
    return (await import("roaring")).default.RoaringBitmap32;
  } catch {
    return undefined;
  }
}

interface Workload {
  name: string;
  bits: Bitset;
}

/** The two workloads of issue 2, from a fixed seed so every run measures the same sets. */
export function bitmapWorkloads(): Workload[] {
  const rng = new SeededRng(0x5eed);
  // n = 1,024 validators, 2f+1 = 683 signers at random positions.
  const validators = rng.shuffle(Array.from({ length: 1024 }, (_, i) => i)).slice(0, 683);
  const signers = Bitset.fromIndices(1024, validators);
  // 100,000 txs, each failing with probability 1%.
  const failed = new Bitset(100_000);
  for (let i = 0; i < 100_000; i++) if (rng.chance(0.01)) failed.set(i);
  return [
    { name: "1024 signers 2/3", bits: signers },
    { name: "100k txs 1% failed", bits: failed },
  ];
}

const BACKENDS: BitmapBackend[] = ["wasm", "ts"];

function codecCases(w: Workload, Roaring: RoaringModule["RoaringBitmap32"] | undefined, summary: string[]): BenchCase[] {
  const cases: BenchCase[] = [];
  const size = w.bits.length;
  const count = w.bits.count();
  const quire = encodeBitmap(w.bits);
  const roaring = Roaring?.from(w.bits.toIndices());
  const roaringBytes = roaring?.serialize(true);
  const sizes = `quire ${quire.length} B, roaring ${roaringBytes?.length ?? "n/a"} B`;
  summary.push(`bitmap ${w.name}: ${count} of ${size} set; encoded ${sizes}`);
  const encodeGroup = `bitmap encode ${w.name} (${sizes})`;
  const decodeGroup = `bitmap decode ${w.name} (${sizes})`;
  if (roaring !== undefined && roaringBytes !== undefined) {
    const len = roaringBytes.length;
    cases.push({
      group: encodeGroup,
      backend: "roaring",
      size,
      baseline: true,
      fn: () => {
        if (roaring.serialize(true).length !== len) throw new Error("roaring size changed");
      },
    });
  }
  for (const backend of BACKENDS) {
    cases.push({
      group: encodeGroup,
      backend,
      size,
      fn: () => {
        if (encodeBitmap(w.bits, { backend }).length !== quire.length) throw new Error(`${backend} size changed`);
      },
    });
  }
  if (Roaring !== undefined && roaringBytes !== undefined) {
    cases.push({
      group: decodeGroup,
      backend: "roaring",
      size,
      baseline: true,
      fn: () => {
        if (Roaring.deserialize(roaringBytes, true).size !== count) throw new Error("roaring decode changed");
      },
    });
  }
  for (const backend of BACKENDS) {
    const opts = { backend, length: size };
    cases.push({
      group: decodeGroup,
      backend,
      size,
      fn: () => {
        if (decodeBitmap(quire, opts).length !== size) throw new Error(`${backend} decode changed`);
      },
    });
  }
  return cases;
}

/** Bitset.count (the core's i64.popcnt from WASM_MIN_WORDS_SCAN words on) and toIndices against the plain JS word loops. */
function bitsetCases(w: Workload): BenchCase[] {
  const b = w.bits;
  const words = b.words;
  const count = b.count();
  const jsCount = (): number => {
    let n = 0;
    for (let k = 0; k < words.length; k++) if (words[k] !== 0) n += popcount32(words[k]!);
    return n;
  };
  const jsIndices = (): Uint32Array => {
    const out = new Uint32Array(count);
    let n = 0;
    for (let k = 0; k < words.length; k++) {
      let x = words[k]!;
      while (x !== 0) {
        out[n++] = (k << 5) + 31 - Math.clz32(x & -x);
        x &= x - 1;
      }
    }
    return out;
  };
  const check = (got: number) => {
    if (got !== count) throw new Error("count changed");
  };
  return [
    { group: `bitmap bitset count ${w.name}`, backend: "js loop", size: b.length, baseline: true, fn: () => check(jsCount()) },
    { group: `bitmap bitset count ${w.name}`, backend: "Bitset", size: b.length, fn: () => check(b.count()) },
    { group: `bitmap bitset toIndices ${w.name}`, backend: "js loop", size: b.length, baseline: true, fn: () => check(jsIndices().length) },
    { group: `bitmap bitset toIndices ${w.name}`, backend: "Bitset", size: b.length, fn: () => check(b.toIndices().length) },
  ];
}

export async function bitmapCases(): Promise<BenchCase[]> {
  const Roaring = await loadRoaring();
  const summary: string[] = [];
  const cases: BenchCase[] = [];
  const workloads = bitmapWorkloads();
  for (const w of workloads) cases.push(...codecCases(w, Roaring, summary));
  for (const w of workloads) cases.push(...bitsetCases(w));
  process.stderr.write(summary.join("\n") + "\n");
  return cases;
}
