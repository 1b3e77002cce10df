/**
 * Geo messages (src/node/geo/messages.ts): exact round trips, MALFORMED on damaged bytes, and a share checked against
 * its cluster's validator set — accepted as built from a certified chain, refused when a tx, a link, a height or the
 * signing set is wrong.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildCommitProof } from "../../../../src/consensus/commitProof.js";
import { blockHash } from "../../../../src/consensus/blockHash.js";
import type { Block, QuorumCert } from "../../../../src/domain/types.js";
import { decodeGeoMessage, encodeGeoMessage, GeoError, rvcMessage, verifyShare } from "../../../../src/node/geo/messages.js";
import type { GeoMessage, GeoShare, ShareContext } from "../../../../src/node/geo/messages.js";
import { utf8 } from "../../../../src/util/bytes.js";
import { TestCommittee, txRoot } from "../../../support/consensus.js";
import type { TestCrypto } from "../../../support/consensus.js";
import { InsecureTestScheme } from "../../../../src/sim/insecureTestScheme.js";

const c = new TestCommittee(4);

/** Heights 1..5 in views 1..5, each certified by the first 2f+1: every height up to 4 is provable. */
function chain(committee = c): { blocks: Block[]; qcs: QuorumCert[] } {
  const blocks: Block[] = [];
  const qcs: QuorumCert[] = [];
  let parent = committee.ref(committee.genesis);
  for (let v = 1; v <= 5; v++) {
    const b = committee.block(parent, v);
    blocks.push(b);
    parent = committee.ref(b);
    qcs.push(committee.qc(v, parent.hash));
  }
  return { blocks, qcs };
}

function share(from: number, to: number, ch = chain()): GeoShare {
  const proof = buildCommitProof(to, 5, (h) => (h >= 1 && h <= 5 ? { header: ch.blocks[h - 1]!.header, qc: ch.qcs[h - 1]! } : undefined))!;
  return { hop: 0, cluster: 2, blocks: ch.blocks.slice(from - 1, to), proof };
}

const ctx: ShareContext = { hashBlock: (h) => blockHash(h), txRoot, certificates: c.certs };
const code = (f: () => unknown): string => {
  try {
    f();
    return "none";
  } catch (e) {
    assert.ok(e instanceof GeoError, String(e));
    return e.code;
  }
};

test("every geo message round-trips exactly", () => {
  const msgs: GeoMessage[] = [
    { kind: "share", share: share(1, 3) },
    { kind: "share", share: { ...share(4, 4), hop: 1 } },
    { kind: "pull", pull: { cluster: 7, fromHeight: 2 ** 40 + 3 } },
    { kind: "rvc", rvc: { fromCluster: 1, fromMember: 3, target: 0, round: 12, attempt: 2, signature: new Uint8Array(96).fill(5) } },
  ];
  for (const m of msgs) {
    const bytes = encodeGeoMessage(m);
    assert.deepEqual(decodeGeoMessage(bytes), m);
    // Damaged: every strict prefix and one trailing byte are MALFORMED.
    for (const n of [0, 1, bytes.length >> 1, bytes.length - 1]) assert.equal(code(() => decodeGeoMessage(bytes.subarray(0, n))), "MALFORMED");
    assert.equal(code(() => decodeGeoMessage(Uint8Array.of(...bytes, 0))), "MALFORMED");
  }
  assert.equal(code(() => decodeGeoMessage(Uint8Array.of(9))), "MALFORMED");
  const hop = encodeGeoMessage({ kind: "share", share: share(1, 1) });
  hop[1] = 2;
  assert.equal(code(() => decodeGeoMessage(hop)), "MALFORMED");
});

test("a share from a certified chain verifies; its blocks come back with their heights and hashes", () => {
  const ch = chain();
  const got = verifyShare(share(1, 4, ch), ctx);
  assert.deepEqual(got.map((b) => b.height), [1, 2, 3, 4]);
  got.forEach((b, i) => assert.deepEqual(b.hash, blockHash(ch.blocks[i]!.header)));
  // Through the wire too.
  const m = decodeGeoMessage(encodeGeoMessage({ kind: "share", share: share(2, 3, ch) }));
  assert.ok(m.kind === "share");
  assert.deepEqual(verifyShare(m.share, ctx).map((b) => b.height), [2, 3]);
});

test("a share is refused when a tx, a link, the proof's block or the signing set is wrong", () => {
  const ch = chain();
  const good = share(1, 3, ch);
  const tampered = { ...good, blocks: [good.blocks[0]!, { ...good.blocks[1]!, txs: [utf8("another tx")] }, good.blocks[2]!] };
  assert.equal(code(() => verifyShare(tampered, ctx)), "BAD_BLOCKS");
  const gap = { ...good, blocks: [good.blocks[0]!, good.blocks[2]!] };
  assert.equal(code(() => verifyShare(gap, ctx)), "BAD_BLOCKS");
  // The proof is about block 4, the share ends at 3.
  assert.equal(code(() => verifyShare({ ...good, proof: share(4, 4, ch).proof }, ctx)), "BAD_PROOF");
  // Another cluster's validators (another key set) did not sign these QCs.
  const other = new TestCommittee(4, { scheme: new InsecureTestScheme(4, 99), signer: (i) => new InsecureTestScheme(4, 99).signer(i) } satisfies TestCrypto);
  assert.equal(code(() => verifyShare(good, { ...ctx, certificates: other.certs })), "BAD_PROOF");
  // A QC below quorum.
  const weak = { ...good, proof: { ...good.proof, qcs: [c.qc(3, blockHash(ch.blocks[2]!.header), [0, 1]), good.proof.qcs[1]] as const } };
  assert.equal(code(() => verifyShare(weak, ctx)), "BAD_PROOF");
});

test("the remote-view-change message binds the network and every field", () => {
  const base = { fromCluster: 1, fromMember: 2, target: 0, round: 9, attempt: 1 };
  const m = rvcMessage(utf8("net-a"), base);
  const variants = [
    rvcMessage(utf8("net-b"), base),
    rvcMessage(utf8("net-a"), { ...base, fromCluster: 2 }),
    rvcMessage(utf8("net-a"), { ...base, fromMember: 3 }),
    rvcMessage(utf8("net-a"), { ...base, target: 2 }),
    rvcMessage(utf8("net-a"), { ...base, round: 10 }),
    rvcMessage(utf8("net-a"), { ...base, attempt: 2 }),
  ];
  for (const v of variants) assert.notDeepEqual(v, m);
  const scheme = new InsecureTestScheme(4, 7);
  const sig = scheme.signer(2).sign(m);
  assert.ok(scheme.verify(2, m, sig));
  for (const v of variants) assert.ok(!scheme.verify(2, v, sig));
});
