/**
 * A local network of `quire node` child processes: what `quire cluster` runs, `quire load --cluster N` measures
 * against, `quire bench faults` kills and restarts, and the end-to-end tests drive. The network lives in a fresh
 * temporary directory (free ports) or a given one (resumed when it already holds a genesis). Every child is signalled
 * by its pid: `kill(i)` sends SIGKILL (a crash), `stopNode(i)`/`stop()` SIGTERM and then SIGKILL after a grace period;
 * `start(i)` runs node i again from its config (and, with `wipeData`, from an empty data directory).
 *
 * A `launcher` runs each node inside something, e.g. `ip netns exec NS` for a node in its own network namespace: the
 * launcher must exec the node (so the pid signalled is the node's), as `ip netns exec` does.
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
import type { PacemakerConfig } from "../consensus/pacemaker.js";
import { loadNodeConfig } from "../node/config.js";
import type { BlockPolicy, LogLevel, NodeConfig } from "../node/config.js";
import { writeNetwork } from "../node/network.js";
import type { NetworkLayout } from "../node/network.js";
import { freePorts } from "../node/ports.js";
import { RpcClient } from "../rpc/client.js";

const BIN = fileURLToPath(new URL("../../../bin/quire.js", import.meta.url));
/** Children get this long to exit after SIGTERM before they are killed. */
const STOP_GRACE_MS = 10_000;
/** At most this much of a child's output is kept in memory (`output: "capture"`): the tail is what failures show. */
const CAPTURE_LIMIT_CHARS = 4 * 1024 * 1024;

/** One run of one node process; `start(i)` makes a new one for the same index. */
export interface ClusterChild {
  readonly index: number;
  readonly proc: ChildProcess;
  /** Where its output goes with `output: "file"` (appended across restarts). */
  readonly logFile: string;
  /** Its output so far with `output: "capture"` (its tail once past 4 Mi characters); empty with `output: "file"`. */
  output: string;
  exited: boolean;
  /** The exit code, null when a signal ended it (then `proc.signalCode` names the signal). */
  exitCode: number | null;
  readonly exit: Promise<number | null>;
}

export interface LocalClusterOptions {
  readonly validators: number;
  /** Default: a fresh temporary directory (which `remove()` deletes). */
  readonly dir?: string;
  readonly basePort?: number;
  readonly logLevel: LogLevel;
  /** Consensus timing written into a new network's genesis (default: the genesis default, 1 s base timeout). */
  readonly consensus?: PacemakerConfig;
  /** Block policy written into a new network's configs (fields not given keep their defaults). */
  readonly block?: Partial<BlockPolicy>;
  /**
   * A new network's hosts, one per validator: where the others reach it (configs then bind 0.0.0.0). Default
   * 127.0.0.1 for all.
   */
  readonly hosts?: readonly string[];
  /** Where this process reaches each node's RPC, one host per validator (default: the host its config binds). */
  readonly rpcHosts?: readonly string[];
  /** Extra `quire node` arguments of every start of every node, e.g. `["--set", "mempool.maxTxs=8"]`. */
  readonly nodeArgs?: readonly string[];
  /** A command prefix that runs node `index` inside something and execs it (e.g. `["ip", "netns", "exec", "ns0"]`). */
  readonly launcher?: (index: number) => readonly string[];
  /** "file" (default): append to `node<i>/node.log`; "capture": keep it in `ClusterChild.output`. */
  readonly output?: "file" | "capture";
  /** A child exited (called for every exit, expected or not: the caller knows whether it was stopping). */
  readonly onExit?: (index: number, code: number | null, logFile: string, pid: number | undefined) => void;
  /** Runs after a fresh network is written, before any node starts (e.g. to put a chain into their data dirs). */
  readonly prepare?: (network: NetworkLayout) => Promise<void>;
  /** Validators not started with the others; `startDeferred(i)` starts one later (a node joining late). */
  readonly deferred?: readonly number[];
  /** Node.js options for validator i's process, before the script (e.g. `--cpu-prof`). Default none. */
  readonly nodeOptions?: (index: number) => readonly string[];
}

export interface LocalCluster {
  readonly dir: string;
  /** Whether the directory was created here (temporary). */
  readonly temporary: boolean;
  readonly chainId: string;
  readonly genesisFile: string;
  readonly configFiles: readonly string[];
  readonly configs: readonly NodeConfig[];
  readonly urls: readonly string[];
  /** The latest run of each node by index (a stopped or killed one stays, `exited`, until `start` replaces it; a
   *  deferred one is absent until `startDeferred`). */
  readonly children: readonly ClusterChild[];
  /** Runs node `index` again (it must have exited); `wipeData` deletes its data directory first. */
  start(index: number, opts?: { readonly wipeData?: boolean }): Promise<ClusterChild>;
  /** SIGKILL to node `index` by pid (a crash: nothing flushed, nothing closed); resolves once it exited. */
  kill(index: number): Promise<void>;
  /** SIGTERM to node `index` by pid, SIGKILL after `graceMs`; its exit code (null when killed). */
  stopNode(index: number, graceMs?: number): Promise<number | null>;
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
        ...(o.hosts !== undefined ? { hosts: o.hosts } : {}),
        ...(o.consensus !== undefined ? { consensus: o.consensus } : {}),
        ...(o.block !== undefined ? { block: o.block } : {}),
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
  const urls = configs.map((c, i) => {
    const host = o.rpcHosts?.[i] ?? (c.rpc.host === "0.0.0.0" ? "127.0.0.1" : c.rpc.host);
    return `http://${host.includes(":") ? `[${host}]` : host}:${c.rpc.port}`;
  });
  const nodeArgs = o.nodeArgs ?? [];

  const run = (i: number): ClusterChild => {
    const logFile = join(dir, `node${i}`, "node.log");
    const capture = o.output === "capture";
    const fd = capture ? undefined : openSync(logFile, "a");
    const prefix = o.launcher?.(i) ?? [];
    const argv = [process.execPath, ...(o.nodeOptions?.(i) ?? []), BIN, "node", "--config", configFiles[i]!, ...nodeArgs];
    // Own process group (detached): a Ctrl-C in the terminal reaches only the parent, which then stops each child
    // once, by pid (a child that got the terminal's SIGINT too would take our SIGTERM as a second signal and exit at
    // once). The IPC channel is the child's lifeline: if the parent dies, the channel closes and the child stops.
    const all = [...prefix, ...argv];
    const proc = spawn(all[0]!, all.slice(1), { stdio: ["ignore", fd ?? "pipe", fd ?? "pipe", "ipc"], detached: true });
    if (fd !== undefined) closeSync(fd);
    const child: ClusterChild = {
      index: i,
      proc,
      logFile,
      output: "",
      exited: false,
      exitCode: null,
      exit: new Promise((resolve) => proc.once("exit", (code) => resolve(code))),
    };
    if (capture) {
      const append = (d: Buffer) => {
        child.output += d.toString("utf8");
        if (child.output.length > CAPTURE_LIMIT_CHARS) child.output = child.output.slice(-CAPTURE_LIMIT_CHARS / 2);
      };
      proc.stdout!.on("data", append);
      proc.stderr!.on("data", append);
    }
    void child.exit.then((code) => {
      child.exited = true;
      child.exitCode = code;
      o.onExit?.(i, code, logFile, proc.pid);
    });
    return child;
  };

  const deferred = new Set(o.deferred ?? []);
  for (const i of deferred) if (!Number.isInteger(i) || i < 0 || i >= configs.length) throw new UsageError(`cannot defer validator ${i}: the network has ${configs.length}`);
  // By validator index; a deferred validator's slot stays empty until `startDeferred`.
  const children: ClusterChild[] = [];
  for (let i = 0; i < configs.length; i++) if (!deferred.has(i)) children[i] = run(i);
  const child = (index: number): ClusterChild => {
    const c = children[index];
    if (c === undefined) throw new RangeError(`no running node ${index} in a cluster of ${configs.length}`);
    return c;
  };
  return {
    dir,
    temporary,
    chainId,
    genesisFile: join(dir, "genesis.json"),
    configFiles,
    configs,
    urls,
    children,
    async start(index, opts = {}) {
      const c = child(index);
      if (!c.exited) throw new Error(`node ${index} (pid ${c.proc.pid}) is still running`);
      if (opts.wipeData === true) await rm(configs[index]!.dataDir, { recursive: true, force: true });
      return (children[index] = run(index));
    },
    async kill(index) {
      const c = child(index);
      if (!c.exited) c.proc.kill("SIGKILL");
      await c.exit;
    },
    stopNode: async (index, graceMs = STOP_GRACE_MS) => (await stopChildren([child(index)], graceMs))[0]!,
    stop: () => stopChildren(children.filter((c) => c !== undefined), STOP_GRACE_MS),
    startDeferred: (i) => {
      if (!deferred.delete(i)) throw new Error(`startDeferred: validator ${i} is not deferred (or already started)`);
      return (children[i] = run(i));
    },
    remove: async () => {
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Resolves once every node answers its RPC, has committed a block and is linked to all the others; throws a
 * UsageError naming the directory when that takes longer than `timeoutMs` or a node exits first.
 */
export async function waitUntilCommitting(cluster: LocalCluster, timeoutMs = 60_000): Promise<void> {
  const clients = cluster.urls.map((url) => new RpcClient({ url, timeoutMs: 1_000 }));
  const n = clients.length;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await Promise.all(clients.map((c) => c.status().catch(() => null)));
    if (s.every((x) => x !== null && x.committedHeight >= 1 && x.peersConnected === n - 1)) return;
    if (Date.now() > deadline || cluster.children.some((c) => c.exited)) throw new UsageError(`the local cluster did not come up; logs in ${cluster.dir}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChildren(children: readonly ClusterChild[], graceMs: number): Promise<(number | null)[]> {
  for (const c of children) if (!c.exited && c.proc.pid !== undefined) c.proc.kill("SIGTERM");
  const timer = setTimeout(() => {
    for (const c of children) if (!c.exited) c.proc.kill("SIGKILL");
  }, graceMs);
  const codes = await Promise.all(children.map((c) => c.exit));
  clearTimeout(timer);
  return codes;
}

function pairs(ports: readonly number[]): { p2p: number; rpc: number }[] {
  const out: { p2p: number; rpc: number }[] = [];
  for (let i = 0; i < ports.length - 1; i += 2) out.push({ p2p: ports[i]!, rpc: ports[i + 1]! });
  return out;
}
