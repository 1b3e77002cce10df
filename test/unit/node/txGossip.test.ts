// TxGossip carries each tx's origin client (issue 11): the sender names who submitted every tx by a pseudonym (never
// the client's address), the receiver admits relayed txs under (relaying peer, origin). The batches go through the
// real codec, as on the wire.
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
  a.add(utf8("three"), "x".repeat(65)); // longer than the wire allows an origin: its pseudonym fits
  a.add(utf8("four"), "10.0.0.1");
  a.add(utf8("five"), "");
  g.start();
  scheduler.advance(20);
  g.stop();
  assert.equal(sent.length, 1);
  const wire = decodeMessage(encodeMessage({ kind: "txBatch", body: sent[0]!.batch }));
  assert.ok(wire.kind === "txBatch");
  const origins = wire.body.origins!;
  assert.equal(origins.length, 5);
  for (const o of origins.slice(0, 4)) assert.match(o, /^[0-9a-f]{24}$/, "a 12-byte hex pseudonym");
  assert.equal(origins[0], origins[3], "one client, one pseudonym");
  assert.equal(new Set(origins.slice(0, 3)).size, 3, "three clients, three pseudonyms");
  assert.equal(origins[4], "", "the unknown origin stays unknown");
  assert.ok(!origins.some((o) => o.includes("10.0.0.1") || o.includes("2001")), "no client address leaves the node");
  // Node 1 receives it from peer 0: four (peer:0, origin) clients, none of them the origin's own key.
  const b = new Mempool({ maxTxs: 100, maxTxsPerClient: 1 });
  const receiver = gossipOf(1, b, []);
  b.add(utf8("direct"), "10.0.0.1");
  receiver.onBatch(0, wire.body);
  // Quota 1 per client: "four" shares "one"'s pseudonym and is refused; the other four are admitted, beside "direct".
  assert.equal(b.size, 5);
  assert.equal(b.metrics().clients, 5);
  // A batch without origins (an older sender) lands under (peer, "").
  receiver.onBatch(2, { txs: [utf8("old a"), utf8("old b")] });
  assert.equal(b.size, 6, "the second tx of (peer:2, \"\") is over its quota of 1");
});
