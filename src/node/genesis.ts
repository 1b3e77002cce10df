/**
 * The genesis file: what every validator of one network must agree on byte for byte — the chain id, the genesis time,
 * the validator set (BLS public keys with their proofs of possession, in index order) and the consensus timing. The
 * genesis block is derived from it (chain/blocks.ts `buildGenesisBlock`), so two nodes with the same file start from
 * the same block hash, and a store written for another genesis refuses to open.
 *
 *   {
 *     "type": "quire-genesis", "version": 1,
 *     "chainId": "quire-local-5c1e0a9b",          1..64 bytes of UTF-8
 *     "genesisTimeMs": 1767225600000,             the genesis block's timestamp (ms since the Unix epoch)
 *     "validators": [{ "publicKey": "<96 hex>", "proofOfPossession": "<192 hex>" }, ...],
 *     "consensus": { "baseTimeoutMs": 1000, "backoffFactor": 2, "maxTimeoutMs": 16000 },
 *     "app": { "name": "quire", "bucketBits": 16, "modules": ["kv", "accounts", "paracross"] },
 *     "accounts": [{ "publicKey": "<64 hex: Ed25519>", "balance": 1000000 }, ...],      optional allocations
 *     "paras": [{ "title": "demo", "nodes": [{ "publicKey", "proofOfPossession" }, ...] }, ...]   optional
 *   }
 *
 * `app.name` "kv" (the first genesis files) means the KV module alone; "quire" lists its modules. Allocations become
 * the genesis block's mint txs (accounts/accountTx.ts), so the genesis block hash covers them. `paras` registers the
 * para chains whose commit messages the paracross module counts (src/chain/app/paracross/README.md): their nodes' BLS
 * keys, with proofs of possession checked like the validators'.
 *
 * Proofs of possession are verified when the file is loaded: same-message signature aggregation (every QC) is only
 * safe against rogue keys when each key came with one.
 */
import { readFile } from "node:fs/promises";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { BlsError } from "../crypto/bls/errors.js";
import { buildGenesisBlock } from "../chain/blocks.js";
import { DEFAULT_BUCKET_BITS } from "../chain/app/stateTree.js";
import { checkPacemaker } from "../consensus/pacemaker.js";
import type { PacemakerConfig } from "../consensus/pacemaker.js";
import { ConsensusError } from "../consensus/errors.js";
import { toHex, utf8 } from "../util/bytes.js";
import { MAX_CERT_SIGNERS, MAX_CHAIN_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "../domain/limits.js";
import type { Block } from "../domain/types.js";
import { NodeError } from "./errors.js";
import { FieldReader, join, parseJsonDocument } from "./fields.js";
import type { Json, JsonObject } from "./fields.js";
import type { AppSpec, ModuleName } from "../chain/app/build.js";
import { encodeAccountTxBody, MAX_TITLE_BYTES } from "../chain/app/accounts/accountTx.js";

export const GENESIS_TYPE = "quire-genesis";
export const GENESIS_VERSION = 1;

export interface GenesisValidator {
  readonly publicKey: Uint8Array;
  readonly proofOfPossession: Uint8Array;
}

/** The application modules a chain can run (src/chain/app/modular.ts). */
export type AppModuleName = ModuleName;
export const APP_MODULE_NAMES: readonly AppModuleName[] = ["kv", "accounts", "paracross"];

export interface GenesisApp {
  readonly name: "kv" | "quire";
  readonly bucketBits: number;
  readonly modules: readonly AppModuleName[];
}

/** A genesis allocation: an Ed25519 account and its starting balance. */
export interface GenesisAllocation {
  readonly publicKey: Uint8Array;
  readonly balance: number;
}

/** A para chain registered with the main chain's paracross module. */
export interface GenesisPara {
  readonly title: string;
  readonly nodes: readonly GenesisValidator[];
}

export interface Genesis {
  readonly chainId: string;
  /** `chainId` as bytes (what consensus signs and the store records). */
  readonly chainIdBytes: Uint8Array;
  readonly genesisTimeMs: number;
  readonly validators: readonly GenesisValidator[];
  readonly consensus: PacemakerConfig;
  readonly app: GenesisApp;
  readonly accounts: readonly GenesisAllocation[];
  readonly paras: readonly GenesisPara[];
}

/**
 * Consensus timing of new networks. The base view timer is what a crashed leader costs; 1 s is DESIGN's default and
 * leaves a 4-node cluster on this 2-core machine room for a proposal, two signature rounds and two fsyncs (a view
 * takes tens of ms under load).
 */
export const DEFAULT_CONSENSUS: PacemakerConfig = { baseTimeoutMs: 1_000, backoffFactor: 2, maxTimeoutMs: 16_000 };


/** The JSON document of a genesis. */
export type GenesisInput = Omit<Genesis, "chainIdBytes" | "app" | "accounts" | "paras"> & {
  readonly app: { readonly name: "kv" | "quire"; readonly bucketBits: number; readonly modules?: readonly AppModuleName[] };
  readonly accounts?: readonly GenesisAllocation[];
  readonly paras?: readonly GenesisPara[];
};

/** Every module: what `quire init` writes for a new network. */
export const DEFAULT_APP: GenesisApp = { name: "quire", bucketBits: DEFAULT_BUCKET_BITS, modules: APP_MODULE_NAMES };

export function genesisJson(g: GenesisInput): Record<string, unknown> {
  const accounts = g.accounts ?? [];
  const paras = g.paras ?? [];
  return {
    type: GENESIS_TYPE,
    version: GENESIS_VERSION,
    chainId: g.chainId,
    genesisTimeMs: g.genesisTimeMs,
    validators: g.validators.map(validatorJson),
    consensus: { ...g.consensus },
    app: g.app.name === "kv" ? { name: "kv", bucketBits: g.app.bucketBits } : { name: g.app.name, bucketBits: g.app.bucketBits, modules: [...(g.app.modules ?? APP_MODULE_NAMES)] },
    ...(accounts.length > 0 ? { accounts: accounts.map((a) => ({ publicKey: toHex(a.publicKey), balance: a.balance })) } : {}),
    ...(paras.length > 0 ? { paras: paras.map((p) => ({ title: p.title, nodes: p.nodes.map(validatorJson) })) } : {}),
  };
}

function validatorJson(v: GenesisValidator): Record<string, string> {
  return { publicKey: toHex(v.publicKey), proofOfPossession: toHex(v.proofOfPossession) };
}

/** Reads, validates and checks the proofs of possession of a genesis file. */
export async function loadGenesis(path: string, backend: BlsBackend): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new NodeError("BAD_GENESIS", `cannot read genesis file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: path });
  }
  return parseGenesis(text, path, backend);
}

export async function parseGenesis(text: string, file: string, backend: BlsBackend): Promise<Genesis> {
  const r = new FieldReader("BAD_GENESIS", file);
  const doc = r.object(parseJsonDocument(text, r), "", ["type", "version", "chainId", "genesisTimeMs", "validators", "consensus", "app", "accounts", "paras"]);
  if (doc["type"] !== GENESIS_TYPE) r.fail("type", `must be "${GENESIS_TYPE}"`);
  r.int(doc, "version", "", GENESIS_VERSION, GENESIS_VERSION);
  const chainId = r.string(doc, "chainId", "");
  const chainIdBytes = utf8(chainId);
  if (chainIdBytes.length > MAX_CHAIN_ID_BYTES) r.fail("chainId", `must be at most ${MAX_CHAIN_ID_BYTES} bytes of UTF-8, got ${chainIdBytes.length}`);
  const genesisTimeMs = r.int(doc, "genesisTimeMs", "", 0, Number.MAX_SAFE_INTEGER);
  const validators = await parseBlsKeys(r, doc, "validators", backend);
  const c = r.optObject(doc, "consensus", "", ["baseTimeoutMs", "backoffFactor", "maxTimeoutMs"]);
  const consensus: PacemakerConfig = {
    baseTimeoutMs: r.int(c, "baseTimeoutMs", "consensus", 1, 3_600_000, DEFAULT_CONSENSUS.baseTimeoutMs),
    backoffFactor: r.number(c, "backoffFactor", "consensus", 1, 16, DEFAULT_CONSENSUS.backoffFactor),
    maxTimeoutMs: r.int(c, "maxTimeoutMs", "consensus", 1, 3_600_000, DEFAULT_CONSENSUS.maxTimeoutMs),
  };
  try {
    checkPacemaker(consensus);
  } catch (e) {
    if (e instanceof ConsensusError) r.fail("consensus.maxTimeoutMs", "must be at least consensus.baseTimeoutMs");
    throw e;
  }
  const a = r.optObject(doc, "app", "", ["name", "bucketBits", "modules"]);
  const name = r.choice(a, "name", "app", ["kv", "quire"] as const, "kv");
  const bucketBits = r.int(a, "bucketBits", "app", 1, 16, DEFAULT_BUCKET_BITS);
  let modules: AppModuleName[] = ["kv"];
  if (name === "quire") {
    const list = r.array(a, "modules", "app", 1, APP_MODULE_NAMES.length);
    modules = [];
    for (let i = 0; i < list.length; i++) {
      const m = list[i];
      if (typeof m !== "string" || !(APP_MODULE_NAMES as readonly string[]).includes(m)) r.fail(join("app.modules", i), `must be one of ${APP_MODULE_NAMES.join(", ")}`);
      if (modules.includes(m as AppModuleName)) r.fail(join("app.modules", i), `lists ${m} twice`);
      modules.push(m as AppModuleName);
    }
    if (modules.includes("paracross") && !modules.includes("accounts")) r.fail("app.modules", "paracross needs accounts (escrows and withdrawal credits)");
  } else if (a["modules"] !== undefined) r.fail("app.modules", 'only an app named "quire" lists modules');
  const app: GenesisApp = { name, bucketBits, modules };
  const accounts: GenesisAllocation[] = [];
  if (doc["accounts"] !== undefined) {
    if (!modules.includes("accounts")) r.fail("accounts", "allocations need the accounts module in app.modules");
    const list = r.array(doc, "accounts", "", 0, MAX_GENESIS_ACCOUNTS);
    const seenAcc = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const field = join("accounts", i);
      const o = r.object(list[i] as Json, field, ["publicKey", "balance"]);
      const publicKey = r.hex(o, "publicKey", field, 32);
      const balance = r.int(o, "balance", field, 1, Number.MAX_SAFE_INTEGER);
      if (seenAcc.has(toHex(publicKey))) r.fail(join(field, "publicKey"), "is allocated twice");
      seenAcc.add(toHex(publicKey));
      accounts.push({ publicKey, balance });
    }
    const total = accounts.reduce((s, x) => s + x.balance, 0);
    if (!Number.isSafeInteger(total)) r.fail("accounts", "the allocations add up to more than 2^53 - 1");
  }
  const paras: GenesisPara[] = [];
  if (doc["paras"] !== undefined) {
    if (!modules.includes("paracross")) r.fail("paras", "para chains need the paracross module in app.modules");
    const list = r.array(doc, "paras", "", 0, MAX_GENESIS_PARAS);
    for (let i = 0; i < list.length; i++) {
      const field = join("paras", i);
      const o = r.object(list[i] as Json, field, ["title", "nodes"]);
      const title = r.string(o, "title", field);
      const tb = utf8(title);
      if (tb.length === 0 || tb.length > MAX_TITLE_BYTES) r.fail(join(field, "title"), `must be 1..${MAX_TITLE_BYTES} bytes of UTF-8`);
      if (paras.some((p) => p.title === title)) r.fail(join(field, "title"), `registers "${title}" twice`);
      paras.push({ title, nodes: await parseBlsKeys(r, o, "nodes", backend, field) });
    }
  }
  return { chainId, chainIdBytes, genesisTimeMs, validators, consensus, app, accounts, paras };
}

/** Most genesis allocations and registered para chains a genesis may carry. */
export const MAX_GENESIS_ACCOUNTS = 100_000;
export const MAX_GENESIS_PARAS = 64;

/**
 * A list of BLS keys with proofs of possession (validators, para nodes): each key valid, distinct, and its proof
 * verified — same-message aggregation (QCs, para commits) is only safe against rogue keys when each key came with one.
 */
export async function parseBlsKeys(r: FieldReader, doc: JsonObject, key: string, backend: BlsBackend, parent = ""): Promise<GenesisValidator[]> {
  const where = parent === "" ? key : join(parent, key);
  const list = r.array(doc, key, parent, 1, MAX_CERT_SIGNERS);
  const out: GenesisValidator[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < list.length; i++) {
    const field = join(where, i);
    const v = r.object(list[i] as Json, field, ["publicKey", "proofOfPossession"]);
    const publicKey = r.hex(v, "publicKey", field, PUBLIC_KEY_BYTES);
    const proofOfPossession = r.hex(v, "proofOfPossession", field, SIGNATURE_BYTES);
    const k = toHex(publicKey);
    const dup = seen.get(k);
    if (dup !== undefined) r.fail(join(field, "publicKey"), `is the same key as ${where}[${dup}]`);
    seen.set(k, i);
    let ok = false;
    try {
      ok = await backend.popVerify(backend.publicKeyFromBytes(publicKey), backend.signatureFromBytes(proofOfPossession));
    } catch (e) {
      if (!(e instanceof BlsError)) throw e;
      r.fail(join(field, "publicKey"), `is not a valid BLS12-381 key or proof (${e.code})`);
    }
    if (!ok) r.fail(join(field, "proofOfPossession"), "is not a valid proof of possession for publicKey");
    out.push({ publicKey, proofOfPossession });
  }
  return out;
}

/** What the chain's application is built from (chain/app/build.ts). */
export function appSpecOf(g: Genesis): AppSpec {
  return {
    bucketBits: g.app.bucketBits,
    modules: g.app.modules,
    chainId: g.chainIdBytes,
    paras: g.paras.map((p) => ({ title: p.title, nodes: p.nodes.map((n) => n.publicKey) })),
  };
}

/** The genesis block (height 0, no transactions) every validator of this genesis starts from. */
export function genesisBlock(g: Genesis): Block {
  const txs = g.accounts.map((a) => encodeAccountTxBody({ op: "mint", from: a.publicKey, nonce: 0, amount: a.balance }));
  return buildGenesisBlock({ timestampMs: g.genesisTimeMs, txs });
}
