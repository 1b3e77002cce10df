/**
 * One node's configuration file (JSON). Paths are relative to the config file's directory. Everything but
 * `validatorIndex`, `genesisFile`, `keyFile`, `dataDir`, `p2p` and `rpc` has a default; `quire init` writes every
 * field so the file documents itself.
 *
 *   {
 *     "type": "quire-node-config", "version": 1,
 *     "validatorIndex": 0,
 *     "genesisFile": "genesis.json",
 *     "keyFile": "node0/validator.key",
 *     "dataDir": "node0/data",
 *     "p2p":  { "host": "127.0.0.1", "port": 26600 },            where this node listens for validators
 *     "peers": [{ "host": "127.0.0.1", "port": 26600 }, ...],    every validator's p2p address, in registry order:
 *                                                                the genesis validators, then (with the validators
 *                                                                module) validators added later, each with its
 *                                                                "publicKey" (96 hex) — a validator waiting to be
 *                                                                added lists itself there
 *     "rpc":  { "host": "127.0.0.1", "port": 26700 },
 *     "mempool": { "maxTxs": 20000, "maxBytes": 67108864 },
 *     "block": { "maxTxs": 4096, "maxBytes": 4194304, "minIntervalMs": 50, "emptyIntervalMs": 250 },
 *     "gossip": { "intervalMs": 20, "maxBatchTxs": 2048, "maxBatchBytes": 1048576 },
 *     "bls": { "backend": "blst", "workers": 2 },
 *     "hash": { "backend": "wasm" },                              optional: SHA-256 backend of every tx id, Merkle
 *                                                                 tree and state hash (default: the process default)
 *     "log": { "level": "info" }
 *   }
 *
 * Validated once at start (`loadNodeConfig`): an error names the field (`rpc.port`, `peers[2].host`, ...).
 */
import { dirname, resolve } from "node:path";
import { BLS_BACKEND_NAMES } from "../crypto/bls/backend.js";
import { HASH_BACKENDS } from "../crypto/hasher.js";
import type { HashBackend } from "../crypto/hasher.js";
import type { BlsBackendName } from "../crypto/bls/backend.js";
import { MAX_CERT_SIGNERS, MAX_MESSAGE_BYTES, MAX_TX_BYTES, MAX_TXS_PER_BATCH, MAX_TXS_PER_BLOCK } from "../domain/limits.js";
import { NodeError } from "./errors.js";
import { toHex } from "../util/bytes.js";
import { FieldReader, join, parseJsonDocument, readConfigFile } from "./fields.js";
import { DEFAULT_RPC_LIMITS, resolveRpcLimits } from "../rpc/server.js";
import type { RpcLimits } from "../rpc/server.js";
import { RpcConfigError } from "../rpc/errors.js";
import type { Json, JsonObject } from "./fields.js";

export const CONFIG_TYPE = "quire-node-config";
export const CONFIG_VERSION = 1;
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * The RPC server's address and, optionally, request limits overriding DEFAULT_RPC_LIMITS (src/rpc/server.ts):
 * `"rpc": {"host", "port", "limits": {"requestsPerSecPerSource": 5000}}`, or `--set rpc.limits.maxUploads=512`.
 */
export interface RpcConfig extends HostPort {
  readonly limits?: Partial<RpcLimits>;
}

export interface BlockPolicy {
  /** Most transactions in one proposal. */
  readonly maxTxs: number;
  /** Most transaction bytes in one proposal. */
  readonly maxBytes: number;
  /** A leader with pending transactions waits this long after the propose request (batches the next arrivals). */
  readonly minIntervalMs: number;
  /** A leader with an empty mempool waits up to this long for a transaction before proposing an empty block. */
  readonly emptyIntervalMs: number;
}

export interface GossipPolicy {
  /** How often new client transactions are batched out to the next leaders. */
  readonly intervalMs: number;
  readonly maxBatchTxs: number;
  readonly maxBatchBytes: number;
}

export interface NodeConfig {
  /** The config file this came from (absolute). */
  readonly file: string;
  readonly validatorIndex: number;
  /** Absolute paths. */
  readonly genesisFile: string;
  readonly keyFile: string;
  readonly dataDir: string;
  readonly p2p: HostPort;
  /**
   * Every validator's p2p address by registry index (this node's own entry is not dialled): the genesis validators,
   * then validators added by a set change that this node knows at start, each with its public key.
   */
  readonly peers: readonly PeerConfig[];
  readonly rpc: RpcConfig;
  readonly mempool: { readonly maxTxs: number; readonly maxBytes: number };
  readonly block: BlockPolicy;
  readonly gossip: GossipPolicy;
  readonly bls: { readonly backend: BlsBackendName; readonly workers: number };
  /**
   * The SHA-256 backend the node makes its thread's default at start (crypto/hash/backends.ts `setDefaultHasher`):
   * tx ids, Merkle roots and proofs, the state tree. Absent: the process default. Block header hashes are not
   * covered (consensus/blockHash.ts fixes its own, one small hash per block).
   */
  readonly hash?: { readonly backend: HashBackend };
  readonly log: { readonly level: LogLevel };
  /**
   * A shard of a sharded network: the manifest (network.json, `quire init --shards` writes it) whose RPC addresses
   * the cross-shard relayer sends imports to, and how often it runs (node/xshardRelayer.ts). Absent: no relaying
   * (the shard still applies imports others relay to it).
   */
  readonly xshard?: { readonly manifest: string; readonly relayIntervalMs: number };
  /**
   * A cluster of a geo network (node/geo/README.md): the manifest (network.json, `quire init --clusters` writes it)
   * naming every cluster's nodes, and the remote timeout (how long global execution waits for a cluster's block
   * before asking that cluster for a remote view change). Required on a geo cluster's node.
   */
  readonly geo?: { readonly manifest: string; readonly remoteTimeoutMs: number };
}

/** Default remote timeout of geo clusters: above a cluster's block interval under load, below a user's patience. */
export const DEFAULT_REMOTE_TIMEOUT_MS = 2_000;

/**
 * Defaults. Block: 16,384 txs (8 MiB) and a 65,536-tx mempool. Under load a view costs a few fixed round trips and
 * fsyncs on top of its per-tx work, so bigger blocks carry more per view: 4 validators on this 2-core machine (5,000
 * tx/s offered for 12 s, two alternating runs each, other engineers' benches loading the cores) committed 2,553 and
 * 2,284 tx/s with blocks ≤ 4,096 txs and a 20,000-tx pool, 3,053 and 3,496 tx/s with these (5,000-tx blocks formed).
 * The empty interval (250 ms) keeps an idle chain at a few blocks per second instead of spinning (each view costs
 * two fsyncs and a signature round per node) while staying well under the 1 s base view timer. Gossip every 20 ms: a client tx waits at most that long before the leaders have it.
 * BLS: the pool's own default worker count (measured in src/crypto/bls/pool.ts); `quire init` writes 1 for local
 * clusters, where N nodes already share the cores.
 */
export const CONFIG_DEFAULTS = {
  mempool: { maxTxs: 65_536, maxBytes: 64 * 1024 * 1024 },
  block: { maxTxs: 16_384, maxBytes: 8 * 1024 * 1024, minIntervalMs: 50, emptyIntervalMs: 250 },
  gossip: { intervalMs: 20, maxBatchTxs: 2_048, maxBatchBytes: 1024 * 1024 },
  bls: { backend: "blst" as BlsBackendName, workers: 2 },
  log: { level: "info" as LogLevel },
} as const;

export async function loadNodeConfig(path: string, overrides: readonly string[] = []): Promise<NodeConfig> {
  const { file, text } = await readConfigFile(path);
  return parseNodeConfig(overrides.length === 0 ? text : applyConfigOverrides(text, file, overrides), file);
}

/**
 * Applies command-line overrides (`quire node --set rpc.port=27000 --set log.level=debug`) to a config document
 * before it is validated, so an override is checked exactly like the file and an error names the same field.
 * Each override is `dotted.path=value`; the value is read as JSON when it parses (numbers, booleans, objects) and as
 * a string otherwise. Intermediate objects are created; array entries are addressed by index (`peers.2.port`).
 */
export function applyConfigOverrides(text: string, file: string, overrides: readonly string[]): string {
  const r = new FieldReader("BAD_CONFIG", file);
  const doc = parseJsonDocument(text, r);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) r.fail("", "must be a JSON object");
  for (const o of overrides) {
    const eq = o.indexOf("=");
    const path = eq > 0 ? o.slice(0, eq).split(".") : [];
    if (path.length === 0 || path.some((k) => k === "" || k === "__proto__" || k === "constructor" || k === "prototype")) {
      throw new NodeError("BAD_CONFIG", `override "${o}" must look like field.path=value`, { file, field: o });
    }
    const raw = o.slice(eq + 1);
    let value: Json;
    try {
      value = JSON.parse(raw) as Json;
    } catch {
      value = raw;
    }
    let node = doc as Record<string, Json>;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== "object" || next === null) node[key] = {};
      node = node[key] as Record<string, Json>;
    }
    node[path[path.length - 1]!] = value;
  }
  return JSON.stringify(doc);
}

/** Validates a config document; `file` (absolute) anchors relative paths and names the file in errors. */
export function parseNodeConfig(text: string, file: string): NodeConfig {
  const r = new FieldReader("BAD_CONFIG", file);
  const base = dirname(file);
  const doc = r.object(parseJsonDocument(text, r), "", ["type", "version", "validatorIndex", "genesisFile", "keyFile", "dataDir", "p2p", "peers", "rpc", "mempool", "block", "gossip", "bls", "hash", "log", "xshard", "geo"]);
  if (doc["type"] !== CONFIG_TYPE) r.fail("type", `must be "${CONFIG_TYPE}"`);
  r.int(doc, "version", "", CONFIG_VERSION, CONFIG_VERSION);
  const validatorIndex = r.int(doc, "validatorIndex", "", 0, MAX_CERT_SIGNERS - 1);
  const path = (key: string) => resolve(base, r.string(doc, key, ""));
  const genesisFile = path("genesisFile");
  const keyFile = path("keyFile");
  const dataDir = path("dataDir");
  const p2p = hostPort(r, doc["p2p"], "p2p", false);
  const rpc = rpcConfig(r, doc["rpc"]);
  const list = r.array(doc, "peers", "", 1, MAX_CERT_SIGNERS);
  const peers = list.map((p, i) => peerConfig(r, p, join("peers", i)));
  if (validatorIndex >= peers.length) r.fail("validatorIndex", `is ${validatorIndex} but peers lists only ${peers.length} validators`);
  const d = CONFIG_DEFAULTS;
  const m = r.optObject(doc, "mempool", "", ["maxTxs", "maxBytes"]);
  const mempool = { maxTxs: r.int(m, "maxTxs", "mempool", 1, 10_000_000, d.mempool.maxTxs), maxBytes: r.int(m, "maxBytes", "mempool", 1, 2 ** 40, d.mempool.maxBytes) };
  const b = r.optObject(doc, "block", "", ["maxTxs", "maxBytes", "minIntervalMs", "emptyIntervalMs"]);
  const block: BlockPolicy = {
    maxTxs: r.int(b, "maxTxs", "block", 1, MAX_TXS_PER_BLOCK, d.block.maxTxs),
    // Half the message limit: the proposal's header, certificates and per-tx framing must fit beside the txs.
    maxBytes: r.int(b, "maxBytes", "block", MAX_TX_BYTES, MAX_MESSAGE_BYTES / 2, d.block.maxBytes),
    minIntervalMs: r.int(b, "minIntervalMs", "block", 0, 60_000, d.block.minIntervalMs),
    emptyIntervalMs: r.int(b, "emptyIntervalMs", "block", 0, 60_000, d.block.emptyIntervalMs),
  };
  const g = r.optObject(doc, "gossip", "", ["intervalMs", "maxBatchTxs", "maxBatchBytes"]);
  const gossip: GossipPolicy = {
    intervalMs: r.int(g, "intervalMs", "gossip", 1, 60_000, d.gossip.intervalMs),
    maxBatchTxs: r.int(g, "maxBatchTxs", "gossip", 1, MAX_TXS_PER_BATCH, d.gossip.maxBatchTxs),
    maxBatchBytes: r.int(g, "maxBatchBytes", "gossip", MAX_TX_BYTES, MAX_MESSAGE_BYTES / 2, d.gossip.maxBatchBytes),
  };
  const s = r.optObject(doc, "bls", "", ["backend", "workers"]);
  const bls = { backend: r.choice(s, "backend", "bls", BLS_BACKEND_NAMES, d.bls.backend), workers: r.int(s, "workers", "bls", 1, 64, d.bls.workers) };
  const hs = r.optObject(doc, "hash", "", ["backend"]);
  const hash = hs["backend"] === undefined ? undefined : { backend: r.choice(hs, "backend", "hash", HASH_BACKENDS, HASH_BACKENDS[0]!) };
  const l = r.optObject(doc, "log", "", ["level"]);
  const log = { level: r.choice(l, "level", "log", LOG_LEVELS, d.log.level) };
  const x = r.optObject(doc, "xshard", "", ["manifest", "relayIntervalMs"]);
  const xshard = x["manifest"] === undefined ? undefined : { manifest: resolve(base, r.string(x, "manifest", "xshard")), relayIntervalMs: r.int(x, "relayIntervalMs", "xshard", 10, 60_000, 100) };
  const gdoc = r.optObject(doc, "geo", "", ["manifest", "remoteTimeoutMs"]);
  const geo = gdoc["manifest"] === undefined ? undefined : { manifest: resolve(base, r.string(gdoc, "manifest", "geo")), remoteTimeoutMs: r.int(gdoc, "remoteTimeoutMs", "geo", 100, 600_000, DEFAULT_REMOTE_TIMEOUT_MS) };
  return { file, validatorIndex, genesisFile, keyFile, dataDir, p2p, peers, rpc, mempool, block, gossip, bls, ...(hash !== undefined ? { hash } : {}), log, ...(xshard !== undefined ? { xshard } : {}), ...(geo !== undefined ? { geo } : {}) };
}

export function rpcConfig(r: FieldReader, v: Json | undefined): RpcConfig {
  const o = r.object(v, "rpc", ["host", "port", "limits"]);
  const address = hostPort(r, { host: o["host"], port: o["port"] } as JsonObject, "rpc", true);
  if (o["limits"] === undefined) return address;
  const l = r.optObject(o, "limits", "rpc", Object.keys(DEFAULT_RPC_LIMITS));
  const limits: Partial<RpcLimits> = {};
  for (const k of Object.keys(l) as (keyof RpcLimits)[]) limits[k] = r.int(l, k, "rpc.limits", 0, Number.MAX_SAFE_INTEGER);
  try {
    resolveRpcLimits(limits); // the server's own checks (positive, shares within their caps), named as rpc.limits.x
  } catch (e) {
    if (e instanceof RpcConfigError) r.fail(`rpc.${e.payload.field}`, e.message.slice(e.payload.field.length + 2));
    throw e;
  }
  return { ...address, limits };
}

/** A peer: its address, and its BLS public key when it is not a genesis validator. */
export interface PeerConfig extends HostPort {
  readonly publicKey?: Uint8Array;
}

function peerConfig(r: FieldReader, v: Json | undefined, field: string): PeerConfig {
  const o: JsonObject = r.object(v, field, ["host", "port", "publicKey"]);
  const hp = { host: r.host(o, "host", field), port: r.int(o, "port", field, 1, 65_535) };
  return o.publicKey === undefined ? hp : { ...hp, publicKey: r.hex(o, "publicKey", field, 48) };
}

export function hostPort(r: FieldReader, v: Json | undefined, field: string, zeroPortOk: boolean): HostPort {
  const o: JsonObject = r.object(v, field, ["host", "port"]);
  return { host: r.host(o, "host", field), port: r.int(o, "port", field, zeroPortOk ? 0 : 1, 65_535) };
}

/** The JSON document of a config (paths as given, relative to the file's directory). */
export function nodeConfigJson(c: Omit<NodeConfig, "file">): Record<string, unknown> {
  return {
    type: CONFIG_TYPE,
    version: CONFIG_VERSION,
    validatorIndex: c.validatorIndex,
    genesisFile: c.genesisFile,
    keyFile: c.keyFile,
    dataDir: c.dataDir,
    p2p: { ...c.p2p },
    peers: c.peers.map((p) => (p.publicKey === undefined ? { host: p.host, port: p.port } : { host: p.host, port: p.port, publicKey: toHex(p.publicKey) })),
    rpc: { ...c.rpc },
    mempool: { ...c.mempool },
    block: { ...c.block },
    gossip: { ...c.gossip },
    bls: { ...c.bls },
    ...(c.hash !== undefined ? { hash: { ...c.hash } } : {}),
    log: { ...c.log },
    ...(c.xshard !== undefined ? { xshard: { ...c.xshard } } : {}),
    ...(c.geo !== undefined ? { geo: { ...c.geo } } : {}),
  };
}

/**
 * `GET /v1/config`: the effective config (after `--set` overrides) as operators see it — `nodeConfigJson`'s explicit
 * field list plus the file it came from. A config holds no key material (only `keyFile`, a path), and the list is
 * explicit so that a field added later is not served until someone adds it here.
 */
export function operatorConfigJson(c: NodeConfig): Record<string, unknown> {
  return { file: c.file, ...nodeConfigJson(c) };
}
