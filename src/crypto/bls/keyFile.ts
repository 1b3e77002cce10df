import { constants as fsc, promises as fsp } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, basename, join } from "node:path";
import { QuireError } from "../../util/errors.js";
import { fromHex, toHex, bytesEqual } from "../../util/bytes.js";
import type { BlsBackend, PublicKey, SecretKey } from "./backend.js";
import { BlsError } from "./errors.js";
import { keyGen } from "./keygen.js";
import { PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH, SIGNATURE_DST, SIGNATURE_LENGTH } from "./constants.js";

export type KeyFileErrorCode =
  | "KEY_FILE_EXISTS"
  | "KEY_FILE_NOT_FOUND"
  | "KEY_FILE_IO"
  | "KEY_FILE_PERMISSIONS"
  | "KEY_FILE_MALFORMED"
  | "KEY_FILE_BAD_SECRET_KEY"
  | "KEY_FILE_BAD_PUBLIC_KEY"
  | "KEY_FILE_KEY_MISMATCH"
  | "KEY_FILE_BAD_POP";

/** A validator key file that cannot be written or used. The message names the file and the fix, never the secret. */
export class KeyFileError extends QuireError<KeyFileErrorCode, { path: string }> {}

/** Marks the JSON as a Quire validator key and pins the ciphersuite it was made for. */
export const KEY_FILE_TYPE = "quire-bls-validator-key";
export const KEY_FILE_VERSION = 1;

/** The JSON document on disk. All byte strings are lower-case hex without 0x. */
export interface KeyFileJson {
  type: typeof KEY_FILE_TYPE;
  version: typeof KEY_FILE_VERSION;
  scheme: typeof SIGNATURE_DST;
  /** 48-byte compressed G1 public key. */
  publicKey: string;
  /** 96-byte compressed proof of possession (PopProve with the POP DST). */
  proofOfPossession: string;
  /** 32-byte big-endian secret scalar. */
  secretKey: string;
}

/** A key loaded and checked: the secret only as a backend handle. */
export interface ValidatorKey {
  secretKey: SecretKey;
  publicKey: PublicKey;
  publicKeyBytes: Uint8Array;
  proofOfPossession: Uint8Array;
}

/**
 * A fresh validator key: KeyGen over 32 bytes of `ikm` (default: from the OS CSPRNG), its public key and proof
 * of possession. Returns the file document; the caller decides where it goes.
 */
export async function generateKeyFile(backend: BlsBackend, ikm: Uint8Array = randomBytes(32)): Promise<KeyFileJson> {
  const skBytes = keyGen(ikm);
  try {
    const sk = backend.secretKeyFromBytes(skBytes);
    const pop = await backend.popProve(sk);
    return {
      type: KEY_FILE_TYPE,
      version: KEY_FILE_VERSION,
      scheme: SIGNATURE_DST,
      publicKey: toHex(backend.publicKeyToBytes(backend.publicKeyOf(sk))),
      proofOfPossession: toHex(backend.signatureToBytes(pop)),
      secretKey: toHex(skBytes),
    };
  } finally {
    skBytes.fill(0);
  }
}

/**
 * Writes a key file with mode 0600. Without `force` an existing file (or symlink) is never replaced: the file is
 * created with O_EXCL. With `force` the document goes to a fresh temporary file beside the target first and is
 * renamed over it, so a crash never leaves a half-written key or a window with looser permissions.
 */
export async function writeKeyFile(path: string, doc: KeyFileJson | object, opts: { force?: boolean } = {}): Promise<void> {
  const text = JSON.stringify(doc, null, 2) + "\n";
  const target = opts.force === true ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`) : path;
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new KeyFileError("KEY_FILE_EXISTS", `${path} already exists; refusing to overwrite a key (use --force to replace it)`, { path });
    }
    throw ioError(path, e);
  }
  try {
    await handle.chmod(0o600); // the umask may have removed bits; make the mode exact
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } catch (e) {
    await handle.close();
    await fsp.rm(target, { force: true });
    throw ioError(path, e);
  }
  await handle.close();
  if (target !== path) {
    try {
      await fsp.rename(target, path);
    } catch (e) {
      await fsp.rm(target, { force: true });
      throw ioError(path, e);
    }
  }
}

/**
 * The text of a key file (any kind: validator, account): a regular file, not a symlink, that group and others cannot
 * access. Throws KeyFileError.
 */
export async function readKeyFileText(path: string): Promise<string> {
  let text: string;
  let handle: fsp.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO (a mistaken or hostile path) must not block forever; the isFile() check below
    // then refuses it. It has no effect on regular files.
    handle = await fsp.open(path, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new KeyFileError("KEY_FILE_NOT_FOUND", `key file ${path} does not exist`, { path });
    if (code === "ELOOP") throw new KeyFileError("KEY_FILE_PERMISSIONS", `key file ${path} is a symbolic link; point to the file itself`, { path });
    throw ioError(path, e);
  }
  try {
    // fstat on the open descriptor: the mode checked is the mode of the file actually read.
    const st = await handle.stat();
    if (!st.isFile()) throw new KeyFileError("KEY_FILE_MALFORMED", `key file ${path} is not a regular file`, { path });
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
      throw new KeyFileError("KEY_FILE_PERMISSIONS", `key file ${path} has mode ${mode}: group/other may access it; run \`chmod 600 ${path}\``, { path });
    }
    text = await handle.readFile("utf8");
  } catch (e) {
    if (e instanceof KeyFileError) throw e;
    throw ioError(path, e);
  } finally {
    await handle.close();
  }
  return text;
}

/**
 * Loads and checks a key file: a regular file that group and others cannot access, the expected JSON shape, a
 * 32-byte secret in [1, r), a public key that is the secret's, and a valid proof of possession for it.
 */
export async function loadKeyFile(path: string, backend: BlsBackend): Promise<ValidatorKey> {
  const text = await readKeyFileText(path);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeyFileError("KEY_FILE_MALFORMED", `key file ${path} is not valid JSON`, { path });
  }
  const d = doc as Partial<Record<keyof KeyFileJson, unknown>>;
  if (typeof doc !== "object" || doc === null || d.type !== KEY_FILE_TYPE) {
    throw new KeyFileError("KEY_FILE_MALFORMED", `${path} is not a Quire validator key file (type must be "${KEY_FILE_TYPE}")`, { path });
  }
  if (d.version !== KEY_FILE_VERSION) throw new KeyFileError("KEY_FILE_MALFORMED", `key file ${path} has unsupported version ${String(d.version)}`, { path });
  if (d.scheme !== SIGNATURE_DST) throw new KeyFileError("KEY_FILE_MALFORMED", `key file ${path} is for scheme ${String(d.scheme)}, expected ${SIGNATURE_DST}`, { path });

  const skBytes = hexField(d.secretKey, SECRET_KEY_LENGTH);
  if (skBytes === undefined) {
    throw new KeyFileError("KEY_FILE_BAD_SECRET_KEY", `key file ${path}: secretKey must be ${SECRET_KEY_LENGTH * 2} hex digits`, { path });
  }
  let secretKey: SecretKey;
  try {
    secretKey = backend.secretKeyFromBytes(skBytes);
  } catch (e) {
    if (e instanceof BlsError) throw new KeyFileError("KEY_FILE_BAD_SECRET_KEY", `key file ${path}: secretKey is not a valid BLS12-381 secret key`, { path });
    throw e;
  } finally {
    skBytes.fill(0);
  }

  const pkBytes = hexField(d.publicKey, PUBLIC_KEY_LENGTH);
  if (pkBytes === undefined) {
    throw new KeyFileError("KEY_FILE_BAD_PUBLIC_KEY", `key file ${path}: publicKey must be ${PUBLIC_KEY_LENGTH * 2} hex digits (compressed G1)`, { path });
  }
  const publicKey = backend.publicKeyOf(secretKey);
  if (!bytesEqual(backend.publicKeyToBytes(publicKey), pkBytes)) {
    throw new KeyFileError("KEY_FILE_KEY_MISMATCH", `key file ${path}: publicKey does not belong to secretKey`, { path });
  }

  const popBytes = hexField(d.proofOfPossession, SIGNATURE_LENGTH);
  let popOk = false;
  if (popBytes !== undefined) {
    try {
      popOk = await backend.popVerify(publicKey, backend.signatureFromBytes(popBytes));
    } catch (e) {
      if (!(e instanceof BlsError)) throw e;
    }
  }
  if (!popOk) throw new KeyFileError("KEY_FILE_BAD_POP", `key file ${path}: proofOfPossession is not a valid proof for publicKey`, { path });
  return { secretKey, publicKey, publicKeyBytes: pkBytes, proofOfPossession: popBytes! };
}

function hexField(v: unknown, bytes: number): Uint8Array | undefined {
  if (typeof v !== "string" || v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) return undefined;
  return fromHex(v);
}

function ioError(path: string, e: unknown): KeyFileError {
  const err = e as NodeJS.ErrnoException;
  return new KeyFileError("KEY_FILE_IO", `key file ${path}: ${err.code ?? "error"}: ${err.message}`, { path });
}
