import { createHash } from "node:crypto";
import type { BenchCase, BenchSuite } from "./harness.js";
import { runCases } from "./harness.js";
import { bitmapSignerSets } from "../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../src/consensus/adapters/blsScheme.js";
import { blockHash, blockHasher } from "../src/consensus/blockHash.js";
import { buildCommitProof, verifyCommitProof } from "../src/consensus/commitProof.js";
import type { CommitProof, CommitProofContext } from "../src/consensus/commitProof.js";
import { SchemeCertificates } from "../src/consensus/scheme.js";
import { voteMessage } from "../src/consensus/signing.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../src/crypto/bls/backend.js";
import type { BlsBackend } from "../src/crypto/bls/backend.js";
import { keyGen } from "../src/crypto/bls/keygen.js";
import { quorumSize } from "../src/domain/quorum.js";
import type { BlockHeader, QuorumCert } from "../src/domain/types.js";
import { utf8 } from "../src/util/bytes.js";

/**
 * `quire bench commit-proof [--bls blst|noble|herumi]`: checking a commit proof (consensus/commitProof.ts) from the
 * genesis alone — two headers linked by hash, two QCs in one batch (`SchemeCertificates.verifyQcs` → one
 * `verifyQcs` batch of the crypto layer) — at n = 4 and 64 validators, with real keys and signatures. Target
 * (docs/design/shards.md §1): ≤ 2 ms per proof at n = 64 with blst.
 *
 * The proofs cycle over PROOFS consecutive heights of one chain, each QC signed by a quorum chosen at random per block,
 * so a row never checks the same proof twice in a row. Rows:
 * - "verify (cached keys)": the verifier as `quire verify commit` builds it, kept across proofs: each signer set's
 *   aggregate public key is cached (`ValidatorKeys`), so after one cycle a proof's two aggregate keys are lookups.
 * - "verify (cold keys)": aggregate-key cache off: every proof sums two quorums of public keys (what a verifier pays
 *   for signer sets it has not seen).
 * - "one QC at a time (cold keys)", the baseline: the same checks with the two QCs verified one by one (two
 *   aggregate verifications, no batch).
 * - "context from genesis": building the verifier (parsing and validating n public keys), paid once per verifier.
 */

const PROOFS = 32;
const sha = (s: string): Uint8Array => new Uint8Array(createHash("sha256").update(s).digest());

interface Fixture {
  readonly proofs: CommitProof[];
  readonly keys: Uint8Array[];
  readonly chainId: Uint8Array;
}

function fixture(bls: BlsBackend, n: number): Fixture {
  const chainId = utf8(`bench-commit-proof-${n}`);
  const sks = Array.from({ length: n }, (_, i) => bls.secretKeyFromBytes(keyGen(sha(`bench-validator-${n}-${i}`))));
  const keys = sks.map((sk) => bls.publicKeyToBytes(bls.publicKeyOf(sk)));
  const certs = new SchemeCertificates({ chainId, validatorCount: n }, new BlsScheme(bls, keys), bitmapSignerSets());
  const signers = sks.map((sk, i) => blsSigner(bls, sk, i));
  const q = quorumSize(n);
  // A deterministic shuffle per block: which validators sign varies from QC to QC, as on a live chain.
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const chain: { header: BlockHeader; qc: QuorumCert }[] = [];
  let parent: Uint8Array = new Uint8Array(32);
  for (let height = 0; height <= PROOFS + 1; height++) {
    const header: BlockHeader = { parent, view: height, height, proposer: height % n, timestampMs: 1_000 + height, txRoot: sha(`txs/${height}`), parentStateRoot: sha(`state/${height}`), parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) };
    const hash = blockHash(header);
    const order = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
    const voters = order.slice(0, q).sort((a, b) => a - b);
    const votes = voters.map((voter) => ({ view: height, blockHash: hash, voter, signature: signers[voter]!.sign(voteMessage(chainId, height, hash)) }));
    chain.push({ header, qc: certs.assembleQc(votes).qc! });
    parent = hash;
  }
  const proofs = Array.from({ length: PROOFS }, (_, i) => buildCommitProof(i + 1, PROOFS + 1, (h) => chain[h])!);
  return { proofs, keys, chainId };
}

function context(bls: BlsBackend, f: Fixture, aggregateCacheSize?: number): CommitProofContext {
  const scheme = new BlsScheme(bls, f.keys, aggregateCacheSize === undefined ? {} : { aggregateCacheSize });
  return { hashBlock: blockHasher(), certificates: new SchemeCertificates({ chainId: f.chainId, validatorCount: f.keys.length }, scheme, bitmapSignerSets()) };
}

/** The check a proof fails on, or nothing: run inside the timed function so a broken verifier cannot look fast. */
function mustVerify(p: CommitProof, ctx: CommitProofContext): void {
  const r = verifyCommitProof(p, ctx);
  if (!r.ok) throw new Error(`bench commit-proof: a valid proof was refused (${r.code}: ${r.reason})`);
}

export const suite: BenchSuite = {
  flags: ["bls"],
  async run(flags, opts) {
    const bls = await loadBlsBackend(flags.choice("bls", BLS_BACKEND_NAMES, "blst"));
    const cases: BenchCase[] = [];
    for (const n of [4, 64]) {
      const f = fixture(bls, n);
      const group = `commit proof, ${n} validators`;
      const cached = context(bls, f);
      const cold = context(bls, f, 0);
      // The baseline's verifier: the same proof checks, with a certificate verifier that takes one QC per call.
      const single = context(bls, f, 0);
      const oneByOne: CommitProofContext = { hashBlock: single.hashBlock, certificates: { verifyQcs: (qcs) => qcs.flatMap((qc) => single.certificates.verifyQcs([qc])) } };
      let i = 0;
      const next = () => f.proofs[i++ % PROOFS]!;
      cases.push(
        { group, backend: `one QC at a time, cold keys (${bls.name})`, size: n, baseline: true, fn: () => mustVerify(next(), oneByOne) },
        { group, backend: `verify, cold keys (${bls.name})`, size: n, fn: () => mustVerify(next(), cold) },
        { group, backend: `verify, cached keys (${bls.name})`, size: n, fn: () => mustVerify(next(), cached) },
        { group: `verifier context from genesis, ${n} validators`, backend: bls.name, size: n, fn: () => context(bls, f) },
      );
    }
    return runCases("commit-proof", cases, opts);
  },
};
