/**
 * Creating a network on disk (`quire init`, and `quire cluster` for its temporary networks):
 *
 *   DIR/genesis.json                 chain id, validators' public keys with proofs of possession, consensus timing,
 *                                    the application's modules (kv, accounts, paracross; a shard: kv, accounts,
 *                                    xshard and the `network` section) and the faucet's allocation
 *   DIR/faucet.key                   the faucet: an account key (mode 0600) holding FAUCET_BALANCE from genesis
 *   DIR/node<i>/config.json          one per validator (paths relative to it)
 *   DIR/node<i>/validator.key        the validator's BLS key, mode 0600 (crypto/bls/keyFile.ts)
 *   DIR/node<i>/data/                created by the node: its LMDB store
 *
 * Ports: validator i listens for peers on basePort + 2i and serves RPC on basePort + 2i + 1, unless explicit ports
 * are given (the cluster picks free ones).
 */
import { randomBytes } from "node:crypto";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { generateKeyFile, writeKeyFile } from "../crypto/bls/keyFile.js";
import type { KeyFileJson } from "../crypto/bls/keyFile.js";
import { generateAccountKeyFile, writeAccountKeyFile } from "../crypto/accountKeyFile.js";
import type { AccountKeyFileJson } from "../crypto/accountKeyFile.js";
import type { PacemakerConfig } from "../consensus/pacemaker.js";
import { fromHex } from "../util/bytes.js";
import { CONFIG_DEFAULTS, DEFAULT_REMOTE_TIMEOUT_MS, nodeConfigJson } from "./config.js";
import type { BlockPolicy, LogLevel, PeerConfig } from "./config.js";
import { NodeError } from "./errors.js";
import { DEFAULT_APP, DEFAULT_CONSENSUS, GEO_APP, genesisJson, SHARD_APP } from "./genesis.js";
import type { GenesisAllocation, GenesisNetwork, GenesisPara } from "./genesis.js";

export const DEFAULT_BASE_PORT = 26600;
/** The faucet's genesis balance: 10^12 units, room for a million test accounts of 10^6 each. */
export const FAUCET_BALANCE = 1_000_000_000_000;

export interface NetworkSpec {
  readonly validators: number;
  readonly dir: string;
  readonly basePort?: number;
  /** One host per validator (or one for all): where the others reach it. Default 127.0.0.1 for everyone. */
  readonly hosts?: readonly string[];
  /** Explicit ports per validator (overrides basePort). */
  readonly ports?: readonly { readonly p2p: number; readonly rpc: number }[];
  readonly chainId?: string;
  readonly genesisTimeMs?: number;
  readonly consensus?: PacemakerConfig;
  readonly block?: Partial<BlockPolicy>;
  readonly blsWorkers?: number;
  readonly logLevel?: LogLevel;
  /**
   * Para chains to register in the genesis (`paras`), with their nodes' keys (src/node/para/paraNetwork.ts
   * `generateParaKeys` + `paraRegistration`); the application then runs every module (paracross needs accounts).
   */
  readonly paras?: readonly GenesisPara[];
  /** Genesis allocations besides the faucet's. */
  readonly accounts?: readonly GenesisAllocation[];
  /** The validators' keys (one per validator), when the caller needs them before the genesis (shards). Default: fresh. */
  readonly validatorKeys?: readonly KeyFileJson[];
  /** The faucet's key (e.g. one ground to live on a shard). Default: fresh. */
  readonly faucet?: AccountKeyFileJson;
  /** Makes the chain a shard of this network (genesis `network`; src/node/shardNetwork.ts): runs kv, accounts, xshard. */
  readonly network?: GenesisNetwork;
  /**
   * Validators that are not in genesis but may be added by a set change (src/chain/app/validators/): the genesis then
   * runs the validators module, and spare k gets DIR/node<n+k> with its key, on the next ports, configured as the
   * registry entry n + k — so spares are to be added in order. The genesis validators' configs do not list them: a
   * node learns an added validator's key and address from the committed change.
   */
  readonly spares?: number;
}

export interface NetworkLayout {
  readonly dir: string;
  readonly chainId: string;
  readonly genesisFile: string;
  readonly configFiles: readonly string[];
  readonly rpcUrls: readonly string[];
  /** DIR/faucet.key: the account holding FAUCET_BALANCE. */
  readonly faucetKeyFile: string;
}

/** Writes genesis, configs and keys for a new network. Refuses to touch a directory that already has a genesis. */
export async function writeNetwork(spec: NetworkSpec, backend: BlsBackend): Promise<NetworkLayout> {
  const n = spec.validators;
  const spares = spec.spares ?? 0;
  if (!Number.isInteger(spares) || spares < 0 || n + spares > 256) throw new NodeError("BAD_CONFIG", `--spares must be an integer with validators + spares ≤ 256, got ${spares}`, { field: "spares" });
  if (spares > 0 && (spec.network !== undefined || spec.hosts !== undefined)) throw new NodeError("BAD_CONFIG", "--spares does not combine with shards or --hosts (yet)", { field: "spares" });
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new NodeError("BAD_CONFIG", `--validators must be an integer in [1, 256], got ${n}`, { field: "validators" });
  const dir = resolve(spec.dir);
  const genesisFile = join(dir, "genesis.json");
  if (await exists(genesisFile)) throw new NodeError("BAD_CONFIG", `${genesisFile} already exists: refusing to overwrite a network (choose another --dir)`, { field: "dir" });
  const hosts = spec.hosts ?? ["127.0.0.1"];
  if (hosts.length !== 1 && hosts.length !== n) throw new NodeError("BAD_CONFIG", `--hosts lists ${hosts.length} hosts for ${n} validators (give one per validator, or one for all)`, { field: "hosts" });
  const hostOf = (i: number) => (hosts.length === 1 ? hosts[0]! : hosts[i]!);
  const base = spec.basePort ?? DEFAULT_BASE_PORT;
  if (spec.ports !== undefined && spec.ports.length !== n + spares) throw new NodeError("BAD_CONFIG", `ports lists ${spec.ports.length} entries for ${n + spares} validators`, { field: "ports" });
  const portsOf = (i: number) => spec.ports?.[i] ?? { p2p: base + 2 * i, rpc: base + 2 * i + 1 };
  if (spec.ports === undefined && base + 2 * (n + spares) > 65_535) throw new NodeError("BAD_CONFIG", `--base-port ${base} leaves no room for ${n} validators (2 ports each)`, { field: "basePort" });
  // Every validator on one loopback host: bind there. Otherwise bind every interface and let peers use the names.
  const local = hosts.every((h) => h === "127.0.0.1" || h === "localhost" || h === "::1");
  const chainId = spec.chainId ?? `quire-local-${randomBytes(4).toString("hex")}`;

  if (spec.validatorKeys !== undefined && spec.validatorKeys.length !== n) throw new NodeError("BAD_CONFIG", `validatorKeys lists ${spec.validatorKeys.length} keys for ${n} validators`, { field: "validatorKeys" });

  await mkdir(dir, { recursive: true });
  const keys = [];
  for (let i = 0; i < n; i++) {
    const nodeDir = join(dir, `node${i}`);
    await mkdir(nodeDir, { recursive: true });
    const doc = spec.validatorKeys?.[i] ?? (await generateKeyFile(backend));
    await writeKeyFile(join(nodeDir, "validator.key"), doc);
    keys.push({ publicKey: fromHex(doc.publicKey), proofOfPossession: fromHex(doc.proofOfPossession) });
  }
  const faucetKeyFile = join(dir, "faucet.key");
  const faucet = spec.faucet ?? generateAccountKeyFile();
  await writeAccountKeyFile(faucetKeyFile, faucet);
  const genesis = genesisJson({
    chainId,
    genesisTimeMs: spec.genesisTimeMs ?? Date.now(),
    validators: keys,
    consensus: spec.consensus ?? DEFAULT_CONSENSUS,
    app: spec.network?.kind === "clusters" ? GEO_APP : spec.network !== undefined ? SHARD_APP : spares > 0 ? { ...DEFAULT_APP, modules: [...DEFAULT_APP.modules!, "validators"] } : DEFAULT_APP,
    accounts: [{ publicKey: fromHex(faucet.publicKey), balance: FAUCET_BALANCE }, ...(spec.accounts ?? [])],
    ...(spec.paras !== undefined ? { paras: spec.paras } : {}),
    ...(spec.network !== undefined ? { network: spec.network } : {}),
  });
  await writeFile(genesisFile, JSON.stringify(genesis, null, 2) + "\n");

  const genesisPeers: PeerConfig[] = Array.from({ length: n }, (_, i) => ({ host: hostOf(i), port: portsOf(i).p2p }));
  const spareKeys: Uint8Array[] = [];
  for (let k = 0; k < spares; k++) {
    const doc = await generateKeyFile(backend);
    await mkdir(join(dir, `node${n + k}`), { recursive: true });
    await writeKeyFile(join(dir, `node${n + k}`, "validator.key"), doc);
    spareKeys.push(fromHex(doc.publicKey));
  }
  const sparePeers: PeerConfig[] = spareKeys.map((publicKey, k) => ({ host: hostOf(n + k), port: portsOf(n + k).p2p, publicKey }));
  const configFiles: string[] = [];
  const rpcUrls: string[] = [];
  for (let i = 0; i < n + spares; i++) {
    // A spare lists the spares up to itself: the registry entries it knows before it is added.
    const peers = i < n ? genesisPeers : [...genesisPeers, ...sparePeers.slice(0, i - n + 1)];
    const bind = local ? hostOf(i) : "0.0.0.0";
    const config = nodeConfigJson({
      validatorIndex: i,
      genesisFile: "../genesis.json",
      keyFile: "validator.key",
      dataDir: "data",
      p2p: { host: bind, port: portsOf(i).p2p },
      peers,
      rpc: { host: bind, port: portsOf(i).rpc },
      mempool: { ...CONFIG_DEFAULTS.mempool },
      block: { ...CONFIG_DEFAULTS.block, ...spec.block },
      gossip: { ...CONFIG_DEFAULTS.gossip },
      bls: { backend: CONFIG_DEFAULTS.bls.backend, workers: spec.blsWorkers ?? CONFIG_DEFAULTS.bls.workers },
      log: { level: spec.logLevel ?? CONFIG_DEFAULTS.log.level },
      // A shard's nodes relay cross-shard records to the shards network.json lists (written beside the shards); a
      // geo cluster's nodes share blocks with the clusters it lists.
      ...(spec.network?.kind === "clusters"
        ? { geo: { manifest: "../../network.json", remoteTimeoutMs: DEFAULT_REMOTE_TIMEOUT_MS } }
        : spec.network !== undefined
          ? { xshard: { manifest: "../../network.json", relayIntervalMs: 100 } }
          : {}),
    });
    const file = join(dir, `node${i}`, "config.json");
    await writeFile(file, JSON.stringify(config, null, 2) + "\n");
    configFiles.push(file);
    rpcUrls.push(`http://${hostOf(i)}:${portsOf(i).rpc}`);
  }
  return { dir, chainId, genesisFile, configFiles, rpcUrls, faucetKeyFile };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
