/**
 * `quire audit`'s engine against chains held in memory: a real certified chain (four BLS validators, every QC
 * assembled from real votes by the node's `SchemeCertificates`), served identically by several nodes, then broken on
 * purpose — a certified fork, a QC from another height, a signer set below quorum, a broken parent link, a wrong
 * reported hash, a missing block, an unreachable node — and each time the exact node, height, code and verdict.
 * The oracles are the chains the tests built: which height they forked or broke is known before the audit runs.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { hash as nodeHash } from "node:crypto";
import { AuditError, audit, auditChainOf, auditExitCode, genesisOfNodes } from "../../../src/cli/auditor.js";
import type { AuditChain, AuditNode, AuditOptions, AuditReport, AuditSource } from "../../../src/cli/auditor.js";
import { renderReport } from "../../../src/cli/audit.js";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { blockHash } from "../../../src/consensus/blockHash.js";
import { SchemeCertificates } from "../../../src/consensus/scheme.js";
import { voteMessage } from "../../../src/consensus/signing.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import type { BlockHeader, QuorumCert } from "../../../src/domain/types.js";
import { DEFAULT_CONSENSUS, genesisBlock, genesisJson, parseGenesis } from "../../../src/node/genesis.js";
import type { Genesis } from "../../../src/node/genesis.js";
import type { BlockSummary } from "../../../src/rpc/api.js";
import { RpcClientError } from "../../../src/rpc/errors.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";

const N = 4;
const TOP = 40;
const sha = (s: string): Uint8Array => new Uint8Array(nodeHash("sha256", s, "buffer"));

let backend: BlsBackend;
let genesis: Genesis;
let genesisText: string;
let chain: AuditChain;
let certs: SchemeCertificates;
let sign: (voter: number, view: number, hash: Uint8Array) => Uint8Array;
/** Heights 0..TOP, every block above 0 certified by validators 0, 1, 2. */
let main: BlockSummary[];

before(async () => {
  backend = await loadBlsBackend("blst");
  const sks = Array.from({ length: N }, (_, i) => backend.secretKeyFromBytes(keyGen(sha(`audit-validator-${i}`))));
  const validators = await Promise.all(
    sks.map(async (sk) => ({ publicKey: backend.publicKeyToBytes(backend.publicKeyOf(sk)), proofOfPossession: backend.signatureToBytes(await backend.popProve(sk)) })),
  );
  genesisText = JSON.stringify(genesisJson({ chainId: "quire-audit-test", genesisTimeMs: 1_767_225_600_000, validators, consensus: DEFAULT_CONSENSUS, app: { name: "kv", bucketBits: 16 } }));
  genesis = await parseGenesis(genesisText, "test genesis", backend);
  chain = auditChainOf(genesis, backend);
  certs = new SchemeCertificates({ chainId: genesis.chainIdBytes, validatorCount: N }, new BlsScheme(backend, validators.map((v) => v.publicKey)), bitmapSignerSets());
  const signers = sks.map((sk, i) => blsSigner(backend, sk, i));
  sign = (voter, view, hash) => signers[voter]!.sign(voteMessage(genesis.chainIdBytes, view, hash));
  const g = genesisBlock(genesis);
  main = extend([{ hash: blockHash(g.header), header: g.header, txCount: 0, qc: null }], TOP, "main");
});

function qcFor(view: number, hash: Uint8Array, voters: readonly number[] = [0, 1, 2]): QuorumCert {
  return certs.assembleQc(voters.map((voter) => ({ view, blockHash: hash, voter, signature: sign(voter, view, hash) }))).qc!;
}

/** A certified block on `parent` (views skip one now and then, as after a timeout). */
function certified(parent: BlockSummary, tag: string, header: Partial<BlockHeader> = {}): BlockSummary {
  const height = parent.header.height + 1;
  const view = parent.header.view + (height % 7 === 0 ? 2 : 1);
  const h: BlockHeader = {
    parent: parent.hash,
    view,
    height,
    proposer: view % N,
    timestampMs: genesis.genesisTimeMs + 100 * height,
    txRoot: sha(`${tag}/${height}`),
    parentStateRoot: sha(`state/${height - 1}`),
    parentResults: new Uint8Array(0),
    parentSigners: new Uint8Array(0),
    ...header,
  };
  const hash = blockHash(h);
  return { hash, header: h, txCount: 1, qc: qcFor(h.view, hash) };
}

function extend(prefix: readonly BlockSummary[], top: number, tag: string): BlockSummary[] {
  const out = [...prefix];
  while (out.length <= top) out.push(certified(out[out.length - 1]!, tag));
  return out;
}

/** `main` with some heights replaced. */
function withBlocks(base: readonly BlockSummary[], changes: Record<number, (b: BlockSummary) => BlockSummary>): BlockSummary[] {
  return base.map((b, h) => changes[h]?.(b) ?? b);
}

interface SourceOptions {
  /** What `/v1/status` reports (default: the top of the chain). */
  committedHeight?: number;
  chainId?: string;
  /** `status()` fails (the node is down from the start). */
  down?: boolean;
  /** `blocks()` fails for any range reaching this height (the node went away, or answers garbage). */
  failFrom?: number;
  failWith?: RpcClientError;
}

class MemorySource implements AuditSource {
  constructor(
    private readonly blocksHeld: readonly BlockSummary[],
    private readonly o: SourceOptions = {},
  ) {}

  async status(): Promise<{ chainId: string; committedHeight: number }> {
    if (this.o.down === true) throw new RpcClientError("NETWORK", "GET /v1/status: fetch failed: connect ECONNREFUSED");
    return { chainId: this.o.chainId ?? genesis.chainId, committedHeight: this.o.committedHeight ?? this.blocksHeld.length - 1 };
  }

  async blocks(from: number, to: number): Promise<BlockSummary[]> {
    if (this.o.failFrom !== undefined && to >= this.o.failFrom) throw this.o.failWith ?? new RpcClientError("NETWORK", "GET /v1/blocks: fetch failed: connect ECONNREFUSED");
    return this.blocksHeld.slice(from, to + 1);
  }

  async genesis(): Promise<string> {
    if (this.o.down === true) throw new RpcClientError("NETWORK", "GET /v1/genesis: fetch failed");
    return genesisText;
  }
}

function nodes(...chains: (readonly BlockSummary[] | [readonly BlockSummary[], SourceOptions])[]): AuditNode[] {
  return chains.map((c, i) => {
    const [blocks, o] = isPair(c) ? c : [c, {}];
    return { name: `node${i}`, source: new MemorySource(blocks, o) };
  });
}

function isPair(c: readonly BlockSummary[] | [readonly BlockSummary[], SourceOptions]): c is [readonly BlockSummary[], SourceOptions] {
  return c.length === 2 && Array.isArray(c[0]);
}

const OPTS: AuditOptions = { window: 8, prefetch: 2, retryDelayMs: 0 };

function problemsOf(r: AuditReport): [string, number | null, string][] {
  return r.problems.map((p) => [p.node, p.height, p.code]);
}

describe("quire audit's engine", { timeout: 120_000 }, () => {
  test("nodes holding the same certified chain agree; each certificate is checked once, one batch per window", async () => {
    const batches: number[] = [];
    const counting: AuditChain = {
      ...chain,
      certificates: {
        verifyQcs: (qcs) => {
          batches.push(qcs.length);
          return chain.certificates.verifyQcs(qcs);
        },
      },
    };
    const r = await audit(nodes(main, main, main, main), counting, OPTS);
    assert.equal(r.verdict, "agree");
    assert.deepEqual([r.from, r.to, r.agreedTo, r.divergence, r.problems, r.problemCount], [0, TOP, TOP, null, [], 0]);
    assert.equal(auditExitCode(r), 0);
    // Windows 0..7 (heights 1..7 carry QCs), 8..15, ..., 32..39, 40..40: the four nodes' copies checked once.
    assert.deepEqual(batches, [7, 8, 8, 8, 8, 1]);
    assert.equal(r.qcsVerified, TOP);
    assert.deepEqual(
      r.nodes.map((n) => [n.committedHeight, n.checkedTo, n.error]),
      main.slice(0, 4).map(() => [TOP, TOP, null]),
    );
    assert.match(renderReport(r, "test"), /OK: all agree and verify on heights 0\.\.40/);
  });

  test("the audit stops at the lowest committed height, and --from/--to narrow it", async () => {
    const r = await audit(nodes(main, main.slice(0, 31), main), chain, OPTS);
    assert.deepEqual([r.verdict, r.from, r.to, r.agreedTo], ["agree", 0, 30, 30]);
    assert.deepEqual(
      r.nodes.map((n) => [n.committedHeight, n.checkedTo]),
      [
        [TOP, 30],
        [30, 30],
        [TOP, 30],
      ],
    );
    const part = await audit(nodes(main, main), chain, { ...OPTS, from: 10, to: 20 });
    assert.deepEqual([part.verdict, part.from, part.to, part.agreedTo, part.qcsVerified], ["agree", 10, 20, 20, 11]);
    const clamped = await audit(nodes(main, main.slice(0, 21)), chain, { ...OPTS, from: 5, to: 500 });
    assert.deepEqual([clamped.from, clamped.to, clamped.agreedTo], [5, 20, 20]);
    await assert.rejects(audit(nodes(main, main.slice(0, 21)), chain, { from: 21 }), (e: unknown) => e instanceof AuditError && e.code === "EMPTY_RANGE" && e.payload.exitCode === 2);
  });

  test("a certified fork is reported at exactly the first height where two nodes differ", async () => {
    for (const at of [1, 7, 8, 16, 23, TOP]) {
      const fork = extend(main.slice(0, at), Math.min(TOP, at + 4), "fork");
      const r = await audit(nodes(main, main, main, fork), chain, OPTS);
      assert.equal(r.verdict, "diverged", `fork at ${at}`);
      assert.equal(auditExitCode(r), 1);
      assert.equal(r.divergence?.height, at, `fork at ${at}`);
      assert.equal(r.agreedTo, at - 1);
      assert.deepEqual(
        r.divergence?.hashes,
        ["node0", "node1", "node2", "node3"].map((node, i) => ({ node, hash: toHex((i === 3 ? fork : main)[at]!.hash) })),
      );
      // Both branches are validly certified: nothing else is wrong.
      assert.deepEqual(r.problems, [], `fork at ${at}`);
      assert.match(renderReport(r, "test"), new RegExp(`FAIL: nodes diverge at height ${at}`));
    }
  });

  test("a QC that does not verify is reported with its node and height, and no other (valid aggregate of another height, a flipped byte)", async () => {
    const stolen = withBlocks(main, { 17: (b) => ({ ...b, qc: { ...b.qc!, aggregateSignature: main[18]!.qc!.aggregateSignature } }) });
    const r = await audit(nodes(main, stolen, main, main), chain, OPTS);
    assert.deepEqual([r.verdict, r.agreedTo, r.divergence], ["invalid", 16, null]);
    assert.deepEqual(problemsOf(r), [["node1", 17, "BAD_QC"]]);
    assert.match(r.problems[0]!.message, /BAD_AGGREGATE/);
    assert.equal(auditExitCode(r), 1);

    const flipped = withBlocks(main, {
      5: (b) => {
        const sig = Uint8Array.from(b.qc!.aggregateSignature);
        sig[40] = sig[40]! ^ 0x01;
        return { ...b, qc: { ...b.qc!, aggregateSignature: sig } };
      },
    });
    const r2 = await audit(nodes(main, main, flipped), chain, OPTS);
    assert.deepEqual([r2.verdict, r2.agreedTo], ["invalid", 4]);
    assert.deepEqual(problemsOf(r2), [["node2", 5, "BAD_QC"]]);
  });

  test("a signer set below quorum is refused on every node that holds it, checked once", async () => {
    const weak = withBlocks(main, { 9: (b) => ({ ...b, qc: qcFor(b.header.view, b.hash, [0, 1]) }) });
    const r = await audit(nodes(weak, weak, weak, weak), chain, OPTS);
    assert.deepEqual([r.verdict, r.agreedTo, r.qcsVerified], ["invalid", 8, TOP]);
    assert.deepEqual(problemsOf(r), [
      ["node0", 9, "BAD_QC"],
      ["node1", 9, "BAD_QC"],
      ["node2", 9, "BAD_QC"],
      ["node3", 9, "BAD_QC"],
    ]);
    assert.ok(r.problems.every((p) => p.message.includes("BELOW_QUORUM")));
  });

  test("one node's chain checks: parent links, reported hashes, QC bindings, missing QCs, genesis", async () => {
    const cases: [string, BlockSummary[], [number, string][], number][] = [
      // Block 12 certified but on block 10: its own link breaks, and block 13's link to it.
      [
        "broken link",
        withBlocks(main, { 12: () => certified(main[10]!, "main", { height: 12 }) }),
        [
          [12, "BROKEN_CHAIN"],
          [13, "BROKEN_CHAIN"],
        ],
        11,
      ],
      ["wrong reported hash", withBlocks(main, { 20: (b) => ({ ...b, hash: main[21]!.hash }) }), [[20, "WRONG_HASH"]], 19],
      ["QC of another block", withBlocks(main, { 30: (b) => ({ ...b, qc: main[31]!.qc }) }), [[30, "QC_MISMATCH"]], 29],
      ["QC of another view", withBlocks(main, { 31: (b) => ({ ...b, qc: qcFor(b.header.view + 1, b.hash) }) }), [[31, "QC_MISMATCH"]], 30],
      ["no QC", withBlocks(main, { 33: (b) => ({ ...b, qc: null }) }), [[33, "MISSING_QC"]], 32],
      [
        "another genesis",
        withBlocks(main, {
          0: (b) => {
            const header = { ...b.header, timestampMs: b.header.timestampMs + 1 };
            return { ...b, header, hash: blockHash(header) };
          },
        }),
        [
          [0, "GENESIS_MISMATCH"],
          [1, "BROKEN_CHAIN"],
        ],
        -1,
      ],
    ];
    for (const [what, broken, expected, agreedTo] of cases) {
      const r = await audit(nodes(broken), chain, OPTS);
      assert.deepEqual(
        problemsOf(r),
        expected.map(([h, code]) => ["node0", h, code]),
        what,
      );
      assert.deepEqual([r.verdict, r.agreedTo, auditExitCode(r)], ["invalid", agreedTo, 1], what);
    }
  });

  test("a node that claims a height it does not serve, or answers garbage, is a finding", async () => {
    const r = await audit(nodes(main, [main.slice(0, 36), { committedHeight: TOP }]), chain, OPTS);
    assert.deepEqual([r.verdict, r.agreedTo], ["invalid", 35]);
    assert.deepEqual(problemsOf(r), [["node1", 36, "MISSING_BLOCKS"]]);
    const garbage = new RpcClientError("BAD_RESPONSE", "malformed response: blocks[0].height is 9, expected 8");
    const g = await audit(nodes(main, [main, { failFrom: 8, failWith: garbage }]), chain, OPTS);
    assert.deepEqual([g.verdict, g.agreedTo], ["invalid", 7]);
    assert.deepEqual(problemsOf(g), [["node1", 8, "BAD_RESPONSE"]]);
  });

  test("unreadable nodes make the audit incomplete (exit 2) unless something is wrong (exit 1)", async () => {
    const down = await audit(nodes(main, main, [main, { down: true }], main), chain, OPTS);
    assert.deepEqual([down.verdict, down.agreedTo, auditExitCode(down)], ["incomplete", TOP, 2]);
    assert.deepEqual([down.nodes[2]!.error?.code, down.nodes[2]!.committedHeight, down.nodes[2]!.checkedTo], ["NETWORK", null, null]);
    assert.match(renderReport(down, "test"), /INCOMPLETE/);

    const lost = await audit(nodes(main, [main, { failFrom: 16 }]), chain, OPTS);
    assert.deepEqual([lost.verdict, lost.agreedTo, lost.nodes[1]!.checkedTo, lost.nodes[1]!.error?.code], ["incomplete", 15, 15, "NETWORK"]);
    assert.deepEqual(lost.problems, []);

    const fork = extend(main.slice(0, 12), TOP, "fork");
    const both = await audit(nodes(main, [main, { down: true }], fork), chain, OPTS);
    assert.deepEqual([both.verdict, both.divergence?.height, auditExitCode(both)], ["diverged", 12, 1]);

    await assert.rejects(audit(nodes([main, { down: true }], [main, { down: true }]), chain, OPTS), (e: unknown) => e instanceof AuditError && e.code === "NO_NODE_ANSWERED" && e.payload.exitCode === 2);
  });

  test("a request that fails without an answer is retried; a malformed answer or a 4xx is not", async () => {
    const flaky = (failures: number, error: () => Error): AuditSource & { calls: number } => {
      const inner = new MemorySource(main);
      const source = {
        calls: 0,
        status: () => inner.status(),
        genesis: () => inner.genesis(),
        blocks: async (from: number, to: number) => {
          source.calls++;
          if (source.calls <= failures) throw error();
          return inner.blocks(from, to);
        },
      };
      return source;
    };
    const refused = () => new RpcClientError("NETWORK", "fetch failed: connect ECONNREFUSED");
    const busy = () => new RpcClientError("HTTP", "HTTP 503 NODE_TIMEOUT", { status: 503, code: "NODE_TIMEOUT" });
    const windows = Math.ceil((TOP + 1) / 8);
    for (const [what, source, verdict, calls] of [
      ["two refused connections", flaky(2, refused), "agree", windows + 2],
      ["a 503", flaky(1, busy), "agree", windows + 1],
      ["three refused connections", flaky(3, refused), "incomplete", 3],
      ["a 400", flaky(1, () => new RpcClientError("HTTP", "HTTP 400 BAD_RANGE", { status: 400, code: "BAD_RANGE" })), "incomplete", 1],
      ["a malformed answer", flaky(1, () => new RpcClientError("BAD_RESPONSE", "malformed response")), "invalid", 1],
    ] as const) {
      // prefetch 1: the first window is the one that fails, and nothing else is asked meanwhile.
      const r = await audit([{ name: "flaky", source }, ...nodes(main)], chain, { ...OPTS, prefetch: 1 });
      assert.equal(r.verdict, verdict, what);
      assert.equal(source.calls, calls, what);
    }
  });

  test("a node on another chain id is named", async () => {
    const r = await audit(nodes(main, [main, { chainId: "quire-other" }]), chain, OPTS);
    assert.deepEqual([r.verdict, r.agreedTo], ["invalid", TOP]);
    assert.deepEqual(problemsOf(r), [["node1", null, "CHAIN_ID_MISMATCH"]]);
  });

  test("genesis from the nodes: used when every answering node serves the same bytes, refused (exit 1) when two differ", async () => {
    assert.equal(await genesisOfNodes(nodes(main, [main, { down: true }], main)), genesisText);
    const serving = (name: string, text: string): AuditNode => ({ name, source: { status: async () => ({ chainId: "x", committedHeight: 0 }), blocks: async () => [], genesis: async () => text } });
    const other = serving("odd", genesisText.replace("quire-audit-test", "quire-audit-other"));
    await assert.rejects(genesisOfNodes([...nodes(main, main), other]), (e: unknown) => e instanceof AuditError && e.code === "GENESIS_DIFFERS" && e.payload.exitCode === 1 && /node0, node1/.test(e.message) && /odd/.test(e.message));
    // One more space is another document: the comparison is byte for byte.
    await assert.rejects(genesisOfNodes([...nodes(main), serving("spaced", genesisText + " ")]), (e: unknown) => e instanceof AuditError && e.code === "GENESIS_DIFFERS");
    await assert.rejects(genesisOfNodes(nodes([main, { down: true }])), (e: unknown) => e instanceof AuditError && e.code === "NO_NODE_ANSWERED" && e.payload.exitCode === 2);
  });

  test("chain id of the test genesis is the one its QCs were signed for", () => {
    // Guards the fixtures: certificates signed for another chain id would make every test above vacuous.
    assert.deepEqual(genesis.chainIdBytes, utf8("quire-audit-test"));
    assert.deepEqual(chain.certificates.verifyQcs([main[1]!.qc!]), ["ok"]);
  });
});
