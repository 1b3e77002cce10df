/**
 * The evidence module (tag 0x41) with real BLS: a proof of equivocation (two signed proposals, or two signed votes, of
 * one view for different blocks) is accepted once; a forged one is refused and does not block the genuine one (at
 * execution, and at admission within a per-second budget of signature checks); a
 * duplicate of one (validator, view, kind) is refused whatever its bytes; the reputation reading of a committed block
 * counts only its successful evidence txs.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { buildApplication } from "../../../../src/chain/app/build.js";
import { MapState } from "../../../../src/chain/app/mapState.js";
import { decodeEvidenceTx, encodeEvidenceTx, evidenceTxOf, provenMisbehaviour } from "../../../../src/chain/app/evidence/format.js";
import type { EvidenceTx } from "../../../../src/chain/app/evidence/format.js";
import { DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND, MAX_CHECKED_EVIDENCE_PER_BLOCK } from "../../../../src/chain/app/evidence/module.js";
import { Mempool } from "../../../../src/chain/mempool.js";
import { encodeBitmapIndices } from "../../../../src/crypto/bitmap/index.js";
import { proposalMessage, voteMessage } from "../../../../src/consensus/signing.js";
import { encodeKvTx } from "../../../../src/chain/app/kvTx.js";
import { utf8 } from "../../../../src/util/bytes.js";
import { appBlocks } from "../support/fixtures.js";

const CHAIN = utf8("quire-evidence-test");
let bls: BlsBackend;
let keys: SecretKey[];
before(async () => {
  bls = await loadBlsBackend("blst");
  keys = Array.from({ length: 4 }, (_, i) => bls.secretKeyFromBytes(keyGen(new Uint8Array(createHash("sha256").update(`evidence-test/${i}`).digest()))));
});

const hashOf = (s: string): Uint8Array => new Uint8Array(createHash("sha256").update(s).digest());
const sign = (i: number, message: Uint8Array): Uint8Array => bls.signatureToBytes(bls.sign(keys[i]!, message), "uncompressed");

/** Validator `v`'s two signed proposals (or votes) of `view`, for blocks "a" and "b". */
function proof(kind: EvidenceTx["kind"], v: number, view: number, a = "a", b = "b"): EvidenceTx {
  const msg = kind === "proposal" ? proposalMessage : voteMessage;
  const part = (s: string) => ({ blockHash: hashOf(s), signature: sign(v, msg(CHAIN, view, hashOf(s))) });
  return { kind, validator: v, view, first: part(a), second: part(b) };
}

function chain(now?: () => number) {
  const state = new MapState();
  const built = buildApplication(
    { bucketBits: 4, modules: ["kv", "evidence"], chainId: CHAIN, validators: keys.map((k) => bls.publicKeyToBytes(bls.publicKeyOf(k), "compressed")) },
    { committed: state, bls, ...(now !== undefined ? { now } : {}) },
  );
  return { built, block: appBlocks(built.app, state).block };
}

test("a proposal and a vote equivocation are accepted once; duplicates (either order) and forgeries are refused", () => {
  const c = chain();
  const p = proof("proposal", 2, 7);
  const swapped = { ...p, first: p.second, second: p.first };
  // A forgery: validator 1's "second proposal" signed by validator 3.
  const real = proof("proposal", 1, 9);
  const forged = { ...real, second: { blockHash: hashOf("c"), signature: sign(3, proposalMessage(CHAIN, 9, hashOf("c"))) } };
  assert.deepEqual(c.block([encodeEvidenceTx(forged), encodeEvidenceTx(p), encodeEvidenceTx(swapped), encodeEvidenceTx(real)]), ["BAD_SIGNATURE", "ok", "DUPLICATE", "ok"]);
  assert.equal(c.built.evidence!.proven("proposal", 2, 7), true);
  // The same validator and view as a vote equivocation is another kind: accepted; proposals are not votes.
  const vote = proof("vote", 2, 7);
  const voteSignedAsProposal = { ...proof("proposal", 0, 7), kind: "vote" as const };
  assert.deepEqual(c.block([encodeEvidenceTx(vote), encodeEvidenceTx(voteSignedAsProposal), encodeEvidenceTx(proof("vote", 2, 7, "x", "y"))]), ["ok", "BAD_SIGNATURE", "DUPLICATE"]);
  // Not evidence: one block twice, two views, a validator outside the set, bytes that do not decode.
  const sameBlock = proof("vote", 0, 5, "a", "a");
  const twoViews = { ...proof("vote", 0, 5), second: proof("vote", 0, 6).second };
  const outsider = { ...proof("vote", 0, 5), validator: 4 };
  assert.deepEqual(c.block([encodeEvidenceTx(sameBlock), encodeEvidenceTx(twoViews), encodeEvidenceTx(outsider), encodeEvidenceTx(p).subarray(0, 100)]), ["SAME_BLOCK", "BAD_SIGNATURE", "UNKNOWN_VALIDATOR", "MALFORMED"]);
  assert.equal(c.built.app.check(encodeEvidenceTx(p).subarray(1)).ok, false);
  assert.equal(c.built.app.check(encodeEvidenceTx(p)).ok, true);
});

test("admission checks the signatures: forged proofs never enter a mempool, so they cannot crowd a genuine one out of a block", () => {
  let clock = 0;
  const c = chain(() => clock);
  const real = proof("vote", 1, 30);
  // Forgeries of every shape an attacker can make without the validator's key: another signer, random bytes where the
  // signature goes (not a point), a signature over another view.
  const forged = Array.from({ length: MAX_CHECKED_EVIDENCE_PER_BLOCK }, (_, i) => {
    const p = proof("vote", i % 4, 40 + i);
    if (i % 3 === 0) return encodeEvidenceTx({ ...p, second: { blockHash: p.second.blockHash, signature: sign((i + 1) % 4, voteMessage(CHAIN, 40 + i, p.second.blockHash)) } });
    if (i % 3 === 1) return encodeEvidenceTx({ ...p, first: { blockHash: p.first.blockHash, signature: new Uint8Array(p.first.signature.length).fill(7) } });
    return encodeEvidenceTx({ ...p, first: { blockHash: p.first.blockHash, signature: sign(i % 4, voteMessage(CHAIN, 41 + i, p.first.blockHash)) } });
  });
  for (const f of forged) {
    const r = c.built.app.check(f);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.code, "BAD_SIGNATURE", r.reason);
  }
  // The shipping mempool with the application's check, as a validator runs it: the forgeries are invalid (400), the
  // genuine proof is admitted, and the block an honest leader reaps proves it.
  const pool = new Mempool({}, { check: (tx) => c.built.app.check(tx) });
  for (const f of forged) assert.equal(pool.add(f, "attacker").kind, "invalid");
  assert.equal(pool.add(encodeEvidenceTx(real), "honest").kind, "accepted");
  const reaped = pool.reap(100, 1 << 20);
  assert.equal(reaped.length, 1);
  assert.deepEqual(c.block(reaped), ["ok"]);
  assert.equal(c.built.evidence!.proven("vote", 1, 30), true);
  // A proof for a validator outside the set is refused before any signature work.
  const outsider = c.built.app.check(encodeEvidenceTx({ ...proof("vote", 0, 5), validator: 4 }));
  assert.equal(outsider.ok === false && outsider.code, "UNKNOWN_VALIDATOR");
});

test("admission signature checks have a per-second budget: past it, 'retry after' (mempool full), never 'invalid'", () => {
  let clock = 1_000;
  const c = chain(() => clock);
  const txs = Array.from({ length: DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND + 3 }, (_, i) => encodeEvidenceTx(proof("vote", i % 4, 100 + i)));
  const pool = new Mempool({}, { check: (tx) => c.built.app.check(tx) });
  const kinds = txs.map((tx) => pool.add(tx, `client-${tx[13]}`).kind);
  assert.deepEqual(kinds.slice(0, DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND), new Array<string>(DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND).fill("accepted"));
  assert.deepEqual(kinds.slice(DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND), ["full", "full", "full"]);
  const busy = pool.add(txs.at(-1)!, "late");
  assert.equal(busy.kind, "full");
  if (busy.kind === "full") {
    assert.equal(busy.scope, "check");
    assert.match(busy.reason ?? "", /^EVIDENCE_BUSY: /);
    // One token comes back every 1000 / rate ms.
    assert.equal(busy.retryAfterMs, Math.ceil(1000 / DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND));
  }
  assert.equal(pool.metrics().rejected.checkBusy, 4);
  assert.equal(pool.metrics().rejected.invalid, 0);
  // After the advertised wait, the same bytes are admitted (a refusal for budget is not a verdict on the tx).
  clock += Math.ceil(1000 / DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND);
  assert.equal(pool.add(txs.at(-1)!, "late").kind, "accepted");
  assert.equal(pool.add(txs.at(-2)!, "late").kind, "full");
  // The node's own evidence (verified by its validation) skips the spent budget; a client's copy of it would not.
  const own = encodeEvidenceTx(proof("proposal", 2, 90));
  assert.equal(pool.add(own, "client").kind, "full");
  assert.equal(pool.add(own, "evidence", { verified: true }).kind, "accepted");
  // A second later the whole burst is back, and no more.
  clock += 1_000;
  const burst = Array.from({ length: DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND + 1 }, (_, i) => c.built.app.check(encodeEvidenceTx(proof("proposal", i % 4, 500 + i))).ok);
  assert.equal(burst.filter(Boolean).length, DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND);
  assert.equal(burst.at(-1), false);
});

test("signature checks are capped per block: later evidence fails TOO_MANY_EVIDENCE without BLS work", () => {
  const c = chain();
  const txs = Array.from({ length: MAX_CHECKED_EVIDENCE_PER_BLOCK + 1 }, (_, i) => encodeEvidenceTx(proof("vote", i % 4, 10 + i)));
  const out = c.block(txs);
  assert.deepEqual(out.slice(0, MAX_CHECKED_EVIDENCE_PER_BLOCK), new Array<string>(MAX_CHECKED_EVIDENCE_PER_BLOCK).fill("ok"));
  assert.equal(out.at(-1), "TOO_MANY_EVIDENCE");
  assert.deepEqual(c.block([txs.at(-1)!]), ["ok"], "the next block checks it");
});

test("the tx encodes what validation recorded; the reputation reading counts successful evidence txs only", () => {
  const p = proof("proposal", 3, 4);
  const tx = evidenceTxOf({ kind: "vote", validator: 3, view: 4, first: { view: 4, voter: 3, blockHash: p.first.blockHash, signature: p.first.signature }, second: { view: 4, voter: 3, blockHash: p.second.blockHash, signature: p.second.signature } })!;
  const d = decodeEvidenceTx(tx);
  assert.ok(d.ok);
  assert.deepEqual([d.tx.kind, d.tx.validator, d.tx.view, d.tx.second.blockHash], ["vote", 3, 4, p.second.blockHash]);
  const kv = encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8("k"), value: utf8("v") });
  const txs = [kv, encodeEvidenceTx(proof("vote", 1, 3)), encodeEvidenceTx(p), encodeEvidenceTx(proof("vote", 0, 3))];
  // Tx 2 failed (bit 2 set): validators 1 and 0 are proven, 3 is not.
  assert.deepEqual(provenMisbehaviour(txs, encodeBitmapIndices(txs.length, Uint32Array.of(2))), [1, 0]);
  assert.deepEqual(provenMisbehaviour([kv], encodeBitmapIndices(1, new Uint32Array(0))), []);
  assert.deepEqual(provenMisbehaviour(txs, Uint8Array.of(0xff, 0xff, 0xff)), [], "an unreadable bitmap proves nothing");
});
