/**
 * `quire audit` on a chain that changes its validator set by epoch, held in memory (test/support/epochChain.ts: an add
 * in block 3, epoch 1 from height 5; a remove in block 12, epoch 2 from height 14; real BLS QCs per epoch).
 *
 * The oracle is the chain the test built: which set signed which height is known before the audit runs. The audit
 * derives the sets by replaying the change blocks its sources' `epochs()` hints name, so a true hint agrees, and a
 * hint that omits or misplaces a change, or a change block whose body does not match its header, is refused exactly
 * at the heights the wrong set would have to verify.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { audit, auditChainOf } from "../../../src/cli/auditor.js";
import type { AuditChain, AuditNode, AuditOptions, AuditReport, AuditSource } from "../../../src/cli/auditor.js";
import type { Genesis } from "../../../src/node/genesis.js";
import type { BlockSummary, EpochView } from "../../../src/rpc/api.js";
import { RpcClientError } from "../../../src/rpc/errors.js";
import { ADD_AT, EPOCHS, REMOVE_AT, TOP, buildEpochChain } from "../../support/epochChain.js";

let genesis: Genesis;
let genesisText: string;
let chain: AuditChain;
/** The true chain: heights 0..TOP. */
let main: readonly BlockSummary[];
/** The true change blocks' txs. */
let bodies: ReadonlyMap<number, Uint8Array[]>;

before(async () => {
  const fixture = await buildEpochChain();
  ({ genesis, genesisText, main, bodies } = fixture);
  chain = auditChainOf(genesis, fixture.backend);
});

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
