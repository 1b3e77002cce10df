import { Bench } from "tinybench";
import { writeFileSync } from "node:fs";

/** One measured case. Cases with the same `group` are compared; the one marked `baseline` is the 1.00x row. */
export interface BenchCase {
  /** What is being compared, e.g. "sha256 1KiB" or "merkle root 2^16". */
  group: string;
  /** Contender, e.g. "wasm", "node", "noble", "blst". */
  backend: string;
  /** Problem size for tools (bytes, leaves, signers...). */
  size?: number;
  /** Work items per call (e.g. 64 hashes per level call): the table adds a per-item column. */
  items?: number;
  /** The row the group's ratios are computed against. */
  baseline?: boolean;
  /** The timed function. Setup belongs outside it; checking the result inside it keeps the work honest. */
  fn: () => unknown;
  /** Minimum iterations for this case, overriding the run's `--iterations` (e.g. 3 for a multi-second case). */
  iterations?: number;
  /** Warmup iterations for this case (tinybench defaults to 16, too many for a multi-second case). */
  warmupIterations?: number;
}

/** Machine-readable result row (`--json FILE`). Times in nanoseconds. */
export interface BenchResult {
  suite: string;
  group: string;
  name: string;
  backend: string;
  size: number | null;
  items: number;
  meanNs: number;
  p50Ns: number;
  opsPerSec: number;
  samples: number;
  /** baseline mean / this mean: > 1 means faster than the baseline. */
  speedupVsBaseline: number | null;
  /** Throughput rows only: payload bytes per second (`throughputResult`). */
  bytesPerSec?: number;
}

export interface BenchOptions {
  /** Milliseconds per case (tinybench `time`). */
  timeMs: number;
  /** Minimum iterations per case. */
  iterations: number;
  /** Only cases whose "group backend" contains this substring, ignoring case (`--filter qc` finds "QC build …"). */
  filter?: string;
}

/** Whether a case named `name` ("group backend") passes `filter` (see `BenchOptions.filter`). */
export function matchesFilter(name: string, filter: string | undefined): boolean {
  return filter === undefined || name.toLowerCase().includes(filter.toLowerCase());
}

/** Runs the cases one by one (never concurrently: this machine has 2 cores) and returns one row per case. */
export async function runCases(suite: string, cases: readonly BenchCase[], opts: BenchOptions): Promise<BenchResult[]> {
  const selected = cases.filter((c) => matchesFilter(`${c.group} ${c.backend}`, opts.filter));
  const rows: BenchResult[] = [];
  for (const c of selected) {
    const bench = new Bench({
      time: opts.timeMs,
      iterations: c.iterations ?? opts.iterations,
      warmupTime: Math.min(200, opts.timeMs / 4),
      ...(c.warmupIterations !== undefined ? { warmupIterations: c.warmupIterations } : {}),
    });
    bench.add(`${c.group} ${c.backend}`, c.fn);
    await bench.run();
    const task = bench.tasks[0]!;
    const r = task.result;
    if (r.state !== "completed") {
      const err = r.state === "errored" ? r.error : new Error(`benchmark ended in state ${r.state}`);
      throw new Error(`bench ${suite}: "${c.group} ${c.backend}" failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    rows.push({
      suite,
      group: c.group,
      name: `${c.group} ${c.backend}`,
      backend: c.backend,
      size: c.size ?? null,
      items: c.items ?? 1,
      meanNs: r.latency.mean * 1e6,
      p50Ns: r.latency.p50 * 1e6,
      opsPerSec: r.throughput.mean,
      samples: r.latency.samplesCount,
      speedupVsBaseline: null,
    });
    process.stderr.write(".");
  }
  process.stderr.write("\n");
  // Ratios against each group's baseline from the same run.
  for (const row of rows) {
    const base = rows.find((b) => b.group === row.group && selected.find((c) => c.group === b.group && c.backend === b.backend)?.baseline);
    if (base !== undefined) row.speedupVsBaseline = base.meanNs / row.meanNs;
  }
  return rows;
}

/** Formats a duration given in nanoseconds with a unit that keeps 3–4 significant digits. */
export function formatNs(ns: number): string {
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

/** A plain-text table: group, backend, mean, p50, ops/s, per-item time, ratio to the group's baseline. */
export function formatTable(rows: readonly BenchResult[]): string {
  const header = ["group", "backend", "mean", "p50", "ops/s", "per item", "vs baseline"];
  const body = rows.map((r) => [
    r.group,
    r.backend,
    formatNs(r.meanNs),
    formatNs(r.p50Ns),
    r.opsPerSec >= 100 ? Math.round(r.opsPerSec).toLocaleString("en-US") : r.opsPerSec.toFixed(2),
    r.items > 1 ? formatNs(r.meanNs / r.items) : "",
    r.speedupVsBaseline === null ? "" : `${r.speedupVsBaseline.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  ")];
  let prev = "";
  for (let i = 0; i < body.length; i++) {
    if (rows[i]!.group !== prev && i > 0) out.push("");
    prev = rows[i]!.group;
    out.push(line(body[i]!));
  }
  return out.join("\n") + "\n";
}

/** Writes results with enough context to compare runs (node version, cpu count, date). */
export function writeJson(file: string, suite: string, rows: readonly BenchResult[]): void {
  const doc = { suite, node: process.version, platform: `${process.platform}-${process.arch}`, date: new Date().toISOString(), results: rows };
  writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
}

/**
 * A result row for a throughput measurement (many messages per timed trial, not one call per sample): one trial moved
 * `messagesPerTrial` messages of `size` bytes in `trialSeconds[i]`. meanNs/p50Ns are per message; opsPerSec is
 * messages/s over all trials; bytesPerSec is payload bytes/s. `baseline` (a row of the same group) fills the ratio.
 */
export function throughputResult(
  suite: string,
  group: string,
  backend: string,
  size: number,
  messagesPerTrial: number,
  trialSeconds: readonly number[],
  baseline?: BenchResult,
): BenchResult {
  const total = trialSeconds.reduce((a, b) => a + b, 0);
  const perMsgNs = trialSeconds.map((s) => (s * 1e9) / messagesPerTrial).sort((a, b) => a - b);
  const meanNs = (total * 1e9) / (messagesPerTrial * trialSeconds.length);
  return {
    suite,
    group,
    name: `${group} ${backend}`,
    backend,
    size,
    items: 1,
    meanNs,
    p50Ns: perMsgNs[Math.floor((perMsgNs.length - 1) / 2)]!,
    opsPerSec: 1e9 / meanNs,
    samples: trialSeconds.length,
    speedupVsBaseline: baseline === undefined ? null : baseline.meanNs / meanNs,
    bytesPerSec: (1e9 / meanNs) * size,
  };
}

/**
 * A suite's own command-line flags, as the `quire bench` command parsed them (bench/ stands below src/cli/, so it
 * reads flags through this instead of importing the parser).
 */
export interface BenchFlags {
  /** An integer flag, or `def` when absent; the command refuses a non-integer value with a usage error. */
  int(name: string, def: number): number;
  /** One of `choices`, or `def` when absent; anything else is a usage error. */
  choice<T extends string>(name: string, choices: readonly T[], def: T): T;
}

/** What a benchmark module exports as `suite`: its own flags, and a runner that builds and runs its cases. */
export interface BenchSuite {
  readonly flags: readonly string[];
  run(flags: BenchFlags, opts: BenchOptions): Promise<BenchResult[]>;
}
