/**
 * Real node processes for end-to-end tests: a network written with the same code as `quire init` (free ports), each
 * node a `quire node --config` child process run by the shipping cluster runner (src/cli/localCluster.ts, what
 * `quire cluster` and `quire bench faults` use), with its output captured. Every process a test starts is stopped by
 * pid in `stopAll`, which the tests call from `after`/`finally`, so a failing test still leaves no process behind.
 * Every wait is a poll of an observable condition with a deadline (a hang guard), never a sleep standing in for
 * synchronisation.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { launchCluster } from "../../../src/cli/localCluster.js";
import type { ClusterChild, LocalCluster, LocalClusterOptions } from "../../../src/cli/localCluster.js";
import type { BlockPolicy } from "../../../src/node/config.js";
import type { NetworkLayout } from "../../../src/node/network.js";
import { RpcClient } from "../../../src/rpc/client.js";
import type { AuditReport } from "../../../src/cli/auditor.js";

export const BIN = fileURLToPath(new URL("../../../../bin/quire.js", import.meta.url));

/** A process a test started: a node (a `ClusterChild`) or any other command (`spawnQuire`, `spawnScript`). */
export interface NodeProcess {
  readonly index: number;
  readonly proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output: string;
  exitCode: number | null;
  exited: boolean;
  readonly exit: Promise<number | null>;
}

export interface TestNetwork {
  readonly dir: string;
  readonly cluster: LocalCluster;
  readonly genesisFile: string;
  readonly configFiles: readonly string[];
  readonly urls: readonly string[];
  readonly clients: readonly RpcClient[];
  readonly p2pPorts: readonly number[];
  /** The latest run of each node (`exited` once stopped or killed, until `startNode` replaces it). */
  readonly nodes: readonly ClusterChild[];
}

export interface StartNetworkOptions {
  /** Base view timeout of the genesis (back-off factor 2, capped at 8x); default the genesis default (1 s). */
  readonly baseTimeoutMs?: number;
  /** Extra `quire node` arguments every node starts (and restarts) with, e.g. `["--set", "mempool.maxTxs=8"]`. */
  readonly nodeArgs?: readonly string[];
  readonly block?: Partial<BlockPolicy>;
  /** Where the nodes run and are reached (network namespaces: support/netns.ts). */
  readonly hosts?: readonly string[];
  readonly rpcHosts?: readonly string[];
  readonly launcher?: (index: number) => readonly string[];
  /**
   * Put the network directory (stores included) on /dev/shm when this machine has it: fsyncs cost nothing there, for
   * tests about how many blocks get through rather than about durability.
   */
  readonly tmpfs?: boolean;
  /** Runs after the network is written, before any node starts (e.g. to rewrite a config: LocalClusterOptions.prepare). */
  readonly prepare?: (layout: NetworkLayout) => Promise<void>;
  /** Followers (src/node/follow/): `cluster.followers`; `followerOf` as LocalClusterOptions. */
  readonly followers?: number;
  readonly followerOf?: (k: number) => number | null;
  /** Validators outside genesis (LocalClusterOptions.spares): nodes n.., started with the others. */
  readonly spares?: number;
}

const live = new Set<ChildProcess>();

/** Spawns `command args` with output captured; registered for `stopAll`. */
export function spawnTracked(command: string, args: readonly string[], index = -1): NodeProcess {
  const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  const p: NodeProcess = {
    index,
    proc,
    output: "",
    exitCode: null,
    exited: false,
    exit: new Promise((resolve) =>
      proc.once("exit", (code) => {
        live.delete(proc);
        p.exited = true;
        p.exitCode = code;
        resolve(code);
      }),
    ),
  };
  proc.stdout!.on("data", (d: Buffer) => (p.output += d.toString("utf8")));
  proc.stderr!.on("data", (d: Buffer) => (p.output += d.toString("utf8")));
  return p;
}

/** Spawns `node bin/quire.js ...args` with output captured; registered for `stopAll`. */
export function spawnQuire(args: readonly string[], index = -1): NodeProcess {
  return spawnTracked(process.execPath, [BIN, ...args], index);
}

const clusters = new Set<LocalCluster>();

/**
 * Writes an n-validator network in a fresh temp dir (free ports, one BLS worker per node) and starts its nodes, with
 * `nodeArgs` after `--config` (config overrides: `["--set", "mempool.maxTxs=8"]`).
 */
export async function startNetwork(n: number, opts: StartNetworkOptions = {}): Promise<TestNetwork> {
  const base = opts.baseTimeoutMs;
  const shm = opts.tmpfs === true && existsSync("/dev/shm") ? await mkdtemp("/dev/shm/quire-e2e-") : undefined;
  const options: LocalClusterOptions = {
    validators: n,
    ...(shm !== undefined ? { dir: shm } : {}),
    logLevel: "info",
    output: "capture",
    ...(base !== undefined ? { consensus: { baseTimeoutMs: base, backoffFactor: 2, maxTimeoutMs: 8 * base } } : {}),
    ...(opts.nodeArgs !== undefined ? { nodeArgs: opts.nodeArgs } : {}),
    ...(opts.block !== undefined ? { block: opts.block } : {}),
    ...(opts.hosts !== undefined ? { hosts: opts.hosts } : {}),
    ...(opts.rpcHosts !== undefined ? { rpcHosts: opts.rpcHosts } : {}),
    ...(opts.launcher !== undefined ? { launcher: opts.launcher } : {}),
    ...(opts.prepare !== undefined ? { prepare: opts.prepare } : {}),
    ...(opts.followers !== undefined ? { followers: opts.followers } : {}),
    ...(opts.followerOf !== undefined ? { followerOf: opts.followerOf } : {}),
    ...(opts.spares !== undefined ? { spares: opts.spares } : {}),
  };
  const cluster = await launchCluster(options);
  clusters.add(cluster);
  return {
    dir: cluster.dir,
    cluster,
    genesisFile: cluster.genesisFile,
    configFiles: cluster.configFiles,
    urls: cluster.urls,
    clients: cluster.urls.map((url) => new RpcClient({ url, timeoutMs: 5_000 })),
    p2pPorts: cluster.configs.map((c) => c.p2p.port),
    nodes: cluster.children,
  };
}

/** Runs node `i` again from its config and data dir (`wipeData`: from an empty data dir). */
export function startNode(net: TestNetwork, i: number, opts: { wipeData?: boolean } = {}): Promise<ClusterChild> {
  return net.cluster.start(i, opts);
}

/** SIGKILL to node `i` by pid; resolves once it exited, after checking the signal is what ended it. */
export async function killNode(net: TestNetwork, i: number): Promise<void> {
  await net.cluster.kill(i);
  const c = net.nodes[i]!;
  if (c.proc.signalCode !== "SIGKILL") throw new Error(`node ${i} was not ended by SIGKILL (exit code ${c.exitCode}, signal ${c.proc.signalCode})\n${c.output.slice(-2000)}`);
}

/** Stops every process any test started (by pid) and removes the network directory. */
export async function stopAll(net: TestNetwork | undefined): Promise<void> {
  const procs = [...live];
  for (const p of procs) p.kill("SIGTERM");
  const stopping = [...clusters].map((c) => c.stop());
  clusters.clear();
  const deadline = Date.now() + 10_000;
  while (live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const p of live) p.kill("SIGKILL");
  await Promise.all(stopping);
  if (net !== undefined) await rm(net.dir, { recursive: true, force: true });
}

/** Polls `check` until it returns a value that is not undefined; throws after `timeoutMs` with `what` and `diag()`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, diag: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : ` (last error: ${String(last)})`}\n${diag()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until every listed node has committed at least `height`. */
export async function waitForHeight(net: TestNetwork, height: number, timeoutMs: number, nodes: readonly number[] = net.clients.map((_, i) => i)): Promise<void> {
  await until(
    `height ${height} on nodes ${nodes.join(",")}`,
    async () => {
      const s = await Promise.all(nodes.map((i) => net.clients[i]!.status()));
      return s.every((x) => x.committedHeight >= height) ? true : undefined;
    },
    timeoutMs,
    () => logs(net),
  );
}

/** The tail of every node's output, for failure messages. */
export function logs(net: TestNetwork): string {
  return net.nodes
    .map((p, i) => `--- node ${i} pid ${p.proc.pid}${p.exited ? ` exited ${p.exitCode ?? p.proc.signalCode}` : ""}\n${p.output.split("\n").slice(-15).join("\n")}`)
    .join("\n");
}

/** The committed height of each listed node, in order. */
export async function heightsOf(net: TestNetwork, nodes: readonly number[]): Promise<number[]> {
  return (await Promise.all(nodes.map((i) => net.clients[i]!.status()))).map((s) => s.committedHeight);
}

/** The highest view any of `nodes` is in, and its leader as that node's `/v1/status` names it. */
export async function currentLeader(net: TestNetwork, nodes: readonly number[]): Promise<{ view: number; leader: number }> {
  const s = await Promise.all(nodes.map((i) => net.clients[i]!.status()));
  const top = s.reduce((a, b) => (b.view > a.view ? b : a));
  return { view: top.view, leader: top.leader };
}

/** Every node index but the listed ones. */
export function allBut(net: TestNetwork, ...excluded: number[]): number[] {
  return net.nodes.map((_, i) => i).filter((i) => !excluded.includes(i));
}

/** What `quire audit --json` printed, with its exit code. */
export interface AuditRun {
  readonly exitCode: number | null;
  /** The JSON document on stdout (`AuditReport` plus `genesis`, or `{verdict, error}`); undefined if none parsed. */
  readonly report: (Partial<AuditReport> & { verdict: string; error?: { code: string; message: string } }) | undefined;
  readonly output: string;
}

/** Hang guard of one audit: a few thousand headers from four local nodes take seconds. */
const AUDIT_TIMEOUT_MS = 60_000;

/**
 * Runs `quire audit --rpc <urls> --json` as a process (with `--genesis` when given): the one place the tests call it.
 * `assertAudited(net)` is the usual check, which every fault test ends with.
 */
export async function runAudit(urls: readonly string[], opts: { genesisFile?: string; args?: readonly string[] } = {}): Promise<AuditRun> {
  const p = spawnQuire(["audit", "--rpc", urls.join(","), ...(opts.genesisFile !== undefined ? ["--genesis", opts.genesisFile] : []), "--json", ...(opts.args ?? [])]);
  await until("quire audit to finish", async () => (p.exited ? true : undefined), AUDIT_TIMEOUT_MS, () => p.output);
  const line = p.output.split("\n").find((l) => l.startsWith("{"));
  let report: AuditRun["report"];
  try {
    report = line === undefined ? undefined : (JSON.parse(line) as AuditRun["report"]);
  } catch {
    report = undefined;
  }
  return { exitCode: p.exitCode, report, output: p.output };
}

/**
 * The network's audit against its genesis file: exit 0, every listed node (default all) read, agreement on every
 * height from 0.
 */
export async function assertAudited(net: TestNetwork, nodes: readonly number[] = net.urls.map((_, i) => i)): Promise<AuditReport> {
  const run = await runAudit(
    nodes.map((i) => net.urls[i]!),
    { genesisFile: net.genesisFile },
  );
  if (run.exitCode !== 0 || run.report === undefined || run.report.verdict !== "agree") {
    throw new Error(`quire audit did not agree (exit ${run.exitCode}):\n${run.output.slice(-4000)}\n${logs(net)}`);
  }
  return run.report as AuditReport;
}
