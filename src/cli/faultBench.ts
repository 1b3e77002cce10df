/**
 * `quire bench faults`: what whole-process faults cost a running network (issue 10's targets), measured with real
 * processes — a local cluster (localCluster.ts) under an open-loop load (loadgen.ts), every node's committed-block
 * stream watched (`/v1/stream`), each commit timed when the first node reports it:
 *
 *   outage        blocks/s over a window before and during a `kill -9` of one validator (their ratio), then the time
 *                 from its restart until it has committed everything the others had committed one poll (50 ms) earlier;
 *   leader crash  the current leader (as `/v1/status` names it) killed with SIGKILL, repeatedly: the time from the kill
 *                 to the next commit, and the longest gap between two commits in one window after the kill (the
 *                 stall); each round restarts the leader and lets the network settle before the next.
 *
 * Prints a table (measured against the targets) and, with `--json FILE`, the same as JSON. Exit 0 when the run
 * completed (a missed target is a measurement, not an error), 1 when a node exited on its own.
 */
import { writeFile } from "node:fs/promises";
import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { LoadGenerator } from "./loadgen.js";
import { launchCluster, waitUntilCommitting } from "./localCluster.js";
import type { LocalCluster } from "./localCluster.js";
import { LOG_LEVELS } from "../node/config.js";
import { RpcClient } from "../rpc/client.js";
import type { NodeStatus } from "../rpc/api.js";
import { subscribeBlocks } from "../rpc/streamClient.js";
import type { BlockSubscription } from "../rpc/streamClient.js";

const USAGE = [
  "usage: quire bench faults [--validators N] [--load TX_PER_S] [--tx-size BYTES] [--window-s S] [--leader-rounds R]",
  "                          [--json FILE] [--keep] [--log-level debug|info|warn|error]",
  "  Starts a local N-validator cluster (default 4) under a load (default 450 tx/s of 128-byte puts), then measures",
  "  blocks/s before and during a kill -9 of one validator, the time from its restart until it is back at the tip,",
  "  and, R times (default 3), the time from a kill -9 of the current leader to the next commit and the longest",
  "  commit gap after it. Windows of S seconds (default 10). --keep keeps the cluster's directory (node logs, at",
  "  --log-level, default warn).",
].join("\n");

/** Issue 10's targets. */
const TARGETS = { outageRatio: 0.5, backAtTipMs: 5_000, leaderCrashMs: 1_000 } as const;
/** Quiet time before a measurement, so the previous fault's back-off and catch-up are over. */
const SETTLE_MS = 3_000;
const POLL_MS = 50;

export interface FaultBenchResult {
  readonly validators: number;
  readonly loadTxPerSec: number;
  readonly windowSeconds: number;
  readonly outage: {
    readonly victim: number;
    readonly blocksPerSecBefore: number;
    readonly blocksPerSecDuring: number;
    readonly ratio: number;
    readonly txPerSecBefore: number;
    readonly txPerSecDuring: number;
    /** Restart to its RPC answering (process start, store open, consensus resumed): part of `backAtTipMs`. */
    readonly rpcUpMs: number | null;
    /** Restart to back at the tip; null when it did not get there within a minute. */
    readonly backAtTipMs: number | null;
  };
  readonly leaderCrashes: readonly { readonly leader: number; readonly view: number; readonly nextCommitMs: number | null; readonly longestGapMs: number }[];
}

/** First time (performance.now()) any node reported each height, and each height's tx count. */
class CommitWatch {
  readonly firstSeen = new Map<number, number>();
  readonly txs = new Map<number, number>();
  private readonly subs = new Map<number, BlockSubscription>();

  constructor(private readonly urls: readonly string[]) {}

  /** (Re)subscribes to node `i`'s stream (after a restart the old subscription is closed). */
  watch(i: number): void {
    this.subs.get(i)?.close();
    this.subs.set(
      i,
      subscribeBlocks(this.urls[i]!, {
        onBlock: (b) => {
          const h = b.header.height;
          if (!this.firstSeen.has(h)) {
            this.firstSeen.set(h, performance.now());
            this.txs.set(h, b.txCount);
          }
        },
        // A killed node's stream errors and closes: the others' streams carry on.
        onError: () => {},
      }),
    );
  }

  /** Commit times in [from, to), ascending. */
  between(from: number, to: number): number[] {
    return [...this.firstSeen.values()].filter((t) => t >= from && t < to).sort((a, b) => a - b);
  }

  txsBetween(from: number, to: number): number {
    let n = 0;
    for (const [h, t] of this.firstSeen) if (t >= from && t < to) n += this.txs.get(h) ?? 0;
    return n;
  }

  close(): void {
    for (const s of this.subs.values()) s.close();
  }
}

export async function faultBenchCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["keep", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["validators", "load", "tx-size", "window-s", "leader-rounds", "json", "keep", "log-level", "help"]);
  if (args.positional.length > 0) throw new UsageError(USAGE);
  const n = intFlag(args, "validators", 4)!;
  if (n < 4 || n > 16) throw new UsageError("--validators must be in [4, 16]: a crash must leave a quorum");
  const rate = intFlag(args, "load", 450)!;
  const txBytes = intFlag(args, "tx-size", 128)!;
  if (txBytes < 48 || txBytes > 65_536) throw new UsageError("--tx-size must be in [48, 65536]");
  const windowMs = intFlag(args, "window-s", 10)! * 1000;
  if (windowMs < 1000) throw new UsageError("--window-s must be at least 1");
  const rounds = intFlag(args, "leader-rounds", 3)!;
  const jsonFile = stringFlag(args, "json");
  const keep = args.flags.has("keep");
  const logLevel = choiceFlag(args, "log-level", LOG_LEVELS, "warn");
  const out = (s: string) => process.stdout.write(s + "\n");

  // A node exiting other than by our kill makes the figures meaningless: say so instead of printing them.
  let crashed: string | null = null;
  let killing = -1;
  let stopping = false;
  const cluster = await launchCluster({
    validators: n,
    logLevel,
    onExit: (i, code, logFile) => {
      if (i !== killing && !stopping) crashed ??= `node ${i} exited with ${code} on its own; see ${logFile}`;
    },
  });
  const kill = async (i: number) => {
    killing = i;
    await cluster.kill(i);
  };
  const restart = async (i: number) => {
    await cluster.start(i);
    killing = -1;
  };
  const watch = new CommitWatch(cluster.urls);
  const load = rate > 0 ? new LoadGenerator({ urls: cluster.urls, rate, txBytes, batch: Math.max(1, Math.ceil(rate / 20)), trackIds: false }) : null;
  try {
    await waitUntilCommitting(cluster);
    out(`quire bench faults: ${n} validators in ${cluster.dir}, load ${rate} tx/s of ${txBytes} B, windows of ${windowMs / 1000} s`);
    cluster.urls.forEach((_, i) => watch.watch(i));
    load?.start();
    await sleep(SETTLE_MS);

    const clients = cluster.urls.map((url) => new RpcClient({ url, timeoutMs: 1_000 }));

    // Outage: one validator down for a window.
    const victim = n - 1;
    const t0 = performance.now();
    await sleep(windowMs);
    const tKill = performance.now();
    await kill(victim);
    await sleep(windowMs);
    const tRestart = performance.now();
    await restart(victim);
    const back = await untilBackAtTip(clients, victim, tRestart);
    watch.watch(victim);
    const before = watch.between(t0, tKill).length / (windowMs / 1000);
    const during = watch.between(tKill, tRestart).length / ((tRestart - tKill) / 1000);
    const outage = {
      victim,
      blocksPerSecBefore: round2(before),
      blocksPerSecDuring: round2(during),
      ratio: round2(before === 0 ? 0 : during / before),
      txPerSecBefore: Math.round(watch.txsBetween(t0, tKill) / (windowMs / 1000)),
      txPerSecDuring: Math.round(watch.txsBetween(tKill, tRestart) / ((tRestart - tKill) / 1000)),
      rpcUpMs: back.rpcUpMs === null ? null : Math.round(back.rpcUpMs),
      backAtTipMs: back.backAtTipMs === null ? null : Math.round(back.backAtTipMs),
    };
    out(`outage: ${outage.blocksPerSecBefore} → ${outage.blocksPerSecDuring} blocks/s while node ${victim} was down; after its restart its RPC answered in ${fmtMs(outage.rpcUpMs)}, back at the tip in ${fmtMs(outage.backAtTipMs)}`);

    // Leader crashes.
    const leaderCrashes: FaultBenchResult["leaderCrashes"][number][] = [];
    for (let r = 0; r < rounds; r++) {
      await sleep(SETTLE_MS);
      const live = (await Promise.all(clients.map((c) => c.status().catch(() => null)))).filter((s): s is NodeStatus => s !== null);
      if (live.length === 0) throw new UsageError(`no node answers its RPC; logs in ${cluster.dir}`);
      const top = live.reduce((a, b) => (b.view > a.view ? b : a));
      const leader = top.leader;
      const tk = performance.now();
      await kill(leader);
      await sleep(windowMs);
      const lastBefore = watch.between(0, tk).pop() ?? tk;
      const after = watch.between(tk, tk + windowMs);
      const times = [lastBefore, ...after, ...(after.length === 0 ? [tk + windowMs] : [])];
      let gap = 0;
      for (let k = 1; k < times.length; k++) gap = Math.max(gap, times[k]! - times[k - 1]!);
      const tr = performance.now();
      await restart(leader);
      await untilBackAtTip(clients, leader, tr);
      watch.watch(leader);
      const crash = { leader, view: top.view, nextCommitMs: after.length === 0 ? null : Math.round(after[0]! - tk), longestGapMs: Math.round(gap) };
      leaderCrashes.push(crash);
      out(`leader crash ${r + 1}/${rounds}: node ${leader} (view ${crash.view}) killed; next commit ${fmtMs(crash.nextCommitMs)} later, longest commit gap ${fmtMs(crash.longestGapMs)}`);
    }
    if (crashed !== null) throw new UsageError(crashed);

    const result: FaultBenchResult = { validators: n, loadTxPerSec: rate, windowSeconds: windowMs / 1000, outage, leaderCrashes };
    out("");
    out(formatFaultTable(result));
    if (jsonFile !== undefined) await writeFile(jsonFile, JSON.stringify({ suite: "faults", node: process.version, date: new Date().toISOString(), targets: TARGETS, result }, null, 2) + "\n");
    return 0;
  } finally {
    watch.close();
    await load?.stop();
    stopping = true;
    await cluster.stop();
    if (keep) out(`cluster directory kept: ${cluster.dir}`);
    else await removeQuietly(cluster);
  }
}

/**
 * Polls every node; resolves with the times from `since` to the first poll at which node `i` answered its RPC (the
 * process is up) and to the first at which it has committed at least the highest height the others reported in the
 * poll before (back at the tip). Null when that takes more than a minute.
 */
async function untilBackAtTip(clients: readonly RpcClient[], i: number, since: number): Promise<{ rpcUpMs: number | null; backAtTipMs: number | null }> {
  let tip = Infinity;
  let rpcUpMs: number | null = null;
  const deadline = since + 60_000;
  while (performance.now() < deadline) {
    const s = await Promise.all(clients.map((c) => c.status().catch(() => null)));
    const mine = s[i]?.committedHeight;
    if (mine !== undefined) rpcUpMs ??= performance.now() - since;
    if (mine !== undefined && mine >= tip) return { rpcUpMs, backAtTipMs: performance.now() - since };
    const others = s.filter((x, k): x is NodeStatus => x !== null && k !== i).map((x) => x.committedHeight);
    if (others.length > 0) tip = Math.max(...others);
    await sleep(POLL_MS);
  }
  return { rpcUpMs, backAtTipMs: null };
}

/** The result as a table, each figure beside its target. */
export function formatFaultTable(r: FaultBenchResult): string {
  const o = r.outage;
  const median = (xs: readonly number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? null : s[Math.floor((s.length - 1) / 2)]!;
  };
  const next = r.leaderCrashes.map((c) => c.nextCommitMs ?? Infinity);
  const gaps = r.leaderCrashes.map((c) => c.longestGapMs);
  const verdict = (ok: boolean) => (ok ? "met" : "missed");
  const rows: [string, string, string, string][] = [
    ["blocks/s before the outage", `${o.blocksPerSecBefore} (${o.txPerSecBefore} tx/s)`, "", ""],
    [`blocks/s during kill -9 of node ${o.victim}`, `${o.blocksPerSecDuring} (${o.txPerSecDuring} tx/s)`, "", ""],
    ["during / before", `${Math.round(o.ratio * 100)} %`, `>= ${TARGETS.outageRatio * 100} %`, verdict(o.ratio >= TARGETS.outageRatio)],
    ["restart -> back at the tip", fmtMs(o.backAtTipMs), `<= ${TARGETS.backAtTipMs / 1000} s`, verdict(o.backAtTipMs !== null && o.backAtTipMs <= TARGETS.backAtTipMs)],
    ["  of which restart -> RPC answering", fmtMs(o.rpcUpMs), "", ""],
  ];
  if (r.leaderCrashes.length > 0) {
    const nm = median(next)!;
    const worst = Math.max(...next);
    rows.push([`leader kill -> next commit (median/max of ${next.length})`, `${fmtMs(nm)} / ${fmtMs(worst)}`, `<= ${TARGETS.leaderCrashMs / 1000} s`, verdict(worst <= TARGETS.leaderCrashMs)]);
    rows.push([`leader kill -> longest commit gap (median/max)`, `${fmtMs(median(gaps))} / ${fmtMs(Math.max(...gaps))}`, `<= ${TARGETS.leaderCrashMs / 1000} s`, verdict(Math.max(...gaps) <= TARGETS.leaderCrashMs)]);
  }
  const head: [string, string, string, string] = ["measure", "measured", "target", ""];
  const width = (k: number) => Math.max(...[head, ...rows].map((row) => row[k]!.length));
  return [head, ...rows].map((row) => row.map((c, k) => c.padEnd(width(k))).join("  ").trimEnd()).join("\n");
}

function fmtMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "none";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function removeQuietly(cluster: LocalCluster): Promise<void> {
  try {
    await cluster.remove();
  } catch {
    // A leftover temporary directory is not worth failing a measurement over.
  }
}
