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
 *     "app": { "name": "kv", "bucketBits": 16 }
 *   }
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
import type { Json } from "./fields.js";

export const GENESIS_TYPE = "quire-genesis";
export const GENESIS_VERSION = 1;

export interface GenesisValidator {
  readonly publicKey: Uint8Array;
  readonly proofOfPossession: Uint8Array;
}

export interface Genesis {
  readonly chainId: string;
  /** `chainId` as bytes (what consensus signs and the store records). */
  readonly chainIdBytes: Uint8Array;
  readonly genesisTimeMs: number;
  readonly validators: readonly GenesisValidator[];
  readonly consensus: PacemakerConfig;
  readonly app: { readonly name: "kv"; readonly bucketBits: number };
}

/**
 * Consensus timing of new networks. The base view timer is what a crashed leader costs; 1 s is DESIGN's default and
 * leaves a 4-node cluster on this 2-core machine room for a proposal, two signature rounds and two fsyncs (a view
 * takes tens of ms under load).
 */
export const DEFAULT_CONSENSUS: PacemakerConfig = { baseTimeoutMs: 1_000, backoffFactor: 2, maxTimeoutMs: 16_000 };


/** The JSON document of a genesis. */
export function genesisJson(g: Omit<Genesis, "chainIdBytes">): Record<string, unknown> {
  return {
    type: GENESIS_TYPE,
    version: GENESIS_VERSION,
    chainId: g.chainId,
    genesisTimeMs: g.genesisTimeMs,
    validators: g.validators.map((v) => ({ publicKey: toHex(v.publicKey), proofOfPossession: toHex(v.proofOfPossession) })),
    consensus: { ...g.consensus },
    app: { ...g.app },
  };
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
  const doc = r.object(parseJsonDocument(text, r), "", ["type", "version", "chainId", "genesisTimeMs", "validators", "consensus", "app"]);
  if (doc["type"] !== GENESIS_TYPE) r.fail("type", `must be "${GENESIS_TYPE}"`);
  r.int(doc, "version", "", GENESIS_VERSION, GENESIS_VERSION);
  const chainId = r.string(doc, "chainId", "");
  const chainIdBytes = utf8(chainId);
  if (chainIdBytes.length > MAX_CHAIN_ID_BYTES) r.fail("chainId", `must be at most ${MAX_CHAIN_ID_BYTES} bytes of UTF-8, got ${chainIdBytes.length}`);
  const genesisTimeMs = r.int(doc, "genesisTimeMs", "", 0, Number.MAX_SAFE_INTEGER);
  const list = r.array(doc, "validators", "", 1, MAX_CERT_SIGNERS);
  const validators: GenesisValidator[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < list.length; i++) {
    const field = join("validators", i);
    const v = r.object(list[i] as Json, field, ["publicKey", "proofOfPossession"]);
    const publicKey = r.hex(v, "publicKey", field, PUBLIC_KEY_BYTES);
    const proofOfPossession = r.hex(v, "proofOfPossession", field, SIGNATURE_BYTES);
    const k = toHex(publicKey);
    const dup = seen.get(k);
    if (dup !== undefined) r.fail(join(field, "publicKey"), `is the same key as validators[${dup}]`);
    seen.set(k, i);
    let ok = false;
    try {
      ok = await backend.popVerify(backend.publicKeyFromBytes(publicKey), backend.signatureFromBytes(proofOfPossession));
    } catch (e) {
      if (!(e instanceof BlsError)) throw e;
      r.fail(join(field, "publicKey"), `is not a valid BLS12-381 key or proof (${e.code})`);
    }
    if (!ok) r.fail(join(field, "proofOfPossession"), "is not a valid proof of possession for publicKey");
    validators.push({ publicKey, proofOfPossession });
  }
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
  const a = r.optObject(doc, "app", "", ["name", "bucketBits"]);
  const app = { name: r.choice(a, "name", "app", ["kv"] as const, "kv"), bucketBits: r.int(a, "bucketBits", "app", 1, 16, DEFAULT_BUCKET_BITS) };
  return { chainId, chainIdBytes, genesisTimeMs, validators, consensus, app };
}

/** The genesis block (height 0, no transactions) every validator of this genesis starts from. */
export function genesisBlock(g: Genesis): Block {
  return buildGenesisBlock({ timestampMs: g.genesisTimeMs });
}
