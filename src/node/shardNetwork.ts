/**
 * A sharded network on disk (`quire init --shards S`, `quire cluster --shards S`; src/chain/app/xshard/README.md): S
 * ordinary networks, each written by `writeNetwork` (node/network.ts) into DIR/shard-<i>, whose genesis files carry
 * the same `network` section (node/genesis.ts) but for `shard`, plus one manifest DIR/network.json for tools:
 *
 *   {
 *     "type": "quire-network", "version": 1,
 *     "id": "quire-net-5c1e0a9b",                  the network id (what cross-shard transfers are signed for)
 *     "shards": [{
 *       "index": 0,
 *       "chainId": "quire-net-5c1e0a9b-s0",
 *       "genesisHash": "<64 hex>",                 the hash of the shard's genesis block
 *       "dir": "shard-0",                          relative to the manifest's directory
 *       "rpc": ["http://127.0.0.1:26601", ...]     the shard's nodes' RPC URLs
 *     }, ...]
 *   }
 *
 * Each shard has fresh validator keys and its own faucet (DIR/shard-<i>/faucet.key, FAUCET_BALANCE from its genesis),
 * a key ground until `shardOf(publicKey) == i` (about S tries): a genesis allocation must live on its shard. Ports:
 * shard i's validator j uses basePort + 2(iN + j) (peers) and one more (RPC), unless explicit ports are given.
 */
import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { generateKeyFile } from "../crypto/bls/keyFile.js";
import type { KeyFileJson } from "../crypto/bls/keyFile.js";
import { generateAccountKeyFile } from "../crypto/accountKeyFile.js";
import type { AccountKeyFileJson } from "../crypto/accountKeyFile.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import { blockHasher } from "../consensus/blockHash.js";
import type { PacemakerConfig } from "../consensus/pacemaker.js";
import { shardOf } from "../chain/app/xshard/network.js";
import { fromHex, toHex } from "../util/bytes.js";
import { MAX_CHAIN_ID_BYTES } from "../domain/limits.js";
import type { BlockPolicy, LogLevel } from "./config.js";
import { NodeError } from "./errors.js";
import { FieldReader, join as joinField, parseJsonDocument } from "./fields.js";
import type { Json } from "./fields.js";
import { genesisBlock, loadGenesis, MAX_SHARDS } from "./genesis.js";
import type { GenesisNetwork, NetworkKind } from "./genesis.js";
import { DEFAULT_BASE_PORT, writeNetwork } from "./network.js";
import type { NetworkLayout } from "./network.js";

export const MANIFEST_TYPE = "quire-network";
export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = "network.json";

export interface ShardedNetworkSpec {
  /** "clusters": a geo network (node/geo/README.md): DIR/cluster-<i>, chain ids `<id>-c<i>`, one faucet for all. */
  readonly kind?: NetworkKind;
  readonly shards: number;
  /** Validators per shard. */
  readonly validators: number;
  readonly dir: string;
  /** Default `quire-net-<8 hex>`; shard i's chain id is `<id>-s<i>`. */
  readonly networkId?: string;
  readonly basePort?: number;
  /** Explicit ports, per shard then per validator (overrides basePort). */
  readonly ports?: readonly (readonly { readonly p2p: number; readonly rpc: number }[])[];
  readonly genesisTimeMs?: number;
  readonly consensus?: PacemakerConfig;
  readonly block?: Partial<BlockPolicy>;
  readonly blsWorkers?: number;
  readonly logLevel?: LogLevel;
}

export interface ManifestShard {
  readonly index: number;
  readonly chainId: string;
  readonly genesisHash: Uint8Array;
  /** Absolute (resolved against the manifest's directory when loaded). */
  readonly dir: string;
  readonly rpc: readonly string[];
}

export interface NetworkManifest {
  readonly id: string;
  /** "clusters" for a geo network (its `shards` are the clusters); absent or "shards": a sharded one. */
  readonly kind?: NetworkKind;
  readonly shards: readonly ManifestShard[];
}

export interface ShardedNetworkLayout {
  readonly dir: string;
  readonly id: string;
  readonly manifestFile: string;
  readonly manifest: NetworkManifest;
  readonly shards: readonly NetworkLayout[];
}

/** Writes every shard's network and the manifest. Refuses a directory that already holds a manifest. */
export async function writeShardedNetwork(spec: ShardedNetworkSpec, backend: BlsBackend): Promise<ShardedNetworkLayout> {
  const s = spec.shards;
  const n = spec.validators;
  if (!Number.isInteger(s) || s < 1 || s > MAX_SHARDS) throw new NodeError("BAD_CONFIG", `--shards must be an integer in [1, ${MAX_SHARDS}], got ${s}`, { field: "shards" });
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new NodeError("BAD_CONFIG", `--validators must be an integer in [1, 256], got ${n}`, { field: "validators" });
  if (spec.ports !== undefined && spec.ports.length !== s) throw new NodeError("BAD_CONFIG", `ports lists ${spec.ports.length} shards for ${s}`, { field: "ports" });
  const base = spec.basePort ?? DEFAULT_BASE_PORT;
  if (spec.ports === undefined && base + 2 * n * s > 65_535) throw new NodeError("BAD_CONFIG", `--base-port ${base} leaves no room for ${s} shards of ${n} validators (2 ports each)`, { field: "basePort" });
  const dir = resolve(spec.dir);
  const manifestFile = join(dir, MANIFEST_FILE);
  if (await exists(manifestFile)) throw new NodeError("BAD_CONFIG", `${manifestFile} already exists: refusing to overwrite a network (choose another --dir)`, { field: "dir" });
  const id = spec.networkId ?? `quire-net-${randomBytes(8).toString("hex")}`;
  const geo = spec.kind === "clusters";
  const chainIdOf = (i: number) => `${id}-${geo ? "c" : "s"}${i}`;
  const dirOf = (i: number) => join(dir, `${geo ? "cluster" : "shard"}-${i}`);
  // A geo network has one state, hence one faucet: the same key and allocation in every cluster's genesis.
  const geoFaucet = geo ? generateAccountKeyFile() : undefined;
  if (Buffer.byteLength(chainIdOf(s - 1)) > MAX_CHAIN_ID_BYTES) throw new NodeError("BAD_CONFIG", `network id "${id}" makes chain ids longer than ${MAX_CHAIN_ID_BYTES} bytes`, { field: "chainId" });

  // Every shard's keys first: every genesis lists every shard's validators.
  const keys: KeyFileJson[][] = [];
  for (let i = 0; i < s; i++) {
    const shardKeys: KeyFileJson[] = [];
    for (let j = 0; j < n; j++) shardKeys.push(await generateKeyFile(backend));
    keys.push(shardKeys);
  }
  const network = (shard: number): GenesisNetwork => ({
    id,
    ...(geo ? { kind: "clusters" as const } : {}),
    shard,
    shards: keys.map((ks, i) => ({ chainId: chainIdOf(i), validators: ks.map((k) => ({ publicKey: fromHex(k.publicKey), proofOfPossession: fromHex(k.proofOfPossession) })) })),
  });
  const genesisTimeMs = spec.genesisTimeMs ?? Date.now();
  const layouts: NetworkLayout[] = [];
  for (let i = 0; i < s; i++) {
    const layout = await writeNetwork(
      {
        validators: n,
        dir: dirOf(i),
        ...(spec.ports !== undefined ? { ports: spec.ports[i]! } : { basePort: base + 2 * n * i }),
        chainId: chainIdOf(i),
        genesisTimeMs,
        ...(spec.consensus !== undefined ? { consensus: spec.consensus } : {}),
        ...(spec.block !== undefined ? { block: spec.block } : {}),
        ...(spec.blsWorkers !== undefined ? { blsWorkers: spec.blsWorkers } : {}),
        ...(spec.logLevel !== undefined ? { logLevel: spec.logLevel } : {}),
        validatorKeys: keys[i]!,
        faucet: geoFaucet ?? shardFaucet(i, s),
        network: network(i),
      },
      backend,
    );
    layouts.push(layout);
  }
  // The genesis hashes from the files as written (loading them checks each, proofs of possession included).
  const shards: ManifestShard[] = [];
  for (const [i, l] of layouts.entries()) {
    const g = await loadGenesis(l.genesisFile, backend);
    shards.push({ index: i, chainId: l.chainId, genesisHash: blockHasher()(genesisBlock(g).header), dir: l.dir, rpc: l.rpcUrls });
  }
  const manifest: NetworkManifest = geo ? { id, kind: "clusters", shards } : { id, shards };
  await writeFile(manifestFile, JSON.stringify(manifestJson(manifest, dir), null, 2) + "\n");
  return { dir, id, manifestFile, manifest, shards: layouts };
}

/** A fresh account key that lives on shard `index` of `count` (about `count` tries). */
export function shardFaucet(index: number, count: number): AccountKeyFileJson {
  const hasher = defaultHasher();
  for (;;) {
    const k = generateAccountKeyFile();
    if (shardOf(fromHex(k.publicKey), count, hasher) === index) return k;
  }
}

/** The manifest document; shard directories relative to `baseDir` (the manifest's directory). */
export function manifestJson(m: NetworkManifest, baseDir: string): Record<string, unknown> {
  return {
    type: MANIFEST_TYPE,
    version: MANIFEST_VERSION,
    id: m.id,
    ...(m.kind === "clusters" ? { kind: "clusters" } : {}),
    shards: m.shards.map((s) => ({ index: s.index, chainId: s.chainId, genesisHash: toHex(s.genesisHash), dir: relativeTo(baseDir, s.dir), rpc: [...s.rpc] })),
  };
}

/** Reads and validates DIR/network.json (or the file given); shard directories come back absolute. Throws NodeError BAD_CONFIG naming the field. */
export async function loadNetworkManifest(path: string): Promise<NetworkManifest> {
  const file = (await isDirectory(path)) ? join(path, MANIFEST_FILE) : path;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new NodeError("BAD_CONFIG", `cannot read network manifest ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file });
  }
  return parseNetworkManifest(text, file);
}

export function parseNetworkManifest(text: string, file: string): NetworkManifest {
  const r = new FieldReader("BAD_CONFIG", file);
  const doc = r.object(parseJsonDocument(text, r), "", ["type", "version", "id", "kind", "shards"]);
  if (doc["type"] !== MANIFEST_TYPE) r.fail("type", `must be "${MANIFEST_TYPE}"`);
  r.int(doc, "version", "", MANIFEST_VERSION, MANIFEST_VERSION);
  const id = r.string(doc, "id", "");
  const kind = doc["kind"] === undefined ? "shards" : r.string(doc, "kind", "");
  if (kind !== "shards" && kind !== "clusters") r.fail("kind", `must be "shards" or "clusters", not ${JSON.stringify(kind)}`);
  const list = r.array(doc, "shards", "", 1, MAX_SHARDS);
  const base = dirname(resolve(file));
  const shards: ManifestShard[] = [];
  const chainIds = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const field = joinField("shards", i);
    const o = r.object(list[i] as Json, field, ["index", "chainId", "genesisHash", "dir", "rpc"]);
    r.int(o, "index", field, i, i);
    const chainId = r.string(o, "chainId", field);
    if (chainIds.has(chainId)) r.fail(joinField(field, "chainId"), "names a chain another shard has");
    chainIds.add(chainId);
    const genesisHash = r.hex(o, "genesisHash", field, 32);
    const dir = r.string(o, "dir", field);
    const urls = r.array(o, "rpc", field, 0, 256);
    const rpc: string[] = [];
    for (const [k, u] of urls.entries()) {
      if (typeof u !== "string" || !/^https?:\/\/\S+$/.test(u)) return r.fail(joinField(joinField(field, "rpc"), k), "must be an http(s) URL");
      rpc.push(u);
    }
    shards.push({ index: i, chainId, genesisHash, dir: resolve(base, dir), rpc });
  }
  return kind === "clusters" ? { id, kind, shards } : { id, shards };
}

function relativeTo(base: string, path: string): string {
  const p = resolve(path);
  return p.startsWith(base + "/") ? p.slice(base.length + 1) : p;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
