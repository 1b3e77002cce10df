import { createHash } from "node:crypto";
import type { BenchCase } from "../harness.js";
import type { Hasher } from "../../src/crypto/hasher.js";
import { NobleHasher } from "../../src/crypto/hash/noble.js";
import { NodeHasher } from "../../src/crypto/hash/node.js";
import { AutoHasher } from "../../src/crypto/hash/auto.js";
import { WasmHasher } from "../../src/crypto/hash/wasm.js";
import { merkleRoot } from "../../src/crypto/merkle.js";
import { WasmCore, wasmCore } from "../../src/crypto/wasm/loader.js";
import { SeededRng } from "../../src/util/rng.js";

/** A contender for level hashing: writes SHA-256 of each 64-byte chunk of `input` into `out`. */
type LevelFn = (input: Uint8Array, out: Uint8Array) => void;

/**
 * SHA-256 per backend (node:crypto is the baseline), RFC 6962 roots over 32-byte leaves per backend (baseline
 * node), and level hashing of 64-byte pairs — the same bytes in, the same digests out — for Quire's wasm core
 * against @chainsafe/as-sha256 `hashInto` (baseline) and @chainsafe/hashtree `hashInto` (native; skipped if its
 * binary does not load). `wasm` is the default core (SIMD build); `wasm-scalar` is the fallback build.
 */
export async function hashCases(): Promise<BenchCase[]> {
  const rng = new SeededRng(0x5eed);
  const wasm = new WasmHasher(wasmCore());
  const scalar = new WasmHasher(new WasmCore("scalar"));
  const backends: Array<{ name: string; hasher: Hasher; baseline?: boolean }> = [
    { name: "wasm", hasher: wasm },
    { name: "node", hasher: new NodeHasher(), baseline: true },
    { name: "noble", hasher: new NobleHasher() },
  ];
  const cases: BenchCase[] = [...perJobCases(rng, wasm)];

  for (const [label, size] of [["64B", 64], ["1KiB", 1024], ["1MiB", 1 << 20]] as const) {
    const data = rng.bytes(size);
    const first = createHash("sha256").update(data).digest()[0]!;
    for (const b of backends) {
      cases.push({
        group: `sha256 ${label}`,
        backend: b.name,
        size,
        ...(b.baseline === true ? { baseline: true } : {}),
        fn: () => {
          if (b.hasher.digest(data)[0] !== first) throw new Error(`${b.name}: wrong digest`);
        },
      });
    }
  }

  for (const log of [10, 16, 20]) {
    const n = 1 << log;
    const all = rng.bytes(32 * n);
    const leaves = Array.from({ length: n }, (_, i) => all.subarray(32 * i, 32 * i + 32));
    const want = merkleRoot(leaves, backends[1]!.hasher)[0]!;
    // A 2^20-leaf tree takes seconds in pure JS: a few samples are enough and warmup must not take 16 of them.
    const heavy = log === 20 ? { iterations: 3, warmupIterations: 1 } : {};
    for (const b of [...backends, { name: "wasm-scalar", hasher: scalar as Hasher }]) {
      cases.push({
        group: `merkle root 2^${log}`,
        backend: b.name,
        size: n,
        items: n,
        ...("baseline" in b && b.baseline === true ? { baseline: true } : {}),
        ...heavy,
        fn: () => {
          if (merkleRoot(leaves, b.hasher)[0] !== want) throw new Error(`${b.name}: wrong root`);
        },
      });
    }
  }

  const contenders: Array<{ name: string; fn: LevelFn; baseline?: boolean }> = [
    { name: "wasm", fn: (input, out) => wasm.digestLevel(input, out) },
    { name: "wasm-scalar", fn: (input, out) => scalar.digestLevel(input, out) },
  ];
  const asSha256 = await import("@chainsafe/as-sha256");
  contenders.push({ name: "as-sha256", fn: (input, out) => asSha256.hashInto(input, out), baseline: true });
  try {
    const hashtree = await import("@chainsafe/hashtree");
    hashtree.hashInto(new Uint8Array(64), new Uint8Array(32)); // the native binary loads lazily: fail here, not in the run
    contenders.push({ name: "hashtree", fn: (input, out) => hashtree.hashInto(input, out) });
  } catch (e) {
    process.stderr.write(`bench crypto: skipping @chainsafe/hashtree (${e instanceof Error ? e.message : String(e)})\n`);
  }
  for (const log of [10, 16]) {
    const n = 1 << log;
    const input = rng.bytes(64 * n);
    const out = new Uint8Array(32 * n);
    // The last digest is the one a truncated or skipped run would get wrong.
    const last = createHash("sha256").update(input.subarray(64 * (n - 1))).digest()[0]!;
    for (const c of contenders) {
      cases.push({
        group: `level 2^${log} pairs`,
        backend: c.name,
        size: n,
        items: n,
        ...(c.baseline === true ? { baseline: true } : {}),
        fn: () => {
          out[32 * (n - 1)] = last ^ 1;
          c.fn(input, out);
          if (out[32 * (n - 1)] !== last) throw new Error(`${c.name}: wrong level`);
        },
      });
    }
  }
  return cases;
}

/**
 * "hash per job": the jobs the node hands its default hasher, each timed on the core, on node:crypto and on the
 * per-job dispatcher (auto.ts), which should match the faster of the two on every row. The baseline is `wasm`, the
 * default before the dispatcher. Short messages run several calls per task (tinybench's own ~40 ns per task would
 * otherwise be a tenth of a 32-byte hash); the per-item column is per call.
 */
function perJobCases(rng: SeededRng, wasm: WasmHasher): BenchCase[] {
  const contenders: Array<{ name: string; hasher: Hasher; baseline?: boolean }> = [
    { name: "wasm", hasher: wasm, baseline: true },
    { name: "node", hasher: new NodeHasher() },
    { name: "auto", hasher: new AutoHasher({ wasm }) },
  ];
  const cases: BenchCase[] = [];
  const out = new Uint8Array(32);
  for (const [label, size] of [["32B", 32], ["64B", 64], ["256B", 256], ["1KiB", 1024], ["4KiB", 4096], ["64KiB", 65536], ["1MiB", 1 << 20]] as const) {
    const data = rng.bytes(size);
    const first = createHash("sha256").update(data).digest()[0]!;
    const calls = Math.max(1, Math.min(32, Math.floor(16384 / size)));
    for (const c of contenders) {
      cases.push({
        group: `hash per job: digestInto ${label}`,
        backend: c.name,
        size,
        items: calls,
        ...(c.baseline === true ? { baseline: true } : {}),
        fn: () => {
          for (let i = 0; i < calls; i++) {
            out[0] = first ^ 1;
            c.hasher.digestInto(data, out);
            if (out[0] !== first) throw new Error(`${c.name}: wrong digest`);
          }
        },
      });
    }
  }
  for (const [label, count, size] of [["1000 x 256B", 1000, 256], ["10 x 64KiB", 10, 65536]] as const) {
    const messages = Array.from({ length: count }, () => rng.bytes(size));
    const last = createHash("sha256").update(messages[count - 1]!).digest()[0]!;
    for (const c of contenders) {
      cases.push({
        group: `hash per job: digestMany ${label}`,
        backend: c.name,
        size: count * size,
        items: count,
        ...(c.baseline === true ? { baseline: true } : {}),
        fn: () => {
          if (c.hasher.digestMany(messages)[32 * (count - 1)] !== last) throw new Error(`${c.name}: wrong digests`);
        },
      });
    }
  }
  return cases;
}
