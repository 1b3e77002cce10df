import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, chmodSync, readFileSync, writeFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../../src/crypto/bls/backend.js";
import { generateKeyFile, loadKeyFile, writeKeyFile, KeyFileError } from "../../../../src/crypto/bls/keyFile.js";
import type { KeyFileJson } from "../../../../src/crypto/bls/keyFile.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { toHex, utf8 } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";

let dir: string;
let b: BlsBackend;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "quire-keyfile-"));
  b = await loadBlsBackend("blst");
});
after(() => rmSync(dir, { recursive: true, force: true }));

const isKeyFileError = (code: string, notContaining?: string) => (e: unknown) =>
  e instanceof KeyFileError && e.code === code && (notContaining === undefined || !(e.message + JSON.stringify(e.payload)).includes(notContaining));

test("a written key file has mode 0600, loads back, and its key signs and verifies", async (t) => {
  const rng = seededRng(t);
  const path = join(dir, "a.json");
  const doc = await generateKeyFile(b, rng.bytes(32));

  await writeKeyFile(path, doc);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(path, "utf8")), doc);
  const key = await loadKeyFile(path, b);
  assert.equal(toHex(key.publicKeyBytes), doc.publicKey);
  const msg = utf8("vote");
  assert.ok(b.verify(msg, b.publicKeyFromBytes(key.publicKeyBytes), b.sign(key.secretKey, msg)));
  assert.ok(await b.popVerify(key.publicKey, b.signatureFromBytes(key.proofOfPossession)));
});

test("the file's keys are KeyGen of the seed material and identical whichever backend made them", async (t) => {
  const rng = seededRng(t);
  const ikm = rng.bytes(32);
  const docs: KeyFileJson[] = [];
  for (const name of ["blst", "noble", "herumi"] as const) docs.push(await generateKeyFile(await loadBlsBackend(name), ikm));
  assert.equal(docs[0]!.secretKey, toHex(keyGen(ikm)));
  assert.deepEqual(docs[1], docs[0]);
  assert.deepEqual(docs[2], docs[0]);
});

test("an existing file is never overwritten without force; with force it is replaced atomically at mode 0600", async (t) => {
  const rng = seededRng(t);
  const path = join(dir, "b.json");
  const first = await generateKeyFile(b, rng.bytes(32));
  await writeKeyFile(path, first);
  const second = await generateKeyFile(b, rng.bytes(32));
  await assert.rejects(writeKeyFile(path, second), isKeyFileError("KEY_FILE_EXISTS"));
  assert.deepEqual(JSON.parse(readFileSync(path, "utf8")), first);
  const link = join(dir, "link.json");
  symlinkSync(join(dir, "elsewhere.json"), link);
  await assert.rejects(writeKeyFile(link, second), isKeyFileError("KEY_FILE_EXISTS"), "a dangling symlink is not followed");
  chmodSync(path, 0o644);
  await writeKeyFile(path, second, { force: true });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(path, "utf8")), second);
});

test("loading refuses group/other permissions, symlinks and missing files with a clear error", async (t) => {
  const rng = seededRng(t);
  const path = join(dir, "c.json");
  await writeKeyFile(path, await generateKeyFile(b, rng.bytes(32)));
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o601]) {
    chmodSync(path, mode);
    await assert.rejects(loadKeyFile(path, b), (e: unknown) => isKeyFileError("KEY_FILE_PERMISSIONS")(e) && (e as Error).message.includes("chmod 600"), mode.toString(8));
  }
  chmodSync(path, 0o400);
  await loadKeyFile(path, b);
  const link = join(dir, "c-link.json");
  symlinkSync(path, link);
  await assert.rejects(loadKeyFile(link, b), isKeyFileError("KEY_FILE_PERMISSIONS"));
  await assert.rejects(loadKeyFile(join(dir, "missing.json"), b), isKeyFileError("KEY_FILE_NOT_FOUND"));
  await assert.rejects(loadKeyFile(dir, b), (e: unknown) => e instanceof KeyFileError);
});

test("loading refuses bad JSON, wrong lengths, a foreign public key and a foreign proof, never echoing the secret", async (t) => {
  const rng = seededRng(t);
  const good = await generateKeyFile(b, rng.bytes(32));
  const other = await generateKeyFile(b, rng.bytes(32));
  const cases: [string, string, string][] = [
    ["not JSON", "{", "KEY_FILE_MALFORMED"],
    ["wrong type", JSON.stringify({ ...good, type: "eth2-keystore" }), "KEY_FILE_MALFORMED"],
    ["wrong version", JSON.stringify({ ...good, version: 2 }), "KEY_FILE_MALFORMED"],
    ["wrong scheme", JSON.stringify({ ...good, scheme: "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_" }), "KEY_FILE_MALFORMED"],
    ["short secret", JSON.stringify({ ...good, secretKey: good.secretKey.slice(2) }), "KEY_FILE_BAD_SECRET_KEY"],
    ["secret not hex", JSON.stringify({ ...good, secretKey: "zz" + good.secretKey.slice(2) }), "KEY_FILE_BAD_SECRET_KEY"],
    ["secret out of range", JSON.stringify({ ...good, secretKey: "ff".repeat(32) }), "KEY_FILE_BAD_SECRET_KEY"],
    ["secret missing", JSON.stringify({ ...good, secretKey: undefined }), "KEY_FILE_BAD_SECRET_KEY"],
    ["uncompressed public key", JSON.stringify({ ...good, publicKey: good.publicKey + good.publicKey }), "KEY_FILE_BAD_PUBLIC_KEY"],
    ["another key's public key", JSON.stringify({ ...good, publicKey: other.publicKey }), "KEY_FILE_KEY_MISMATCH"],
    ["another key's proof", JSON.stringify({ ...good, proofOfPossession: other.proofOfPossession }), "KEY_FILE_BAD_POP"],
    ["garbage proof", JSON.stringify({ ...good, proofOfPossession: "00".repeat(96) }), "KEY_FILE_BAD_POP"],
    ["short proof", JSON.stringify({ ...good, proofOfPossession: good.proofOfPossession.slice(4) }), "KEY_FILE_BAD_POP"],
  ];
  for (const [what, text, code] of cases) {
    const path = join(dir, `bad-${code}-${what.replace(/\W/g, "_")}.json`);
    writeFileSync(path, text, { mode: 0o600 });
    await assert.rejects(loadKeyFile(path, b), isKeyFileError(code, good.secretKey), what);
  }
});

test("a key path that is a FIFO is refused at once instead of blocking the open forever", async () => {
  const fifo = join(dir, "fifo.json");
  const mk = spawnSync("mkfifo", ["-m", "600", fifo]);
  if (mk.error !== undefined || mk.status !== 0) return; // no mkfifo on this system: nothing to test
  // In a child process, bounded: before O_NONBLOCK the open never returned and held a libuv thread.
  const keyFileModule = new URL("../../../../src/crypto/bls/keyFile.js", import.meta.url).href;
  const backendModule = new URL("../../../../src/crypto/bls/backend.js", import.meta.url).href;
  const script = `
    const { loadKeyFile } = await import(${JSON.stringify(keyFileModule)});
    const { loadBlsBackend } = await import(${JSON.stringify(backendModule)});
    try { await loadKeyFile(${JSON.stringify(fifo)}, await loadBlsBackend("blst")); console.log("loaded"); }
    catch (e) { console.log(e.code); }
    process.exit(0);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
  assert.equal(r.signal, null, "the load must not hang");
  assert.equal(r.stdout.trim(), "KEY_FILE_MALFORMED", r.stderr);
});
