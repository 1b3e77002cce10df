// TxGossip carries each tx's origin client (issue 11): the sender names who submitted every tx, the receiver admits
// relayed txs under (relaying peer, origin), and an origin the wire cannot carry travels as "" instead of spoiling the
// batch. The batches go through the real codec, as on the wire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mempool } from "../../../src/chain/mempool.js";
import { RoundRobinElection } from "../../../src/consensus/leaderElection.js";
import type { TxBatch } from "../../../src/domain/types.js";
import { TxGossip } from "../../../src/node/txGossip.js";
import { ManualScheduler } from "../../../src/util/clock.js";
import { utf8 } from "../../../src/util/bytes.js";
import { decodeMessage, encodeMessage } from "../../../src/wire/codec.js";

function gossipOf(self: number, mempool: Mempool, sent: { targets: readonly number[]; batch: TxBatch }[], scheduler = new ManualScheduler()): TxGossip {
  return new TxGossip(
    { self, validatorCount: 4, policy: { intervalMs: 20, maxBatchTxs: 100, maxBatchBytes: 1 << 20 } },
    {
      scheduler,
      mempool,
      leaders: new RoundRobinElection(4),
      view: () => 1,
      send: (targets, batch) => sent.push({ targets, batch }),
      misbehaved: () => {},
      count: () => {},
    },
  );
}

test("txGossip: batches name each tx's origin; the receiver counts them against (relaying peer, origin)", () => {
  const scheduler = new ManualScheduler();
  const a = new Mempool();
  const sent: { targets: readonly number[]; batch: TxBatch }[] = [];
  const g = gossipOf(0, a, sent, scheduler);
  a.add(utf8("one"), "10.0.0.1");
  a.add(utf8("two"), "2001:db8::1");
  a.add(utf8("three"), "x".repeat(65)); // over the wire limit: sent as the unknown origin
  g.start();
  scheduler.advance(20);
  g.stop();
  assert.equal(sent.length, 1);
  const wire = decodeMessage(encodeMessage({ kind: "txBatch", body: sent[0]!.batch }));
  assert.ok(wire.kind === "txBatch");
  assert.deepEqual(wire.body.origins, ["10.0.0.1", "2001:db8::1", ""]);
  // Node 1 receives it from peer 0: three (peer:0, origin) clients, none of them the origin's own key.
  const b = new Mempool({ maxTxs: 100, maxTxsPerClient: 1 });
  const receiver = gossipOf(1, b, []);
  b.add(utf8("direct"), "10.0.0.1");
  receiver.onBatch(0, wire.body);
  assert.equal(b.size, 4);
  assert.equal(b.metrics().clients, 4);
  // A batch without origins (an older sender) lands under (peer, "").
  receiver.onBatch(2, { txs: [utf8("old a"), utf8("old b")] });
  assert.equal(b.size, 5, "the second tx of (peer:2, \"\") is over its quota of 1");
});
