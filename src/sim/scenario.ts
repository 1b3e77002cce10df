/**
 * Scenarios: what goes wrong in a simulated run, drawn from a seed. Kinds combine freely ("crash-restart,partition,
 * lossy"); "random" draws a combination per seed. Everything is expressed as a plan (`ScenarioPlan`) fixed before
 * the run starts, so a run is a pure function of (config, seed).
 *
 * Timeline: before GST (global stabilisation time) anything goes — partitions, loss, long delays, crashes and
 * restarts. From GST on the network is synchronous: partitions healed, no loss, every delay at most `deltaMs`
 * (duplication and reordering within that bound continue), and every crash-restarted replica is back up. Liveness
 * is only required after GST and only with at most f faulty validators (crash-stopped or Byzantine).
 */
import type { PacemakerConfig } from "../consensus/pacemaker.js";
import { maxFaulty } from "../domain/quorum.js";
import { SeededRng } from "../util/rng.js";
import type { LinkFaults } from "../net/faults.js";

export const SCENARIO_KINDS = [
  "happy",
  "lossy",
  "partition",
  "crash-stop",
  "crash-restart",
  "equivocation",
  "double-vote",
  "twins",
  "bad-signatures",
  "withhold",
  "stale-justify",
  "inflated-justify",
  "lying-sync",
  "bad-exec",
  "forged-tc",
  "forged-proposal",
] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];

/** How a Byzantine validator misbehaves. */
export type Behaviour =
  /** As leader, sends one block to half of the replicas and a different block to the other half. */
  | "equivocate"
  /** Votes for the block it received and also for a different hash, to the same next leader. */
  | "double-vote"
  /** Runs as two independent honest instances with the same key (DiemBFT Twins). */
  | "twin"
  /** Sends its votes with a corrupted signature (caught by validation, or by the collector's bisection). */
  | "bad-vote"
  /** As leader, shows its proposal to at most f + 1 replicas. */
  | "withhold-proposal"
  /** As leader, sometimes builds on an older certified block, justified by that block's real (stale) QC. */
  | "stale-qc"
  /** As leader, justifies with a certificate claiming a higher view than it has (or a forged aggregate). */
  | "inflated-qc"
  /** Answers sync requests with a forged QC aggregate, a block whose txs do not match its root, or nothing. */
  | "lying-sync"
  /** As leader, proposes blocks that claim a wrong execution outcome of their parent (state root or result bitmap). */
  | "bad-exec"
  /**
   * Forges timeout certificates: from 2f honest timeouts of a view v it receives plus one of its own that claims a high
   * QC of view v − 1 (above every honest claim), it builds a TC carrying only the honest replicas' best QC and broadcasts
   * it at once. To make such views happen and keep the claim unbacked it also withholds its proposals, its own
   * timeouts and every certificate it would hand out. Before TCs carried their QC this stalled the next leader.
   */
  | "forged-tc"
  /**
   * Forges proposals for other leaders: on each proposal it receives from another validator it sends every replica a
   * different block of that view that still names the leader as proposer, signed with its own key (it cannot make the
   * leader's signature). Before proposals were signed the link was the origin and such a message read as WRONG_SENDER;
   * now relays are accepted, so only the signature check (BAD_PROPOSAL_SIGNATURE) stands between it and a framed
   * leader or a block the leader never made.
   */
  | "forge-proposal";

export interface CrashPlan {
  readonly instance: number;
  readonly atMs: number;
  /** Null for crash-stop. */
  readonly restartAtMs: number | null;
  /** The crash happens at or after `atMs`, just before the instance's next IO operation after this many more. */
  readonly cutAfterIo: number;
}

export interface PartitionPlan {
  readonly fromMs: number;
  readonly toMs: number;
  /** Instance groups; instances in different groups cannot talk. */
  readonly groups: readonly (readonly number[])[];
}

export interface ScenarioPlan {
  readonly kinds: readonly ScenarioKind[];
  readonly validators: number;
  /** Validator index of each instance: 0..n-1 are the validators, instances beyond n are twins. */
  readonly validatorOf: readonly number[];
  readonly byzantine: ReadonlyMap<number, Behaviour>;
  readonly crashes: readonly CrashPlan[];
  readonly partitions: readonly PartitionPlan[];
  readonly gstMs: number;
  readonly preGst: LinkFaults;
  readonly postGst: LinkFaults;
  /** Largest one-way delay after GST. */
  readonly deltaMs: number;
  readonly pacemaker: PacemakerConfig;
  /** After GST, every live honest replica must commit within this much virtual time, and keep doing so. */
  readonly livenessBoundMs: number;
  /**
   * Optimistic vote collection: validation leaves vote signatures to the collector, which checks the aggregate once
   * and bisects on failure (DESIGN §3). Drawn per seed, so both paths run in every sweep.
   */
  readonly optimisticVotes: boolean;
}

export interface PlanOptions {
  readonly validators: number;
  readonly kinds: readonly ScenarioKind[] | "random";
  /** Byzantine validators (equivocating, double-voting, twins). Default: drawn within the fault budget. */
  readonly byzantine?: number;
  /** Fixed one-way link delay for "happy" (default 10 ms). */
  readonly happyDelayMs?: number;
}

/**
 * Timers: a view after a QC needs a proposal and a vote (2Δ, Δ <= 50 ms here) plus a block fetch when a replica
 * missed the parent (another 2Δ); 300 ms leaves room for both. Doubling up to 2.4 s (three doublings) keeps
 * recovery after GST within a few seconds even when replicas start far apart in view.
 */
export const SIM_PACEMAKER: PacemakerConfig = { baseTimeoutMs: 300, backoffFactor: 2, maxTimeoutMs: 2_400 };

/**
 * Liveness bound after GST. Measured worst first commit after GST over 10,000 random seeds at most f faulty: 7.0 s
 * for n = 4 and 12.1 s for n = 7 (`quire sim --validators N --seeds 10000 --scenario random --views 30`); the bound
 * leaves room for several more views with a crashed or equivocating leader at capped timers on top of that.
 */
export const SIM_LIVENESS_BOUND_MS = 30_000;

const MAX_DELTA_MS = 50;

/** The kinds of the first soak, in their drawing order (a random plan draws these from the main stream). */
const ORIGINAL_KINDS: readonly ScenarioKind[] = ["happy", "lossy", "partition", "crash-stop", "crash-restart", "equivocation", "double-vote", "twins"];

/** Byzantine kinds drawn (one at most) into random plans since the simulator runs the shipping shell. */
const LATER_BYZANTINE_KINDS: readonly ScenarioKind[] = ["withhold", "stale-justify", "inflated-justify", "lying-sync", "bad-exec"];

/** Draws a concrete plan. Throws RangeError on impossible options (e.g. more Byzantine validators than validators). */
export function planScenario(rng: SeededRng, opts: PlanOptions): ScenarioPlan {
  const n = opts.validators;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`validators must be >= 1, got ${n}`);
  const f = maxFaulty(n);
  // Draws added after the first soak come from a second stream, so every earlier seed keeps its plan.
  const extra = new SeededRng((rng.seed ^ 0x6a09e667) >>> 0);
  let kinds: ScenarioKind[];
  if (opts.kinds === "random") {
    kinds = ORIGINAL_KINDS.filter((k) => k !== "happy" && rng.chance(0.4));
    if (kinds.length === 0) kinds = [rng.pick(ORIGINAL_KINDS)];
    if (extra.chance(0.2)) kinds.push("bad-signatures");
    // The behaviours added with the shared shell: a third stream, so the earlier plans stay as they were.
    const later = new SeededRng((rng.seed ^ 0x3c6ef372) >>> 0);
    if (later.chance(0.3)) kinds.push(later.pick(LATER_BYZANTINE_KINDS));
    // Kinds added since, each from a stream of its own (same reason).
    if (new SeededRng((rng.seed ^ 0xa54ff53a) >>> 0).chance(0.1)) kinds.push("forged-tc");
    if (new SeededRng((rng.seed ^ 0x510e527f) >>> 0).chance(0.1)) kinds.push("forged-proposal");
  } else {
    kinds = [...opts.kinds];
  }
  const has = (k: ScenarioKind): boolean => kinds.includes(k);
  const byzKinds: Behaviour[] = [];
  if (has("equivocation")) byzKinds.push("equivocate");
  if (has("double-vote")) byzKinds.push("double-vote");
  if (has("twins")) byzKinds.push("twin");
  if (has("bad-signatures")) byzKinds.push("bad-vote");
  if (has("withhold")) byzKinds.push("withhold-proposal");
  if (has("stale-justify")) byzKinds.push("stale-qc");
  if (has("inflated-justify")) byzKinds.push("inflated-qc");
  if (has("lying-sync")) byzKinds.push("lying-sync");
  if (has("bad-exec")) byzKinds.push("bad-exec");
  if (has("forged-tc")) byzKinds.push("forged-tc");
  if (has("forged-proposal")) byzKinds.push("forge-proposal");

  // Byzantine validators: as many as asked, or one per Byzantine kind within the budget.
  let byzCount = opts.byzantine ?? (byzKinds.length === 0 ? 0 : Math.min(f, rng.range(1, Math.max(1, byzKinds.length))));
  if (byzCount > n) throw new RangeError(`--byzantine ${byzCount} exceeds --validators ${n}`);
  if (byzCount > 0 && byzKinds.length === 0) {
    // Asked for Byzantine validators without naming a behaviour: draw behaviours.
    byzKinds.push("equivocate", "double-vote", "twin");
    if (!has("twins")) kinds.push("twins");
  }
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const byzantine = new Map<number, Behaviour>();
  for (let i = 0; i < byzCount; i++) byzantine.set(order[i]!, byzKinds.length === 1 || i < byzKinds.length ? byzKinds[i % byzKinds.length]! : rng.pick(byzKinds));
  const honest = order.slice(byzCount);

  const validatorOf = Array.from({ length: n }, (_, i) => i);
  for (const [v, b] of byzantine) if (b === "twin") validatorOf.push(v);
  const instances = validatorOf.length;

  const gstMs = kinds.every((k) => k === "happy") ? 0 : rng.range(500, 4_000);
  const deltaMs = has("happy") && kinds.length === 1 ? (opts.happyDelayMs ?? 10) : rng.range(2, MAX_DELTA_MS);
  const postGst: LinkFaults = {
    delay: has("happy") && kinds.length === 1 ? { kind: "fixed", ms: deltaMs } : { kind: "uniform", minMs: 1, maxMs: deltaMs },
    loss: 0,
    duplicate: has("lossy") ? rng.float() * 0.1 : 0,
    reorder: has("lossy") ? rng.float() * 0.2 : 0,
    // Reordered messages stay within the post-GST delay bound.
    reorderExtraMs: 0,
  };
  const preGst: LinkFaults = has("lossy")
    ? { delay: { kind: "uniform", minMs: 1, maxMs: rng.range(20, 400) }, loss: rng.float() * 0.3, duplicate: rng.float() * 0.2, reorder: rng.float() * 0.3, reorderExtraMs: rng.range(0, 300) }
    : postGst;

  const crashes: CrashPlan[] = [];
  // Crash-stop uses what is left of the fault budget after the Byzantine validators.
  if (has("crash-stop")) {
    const budget = Math.max(0, f - byzCount);
    const count = budget === 0 ? 0 : rng.range(1, budget);
    for (let i = 0; i < count && honest.length > 0; i++) {
      const instance = honest.pop()!;
      crashes.push({ instance, atMs: rng.range(0, gstMs + 2_000), restartAtMs: null, cutAfterIo: rng.range(0, 4) });
    }
  }
  if (has("crash-restart")) {
    // Honest replicas crash and come back before GST; any number of them (they are not faulty after GST).
    const count = rng.range(1, Math.max(1, honest.length));
    const victims = rng.shuffle([...honest]).slice(0, count);
    for (const instance of victims) {
      const times = rng.range(1, 2);
      let t = 0;
      for (let k = 0; k < times; k++) {
        const atMs = rng.range(t, Math.max(t, gstMs - 200));
        const restartAtMs = Math.min(gstMs, atMs + rng.range(50, 2_000));
        crashes.push({ instance, atMs, restartAtMs, cutAfterIo: rng.range(0, 4) });
        t = restartAtMs + 1;
        if (t >= gstMs) break;
      }
    }
  }

  const partitions: PartitionPlan[] = [];
  if (has("partition")) {
    const phases = rng.range(1, 3);
    let t = 0;
    for (let k = 0; k < phases && t < gstMs; k++) {
      const fromMs = rng.range(t, gstMs);
      const toMs = Math.min(gstMs, fromMs + rng.range(100, 3_000));
      partitions.push({ fromMs, toMs, groups: randomGroups(rng, instances) });
      t = toMs;
    }
  }
  if (has("twins") && [...byzantine.values()].includes("twin")) {
    // The Twins attack: honest replicas split in two, each twin pair split across the halves.
    const fromMs = rng.range(0, Math.max(0, gstMs - 600));
    const toMs = Math.min(gstMs, fromMs + rng.range(500, 3_000));
    const h = rng.shuffle(honest.filter((i) => !crashes.some((c) => c.instance === i && c.restartAtMs === null)));
    const half = Math.ceil(h.length / 2);
    const a: number[] = h.slice(0, half);
    const b: number[] = h.slice(half);
    for (let i = n; i < instances; i++) {
      a.push(validatorOf[i]!);
      b.push(i);
    }
    // Everyone else (other Byzantine validators, crash-stopped replicas) stays with the first half.
    for (let i = 0; i < n; i++) if (!a.includes(i) && !b.includes(i)) a.push(i);
    partitions.push({ fromMs, toMs, groups: [a, b] });
  }

  return {
    kinds,
    validators: n,
    validatorOf,
    byzantine,
    crashes,
    partitions,
    gstMs,
    preGst,
    postGst,
    deltaMs,
    pacemaker: SIM_PACEMAKER,
    livenessBoundMs: SIM_LIVENESS_BOUND_MS,
    optimisticVotes: extra.chance(0.5),
  };
}

/** Splits instances into 2 or 3 non-empty groups. */
function randomGroups(rng: SeededRng, instances: number): number[][] {
  const k = Math.min(instances, rng.range(2, 3));
  const ids = rng.shuffle(Array.from({ length: instances }, (_, i) => i));
  const groups: number[][] = Array.from({ length: k }, () => []);
  ids.forEach((id, i) => groups[i < k ? i : rng.int(k)]!.push(id));
  return groups;
}

/** Faulty validators for the liveness budget: Byzantine ones plus crash-stopped ones. */
export function faultyValidators(plan: ScenarioPlan): Set<number> {
  const out = new Set<number>(plan.byzantine.keys());
  for (const c of plan.crashes) if (c.restartAtMs === null) out.add(plan.validatorOf[c.instance]!);
  return out;
}

/** One line describing a plan (for failure reports). */
export function describePlan(plan: ScenarioPlan): string {
  const byz = [...plan.byzantine].map(([v, b]) => `${v}:${b}`).join(" ");
  const crashes = plan.crashes.map((c) => `${c.instance}@${c.atMs}${c.restartAtMs === null ? "(stop)" : `->${c.restartAtMs}`}+${c.cutAfterIo}`).join(" ");
  const parts = plan.partitions.map((p) => `${p.fromMs}-${p.toMs}:${p.groups.map((g) => `[${g.join(",")}]`).join("")}`).join(" ");
  const pre = plan.preGst;
  return [
    `kinds=${plan.kinds.join(",")}`,
    `n=${plan.validators} instances=${plan.validatorOf.length}`,
    `gst=${plan.gstMs}ms delta=${plan.deltaMs}ms`,
    `votes=${plan.optimisticVotes ? "optimistic" : "verified"}`,
    `preGst(loss=${pre.loss.toFixed(2)} dup=${pre.duplicate.toFixed(2)} reorder=${pre.reorder.toFixed(2)})`,
    byz ? `byzantine=${byz}` : "",
    crashes ? `crashes=${crashes}` : "",
    parts ? `partitions=${parts}` : "",
  ]
    .filter((s) => s !== "")
    .join(" ");
}
