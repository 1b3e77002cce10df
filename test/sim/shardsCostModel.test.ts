/**
 * The virtual CPU of src/sim/costModel.ts on a bare ManualScheduler: events queue behind a busy CPU, what an event
 * sends leaves when its cost has elapsed, cancelled timers never run, and the metered scheme charges the running CPU.
 * Expected times are sums of the model's constants, worked out by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuCluster } from "../../src/sim/costModel.js";
import type { CostModel } from "../../src/sim/costModel.js";
import { InsecureTestScheme } from "../../src/sim/insecureTestScheme.js";
import { ManualScheduler } from "../../src/util/clock.js";

const ZERO: CostModel = { eventUs: 0, txCheckUs: 0, txExecuteUs: 0, signUs: 0, verifyUs: 0, aggregateVerifyUs: 0, aggregateSignerUs: 0, messageUs: 0, byteNs: 0 };

test("events on one CPU run one after another, each busy for its cost; another CPU is not held up", () => {
  const s = new ManualScheduler();
  const cluster = new CpuCluster({ ...ZERO, eventUs: 1_000 }, s);
  const a = cluster.cpu();
  const b = cluster.cpu();
  const ran: string[] = [];
  a.run(() => ran.push(`a1@${s.now()}`));
  a.run(() => ran.push(`a2@${s.now()}`), 500); // 0.5 ms charged up front (e.g. bytes received)
  a.run(() => ran.push(`a3@${s.now()}`));
  b.run(() => ran.push(`b1@${s.now()}`));
  s.runUntilIdle();
  // a1 at 0 (1 ms), a2 at 1 (1.5 ms), a3 at 2.5; b1 at 0 on its own CPU.
  assert.deepEqual(ran, ["a1@0", "b1@0", "a2@1", "a3@2.5"]);
  assert.equal(a.stats().busyUs, 3_500);
  assert.equal(a.stats().events, 3);
});

test("a send made while handling an event leaves when the event's cost has elapsed, and costs per message and byte", () => {
  const s = new ManualScheduler();
  const cluster = new CpuCluster({ ...ZERO, eventUs: 100, messageUs: 50, byteNs: 1_000 }, s);
  const cpu = cluster.cpu();
  const sentAt: number[] = [];
  const inner = {
    self: 0,
    peers: [1],
    maxMessageBytes: 1 << 20,
    send: () => {
      sentAt.push(s.now());
      return 0 as const;
    },
  };
  const t = cpu.transport(inner as never);
  // 100 µs event + 50 µs message + 200 bytes × 1 µs = 350 µs.
  cpu.run(() => t.send(1, 0 as never, new Uint8Array(200)));
  s.runUntilIdle();
  assert.deepEqual(sentAt, [0.35]);
  assert.equal(cpu.stats().busyUs, 350);
});

test("a timer cancelled while it waits behind a busy CPU never runs", () => {
  const s = new ManualScheduler();
  const cluster = new CpuCluster({ ...ZERO, eventUs: 10_000 }, s);
  const cpu = cluster.cpu();
  let fired = 0;
  cpu.run(() => {}); // busy until 10 ms
  const h = cpu.scheduler.setTimeout(() => fired++, 1); // due at 1 ms, queued behind the busy CPU
  s.setTimeout(() => h.cancel(), 5);
  s.runUntilIdle();
  assert.equal(fired, 0);
});

test("the metered scheme and signer charge the CPU that runs, and only it", () => {
  const s = new ManualScheduler();
  const cluster = new CpuCluster({ ...ZERO, signUs: 300, verifyUs: 700, aggregateVerifyUs: 600, aggregateSignerUs: 2 }, s);
  const a = cluster.cpu();
  const b = cluster.cpu();
  const raw = new InsecureTestScheme(4, 1);
  const scheme = cluster.meterScheme(raw);
  const signer = cluster.meterSigner(raw.signer(0));
  const msg = new Uint8Array([1, 2, 3]);
  let sig: Uint8Array = new Uint8Array();
  signer.sign(msg); // outside any event: free
  a.run(() => {
    sig = signer.sign(msg);
    assert.equal(scheme.verify(0, msg, sig), true);
  });
  b.run(() => {
    const agg = scheme.aggregate([{ signer: 0, signature: sig }]);
    scheme.verifyAggregate([0], msg, agg);
  });
  s.runUntilIdle();
  assert.equal(a.stats().busyUs, 300 + 700);
  // aggregate: 1 signer × 2; verifyAggregate: 600 + 1 × 2.
  assert.equal(b.stats().busyUs, 2 + 602);
});
