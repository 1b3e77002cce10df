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
 *     "consensus": { "baseTimeoutMs": 1000, "backoffFactor": 2, "maxTimeoutMs": 16000,
 *                    "leaderMode": "reputation", "leaderWeights": [3, 1, 1, 1] },   both optional (see below)
 *     "app": { "name": "quire", "bucketBits": 16, "modules": ["kv", "accounts", "paracross"] },
 *     "accounts": [{ "publicKey": "<64 hex: Ed25519>", "balance": 1000000 }, ...],      optional allocations
 *     "paras": [{ "title": "demo", "nodes": [{ "publicKey", "proofOfPossession" }, ...] }, ...]   optional
 *     "network": { "id": "quire-net-5c1e", "shard": 0,                                   optional: a shard
 *                  "shards": [{ "chainId": "quire-net-5c1e-s0", "validators": [{ "publicKey", "proofOfPossession" }, ...] }, ...] }
 *   }
 *
 * `app.name` "kv" (the first genesis files) means the KV module alone; "quire" lists its modules. Allocations become
 * the genesis block's mint txs (accounts/accountTx.ts), so the genesis block hash covers them. `paras` registers the
 * para chains whose commit messages the paracross module counts (src/chain/app/paracross/README.md): their nodes' BLS
 * keys, with proofs of possession checked like the validators'.
 *
 * `network` makes the chain one shard of a sharded network (`quire init --shards`, src/chain/app/xshard/README.md): the same
 * section in every shard's genesis except `shard`, this chain's index. The entry at `shard` must be this genesis's own
 * chain id and validators; chain ids are distinct; 1..256 shards. The xshard module verifies other shards' commit
 * proofs against it, so it is required with that module (and the module with it, beside accounts), and every
 * allocation must be an account of this shard (`shardOf`, chain/app/xshard/network.ts).
 *
 * `consensus.leaderMode` picks who leads a view (consensus/leaderElection.ts `buildLeaderElection`): `skip-inactive`
 * (the default: round robin over the validators active in a recent window), `round-robin`, `sticky`, `weighted`
 * (`leaderWeights`: one positive integer per validator, required with it and refused without it) or `reputation`
 * (weights from the reputation scores). Absent, the document keeps its old bytes.
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
import { LEADER_MODES } from "../consensus/leaderElection.js";
import { committeeSafe, MIN_COMMITTEE_EVERY, smallestSafeCommittee } from "../chain/app/validators/module.js";
import type { CommitteeConfig } from "../chain/app/validators/module.js";
import type { LeaderConfig } from "../consensus/leaderElection.js";
import { bitmapSignerSets } from "../consensus/adapters/bitmapSignerSets.js";
import { BlsScheme } from "../consensus/adapters/blsScheme.js";
import { SchemeCertificates } from "../consensus/scheme.js";
import { ConsensusError } from "../consensus/errors.js";
import { bytesEqual, toHex, utf8 } from "../util/bytes.js";
import { MAX_CERT_SIGNERS, MAX_CHAIN_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "../domain/limits.js";
import type { Block } from "../domain/types.js";
import { NodeError } from "./errors.js";
import { FieldReader, join, parseJsonDocument } from "./fields.js";
import type { Json, JsonObject } from "./fields.js";
import type { AppSpec, ModuleName } from "../chain/app/build.js";
import { encodeAccountTxBody, MAX_TITLE_BYTES } from "../chain/app/accounts/accountTx.js";
import { shardOf } from "../chain/app/xshard/network.js";
import { encodeNetworkTx, networkDigest } from "../chain/app/xshard/format.js";
import type { ShardNetwork } from "../chain/app/xshard/network.js";
import { defaultHasher } from "../crypto/hash/backends.js";

export const GENESIS_TYPE = "quire-genesis";
export const GENESIS_VERSION = 1;

export interface GenesisValidator {
  readonly publicKey: Uint8Array;
  readonly proofOfPossession: Uint8Array;
}

/** The application modules a chain can run (src/chain/app/modular.ts). */
export type AppModuleName = ModuleName;
export const APP_MODULE_NAMES: readonly AppModuleName[] = ["kv", "accounts", "paracross", "xshard", "validators", "evidence"];

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

/** One shard of a sharded network, as every shard's genesis lists it. */
export interface GenesisShard {
  readonly chainId: string;
  readonly validators: readonly GenesisValidator[];
}

/**
 * The `network` section: the network this chain is part `shard` of. `kind` "shards" (the default, and the only kind
 * before geo clusters): a sharded network, accounts live on their shard, the xshard module carries transfers.
 * "clusters": a geo network (node/geo/README.md), every chain a cluster that orders transactions, all of them
 * executed in one global order; `shard` is then the cluster's index and `shards` the clusters.
 */
export interface GenesisNetwork {
  readonly id: string;
  readonly kind?: NetworkKind;
  readonly shard: number;
  readonly shards: readonly GenesisShard[];
}

export type NetworkKind = "shards" | "clusters";

/** Whether this genesis makes its chain a cluster of a geo network. */
export function isGeoCluster(g: Genesis): boolean {
  return g.network?.kind === "clusters";
}

/** Most shards a network may have. */
export const MAX_SHARDS = 256;

export interface Genesis {
  readonly chainId: string;
  /** `chainId` as bytes (what consensus signs and the store records). */
  readonly chainIdBytes: Uint8Array;
  readonly genesisTimeMs: number;
  readonly validators: readonly GenesisValidator[];
  /** `committee`: committees by reputation (chain/app/validators/README.md, *Committees*); absent: none. */
  readonly consensus: PacemakerConfig & LeaderConfig & { readonly committee?: CommitteeConfig };
  readonly app: GenesisApp;
  readonly accounts: readonly GenesisAllocation[];
  readonly paras: readonly GenesisPara[];
  /** Set on a shard of a sharded network. */
  readonly network?: GenesisNetwork;
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

/** What `quire init` writes for a new unsharded network: every module but xshard (which needs a `network`). */
export const DEFAULT_APP: GenesisApp = { name: "quire", bucketBits: DEFAULT_BUCKET_BITS, modules: ["kv", "accounts", "paracross"] };
/** What `quire init --clusters` writes for each cluster: ordered there, executed in the global order (node/geo). */
export const GEO_APP: GenesisApp = { name: "quire", bucketBits: DEFAULT_BUCKET_BITS, modules: ["kv", "accounts"] };
/** What `quire init --shards` writes for each shard. */
export const SHARD_APP: GenesisApp = { name: "quire", bucketBits: DEFAULT_BUCKET_BITS, modules: ["kv", "accounts", "xshard"] };

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
    app: g.app.name === "kv" ? { name: "kv", bucketBits: g.app.bucketBits } : { name: g.app.name, bucketBits: g.app.bucketBits, modules: [...(g.app.modules ?? DEFAULT_APP.modules)] },
    ...(accounts.length > 0 ? { accounts: accounts.map((a) => ({ publicKey: toHex(a.publicKey), balance: a.balance })) } : {}),
    ...(paras.length > 0 ? { paras: paras.map((p) => ({ title: p.title, nodes: p.nodes.map(validatorJson) })) } : {}),
    ...(g.network !== undefined
      ? { network: { id: g.network.id, ...(g.network.kind === "clusters" ? { kind: "clusters" } : {}), shard: g.network.shard, shards: g.network.shards.map((s) => ({ chainId: s.chainId, validators: s.validators.map(validatorJson) })) } }
      : {}),
  };
}

/** Most weight one validator may hold in `weighted` mode (the draw is over 32 bits). */
export const MAX_LEADER_WEIGHT = 1_000_000;

/** `consensus.leaderMode` and `consensus.leaderWeights`, absent fields left out (old documents keep their bytes). */
function parseLeaderConfig(r: FieldReader, c: JsonObject, validators: number): LeaderConfig {
  if (c["leaderMode"] === undefined) {
    if (c["leaderWeights"] !== undefined) r.fail("consensus.leaderWeights", 'only with consensus.leaderMode "weighted"');
    return {};
  }
  const leaderMode = r.choice(c, "leaderMode", "consensus", LEADER_MODES, "skip-inactive");
  if (leaderMode !== "weighted") {
    if (c["leaderWeights"] !== undefined) r.fail("consensus.leaderWeights", 'only with consensus.leaderMode "weighted"');
    return { leaderMode };
  }
  const list = r.array(c, "leaderWeights", "consensus", validators, validators);
  const leaderWeights = list.map((w, i) => {
    if (typeof w !== "number" || !Number.isInteger(w) || w < 1 || w > MAX_LEADER_WEIGHT) r.fail(join("consensus.leaderWeights", i), `must be an integer in 1..${MAX_LEADER_WEIGHT}`);
    return w;
  });
  return { leaderMode, leaderWeights };
}

/** `consensus.committee`: `{ size, everyHeights }`, checked as the validators module checks it. */
function parseCommittee(r: FieldReader, c: JsonObject, validators: number): CommitteeConfig {
  const o = r.optObject(c, "committee", "consensus", ["size", "everyHeights"]);
  const size = r.int(o, "size", "consensus.committee", 1, validators);
  const everyHeights = r.int(o, "everyHeights", "consensus.committee", MIN_COMMITTEE_EVERY, 1_000_000_000);
  if (!committeeSafe(size, validators)) r.fail("consensus.committee.size", `${size} is unsafe for ${validators} validators: two quorums of the committee must share more than the f that may be Byzantine; the smallest safe size is ${smallestSafeCommittee(validators)}`);
  return { size, everyHeights };
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
  const doc = r.object(parseJsonDocument(text, r), "", ["type", "version", "chainId", "genesisTimeMs", "validators", "consensus", "app", "accounts", "paras", "network"]);
  if (doc["type"] !== GENESIS_TYPE) r.fail("type", `must be "${GENESIS_TYPE}"`);
  r.int(doc, "version", "", GENESIS_VERSION, GENESIS_VERSION);
  const chainId = r.string(doc, "chainId", "");
  const chainIdBytes = utf8(chainId);
  if (chainIdBytes.length > MAX_CHAIN_ID_BYTES) r.fail("chainId", `must be at most ${MAX_CHAIN_ID_BYTES} bytes of UTF-8, got ${chainIdBytes.length}`);
  // Epochs after the first sign under `len ‖ chainId ‖ 0x00 ‖ u64 epoch` (consensus/signing.ts epochDomain): a chain id
  // without control characters can never equal such a domain, so no chain's epoch-0 signatures count in another's
  // later epoch.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(chainId)) r.fail("chainId", "must not contain control characters");
  const genesisTimeMs = r.int(doc, "genesisTimeMs", "", 0, Number.MAX_SAFE_INTEGER);
  const validators = await parseBlsKeys(r, doc, "validators", backend);
  const c = r.optObject(doc, "consensus", "", ["baseTimeoutMs", "backoffFactor", "maxTimeoutMs", "leaderMode", "leaderWeights", "committee"]);
  const consensus: Genesis["consensus"] = {
    baseTimeoutMs: r.int(c, "baseTimeoutMs", "consensus", 1, 3_600_000, DEFAULT_CONSENSUS.baseTimeoutMs),
    backoffFactor: r.number(c, "backoffFactor", "consensus", 1, 16, DEFAULT_CONSENSUS.backoffFactor),
    maxTimeoutMs: r.int(c, "maxTimeoutMs", "consensus", 1, 3_600_000, DEFAULT_CONSENSUS.maxTimeoutMs),
    ...parseLeaderConfig(r, c, validators.length),
    ...(c["committee"] === undefined ? {} : { committee: parseCommittee(r, c, validators.length) }),
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
    if (modules.includes("xshard") && !modules.includes("accounts")) r.fail("app.modules", "xshard needs accounts (cross-shard debits and credits)");
    // Other shards verify a shard's commits with the sets the network section lists: a shard's set cannot change.
    // Evidence txs name genesis indices and are checked against the genesis keys (chain/app/evidence/module.ts).
    if (modules.includes("evidence") && modules.includes("validators")) r.fail("app.modules", "evidence: proofs are checked against the genesis set, which the validators module changes");
    if (modules.includes("validators") && doc["network"] !== undefined) r.fail("app.modules", "validators: a shard's validator set is fixed by the network section (the other shards verify its commits with it)");
  } else if (a["modules"] !== undefined) r.fail("app.modules", 'only an app named "quire" lists modules');
  const app: GenesisApp = { name, bucketBits, modules };
  if (consensus.committee !== undefined && !modules.includes("validators")) r.fail("consensus.committee", "needs the validators module in app.modules (committees are its epochs)");
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
  let network: GenesisNetwork | undefined;
  if (doc["network"] !== undefined) network = await parseNetwork(r, doc, chainId, validators, backend);
  const sharded = network !== undefined && network.kind !== "clusters";
  if (modules.includes("xshard") !== sharded) {
    if (network === undefined) r.fail("network", "the xshard module needs the network section (quire init --shards writes it)");
    if (!sharded) r.fail("app.modules", "a geo cluster (network.kind clusters) runs no xshard module: its transactions execute in the global order");
    r.fail("app.modules", "a shard of a network (network) must run the accounts and xshard modules");
  }
  if (network !== undefined && !sharded && (modules.includes("validators") || modules.includes("paracross"))) r.fail("app.modules", "a geo cluster runs kv and accounts only (no validator-set changes or para chains yet)");
  if (network !== undefined && sharded) {
    const hasher = defaultHasher();
    accounts.forEach((a, i) => {
      const home = shardOf(a.publicKey, network.shards.length, hasher);
      if (home !== network.shard) r.fail(join(join("accounts", i), "publicKey"), `is an account of shard ${home}, not of this shard (${network.shard})`);
    });
  }
  return { chainId, chainIdBytes, genesisTimeMs, validators, consensus, app, accounts, paras, ...(network !== undefined ? { network } : {}) };
}

/**
 * The `network` section: ids valid and distinct, this chain at `shard` (its own chain id and validators, already
 * verified), every other shard's validators with verified proofs of possession.
 */
async function parseNetwork(r: FieldReader, doc: JsonObject, chainId: string, validators: readonly GenesisValidator[], backend: BlsBackend): Promise<GenesisNetwork> {
  const o = r.object(doc["network"], "network", ["id", "kind", "shard", "shards"]);
  const id = r.string(o, "id", "network");
  const kindText = o["kind"] === undefined ? "shards" : r.string(o, "kind", "network");
  if (kindText !== "shards" && kindText !== "clusters") r.fail("network.kind", `must be "shards" or "clusters", not ${JSON.stringify(kindText)}`);
  const kind = kindText as NetworkKind;
  if (utf8(id).length > MAX_CHAIN_ID_BYTES) r.fail("network.id", `must be at most ${MAX_CHAIN_ID_BYTES} bytes of UTF-8`);
  const list = r.array(o, "shards", "network", 1, MAX_SHARDS);
  const shard = r.int(o, "shard", "network", 0, list.length - 1);
  const shards: GenesisShard[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < list.length; i++) {
    const field = join("network.shards", i);
    const s = r.object(list[i] as Json, field, ["chainId", "validators"]);
    const cid = r.string(s, "chainId", field);
    if (utf8(cid).length > MAX_CHAIN_ID_BYTES) r.fail(join(field, "chainId"), `must be at most ${MAX_CHAIN_ID_BYTES} bytes of UTF-8`);
    const dup = seen.get(cid);
    if (dup !== undefined) r.fail(join(field, "chainId"), `is the chain id of network.shards[${dup}] too`);
    seen.set(cid, i);
    if (i === shard) {
      // This chain: the same chain id and validators as the genesis's own (their proofs are verified already).
      if (cid !== chainId) r.fail(join(field, "chainId"), `must be this genesis's chainId "${chainId}" (network.shard is ${shard})`);
      const vs = r.array(s, "validators", field, 1, validators.length + 1);
      const same =
        vs.length === validators.length &&
        vs.every((v, k) => {
          const f = join(join(field, "validators"), k);
          const e = r.object(v as Json, f, ["publicKey", "proofOfPossession"]);
          const w = validators[k]!;
          return bytesEqual(r.hex(e, "publicKey", f, PUBLIC_KEY_BYTES), w.publicKey) && bytesEqual(r.hex(e, "proofOfPossession", f, SIGNATURE_BYTES), w.proofOfPossession);
        });
      if (!same) r.fail(join(field, "validators"), "must list this genesis's validators, in the same order");
      shards.push({ chainId: cid, validators });
    } else {
      shards.push({ chainId: cid, validators: await parseBlsKeys(r, s, "validators", backend, field) });
    }
  }
  return kind === "clusters" ? { id, kind, shard, shards } : { id, shard, shards };
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
    // A geo cluster admits account txs signed for the network (what the global order executes them under).
    chainId: isGeoCluster(g) ? utf8(g.network!.id) : g.chainIdBytes,
    paras: g.paras.map((p) => ({ title: p.title, nodes: p.nodes.map((n) => n.publicKey) })),
    validators: g.validators.map((v) => v.publicKey),
    ...(g.consensus.committee !== undefined ? { committee: g.consensus.committee } : {}),
    ...(g.network !== undefined && !isGeoCluster(g) ? { network: shardNetworkOf(g.network) } : {}),
    // A geo cluster's chain orders only; its transactions execute in the global order (node/geo).
    ...(isGeoCluster(g) ? { orderOnly: true } : {}),
  };
}

/** The application of a geo network's global order: the cluster's modules over one state, signed for the network id. */
export function geoAppSpecOf(g: Genesis): AppSpec {
  return { bucketBits: g.app.bucketBits, modules: g.app.modules, chainId: utf8(g.network!.id) };
}

/** The genesis allocations as txs (mints): the genesis block's; on a geo cluster (the same list in every cluster) round 0 of the global order. */
export function allocationTxs(g: Genesis): Uint8Array[] {
  return g.accounts.map((a) => encodeAccountTxBody({ op: "mint", from: a.publicKey, nonce: 0, amount: a.balance }));
}

/** The network as the xshard module takes it: ids as bytes, the shards' validator keys. */
export function shardNetworkOf(n: GenesisNetwork): ShardNetwork {
  return { id: utf8(n.id), self: n.shard, shards: n.shards.map((s) => ({ chainId: utf8(s.chainId), validators: s.validators.map((v) => v.publicKey) })) };
}

/** The genesis block (height 0, no transactions) every validator of this genesis starts from. */
export function genesisBlock(g: Genesis): Block {
  const txs = allocationTxs(g);
  // A shard's genesis block also binds its network section: the genesis hash then covers every shard's keys.
  if (g.network !== undefined) txs.push(encodeNetworkTx(networkDigest(shardNetworkOf(g.network), defaultHasher())));
  return buildGenesisBlock({ timestampMs: g.genesisTimeMs, txs });
}

/**
 * The certificate checks of a genesis's validator set (`SchemeCertificates` over `BlsScheme`): what `quire audit`,
 * `quire verify` and a follower (node/follow/) verify QCs with, from the genesis alone.
 */
export function genesisCertificates(g: Genesis, backend: BlsBackend): SchemeCertificates {
  return setCertificates(g.chainIdBytes, g.validators.map((v) => v.publicKey), backend);
}

/**
 * The certificate checks of one validator set: `publicKeys` by position (signer bitmaps count positions), signatures
 * bound to `domain` (`epochDomain(chainId, e)`: the chain id for epoch 0).
 */
export function setCertificates(domain: Uint8Array, publicKeys: readonly Uint8Array[], backend: BlsBackend): SchemeCertificates {
  return new SchemeCertificates({ chainId: domain, validatorCount: publicKeys.length }, new BlsScheme(backend, publicKeys), bitmapSignerSets());
}
