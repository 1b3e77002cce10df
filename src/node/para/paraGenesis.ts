/**
 * The para genesis file (`quire-para-genesis` v1, paracross README "Chains and genesis"): what every node of one para
 * chain agrees on before its first block — its title and chain id, the main chain it follows (id and genesis hash) and
 * the main height it starts from, its nodes' BLS keys with proofs of possession (the same list, in the same order, as
 * the main genesis's `paras` entry), its block policy and its modules.
 *
 *   {"type": "quire-para-genesis", "version": 1, "title", "chainId", "mainChainId", "mainGenesisHash",
 *    "startHeight", "genesisTimeMs", "nodes": [{publicKey, proofOfPossession}],
 *    "blockPolicy": {"emptyBlockInterval": 1}, "app": {"bucketBits": 16, "modules": ["kv", "accounts"]}}
 *
 * Parsed with field-named errors (`NodeError` BAD_GENESIS) and every proof of possession verified, as genesis.ts does.
 */
import { readFile } from "node:fs/promises";
import type { AppSpec, ModuleName } from "../../chain/app/build.js";
import { MAX_TITLE_BYTES } from "../../chain/app/accounts/accountTx.js";
import { DEFAULT_BUCKET_BITS } from "../../chain/app/stateTree.js";
import { buildGenesisBlock } from "../../chain/blocks.js";
import type { BlsBackend } from "../../crypto/bls/backend.js";
import { MAX_CHAIN_ID_BYTES } from "../../domain/limits.js";
import type { Block } from "../../domain/types.js";
import { toHex, utf8 } from "../../util/bytes.js";
import { NodeError } from "../errors.js";
import { FieldReader, join, parseJsonDocument } from "../fields.js";
import type { Json } from "../fields.js";
import { parseBlsKeys } from "../genesis.js";
import type { GenesisValidator } from "../genesis.js";

export const PARA_GENESIS_TYPE = "quire-para-genesis";
export const PARA_GENESIS_VERSION = 1;
/** The modules a para chain may run: no paracross (a para chain has no para chains of its own). */
export const PARA_MODULE_NAMES: readonly ModuleName[] = ["kv", "accounts"];

/** How a para chain turns main blocks into para blocks. */
export interface ParaBlockPolicy {
  /** A para block every k main blocks even when nothing was packed (k = 1: one per main block). */
  readonly emptyBlockInterval: number;
}

export const DEFAULT_PARA_BLOCK_POLICY: ParaBlockPolicy = { emptyBlockInterval: 1 };
/** Longest empty-block interval: a para height at least once a day at one main block per second. */
export const MAX_EMPTY_BLOCK_INTERVAL = 86_400;

export interface ParaGenesis {
  readonly title: string;
  readonly chainId: string;
  readonly chainIdBytes: Uint8Array;
  readonly mainChainId: string;
  /** The main chain's genesis block hash (32 bytes). */
  readonly mainGenesisHash: Uint8Array;
  /** The first main height the para chain takes blocks from (≥ 1). */
  readonly startHeight: number;
  readonly genesisTimeMs: number;
  readonly nodes: readonly GenesisValidator[];
  readonly blockPolicy: ParaBlockPolicy;
  readonly app: { readonly bucketBits: number; readonly modules: readonly ModuleName[] };
}

export async function loadParaGenesis(path: string, backend: BlsBackend): Promise<ParaGenesis> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new NodeError("BAD_GENESIS", `cannot read para genesis file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: path });
  }
  return parseParaGenesis(text, path, backend);
}

export async function parseParaGenesis(text: string, file: string, backend: BlsBackend): Promise<ParaGenesis> {
  const r = new FieldReader("BAD_GENESIS", file);
  const doc = r.object(parseJsonDocument(text, r), "", ["type", "version", "title", "chainId", "mainChainId", "mainGenesisHash", "startHeight", "genesisTimeMs", "nodes", "blockPolicy", "app"]);
  if (doc["type"] !== PARA_GENESIS_TYPE) r.fail("type", `must be "${PARA_GENESIS_TYPE}"`);
  r.int(doc, "version", "", PARA_GENESIS_VERSION, PARA_GENESIS_VERSION);
  const title = r.string(doc, "title", "");
  const tb = utf8(title).length;
  if (tb > MAX_TITLE_BYTES) r.fail("title", `must be 1..${MAX_TITLE_BYTES} bytes of UTF-8, got ${tb}`);
  const chainId = r.string(doc, "chainId", "");
  const chainIdBytes = utf8(chainId);
  if (chainIdBytes.length > MAX_CHAIN_ID_BYTES) r.fail("chainId", `must be at most ${MAX_CHAIN_ID_BYTES} bytes of UTF-8, got ${chainIdBytes.length}`);
  const mainChainId = r.string(doc, "mainChainId", "");
  if (mainChainId === chainId) r.fail("chainId", "must differ from mainChainId: account signatures are bound to the chain id");
  const mainGenesisHash = r.hex(doc, "mainGenesisHash", "", 32);
  const startHeight = r.int(doc, "startHeight", "", 1, Number.MAX_SAFE_INTEGER);
  const genesisTimeMs = r.int(doc, "genesisTimeMs", "", 0, Number.MAX_SAFE_INTEGER);
  const nodes = await parseBlsKeys(r, doc, "nodes", backend);
  const bp = r.optObject(doc, "blockPolicy", "", ["emptyBlockInterval"]);
  const blockPolicy: ParaBlockPolicy = { emptyBlockInterval: r.int(bp, "emptyBlockInterval", "blockPolicy", 1, MAX_EMPTY_BLOCK_INTERVAL, DEFAULT_PARA_BLOCK_POLICY.emptyBlockInterval) };
  const a = r.optObject(doc, "app", "", ["bucketBits", "modules"]);
  const bucketBits = r.int(a, "bucketBits", "app", 1, 16, DEFAULT_BUCKET_BITS);
  let modules: ModuleName[] = [...PARA_MODULE_NAMES];
  if (a["modules"] !== undefined) {
    const list = r.array(a, "modules", "app", 1, PARA_MODULE_NAMES.length);
    modules = [];
    for (let i = 0; i < list.length; i++) {
      const m = list[i] as Json;
      if (typeof m !== "string" || !(PARA_MODULE_NAMES as readonly string[]).includes(m)) r.fail(join("app.modules", i), `must be one of ${PARA_MODULE_NAMES.join(", ")}`);
      if (modules.includes(m as ModuleName)) r.fail(join("app.modules", i), `lists ${m} twice`);
      modules.push(m as ModuleName);
    }
  }
  return { title, chainId, chainIdBytes, mainChainId, mainGenesisHash, startHeight, genesisTimeMs, nodes, blockPolicy, app: { bucketBits, modules } };
}

/** The JSON document of a para genesis (what `writeParaChain` writes and `GET /v1/genesis` of a para node answers). */
export function paraGenesisJson(g: Omit<ParaGenesis, "chainIdBytes">): Record<string, unknown> {
  return {
    type: PARA_GENESIS_TYPE,
    version: PARA_GENESIS_VERSION,
    title: g.title,
    chainId: g.chainId,
    mainChainId: g.mainChainId,
    mainGenesisHash: toHex(g.mainGenesisHash),
    startHeight: g.startHeight,
    genesisTimeMs: g.genesisTimeMs,
    nodes: g.nodes.map((n) => ({ publicKey: toHex(n.publicKey), proofOfPossession: toHex(n.proofOfPossession) })),
    blockPolicy: { ...g.blockPolicy },
    app: { bucketBits: g.app.bucketBits, modules: [...g.app.modules] },
  };
}

/** The para genesis block: height 0, no txs, stamped with the para genesis time. */
export function paraGenesisBlock(g: ParaGenesis): Block {
  return buildGenesisBlock({ timestampMs: g.genesisTimeMs });
}

/** What the para chain's application is built from (chain/app/build.ts). */
export function paraAppSpec(g: ParaGenesis): AppSpec {
  return { bucketBits: g.app.bucketBits, modules: g.app.modules, chainId: g.chainIdBytes, paraTitle: g.title };
}
