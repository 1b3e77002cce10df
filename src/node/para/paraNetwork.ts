/**
 * Creating a para chain on disk, beside a main network (`quire init --para TITLE --para-nodes N`, `quire cluster
 * --para demo:4`):
 *
 *   DIR/para-TITLE/genesis.json           the para genesis (paraGenesis.ts)
 *   DIR/para-TITLE/node<i>/config.json    one per para node (paraConfig.ts; paths relative to it)
 *   DIR/para-TITLE/node<i>/validator.key  the para node's BLS key, validator key-file format, mode 0600
 *
 * The main genesis must register the title with the same keys in the same order (`paras`), so the keys come first:
 * `generateParaKeys` makes them, the caller writes the main genesis with `paraRegistration(title, keys)` in its
 * `paras`, then `writeParaChain` with those keys writes the para genesis (it reads the main genesis back for its chain
 * id and genesis hash, and refuses keys that differ from the registration).
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BlsBackend } from "../../crypto/bls/backend.js";
import { generateKeyFile, writeKeyFile } from "../../crypto/bls/keyFile.js";
import type { KeyFileJson } from "../../crypto/bls/keyFile.js";
import { blockHasher } from "../../consensus/blockHash.js";
import { bytesEqual, fromHex } from "../../util/bytes.js";
import { NodeError } from "../errors.js";
import { genesisBlock, loadGenesis } from "../genesis.js";
import type { GenesisPara } from "../genesis.js";
import type { LogLevel } from "../config.js";
import { DEFAULT_SENDER, paraNodeConfigJson } from "./paraConfig.js";
import { DEFAULT_PARA_BLOCK_POLICY, PARA_MODULE_NAMES, paraGenesisJson } from "./paraGenesis.js";
import type { ParaBlockPolicy } from "./paraGenesis.js";
import { DEFAULT_BUCKET_BITS } from "../../chain/app/stateTree.js";
import type { ModuleName } from "../../chain/app/build.js";

/** Para node i serves RPC on DEFAULT_PARA_BASE_PORT + i unless told otherwise. */
export const DEFAULT_PARA_BASE_PORT = 26700;

/** Fresh BLS keys for `n` para nodes (key-file documents, secrets included: write them with `writeParaChain`). */
export async function generateParaKeys(n: number, backend: BlsBackend): Promise<KeyFileJson[]> {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new NodeError("BAD_CONFIG", `para nodes must be an integer in [1, 256], got ${n}`, { field: "paraNodes" });
  const out: KeyFileJson[] = [];
  for (let i = 0; i < n; i++) out.push(await generateKeyFile(backend));
  return out;
}

/** The main genesis's `paras` entry for these keys. */
export function paraRegistration(title: string, keys: readonly KeyFileJson[]): GenesisPara {
  return { title, nodes: keys.map((k) => ({ publicKey: fromHex(k.publicKey), proofOfPossession: fromHex(k.proofOfPossession) })) };
}

export interface ParaChainSpec {
  /** The main network's directory: the para chain goes to DIR/para-TITLE. */
  readonly dir: string;
  readonly title: string;
  /** The para nodes' keys, as registered in the main genesis (`generateParaKeys`). */
  readonly keys: readonly KeyFileJson[];
  readonly mainGenesisFile: string;
  /** Main nodes' RPC URLs every para node follows (tried in order). */
  readonly mainRpcUrls: readonly string[];
  readonly basePort?: number;
  /** Explicit RPC ports per para node (overrides basePort). */
  readonly ports?: readonly number[];
  /** Default 1. */
  readonly startHeight?: number;
  readonly blockPolicy?: ParaBlockPolicy;
  /** Default `<main chain id>-<title>`. */
  readonly chainId?: string;
  readonly logLevel?: LogLevel;
  /** Default `["kv", "accounts"]`. */
  readonly modules?: readonly ModuleName[];
}

export interface ParaChainLayout {
  readonly dir: string;
  readonly genesisFile: string;
  readonly configFiles: readonly string[];
  readonly rpcUrls: readonly string[];
}

export async function writeParaChain(spec: ParaChainSpec, backend: BlsBackend): Promise<ParaChainLayout> {
  const n = spec.keys.length;
  const main = await loadGenesis(spec.mainGenesisFile, backend);
  const reg = main.paras.find((p) => p.title === spec.title);
  if (reg === undefined) throw new NodeError("BAD_CONFIG", `${spec.mainGenesisFile} registers no para chain "${spec.title}" (paras): its commits would be refused`, { field: "paras", file: spec.mainGenesisFile });
  const keys = paraRegistration(spec.title, spec.keys).nodes;
  if (reg.nodes.length !== n || reg.nodes.some((k, i) => !bytesEqual(k.publicKey, keys[i]!.publicKey))) {
    throw new NodeError("BAD_CONFIG", `${spec.mainGenesisFile}: paras "${spec.title}" lists other keys than the para nodes'`, { field: "paras", file: spec.mainGenesisFile });
  }
  if (spec.ports !== undefined && spec.ports.length !== n) throw new NodeError("BAD_CONFIG", `ports lists ${spec.ports.length} entries for ${n} para nodes`, { field: "ports" });
  const base = spec.basePort ?? DEFAULT_PARA_BASE_PORT;
  const portOf = (i: number) => spec.ports?.[i] ?? base + i;
  const dir = join(resolve(spec.dir), `para-${spec.title}`);
  const genesisFile = join(dir, "genesis.json");
  if (await exists(genesisFile)) throw new NodeError("BAD_CONFIG", `${genesisFile} already exists: refusing to overwrite a para chain`, { field: "dir" });
  await mkdir(dir, { recursive: true });
  const doc = paraGenesisJson({
    title: spec.title,
    chainId: spec.chainId ?? `${main.chainId}-${spec.title}`,
    mainChainId: main.chainId,
    mainGenesisHash: blockHasher()(genesisBlock(main).header),
    startHeight: spec.startHeight ?? 1,
    genesisTimeMs: main.genesisTimeMs,
    nodes: keys,
    blockPolicy: spec.blockPolicy ?? DEFAULT_PARA_BLOCK_POLICY,
    app: { bucketBits: DEFAULT_BUCKET_BITS, modules: spec.modules ?? PARA_MODULE_NAMES },
  });
  await writeFile(genesisFile, JSON.stringify(doc, null, 2) + "\n");
  const configFiles: string[] = [];
  const rpcUrls: string[] = [];
  for (let i = 0; i < n; i++) {
    const nodeDir = join(dir, `node${i}`);
    await mkdir(nodeDir, { recursive: true });
    await writeKeyFile(join(nodeDir, "validator.key"), spec.keys[i]!);
    const config = paraNodeConfigJson({
      nodeIndex: i,
      paraGenesisFile: "../genesis.json",
      keyFile: "validator.key",
      dataDir: "data",
      rpc: { host: "127.0.0.1", port: portOf(i) },
      mainRpc: spec.mainRpcUrls,
      sender: { ...DEFAULT_SENDER },
      log: { level: spec.logLevel ?? "info" },
    });
    const file = join(nodeDir, "config.json");
    await writeFile(file, JSON.stringify(config, null, 2) + "\n");
    configFiles.push(file);
    rpcUrls.push(`http://127.0.0.1:${portOf(i)}`);
  }
  return { dir, genesisFile, configFiles, rpcUrls };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
