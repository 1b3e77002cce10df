/**
 * Proposal equivocation evidence: `verifyEquivocationEvidence` accepts a real pair and refuses every pair that proves
 * nothing, over the fast test scheme and over BLS with @chainsafe/blst used directly as the oracle (the signatures are
 * made by blst itself, not by Quire's signer, and blst checks the ones Quire's signer made); the JSON form round-trips
 * and every malformed field is a typed refusal; a validator that sees two signed proposals records exactly this pair.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SecretKey, PublicKey, Signature, verify as blstVerify } from "@chainsafe/blst";
import { blockHash } from "../../../src/consensus/blockHash.js";
import { BlsScheme, blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { proposalMessage, voteMessage } from "../../../src/consensus/signing.js";
import { evidenceFromJson, evidenceToJson, verifyEquivocationEvidence } from "../../../src/consensus/validation/evidence.js";
import type { EvidenceCheckContext, ProposalEquivocation } from "../../../src/consensus/validation/evidence.js";
import { MessageValidator } from "../../../src/consensus/validation/validator.js";
import { CachingVerifier } from "../../../src/consensus/validation/verifier.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { Block, SignedProposalHash } from "../../../src/domain/types.js";
import { utf8 } from "../../../src/util/bytes.js";
import { CHAIN_ID, TestCommittee, txRoot } from "../../support/consensus.js";

const c = new TestCommittee(4);
const ctx: EvidenceCheckContext = { chainId: CHAIN_ID, scheme: c.scheme, validatorCount: 4 };

const b1 = c.block(c.ref(c.genesis), 1);
const q1 = c.qc(1, c.ref(b1).hash);
/** Two blocks of view 2 by its leader (validator 2), and one by validator 1 (for the wrong-proposer pair). */
const a = c.block(c.ref(b1), 2, "a");
const b = c.block(c.ref(b1), 2, "b");

function signedHash(block: Block, signer = block.header.proposer): SignedProposalHash {
  const h = block.header;
  return { view: h.view, blockHash: blockHash(h), proposer: h.proposer, signature: c.proposal(block, q1, null, signer).signature };
}
const flip = (bytes: Uint8Array, at = 7): Uint8Array => Uint8Array.from(bytes, (x, i) => (i === at ? x ^ 1 : x));

const real: ProposalEquivocation = { first: signedHash(a), second: signedHash(b) };

test("a real pair of signed proposals of one view by its proposer verifies", () => {
  assert.equal(verifyEquivocationEvidence(ctx, real), "ok");
  assert.equal(verifyEquivocationEvidence(ctx, { first: real.second, second: real.first }), "ok");
});

test("pairs that prove nothing are refused with a typed verdict", () => {
  const byOther = c.block(c.ref(b1), 2, "c", 1); // a block naming validator 1 as proposer, signed by 1
  const cases: [string, ProposalEquivocation][] = [
    ["DIFFERENT_PROPOSERS", { first: real.first, second: signedHash(byOther) }],
    ["SAME_BLOCK", { first: real.first, second: real.first }],
    ["BAD_SIGNATURE", { first: real.first, second: { ...real.second, signature: flip(real.second.signature) } }],
    ["BAD_SIGNATURE", { first: { ...real.first, signature: flip(real.first.signature, 0) }, second: real.second }],
    // Another validator's signature under the proposer's name: a framing attempt.
    ["BAD_SIGNATURE", { first: real.first, second: signedHash(b, 1) }],
    // The proposer's votes for two blocks are a vote equivocation, not a proposal one: another domain.
    ["BAD_SIGNATURE", { first: { ...real.first, signature: c.vote(2, 2, real.first.blockHash).signature }, second: { ...real.second, signature: c.vote(2, 2, real.second.blockHash).signature } }],
    // A signature of view 3 presented as one of view 2 (and a pair of different views).
    ["BAD_SIGNATURE", { first: real.first, second: { ...real.second, signature: c.signer(2).sign(proposalMessage(CHAIN_ID, 3, real.second.blockHash)) } }],
    ["DIFFERENT_VIEWS", { first: real.first, second: { ...real.second, view: 3 } }],
    ["UNKNOWN_PROPOSER", { first: { ...real.first, proposer: 4 }, second: { ...real.second, proposer: 4 } }],
    ["MALFORMED", { first: real.first, second: { ...real.second, blockHash: new Uint8Array(31) } }],
    ["MALFORMED", { first: real.first, second: { ...real.second, signature: new Uint8Array(96) } }],
    ["MALFORMED", { first: { ...real.first, view: 0 }, second: { ...real.second, view: 0 } }],
  ];
  for (const [want, e] of cases) assert.equal(verifyEquivocationEvidence(ctx, e), want, want);
  // Another chain's keys are the same, its messages are not.
  assert.equal(verifyEquivocationEvidence({ ...ctx, chainId: utf8("another-chain") }, real), "BAD_SIGNATURE");
});

test("BLS, @chainsafe/blst as the oracle: blst's own signatures make evidence that verifies, and blst accepts Quire's", async () => {
  const backend = await loadBlsBackend("blst");
  const ikm = (i: number) => new Uint8Array(32).fill(0x40 + i);
  const oracleKeys = Array.from({ length: 4 }, (_, i) => SecretKey.fromKeygen(ikm(i)));
  const publicKeys = oracleKeys.map((sk) => sk.toPublicKey().toBytes());
  const bls: EvidenceCheckContext = { chainId: CHAIN_ID, scheme: new BlsScheme(backend, publicKeys), validatorCount: 4 };
  const ha = blockHash(a.header);
  const hb = blockHash(b.header);
  // Made by blst directly over the documented layout: tag ‖ len ‖ chain id ‖ view ‖ hash.
  const oracleSign = (i: number, view: number, hash: Uint8Array) => oracleKeys[i]!.sign(proposalMessage(CHAIN_ID, view, hash)).toBytes(false);
  const pair: ProposalEquivocation = {
    first: { view: 2, blockHash: ha, proposer: 2, signature: oracleSign(2, 2, ha) },
    second: { view: 2, blockHash: hb, proposer: 2, signature: oracleSign(2, 2, hb) },
  };
  assert.equal(verifyEquivocationEvidence(bls, pair), "ok");
  assert.equal(verifyEquivocationEvidence(bls, { ...pair, second: { ...pair.second, signature: oracleSign(1, 2, hb) } }), "BAD_SIGNATURE");
  assert.equal(verifyEquivocationEvidence(bls, { ...pair, second: { ...pair.second, signature: flip(pair.second.signature, 100) } }), "BAD_SIGNATURE");
  // Quire's signer (the node's) with the same key: blst verifies it over the proposal message, not over the vote one.
  const quire = blsSigner(backend, backend.secretKeyFromBytes(oracleKeys[2]!.toBytes()), 2).sign(proposalMessage(CHAIN_ID, 2, ha));
  const pk = PublicKey.fromBytes(publicKeys[2]!);
  assert.equal(blstVerify(proposalMessage(CHAIN_ID, 2, ha), pk, Signature.fromBytes(quire)), true);
  assert.equal(blstVerify(voteMessage(CHAIN_ID, 2, ha), pk, Signature.fromBytes(quire)), false);
});

test("JSON: evidence round-trips; anything else is BAD_EVIDENCE_JSON naming the field, never a throw", () => {
  const json = JSON.parse(JSON.stringify(evidenceToJson(real))) as unknown;
  const back = evidenceFromJson(json);
  assert.ok(back.ok);
  assert.deepEqual(back.evidence, real);
  assert.equal(verifyEquivocationEvidence(ctx, back.evidence), "ok");
  const j = evidenceToJson(real);
  const cases: [string, unknown][] = [
    ["(root)", null],
    ["(root)", "evidence"],
    ["type", { ...j, type: "quire-vote-equivocation" }],
    ["version", { ...j, version: 2 }],
    ["proposer", { ...j, proposer: -1 }],
    ["proposer", { ...j, proposer: "2" }],
    ["view", { ...j, view: 0 }],
    ["view", { ...j, view: 2 ** 53 }],
    ["first", { ...j, first: null }],
    ["first.blockHash", { ...j, first: { ...j.first, blockHash: j.first.blockHash.slice(2) } }],
    ["second.signature", { ...j, second: { ...j.second, signature: j.second.signature.replace(/^../, "zz") } }],
    ["second.signature", { ...j, second: { blockHash: j.second.blockHash } }],
  ];
  for (const [field, value] of cases) {
    const r = evidenceFromJson(value);
    assert.ok(!r.ok && r.code === "BAD_EVIDENCE_JSON" && r.field === field, `${field}: ${JSON.stringify(r)}`);
  }
});

test("a validator that sees two signed proposals of one view (one of them relayed) records this pair, which verifies", () => {
  const v = new MessageValidator({ self: 3, validatorCount: 4, genesisHash: c.genesisHash, maxClockSkewMs: 1_000 }, { verifier: new CachingVerifier(c.certs), txRoot });
  assert.equal(v.validate(2, { kind: "proposal", body: c.proposal(a, q1) }, 1, 100).ok, true);
  const second = v.validate(0, { kind: "proposal", body: c.proposal(b, q1) }, 1, 100);
  assert.ok(!second.ok && second.code === "EQUIVOCATION");
  const report = v.evidenceReport();
  assert.equal(report.total, 1);
  assert.deepEqual(report.byValidator, { "2": 1 });
  assert.equal(report.proposals.length, 1);
  const parsed = evidenceFromJson(report.proposals[0]);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.evidence, real);
  assert.equal(verifyEquivocationEvidence(ctx, parsed.evidence), "ok");
});
