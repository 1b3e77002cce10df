import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ed25519 as noble } from "@noble/curves/ed25519.js";
import { loadAccountKeyFile } from "../../../src/crypto/accountKeyFile.js";
import { decodeAccountTx, signingMessage } from "../../../src/chain/app/accounts/accountTx.js";
import { decodeParaTx } from "../../../src/chain/app/paracross/format.js";
import { fromHex, toHex, utf8 } from "../../../src/util/bytes.js";
import { startHarness } from "../../support/rpcHttp.js";

const bin = fileURLToPath(new URL("../../../../bin/quire.js", import.meta.url));
const quire = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
/** Async, so an in-process fake node can answer the child. */
const quireAsync = (...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: "utf8" }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }));
  });

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "quire-account-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("quire account new writes a 0600 key file whose public key is the seed's (checked by @noble/curves)", async () => {
  const path = join(dir, "alice.key");
  const r = quire("account", "new", "--out", path);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const doc = JSON.parse(readFileSync(path, "utf8")) as { type: string; version: number; publicKey: string; secretKey: string };
  assert.equal(doc.type, "quire-account-key");
  assert.equal(doc.version, 1);
  assert.equal(doc.publicKey, toHex(noble.getPublicKey(fromHex(doc.secretKey))));
  assert.ok(r.stdout.includes(doc.publicKey) && !r.stdout.includes(doc.secretKey));
  const again = quire("account", "new", "--out", path);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /KEY_FILE_EXISTS/);
  assert.equal(quire("account", "new", "--out", path, "--force").status, 0);
  assert.notEqual(JSON.parse(readFileSync(path, "utf8")).publicKey, doc.publicKey);
});

test("account key files: a public key that is not the seed's is refused", async () => {
  const path = join(dir, "bad.key");
  writeFileSync(path, JSON.stringify({ type: "quire-account-key", version: 1, publicKey: "00".repeat(32), secretKey: "11".repeat(32) }), { mode: 0o600 });
  await assert.rejects(loadAccountKeyFile(path), { code: "KEY_FILE_KEY_MISMATCH" });
});

test("quire account balance / transfer / withdraw against a node: the account's nonce, signed for the node's chain id", async () => {
  const path = join(dir, "sender.key");
  assert.equal(quire("account", "new", "--out", path).status, 0);
  const key = await loadAccountKeyFile(path);
  const h = await startHarness();
  try {
    h.api.accounts!.set(toHex(key.publicKey), { balance: 500, nonce: 3 });
    const bal = await quireAsync("account", "balance", "--key", path, "--rpc", h.base);
    assert.equal(bal.code, 0, bal.stderr);
    assert.match(bal.stdout, /balance: 500\nnonce: 3/);
    const to = new Uint8Array(32).fill(7);
    const t = await quireAsync("account", "transfer", "--key", path, "--to", toHex(to), "--amount", "42", "--rpc", h.base);
    assert.equal(t.code, 0, t.stderr);
    const d = decodeAccountTx(h.api.submissions.at(-1)!.tx);
    assert.ok(d.ok);
    assert.equal(d.tx.op, "transfer");
    assert.equal(d.tx.nonce, 3);
    assert.equal(d.tx.amount, 42);
    assert.deepEqual(d.tx.to, to);
    // The fake node's chain id is "quire-test" (its /v1/status).
    assert.equal(noble.verify(d.tx.signature, signingMessage(utf8("quire-test"), d.tx.body), key.publicKey), true);

    const dep = await quireAsync("account", "deposit", "--key", path, "--title", "demo", "--to", toHex(to), "--amount", "9", "--rpc", h.base);
    assert.equal(dep.code, 0, dep.stderr);
    const dd = decodeAccountTx(h.api.submissions.at(-1)!.tx);
    assert.ok(dd.ok && dd.tx.op === "deposit" && dd.tx.title === "demo" && dd.tx.amount === 9);
    assert.equal(noble.verify(dd.tx.signature, signingMessage(utf8("quire-test"), dd.tx.body), key.publicKey), true);

    const w = await quireAsync("account", "withdraw", "--key", path, "--title", "demo", "--to", toHex(to), "--amount", "5", "--rpc", h.base, "--para-rpc", h.base);
    assert.equal(w.code, 0, w.stderr);
    const p = decodeParaTx(h.api.submissions.at(-1)!.tx);
    assert.ok(p.ok);
    assert.equal(p.value.title, "demo");
    const inner = decodeAccountTx(p.value.inner);
    assert.ok(inner.ok && inner.tx.op === "withdraw" && inner.tx.title === "demo");

    const bad = await quireAsync("account", "transfer", "--key", path, "--to", "xyz", "--amount", "1", "--rpc", h.base);
    assert.equal(bad.code, 2);
  } finally {
    await h.server.stop();
  }
});
