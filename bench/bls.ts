import { randomBytes } from "node:crypto";
import type { BenchSuite } from "./harness.js";
import type { BenchCase, BenchOptions, BenchResult } from "./harness.js";
import { matchesFilter, runCases } from "./harness.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../src/crypto/bls/backend.js";
import type { BlsBackend, BlsBackendName, PublicKey, SecretKey, Signature } from "../src/crypto/bls/backend.js";
import { keyGen } from "../src/crypto/bls/keygen.js";
import type { BlsVerifier, VerifyJob } from "../src/crypto/bls/interface.js";
import { MainThreadBlsVerifier } from "../src/crypto/bls/mainThread.js";
import { PooledBlsVerifier } from "../src/crypto/bls/pool.js";
import { qcCases } from "./bls/qc.js";

const SUITE = "bls";
const must = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(`bench bls: ${what} returned false`);
};

interface Fixture {
  b: BlsBackend;
  sks: SecretKey[];
  pks: PublicKey[];
  msg: Uint8Array;
  sigs: Signature[]; // all over msg
  msgs: Uint8Array[]; // distinct
  dsigs: Signature[]; // sigs[i] over msgs[i]
}

function fixture(b: BlsBackend, n: number): Fixture {
  const seed = randomBytes(32);
  const sks = Array.from({ length: n }, (_, i) => {
    seed[0] = i & 0xff;
    seed[1] = i >> 8;
    return b.secretKeyFromBytes(keyGen(seed));
  });
  const msg = randomBytes(32);
  const msgs = sks.map(() => randomBytes(32));
  return {
    b,
    sks,
    pks: sks.map((s) => b.publicKeyOf(s)),
    msg,
    sigs: sks.map((s) => b.sign(s, msg)),
    msgs,
    dsigs: sks.map((s, i) => b.sign(s, msgs[i]!)),
  };
}

/** Sign, verify, aggregation and batch cases for one backend; the blst rows are every group's baseline. */
function primitiveCases(f: Fixture): BenchCase[] {
  const { b } = f;
  const base = b.name === "blst";
  const ikm = randomBytes(32);
  const cases: BenchCase[] = [
    { group: "keygen (KeyGen + public key)", backend: b.name, baseline: base, fn: () => b.publicKeyOf(b.secretKeyFromBytes(keyGen(ikm))) },
    { group: "sign 32 B", backend: b.name, baseline: base, fn: () => b.sign(f.sks[0]!, f.msg) },
    { group: "verify", backend: b.name, baseline: base, fn: () => must(b.verify(f.msg, f.pks[0]!, f.sigs[0]!), "verify") },
  ];
  const sigBytes = b.signatureToBytes(f.sigs[0]!);
  cases.push({ group: "signature from 96 B + subgroup check", backend: b.name, baseline: base, fn: () => b.signatureFromBytes(sigBytes) });
  for (const n of [4, 16, 64, 256]) {
    const sigs = f.sigs.slice(0, n);
    const pks = f.pks.slice(0, n);
    cases.push({ group: `aggregate ${n} signatures`, backend: b.name, size: n, items: n, baseline: base, fn: () => b.aggregateSignatures(sigs) });
    cases.push({ group: `aggregate ${n} public keys`, backend: b.name, size: n, items: n, baseline: base, fn: () => b.aggregatePublicKeys(pks) });
  }
  for (const n of [16, 64, 256]) {
    const pks = f.pks.slice(0, n);
    const agg = b.aggregateSignatures(f.sigs.slice(0, n));
    cases.push({ group: `fastAggregateVerify ${n}`, backend: b.name, size: n, baseline: base, fn: () => must(b.fastAggregateVerify(f.msg, pks, agg), "fastAggregateVerify") });
  }
  for (const n of [16, 64]) {
    const distinct = f.dsigs.slice(0, n).map((signature, i) => ({ message: f.msgs[i]!, publicKey: f.pks[i]!, signature }));
    const same = f.sigs.slice(0, n).map((signature, i) => ({ message: f.msg, publicKey: f.pks[i]!, signature }));
    cases.push({ group: `batch verify ${n} sets, distinct messages`, backend: b.name, size: n, items: n, baseline: base, fn: () => must(b.verifyBatch(distinct), "verifyBatch") });
    cases.push({ group: `batch verify ${n} sets, one message`, backend: b.name, size: n, items: n, baseline: base, fn: () => must(b.verifyBatch(same), "verifyBatch") });
  }
  return cases;
}

/** 256 independent votes as wire bytes (uncompressed signatures, compressed keys). */
function voteJobs(f: Fixture, sameMessage: boolean): VerifyJob[] {
  return f.sks.slice(0, 256).map((_, i) => ({
    message: sameMessage ? f.msg : f.msgs[i]!,
    publicKey: f.b.publicKeyToBytes(f.pks[i]!),
    signature: f.b.signatureToBytes(sameMessage ? f.sigs[i]! : f.dsigs[i]!, "uncompressed"),
  }));
}

/**
 * 256 independent vote verifications from wire bytes: one by one on the main thread (the baseline), batched on the
 * main thread, and through the pool with 1, 2 and 3 workers at several batch sizes (3 workers on 2 cores shows
 * whether piscina plus blst's own thread pool oversubscribe the machine).
 */
async function poolRows(f: Fixture, opts: BenchOptions): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  for (const same of [false, true]) {
    const group = `256 votes from wire bytes, ${same ? "one message" : "distinct messages"}`;
    const jobs = voteJobs(f, same);
    const b = f.b;
    rows.push(
      ...(await runCases(
        SUITE,
        [
          {
            group,
            backend: "main thread, one by one",
            size: 256,
            items: 256,
            baseline: true,
            fn: () => {
              for (const j of jobs) must(b.verify(j.message, b.publicKeyFromBytes(j.publicKey), b.signatureFromBytes(j.signature, { validate: false })), "verify");
            },
          },
        ],
        opts,
      )),
    );
    const configs: [string, () => Promise<BlsVerifier>][] = [];
    for (const batch of [16, 32, 64]) configs.push([`main thread, batch ${batch}`, () => MainThreadBlsVerifier.create({ maxBatchSize: batch, maxBufferWaitMs: 1 })]);
    for (const workers of [1, 2, 3]) {
      for (const batch of [16, 32, 64]) configs.push([`pool ${workers}w, batch ${batch}`, async () => new PooledBlsVerifier({ workers, maxBatchSize: batch, maxBufferWaitMs: 1 })]);
    }
    for (const [label, make] of configs) {
      if (!matchesFilter(`${group} ${label}`, opts.filter)) continue;
      const v = await make();
      try {
        must((await v.verifyMany(jobs)).every(Boolean), "warm-up"); // loads the backend in every worker
        rows.push(
          ...(await runCases(
            SUITE,
            [{ group, backend: label, size: 256, items: 256, fn: async () => must((await v.verifyMany(jobs)).every(Boolean), label) }],
            opts,
          )),
        );
      } finally {
        await v.close();
      }
    }
  }
  return rows;
}

/** Recomputes every row's ratio against its group's baseline across separately run sections. */
function linkBaselines(rows: BenchResult[], baselines: Map<string, string>): BenchResult[] {
  for (const row of rows) {
    const base = rows.find((r) => r.group === row.group && r.backend === baselines.get(row.group));
    row.speedupVsBaseline = base === undefined ? null : base.meanNs / row.meanNs;
  }
  return rows;
}

// noble needs tens of milliseconds per pairing: fewer, shorter samples keep `--backend all` within minutes.
const NOBLE_OPTS = (opts: BenchOptions): BenchOptions => ({ ...opts, timeMs: Math.min(opts.timeMs, 150), iterations: 2 });

/**
 * `quire bench bls [--backend blst|noble|herumi|all]`: primitives per backend side by side (ratios to blst), QC
 * and TC build/verify, and 256 independent votes through the main thread and the pool.
 */
export const suite: BenchSuite = {
  flags: ["backend"],
  async run(args, opts) {
    const choice = args.choice("backend", [...BLS_BACKEND_NAMES, "all"] as const, "all");
    // blst always runs: it is every group's baseline.
    const names: BlsBackendName[] = choice === "all" ? [...BLS_BACKEND_NAMES] : choice === "blst" ? ["blst"] : ["blst", choice];
    const rows: BenchResult[] = [];
    const baselines = new Map<string, string>();
    let blstFixture: Fixture | undefined;
    for (const name of names) {
      const b = await loadBlsBackend(name);
      const f = fixture(b, name === "noble" ? 64 : 256);
      if (name === "blst") blstFixture = f;
      const o = name === "noble" ? NOBLE_OPTS(opts) : opts;
      const cases = primitiveCases(f).filter((c) => name !== "noble" || c.size === undefined || c.size <= 64);
      for (const c of cases) if (c.baseline === true) baselines.set(c.group, c.backend);
      rows.push(...(await runCases(SUITE, cases, o)));
      const qc = await qcCases(b, name === "noble" ? [4, 16, 64] : [4, 16, 64, 256]);
      for (const c of qc) if (c.baseline === true) baselines.set(c.group, c.backend);
      rows.push(...(await runCases(SUITE, qc, o)));
    }
    const poolRowsOut = await poolRows(blstFixture!, opts);
    for (const r of poolRowsOut) if (r.backend === "main thread, one by one") baselines.set(r.group, r.backend);
    rows.push(...poolRowsOut);
    // Keep each group's rows together, in first-seen order.
    const order = [...new Set(rows.map((r) => r.group))];
    rows.sort((a, c) => order.indexOf(a.group) - order.indexOf(c.group));
    return linkBaselines(rows, baselines);
  },
};
