/**
 * `quire audit` on a chain that changes its validator set by epoch, held in memory: four genesis validators with the
 * validators module, a real change tx in block 3 that adds a fifth (epoch 1 from height 5, its QCs signed by five
 * members under `epochDomain(chainId, 1)`), and one in block 12 that removes validator 0 (epoch 2 from height 14).
 * Every QC is assembled from real BLS votes of its epoch's members; the change blocks' txRoots are their txs' roots.
 *
 * The oracle is the chain the test built: which set signed which height is known before the audit runs. The audit
 * derives the sets by replaying the change blocks its sources' `epochs()` hints name, so a true hint agrees, and a
 * hint that omits or misplaces a change, or a change block whose body does not match its header, is refused exactly
 * at the heights the wrong set would have to verify.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { hash as nodeHash } from "node:crypto";
import { audit, auditChainOf } from "../../../src/cli/auditor.js";
import type { AuditChain, AuditNode, AuditOptions, AuditReport, AuditSource } from "../../../src/cli/auditor.js";
import { txRoot } from "../../../src/chain/blocks.js";
import { addChange, buildChangeTx } from "../../../src/chain/app/validators/module.js";
import { blockHash } from "../../../src/consensus/blockHash.js";
import { epochDomain, voteMessage } from "../../../src/consensus/signing.js";
import { blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import type { BlockHeader, QuorumCert } from "../../../src/domain/types.js";
import { DEFAULT_CONSENSUS, genesisBlock, genesisJson, parseGenesis, setCertificates } from "../../../src/node/genesis.js";
import type { Genesis } from "../../../src/node/genesis.js";
import type { BlockSummary, EpochView } from "../../../src/rpc/api.js";
import { RpcClientError } from "../../../src/rpc/errors.js";

const TOP = 30;
const ADD_AT = 3;
const REMOVE_AT = 12;
const sha = (s: string): Uint8Array => new Uint8Array(nodeHash("sha256", s, "buffer"));

let backend: BlsBackend;
let genesis: Genesis;
let genesisText: string;
let chain: AuditChain;
let sks: SecretKey[];
/** The true chain: heights 0..TOP. */
let main: BlockSummary[];
/** The true change blocks' txs. */
let bodies: Map<number, Uint8Array[]>;
/** The epochs the nodes report (what the module schedules). */
const EPOCHS: EpochView[] = [
  { epoch: 0, startHeight: 1, members: [0, 1, 2, 3] },
  { epoch: 1, startHeight: ADD_AT + 2, members: [0, 1, 2, 3, 4] },
  { epoch: 2, startHeight: REMOVE_AT + 2, members: [1, 2, 3, 4] },
];

before(async () => {
  backend = await loadBlsBackend("blst");
  sks = Array.from({ length: 5 }, (_, i) => backend.secretKeyFromBytes(keyGen(sha(`audit-epochs-${i}`))));
  const validators = await Promise.all(
    sks.slice(0, 4).map(async (sk) => ({ publicKey: backend.publicKeyToBytes(backend.publicKeyOf(sk), "compressed"), proofOfPossession: backend.signatureToBytes(await backend.popProve(sk)) })),
  );
  genesisText = JSON.stringify(
    genesisJson({ chainId: "quire-audit-epochs", genesisTimeMs: 1_767_225_600_000, validators, consensus: DEFAULT_CONSENSUS, app: { name: "quire", bucketBits: 8, modules: ["kv", "validators"] } }),
  );
  genesis = await parseGenesis(genesisText, "test genesis", backend);
  chain = auditChainOf(genesis, backend);
  const cid = genesis.chainIdBytes;
  const signedBy = (members: readonly number[], positions: readonly number[]) => positions.map((p) => ({ position: p, secretKey: sks[members[p]!]! }));
  const add = buildChangeTx(backend, cid, 0, 4, addChange(backend, cid, sks[4]!, "127.0.0.1", 26604), signedBy([0, 1, 2, 3], [0, 1, 2]));
  const remove = buildChangeTx(backend, cid, 1, 5, { kind: "remove", index: 0 }, signedBy([0, 1, 2, 3, 4], [1, 2, 3, 4]));
  // Other txs ride along (a kv tx's bytes need not be valid for the audit: only the change txs are replayed).
  bodies = new Map([
    [ADD_AT, [Uint8Array.of(0x01, 1, 2, 3), add]],
    [REMOVE_AT, [remove, Uint8Array.of(0x01, 4, 5)]],
  ]);
  const g = genesisBlock(genesis);
  main = [{ hash: blockHash(g.header), header: g.header, txCount: 0, qc: null }];
  while (main.length <= TOP) main.push(certified(main[main.length - 1]!));
});

/** Epoch of a height in the true chain. */
function epochOf(height: number): EpochView {
  return [...EPOCHS].reverse().find((e) => e.startHeight <= height)!;
}

/** A QC of `hash` by a quorum of the true epoch's members, signed under that epoch's domain. */
function qcFor(height: number, view: number, hash: Uint8Array): QuorumCert {
  const e = epochOf(height);
  const domain = epochDomain(genesis.chainIdBytes, e.epoch);
  const certs = setCertificates(domain, e.members.map((i) => backend.publicKeyToBytes(backend.publicKeyOf(sks[i]!), "compressed")), backend);
  const quorum = e.members.length - Math.floor((e.members.length - 1) / 3);
  const votes = e.members.slice(0, quorum).map((i, position) => ({ view, blockHash: hash, voter: position, signature: blsSigner(backend, sks[i]!, position).sign(voteMessage(domain, view, hash)) }));
  return certs.assembleQc(votes).qc!;
}

function certified(parent: BlockSummary): BlockSummary {
  const height = parent.header.height + 1;
  const view = parent.header.view + 1;
  const txs = bodies.get(height) ?? [Uint8Array.of(0x01, height)];
  const h: BlockHeader = {
    parent: parent.hash,
    view,
    height,
    proposer: view % 4,
    timestampMs: genesis.genesisTimeMs + 100 * height,
    txRoot: txRoot(txs),
    parentStateRoot: sha(`state/${height - 1}`),
    parentResults: new Uint8Array(0),
  };
  const hash = blockHash(h);
  return { hash, header: h, txCount: txs.length, qc: qcFor(height, view, hash) };
}

class EpochSource implements AuditSource {
  constructor(
    private readonly hint: readonly EpochView[] = EPOCHS,
    private readonly body: (height: number) => Uint8Array[] | null = (h) => bodies.get(h) ?? [Uint8Array.of(0x01, h)],
  ) {}

  async status(): Promise<{ chainId: string; committedHeight: number }> {
    return { chainId: genesis.chainId, committedHeight: TOP };
  }

  async blocks(from: number, to: number): Promise<BlockSummary[]> {
    return main.slice(from, to + 1);
  }

  async genesis(): Promise<string> {
    return genesisText;
  }

  async epochs(): Promise<readonly EpochView[]> {
    return this.hint;
  }

  async blockBody(height: number): Promise<{ txs: Uint8Array[] } | null> {
    const txs = this.body(height);
    return txs === null ? null : { txs };
  }
}

const OPTS: AuditOptions = { window: 8, prefetch: 2, retryDelayMs: 0 };

function nodes(...sources: AuditSource[]): AuditNode[] {
  return sources.map((source, i) => ({ name: `node${i}`, source }));
}

/** Each problem as [node, height, code], heights ascending per node. */
function problemsOf(r: AuditReport): [string, number | null, string][] {
  return r.problems.map((p) => [p.node, p.height, p.code]);
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe("quire audit follows epochs", { timeout: 120_000 }, () => {
  test("the fixture: each epoch's QCs verify only with their own set (the genesis set refuses epoch 1's)", () => {
    assert.deepEqual(chain.certificates.verifyQcs([main[ADD_AT + 1]!.qc!, main[ADD_AT + 2]!.qc!]), ["ok", "BAD_SIGNERS"]);
  });

  test("nodes with true epochs agree on every height, across both changes", async () => {
    const r = await audit(nodes(new EpochSource(), new EpochSource(), new EpochSource()), chain, OPTS);
    assert.deepEqual([r.verdict, r.agreedTo, r.problems], ["agree", TOP, []]);
    assert.equal(r.qcsVerified, TOP);
  });

  test("a node whose epochs omit the last change is refused from that epoch's first height on; the others agree", async () => {
    const r = await audit(nodes(new EpochSource(), new EpochSource(EPOCHS.slice(0, 2)), new EpochSource()), chain, OPTS);
    assert.equal(r.verdict, "invalid");
    assert.deepEqual(
      problemsOf(r),
      range(REMOVE_AT + 2, TOP).map((h) => ["node1", h, "BAD_QC"]),
    );
    assert.equal(r.agreedTo, REMOVE_AT + 1);
    assert.deepEqual(r.divergence, null);
  });

  test("a hint that misplaces a change (or names none) is refused at the true boundary: the replay decides", async () => {
    // Epoch 1 named from height 7: block 5 is replayed (no change in it), block 3 is not, so the genesis set goes on.
    const moved = [EPOCHS[0]!, { ...EPOCHS[1]!, startHeight: ADD_AT + 4 }, EPOCHS[2]!];
    const r = await audit(nodes(new EpochSource(moved)), chain, OPTS);
    assert.equal(r.verdict, "invalid");
    assert.deepEqual(problemsOf(r)[0], ["node0", ADD_AT + 2, "BAD_QC"]);
    assert.equal(r.agreedTo, ADD_AT + 1);
    // A hint of epoch 0 alone (a node that answers like a chain without changes).
    const none = await audit(nodes(new EpochSource([EPOCHS[0]!])), chain, OPTS);
    assert.deepEqual([none.verdict, none.agreedTo, problemsOf(none)[0]], ["invalid", ADD_AT + 1, ["node0", ADD_AT + 2, "BAD_QC"]]);
  });

  test("a change block's body that does not hash to its header's txRoot, or is not served, is BAD_BODY and replays nothing", async () => {
    const forged = new EpochSource(EPOCHS, (h) => (h === ADD_AT ? [bodies.get(ADD_AT)![1]!] : (bodies.get(h) ?? [Uint8Array.of(0x01, h)])));
    const r = await audit(nodes(forged), chain, OPTS);
    assert.deepEqual(problemsOf(r).slice(0, 2), [
      ["node0", ADD_AT, "BAD_BODY"],
      ["node0", ADD_AT + 2, "BAD_QC"],
    ]);
    assert.equal(r.agreedTo, ADD_AT - 1);
    const missing = await audit(nodes(new EpochSource(EPOCHS, (h) => (h === REMOVE_AT ? null : (bodies.get(h) ?? [])))), chain, OPTS);
    assert.deepEqual(problemsOf(missing).slice(0, 2), [
      ["node0", REMOVE_AT, "BAD_BODY"],
      ["node0", REMOVE_AT + 2, "BAD_QC"],
    ]);
  });

  test("a node that does not answer GET /v1/epochs is unreadable (incomplete), not judged on the genesis set", async () => {
    const silent = new EpochSource();
    silent.epochs = async () => {
      throw new RpcClientError("NETWORK", "GET /v1/epochs: fetch failed: connect ECONNREFUSED");
    };
    const r = await audit(nodes(new EpochSource(), silent), chain, OPTS);
    assert.deepEqual([r.verdict, r.agreedTo, r.problems, r.nodes[1]!.error?.code, r.nodes[1]!.committedHeight], ["incomplete", TOP, [], "NETWORK", null]);
  });

  test("--from above the changes: the change blocks below it are read and replayed first", async () => {
    const r = await audit(nodes(new EpochSource(), new EpochSource()), chain, { ...OPTS, from: REMOVE_AT + 5 });
    assert.deepEqual([r.verdict, r.from, r.agreedTo, r.problems], ["agree", REMOVE_AT + 5, TOP, []]);
    const omitted = await audit(nodes(new EpochSource(EPOCHS.slice(0, 2))), chain, { ...OPTS, from: REMOVE_AT + 5 });
    assert.deepEqual(problemsOf(omitted)[0], ["node0", REMOVE_AT + 5, "BAD_QC"]);
  });
});
