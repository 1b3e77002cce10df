/**
 * Signed proposals in the simulator (protocol version 3), on the shipping shell with both schemes: an equivocating
 * leader's two signed blocks become evidence at the honest replicas that saw both, and that evidence verifies with
 * nothing but the validator keys and the chain id (`verifyEquivocationEvidence`, after a JSON round trip), and it
 * spreads (the replica that sees both relays the second to the others, which record it too); a validator
 * that forges proposals in another leader's name (signed with its own key) is refused on the signature — counted as
 * BAD_PROPOSAL_SIGNATURE — frames nobody, and changes nothing. The safety, validity and liveness checkers stay green.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { evidenceFromJson, verifyEquivocationEvidence } from "../../src/consensus/validation/evidence.js";
import type { ProposalEquivocationJson } from "../../src/consensus/validation/evidence.js";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import { blsSimCrypto } from "../../src/sim/blsCrypto.js";
import { runSimulation, SIM_CHAIN_ID, testSimCrypto } from "../../src/sim/simulation.js";
import type { SimCrypto, SimResult } from "../../src/sim/simulation.js";

/** Every honest replica's proposal evidence, with the instance that holds it. */
function honestEvidence(r: SimResult): { holder: number; json: ProposalEquivocationJson }[] {
  const out: { holder: number; json: ProposalEquivocationJson }[] = [];
  r.replicas.forEach((rep, i) => {
    if (r.plan.byzantine.has(r.plan.validatorOf[i]!)) return;
    for (const json of rep.evidence()?.proposals ?? []) out.push({ holder: i, json });
  });
  return out;
}

function checkEquivocation(r: SimResult, crypto: SimCrypto): number {
  assert.deepEqual(r.violations, [], r.violations.map((v) => v.message).join("\n"));
  const [equivocator] = [...r.plan.byzantine.keys()];
  const found = honestEvidence(r);
  assert.ok(found.length > 0, "no proposal evidence recorded by an honest replica");
  // Only against the equivocator, and every piece checks out for anyone holding the keys and the chain id.
  const ctx = { chainId: SIM_CHAIN_ID, scheme: crypto.scheme, validatorCount: r.plan.validators };
  for (const { holder, json } of JSON.parse(JSON.stringify(found)) as typeof found) {
    assert.equal(json.proposer, equivocator, `replica ${holder} holds evidence against ${json.proposer}`);
    const parsed = evidenceFromJson(json);
    assert.ok(parsed.ok, `replica ${holder}: ${JSON.stringify(parsed)}`);
    assert.equal(verifyEquivocationEvidence(ctx, parsed.evidence), "ok", `replica ${holder}, view ${json.view}`);
    // Tampered with, it no longer does.
    const sig = parsed.evidence.second.signature;
    const tampered = { ...parsed.evidence, second: { ...parsed.evidence.second, signature: Uint8Array.from(sig, (b, k) => (k === 3 ? b ^ 0x10 : b)) } };
    assert.equal(verifyEquivocationEvidence(ctx, tampered), "BAD_SIGNATURE");
  }
  assert.ok((r.rejections["PROPOSAL_EVIDENCE"] ?? 0) >= found.length, JSON.stringify(r.rejections));
  // Passed on: the equivocator shows both blocks to one replica only, whose relay of the second gives the replicas
  // that hold the first their own copy of the evidence — so some view's evidence is held by two honest replicas.
  assert.ok((r.rejections["PROPOSAL_EVIDENCE_RELAYED"] ?? 0) > 0, JSON.stringify(r.rejections));
  const holders = new Map<number, Set<number>>();
  for (const { holder, json } of found) holders.set(json.view, (holders.get(json.view) ?? new Set()).add(holder));
  assert.ok([...holders.values()].some((h) => h.size >= 2), `no view's evidence reached a second replica: ${JSON.stringify([...holders].map(([v, h]) => [v, [...h]]))}`);
  return found.length;
}

test("test scheme: an equivocating leader's signed proposals become evidence at honest replicas, and it verifies", () => {
  for (const seed of [5, 6, 7]) {
    const crypto = testSimCrypto(4, seed);
    const r = runSimulation({ validators: 4, seed, kinds: ["equivocation"], views: 40, byzantine: 1, crypto });
    checkEquivocation(r, crypto);
  }
});

test("real BLS (blst): an equivocating leader's evidence verifies with the validator keys alone", async () => {
  const backend = await loadBlsBackend("blst");
  const crypto = blsSimCrypto(backend, 4, 5);
  const r = runSimulation({ validators: 4, seed: 5, kinds: ["equivocation"], views: 20, byzantine: 1, crypto });
  checkEquivocation(r, crypto);
});

test("a validator forging proposals in other leaders' names is refused on the signature, frames nobody, changes nothing", () => {
  for (const seed of [1, 2, 3]) {
    const r = runSimulation({ validators: 4, seed, kinds: ["forged-proposal"], views: 30, byzantine: 1, trace: true });
    assert.deepEqual([...r.plan.byzantine.values()], ["forge-proposal"]);
    assert.deepEqual(r.violations, [], r.violations.map((v) => v.message).join("\n"));
    const forged = r.trace!.filter((e) => e.kind === "forge-proposal").length;
    assert.ok(forged > 10, `seed ${seed}: only ${forged} forgeries`);
    assert.ok((r.rejections["BAD_PROPOSAL_SIGNATURE"] ?? 0) > 0, `seed ${seed}: ${JSON.stringify(r.rejections)}`);
    assert.equal(r.evidence, 0, `seed ${seed}: a forgery became evidence`);
    assert.deepEqual(honestEvidence(r), []);
    assert.ok(r.committedHeight >= 10, `seed ${seed}: height ${r.committedHeight}`);
  }
});
