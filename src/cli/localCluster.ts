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
import { loadParaNodeConfig } from "../node/para/paraConfig.js";
import { loadFollowerConfig } from "../node/follow/followerConfig.js";
import { writeFollowers } from "../node/follow/followerNetwork.js";
import { generateParaKeys, paraRegistration, writeParaChain } from "../node/para/paraNetwork.js";
import type { NetworkLayout } from "../node/network.js";
import { freePorts } from "../node/ports.js";
import { loadNetworkManifest, MANIFEST_FILE, writeShardedNetwork } from "../node/shardNetwork.js";
import type { NetworkKind } from "../node/genesis.js";
import type { NetworkManifest } from "../node/shardNetwork.js";
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
  /**
   * Para chains of a new network (paracross): each registered in the main genesis and written to DIR/para-TITLE
   * (src/node/para/paraNetwork.ts), its nodes following the main nodes' RPC. Started after the main nodes.
   */
  readonly paras?: readonly LocalParaOptions[];
  /**
   * Followers of a new network (non-voting full nodes, src/node/follow/): DIR/follower<k>, following the validators
   * round-robin with fan-out 2, or follower `followerOf(k)` (an earlier one). Started after the validators.
   */
  readonly followers?: number;
  readonly followerOf?: (k: number) => number | null;
  /**
   * Validators outside genesis (writeNetwork `spares`): node<n..n+spares-1>, to add by a set change. They are started
   * with the others unless `deferred` lists them.
   */
  readonly spares?: number;
  /** Extra `quire node` arguments of follower k. */
  readonly followerArgs?: (k: number) => readonly string[];
}

export interface LocalParaOptions {
  readonly title: string;
  readonly nodes: number;
  /** Para nodes not started with the others (`para.startDeferred(i)` later: a para node starting late). */
  readonly deferred?: readonly number[];
  /** Extra `quire node` arguments of para node i, e.g. `["--set", "blockPolicy.emptyBlockInterval=3"]`. */
  readonly nodeArgs?: (index: number) => readonly string[];
}

/** The node processes of one chain (the validators, or one para chain's nodes), by index. */
export interface ProcessGroup {
  readonly configFiles: readonly string[];
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
  /** Starts a node named in `deferred` (once). */
  startDeferred(index: number): ClusterChild;
}

/** A para chain of the cluster. */
export interface LocalPara extends ProcessGroup {
  readonly title: string;
  readonly dir: string;
  readonly genesisFile: string;
}

export interface LocalCluster extends ProcessGroup {
  readonly dir: string;
  /** Whether the directory was created here (temporary). */
  readonly temporary: boolean;
  readonly chainId: string;
  readonly genesisFile: string;
  readonly configs: readonly NodeConfig[];
  /** The para chains (empty without `paras`). */
  readonly paras: readonly LocalPara[];
  /** The followers (no children without `followers`). */
  readonly followers: ProcessGroup;
  /** SIGTERM to every live child by pid (para nodes first), SIGKILL to those still running after the grace period;
   *  the validators' exit codes (para nodes' through `paras[k].children`). */
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
    configFiles = nodeConfigsIn(dir);
    if (configFiles.length === 0) throw new UsageError(`${dir} has a genesis.json but no node*/config.json`);
    chainId = "(resumed)";
  } else {
    const n = o.validators;
    const ports = o.basePort === undefined ? pairs(await freePorts(2 * (n + (o.spares ?? 0)))) : undefined;
    const backend = await loadBlsBackend("blst");
    // Para chains: their nodes' keys first, since the main genesis registers them.
    const paraKeys = await Promise.all((o.paras ?? []).map((p) => generateParaKeys(p.nodes, backend)));
    const layout = await writeNetwork(
      {
        validators: n,
        dir,
        ...(o.basePort !== undefined ? { basePort: o.basePort } : {}),
        ...(ports !== undefined ? { ports } : {}),
        ...(o.hosts !== undefined ? { hosts: o.hosts } : {}),
        ...(o.consensus !== undefined ? { consensus: o.consensus } : {}),
        ...(o.block !== undefined ? { block: o.block } : {}),
        ...(o.paras !== undefined && o.paras.length > 0 ? { paras: o.paras.map((p, k) => paraRegistration(p.title, paraKeys[k]!)) } : {}),
        // N nodes share this machine's cores: one BLS worker each (blst already spreads a batch over the cores).
        blsWorkers: 1,
        logLevel: o.logLevel,
        ...(o.spares !== undefined ? { spares: o.spares } : {}),
      },
      backend,
    );
    for (const [k, p] of (o.paras ?? []).entries()) {
      const paraPorts = o.basePort === undefined ? await freePorts(p.nodes) : undefined;
      await writeParaChain(
        {
          dir,
          title: p.title,
          keys: paraKeys[k]!,
          mainGenesisFile: layout.genesisFile,
          mainRpcUrls: layout.rpcUrls,
          ...(paraPorts !== undefined ? { ports: paraPorts } : { basePort: o.basePort! + 2 * n + 100 * k }),
          logLevel: o.logLevel,
        },
        backend,
      );
    }
    if ((o.followers ?? 0) > 0) {
      const f = o.followers!;
      await writeFollowers({
        dir,
        followers: f,
        validatorRpc: (ports?.slice(0, n) ?? Array.from({ length: n }, (_, i) => ({ rpc: o.basePort! + 2 * i + 1 }))).map((p) => ({ host: "127.0.0.1", port: p.rpc })),
        ...(o.basePort !== undefined ? { basePort: o.basePort } : { ports: await freePorts(f) }),
        ...(o.followerOf !== undefined ? { followerOf: o.followerOf } : {}),
        logLevel: o.logLevel,
      });
    }
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
  const urls = configs.map((c, i) => rpcUrl(o.rpcHosts?.[i] ?? c.rpc.host, c.rpc.port));
  const nodeArgs = o.nodeArgs ?? [];
  const main = processGroup({
    configFiles,
    urls,
    dataDirs: configs.map((c) => c.dataDir),
    logFile: (i) => join(dir, `node${i}`, "node.log"),
    argv: (i) => [...(o.launcher?.(i) ?? []), process.execPath, ...(o.nodeOptions?.(i) ?? []), BIN, "node", "--config", configFiles[i]!, ...nodeArgs],
    capture: o.output === "capture",
    deferred: o.deferred ?? [],
    onExit: (i, code, logFile, pid) => o.onExit?.(i, code, logFile, pid),
    what: "validator",
  });

  const paras: LocalPara[] = [];
  for (const paraDir of readdirSync(dir).filter((d) => d.startsWith("para-") && existsSync(join(dir, d, "genesis.json"))).sort()) {
    const title = paraDir.slice("para-".length);
    const spec = o.paras?.find((p) => p.title === title);
    const files = nodeConfigsIn(join(dir, paraDir));
    const paraConfigs = await Promise.all(files.map((f) => loadParaNodeConfig(f)));
    const group = processGroup({
      configFiles: files,
      urls: paraConfigs.map((c) => rpcUrl(c.rpc.host, c.rpc.port)),
      dataDirs: paraConfigs.map((c) => c.dataDir),
      logFile: (i) => join(dir, paraDir, `node${i}`, "node.log"),
      argv: (i) => [process.execPath, BIN, "node", "--config", files[i]!, ...(spec?.nodeArgs?.(i) ?? [])],
      capture: o.output === "capture",
      deferred: spec?.deferred ?? [],
      // Para node k of title T is reported to onExit as index 1000·(chain + 1) + k (validators keep 0..N−1).
      onExit: (i, code, logFile, pid) => o.onExit?.(1000 * (paras.length + 1) + i, code, logFile, pid),
      what: `para node of ${title}`,
    });
    paras.push({ title, dir: join(dir, paraDir), genesisFile: join(dir, paraDir, "genesis.json"), ...group });
  }

  const followerFiles = configsIn(dir, "follower");
  const followerConfigs = await Promise.all(followerFiles.map((f) => loadFollowerConfig(f)));
  const followers = processGroup({
    configFiles: followerFiles,
    urls: followerConfigs.map((c) => rpcUrl(c.rpc.host, c.rpc.port)),
    dataDirs: followerConfigs.map((c) => c.dataDir),
    logFile: (k) => join(dir, `follower${k}`, "node.log"),
    argv: (k) => [process.execPath, BIN, "node", "--config", followerFiles[k]!, ...(o.followerArgs?.(k) ?? [])],
    capture: o.output === "capture",
    deferred: [],
    // Follower k is reported to onExit as index 500 + k (validators keep 0..N−1, para nodes 1000·(chain + 1) + k).
    onExit: (k, code, logFile, pid) => o.onExit?.(500 + k, code, logFile, pid),
    what: "follower",
  });

  return {
    dir,
    temporary,
    chainId,
    genesisFile: join(dir, "genesis.json"),
    configs,
    paras,
    followers,
    ...main,
    stop: async () => {
      // Followers and para nodes first: they follow the validators and would only log failed requests while those stop.
      await stopChildren(followers.children.filter((c) => c !== undefined), STOP_GRACE_MS);
      await stopChildren(paras.flatMap((p) => p.children.filter((c) => c !== undefined)), STOP_GRACE_MS);
      return stopChildren(main.children.filter((c) => c !== undefined), STOP_GRACE_MS);
    },
    remove: async () => {
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}

interface GroupSpec {
  readonly configFiles: readonly string[];
  readonly urls: readonly string[];
  readonly dataDirs: readonly string[];
  readonly logFile: (index: number) => string;
  /** The whole command line of node `index` (a launcher prefix included). */
  readonly argv: (index: number) => readonly string[];
  readonly capture: boolean;
  readonly deferred: readonly number[];
  readonly onExit: (index: number, code: number | null, logFile: string, pid: number | undefined) => void;
  readonly what: string;
}

/** Spawns and tracks the node processes of one chain. */
function processGroup(g: GroupSpec): ProcessGroup {
  const run = (i: number): ClusterChild => {
    const logFile = g.logFile(i);
    const fd = g.capture ? undefined : openSync(logFile, "a");
    // Own process group (detached): a Ctrl-C in the terminal reaches only the parent, which then stops each child
    // once, by pid (a child that got the terminal's SIGINT too would take our SIGTERM as a second signal and exit at
    // once). The IPC channel is the child's lifeline: if the parent dies, the channel closes and the child stops.
    const all = g.argv(i);
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
    if (g.capture) {
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
      g.onExit(i, code, logFile, proc.pid);
    });
    return child;
  };

  const n = g.configFiles.length;
  const deferred = new Set(g.deferred);
  for (const i of deferred) if (!Number.isInteger(i) || i < 0 || i >= n) throw new UsageError(`cannot defer ${g.what} ${i}: there are ${n}`);
  // By index; a deferred node's slot stays empty until `startDeferred`.
  const children: ClusterChild[] = [];
  for (let i = 0; i < n; i++) if (!deferred.has(i)) children[i] = run(i);
  const child = (index: number): ClusterChild => {
    const c = children[index];
    if (c === undefined) throw new RangeError(`no running ${g.what} ${index} of ${n}`);
    return c;
  };
  return {
    configFiles: g.configFiles,
    urls: g.urls,
    children,
    async start(index, opts = {}) {
      const c = child(index);
      if (!c.exited) throw new Error(`${g.what} ${index} (pid ${c.proc.pid}) is still running`);
      if (opts.wipeData === true) await rm(g.dataDirs[index]!, { recursive: true, force: true });
      return (children[index] = run(index));
    },
    async kill(index) {
      const c = child(index);
      if (!c.exited) c.proc.kill("SIGKILL");
      await c.exit;
    },
    stopNode: async (index, graceMs = STOP_GRACE_MS) => (await stopChildren([child(index)], graceMs))[0]!,
    startDeferred: (i) => {
      if (!deferred.delete(i)) throw new Error(`startDeferred: ${g.what} ${i} is not deferred (or already started)`);
      return (children[i] = run(i));
    },
  };
}

/** The nodeN/config.json files of a network directory, by node index. */
function nodeConfigsIn(dir: string): string[] {
  return configsIn(dir, "node");
}

/** The <prefix>N/config.json files of a directory, by N. */
function configsIn(dir: string, prefix: string): string[] {
  const re = new RegExp(`^${prefix}\\d+$`);
  return readdirSync(dir)
    .filter((d) => re.test(d) && existsSync(join(dir, d, "config.json")))
    .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
    .map((d) => join(dir, d, "config.json"));
}

function rpcUrl(bindHost: string, port: number): string {
  const host = bindHost === "0.0.0.0" ? "127.0.0.1" : bindHost;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
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

export interface ShardedClusterOptions {
  /** "clusters": a geo network (`quire cluster --clusters Z`, node/geo). */
  readonly kind?: NetworkKind;
  readonly shards: number;
  /** Validators per shard. */
  readonly validators: number;
  /** Default: a fresh temporary directory (which `remove()` deletes). One holding a network.json is resumed. */
  readonly dir?: string;
  readonly basePort?: number;
  readonly logLevel: LogLevel;
  readonly consensus?: PacemakerConfig;
  readonly block?: Partial<BlockPolicy>;
  readonly output?: "file" | "capture";
  /** A child exited: shard, node index, as `LocalClusterOptions.onExit`. */
  readonly onExit?: (shard: number, index: number, code: number | null, logFile: string, pid: number | undefined) => void;
}

/** One shard of a sharded cluster: its nodes as a cluster of their own (DIR/shard-<i>). */
export interface LocalShard extends LocalCluster {
  readonly index: number;
}

export interface ShardedCluster {
  readonly dir: string;
  readonly temporary: boolean;
  readonly manifest: NetworkManifest;
  readonly shards: readonly LocalShard[];
  /** Stops every shard's nodes (by pid, as `LocalCluster.stop`); exit codes by shard. */
  stop(): Promise<(number | null)[][]>;
  remove(): Promise<void>;
}

/**
 * A sharded network of local processes (`quire cluster --shards S`): written by `writeShardedNetwork` (free ports
 * unless `basePort`), then each shard's directory run by `launchCluster` as an existing network.
 */
export async function launchShardedCluster(o: ShardedClusterOptions): Promise<ShardedCluster> {
  const temporary = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), o.kind === "clusters" ? "quire-geo-" : "quire-shards-")));
  let manifest: NetworkManifest;
  if (existsSync(join(dir, MANIFEST_FILE))) manifest = await loadNetworkManifest(dir);
  else {
    const ports = o.basePort === undefined ? await Promise.all(Array.from({ length: o.shards }, async () => pairs(await freePorts(2 * o.validators)))) : undefined;
    const net = await writeShardedNetwork(
      {
        ...(o.kind !== undefined ? { kind: o.kind } : {}),
        shards: o.shards,
        validators: o.validators,
        dir,
        ...(o.basePort !== undefined ? { basePort: o.basePort } : {}),
        ...(ports !== undefined ? { ports } : {}),
        ...(o.consensus !== undefined ? { consensus: o.consensus } : {}),
        ...(o.block !== undefined ? { block: o.block } : {}),
        // S·N nodes share this machine's cores: one BLS worker each.
        blsWorkers: 1,
        logLevel: o.logLevel,
      },
      await loadBlsBackend("blst"),
    );
    manifest = net.manifest;
  }
  const shards: LocalShard[] = [];
  try {
    for (const s of manifest.shards) {
      const c = await launchCluster({
        validators: s.rpc.length,
        dir: s.dir,
        logLevel: o.logLevel,
        ...(o.output !== undefined ? { output: o.output } : {}),
        onExit: (i, code, logFile, pid) => o.onExit?.(s.index, i, code, logFile, pid),
      });
      shards.push({ ...c, index: s.index, chainId: s.chainId });
    }
  } catch (e) {
    await Promise.all(shards.map((c) => c.stop()));
    throw e;
  }
  return {
    dir,
    temporary,
    manifest,
    shards,
    stop: () => Promise.all(shards.map((c) => c.stop())),
    remove: async () => {
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}
