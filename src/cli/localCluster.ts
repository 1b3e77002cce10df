/**
 * A local network of `quire node` child processes: what `quire cluster` runs and `quire load --cluster N` measures
 * against. The network lives in a fresh temporary directory (free ports) or a given one (resumed when it already
 * holds a genesis). Children are stopped by pid: SIGTERM, then SIGKILL after a grace period.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "./args.js";
import { loadBlsBackend } from "../crypto/bls/backend.js";
import { loadNodeConfig } from "../node/config.js";
import type { LogLevel, NodeConfig } from "../node/config.js";
import { writeNetwork } from "../node/network.js";
import type { NetworkLayout } from "../node/network.js";
import { freePorts } from "../node/ports.js";

const BIN = fileURLToPath(new URL("../../../bin/quire.js", import.meta.url));
/** Children get this long to exit after SIGTERM before they are killed. */
const STOP_GRACE_MS = 10_000;

export interface ClusterChild {
  readonly index: number;
  readonly proc: ChildProcess;
  readonly logFile: string;
  exited: boolean;
  readonly exit: Promise<number | null>;
}

export interface LocalClusterOptions {
  readonly validators: number;
  /** Default: a fresh temporary directory (which `remove()` deletes). */
  readonly dir?: string;
  readonly basePort?: number;
  readonly logLevel: LogLevel;
  /** A child exited (called for every exit, expected or not: the caller knows whether it was stopping). */
  readonly onExit?: (index: number, code: number | null, logFile: string, pid: number | undefined) => void;
  /** Runs after a fresh network is written, before any node starts (e.g. to put a chain into their data dirs). */
  readonly prepare?: (network: NetworkLayout) => Promise<void>;
  /** Validators not started with the others; `startDeferred(i)` starts one later (a node joining late). */
  readonly deferred?: readonly number[];
  /** Node.js options for validator i's process, before the script (e.g. `--cpu-prof`). Default none. */
  readonly nodeArgs?: (index: number) => readonly string[];
}

export interface LocalCluster {
  readonly dir: string;
  /** Whether the directory was created here (temporary). */
  readonly temporary: boolean;
  readonly chainId: string;
  readonly configs: readonly NodeConfig[];
  readonly urls: readonly string[];
  /** The children started so far, in start order (validator order unless some were deferred). */
  readonly children: readonly ClusterChild[];
  /** Starts a validator named in `deferred` (once). */
  startDeferred(index: number): ClusterChild;
  /** SIGTERM to every live child by pid, SIGKILL to those still running after the grace period; the exit codes. */
  stop(): Promise<(number | null)[]>;
  /** Deletes the directory if it is temporary. */
  remove(): Promise<void>;
}

export async function launchCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const temporary = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), "quire-cluster-")));
  let configFiles: string[];
  let chainId: string;
  if (existsSync(join(dir, "genesis.json"))) {
    configFiles = readdirSync(dir)
      .filter((d) => /^node\d+$/.test(d) && existsSync(join(dir, d, "config.json")))
      .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
      .map((d) => join(dir, d, "config.json"));
    if (configFiles.length === 0) throw new UsageError(`${dir} has a genesis.json but no node*/config.json`);
    chainId = "(resumed)";
  } else {
    const n = o.validators;
    const ports = o.basePort === undefined ? pairs(await freePorts(2 * n)) : undefined;
    const layout = await writeNetwork(
      {
        validators: n,
        dir,
        ...(o.basePort !== undefined ? { basePort: o.basePort } : {}),
        ...(ports !== undefined ? { ports } : {}),
        // N nodes share this machine's cores: one BLS worker each (blst already spreads a batch over the cores).
        blsWorkers: 1,
        logLevel: o.logLevel,
      },
      await loadBlsBackend("blst"),
    );
    configFiles = [...layout.configFiles];
    chainId = layout.chainId;
    try {
      await o.prepare?.(layout);
    } catch (e) {
      if (temporary) await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
  const configs = await Promise.all(configFiles.map((f) => loadNodeConfig(f)));
  const urls = configs.map((c) => `http://${c.rpc.host === "0.0.0.0" ? "127.0.0.1" : c.rpc.host}:${c.rpc.port}`);
  const children: ClusterChild[] = [];
  const start = (i: number): ClusterChild => {
    const logFile = join(dir, `node${i}`, "node.log");
    const fd = openSync(logFile, "a");
    // Own process group (detached): a Ctrl-C in the terminal reaches only the parent, which then stops each child
    // once, by pid (a child that got the terminal's SIGINT too would take our SIGTERM as a second signal and exit at
    // once). The IPC channel is the child's lifeline: if the parent dies, the channel closes and the child stops.
    const args = [...(o.nodeArgs?.(i) ?? []), BIN, "node", "--config", configFiles[i]!];
    const proc = spawn(process.execPath, args, { stdio: ["ignore", fd, fd, "ipc"], detached: true });
    closeSync(fd);
    const child: ClusterChild = { index: i, proc, logFile, exited: false, exit: new Promise((resolve) => proc.once("exit", (code) => resolve(code))) };
    void child.exit.then((code) => {
      child.exited = true;
      o.onExit?.(i, code, logFile, proc.pid);
    });
    children.push(child);
    return child;
  };
  const deferred = new Set(o.deferred ?? []);
  for (const i of deferred) if (!Number.isInteger(i) || i < 0 || i >= configs.length) throw new UsageError(`cannot defer validator ${i}: the network has ${configs.length}`);
  for (let i = 0; i < configs.length; i++) if (!deferred.has(i)) start(i);
  return {
    dir,
    temporary,
    chainId,
    configs,
    urls,
    children,
    startDeferred: (i) => {
      if (!deferred.delete(i)) throw new Error(`startDeferred: validator ${i} is not deferred (or already started)`);
      return start(i);
    },
    stop: () => stopChildren(children),
    remove: async () => {
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function stopChildren(children: readonly ClusterChild[]): Promise<(number | null)[]> {
  for (const c of children) if (!c.exited && c.proc.pid !== undefined) c.proc.kill("SIGTERM");
  const timer = setTimeout(() => {
    for (const c of children) if (!c.exited) c.proc.kill("SIGKILL");
  }, STOP_GRACE_MS);
  const codes = await Promise.all(children.map((c) => c.exit));
  clearTimeout(timer);
  return codes;
}

function pairs(ports: readonly number[]): { p2p: number; rpc: number }[] {
  const out: { p2p: number; rpc: number }[] = [];
  for (let i = 0; i + 1 < ports.length; i += 2) out.push({ p2p: ports[i]!, rpc: ports[i + 1]! });
  return out;
}
