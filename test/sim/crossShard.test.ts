/**
 * Cross-shard runs (src/sim/crossShard.ts): shards running the real accounts + xshard application with real BLS QCs,
 * the node's relayer, and the atomicity checker (src/sim/atomicityChecker.ts) — which must pass on honest runs and
 * report injected bugs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BuiltApplication } from "../../src/chain/app/build.js";
import { decodeImport, decodeRecord, XSHARD_OP, XSHARD_TX_TAG } from "../../src/chain/app/xshard/format.js";
import type { TransferStatus } from "../../src/chain/app/xshard/module.js";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import { checkAtomicity } from "../../src/sim/atomicityChecker.js";
import type { ReplicaLedger, SubmittedTransfer } from "../../src/sim/atomicityChecker.js";
import { runCrossShard } from "../../src/sim/crossShard.js";
import type { CrossShardRunOptions, CrossShardRunResult } from "../../src/sim/crossShard.js";
import { CALIBRATED_COSTS } from "../../src/sim/costModel.js";

function describe(r: CrossShardRunResult): string {
  return `${JSON.stringify(r.stats)} credited ${r.atomicity.credited} aborted ${r.atomicity.aborted} undecided ${r.atomicity.undecided}; ${r.violations
    .slice(0, 5)
    .map((v) => v.message)
    .join(" | ")}`;
}

async function run(seed: number, extra: Partial<CrossShardRunOptions> = {}): Promise<CrossShardRunResult> {
  const bls = await loadBlsBackend("blst");
  return runCrossShard({ shards: 3, validators: 4, seed, kinds: ["crash-restart", "lossy"], views: 6, costs: CALIBRATED_COSTS, bls, loadMs: 800, ratePerShard: 25, settleMs: 15_000, ...extra });
}

test("three shards with crash-restart and loss inside each: transfers are credited or refunded, atomically, and every checker passes", async () => {
  // Nothing commits before GST (1.5–3 s here): the clients' 1.5 s of load mostly waits in the mempools.
  const r = await run(12, { loadMs: 1_500, invalidFraction: 0.5 });
  assert.deepEqual(r.violations, [], describe(r));
  assert.ok(r.stats.cross >= 5 && r.stats.intra >= 5 && r.stats.invalidInputs > 0, describe(r));
  // Honest runs decide everything: some credited, and the invalid inputs' transfers aborted (a CL was relayed).
  assert.equal(r.atomicity.undecided, 0, describe(r));
  assert.ok(r.atomicity.credited > 0, describe(r));
  assert.equal(r.atomicity.aborted, r.stats.invalidInputs, describe(r));
  assert.ok(r.stats.relaySubmitted > 0, describe(r));
});

test("a cross-shard seed replays exactly", async () => {
  const a = await run(5, { kinds: ["happy"], loadMs: 500 });
  const b = await run(5, { kinds: ["happy"], loadMs: 500 });
  assert.deepEqual(a.violations, [], describe(a));
  assert.deepEqual(a.stats, b.stats);
  assert.deepEqual(a.atomicity, b.atomicity);
  assert.equal(a.sim.endMs, b.sim.endMs);
  for (let k = 0; k < 3; k++) assert.deepEqual(a.sim.shards[k]!.result.recorder.commits, b.sim.shards[k]!.result.recorder.commits);
});

/** Injected bug: every applied import credits its LD records' recipients a second time, outside the module. */
function doubleCredit(_shard: number, built: BuiltApplication): BuiltApplication {
  const deliver = built.app.deliver.bind(built.app);
  built.app.deliver = (tx, index) => {
    const r = deliver(tx, index);
    if (r.ok && tx[0] === XSHARD_TX_TAG && tx[1] === XSHARD_OP.import) {
      const d = decodeImport(tx);
      if (d.ok) {
        for (const it of d.value.items) {
          const rec = decodeRecord(it.record);
          if (rec.ok && rec.value.kind === "ld") built.accounts!.creditIncoming(rec.value.to, rec.value.amount);
        }
      }
    }
    return r;
  };
  return built;
}

/** Injected bug: CL records are dropped on arrival (the import is "applied" without its effect): escrow stays locked. */
function dropCancels(_shard: number, built: BuiltApplication): BuiltApplication {
  const deliver = built.app.deliver.bind(built.app);
  built.app.deliver = (tx, index) => {
    if (tx[0] === XSHARD_TX_TAG && tx[1] === XSHARD_OP.import) {
      const d = decodeImport(tx);
      if (d.ok && d.value.items.some((it) => it.record[0] === 0x02)) return { ok: true };
    }
    return deliver(tx, index);
  };
  return built;
}

test("the atomicity checker reports injected bugs: a double-applied credit, and dropped cancels", async () => {
  const doubled = await run(11, { kinds: ["happy"], loadMs: 500, wrapApplication: doubleCredit });
  assert.ok(
    doubled.atomicity.violations.some((v) => /supply \d+ \+ escrowed \d+ − imported \d+ = \d+, genesis/.test(v.message)),
    describe(doubled),
  );
  assert.ok(doubled.atomicity.violations.some((v) => /Σ\(supply \+ escrowed − imported\)/.test(v.message)), describe(doubled));
  // Never settles: a short liveness bound keeps the run's deadline (and the test) short.
  const dropped = await run(11, { shards: 2, kinds: ["happy"], views: 3, loadMs: 500, invalidFraction: 0.5, wrapApplication: dropCancels, settleMs: 1_000, plan: (_k, p) => ({ ...p, livenessBoundMs: 1_500 }) });
  assert.ok(dropped.atomicity.undecided > 0, describe(dropped));
  assert.ok(dropped.atomicity.violations.some((v) => /undecided after the drain/.test(v.message)), describe(dropped));
});

test("the atomicity checker on made-up ledgers: credited and refunded at once, replicas that disagree, a credit over its inputs", () => {
  const xid = new Uint8Array(32).fill(7);
  const transfer: SubmittedTransfer = { xid, outShard: 1, inputs: [{ shard: 0, amount: 5 }], invalidInput: false };
  const ledger = (shard: number, instance: number, st: TransferStatus, totals: { escrowed: number; imported: number }, supply: number, height = 10): ReplicaLedger => ({
    shard,
    instance,
    height,
    status: () => st,
    totals: () => totals,
    supply: () => supply,
  });
  const credited: TransferStatus = { leg: null, output: { status: "credited", arrived: 1, sum: 5 } };
  // Honest: shard 0 escrowed 5 (supply 95 + 5), shard 1 credited 5 (supply 105 − 5).
  const good = [ledger(0, 0, { leg: "escrowed", output: null }, { escrowed: 5, imported: 0 }, 95), ledger(1, 0, credited, { escrowed: 0, imported: 5 }, 105)];
  assert.deepEqual(checkAtomicity([transfer], good, [100, 100]).violations, []);
  // Both: refunded on the input shard, credited on the output shard.
  const both = [ledger(0, 0, { leg: "refunded", output: null }, { escrowed: 0, imported: 0 }, 100), ledger(1, 0, credited, { escrowed: 0, imported: 5 }, 105)];
  assert.ok(checkAtomicity([transfer], both, [100, 100]).violations.some((v) => /credited on shard 1 and refunded on shard 0/.test(v.message)));
  // Two replicas of shard 0 at the same height with different statuses.
  const split = [...good, ledger(0, 1, { leg: "invalid", output: null }, { escrowed: 5, imported: 0 }, 95)];
  assert.ok(checkAtomicity([transfer], split, [100, 100]).violations.some((v) => /shard 0 replicas 1 .* disagree/.test(v.message)));
  // A replica behind may only show an earlier status (none), not another outcome.
  const behind = [...good, ledger(0, 2, { leg: null, output: null }, { escrowed: 0, imported: 0 }, 100, 3)];
  assert.deepEqual(checkAtomicity([transfer], behind, [100, 100]).violations, []);
  // Credited more than the inputs.
  const over = [good[0]!, ledger(1, 0, { leg: null, output: { status: "credited", arrived: 1, sum: 6 } }, { escrowed: 0, imported: 6 }, 106)];
  assert.ok(checkAtomicity([transfer], over, [100, 100]).violations.some((v) => /credited 6 on shard 1, its inputs sum to 5/.test(v.message)));
});

test("quire sim --shards 2 --scenario cross-shard,happy: one seed, every checker, exit 0; cross-shard needs --shards", () => {
  const bin = fileURLToPath(new URL("../../../bin/quire.js", import.meta.url));
  const quire = (args: string[]): { code: number | null; out: string } => {
    const r = spawnSync(process.execPath, [bin, "sim", ...args], { encoding: "utf8", timeout: 120_000 });
    if (r.error !== undefined) throw r.error;
    return { code: r.status, out: r.stdout + r.stderr };
  };
  const r = quire(["--shards", "2", "--validators", "4", "--scenario", "cross-shard,happy", "--seeds", "1", "--views", "3", "--load-ms", "300", "--quiet"]);
  assert.equal(r.code, 0, r.out);
  for (const field of ["shards=2", "runs        1", "violations  0", "credited", "undecided"]) assert.ok(r.out.includes(field), `missing "${field}" in\n${r.out}`);
  assert.equal(quire(["--scenario", "cross-shard", "--seeds", "1"]).code, 2);
});
