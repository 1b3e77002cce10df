// Bitmap benchmarks. The codec rows compare Quire's compact format (wasm, ts) against the `roaring` native addon's
// portable format (the baseline) on the two bitmaps the node ships: a QC signer set and a block's tx-result bitmap.
// Group names carry the encoded sizes; a summary line with counts and sizes goes to stderr.
//
// What is compared: roaring serializes/deserializes its own compressed containers (for a sparse set, sorted arrays
// of positions: little more than a memcpy). The equivalent Quire work is the "wasm list" row: from the sorted
// positions to bytes (encodeBitmapIndices) and from bytes to the sorted positions (decodeBitmapIndices), the same
// input form and the same output form on both sides. The "wasm" and "ts" rows do more: they encode a dense Bitset
// (scanning all n bits) and decode into a freshly allocated dense Bitset; "wasm into" decodes into one reused Bitset
// (decodeBitmapInto), the variant for hot paths that want a bit per position. "roaring into" deserializes into one
// reused bitmap and "wasm list into" into one reused position array (decodeBitmapIndicesInto): no allocation on
// either side.
// The bitset rows show the core's word operations against the plain JS loops Bitset uses below WASM_MIN_WORDS_SCAN (wasmBitset.ts).
import type { BenchCase } from "../harness.js";
import { Bitset, decodeBitmap, decodeBitmapIndices, decodeBitmapIndicesInto, decodeBitmapInto, encodeBitmap, encodeBitmapIndices } from "../../src/crypto/bitmap/index.js";
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

/**
 * Calls per timed task. tinybench's own cost per task (an empty task: 36 ns mean, 40 ns p50 here) is 5-15% of a
 * 0.3-0.8 us codec call and its p50 comes in 10 ns steps, so each task runs the same call `CALLS` times and the
 * table's "per item" column is the per-call time (divide p50 by 32 likewise). Every call is checked; both sides
 * run the same number of calls.
 */
const CALLS = 32;

/** A task running `op` CALLS times; `op` returns false on a wrong result. */
function batch(what: string, op: () => boolean): () => void {
  return () => {
    for (let i = 0; i < CALLS; i++) if (!op()) throw new Error(`bench: ${what} produced a wrong result`);
  };
}

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
  const common = { size, items: CALLS };
  if (roaring !== undefined && roaringBytes !== undefined) {
    const len = roaringBytes.length;
    cases.push({ group: encodeGroup, backend: "roaring", baseline: true, ...common, fn: batch("roaring serialize", () => roaring.serialize(true).length === len) });
  }
  for (const backend of BACKENDS) {
    cases.push({ group: encodeGroup, backend, ...common, fn: batch(`${backend} encode`, () => encodeBitmap(w.bits, { backend }).length === quire.length) });
  }
  const indices = w.bits.toIndices();
  const lastByte = quire[quire.length - 1];
  cases.push({
    group: encodeGroup,
    backend: "wasm list",
    ...common,
    fn: batch("wasm encode list", () => {
      const got = encodeBitmapIndices(size, indices);
      return got.length === quire.length && got[got.length - 1] === lastByte;
    }),
  });
  if (Roaring !== undefined && roaringBytes !== undefined) {
    // Both sides end with a queryable set: roaring's deserialized bitmap, Quire's dense Bitset.
    cases.push({ group: decodeGroup, backend: "roaring", baseline: true, ...common, fn: batch("roaring deserialize", () => Roaring.deserialize(roaringBytes, true).size === count) });
  }
  for (const backend of BACKENDS) {
    const opts = { backend, length: size };
    cases.push({ group: decodeGroup, backend, ...common, fn: batch(`${backend} decode`, () => decodeBitmap(quire, opts).length === size) });
  }
  const lastIndex = indices[count - 1];
  cases.push({
    group: decodeGroup,
    backend: "wasm list",
    ...common,
    fn: batch("wasm decode list", () => {
      const got = decodeBitmapIndices(quire, { length: size });
      return got.length === count && got[count - 1] === lastIndex;
    }),
  });
  // Both sides reusing their output: roaring deserializing into one bitmap, Quire into one position array.
  if (Roaring !== undefined && roaringBytes !== undefined) {
    const into = new Roaring();
    cases.push({ group: decodeGroup, backend: "roaring into", ...common, fn: batch("roaring deserialize into", () => into.deserialize(roaringBytes, true).size === count) });
  }
  const positions = new Uint32Array(count);
  cases.push({
    group: decodeGroup,
    backend: "wasm list into",
    ...common,
    fn: batch("wasm decode list into", () => decodeBitmapIndicesInto(quire, positions, { length: size }) === count && positions[count - 1] === lastIndex),
  });
  // Not the comparison above (which ends with a new set each call): the hot-path variant reusing one Bitset.
  const target = new Bitset(size);
  const last = w.bits.words.length - 1;
  const lastWord = w.bits.words[last];
  cases.push({
    group: decodeGroup,
    backend: "wasm into",
    ...common,
    fn: batch("wasm decode into", () => decodeBitmapInto(quire, target).words[last] === lastWord),
  });
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
