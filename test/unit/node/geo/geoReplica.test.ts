/**
 * GeoReplica's remote view change (src/node/geo/geoReplica.ts): nothing happens below f + 1 valid requests from one
 * cluster, replays and forged signatures count for nothing, an accepted request makes the member it names re-share
 * and times out the leader when the leader is the one that failed — at most once per remote timeout — and a cluster
 * that has not committed the round times its leader out.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockHash } from "../../../../src/consensus/blockHash.js";
import { buildGenesisBlock } from "../../../../src/chain/blocks.js";
import type { CommittedBlockRecord } from "../../../../src/chain/store/interface.js";
import { GeoReplica } from "../../../../src/node/geo/geoReplica.js";
import type { GeoCluster } from "../../../../src/node/geo/geoReplica.js";
import { GlobalOrder } from "../../../../src/node/geo/globalOrder.js";
import { decodeGeoMessage, encodeGeoMessage, rvcMessage } from "../../../../src/node/geo/messages.js";
import { InsecureTestScheme } from "../../../../src/sim/insecureTestScheme.js";
import { ManualScheduler } from "../../../../src/util/clock.js";
import { utf8 } from "../../../../src/util/bytes.js";
import { TestCommittee, txRoot } from "../../../support/consensus.js";

const NET = utf8("geo-unit");
const own = new TestCommittee(4);
const remoteScheme = new InsecureTestScheme(4, 31);

/** Cluster 0's committed chain: heights 1..5 in views 1..5 (proposer = view mod 4), each with its QC. */
function ownChain(): CommittedBlockRecord[] {
  const out: CommittedBlockRecord[] = [];
  let parent = own.ref(own.genesis);
  for (let v = 1; v <= 5; v++) {
    const block = own.block(parent, v);
    parent = own.ref(block);
    out.push({ height: v, hash: parent.hash, block, qc: own.qc(v, parent.hash), stateRoot: new Uint8Array(32), results: new Uint8Array(0) });
  }
  return out;
}

function setup(member: number, leader: number) {
  const records = ownChain();
  const sched = new ManualScheduler();
  const sent: { cluster: number; member: number; bytes: Uint8Array }[] = [];
  let timeouts = 0;
  const genesis = [own.ref(own.genesis).hash, blockHash(buildGenesisBlock({ timestampMs: 1 }).header)];
  const order = new GlobalOrder({ clusters: 2, modules: ["kv"], bucketBits: 4, chainId: NET }, { genesis });
  const clusters: GeoCluster[] = [
    { size: 4, scheme: own.scheme, share: { hashBlock: (h) => blockHash(h), txRoot, certificates: own.certs } },
    { size: 4, scheme: remoteScheme, share: { hashBlock: (h) => blockHash(h), txRoot, certificates: own.certs } },
  ];
  const geo = new GeoReplica(
    { networkId: NET, cluster: 0, member, remoteTimeoutMs: 1_000 },
    {
      clusters,
      order,
      signer: own.signer(member),
      scheduler: sched,
      chain: { head: () => ({ height: 5 }), committedAt: (h) => records[h - 1] },
      send: (cluster, to, bytes) => sent.push({ cluster, member: to, bytes }),
      remoteTimeout: () => timeouts++,
      currentLeader: () => leader,
    },
  );
  return { geo, sched, sent, timeouts: () => timeouts };
}

function request(fromMember: number, round: number, attempt: number, opts: { target?: number; fromCluster?: number; forge?: boolean } = {}): Uint8Array {
  const body = { fromCluster: opts.fromCluster ?? 1, fromMember, target: opts.target ?? 0, round, attempt };
  const signer = opts.forge === true ? (fromMember + 1) % 4 : fromMember;
  const signature = remoteScheme.signer(signer).sign(rvcMessage(NET, body));
  return encodeGeoMessage({ kind: "rvc", rvc: { ...body, signature } });
}

test("f valid requests do nothing; replays, forgeries and misaddressed requests count for nothing; f + 1 act once", () => {
  // Member 1 of cluster 0; block 2 was proposed by member 2, who leads now. Attempt 3 names rank 3 after 2: member 1.
  const { geo, sent, timeouts } = setup(1, 2);
  geo.onMessage(request(0, 2, 3));
  geo.onMessage(request(0, 2, 3)); // a replay of member 0's
  geo.onMessage(request(2, 2, 3, { forge: true })); // member 3's key on member 2's request
  geo.onMessage(request(2, 2, 3, { target: 1 })); // not for this cluster
  geo.onMessage(request(2, 2, 3, { fromCluster: 0 })); // from our own cluster
  assert.equal(sent.length, 0);
  assert.equal(timeouts(), 0);
  geo.onMessage(request(3, 2, 3)); // the second valid, distinct member: f + 1 = 2
  assert.equal(timeouts(), 1, "the leader is the member that failed to share: timed out");
  assert.equal(sent.length, 4, "re-shared to every member of the requesting cluster");
  for (const s of sent) {
    assert.equal(s.cluster, 1);
    const m = decodeGeoMessage(s.bytes);
    assert.ok(m.kind === "share" && m.share.cluster === 0 && m.share.blocks[0]!.header.height === 2);
  }
  assert.deepEqual(sent.map((s) => s.member).sort(), [0, 1, 2, 3]);
  // The same key again (other members) does not act twice.
  geo.onMessage(request(1, 2, 3));
  assert.equal(sent.length, 4);
  assert.equal(timeouts(), 1);
});

test("the member an attempt names re-shares, the others do not; a leader that did not fail is not timed out", () => {
  // Member 3 is rank 1 after proposer 2: attempt 1 names it, attempt 2 names member 0.
  const a = setup(3, 0);
  a.geo.onMessage(request(0, 2, 1));
  a.geo.onMessage(request(1, 2, 1));
  assert.equal(a.sent.length, 4);
  assert.equal(a.timeouts(), 0, "leader 0 shared nothing wrong");
  const b = setup(0, 0);
  b.geo.onMessage(request(0, 2, 1));
  b.geo.onMessage(request(1, 2, 1));
  assert.equal(b.sent.length, 0, "attempt 1 is not member 0's");
});

test("a round this cluster has not committed times the leader out once it committed nothing for a remote timeout, at most once per remote timeout", () => {
  const { geo, sched, timeouts } = setup(1, 0);
  // Committing (a slower but live cluster): requests for a round it has not reached change nothing.
  geo.onLocalCommit([]);
  sched.advance(400);
  geo.onMessage(request(0, 9, 1));
  geo.onMessage(request(1, 9, 1));
  assert.equal(timeouts(), 0, "it committed 400 ms ago");
  sched.advance(700);
  geo.onMessage(request(0, 9, 2));
  geo.onMessage(request(1, 9, 2));
  assert.equal(timeouts(), 1, "nothing committed for 1,100 ms");
  sched.advance(600);
  geo.onMessage(request(0, 9, 3));
  geo.onMessage(request(1, 9, 3));
  assert.equal(timeouts(), 1, "within the remote timeout of the last one");
  sched.advance(600);
  geo.onMessage(request(0, 9, 4));
  geo.onMessage(request(1, 9, 4));
  assert.equal(timeouts(), 2);
});

test("a replica waiting for another cluster's block asks it, signed, once per remote timeout with the attempt raised", () => {
  const { geo, sched, sent } = setup(1, 0);
  const rvcs = () => sent.filter((s) => decodeGeoMessage(s.bytes).kind === "rvc");
  // Own blocks 1..5 are in; round 1 waits for cluster 1's block 1.
  geo.tick();
  assert.equal(rvcs().length, 0);
  sched.advance(1_000);
  geo.tick();
  const first = rvcs();
  assert.deepEqual(first.map((s) => [s.cluster, s.member]), [[1, 0], [1, 1], [1, 2], [1, 3]]);
  const m = decodeGeoMessage(first[0]!.bytes);
  assert.ok(m.kind === "rvc");
  assert.deepEqual({ ...m.rvc, signature: null }, { fromCluster: 0, fromMember: 1, target: 1, round: 1, attempt: 1, signature: null });
  assert.ok(own.scheme.verify(1, rvcMessage(NET, m.rvc), m.rvc.signature));
  sched.advance(1_000);
  geo.tick();
  const all = sent.map((s) => decodeGeoMessage(s.bytes)).filter((x) => x.kind === "rvc");
  assert.equal(all.length, 8);
  assert.ok(all[7]!.kind === "rvc" && all[7]!.rvc.attempt === 2);
  // Waiting a whole remote timeout also pulls from that cluster (a lost share: one replica alone gets no f + 1).
  assert.ok(sent.some((s) => s.cluster === 1 && decodeGeoMessage(s.bytes).kind === "pull"));
});

test("a restarted replica whose own chain is longer than the buffer offers the rest as the global order advances", () => {
  const records = ownChain();
  const sched = new ManualScheduler();
  const genesis = [own.ref(own.genesis).hash, blockHash(buildGenesisBlock({ timestampMs: 1 }).header)];
  const order = new GlobalOrder({ clusters: 1, modules: ["kv"], bucketBits: 4, chainId: NET, maxBuffered: 2 }, { genesis: genesis.slice(0, 1) });
  const clusters: GeoCluster[] = [{ size: 4, scheme: own.scheme, share: { hashBlock: (h) => blockHash(h), txRoot, certificates: own.certs } }];
  const geo = new GeoReplica(
    { networkId: NET, cluster: 0, member: 1, remoteTimeoutMs: 1_000 },
    { clusters, order, signer: own.signer(1), scheduler: sched, chain: { head: () => ({ height: 5 }), committedAt: (h) => records[h - 1] }, send: () => undefined, remoteTimeout: () => undefined, currentLeader: () => 0 },
  );
  // Only heights up to round + 2 fit at first; each run makes room and each tick offers more.
  assert.ok(order.completedRound < 5);
  for (let i = 0; i < 5 && order.completedRound < 5; i++) geo.tick();
  assert.equal(order.completedRound, 5, "every own block executed, none lost to the full buffer");
});
