/**
 * The para node's config file (`quire-para-node-config` v1), validated with field-named errors like the validator's
 * (config.ts). `quire node --config FILE` reads the file's `type` and starts a validator or a para node.
 *
 *   {"type": "quire-para-node-config", "version": 1, "nodeIndex", "paraGenesisFile", "keyFile", "dataDir",
 *    "rpc": {host, port}, "mainRpc": ["http://127.0.0.1:26601", ...],
 *    "blockPolicy"?: {"emptyBlockInterval"} (default: the para genesis's),
 *    "sender"?: {"notificationQueue": 100, "maxCommitsPerTx": 20, "resendAfterBlocks": 2, "stallAfterBlocks": 100},
 *    "log"?: {"level"}}
 *
 * Paths are relative to the config file's directory. `blockPolicy` exists to run the seed's scenario of two para nodes
 * on different policies (they build different chains and never agree); leave it out otherwise.
 */
import { dirname, resolve } from "node:path";
import { MAX_COMMITS_PER_TX } from "../../chain/app/paracross/format.js";
import { MAX_CERT_SIGNERS } from "../../domain/limits.js";
import { LOG_LEVELS } from "../config.js";
import type { LogLevel } from "../config.js";
import { FieldReader, join, parseJsonDocument, readConfigFile } from "../fields.js";
import type { Json } from "../fields.js";
import type { ParaBlockPolicy } from "./paraGenesis.js";
import { MAX_EMPTY_BLOCK_INTERVAL } from "./paraGenesis.js";
import type { ParaSenderOptions } from "./sender.js";

export const PARA_CONFIG_TYPE = "quire-para-node-config";
export const PARA_CONFIG_VERSION = 1;

export type SenderConfig = Omit<ParaSenderOptions, "title" | "nodeIndex">;

/** The seed's sender rules. */
export const DEFAULT_SENDER: SenderConfig = { notificationQueue: 100, maxCommitsPerTx: MAX_COMMITS_PER_TX, resendAfterBlocks: 2, stallAfterBlocks: 100 };

export interface ParaNodeConfig {
  /** The config file (absolute). */
  readonly file: string;
  readonly nodeIndex: number;
  readonly paraGenesisFile: string;
  readonly keyFile: string;
  readonly dataDir: string;
  readonly rpc: { readonly host: string; readonly port: number };
  /** Main nodes' RPC base URLs, tried in order (the next one on a failure). */
  readonly mainRpc: readonly string[];
  /** Overrides the para genesis's block policy (test scenarios only). */
  readonly blockPolicy?: ParaBlockPolicy;
  readonly sender: SenderConfig;
  readonly log: { readonly level: LogLevel };
}

export async function loadParaNodeConfig(path: string): Promise<ParaNodeConfig> {
  const { file, text } = await readConfigFile(path);
  return parseParaNodeConfig(text, file);
}

export function parseParaNodeConfig(text: string, file: string): ParaNodeConfig {
  const r = new FieldReader("BAD_CONFIG", file);
  const base = dirname(file);
  const doc = r.object(parseJsonDocument(text, r), "", ["type", "version", "nodeIndex", "paraGenesisFile", "keyFile", "dataDir", "rpc", "mainRpc", "blockPolicy", "sender", "log"]);
  if (doc["type"] !== PARA_CONFIG_TYPE) r.fail("type", `must be "${PARA_CONFIG_TYPE}"`);
  r.int(doc, "version", "", PARA_CONFIG_VERSION, PARA_CONFIG_VERSION);
  const nodeIndex = r.int(doc, "nodeIndex", "", 0, MAX_CERT_SIGNERS - 1);
  const path = (key: string) => resolve(base, r.string(doc, key, ""));
  const paraGenesisFile = path("paraGenesisFile");
  const keyFile = path("keyFile");
  const dataDir = path("dataDir");
  const ro = r.object(doc["rpc"], "rpc", ["host", "port"]);
  const rpc = { host: r.host(ro, "host", "rpc"), port: r.int(ro, "port", "rpc", 0, 65_535) };
  const list = r.array(doc, "mainRpc", "", 1, 64);
  const mainRpc = list.map((u, i) => mainUrl(r, u, join("mainRpc", i)));
  let blockPolicy: ParaBlockPolicy | undefined;
  if (doc["blockPolicy"] !== undefined) {
    const bp = r.object(doc["blockPolicy"], "blockPolicy", ["emptyBlockInterval"]);
    blockPolicy = { emptyBlockInterval: r.int(bp, "emptyBlockInterval", "blockPolicy", 1, MAX_EMPTY_BLOCK_INTERVAL) };
  }
  const s = r.optObject(doc, "sender", "", ["notificationQueue", "maxCommitsPerTx", "resendAfterBlocks", "stallAfterBlocks"]);
  const d = DEFAULT_SENDER;
  const sender: SenderConfig = {
    notificationQueue: r.int(s, "notificationQueue", "sender", 1, 1_000_000, d.notificationQueue),
    maxCommitsPerTx: r.int(s, "maxCommitsPerTx", "sender", 1, MAX_COMMITS_PER_TX, d.maxCommitsPerTx),
    resendAfterBlocks: r.int(s, "resendAfterBlocks", "sender", 1, 1_000_000, d.resendAfterBlocks),
    stallAfterBlocks: r.int(s, "stallAfterBlocks", "sender", 1, 1_000_000_000, d.stallAfterBlocks),
  };
  const l = r.optObject(doc, "log", "", ["level"]);
  const log = { level: r.choice(l, "level", "log", LOG_LEVELS, "info") };
  return { file, nodeIndex, paraGenesisFile, keyFile, dataDir, rpc, mainRpc, ...(blockPolicy !== undefined ? { blockPolicy } : {}), sender, log };
}

function mainUrl(r: FieldReader, v: Json | undefined, field: string): string {
  if (typeof v !== "string") return r.fail(field, "must be a URL string such as http://127.0.0.1:26601");
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return r.fail(field, `is not a URL: ${JSON.stringify(v)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") r.fail(field, "must be an http:// or https:// URL");
  // The config is served by GET /v1/config: a URL must not carry a secret (credentials or a token in the query).
  if (u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") r.fail(field, "must not carry credentials, a query or a fragment");
  return v.replace(/\/+$/, "");
}

/** The JSON document of a para node config (paths as given). */
export function paraNodeConfigJson(c: Omit<ParaNodeConfig, "file">): Record<string, unknown> {
  return {
    type: PARA_CONFIG_TYPE,
    version: PARA_CONFIG_VERSION,
    nodeIndex: c.nodeIndex,
    paraGenesisFile: c.paraGenesisFile,
    keyFile: c.keyFile,
    dataDir: c.dataDir,
    rpc: { ...c.rpc },
    mainRpc: [...c.mainRpc],
    ...(c.blockPolicy !== undefined ? { blockPolicy: { ...c.blockPolicy } } : {}),
    sender: { ...c.sender },
    log: { ...c.log },
  };
}
