/**
 * An account key file: the Ed25519 seed of an accounts-module account (`quire account new`, the faucet of `quire
 * init`), JSON with mode 0600, written and read with the same care as a validator key (bls/keyFile.ts).
 *
 *   {"type": "quire-account-key", "version": 1, "publicKey": "<64 hex>", "secretKey": "<64 hex: the seed>"}
 */
import { bytesEqual, fromHex, toHex } from "../util/bytes.js";
import { ed25519Keygen, ed25519PublicKey } from "./ed25519.js";
import type { Ed25519KeyPair } from "./ed25519.js";
import { KeyFileError, readKeyFileText, writeKeyFile } from "./bls/keyFile.js";

export const ACCOUNT_KEY_FILE_TYPE = "quire-account-key";
export const ACCOUNT_KEY_FILE_VERSION = 1;

export interface AccountKeyFileJson {
  type: typeof ACCOUNT_KEY_FILE_TYPE;
  version: typeof ACCOUNT_KEY_FILE_VERSION;
  publicKey: string;
  secretKey: string;
}

/** A fresh account key as its file document. */
export function generateAccountKeyFile(): AccountKeyFileJson {
  const k = ed25519Keygen();
  return { type: ACCOUNT_KEY_FILE_TYPE, version: ACCOUNT_KEY_FILE_VERSION, publicKey: toHex(k.publicKey), secretKey: toHex(k.secretKey) };
}

/** Writes an account key file (mode 0600; refuses to replace a file unless `force`). Throws KeyFileError. */
export async function writeAccountKeyFile(path: string, doc: AccountKeyFileJson, opts: { force?: boolean } = {}): Promise<void> {
  await writeKeyFile(path, doc, opts);
}

/** Loads an account key file and checks that its public key is the seed's. Throws KeyFileError. */
export async function loadAccountKeyFile(path: string): Promise<Ed25519KeyPair> {
  const text = await readKeyFileText(path);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeyFileError("KEY_FILE_MALFORMED", `key file ${path} is not valid JSON`, { path });
  }
  const d = (typeof doc === "object" && doc !== null ? doc : {}) as Partial<Record<keyof AccountKeyFileJson, unknown>>;
  if (d.type !== ACCOUNT_KEY_FILE_TYPE) throw new KeyFileError("KEY_FILE_MALFORMED", `${path} is not a Quire account key file (type must be "${ACCOUNT_KEY_FILE_TYPE}")`, { path });
  if (d.version !== ACCOUNT_KEY_FILE_VERSION) throw new KeyFileError("KEY_FILE_MALFORMED", `key file ${path} has unsupported version ${String(d.version)}`, { path });
  const secretKey = hex32(d.secretKey);
  if (secretKey === undefined) throw new KeyFileError("KEY_FILE_BAD_SECRET_KEY", `key file ${path}: secretKey must be 64 hex digits`, { path });
  const publicKey = ed25519PublicKey(secretKey);
  const claimed = hex32(d.publicKey);
  if (claimed === undefined) throw new KeyFileError("KEY_FILE_BAD_PUBLIC_KEY", `key file ${path}: publicKey must be 64 hex digits`, { path });
  if (!bytesEqual(claimed, publicKey)) throw new KeyFileError("KEY_FILE_KEY_MISMATCH", `key file ${path}: publicKey does not belong to secretKey`, { path });
  return { publicKey, secretKey };
}

function hex32(v: unknown): Uint8Array | undefined {
  return typeof v === "string" && /^[0-9a-fA-F]{64}$/.test(v) ? fromHex(v) : undefined;
}
