/**
 * A follower's certified chain across committee rotations (issue 15): `EpochVerifiers` over the in-memory committee
 * chain of test/support/committeeChain.ts, whose epochs were worked out by hand from the reputation rules. The replay
 * runs the validators module over every header; a rotation it computed differently would make the QCs fail.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { blockHasher } from "../../../../src/consensus/blockHash.js";
import { CertifiedChain } from "../../../../src/consensus/certifiedChain.js";
import type { CertifiedChainContext, ServedBlock } from "../../../../src/consensus/certifiedChain.js";
import { merkleRoot } from "../../../../src/crypto/merkle.js";
import { EpochSets, EpochVerifiers } from "../../../../src/node/epochSets.js";
import { genesisCertificates } from "../../../../src/node/genesis.js";
import { COMMITTEE_EPOCHS, COMMITTEE_TOP, buildCommitteeChain } from "../../../support/committeeChain.js";
import type { CommitteeChain } from "../../../support/committeeChain.js";

let fx: CommitteeChain;
let served: ServedBlock[];

before(async () => {
  fx = await buildCommitteeChain();
  served = fx.main.map((m) => ({ block: { header: m.header, txs: fx.txsAt(m.header.height) }, hash: m.hash, qc: m.qc }));
});

function follower(replay = new EpochSets(fx.genesis, fx.backend).replay(), head = 0) {
  const verifiers = new EpochVerifiers(replay);
  const ctx: CertifiedChainContext = {
    hashBlock: blockHasher(),
    certificates: genesisCertificates(fx.genesis, fx.backend),
    txRoot: (txs) => merkleRoot(txs),
    certificatesFor: (h, below) => verifiers.certificatesFor(h, below),
  };
  const chain = new CertifiedChain(ctx, { height: head, hash: served[head]!.hash });
  return {
    chain,
    offer(blocks: readonly ServedBlock[]) {
      const r = chain.offer(blocks);
      if (r.ok) for (const c of r.committed) verifiers.committed(c.block.header, c.block.txs, served[c.block.header.height + 1]!.block.header.parentResults);
      return r;
    },
  };
}

for (const size of [3, COMMITTEE_TOP]) {
  test(`offers of ${size} blocks release every block across three rotations`, () => {
    const f = follower();
    const released: number[] = [];
    for (let from = 1; from <= COMMITTEE_TOP; from += size) {
      const r = f.offer(served.slice(from, Math.min(COMMITTEE_TOP, from + size - 1) + 1));
      assert.ok(r.ok, `offer from ${from}: ${r.ok ? "" : `${r.code} at ${r.height}: ${r.reason}`}`);
      released.push(...r.committed.map((c) => c.block.header.height));
    }
    assert.deepEqual(released, Array.from({ length: COMMITTEE_TOP - 1 }, (_, i) => i + 1));
  });
}

test("a block of epoch 2 certified by epoch 1's committee is refused BAD_QC", () => {
  const forged = [...served];
  const b = forged[22]!;
  forged[22] = { ...b, qc: fx.qcFor(22, b.block.header.view, b.hash, COMMITTEE_EPOCHS[1]!) };
  const r = follower().offer(forged.slice(1, COMMITTEE_TOP + 1));
  assert.deepEqual(r.ok ? null : [r.code, r.height], ["BAD_QC", 22]);
});

test("the replay over every header reaches the hand-computed committees", () => {
  const sets = new EpochSets(fx.genesis, fx.backend);
  const replay = sets.replayCommitted([], COMMITTEE_TOP - 1, (h) => ({ header: served[h]!.block.header, txs: fx.txsAt(h), results: served[h + 1]!.block.header.parentResults }));
  for (const e of COMMITTEE_EPOCHS) {
    const want = sets.of(e.epoch, e.members.map((i) => fx.genesis.validators[i]!.publicKey)).key;
    for (const h of [e.startHeight, e.startHeight + 1]) assert.equal(replay.at(h).key, want, `height ${h}: epoch ${e.epoch} = [${e.members.join(",")}]`);
  }
});

test("a follower restarted above the rotations replays every stored header and goes on", () => {
  const head = 25;
  const read: number[] = [];
  const replay = new EpochSets(fx.genesis, fx.backend).replayCommitted(COMMITTEE_EPOCHS.slice(0, 3), head, (h) => {
    read.push(h);
    return { header: served[h]!.block.header, txs: fx.txsAt(h), results: served[h + 1]!.block.header.parentResults };
  });
  assert.deepEqual(read, Array.from({ length: head }, (_, i) => i + 1));
  const r = follower(replay, head).offer(served.slice(head + 1, COMMITTEE_TOP + 1));
  assert.deepEqual(r.ok ? r.committed.length : r, COMMITTEE_TOP - head - 1);
});
