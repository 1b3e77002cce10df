/**
 * Verifies the commit signatures of one block together (the paracross module calls it from `beginBlock`):
 *
 * 1. every commit is one set (its signing bytes, its signer's key, its signature), and one `verifyBatch` checks them
 *    all with fresh random scalars — the blst backend first collapses the sets that share a message (the N nodes of one
 *    para height) with `aggregateWithRandomness` (Σ rᵢ·pkᵢ, Σ rᵢ·sigᵢ), so a para height still costs about one
 *    Miller loop, not N;
 * 2. when the batch fails, each message's sets are checked alone, and a failing message's commits one by one, so only
 *    the bad signatures are named invalid.
 *
 * Random weights, never a plain sum: the module adds each valid signature to a stored aggregate, so each must be valid
 * on its own. With a plain sum, σa + X and σb − X (anyone can make them from two honest signatures) pass as a group
 * while neither is valid, and the stored aggregate of a done height would not verify (review finding, Dec 3). Each
 * signature is also parsed with the subgroup check (`validate: true`).
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
  const setsOf = (g: Group): SignatureSet[] => g.members.map((m) => ({ message: g.signingBytes, publicKey: m.check.publicKey, signature: m.sig }));
  const check = (sets: readonly SignatureSet[]): boolean => (sets.length === 1 ? bls.verify(sets[0]!.message, sets[0]!.publicKey, sets[0]!.signature) : bls.verifyBatch(sets));
  const all = check(list.flatMap(setsOf));
  for (const g of list) {
    const groupOk = all || (list.length > 1 && check(setsOf(g)));
    for (const m of g.members) {
      const ok = groupOk || (g.members.length > 1 && bls.verify(g.signingBytes, m.check.publicKey, m.sig));
      const v = verdicts.get(m.check.tx)!;
      v.verdict[m.check.commit] = ok ? VERDICT_VALID : VERDICT_INVALID;
      if (ok) v.signatures[m.check.commit] = m.sig;
    }
  }
}
