import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeKvTx } from "../../../src/chain/app/kvTx.js";
import { LoadTxs, loadTx } from "../../../src/cli/loadgen.js";
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
