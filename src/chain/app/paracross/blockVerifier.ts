/**
 * Verifies the commit signatures of one block together (the paracross module calls it from `beginBlock`):
 *
 * 1. commits with identical signing bytes (the same message) are grouped, and each group becomes one set: the sum
 *    of its signers' keys and the sum of their signatures. Para keys are registered with proofs of possession
 *    (checked at genesis), so same-message aggregation is sound (see crypto/bls/qc.ts);
 * 2. one `verifyBatch` (random linear combination) checks every group at once: with N nodes signing one para height
 *    that is one multi-pairing of 1 set, instead of N pairings;
 * 3. when the batch fails, each group is checked alone (`fastAggregateVerify`), and a failing group's commits one by
 *    one, so only the bad signatures are named invalid.
 *
 * Each signature is parsed with the subgroup check (`validate: true`): the module stores a running aggregate per
 * message and adds a signature to it only when its tx applies, so a signature must be valid on its own, not only as
 * part of its group's sum (two Byzantine signatures with cancelling torsion would otherwise leave a stored aggregate
 * that no longer verifies).
 */
import type { BlsBackend, PublicKey, Signature, SignatureSet } from "../../../crypto/bls/backend.js";
import { bytesKey } from "../../../util/bytes.js";

/** A commit to check: the result goes to `verdicts[commit]` of tx `tx`. */
export interface PendingCheck {
  readonly tx: number;
  readonly commit: number;
  readonly signingBytes: Uint8Array;
  readonly publicKey: PublicKey;
  readonly signature: Uint8Array;
}

export const VERDICT_UNCHECKED = 0;
export const VERDICT_VALID = 1;
export const VERDICT_INVALID = 2;

/** One commit tx's results: a VERDICT_* per commit, and each valid commit's parsed signature (deliver aggregates it). */
export interface TxVerdicts {
  readonly verdict: Uint8Array;
  readonly signatures: (Signature | null)[];
}

export function newTxVerdicts(commits: number): TxVerdicts {
  return { verdict: new Uint8Array(commits), signatures: new Array<Signature | null>(commits).fill(null) };
}

interface Group {
  readonly signingBytes: Uint8Array;
  readonly members: { readonly check: PendingCheck; readonly sig: Signature }[];
}

/** Sets `verdicts.get(c.tx)` at `c.commit` for every check (the entries must exist). */
export function verifyCommitChecks(bls: BlsBackend, checks: readonly PendingCheck[], verdicts: Map<number, TxVerdicts>): void {
  const groups = new Map<string, Group>();
  for (const c of checks) {
    let sig: Signature;
    try {
      sig = bls.signatureFromBytes(c.signature, { validate: true });
    } catch {
      verdicts.get(c.tx)!.verdict[c.commit] = VERDICT_INVALID;
      continue;
    }
    const k = bytesKey(c.signingBytes);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = { signingBytes: c.signingBytes, members: [] }));
    g.members.push({ check: c, sig });
  }
  if (groups.size === 0) return;
  const list = [...groups.values()];
  const sets: SignatureSet[] = list.map((g) => ({
    message: g.signingBytes,
    publicKey: g.members.length === 1 ? g.members[0]!.check.publicKey : bls.aggregatePublicKeys(g.members.map((m) => m.check.publicKey)),
    signature: g.members.length === 1 ? g.members[0]!.sig : bls.aggregateSignatures(g.members.map((m) => m.sig)),
  }));
  // One set (the common block: one para height) needs no random linear combination: a plain check is cheaper.
  const all = sets.length === 1 ? bls.verify(sets[0]!.message, sets[0]!.publicKey, sets[0]!.signature) : bls.verifyBatch(sets);
  for (let i = 0; i < list.length; i++) {
    const g = list[i]!;
    const groupOk =
      all ||
      (g.members.length === 1
        ? bls.verify(g.signingBytes, sets[i]!.publicKey, sets[i]!.signature)
        : bls.fastAggregateVerify(
            g.signingBytes,
            g.members.map((m) => m.check.publicKey),
            sets[i]!.signature,
          ));
    for (const m of g.members) {
      const ok = groupOk || (g.members.length > 1 && bls.verify(g.signingBytes, m.check.publicKey, m.sig));
      const v = verdicts.get(m.check.tx)!;
      v.verdict[m.check.commit] = ok ? VERDICT_VALID : VERDICT_INVALID;
      if (ok) v.signatures[m.check.commit] = m.sig;
    }
  }
}
