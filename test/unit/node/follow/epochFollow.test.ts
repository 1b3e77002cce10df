/**
 * A follower's certified chain across validator-set changes (issue 16): `CertifiedChain` with `certificatesFor` from
 * `EpochVerifiers` (node/epochSets.ts) over the in-memory epoch chain of test/support/epochChain.ts (real BLS QCs of
 * each epoch's members under its own domain; an add in block 3, epoch 1 from 5; a remove in block 12, epoch 2 from
 * 14). Offered in ranges whose ends put the change blocks either already committed (fed to the replay as the follower
 * commits them) or still pending below the boundary (verified with a copy advanced over them), every block is
 * released; a QC signed by the wrong epoch's set or under its domain is refused where it sits.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { blockHasher } from "../../../../src/consensus/blockHash.js";
import { CertifiedChain } from "../../../../src/consensus/certifiedChain.js";
import type { CertifiedChainContext, ServedBlock } from "../../../../src/consensus/certifiedChain.js";
import { merkleRoot } from "../../../../src/crypto/merkle.js";
import { encodeBitmapIndices } from "../../../../src/crypto/bitmap/index.js";
import { EpochSets, EpochVerifiers } from "../../../../src/node/epochSets.js";
import { genesisCertificates } from "../../../../src/node/genesis.js";
import { ADD_AT, EPOCHS, REMOVE_AT, TOP, buildEpochChain } from "../../../support/epochChain.js";
import type { EpochChain } from "../../../support/epochChain.js";

let fx: EpochChain;
/** Heights 0..TOP as an upstream serves them. */
let served: ServedBlock[];

before(async () => {
  fx = await buildEpochChain("quire-follow-epochs");
  served = fx.main.map((m) => ({ block: { header: m.header, txs: fx.txsAt(m.header.height) }, hash: m.hash, qc: m.qc }));
});

/** A certified chain above block `head` whose QCs verify with `verifiers` (the genesis set alone when null). */
function chainOver(verifiers: EpochVerifiers | null, head = 0): CertifiedChain {
  const ctx: CertifiedChainContext = {
    hashBlock: blockHasher(),
    certificates: genesisCertificates(fx.genesis, fx.backend),
    txRoot: (txs) => merkleRoot(txs),
    ...(verifiers !== null ? { certificatesFor: (h: number, below: readonly ServedBlock["block"][]) => verifiers.certificatesFor(h, below) } : {}),
  };
  return new CertifiedChain(ctx, { height: head, hash: served[head]!.hash });
}

/** A follower's chain from genesis: the verifiers see each released block as committed, as followerNode.ts feeds them. */
function follower(withEpochs = true): { chain: CertifiedChain; offer(blocks: readonly ServedBlock[]): ReturnType<CertifiedChain["offer"]> } {
  const verifiers = new EpochVerifiers(new EpochSets(fx.genesis, fx.backend).replay());
  const chain = chainOver(withEpochs ? verifiers : null);
  return {
    chain,
    offer(blocks) {
      const r = chain.offer(blocks);
      // A committed block's results: the next header's parentResults (what the executor produced and checked).
      if (r.ok) for (const c of r.committed) verifiers.committed(c.block.header, c.block.txs, served[c.block.header.height + 1]!.block.header.parentResults);
      return r;
    },
  };
}

/** `served` with block `height`'s QC replaced by one of `epoch`'s set under its domain. */
function signedBy(height: number, epoch: (typeof EPOCHS)[number]): ServedBlock[] {
  const out = [...served];
  const b = out[height]!;
  out[height] = { ...b, qc: fx.qcFor(height, b.block.header.view, b.hash, epoch) };
  return out;
}

describe("a follower verifies each height with its epoch's set", { timeout: 120_000 }, () => {
  // At the boundaries: offers of 2 have the add committed and the remove pending, of 3 both pending, of TOP both in it.
  for (const size of [2, 3, TOP]) {
    test(`offers of ${size} blocks release every block across both changes`, () => {
      const f = follower();
      const released: number[] = [];
      for (let from = 1; from <= TOP; from += size) {
        const r = f.offer(served.slice(from, Math.min(TOP, from + size - 1) + 1));
        assert.ok(r.ok, `offer from ${from}: ${r.ok ? "" : `${r.code} at ${r.height}: ${r.reason}`}`);
        released.push(...r.committed.map((c) => c.block.header.height));
      }
      // Every pair has consecutive views: all but the top block are committed, in order.
      assert.deepEqual(released, Array.from({ length: TOP - 1 }, (_, i) => i + 1));
      assert.equal(f.chain.tip.height, TOP);
    });
  }

  test("without certificatesFor (the genesis set for every height) the first block of epoch 1 is refused", () => {
    const r = follower(false).offer(served.slice(1, TOP + 1));
    assert.deepEqual(r.ok ? null : [r.code, r.height], ["BAD_QC", ADD_AT + 2]);
  });

  test("a block of epoch 1 certified by epoch 0's set under epoch 0's domain is refused BAD_QC; nothing of the offer is kept", () => {
    for (const h of [ADD_AT + 2, ADD_AT + 4]) {
      const f = follower();
      const r = f.offer(signedBy(h, EPOCHS[0]!).slice(1, TOP + 1));
      assert.deepEqual(r.ok ? null : [r.code, r.height], ["BAD_QC", h]);
      assert.deepEqual([f.chain.committedHead.height, f.chain.pending.length], [0, 0]);
    }
  });

  test("an epoch-2 block signed by epoch 1's set is refused, with the remove committed or still pending", () => {
    const forged = signedBy(REMOVE_AT + 3, EPOCHS[1]!);
    const pending = follower();
    assert.ok(pending.offer(forged.slice(1, REMOVE_AT + 1)).ok);
    assert.equal(pending.chain.pending.at(-1)!.block.header.height, REMOVE_AT);
    const r = pending.offer(forged.slice(REMOVE_AT + 1, TOP + 1));
    assert.deepEqual(r.ok ? null : [r.code, r.height], ["BAD_QC", REMOVE_AT + 3]);
    const committed = follower();
    assert.ok(committed.offer(forged.slice(1, REMOVE_AT + 2)).ok);
    assert.equal(committed.chain.committedHead.height, REMOVE_AT);
    const r2 = committed.offer(forged.slice(REMOVE_AT + 2, TOP + 1));
    assert.deepEqual(r2.ok ? null : [r2.code, r2.height], ["BAD_QC", REMOVE_AT + 3]);
  });

  test("a follower restarted above both changes catches its replay up from the stored change blocks and goes on", () => {
    const read: number[] = [];
    const from = REMOVE_AT + 4;
    const replay = new EpochSets(fx.genesis, fx.backend).replayCommitted(EPOCHS, from - 1, (h) => {
      read.push(h);
      return { header: served[h]!.block.header, txs: fx.txsAt(h), results: served[h + 1]!.block.header.parentResults };
    });
    assert.deepEqual(read, [ADD_AT, REMOVE_AT]);
    const r = chainOver(new EpochVerifiers(replay), from - 1).offer(served.slice(from, TOP + 1));
    assert.deepEqual(r.ok ? r.committed.length : r, TOP - from);
    // Caught up on the add only (a store whose state knows epoch 1 alone), epoch 2's QCs are refused.
    const stale = new EpochVerifiers(new EpochSets(fx.genesis, fx.backend).replayCommitted(EPOCHS.slice(0, 2), from - 1, (h) => ({ header: served[h]!.block.header, txs: fx.txsAt(h), results: served[h + 1]!.block.header.parentResults })));
    const refused = chainOver(stale, from - 1).offer(served.slice(from, TOP + 1));
    assert.deepEqual(refused.ok ? null : [refused.code, refused.height], ["BAD_QC", from]);
  });

  test("an upstream head of a later epoch is certified once the change below it and its certified result are known (health's target)", () => {
    const f = follower();
    const top = served[TOP]!;
    assert.equal(f.chain.certifiesHeader(top.block.header, top.hash, top.qc), false);
    // The remove's block alone does not say whether it succeeded: the header above it (its certified results) does.
    assert.ok(f.offer(served.slice(1, REMOVE_AT + 1)).ok);
    assert.equal(f.chain.certifiesHeader(top.block.header, top.hash, top.qc), false);
    assert.ok(f.offer(served.slice(REMOVE_AT + 1, REMOVE_AT + 2)).ok);
    assert.equal(f.chain.certifiesHeader(top.block.header, top.hash, top.qc), true);
  });
});

test("the replay applies the changes the block's certified results mark as succeeded (a skipped duplicate or a forged change does not spend the per-block check budget)", () => {
  // F: the genuine add with another change's aggregate signature (a valid point, the wrong message): it passes the
  // cheap checks and fails BAD_SIGNATURE. On a node, [F, F, add] runs F (checked, fails), skips the duplicate F
  // without delivering it, and runs add (checked second, succeeds): results bits {0, 1}.
  const add = fx.bodies.get(ADD_AT)![1]!;
  const remove = fx.bodies.get(REMOVE_AT)![0]!;
  const forged = Uint8Array.from([...add.subarray(0, add.length - 96), ...remove.subarray(remove.length - 96)]);
  const txs = [forged, forged, add];
  const sets = new EpochSets(fx.genesis, fx.backend);
  const replay = sets.replay();
  replay.apply(ADD_AT, txs, encodeBitmapIndices(3, Uint32Array.of(0, 1)));
  assert.equal(replay.at(ADD_AT + 2).epoch, 1, "the genuine change took effect");
  // Delivering every change instead (a bitmap claiming all succeeded) spends both checks on F and refuses add:
  // the drift the certified results prevent.
  const drifted = sets.replay();
  drifted.apply(ADD_AT, txs, encodeBitmapIndices(3, new Uint32Array(0)));
  assert.equal(drifted.at(ADD_AT + 2).epoch, 0);
  // A bitmap that does not decode counts as nothing succeeded (no throw).
  const garbled = sets.replay();
  garbled.apply(ADD_AT, txs, Uint8Array.of(0xff, 0xff));
  assert.equal(garbled.at(ADD_AT + 2).epoch, 0);
});
