/**
 * `quire audit` on a chain with committees by reputation (test/support/committeeChain.ts: three rotations worked out
 * by hand, real BLS QCs per epoch). The audit replays every header through the validators module (node/epochSets.ts),
 * so the QCs of each rotation's epoch verify only if the replay chose the same committee.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { audit, auditChainOf, AuditError } from "../../../src/cli/auditor.js";
import type { AuditChain, AuditSource } from "../../../src/cli/auditor.js";
import type { BlockSummary, EpochView } from "../../../src/rpc/api.js";
import { COMMITTEE_EPOCHS, COMMITTEE_TOP, buildCommitteeChain } from "../../support/committeeChain.js";
import type { CommitteeChain } from "../../support/committeeChain.js";

let fx: CommitteeChain;
let genesisText: string;
let chain: AuditChain;

before(async () => {
  fx = await buildCommitteeChain();
  genesisText = fx.genesisText;
  chain = auditChainOf(fx.genesis, fx.backend);
});

class Source implements AuditSource {
  constructor(private readonly main: readonly BlockSummary[]) {}
  async status(): Promise<{ chainId: string; committedHeight: number }> {
    return { chainId: fx.genesis.chainId, committedHeight: COMMITTEE_TOP };
  }
  async blocks(from: number, to: number): Promise<BlockSummary[]> {
    return this.main.slice(from, to + 1);
  }
  async genesis(): Promise<string> {
    return genesisText;
  }
  async epochs(): Promise<readonly EpochView[]> {
    return COMMITTEE_EPOCHS;
  }
  async blockBody(height: number): Promise<{ txs: Uint8Array[] } | null> {
    return { txs: fx.txsAt(height) };
  }
}

const OPTS = { window: 8, prefetch: 2, retryDelayMs: 0 };

test("nodes of a committee chain agree on every height across three rotations", async () => {
  const r = await audit([{ name: "a", source: new Source(fx.main) }, { name: "b", source: new Source(fx.main) }], chain, OPTS);
  assert.deepEqual([r.verdict, r.agreedTo, r.problems], ["agree", COMMITTEE_TOP, []]);
});

test("--from above 1 on a committee chain is refused (COMMITTEE_FROM): its sets follow from every header", async () => {
  await assert.rejects(
    audit([{ name: "a", source: new Source(fx.main) }], chain, { ...OPTS, from: 12 }),
    (e: unknown) => e instanceof AuditError && e.code === "COMMITTEE_FROM",
  );
});
