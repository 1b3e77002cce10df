// The one BlsVerifier suite, run against MainThreadBlsVerifier and PooledBlsVerifier. Every verifier a test opens
// is closed in a finally block.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, BlsBackendName } from "../../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { BlsVerifierError } from "../../../../src/crypto/bls/interface.js";
import type { BlsVerifier, BlsVerifierOptions, VerifyJob } from "../../../../src/crypto/bls/interface.js";
import { BlsVerifierStats } from "../../../../src/crypto/bls/metrics.js";
import { MainThreadBlsVerifier } from "../../../../src/crypto/bls/mainThread.js";
import { PooledBlsVerifier } from "../../../../src/crypto/bls/pool.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { seededRng } from "../../../support/seed.js";
import { encodeG2, g2OffSubgroup } from "../../../support/blsPoints.js";

interface Labeled {
  job: VerifyJob;
  valid: boolean;
  what: string;
}

let b: BlsBackend;
before(async () => {
  b = await loadBlsBackend("blst");
});

/** Valid jobs over a few shared and some distinct messages, in both signature forms. */
function validJobs(rng: SeededRng, n: number): Labeled[] {
  const shared = [rng.bytes(40), rng.bytes(40)];
  return Array.from({ length: n }, (_, i) => {
    const sk = b.secretKeyFromBytes(keyGen(rng.bytes(32)));
    const message = i % 3 === 2 ? rng.bytes(8 + rng.int(60)) : shared[i % 2]!;
    const signature = b.signatureToBytes(b.sign(sk, message), rng.chance(0.5) ? "uncompressed" : "compressed");
    return { job: { message, publicKey: b.publicKeyToBytes(b.publicKeyOf(sk)), signature }, valid: true, what: `valid ${i}` };
  });
}

/** Each kind of invalid job: wrong message, wrong key, malformed key, malformed and off-subgroup signatures. */
function invalidJobs(rng: SeededRng, from: Labeled[]): Labeled[] {
  const [a, c, d, e, f, g] = from.slice(0, 6).map((l) => l.job) as [VerifyJob, VerifyJob, VerifyJob, VerifyJob, VerifyJob, VerifyJob];
  const flipped = Uint8Array.from(a.message);
  flipped[0]! ^= 1;
  const off = g2OffSubgroup(rng);
  const badPk = Uint8Array.from(d.publicKey);
  badPk[0]! &= 0x7f;
  return [
    { job: { ...a, message: flipped }, valid: false, what: "wrong message" },
    { job: { ...c, publicKey: d.publicKey }, valid: false, what: "wrong key" },
    { job: { ...d, publicKey: badPk }, valid: false, what: "malformed key" },
    { job: { ...e, signature: e.signature.subarray(0, 95) }, valid: false, what: "truncated signature" },
    { job: { ...f, signature: encodeG2(off.x, off.y, true) }, valid: false, what: "off-subgroup signature" },
    { job: { ...g, signature: new Uint8Array(96).fill(0xc0, 0, 1) }, valid: false, what: "infinity signature" },
  ];
}

type Factory = (opts: Partial<BlsVerifierOptions>, stats: BlsVerifierStats, oneSlot?: boolean) => Promise<BlsVerifier>;

const IMPLEMENTATIONS: [string, Factory][] = [
  ["MainThreadBlsVerifier", (opts, stats) => MainThreadBlsVerifier.create(opts, { metrics: stats })],
  ["PooledBlsVerifier", async (opts, stats, oneSlot) => new PooledBlsVerifier({ ...opts, ...(oneSlot === true ? { workers: 1, batchesPerWorker: 1 } : {}) }, { metrics: stats })],
];

async function using<T>(v: BlsVerifier, fn: (v: BlsVerifier) => Promise<T>): Promise<T> {
  try {
    return await fn(v);
  } finally {
    await v.close();
  }
}

const isVerifierError = (code: string) => (e: unknown) => e instanceof BlsVerifierError && e.code === code;

for (const [name, create] of IMPLEMENTATIONS) {
  describe(`BlsVerifier: ${name}`, () => {
    test("every job gets its own true answer when valid and invalid jobs share batches", async (t) => {
      const rng = seededRng(t);
      const valid = validJobs(rng, 34);
      const all = rng.shuffle([...valid, ...invalidJobs(rng, valid)]);
      const stats = new BlsVerifierStats();
      await using(await create({ maxBatchSize: 8, maxBufferWaitMs: 1 }, stats), async (v) => {
        const answers = await v.verifyMany(all.map((l) => l.job));
        answers.forEach((ok, i) => assert.equal(ok, all[i]!.valid, all[i]!.what));
        // A second round with everything valid: the batches pass without a retry.
        const before = stats.retriedBatches;
        assert.deepEqual(await v.verifyMany(valid.map((l) => l.job)), valid.map(() => true));
        assert.equal(stats.retriedBatches, before);
      });
      assert.ok(stats.retriedBatches >= 1, "the poisoned batches were re-checked set by set");
      assert.equal(stats.jobs, all.length + valid.length);
      assert.equal(stats.invalidJobs, all.length - valid.length);
      assert.equal(stats.batchJobs, stats.jobs);
      assert.ok(stats.maxBatchSize <= 8);
    });

    test("jobs are buffered into batches of at most maxBatchSize", async (t) => {
      const rng = seededRng(t);
      const jobs = validJobs(rng, 20).map((l) => l.job);
      const stats = new BlsVerifierStats();
      await using(await create({ maxBatchSize: 8, maxBufferWaitMs: 20 }, stats), async (v) => {
        assert.deepEqual(await v.verifyMany(jobs), jobs.map(() => true));
      });
      assert.equal(stats.batches, 3);
      assert.equal(stats.maxBatchSize, 8);
      assert.equal(stats.batchJobs, 20);
      assert.ok(stats.maxQueueLength >= 8 && stats.queueLength === 0);
      assert.ok(stats.meanLatencyMs >= 0 && stats.maxLatencyMs >= stats.meanLatencyMs);
    });

    test("a partial batch is dispatched once maxBufferWaitMs has passed", { timeout: 20_000 }, async (t) => {
      const rng = seededRng(t);
      const [one] = validJobs(rng, 1);
      const stats = new BlsVerifierStats();
      await using(await create({ maxBatchSize: 64, maxBufferWaitMs: 5 }, stats), async (v) => {
        assert.equal(await v.verify(one!.job), true);
      });
      assert.equal(stats.batches, 1);
    });

    test("a priority job skips the buffer wait and overtakes queued jobs", { timeout: 20_000 }, async (t) => {
      const rng = seededRng(t);
      const jobs = validJobs(rng, 12).map((l) => l.job);
      const stats = new BlsVerifierStats();
      // One batch slot, batches of 4, and a buffer wait far longer than the test's timeout.
      await using(await create({ maxBatchSize: 4, maxBufferWaitMs: 600_000 }, stats, true), async (v) => {
        const order: string[] = [];
        const track = (p: Promise<boolean>, label: string) => p.then((ok) => (order.push(label), ok));
        const first = jobs.slice(0, 4).map((j, i) => track(v.verify(j), `A${i}`)); // full: dispatched at once
        const second = jobs.slice(4, 8).map((j, i) => track(v.verify(j), `B${i}`)); // full, but the slot is busy
        const urgent = track(v.verify(jobs[8]!, { priority: true }), "P");
        const third = jobs.slice(9, 12).map((j, i) => track(v.verify(j), `C${i}`));
        assert.ok((await Promise.all([...first, ...second, urgent, ...third])).every((x) => x));
        // After batch A: [P, B0, B1, B2], then [B3, C0, C1, C2] — P overtook B3 and the C jobs.
        assert.ok(order.indexOf("P") < order.indexOf("B3"), order.join(","));
        assert.ok(order.indexOf("P") < order.indexOf("C0"), order.join(","));
        // A lone priority job goes at once, although a normal one would wait ten minutes.
        assert.equal(await v.verify(jobs[0]!, { priority: true }), true);
      });
      assert.equal(stats.batches, 4);
    });

    test("the queue is bounded: canAcceptWork turns false and extra jobs are refused with QUEUE_FULL", async (t) => {
      const rng = seededRng(t);
      const jobs = validJobs(rng, 6).map((l) => l.job);
      const v = await create({ maxBatchSize: 100, maxBufferWaitMs: 600_000, maxQueuedJobs: 4 }, new BlsVerifierStats());
      const held: Promise<unknown>[] = [];
      try {
        assert.ok(v.canAcceptWork());
        // Settle handlers go on at once: close() rejects these while the pool is still shutting down.
        for (const j of jobs.slice(0, 4)) held.push(v.verify(j).then((ok) => ok, (e: unknown) => e));
        assert.equal(v.queueLength, 4);
        assert.equal(v.canAcceptWork(), false);
        await assert.rejects(v.verify(jobs[4]!), isVerifierError("QUEUE_FULL"));
        await assert.rejects(v.verifyMany(jobs.slice(4, 6)), isVerifierError("QUEUE_FULL"));
        assert.equal(v.queueLength, 4);
      } finally {
        await v.close();
      }
      for (const p of held) assert.ok(isVerifierError("VERIFIER_CLOSED")(await p));
    });

    test("close() rejects every unanswered job with VERIFIER_CLOSED, and so does any later call", async (t) => {
      const rng = seededRng(t);
      const jobs = validJobs(rng, 48).map((l) => l.job);
      const v = await create({ maxBatchSize: 4, maxBufferWaitMs: 1 }, new BlsVerifierStats());
      const pending = jobs.map((j) => v.verify(j).then((ok) => ({ ok }), (e: unknown) => ({ e })));
      assert.ok(v.queueLength > 0);
      await v.close();
      const settled = await Promise.all(pending);
      let closedCount = 0;
      for (const s of settled) {
        if ("ok" in s) assert.equal(s.ok, true);
        else {
          assert.ok(isVerifierError("VERIFIER_CLOSED")(s.e));
          closedCount++;
        }
      }
      assert.ok(closedCount > 0);
      assert.equal(v.canAcceptWork(), false);
      await assert.rejects(v.verify(jobs[0]!), isVerifierError("VERIFIER_CLOSED"));
      await v.close(); // idempotent
    });
  });
}

describe("PooledBlsVerifier specifics", () => {
  test("jobs cross the thread boundary as copies: views into larger buffers work and stay intact", async (t) => {
    const rng = seededRng(t);
    const jobs = validJobs(rng, 10).map((l) => l.job);
    // Put every field into one shared backing buffer, at odd offsets.
    const backing = new Uint8Array(4096);
    let at = 3;
    const views = jobs.map((j) => {
      const place = (x: Uint8Array) => {
        backing.set(x, at);
        const v = backing.subarray(at, at + x.length);
        at += x.length + 1;
        return v;
      };
      return { message: place(j.message), publicKey: place(j.publicKey), signature: place(j.signature) };
    });
    const snapshot = Uint8Array.from(backing);
    await using(new PooledBlsVerifier({ workers: 2, maxBatchSize: 4, maxBufferWaitMs: 1 }), async (v) => {
      assert.deepEqual(await v.verifyMany(views), views.map(() => true));
    });
    assert.equal(backing.byteLength, 4096, "the caller's buffer was not transferred away");
    assert.deepEqual(backing, snapshot);
  });

  test("the backend option reaches the workers (herumi)", async (t) => {
    const rng = seededRng(t);
    const valid = validJobs(rng, 6);
    const all = [...valid, ...invalidJobs(rng, valid)];
    await using(new PooledBlsVerifier({ backend: "herumi", workers: 1, maxBatchSize: 16, maxBufferWaitMs: 1 }), async (v) => {
      assert.deepEqual(await v.verifyMany(all.map((l) => l.job)), all.map((l) => l.valid));
    });
  });

  test("a worker-side failure arrives as a typed WORKER_FAILED rejection", async (t) => {
    const rng = seededRng(t);
    const [one] = validJobs(rng, 1);
    await using(new PooledBlsVerifier({ backend: "openssl" as BlsBackendName, workers: 1, maxBufferWaitMs: 1 }), async (v) => {
      await assert.rejects(v.verify(one!.job), (e: unknown) => isVerifierError("WORKER_FAILED")(e) && (e as Error).message.includes("UNKNOWN_BACKEND"));
    });
  });
});
