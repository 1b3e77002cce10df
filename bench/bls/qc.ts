import { randomBytes } from "node:crypto";
import type { BenchCase } from "../harness.js";
import type { BlsBackend } from "../../src/crypto/bls/backend.js";
import { keyGen } from "../../src/crypto/bls/keygen.js";
import { bitmapSignerSets } from "../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme } from "../../src/consensus/adapters/blsScheme.js";
import { SchemeCertificates } from "../../src/consensus/scheme.js";
import { timeoutMessage, voteMessage } from "../../src/consensus/signing.js";
import { quorumSize } from "../../src/domain/quorum.js";
import type { QuorumCert, Timeout, Vote } from "../../src/domain/types.js";
import { utf8 } from "../../src/util/bytes.js";

const fail = (what: string): never => {
  throw new Error(`bench bls: ${what}`);
};

const CHAIN_ID = utf8("quire-bench");

/**
 * QC build/verify for each validator-set size and TC build/verify for n = 64, through the node's own certificate code:
 * `SchemeCertificates` over `BlsScheme`, with votes as they come off the wire (192-byte uncompressed signatures, or
 * 96-byte compressed for comparison). "build" is the optimistic collector (DESIGN §3): parse, aggregate, and the one
 * aggregate check; the one-bad-vote case adds the bisection that names the bad voter. The blst rows are the baselines.
 */
export async function qcCases(b: BlsBackend, sizes: number[]): Promise<BenchCase[]> {
  const base = b.name === "blst";
  const cases: BenchCase[] = [];
  const max = Math.max(...sizes);
  const seed = randomBytes(32);
  const sks = Array.from({ length: max + 1 }, (_, i) => {
    seed[0] = i & 0xff;
    seed[1] = i >> 8;
    return b.secretKeyFromBytes(keyGen(seed));
  });
  const pks = sks.map((s) => b.publicKeyToBytes(b.publicKeyOf(s)));
  const view = 1_000;
  const blockHash = randomBytes(32);
  const message = voteMessage(CHAIN_ID, view, blockHash);
  const sigs = sks.map((s) => b.sign(s, message));
  const vote = (voter: number, form: "compressed" | "uncompressed"): Vote => ({ view, blockHash, voter, signature: b.signatureToBytes(sigs[voter]!, form) });
  const signerSets = bitmapSignerSets();

  for (const n of sizes) {
    const scheme = new BlsScheme(b, pks.slice(0, n));
    const opts = { chainId: CHAIN_ID, validatorCount: n };
    const collector = new SchemeCertificates({ ...opts, optimisticVotes: true }, scheme, signerSets);
    const warm = new SchemeCertificates(opts, scheme, signerSets);
    const cold = new SchemeCertificates(opts, new BlsScheme(b, pks.slice(0, n), { aggregateCacheSize: 0 }), signerSets);
    const q = quorumSize(n);
    const build = (votes: readonly Vote[]): QuorumCert => {
      const r = collector.assembleQc(votes);
      if (r.qc === null || r.invalidVoters.length > 0) fail("QC build");
      return r.qc!;
    };
    const votesU = Array.from({ length: q }, (_, i) => vote(i, "uncompressed"));
    const qc = build(votesU);
    if (warm.verifyQc(qc) !== "ok") fail("QC build made an invalid QC");
    const group = (verb: string, detail = "") => `QC ${verb} n=${n} (${q} signers)${detail}`;
    cases.push({ group: group("build", ", 192 B votes"), backend: b.name, size: n, baseline: base, fn: () => build(votesU) });
    cases.push({ group: group("verify", ", warm key cache"), backend: b.name, size: n, baseline: base, fn: () => warm.verifyQc(qc) === "ok" || fail("QC verify") });
    cases.push({ group: group("verify", ", cold"), backend: b.name, size: n, baseline: base, fn: () => cold.verifyQc(qc) === "ok" || fail("QC verify") });
    if (n === 64) {
      const votesC = Array.from({ length: q }, (_, i) => vote(i, "compressed"));
      cases.push({ group: group("build", ", 96 B votes"), backend: b.name, size: n, baseline: base, fn: () => build(votesC) });
      // q + 1 votes, one of them invalid (a valid signature by a key outside the set), at each position in turn: the
      // mean is over positions. The QC of the other q still forms, and the bad voter is named.
      const good = Array.from({ length: q + 1 }, (_, i) => vote(i, "uncompressed"));
      const forged = b.signatureToBytes(sigs[n]!, "uncompressed");
      const poisoned = good.map((_, pos) => good.map((v, i) => (i === pos ? { ...v, signature: forged } : v)));
      let k = 0;
      cases.push({
        group: `QC build n=64, ${q + 1} votes, 1 invalid`,
        backend: b.name,
        size: n,
        baseline: base,
        fn: () => {
          const pos = k++ % poisoned.length;
          const r = collector.assembleQc(poisoned[pos]!);
          if (r.qc === null || r.invalidVoters.length !== 1 || r.invalidVoters[0] !== pos) fail("QC build with an invalid vote");
        },
      });
      // Timeouts from q signers over 3 distinct high-QC views (so 3 distinct signed messages).
      const highQc = (v: number): QuorumCert => ({ view: v, blockHash, signers: qc.signers, aggregateSignature: qc.aggregateSignature });
      const highQcs = [highQc(view - 3), highQc(view - 2), highQc(view - 1)];
      const timeouts: Timeout[] = Array.from({ length: q }, (_, i) => {
        const h = highQcs[i % 3]!;
        return { view, voter: i, highQc: h, signature: b.signatureToBytes(b.sign(sks[i]!, timeoutMessage(CHAIN_ID, view, h.view)), "uncompressed") };
      });
      const tc = warm.aggregateTc(timeouts);
      if (warm.verifyTc(tc) !== "ok") fail("TC build made an invalid TC");
      cases.push({ group: `TC build n=64 (${q} signers, 3 messages)`, backend: b.name, size: n, baseline: base, fn: () => warm.aggregateTc(timeouts) });
      cases.push({ group: `TC verify n=64 (${q} signers, 3 messages)`, backend: b.name, size: n, baseline: base, fn: () => warm.verifyTc(tc) === "ok" || fail("TC verify") });
    }
  }
  return cases;
}
