import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageValidator } from "../../../src/consensus/validation/validator.js";
import type { Validation } from "../../../src/consensus/validation/validator.js";
import { CachingVerifier } from "../../../src/consensus/validation/verifier.js";
import type { CertificateVerifier } from "../../../src/consensus/validation/verifier.js";
import type { Message, Proposal, QuorumCert, Timeout, Vote } from "../../../src/domain/types.js";
import { blockHash } from "../../../src/consensus/blockHash.js";
import { proposalMessage } from "../../../src/consensus/signing.js";
import { utf8 } from "../../../src/util/bytes.js";
import { CHAIN_ID, TestCommittee, txRoot, ZERO32 } from "../../support/consensus.js";

const c = new TestCommittee(4);

function validator(self = 2, verifier = new CachingVerifier(c.certs)): MessageValidator {
  return new MessageValidator({ self, validatorCount: 4, genesisHash: c.genesisHash, viewWindow: 10, maxClockSkewMs: 1_000 }, { verifier, txRoot });
}

function code(v: Validation): string {
  return v.ok ? "ok" : v.code;
}

const b1 = c.block(c.ref(c.genesis), 1);
const q1 = c.qc(1, c.ref(b1).hash);
const b2 = c.block(c.ref(b1), 2);
const p2: Proposal = c.proposal(b2, q1);
const prop = (p: Proposal): Message => ({ kind: "proposal", body: p });
const vote = (v: Vote): Message => ({ kind: "vote", body: v });
const tmo = (t: Timeout): Message => ({ kind: "timeout", body: t });

test("a valid proposal becomes a verified input with its block hash", () => {
  const r = validator().validate(2, prop(p2), 1, 100);
  assert.ok(r.ok && r.input.kind === "proposal");
  assert.deepEqual(r.input.proposal.hash, c.ref(b2).hash);
});

test("proposal rejections have exact codes", () => {
  const v = validator();
  // Every case is signed by its block's proposer (where the index is one), so only the intended fault is left.
  const signed = (p: Omit<Proposal, "signature">): Proposal => (p.block.header.proposer < 4 ? c.proposal(p.block, p.qc, p.tc) : { ...p, signature: p2.signature });
  const withHeader = (patch: Partial<typeof b2.header>, txs = b2.txs): Proposal => signed({ ...p2, block: { header: { ...b2.header, ...patch }, txs } });
  const cases: [string, number, Proposal][] = [
    ["UNKNOWN_VALIDATOR", 2, withHeader({ proposer: 9 })],
    ["NOT_LEADER", 3, withHeader({ proposer: 3 })],
    ["MALFORMED", 2, withHeader({ height: 0 })],
    ["MALFORMED", 2, withHeader({ txRoot: new Uint8Array(31) })],
    ["QC_VIEW_NOT_BELOW", 2, { ...p2, qc: c.qc(2, c.ref(b1).hash) }],
    ["QC_NOT_FOR_PARENT", 2, withHeader({ parent: ZERO32 })],
    ["UNJUSTIFIED", 2, signed({ ...p2, block: c.block(c.ref(b1), 6, "", 2) })],
    ["TC_VIEW_MISMATCH", 2, { ...p2, tc: c.tc(0 + 5, [q1]) }],
    ["UNJUSTIFIED", 2, c.proposal(c.block(c.ref(c.genesis), 2), c.genesisQc, c.tc(1, [q1]))],
    ["TIMESTAMP_IN_FUTURE", 2, withHeader({ timestampMs: 5_000 })],
    ["BAD_TX_ROOT", 2, withHeader({}, [new Uint8Array([1])])],
    ["QC_BAD_AGGREGATE", 2, { ...p2, qc: { ...q1, aggregateSignature: new Uint8Array(96).fill(1) } }],
    ["QC_BELOW_QUORUM", 2, signed({ ...p2, block: { header: { ...b2.header, parentSigners: c.signerBits([0, 1]) }, txs: b2.txs }, qc: c.qc(1, c.ref(b1).hash, [0, 1]) })],
    ["QC_BAD_SIGNERS", 2, signed({ ...p2, block: { header: { ...b2.header, parentSigners: Uint8Array.of(0xff, 0xff) }, txs: b2.txs }, qc: { ...q1, signers: Uint8Array.of(0xff, 0xff) } })],
    ["SIGNERS_NOT_QC", 2, withHeader({ parentSigners: c.signerBits([1, 2, 3]) })],
    ["SIGNERS_NOT_QC", 2, withHeader({ parentSigners: new Uint8Array(0) })],
    ["BAD_GENESIS_QC", 2, c.proposal(c.block(c.ref(b1), 1, "", 1, new Uint8Array(0)), { ...c.genesisQc, blockHash: c.ref(b1).hash })],
  ];
  for (const [want, from, p] of cases) {
    const sender = want === "BAD_GENESIS_QC" ? 1 : from;
    assert.equal(code(v.validate(sender, prop(p), 1, 100)), want, want);
  }
});

test("a proposal whose signature is not its proposer's over its view and block is BAD_PROPOSAL_SIGNATURE, before any other content check", () => {
  const h = b2.header;
  const flipped = (byte: number): Proposal => ({ ...p2, signature: Uint8Array.from(p2.signature, (b, i) => (i === byte ? b ^ 1 : b)) });
  const cases: [string, Proposal][] = [
    ["a flipped first byte", flipped(0)],
    ["a flipped last byte", flipped(p2.signature.length - 1)],
    ["another validator's signature", c.proposal(b2, q1, null, 1)],
    ["the proposer's signature over another view", { ...p2, signature: c.signer(2).sign(proposalMessage(CHAIN_ID, h.view + 1, blockHash(h))) }],
    ["the proposer's signature over another block", { ...p2, signature: c.signer(2).sign(proposalMessage(CHAIN_ID, h.view, c.ref(b1).hash)) }],
    ["the proposer's signature on another chain", { ...p2, signature: c.signer(2).sign(proposalMessage(utf8("other-chain"), h.view, blockHash(h))) }],
    // Same layout as a vote, another domain tag: the leader's vote for its own block is not its proposal signature.
    ["the proposer's vote for the block", { ...p2, signature: c.vote(2, h.view, blockHash(h)).signature }],
    // Another fault as well: the signature is checked first, so it is what the proposal is refused for.
    ["a bad signature on a block with a bad tx root", { ...p2, block: { header: h, txs: [Uint8Array.of(1)] }, signature: flipped(5).signature }],
  ];
  for (const [what, p] of cases) {
    const v = validator();
    assert.equal(code(v.validate(2, prop(p), 1, 100)), "BAD_PROPOSAL_SIGNATURE", what);
    // Nothing was recorded: the real proposal still passes afterwards.
    assert.equal(code(v.validate(2, prop(p2), 1, 100)), "ok", what);
  }
});

test("a relayed proposal is accepted: its origin is the signature, not the sender", () => {
  const v = validator(3);
  const r = v.validate(1, prop(p2), 1, 100); // proposer 2, relayed by validator 1
  assert.ok(r.ok && r.input.kind === "proposal" && r.input.from === 1);
  // The leader's own copy afterwards is a duplicate, a different block of the view relayed by anyone is equivocation.
  assert.equal(code(v.validate(2, prop(p2), 1, 100)), "DUPLICATE");
  assert.equal(code(v.validate(0, prop(c.proposal(c.block(c.ref(b1), 2, "alt"), q1)), 1, 100)), "EQUIVOCATION");
  // A forgery in the leader's name by the relay (its own key) is refused.
  assert.equal(code(validator(3).validate(1, prop(c.proposal(b2, q1, null, 1)), 1, 100)), "BAD_PROPOSAL_SIGNATURE");
});

test("vote rejections have exact codes; a valid vote passes once", () => {
  const v = validator(3); // leads view 3: takes votes of view 2
  const h2 = c.ref(b2).hash;
  assert.equal(code(v.validate(1, vote(c.vote(1, 2, h2)), 2, 0)), "ok");
  assert.equal(code(v.validate(1, vote(c.vote(1, 2, h2)), 2, 0)), "DUPLICATE");
  assert.equal(code(v.validate(0, vote(c.vote(1, 2, h2)), 2, 0)), "WRONG_SENDER");
  assert.equal(code(v.validate(7, vote({ ...c.vote(1, 2, h2), voter: 7 }), 2, 0)), "UNKNOWN_VALIDATOR");
  assert.equal(code(v.validate(1, vote(c.vote(1, 3, h2)), 2, 0)), "NOT_NEXT_LEADER");
  assert.equal(code(v.validate(2, vote({ ...c.vote(2, 2, h2), signature: new Uint8Array(192) }), 2, 0)), "BAD_SIGNATURE");
  assert.equal(code(v.validate(2, vote(c.vote(2, 2, h2)), 4, 0)), "VIEW_TOO_OLD");
  assert.equal(code(v.validate(2, vote(c.vote(2, 18, h2)), 4, 0)), "VIEW_TOO_FAR"); // leader of 19 is 3; window 10
  assert.equal(code(v.validate(2, vote({ ...c.vote(2, 2, h2), blockHash: new Uint8Array(31) }), 2, 0)), "MALFORMED");
  // Votes travel uncompressed: a 96-byte (compressed) signature is malformed.
  assert.equal(code(v.validate(2, vote({ ...c.vote(2, 2, h2), signature: new Uint8Array(96) }), 2, 0)), "MALFORMED");
});

test("timeout rejections have exact codes; a timeout below our view is a cheap stale input", () => {
  const v = validator();
  assert.equal(code(v.validate(1, tmo(c.timeout(1, 3, q1)), 2, 0)), "ok");
  assert.equal(code(v.validate(1, tmo(c.timeout(1, 3, q1)), 2, 0)), "DUPLICATE");
  assert.equal(code(v.validate(0, tmo(c.timeout(1, 3, q1)), 2, 0)), "WRONG_SENDER");
  assert.equal(code(v.validate(0, tmo(c.timeout(0, 1, q1)), 2, 0)), "HIGH_QC_NOT_BELOW");
  assert.equal(code(v.validate(0, tmo(c.timeout(0, 40, q1)), 2, 0)), "VIEW_TOO_FAR");
  assert.equal(code(v.validate(0, tmo({ ...c.timeout(0, 3, q1), signature: new Uint8Array(192) }), 2, 0)), "BAD_SIGNATURE");
  assert.equal(code(v.validate(0, tmo(c.timeout(0, 4, { ...q1, aggregateSignature: new Uint8Array(96) })), 2, 0)), "QC_BAD_AGGREGATE");
  // Signed over (view, highQc.view): a timeout whose high QC was swapped for another view does not verify.
  const t = c.timeout(3, 5, c.genesisQc);
  assert.equal(code(v.validate(3, tmo({ ...t, highQc: q1 }), 2, 0)), "BAD_SIGNATURE");
  const stale = v.validate(0, tmo({ ...c.timeout(0, 2, q1), signature: new Uint8Array(192) }), 3, 0);
  assert.ok(stale.ok && stale.input.kind === "staleTimeout" && stale.input.view === 2);
});

test("certificates and non-consensus messages", () => {
  const v = validator();
  assert.equal(code(v.validate(0, { kind: "qc", body: q1 }, 1, 0)), "ok");
  assert.equal(code(v.validate(0, { kind: "tc", body: c.tc(3, [q1]) }, 1, 0)), "ok");
  assert.equal(code(v.validate(0, { kind: "tc", body: c.tc(3, [q1], [0, 1]) }, 1, 0)), "TC_BELOW_QUORUM");
  assert.equal(code(v.validate(0, { kind: "tc", body: { ...c.tc(3, [q1]), highQcViews: [1, 1] } }, 1, 0)), "TC_BAD_HIGH_QC_VIEWS");
  assert.equal(code(v.validate(0, { kind: "tc", body: { ...c.tc(3, [q1]), highQcViews: [1, 1, 0] } }, 1, 0)), "TC_BAD_AGGREGATE");
  assert.equal(code(v.validate(0, { kind: "tc", body: { ...c.tc(3, [q1]), highQcViews: [1, 3, 1] } }, 1, 0)), "TC_BAD_HIGH_QC_VIEWS");
  assert.equal(code(v.validate(0, { kind: "tc", body: { ...c.tc(3, [q1]), signers: new Uint8Array(0) } }, 1, 0)), "TC_BAD_SIGNERS");
  // The carried QC: the genesis certificate is accepted as it is (and only exactly), any other must verify.
  assert.equal(code(v.validate(0, { kind: "tc", body: c.tc(3, [c.genesisQc]) }, 1, 0)), "ok");
  assert.equal(code(v.validate(0, { kind: "tc", body: { ...c.tc(3, [c.genesisQc]), highQc: { ...c.genesisQc, blockHash: c.ref(b1).hash } } }, 1, 0)), "BAD_GENESIS_QC");
  assert.equal(code(v.validate(0, { kind: "tc", body: { ...c.tc(3, [q1]), highQc: { ...q1, aggregateSignature: new Uint8Array(96).fill(1) } } }, 1, 0)), "QC_BAD_AGGREGATE");
  // The forged claim: signer 1 signed a high QC of view 2 that nobody holds. Carrying a made-up QC of view 2 fails as
  // a QC; carrying the real highest QC (view 1) fails the match with the largest claim.
  const forged = c.tc(3, [q1, { ...q1, view: 2 }, q1]);
  assert.deepEqual(forged.highQcViews, [1, 2, 1]);
  assert.equal(code(v.validate(0, { kind: "tc", body: forged }, 1, 0)), "QC_BAD_AGGREGATE");
  assert.equal(code(v.validate(0, { kind: "tc", body: { ...forged, highQc: q1 } }, 1, 0)), "TC_HIGH_QC_MISMATCH");
  assert.equal(code(v.validate(0, { kind: "hello", body: { chainId: new Uint8Array(1), committedHeight: 0, committedHash: ZERO32 } }, 1, 0)), "NOT_CONSENSUS");
  assert.equal(code(v.validate(0, { kind: "syncRequest", body: { requestId: 1, fromHeight: 1, toHeight: 2 } }, 1, 0)), "NOT_CONSENSUS");
});

test("equivocation: recorded once as evidence, counted, never passed on", () => {
  const v = validator(3);
  const h2 = c.ref(b2).hash;
  const other = c.ref(c.block(c.ref(b1), 2, "other")).hash;
  assert.equal(code(v.validate(1, vote(c.vote(1, 2, h2)), 2, 0)), "ok");
  assert.equal(code(v.validate(1, vote(c.vote(1, 2, other)), 2, 0)), "EQUIVOCATION");
  assert.equal(code(v.validate(1, vote(c.vote(1, 2, other)), 2, 0)), "EQUIVOCATION");
  assert.equal(v.evidence().length, 1);
  const ev = v.evidence()[0]!;
  assert.ok(ev.kind === "vote" && ev.validator === 1 && ev.view === 2);
  assert.equal(v.evidenceCounts().get(1), 1);
  // Proposals: a second block from the leader in one view.
  const alt: Proposal = c.proposal(c.block(c.ref(b1), 2, "alt"), q1);
  const pv = validator(0);
  assert.equal(code(pv.validate(2, prop(p2), 1, 100)), "ok");
  assert.equal(code(pv.validate(2, prop(p2), 1, 100)), "DUPLICATE");
  assert.equal(code(pv.validate(2, prop(alt), 1, 100)), "EQUIVOCATION");
  assert.equal(pv.evidence()[0]?.kind, "proposal");
  // Timeouts: two different high QCs for one view.
  assert.equal(code(pv.validate(1, tmo(c.timeout(1, 3, q1)), 2, 0)), "ok");
  assert.equal(code(pv.validate(1, tmo(c.timeout(1, 3, c.genesisQc)), 2, 0)), "EQUIVOCATION");
  assert.equal(pv.evidence().length, 2);
  // A badly signed second vote is not evidence (it could frame the validator): plain BAD_SIGNATURE.
  assert.equal(code(v.validate(2, vote(c.vote(2, 2, h2)), 2, 0)), "ok");
  assert.equal(code(v.validate(2, vote({ ...c.vote(2, 2, other), signature: new Uint8Array(192) }), 2, 0)), "BAD_SIGNATURE");
  assert.equal(v.evidence().length, 1);
  assert.equal(v.rejections().EQUIVOCATION, 2);
});

test("QCs are verified once and then served from the cache", () => {
  let qcChecks = 0;
  const counting: CertificateVerifier = {
    verifyVote: (x) => c.certs.verifyVote(x),
    verifyTimeout: (x) => c.certs.verifyTimeout(x),
    verifyProposal: (x) => c.certs.verifyProposal(x),
    verifyQc: (x) => (qcChecks++, c.certs.verifyQc(x)),
    verifyTc: (x) => c.certs.verifyTc(x),
  };
  const v = validator(2, new CachingVerifier(counting));
  v.validate(2, prop(p2), 1, 100);
  for (let voter = 0; voter < 4; voter++) v.validate(voter, tmo(c.timeout(voter, 3, q1)), 2, 0);
  v.validate(0, { kind: "qc", body: q1 }, 2, 0);
  assert.equal(qcChecks, 1);
  // A QC that differs in one byte is not a cache hit (test/unit/consensus/verifier.test.ts tries every byte).
  const tampered: QuorumCert = { ...q1, aggregateSignature: Uint8Array.from(q1.aggregateSignature, (b, i) => (i === 95 ? b ^ 1 : b)) };
  assert.equal(code(v.validate(0, { kind: "qc", body: tampered }, 2, 0)), "QC_BAD_AGGREGATE");
  assert.equal(qcChecks, 2);
});

test("sync responses: chain, QC match and QC validity", () => {
  const v = validator();
  const q2 = c.qc(2, c.ref(b2).hash);
  const good = { requestId: 1, blocks: [{ block: b1, qc: q1 }, { block: b2, qc: q2 }] };
  const r = v.validate(1, { kind: "syncResponse", body: good }, 1, 100);
  assert.ok(r.ok && r.input.kind === "syncResponse" && r.input.blocks.length === 2);
  assert.equal(code(v.validate(1, { kind: "syncResponse", body: { requestId: 1, blocks: [good.blocks[1]!, good.blocks[0]!] } }, 1, 100)), "SYNC_NOT_CHAIN");
  assert.equal(code(v.validate(1, { kind: "syncResponse", body: { requestId: 1, blocks: [{ block: b1, qc: q2 }] } }, 1, 100)), "SYNC_QC_MISMATCH");
  assert.equal(code(v.validate(1, { kind: "syncResponse", body: { requestId: 1, blocks: [{ block: b1, qc: { ...q1, signers: new Uint8Array(1) } }] } }, 1, 100)), "QC_BAD_SIGNERS");
});

test("optimistic mode: vote signatures are left to the collector, but evidence needs two valid signatures", () => {
  const v = new MessageValidator({ self: 3, validatorCount: 4, genesisHash: c.genesisHash, voteSignatures: "defer" }, { verifier: c.certs, txRoot });
  const h2 = c.ref(b2).hash;
  const other = c.ref(c.block(c.ref(b1), 2, "other")).hash;
  const bad = { ...c.vote(1, 2, h2), signature: new Uint8Array(192) };
  assert.equal(code(v.validate(1, vote(bad), 2, 0)), "ok"); // unchecked here
  // A valid conflicting vote after an invalid first one: refused, but it is no provable equivocation.
  assert.equal(code(v.validate(1, vote(c.vote(1, 2, other)), 2, 0)), "EQUIVOCATION");
  assert.equal(v.evidence().length, 0);
  // Two valid conflicting votes: evidence.
  assert.equal(code(v.validate(2, vote(c.vote(2, 2, h2)), 2, 0)), "ok");
  assert.equal(code(v.validate(2, vote({ ...c.vote(2, 2, other), signature: new Uint8Array(192) }), 2, 0)), "BAD_SIGNATURE");
  assert.equal(code(v.validate(2, vote(c.vote(2, 2, other)), 2, 0)), "EQUIVOCATION");
  assert.equal(v.evidence().length, 1);
});
