/**
 * Real node processes on 127.0.0.1 for end-to-end tests: a network written with the same code as `quire init` (free
 * ports), each node a `quire node --config` child process. Everything a test starts is registered and stopped by pid
 * in `stopAll`, which the tests call from `after`, so a failing test still leaves no process behind. Every wait is a
 * poll of an observable condition with a deadline (a hang guard), never a sleep standing in for synchronisation.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { writeNetwork } from "../../../src/node/network.js";
import type { NetworkLayout } from "../../../src/node/network.js";
import { freePorts } from "../../../src/node/ports.js";
import { RpcClient } from "../../../src/rpc/client.js";
import type { AuditReport } from "../../../src/cli/auditor.js";

export const BIN = fileURLToPath(new URL("../../../../bin/quire.js", import.meta.url));

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
  readonly layout: NetworkLayout;
  readonly urls: readonly string[];
  readonly clients: readonly RpcClient[];
  readonly p2pPorts: readonly number[];
  /** Extra `quire node` arguments every node starts (and restarts) with, e.g. `--set mempool.maxTxs=8`. */
  readonly nodeArgs: readonly string[];
  nodes: (NodeProcess | null)[];
}

const live = new Set<ChildProcess>();

/** Spawns `node bin/quire.js ...args` with output captured; registered for `stopAll`. */
export function spawnQuire(args: readonly string[], index = -1): NodeProcess {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
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

/**
 * Writes an n-validator network in a fresh temp dir (free ports, one BLS worker per node) and starts every node, with
 * `nodeArgs` after `--config` (config overrides: `["--set", "mempool.maxTxs=8"]`).
 */
export async function startNetwork(n: number, opts: { baseTimeoutMs?: number; nodeArgs?: readonly string[] } = {}): Promise<TestNetwork> {
  const dir = await mkdtemp(join(tmpdir(), "quire-e2e-"));
  const ports = await freePorts(2 * n);
  const spec = Array.from({ length: n }, (_, i) => ({ p2p: ports[2 * i]!, rpc: ports[2 * i + 1]! }));
  const layout = await writeNetwork(
    {
      validators: n,
      dir,
      ports: spec,
      blsWorkers: 1,
      ...(opts.baseTimeoutMs !== undefined ? { consensus: { baseTimeoutMs: opts.baseTimeoutMs, backoffFactor: 2, maxTimeoutMs: 8 * opts.baseTimeoutMs } } : {}),
    },
    await loadBlsBackend("blst"),
  );
  const net: TestNetwork = {
    dir,
    layout,
    urls: layout.rpcUrls,
    clients: layout.rpcUrls.map((url) => new RpcClient({ url, timeoutMs: 5_000 })),
    p2pPorts: spec.map((s) => s.p2p),
    nodeArgs: opts.nodeArgs ?? [],
    nodes: [],
  };
  for (let i = 0; i < n; i++) net.nodes.push(startNode(net, i));
  return net;
}

export function startNode(net: TestNetwork, i: number): NodeProcess {
  return spawnQuire(["node", "--config", net.layout.configFiles[i]!, ...net.nodeArgs], i);
}

/** SIGTERM by pid; resolves with the exit code (SIGKILL after `graceMs`, then the code is null). */
export async function stopNode(p: NodeProcess, graceMs = 10_000): Promise<number | null> {
  if (p.exited) return p.exitCode;
  p.proc.kill("SIGTERM");
  const timer = setTimeout(() => p.proc.kill("SIGKILL"), graceMs);
  const code = await p.exit;
  clearTimeout(timer);
  return code;
}

/** Stops every process any test started (by pid) and removes the network directory. */
export async function stopAll(net: TestNetwork | undefined): Promise<void> {
  const procs = [...live];
  for (const p of procs) p.kill("SIGTERM");
  const deadline = Date.now() + 10_000;
  while (live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const p of live) p.kill("SIGKILL");
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
    .map((p, i) => `--- node ${i}${p === null ? " (not running)" : ` pid ${p.proc.pid}${p.exited ? ` exited ${p.exitCode}` : ""}`}\n${p?.output.split("\n").slice(-15).join("\n") ?? ""}`)
    .join("\n");
}

/** What `quire audit --json` printed, with its exit code. */
export interface AuditRun {
  readonly exitCode: number | null;
  /** The JSON document on stdout (`AuditReport` plus `genesis`, or `{verdict, error}`); undefined if none parsed. */
  readonly report: (Partial<AuditReport> & { verdict: string; error?: { code: string; message: string } }) | undefined;
  readonly output: string;
}

/**
 * Runs `quire audit --rpc <urls> --json` as a process (with `--genesis` when given): what every fault test ends with.
 * `assertAgree(run)` is the usual check.
 */
export async function runAudit(urls: readonly string[], opts: { genesisFile?: string; args?: readonly string[] } = {}): Promise<AuditRun> {
  const p = spawnQuire(["audit", "--rpc", urls.join(","), ...(opts.genesisFile !== undefined ? ["--genesis", opts.genesisFile] : []), "--json", ...(opts.args ?? [])]);
  await p.exit;
  const line = p.output.split("\n").find((l) => l.startsWith("{"));
  let report: AuditRun["report"];
  try {
    report = line === undefined ? undefined : (JSON.parse(line) as AuditRun["report"]);
  } catch {
    report = undefined;
  }
  return { exitCode: p.exitCode, report, output: p.output };
}

/** The network's audit against its genesis file: exit 0, every node read, agreement on every height from 0. */
export async function assertAudited(net: TestNetwork): Promise<AuditReport> {
  const run = await runAudit(net.urls, { genesisFile: net.layout.genesisFile });
  if (run.exitCode !== 0 || run.report === undefined || run.report.verdict !== "agree") {
    throw new Error(`quire audit did not agree (exit ${run.exitCode}):\n${run.output.slice(-4000)}\n${logs(net)}`);
  }
  return run.report as AuditReport;
}
