import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { vectorPath } from "../../support/vectors.js";

const bin = fileURLToPath(new URL("../../../../bin/quire.js", import.meta.url));

/** Runs `quire merkle ...` in a child process with `input` on stdin (bounded: killed after 30 s). */
function quire(args: string[], input: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, "merkle", ...args], { input, encoding: "utf8", timeout: 30_000 });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const b64hex = (s: string) => Buffer.from(s, "base64").toString("hex");
const vector = (name: string) => JSON.parse(readFileSync(vectorPath("rfc6962", "inclusion", name), "utf8")) as {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[];
};

// The eight RFC 6962 reference leaves; the empty leaf is written as "0x" (blank lines are skipped).
const RFC_LEAVES = "0x\n00\n10\n2021\n3031\n40414243\n5051525354555657\n606162636465666768696a6b6c6d6e6f\n";

test("merkle root prints the RFC 6962 root with every backend; blank lines and CRLF are ignored", () => {
  const want = b64hex(vector("1/happy-path.json").root);
  for (const backend of ["wasm", "node", "noble"]) {
    const r = quire(["root", "--backend", backend], RFC_LEAVES.replace(/\n/g, "\r\n\n"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${want}\n`, backend);
  }
  assert.equal(quire(["root"], "").stdout, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
});

test("merkle proof prints the RFC 6962 audit path as JSON", () => {
  const v = vector("2/happy-path.json");
  const r = quire(["proof", "--index", String(v.leafIdx)], RFC_LEAVES);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    leafIndex: v.leafIdx,
    treeSize: v.treeSize,
    root: b64hex(v.root),
    leafHash: b64hex(v.leafHash),
    proof: v.proof.map(b64hex),
  });
});

test("merkle verify: exit 0 for a valid proof, 1 with a one-line reason for an invalid one", () => {
  const proof = quire(["proof", "--index", "3", "--backend", "noble"], RFC_LEAVES).stdout;
  const ok = quire(["verify"], proof);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^valid/);

  const doc = JSON.parse(proof) as { root: string; proof: string[]; leafIndex: number };
  const wrongRoot = quire(["verify", "--backend", "node"], JSON.stringify({ ...doc, root: "00".repeat(32) }));
  assert.equal(wrongRoot.code, 1);
  assert.match(wrongRoot.stdout, /^invalid: ROOT_MISMATCH: [^\n]+\n$/);

  const short = quire(["verify"], JSON.stringify({ ...doc, proof: doc.proof.slice(1) }));
  assert.equal(short.code, 1);
  assert.match(short.stdout, /^invalid: PROOF_LENGTH: /);

  const outOfRange = quire(["verify"], JSON.stringify({ ...doc, leafIndex: 8 }));
  assert.equal(outOfRange.code, 1);
  assert.match(outOfRange.stdout, /^invalid: INDEX_OUT_OF_RANGE: /);

  const shortHash = quire(["verify"], JSON.stringify({ ...doc, root: "abcd" }));
  assert.equal(shortHash.code, 1);
  assert.match(shortHash.stdout, /^invalid: DIGEST_LENGTH: /);
});

test("merkle verify --root checks against a trusted root and --leaf against the leaf data", () => {
  const v = vector("2/happy-path.json");
  const proof = quire(["proof", "--index", String(v.leafIdx)], RFC_LEAVES).stdout;
  const trusted = b64hex(v.root);
  assert.equal(quire(["verify", "--root", trusted], proof).code, 0);
  // A self-consistent document whose root differs from the trusted one is refused.
  const forged = quire(["proof", "--index", String(v.leafIdx)], RFC_LEAVES.replace("3031", "3032")).stdout;
  assert.equal(quire(["verify"], forged).code, 0);
  const r = quire(["verify", "--root", trusted], forged);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^invalid: ROOT_MISMATCH/);
  // Leaf 5 of the RFC reference leaves is 40414243.
  assert.equal(quire(["verify", "--leaf", "40414243"], proof).code, 0);
  const wrongLeaf = quire(["verify", "--leaf", "40414244"], proof);
  assert.equal(wrongLeaf.code, 1);
  assert.match(wrongLeaf.stdout, /^invalid: LEAF_MISMATCH/);
  assert.equal(quire(["verify", "--root", "xyz"], proof).code, 2);
});

test("bad input is a clear error with exit code 2", () => {
  const badHex = quire(["root"], "00\nzz\n");
  assert.equal(badHex.code, 2);
  assert.match(badHex.stderr, /line 2: invalid hex/);
  assert.equal(quire(["root"], "abc\n").code, 2); // odd length
  assert.equal(quire(["root", "--backend", "sha1"], "00\n").code, 2);
  assert.equal(quire(["root", "--bogus", "1"], "00\n").code, 2);
  assert.equal(quire(["proof"], RFC_LEAVES).code, 2); // --index missing
  const range = quire(["proof", "--index", "8"], RFC_LEAVES);
  assert.equal(range.code, 2);
  assert.match(range.stderr, /out of range for 8 leaves/);
  const malformed = quire(["verify"], "{not json");
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /malformed proof JSON/);
  assert.equal(quire(["verify"], '{"leafIndex":0,"treeSize":1,"root":"00","leafHash":"00"}').code, 2); // no proof array
  assert.equal(quire(["verify"], '{"leafIndex":0,"treeSize":1,"root":"xy","leafHash":"00","proof":[]}').code, 2);
  assert.equal(quire(["frobnicate"], "").code, 2);
});

test("--help prints the usage and exits 0, on the command and on each subcommand", () => {
  for (const args of [["--help"], ["root", "--help"], ["verify", "--help"]]) {
    const r = quire(args, "");
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /^usage: quire merkle root/);
  }
});
