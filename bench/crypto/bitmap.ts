// Bitmap codec benchmarks: Quire's compact codec (wasm, ts) against the `roaring` native addon's portable format
// (the baseline), for the two bitmaps the node ships: a QC signer set and a block's tx-result bitmap.
import { createRequire } from "node:module";
import type { BenchCase } from "../harness.js";
import { Bitset, decodeBitmap, encodeBitmap } from "../../src/crypto/bitmap/index.js";
import type { BitmapBackend } from "../../src/crypto/bitmap/index.js";
import { SeededRng } from "../../src/util/rng.js";

// `roaring` is a CommonJS native addon and a dev dependency: load it lazily so a production install still runs
// `quire bench crypto` (the roaring rows are then skipped).
interface RoaringLike {
  serialize(portable: boolean): Uint8Array;
  size: number;
}
interface RoaringCtor {
  from(values: Iterable<number>): RoaringLike;
  deserialize(bytes: Uint8Array, portable: boolean): RoaringLike;
}
function loadRoaring(): RoaringCtor | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (require("roaring") as { RoaringBitmap32: RoaringCtor }).RoaringBitmap32;
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

export async function bitmapCases(): Promise<BenchCase[]> {
  const Roaring = loadRoaring();
  const cases: BenchCase[] = [];
  const sizes: string[] = [];
  for (const w of bitmapWorkloads()) {
    const quire = encodeBitmap(w.bits);
    const count = w.bits.count();
    const roaring = Roaring?.from(w.bits);
    const roaringBytes = roaring?.serialize(true);
    const label = `${w.name}: quire ${quire.length} B, roaring ${roaringBytes?.length ?? "n/a"} B`;
    sizes.push(`bitmap ${w.name}: ${count} of ${w.bits.length} set; quire ${quire.length} B; roaring portable ${roaringBytes?.length ?? "n/a"} B`);
    const encodeGroup = `bitmap encode ${label}`;
    const decodeGroup = `bitmap decode ${label}`;
    if (roaring !== undefined && roaringBytes !== undefined && Roaring !== undefined) {
      const len = roaringBytes.length;
      cases.push({
        group: encodeGroup,
        backend: "roaring",
        size: w.bits.length,
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
        size: w.bits.length,
        fn: () => {
          if (encodeBitmap(w.bits, { backend }).length !== quire.length) throw new Error(`${backend} size changed`);
        },
      });
    }
    if (Roaring !== undefined && roaringBytes !== undefined) {
      cases.push({
        group: decodeGroup,
        backend: "roaring",
        size: w.bits.length,
        baseline: true,
        fn: () => {
          if (Roaring.deserialize(roaringBytes, true).size !== count) throw new Error("roaring decode changed");
        },
      });
    }
    for (const backend of BACKENDS) {
      const opts = { backend, length: w.bits.length };
      cases.push({
        group: decodeGroup,
        backend,
        size: w.bits.length,
        fn: () => {
          if (decodeBitmap(quire, opts).length !== w.bits.length) throw new Error(`${backend} decode changed`);
        },
      });
    }
  }
  process.stderr.write(sizes.join("\n") + "\n");
  return cases;
}
