import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../src/crypto/bls/backend.js";
import { defaultHasher } from "../../../src/crypto/hash/backends.js";
import { XShardRelayer } from "../../../src/node/xshardRelayer.js";
import type { RelayAnswer, RelaySink, RelaySource } from "../../../src/node/xshardRelayer.js";
import { makeNetwork, transferTx } from "../chain/xshard/harness.js";
import type { Network } from "../chain/xshard/harness.js";

let bls: BlsBackend;
before(async () => {
  bls = await loadBlsBackend("blst");
});

function sourceOf(net: Network, s: number): RelaySource {
  return {
    outboxAt: (h) => net.shards[s]!.built.xshard!.outboxAt(h),
    commitProof: (h) => (h < net.shards[s]!.results.length ? net.proof(s, h) : null),
    head: () => net.shards[s]!.results.length - 1,
  };
}

/** A destination that admits through the application's check (as the RPC does) and executes what it admitted as the next block when told. */
function sinkOf(net: Network): RelaySink & { readonly queued: Uint8Array[][]; readonly answers: RelayAnswer[]; flush(dest: number): void } {
  const queued: Uint8Array[][] = net.shards.map(() => []);
  const answers: RelayAnswer[] = [];
  return {
    queued,
    answers,
    async submit(dest, tx) {
      const r = net.shards[dest]!.built.app.check(tx);
      const answer: RelayAnswer = r.ok ? "accepted" : r.code === "REPLAYED" ? "applied" : "refused";
      if (r.ok) queued[dest]!.push(tx);
      answers.push(answer);
      return { answer };
    },
    flush(dest) {
      net.execute(dest, queued[dest]!.splice(0));
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

test("relayer: the primary sends a height's imports, resends after confirmMs, and stops once the destination answers REPLAYED", async () => {
  const probe = makeNetwork(bls, 2, []);
  const a = probe.account(0);
  const b = probe.account(1);
  const net = makeNetwork(bls, 2, [{ pub: a.publicKey, shard: 0, balance: 100 }]);
  net.execute(0, [transferTx(1, b.publicKey, [{ shard: 0, from: a.publicKey, nonce: 0, amount: 30, key: a }])]); // height 1
  const sink = sinkOf(net);
  // Height 1: validator 1 of 4 is the primary.
  const r = new XShardRelayer({ shard: 0, validatorIndex: 1, validatorCount: 4, confirmMs: 1_000 }, sourceOf(net, 0), sink, defaultHasher());
  r.tick(0);
  await settle();
  assert.deepEqual(sink.answers, ["accepted"]);
  // Not yet executed (the block is lost, say): the resend is due only after confirmMs.
  r.tick(500);
  await settle();
  assert.equal(sink.answers.length, 1);
  sink.flush(1);
  assert.equal(net.shards[1]!.built.accounts!.account(b.publicKey).balance, 30);
  r.tick(1_000);
  await settle();
  assert.deepEqual(sink.answers, ["accepted", "applied"]);
  assert.equal(r.inFlight, 0);
  assert.equal(r.stats.confirmed, 1);
  r.tick(10_000);
  await settle();
  assert.equal(sink.answers.length, 2);
});

test("relayer: a non-primary waits its rank × fallbackMs; a lost block is covered by the resend; a fresh relayer after a restart finds the unconfirmed height again", async () => {
  const probe = makeNetwork(bls, 2, []);
  const a = probe.account(0);
  const b = probe.account(1);
  const net = makeNetwork(bls, 2, [{ pub: a.publicKey, shard: 0, balance: 100 }]);
  net.execute(0, [transferTx(1, b.publicKey, [{ shard: 0, from: a.publicKey, nonce: 0, amount: 10, key: a }])]); // height 1
  const sink = sinkOf(net);
  // Validator 3 is two ranks after the primary (1).
  const r = new XShardRelayer({ shard: 0, validatorIndex: 3, validatorCount: 4, fallbackMs: 1_000, confirmMs: 1_000 }, sourceOf(net, 0), sink, defaultHasher());
  r.tick(0);
  r.tick(1_999);
  await settle();
  assert.equal(sink.answers.length, 0);
  r.tick(2_000);
  await settle();
  assert.deepEqual(sink.answers, ["accepted"]);
  // The destination crashed before executing it: its mempool is gone.
  sink.queued[1]!.length = 0;
  // This node restarts too: a new relayer rescans the committed heights.
  const again = new XShardRelayer({ shard: 0, validatorIndex: 1, validatorCount: 4, confirmMs: 1_000 }, sourceOf(net, 0), sink, defaultHasher());
  again.tick(5_000);
  await settle();
  assert.deepEqual(sink.answers, ["accepted", "accepted"]);
  sink.flush(1);
  again.tick(6_000);
  r.tick(6_000);
  await settle();
  assert.deepEqual(sink.answers.slice(2), ["applied", "applied"]);
  assert.equal(net.shards[1]!.built.accounts!.account(b.publicKey).balance, 10);
  assert.equal(again.inFlight + r.inFlight, 0);
});

test("relay sink: a duplicate that is committed there is confirmed (no endless resends); pending is waited for; REPLAYED confirms; other refusals drop; an unreachable node moves on", async () => {
  const { RpcRelaySink } = await import("../../../src/node/xshardLink.js");
  const calls: string[] = [];
  const node = (name: string, submit: () => unknown, status: () => unknown) => ({
    submitTx: async () => {
      calls.push(`${name} submit`);
      return submit() as never;
    },
    txStatus: async () => {
      calls.push(`${name} status`);
      return status() as never;
    },
  });
  const manifest = { id: "n", shards: [0, 1].map((index) => ({ index, chainId: `n-s${index}`, genesisHash: new Uint8Array(32), dir: "/x", rpc: ["a", "b"] })) };
  const answers = (submit: () => unknown, status: () => unknown = () => null) => {
    const sink = new RpcRelaySink(manifest, 1_000, [[], [node("x", submit, status), node("y", submit, status)]]);
    return sink.submit(1, new Uint8Array([0x30, 0x02]));
  };
  assert.equal((await answers(() => ({ status: "duplicate", id: new Uint8Array(32) }), () => ({ status: "committed", height: 3, index: 0, ok: false }))).answer, "applied");
  assert.equal((await answers(() => ({ status: "duplicate", id: new Uint8Array(32) }), () => ({ status: "pending" }))).answer, "accepted");
  assert.equal((await answers(() => ({ status: "accepted", id: new Uint8Array(32) }))).answer, "accepted");
  assert.equal((await answers(() => ({ status: "invalid", reason: "REPLAYED: every record of this import was applied already" }))).answer, "applied");
  assert.equal((await answers(() => ({ status: "invalid", reason: "BAD_SEAL: …" }))).answer, "refused");
  // A node that does not answer: unreachable, and the next submit goes to the shard's other node.
  calls.length = 0;
  const flaky = new RpcRelaySink(manifest, 1_000, [[], [node("x", () => { throw new Error("ECONNREFUSED"); }, () => null), node("y", () => ({ status: "accepted", id: new Uint8Array(32) }), () => null)]]);
  // (Where it starts is random per process, to spread a shard's relayers over the destination's nodes.)
  const first = await flaky.submit(1, new Uint8Array([0x30]));
  const second = await flaky.submit(1, new Uint8Array([0x30]));
  if (first.answer === "unreachable") assert.deepEqual([calls, second.answer], [["x submit", "y submit"], "accepted"]);
  else assert.deepEqual([calls, first.answer, second.answer], [["y submit", "y submit"], "accepted", "accepted"]);
});
