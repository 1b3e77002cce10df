import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { buildApplication } from "../../../../src/chain/app/build.js";
import type { BuiltApplication } from "../../../../src/chain/app/build.js";
import { MapState } from "../../../../src/chain/app/mapState.js";
import { buildChangeTx, committeeSafe, smallestSafeCommittee, ValsetError } from "../../../../src/chain/app/validators/module.js";
import type { CommitteeConfig } from "../../../../src/chain/app/validators/module.js";
import { bitmapSignerSets } from "../../../../src/consensus/adapters/bitmapSignerSets.js";
import type { BlockHeader } from "../../../../src/domain/types.js";
import { SeededRng } from "../../../../src/util/rng.js";
import { utf8 } from "../../../../src/util/bytes.js";

const CHAIN = utf8("quire-committee-test");
const sets = bitmapSignerSets();
let bls: BlsBackend;
let keys: SecretKey[];
before(async () => {
  bls = await loadBlsBackend("blst");
  keys = Array.from({ length: 6 }, (_, i) => bls.secretKeyFromBytes(keyGen(new Uint8Array(createHash("sha256").update(`committee-test/${i}`).digest()))));
});

const pub = (i: number): Uint8Array => bls.publicKeyToBytes(bls.publicKeyOf(keys[i]!), "compressed");

/** A header as the module reads it: proposer and parent-QC signers are positions in the block's epoch. */
function header(height: number, proposer: number, signers: readonly number[] | null, memberCount: number): BlockHeader {
  const z = new Uint8Array(32);
  return { parent: z, view: height, height, proposer, timestampMs: 0, txRoot: z, parentStateRoot: z, parentResults: new Uint8Array(0), parentSigners: signers === null ? new Uint8Array(0) : sets.encode(signers, memberCount) };
}

/** A committee chain of `n` genesis validators (the validators module alone), executed block by block with headers. */
function chain(n: number, committee: CommitteeConfig, state = new MapState(), firstHeight = 1) {
  const built: BuiltApplication = buildApplication({ bucketBits: 4, modules: ["validators"], chainId: CHAIN, validators: Array.from({ length: n }, (_, i) => pub(i)), committee }, { committed: state, bls });
  let height = firstHeight;
  return {
    v: built.validators!,
    state,
    get height() {
      return height;
    },
    /** Block `height`: `proposer` and `signers` are positions in the epoch that certifies it; null signers: none recorded. */
    block(proposer: number, signers: readonly number[] | null, txs: Uint8Array[] = []): string[] {
      const members = built.validators!.epochAt(height).members.length;
      built.app.beginBlock(state, { height, txCount: txs.length, txs, header: header(height, proposer, signers, members) });
      const out = txs.map((tx, i) => {
        const r = built.app.deliver(tx, i);
        return r.ok ? "ok" : r.code;
      });
      built.app.commit();
      height++;
      return out;
    },
  };
}

test("the committee is the top m by score, ties by lower index; passive validators recover and re-enter (hand-computed)", () => {
  const c = chain(4, { size: 2, everyHeights: 10 });
  // Block 1: the child of genesis records no signers; proposer 1 is at the cap already.
  c.block(1, null);
  // Blocks 2–3: 0 misses twice (−1, −2 points); 4–8: 3 misses five times in a row (−1 … −5 = −15), 0 votes (+0.5 × 5).
  c.block(1, [1, 2, 3]);
  c.block(1, [1, 2, 3]);
  for (let h = 4; h <= 8; h++) c.block(1, [0, 1, 2]);
  // Scores after 8 (milli): 0 = 100 − 3 + 2.5 = 99.5; 1, 2 = 100; 3 = 85. Top 2 = [1, 2] (1 and 2 tie: lower index first).
  assert.deepEqual(c.v.scores(), [99_500, 100_000, 100_000, 85_000]);
  // 8 ≡ E − 2 (mod 10): the rotation schedules epoch 1 from 10.
  assert.deepEqual(c.v.epochs(), [
    { epoch: 0, startHeight: 1, members: [0, 1, 2, 3] },
    { epoch: 1, startHeight: 10, members: [1, 2] },
  ]);
  // A change while the rotation is pending: signed for epoch 0 it is stale, for epoch 1 it waits for 10.
  const m1 = [1, 2];
  const signed = (epoch: number, members: readonly number[]) =>
    buildChangeTx(bls, CHAIN, epoch, members.length, { kind: "remove", index: members[0]! }, members.map((r, position) => ({ position, secretKey: keys[r]! })));
  assert.deepEqual(c.block(1, [0, 1, 2], [signed(0, [0, 1, 2, 3]), signed(1, m1)]), ["WRONG_EPOCH", "CHANGE_PENDING"]); // 9: 0 → 100, 3 → 85 − 6 = 79
  // Epoch 1: blocks 10–18, positions of [1, 2]. 10 is the root's child (no signers). Passive 0 and 3 move 1 point per
  // block towards 90: 0 from 100 to 91, 3 from 79 to 88. Member 2 stops voting at 11: −1 … −8 = −36.
  c.block(0, null);
  for (let h = 11; h <= 18; h++) c.block(0, [0]);
  assert.deepEqual(c.v.scores(), [91_000, 100_000, 64_000, 88_000]);
  // The rotation at 18: 1 (100), 0 (91) → [0, 1]: 0 earned its way back in over 3; 2 leaves.
  assert.deepEqual(c.v.epochs()[2], { epoch: 2, startHeight: 20, members: [0, 1] });
  // Nothing moves at the next rotation while the scores keep the same top two: no epoch.
  c.block(0, [0, 1]); // 19 (epoch 1)
  for (let h = 20; h <= 28; h++) c.block(0, h === 20 ? null : [0, 1]);
  assert.equal(c.v.epochs().length, 3);
});

test("a change and a rotation never collide: the rotation waits a period; a removed validator is no candidate", () => {
  const c = chain(4, { size: 3, everyHeights: 10 });
  for (let h = 1; h <= 7; h++) c.block(0, h === 1 ? null : [0, 1, 2, 3]);
  // Block 8 (a rotation height) carries a change removing 3: the change's epoch is scheduled, the rotation waits.
  const remove3 = buildChangeTx(bls, CHAIN, 0, 4, { kind: "remove", index: 3 }, [0, 1, 2].map((p) => ({ position: p, secretKey: keys[p]! })));
  assert.deepEqual(c.block(0, [0, 1, 2, 3], [remove3]), ["ok"]);
  assert.deepEqual(c.v.epochs()[1], { epoch: 1, startHeight: 10, members: [0, 1, 2] });
  assert.equal(c.v.epochs().length, 2, "no rotation at 8: the change's epoch was pending");
  c.block(0, [0, 1, 2, 3]); // 9
  // Epoch 1: 0 never votes, so it falls below the passive 3 — but 3 was removed: the top 3 candidates are still [0, 1, 2].
  for (let h = 10; h <= 18; h++) c.block(1, h === 10 ? null : [1, 2]);
  assert.ok(c.v.scores()![0]! < c.v.scores()![3]!, "3 outscores 0");
  assert.equal(c.v.epochs().length, 2, "the same members: no epoch");
});

test("two replicas fed the same history — one of them restarted from its state midway — pick the same committees", () => {
  const cfg = { size: 4, everyHeights: 10 };
  const a = chain(6, cfg);
  let b = chain(6, cfg);
  const rng = new SeededRng(15);
  for (let h = 1; h <= 120; h++) {
    // Registry index r misses a vote with probability r / 7: the committee keeps changing.
    const members = a.v.epochAt(h).members;
    const signers = h === 1 ? null : members.map((_, p) => p).filter((p) => rng.int(7) >= members[p]!);
    const proposer = rng.int(members.length);
    a.block(proposer, signers);
    b.block(proposer, signers);
    // Replica b restarts after 55: a new application over the same state continues from the stored snapshot.
    if (h === 55) b = chain(6, cfg, b.state, 56);
    // The epoch list a module keeps between calls (extended as records commit) equals one read afresh by a module
    // that never read it, and a list handed out earlier is frozen.
    if (h % 7 === 0) {
      const kept = a.v.epochs();
      assert.deepEqual(kept, chain(6, cfg, a.state, h + 1).v.epochs(), `height ${h}`);
      assert.ok(Object.isFrozen(kept));
    }
  }
  assert.deepEqual(b.v.epochs(), a.v.epochs());
  assert.deepEqual(b.v.scores(), a.v.scores());
  assert.ok(a.v.epochs().length > 2, `rotations happened (${a.v.epochs().length - 1})`);
});

test("at most one passive validator enters per rotation, even when several outscore members", () => {
  const c = chain(6, { size: 4, everyHeights: 10 });
  // Epoch 0 (all six): 4 and 5 miss every vote of 2..9, so the rotation at 8 keeps [0, 1, 2, 3].
  for (let h = 1; h <= 9; h++) c.block(0, h === 1 ? null : [0, 1, 2, 3]);
  assert.deepEqual(c.v.epochs()[1]!.members, [0, 1, 2, 3]);
  // Epoch 1 (positions are registry 0..3): 2 and 3 miss every vote of 11..18, while passive 4 and 5 recover.
  for (let h = 10; h <= 19; h++) c.block(0, h === 10 ? null : [0, 1]);
  const sc = c.v.scores()!;
  assert.ok(Math.min(sc[4]!, sc[5]!) > Math.max(sc[2]!, sc[3]!), `both passives outscore both failing members: ${sc}`);
  // The rotation at 18: the top four would be [0, 1, 4, 5]; one entrant only, 4 (lower index), beside the best of 2, 3.
  assert.deepEqual(c.v.epochs()[2], { epoch: 2, startHeight: 20, members: [0, 1, 2, 4] });
});

test("committee sizes that a Byzantine f of the validators could break are refused: two quorums must share more than f", () => {
  // Written out: n = 4 (f = 1): m = 1 → q = 1, 2 − 1 = 1 ≤ 1 unsafe; m = 2 → q = 2, 4 − 2 = 2 > 1. n = 7 (f = 2): m = 3 →
  // q = 3 (unanimous), 3 > 2 safe; m = 4 → q = 3, 2 ≤ 2 unsafe; m = 5 → q = 4, 3 > 2. n = 10 (f = 3): m = 3 → 3 ≤ 3;
  // m = 4 → q = 3, 2; m = 5 → q = 4, 3; m = 6 → q = 5, 4 > 3.
  assert.deepEqual([4, 7, 10].map(smallestSafeCommittee), [2, 3, 6]);
  assert.ok(committeeSafe(3, 7) && !committeeSafe(4, 7) && committeeSafe(5, 7) && committeeSafe(7, 7));
  assert.throws(() => chain(4, { size: 1, everyHeights: 10 }), (e: unknown) => e instanceof ValsetError && e.code === "BAD_COMMITTEE" && /smallest safe size is 2/.test(e.message));
  assert.throws(() => chain(6, { size: 1, everyHeights: 10 }), (e: unknown) => e instanceof ValsetError && e.code === "BAD_COMMITTEE");
});

test("committee configurations are checked (typed errors)", () => {
  assert.throws(() => chain(4, { size: 2, everyHeights: 9 }), (e: unknown) => e instanceof ValsetError && e.code === "BAD_COMMITTEE");
  assert.throws(() => chain(4, { size: 5, everyHeights: 10 }), (e: unknown) => e instanceof ValsetError && e.code === "BAD_COMMITTEE");
  assert.throws(() => chain(4, { size: 0, everyHeights: 10 }), (e: unknown) => e instanceof ValsetError && e.code === "BAD_COMMITTEE");
});
