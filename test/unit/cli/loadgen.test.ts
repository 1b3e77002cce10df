import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeKvTx } from "../../../src/chain/app/kvTx.js";
import { LoadGenerator, LoadTxs, loadTx } from "../../../src/cli/loadgen.js";
import { startHarness } from "../../support/rpcHttp.js";
import { LatencyHistogram, TxIdIndex } from "../../../src/cli/txIdIndex.js";
import { seededRng } from "../../support/seed.js";

test("load txs: exact size, a valid KV put, key load/<run>/<10-digit index>, nonce = index; distinct ids", () => {
  const gen = new LoadTxs("ab12", 256);
  const seen = new Set<string>();
  for (const i of [0, 1, 9, 10, 12345, 9_999_999_999]) {
    const tx = gen.tx(i);
    assert.equal(tx.length, 256);
    const d = decodeKvTx(tx);
    assert.ok(d.ok, JSON.stringify(d));
    assert.equal(d.tx.op, "put");
    assert.equal(Buffer.from(d.tx.key).toString("utf8"), `load/ab12/${String(i).padStart(10, "0")}`);
    assert.equal(new DataView(d.tx.nonce.buffer, d.tx.nonce.byteOffset, 8).getFloat64(0), i);
    seen.add(createHash("sha256").update(tx).digest("hex"));
  }
  assert.equal(seen.size, 6);
  // Written in place into a larger body, the bytes are the same as alone.
  const body = new Uint8Array(3 * 100);
  const small = new LoadTxs("r", 100);
  small.write(7, body, 100);
  assert.deepEqual(body.subarray(100, 200), loadTx("r", 7, 100));
  assert.throws(() => new LoadTxs("r", 30), RangeError); // 12 + 17-byte key + 4 = 33 > 30
});

test("TxIdIndex: every id found at its index across growth; absent ids are -1", (t) => {
  const rng = seededRng(t);
  const ids: Uint8Array[] = [];
  const index = new TxIdIndex(4);
  for (let i = 0; i < 20_000; i++) {
    const id = rng.bytes(32);
    ids.push(id);
    index.add(id, i);
  }
  assert.equal(index.size, 20_000);
  ids.forEach((id, i) => assert.equal(index.get(id), i));
  // At an offset inside a packed buffer.
  const packed = new Uint8Array(64);
  packed.set(ids[123]!, 32);
  assert.equal(index.get(packed, 32), 123);
  assert.equal(index.get(new Uint8Array(32).fill(7)), -1);
});

test("LatencyHistogram: percentiles within 1 ms of the sorted samples' nearest rank; exact max", (t) => {
  const rng = seededRng(t);
  const h = new LatencyHistogram();
  const xs: number[] = [];
  for (let i = 0; i < 5_000; i++) {
    const v = rng.chance(0.9) ? rng.float() * 400 : 400 + rng.float() * 5_000;
    xs.push(v);
    h.add(v);
  }
  xs.sort((a, b) => a - b);
  for (const p of [50, 90, 99]) {
    const exact = xs[Math.ceil((p / 100) * xs.length) - 1]!;
    const got = h.percentile(p);
    assert.ok(got >= exact && got <= exact + 1, `p${p}: ${got} vs ${exact}`);
  }
  assert.equal(h.percentile(100), xs[xs.length - 1]);
  assert.ok(Number.isNaN(new LatencyHistogram().percentile(50)));
});

test("open loop: txs leave on schedule whatever is in flight; past the bound the generator sheds and counts them", async () => {
  // The node never answers: every request stays in flight until the server's own timeout answers 503 NODE_TIMEOUT
  // (1 s here), which is what lets `stop()` return.
  const h = await startHarness({ limits: { requestTimeoutSec: 1 } });
  h.api.hang = true;
  const gen = new LoadGenerator({ urls: [h.base], rate: 2_000, total: 200, txBytes: 100, batch: 10, maxInFlight: 4, trackIds: false });
  try {
    gen.start();
    await pollUntil(() => gen.stats.offered === 200);
    assert.equal(gen.requestsInFlight, 4, "sending did not wait for answers, and stopped at the bound");
    assert.equal(gen.stats.sent + gen.stats.shed, 200, "every due tx is either sent or counted as shed");
    assert.ok(gen.stats.sent <= 40 && gen.stats.shed >= 160, JSON.stringify(gen.stats));
    // Each request reaches the node (the fake holds it at its first tx), and no more than the bound.
    await pollUntil(() => h.api.calls.get("submitTx") === 4);
    assert.equal(gen.requestsInFlight, 4);
  } finally {
    await gen.stop();
    await h.server.stop();
  }
  assert.equal(gen.stats.failedTxs, gen.stats.sent);
  assert.equal(gen.stats.accepted, 0);
});

test("open loop: txs refused with 503 are counted and not sent again (the offered rate stays what was asked)", async () => {
  const h = await startHarness({ fake: { capacity: 30 } });
  try {
    const gen = new LoadGenerator({ urls: [h.base], rate: 5_000, total: 100, txBytes: 100, batch: 10, trackIds: true });
    gen.start();
    await gen.finished();
    await gen.stop();
    assert.deepEqual(
      { offered: gen.stats.offered, sent: gen.stats.sent, accepted: gen.stats.accepted, rejected503: gen.stats.rejected503, shed: gen.stats.shed },
      { offered: 100, sent: 100, accepted: 30, rejected503: 70, shed: 0 },
    );
    // Nothing re-sent: no tx reached the node twice (after a "full" the server skips the rest of that batch).
    const distinct = new Set(h.api.submissions.map(({ tx }) => createHash("sha256").update(tx).digest("hex")));
    assert.equal(distinct.size, h.api.submissions.length);
    // The acknowledged ones are flagged, and their ids are the SHA-256 of what the node received.
    let acked = 0;
    for (let i = 0; i < 100; i++) acked += gen.acked.get(i);
    assert.equal(acked, 30);
    for (const { tx } of h.api.submissions.slice(0, 30)) {
      const i = gen.ids.get(createHash("sha256").update(tx).digest());
      assert.ok(i >= 0 && gen.acked.get(i) === 1);
    }
  } finally {
    await h.server.stop();
  }
});

async function pollUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
