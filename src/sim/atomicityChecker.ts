/**
 * The cross-shard atomicity checker (issue 14): run at the end of a cross-shard simulation over the committed state
 * of every honest replica that is up, read only through the modules' public views (xshard `status` and `totals`,
 * accounts `supply`). For every transfer the clients submitted:
 *
 * - **Atomic.** Credited on its output shard only with every input shard's leg escrowed, and for exactly the sum of
 *   its inputs; an input shard whose leg is invalid, refunded or aborted means the output is never credited.
 * - **Decided.** After the drain, credited (every leg escrowed) or aborted (output aborted, every leg invalid,
 *   refunded or aborted). Transfers still open are reported separately (`undecided`): a violation only when the run
 *   asks for it (`requireDecided`, the default; liveness across shards under faults needs the settle window).
 * - **Agreement.** The honest replicas of a shard at the same committed height report the same status; a replica
 *   behind reports a status the leader's can follow from (null → escrowed → refunded; collecting → credited/aborted).
 * - **Supply.** At every replica: supply + escrowed − imported = the shard's genesis total (escrow leaves the supply
 *   into `escrowed`, a refund returns it, a credit adds to supply and `imported` alike); summed over the shards'
 *   furthest replicas, the network's genesis total. `imported` is the sum of the credited transfers' amounts and
 *   `escrowed` the sum of the escrowed legs' amounts (no credit or debit outside a transfer), and once nothing is
 *   undecided, Σ escrowed = Σ imported.
 */
import type { LegStatus, TransferStatus } from "../chain/app/xshard/module.js";
import { toHex } from "../util/bytes.js";
import type { Violation } from "./checkers.js";

export interface SubmittedTransfer {
  readonly xid: Uint8Array;
  readonly outShard: number;
  /** Each input (shard, amount), in the transfer's order. */
  readonly inputs: readonly { readonly shard: number; readonly amount: number }[];
  /** The client made one input invalid on purpose (informational: the checker judges by the shards' state). */
  readonly invalidInput: boolean;
}

/** One honest replica's committed ledger. */
export interface ReplicaLedger {
  readonly shard: number;
  readonly instance: number;
  readonly height: number;
  status(xid: Uint8Array): TransferStatus;
  totals(): { readonly escrowed: number; readonly imported: number };
  supply(): number;
}

export interface AtomicityReport {
  readonly violations: Violation[];
  readonly credited: number;
  readonly aborted: number;
  readonly undecided: number;
}

const MAX_REPORTED = 20;

export function checkAtomicity(transfers: readonly SubmittedTransfer[], ledgers: readonly ReplicaLedger[], genesisTotals: readonly number[], opts: { readonly requireDecided?: boolean } = {}): AtomicityReport {
  const violations: Violation[] = [];
  const add = (message: string, instances: number[] = []): void => {
    if (violations.length < MAX_REPORTED) violations.push({ kind: "safety", message: `cross-shard: ${message}`, instances });
  };
  const S = genesisTotals.length;
  const byShard: ReplicaLedger[][] = Array.from({ length: S }, () => []);
  for (const l of ledgers) byShard[l.shard]?.push(l);
  // Each shard's furthest replica: the reference for the per-transfer verdicts.
  const ref = byShard.map((list) => list.reduce<ReplicaLedger | null>((best, l) => (best === null || l.height > best.height ? l : best), null));

  // Supply at every replica.
  for (const l of ledgers) {
    const t = l.totals();
    const lhs = l.supply() + t.escrowed - t.imported;
    if (lhs !== genesisTotals[l.shard]) add(`shard ${l.shard} replica ${l.instance} (height ${l.height}): supply ${l.supply()} + escrowed ${t.escrowed} − imported ${t.imported} = ${lhs}, genesis ${genesisTotals[l.shard]}`, [l.instance]);
  }

  let credited = 0;
  let aborted = 0;
  let undecided = 0;
  const escrowedSum = new Array<number>(S).fill(0);
  const importedSum = new Array<number>(S).fill(0);
  for (const t of transfers) {
    const id = toHex(t.xid).slice(0, 16);
    const inputShards = [...new Set(t.inputs.map((i) => i.shard))];
    // Agreement within each involved shard.
    for (const s of new Set([...inputShards, t.outShard])) {
      const r = ref[s];
      if (r === null || r === undefined) continue;
      const top = r.status(t.xid);
      for (const l of byShard[s]!) {
        if (l === r) continue;
        const mine = l.status(t.xid);
        const ok = l.height === r.height ? sameStatus(mine, top) : follows(mine, top);
        if (!ok) add(`transfer ${id}: shard ${s} replicas ${l.instance} (height ${l.height}) and ${r.instance} (height ${r.height}) disagree: ${show(mine)} vs ${show(top)}`, [l.instance, r.instance]);
      }
    }
    const out = ref[t.outShard]?.status(t.xid).output ?? null;
    const legs = inputShards.map((s) => ({ shard: s, leg: ref[s]?.status(t.xid).leg ?? null }));
    const total = t.inputs.reduce((a, i) => a + i.amount, 0);
    for (const { shard, leg } of legs) if (leg === "escrowed") escrowedSum[shard]! += t.inputs.filter((i) => i.shard === shard).reduce((a, i) => a + i.amount, 0);
    const failedLeg = legs.find((l) => l.leg === "invalid" || l.leg === "refunded" || l.leg === "aborted");
    if (out?.status === "credited") {
      importedSum[t.outShard]! += out.sum;
      if (failedLeg !== undefined) add(`transfer ${id}: credited on shard ${t.outShard} and ${failedLeg.leg} on shard ${failedLeg.shard} (both committed)`);
      const open = legs.find((l) => l.leg !== "escrowed");
      if (open !== undefined && failedLeg === undefined) add(`transfer ${id}: credited on shard ${t.outShard} while shard ${open.shard}'s leg is ${open.leg ?? "not run"}`);
      if (out.sum !== total) add(`transfer ${id}: credited ${out.sum} on shard ${t.outShard}, its inputs sum to ${total}`);
      credited++;
      continue;
    }
    if (failedLeg !== undefined && out?.status === "aborted" && legs.every((l) => l.leg !== null && l.leg !== "escrowed")) {
      aborted++;
      continue;
    }
    undecided++;
    if (opts.requireDecided ?? true) add(`transfer ${id}: undecided after the drain (output ${out === null ? "none" : out.status}; legs ${legs.map((l) => `${l.shard}:${l.leg ?? "none"}`).join(", ")})`);
  }

  // Ledgers: what each shard holds in escrow and imported is exactly what its transfers say.
  for (let s = 0; s < S; s++) {
    const r = ref[s];
    if (r === null || r === undefined) continue;
    const t = r.totals();
    if (t.escrowed !== escrowedSum[s]) add(`shard ${s} replica ${r.instance}: escrowed ${t.escrowed}, its escrowed legs sum to ${escrowedSum[s]}`, [r.instance]);
    if (t.imported !== importedSum[s]) add(`shard ${s} replica ${r.instance}: imported ${t.imported}, its credited transfers sum to ${importedSum[s]}`, [r.instance]);
  }
  if (ref.every((r) => r !== null && r !== undefined)) {
    let net = 0;
    let esc = 0;
    let imp = 0;
    for (const r of ref) {
      const t = r!.totals();
      net += r!.supply() + t.escrowed - t.imported;
      esc += t.escrowed;
      imp += t.imported;
    }
    const genesis = genesisTotals.reduce((a, b) => a + b, 0);
    if (net !== genesis) add(`Σ(supply + escrowed − imported) = ${net} over the shards, genesis total ${genesis}`);
    if (undecided === 0 && esc !== imp) add(`every transfer decided but Σ escrowed ${esc} ≠ Σ imported ${imp}`);
  }
  return { violations, credited, aborted, undecided };
}

function sameStatus(a: TransferStatus, b: TransferStatus): boolean {
  return a.leg === b.leg && (a.output === null) === (b.output === null) && (a.output === null || (a.output.status === b.output!.status && a.output.arrived === b.output!.arrived && a.output.sum === b.output!.sum));
}

/** Whether status `b` can follow `a` as a shard's chain grows. */
function follows(a: TransferStatus, b: TransferStatus): boolean {
  const legOk = a.leg === null || a.leg === b.leg || (a.leg === ("escrowed" satisfies LegStatus) && b.leg === "refunded");
  if (!legOk) return false;
  if (a.output === null) return true;
  if (b.output === null) return false;
  if (a.output.status === b.output.status) return sameStatus({ leg: null, output: a.output }, { leg: null, output: b.output }) || a.output.status === "collecting";
  return a.output.status === "collecting" && (a.output.arrived & b.output.arrived) === a.output.arrived;
}

function show(s: TransferStatus): string {
  return `leg ${s.leg ?? "none"}, output ${s.output === null ? "none" : `${s.output.status}/${s.output.arrived}/${s.output.sum}`}`;
}
