import { randomBytes } from "node:crypto";
import type { BenchCase } from "../harness.js";
import type { BlsBackend } from "../../src/crypto/bls/backend.js";
import { keyGen } from "../../src/crypto/bls/keygen.js";
import { ValidatorKeys, buildQc, buildTc, verifyQc, verifyTc } from "../../src/crypto/bls/qc.js";
import { quorumSize } from "../../src/domain/quorum.js";
import type { TimeoutVote, Vote } from "../../src/crypto/bls/qc.js";

const fail = (what: string): never => {
  throw new Error(`bench bls: ${what}`);
};

/**
 * QC build/verify for each validator-set size (2f+1 signers, votes arriving as wire bytes), the one-bad-vote
 * build, and TC build/verify for n = 64. The blst rows are the baselines.
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
  const msg = randomBytes(80); // domain ‖ chainId ‖ view ‖ blockHash is about this long
  const sigs = sks.map((s) => b.sign(s, msg));
  const wire = (i: number, form: "compressed" | "uncompressed"): Vote => ({ signer: i, signature: b.signatureToBytes(sigs[i]!, form) });

  for (const n of sizes) {
    const keys = new ValidatorKeys(b, sks.slice(0, n).map((s) => b.publicKeyOf(s)));
    const cold = new ValidatorKeys(b, keys.publicKeys, { aggregateCacheSize: 0 });
    const q = quorumSize(n);
    const votesU = Array.from({ length: q }, (_, i) => wire(i, "uncompressed"));
    const qc = buildQc(keys, msg, votesU).certificate ?? fail("QC build");
    const group = (verb: string, detail = "") => `QC ${verb} n=${n} (${q} signers)${detail}`;
    cases.push({
      group: group("build", ", 192 B votes"),
      backend: b.name,
      size: n,
      baseline: base,
      fn: () => buildQc(keys, msg, votesU).certificate ?? fail("QC build"),
    });
    cases.push({ group: group("verify", ", warm key cache"), backend: b.name, size: n, baseline: base, fn: () => verifyQc(keys, msg, qc).ok || fail("QC verify") });
    cases.push({ group: group("verify", ", cold"), backend: b.name, size: n, baseline: base, fn: () => verifyQc(cold, msg, qc).ok || fail("QC verify") });
    if (n === 64) {
      const votesC = Array.from({ length: q }, (_, i) => wire(i, "compressed"));
      cases.push({ group: group("build", ", 96 B votes"), backend: b.name, size: n, baseline: base, fn: () => buildQc(keys, msg, votesC).certificate ?? fail("QC build") });
      // q + 1 votes, one of them invalid (a valid signature by another key), at each position in turn: the mean
      // is over positions. The QC of the other q still forms.
      const good = Array.from({ length: q + 1 }, (_, i) => wire(i, "uncompressed"));
      const forged = b.signatureToBytes(sigs[n]!, "uncompressed");
      const poisoned = good.map((_, pos) => good.map((v, i) => (i === pos ? { signer: v.signer, signature: forged } : v)));
      let k = 0;
      cases.push({
        group: `QC build n=64, ${q + 1} votes, 1 invalid`,
        backend: b.name,
        size: n,
        baseline: base,
        fn: () => {
          const pos = k++ % poisoned.length;
          const r = buildQc(keys, msg, poisoned[pos]!);
          if (r.certificate === null || r.rejected.length !== 1 || r.rejected[0]!.signer !== pos) fail("QC build with an invalid vote");
        },
      });
      // Timeouts from q signers over 3 distinct high-QC views.
      const views = [msg.slice(0, 40), msg.slice(1, 41), msg.slice(2, 42)];
      const tvotes: TimeoutVote[] = Array.from({ length: q }, (_, i) => {
        const message = views[i % 3]!;
        return { signer: i, message, signature: b.signatureToBytes(b.sign(sks[i]!, message), "uncompressed") };
      });
      const tc = buildTc(keys, tvotes).certificate ?? fail("TC build");
      cases.push({ group: `TC build n=64 (${q} signers, 3 messages)`, backend: b.name, size: n, baseline: base, fn: () => buildTc(keys, tvotes).certificate ?? fail("TC build") });
      cases.push({ group: `TC verify n=64 (${q} signers, 3 messages)`, backend: b.name, size: n, baseline: base, fn: () => verifyTc(keys, tc).ok || fail("TC verify") });
    }
  }
  return cases;
}
