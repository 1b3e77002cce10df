/**
 * A follower's config file (`quire-follower-config` v1): a node that votes in nothing and holds no validator key — it
 * follows certified blocks from upstream nodes' RPC, verifies and executes them into its own store, serves the whole
 * RPC, and forwards client transactions to validators (src/node/follow/README.md). `quire node --config FILE` reads
 * the file's `type` and starts a validator, a para node or a follower. Validated like the validator's (config.ts):
 * errors name the field.
 *
 *   {"type": "quire-follower-config", "version": 1, "followerIndex": 0,
 *    "genesisFile": "../genesis.json", "dataDir": "data",
 *    "rpc": {"host": "127.0.0.1", "port": 26709, "limits"?: {...}},
 *    "follow": {"upstreams": [{"host", "port"}, ...], "fanout": 2, "rangeBlocks": 64, "retryMs": 500},
 *    "submit": [{"host", "port"}, ...],
 *    "bls"?: {"backend": "blst"}, "hash"?: {"backend"}, "log"?: {"level"}}
 *
 * `follow.upstreams` are RPC addresses (validators' or other followers'); at most `fanout` of them are used at once.
 * `submit` lists the validators' RPC addresses client transactions are forwarded to (default: the upstreams — then a
 * follower of a follower forwards through it, which still answers only what a validator answered).
 */
import { dirname, resolve } from "node:path";
import { BLS_BACKEND_NAMES } from "../../crypto/bls/backend.js";
import type { BlsBackendName } from "../../crypto/bls/backend.js";
import { HASH_BACKENDS } from "../../crypto/hasher.js";
import type { HashBackend } from "../../crypto/hasher.js";
import { CONFIG_DEFAULTS, hostPort, LOG_LEVELS, rpcConfig } from "../config.js";
import type { HostPort, LogLevel, RpcConfig } from "../config.js";
import { FieldReader, join, parseJsonDocument, readConfigFile } from "../fields.js";

export const FOLLOWER_CONFIG_TYPE = "quire-follower-config";
export const FOLLOWER_CONFIG_VERSION = 1;

export interface FollowPolicy {
  /** RPC addresses of the nodes to follow, in order of preference. */
  readonly upstreams: readonly HostPort[];
  /** Upstreams used at once: one streams, the others take requests when it fails (and replace it). */
  readonly fanout: number;
  /** Heights per `GET /v1/blocks` request. */
  readonly rangeBlocks: number;
  /** Wait after a failed request, a refused block or a lost stream before trying again. */
  readonly retryMs: number;
}

export interface FollowerConfig {
  readonly file: string;
  readonly followerIndex: number;
  readonly genesisFile: string;
  readonly dataDir: string;
  readonly rpc: RpcConfig;
  readonly follow: FollowPolicy;
  readonly submit: readonly HostPort[];
  readonly bls: { readonly backend: BlsBackendName };
  readonly hash?: { readonly backend: HashBackend };
  readonly log: { readonly level: LogLevel };
}

/**
 * Two upstreams at once: one stream plus a warm fallback, so a validator restart costs a follower one failed request,
 * while each validator serves at most ⌈2F/N⌉ followers' streams (init spreads them round-robin).
 */
export const DEFAULT_FOLLOW = { fanout: 2, rangeBlocks: 64, retryMs: 500 } as const;

export async function loadFollowerConfig(path: string): Promise<FollowerConfig> {
  const { file, text } = await readConfigFile(path);
  return parseFollowerConfig(text, file);
}

export function parseFollowerConfig(text: string, file: string): FollowerConfig {
  const r = new FieldReader("BAD_CONFIG", file);
  const base = dirname(file);
  const doc = r.object(parseJsonDocument(text, r), "", ["type", "version", "followerIndex", "genesisFile", "dataDir", "rpc", "follow", "submit", "bls", "hash", "log"]);
  if (doc["type"] !== FOLLOWER_CONFIG_TYPE) r.fail("type", `must be "${FOLLOWER_CONFIG_TYPE}"`);
  r.int(doc, "version", "", FOLLOWER_CONFIG_VERSION, FOLLOWER_CONFIG_VERSION);
  const followerIndex = r.int(doc, "followerIndex", "", 0, 1_000_000);
  const genesisFile = resolve(base, r.string(doc, "genesisFile", ""));
  const dataDir = resolve(base, r.string(doc, "dataDir", ""));
  const rpc = rpcConfig(r, doc["rpc"]);
  const f = r.object(doc["follow"], "follow", ["upstreams", "fanout", "rangeBlocks", "retryMs"]);
  const upstreams = r.array(f, "upstreams", "follow", 1, 256).map((u, i) => hostPort(r, u, join("follow.upstreams", i), false));
  const follow: FollowPolicy = {
    upstreams,
    fanout: r.int(f, "fanout", "follow", 1, 16, DEFAULT_FOLLOW.fanout),
    rangeBlocks: r.int(f, "rangeBlocks", "follow", 1, 256, DEFAULT_FOLLOW.rangeBlocks),
    retryMs: r.int(f, "retryMs", "follow", 10, 60_000, DEFAULT_FOLLOW.retryMs),
  };
  const submit = doc["submit"] === undefined ? upstreams : r.array(doc, "submit", "", 1, 256).map((u, i) => hostPort(r, u, join("submit", i), false));
  const s = r.optObject(doc, "bls", "", ["backend"]);
  const bls = { backend: r.choice(s, "backend", "bls", BLS_BACKEND_NAMES, CONFIG_DEFAULTS.bls.backend) };
  const hs = r.optObject(doc, "hash", "", ["backend"]);
  const hash = hs["backend"] === undefined ? undefined : { backend: r.choice(hs, "backend", "hash", HASH_BACKENDS, HASH_BACKENDS[0]!) };
  const l = r.optObject(doc, "log", "", ["level"]);
  const log = { level: r.choice(l, "level", "log", LOG_LEVELS, CONFIG_DEFAULTS.log.level) };
  return { file, followerIndex, genesisFile, dataDir, rpc, follow, submit, bls, ...(hash !== undefined ? { hash } : {}), log };
}

/** The JSON document of a follower config (paths as given, relative to the file's directory). */
export function followerConfigJson(c: Omit<FollowerConfig, "file">): Record<string, unknown> {
  return {
    type: FOLLOWER_CONFIG_TYPE,
    version: FOLLOWER_CONFIG_VERSION,
    followerIndex: c.followerIndex,
    genesisFile: c.genesisFile,
    dataDir: c.dataDir,
    rpc: { ...c.rpc },
    follow: { ...c.follow, upstreams: c.follow.upstreams.map((u) => ({ ...u })) },
    submit: c.submit.map((u) => ({ ...u })),
    bls: { ...c.bls },
    ...(c.hash !== undefined ? { hash: { ...c.hash } } : {}),
    log: { ...c.log },
  };
}

/** `http://host:port` of an RPC address. */
export function rpcUrlOf(a: HostPort): string {
  return `http://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}
