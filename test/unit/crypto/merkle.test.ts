import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import type { Hasher } from "../../../src/crypto/hasher.js";
import {
  TREE_VERIFY_INDEX_OUT_OF_RANGE,
  TREE_VERIFY_OK,
  TREE_VERIFY_PROOF_TOO_LONG,
  TREE_VERIFY_PROOF_TOO_SHORT,
  TREE_VERIFY_ROOT_MISMATCH,
} from "../../../src/crypto/hasher.js";
import { WasmHasher } from "../../../src/crypto/hash/wasm.js";
import { NodeHasher } from "../../../src/crypto/hash/node.js";
import { defaultHasher } from "../../../src/crypto/hash/backends.js";
import {
  MerkleError,
  MerkleTree,
  checkInclusion,
  inclusionProofLength,
  leafHash,
  merkleProof,
  merkleRoot,
  nodeHash,
  verifyInclusion,
} from "../../../src/crypto/merkle.js";
import type { InclusionProof } from "../../../src/crypto/merkle.js";
import { fromHex, toHex, utf8 } from "../../../src/util/bytes.js";
import type { SeededRng } from "../../../src/util/rng.js";
import { allHashers } from "../../support/hashers.js";
import { seededRng } from "../../support/seed.js";
import { vectorPath } from "../../support/vectors.js";

// ---- An independent oracle: RFC 6962 §2.1 written down recursively over node:crypto. -------------------------

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const largestPow2Below = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
/** MTH(D[n]). */
function mth(d: readonly Uint8Array[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Uint8Array.of(0), d[0]!);
  const k = largestPow2Below(d.length);
  return sha(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
}
/** PATH(m, D[n]). */
function path(m: number, d: readonly Uint8Array[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = largestPow2Below(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

const hex = (bs: readonly Uint8Array[]): string[] => bs.map(toHex);
const randomLeaves = (rng: SeededRng, n: number): Uint8Array[] => Array.from({ length: n }, () => rng.bytes(rng.int(100)));
const isMerkleError = (code: string) => (e: unknown) => e instanceof MerkleError && e.code === code;

const hashers = allHashers();

// The eight leaves of the RFC 6962 reference test data (certificate-transparency), from which the inclusion
// vectors in test/vectors/rfc6962 were generated.
const RFC_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(fromHex);

test("known constants (test/vectors/README.md)", () => {
  for (const { name, hasher } of hashers) {
    assert.equal(toHex(merkleRoot([], hasher)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", name);
    assert.equal(toHex(leafHash(new Uint8Array(0), hasher)), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", name);
    assert.equal(toHex(merkleRoot([new Uint8Array(0)], hasher)), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", name);
    assert.equal(toHex(leafHash(utf8("L123456"), hasher)), "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56", name);
    // nodeHash takes 32-byte children; the README's "N123"/"N456" constant is H(0x01 ‖ "N123" ‖ "N456").
    assert.equal(toHex(hasher.digest(utf8("N123N456"), 1)), "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb", name);
  }
});

// ---- RFC 6962 inclusion vectors (transparency-dev/merkle testdata, Apache-2.0) -----------------------------------

interface VectorCase {
  file: string;
  desc: string;
  wantErr: boolean;
  proof: InclusionProof;
  root: Uint8Array;
}

function loadVectors(): VectorCase[] {
  const dir = vectorPath("rfc6962", "inclusion");
  const cases: VectorCase[] = [];
  for (const f of (readdirSync(dir, { recursive: true }) as string[]).filter((x) => x.endsWith(".json")).sort()) {
    {
      const v = JSON.parse(readFileSync(`${dir}/${f}`, "utf8")) as {
        leafIdx: number;
        treeSize: number;
        root: string;
        leafHash: string;
        proof: string[] | null;
        desc: string;
        wantErr: boolean;
      };
      const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));
      cases.push({
        file: f,
        desc: v.desc,
        wantErr: v.wantErr,
        // leafIdx 2^64-1 ("leafIdx sub @1") parses to an unsafe number; it must be rejected like the rest.
        proof: { leafIndex: v.leafIdx, treeSize: v.treeSize, leafHash: b64(v.leafHash), proof: (v.proof ?? []).map(b64) },
        root: b64(v.root),
      });
    }
  }
  return cases;
}

test("the RFC 6962 inclusion vectors are all present", () => {
  const cases = loadVectors();
  assert.equal(cases.length, 98);
  assert.equal(cases.filter((c) => !c.wantErr).length, 6);
});

for (const { name, hasher } of hashers) {
  test(`${name}: every wantErr:false inclusion vector verifies and every other is rejected`, () => {
    for (const c of loadVectors()) {
      const err = checkInclusion(c.proof, c.root, hasher);
      if (c.wantErr) assert.ok(err instanceof MerkleError, `${c.file} (${c.desc}) must be rejected`);
      else assert.equal(err, null, `${c.file} (${c.desc}) must verify: ${err?.message}`);
      assert.equal(verifyInclusion(c.proof, c.root, hasher), !c.wantErr, c.file);
    }
  });

  test(`${name}: proofs generated from the RFC 6962 test leaves equal the happy-path vectors`, () => {
    // single-entry/matching-root-and-leaf uses an arbitrary leaf hash; the happy paths come from RFC_LEAVES.
    for (const c of loadVectors().filter((v) => v.file.endsWith("happy-path.json"))) {
      const p = merkleProof(RFC_LEAVES.slice(0, c.proof.treeSize), c.proof.leafIndex, hasher);
      assert.equal(toHex(p.root), toHex(c.root), c.file);
      assert.equal(toHex(p.leafHash), toHex(c.proof.leafHash), c.file);
      assert.deepEqual(hex(p.proof), hex(c.proof.proof), c.file);
    }
  });
}

// ---- Random trees against the recursive oracle -----------------------------------------------------------------

const EDGE_SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 2000];

for (const { name, hasher } of hashers) {
  test(`${name}: roots of random trees of 0..2,000 leaves equal the recursive oracle`, (t) => {
    const rng = seededRng(t);
    const sizes = [...EDGE_SIZES, ...Array.from({ length: 12 }, () => rng.int(2001))];
    for (const n of sizes) {
      const leaves = randomLeaves(rng, n);
      assert.equal(toHex(merkleRoot(leaves, hasher)), toHex(mth(leaves)), `${n} leaves`);
    }
    // Equal-length leaves (the SIMD path's common case) too.
    const fixed = Array.from({ length: 1337 }, () => rng.bytes(32));
    assert.equal(toHex(merkleRoot(fixed, hasher)), toHex(mth(fixed)));
  });

  test(`${name}: every proof of every tree up to 40 leaves equals the oracle path and verifies`, (t) => {
    const rng = seededRng(t);
    for (let n = 1; n <= 40; n++) {
      const leaves = randomLeaves(rng, n);
      const root = mth(leaves);
      for (let m = 0; m < n; m++) {
        const p = merkleProof(leaves, m, hasher);
        assert.equal(toHex(p.root), toHex(root), `root, n=${n} m=${m}`);
        assert.equal(toHex(p.leafHash), toHex(sha(Uint8Array.of(0), leaves[m]!)), `leaf hash, n=${n} m=${m}`);
        assert.deepEqual(hex(p.proof), hex(path(m, leaves)), `path, n=${n} m=${m}`);
        assert.equal(p.proof.length, inclusionProofLength(m, n));
        assert.equal(checkInclusion(p, root, hasher), null, `verify, n=${n} m=${m}`);
      }
    }
  });

  test(`${name}: random proofs in trees up to 2,000 leaves verify; tampered ones are rejected`, (t) => {
    const rng = seededRng(t);
    for (let k = 0; k < 25; k++) {
      const n = 1 + rng.int(2000);
      const leaves = randomLeaves(rng, n);
      const m = rng.pick([0, n - 1, rng.int(n)]);
      const p = merkleProof(leaves, m, hasher);
      assert.deepEqual(hex(p.proof), hex(path(m, leaves)), `n=${n} m=${m}`);
      assert.equal(checkInclusion(p, p.root, hasher), null);
      if (p.proof.length > 0) {
        const j = rng.int(p.proof.length);
        const bad = p.proof.map((x) => x.slice());
        const byte = rng.int(32);
        bad[j]![byte] = bad[j]![byte]! ^ (1 << rng.int(8));
        assert.equal(checkInclusion({ ...p, proof: bad }, p.root, hasher)?.code, "ROOT_MISMATCH", `flipped bit in proof[${j}]`);
      }
      const otherLeaf = p.leafHash.slice();
      otherLeaf[0] = otherLeaf[0]! ^ 0x80;
      assert.equal(checkInclusion({ ...p, leafHash: otherLeaf }, p.root, hasher)?.code, "ROOT_MISMATCH");
      if (n > 1) {
        const other = (m + 1 + rng.int(n - 1)) % n;
        assert.notEqual(checkInclusion({ ...p, leafIndex: other }, p.root, hasher), null, `proof of ${m} presented as ${other} of ${n}`);
      }
    }
  });
}

test("trees across the core's 4,096-leaf chunks: roots and proofs at chunk edges equal the oracle", (t) => {
  const rng = seededRng(t);
  for (const n of [4096, 4097, 8193, 3 * 4096 + 1]) {
    const leaves = Array.from({ length: n }, () => rng.bytes(rng.pick([0, 32, rng.int(80)])));
    const root = toHex(mth(leaves));
    const indices = [0, 4095, 4096, n - 1, rng.int(n)].filter((m) => m < n);
    const paths = indices.map((m) => hex(path(m, leaves)));
    for (const { name, hasher } of hashers) {
      assert.equal(toHex(merkleRoot(leaves, hasher)), root, `${name}: root of ${n}`);
      indices.forEach((m, k) => {
        const p = merkleProof(leaves, m, hasher);
        assert.equal(toHex(p.root), root, `${name}: proof root, n=${n} m=${m}`);
        assert.deepEqual(hex(p.proof), paths[k], `${name}: path, n=${n} m=${m}`);
        assert.equal(checkInclusion(p, p.root, hasher), null);
      });
    }
  }
});

test("proofs from one backend verify with every other", (t) => {
  const rng = seededRng(t);
  const leaves = randomLeaves(rng, 777);
  for (const a of hashers) {
    const p = merkleProof(leaves, rng.int(777), a.hasher);
    for (const b of hashers) assert.equal(checkInclusion(p, p.root, b.hasher), null, `${a.name} -> ${b.name}`);
  }
});

test("a root over 2^20 32-byte leaves: wasm (one call) equals the node backend (TypeScript levels)", (t) => {
  const rng = seededRng(t);
  const all = rng.bytes(32 << 20);
  const leaves = Array.from({ length: 1 << 20 }, (_, i) => all.subarray(32 * i, 32 * i + 32));
  assert.equal(toHex(merkleRoot(leaves, defaultHasher())), toHex(merkleRoot(leaves, new NodeHasher())));
});

// ---- Bad input ---------------------------------------------------------------------------------------------------

for (const { name, hasher } of hashers) {
  test(`${name}: bad input gets a typed MerkleError, never a trap or a wrong answer`, () => {
    const leaves = [utf8("a"), utf8("b"), utf8("c")];
    const p = merkleProof(leaves, 1, hasher);
    const h: Hasher = hasher;
    // Generation.
    assert.throws(() => merkleProof(leaves, 3, h), isMerkleError("INDEX_OUT_OF_RANGE"));
    assert.throws(() => merkleProof([], 0, h), isMerkleError("INDEX_OUT_OF_RANGE"));
    assert.throws(() => merkleProof(leaves, -1, h), isMerkleError("BAD_INDEX"));
    assert.throws(() => merkleProof(leaves, 0.5, h), isMerkleError("BAD_INDEX"));
    assert.throws(() => merkleRoot([utf8("a"), "b" as unknown as Uint8Array], h), isMerkleError("BAD_LEAF"));
    assert.throws(() => nodeHash(new Uint8Array(31), new Uint8Array(32), h), isMerkleError("DIGEST_LENGTH"));
    assert.throws(() => nodeHash(new Uint8Array(32), new Uint8Array(33), h), isMerkleError("DIGEST_LENGTH"));
    // Verification: rejections come back as values.
    const code = (q: InclusionProof, root: Uint8Array = p.root) => checkInclusion(q, root, h)?.code;
    assert.equal(code(p), undefined);
    assert.equal(code({ ...p, leafIndex: 3 }), "INDEX_OUT_OF_RANGE");
    assert.equal(code({ ...p, treeSize: 0, leafIndex: 0 }), "INDEX_OUT_OF_RANGE");
    assert.equal(code({ ...p, leafIndex: -1 }), "BAD_INDEX");
    assert.equal(code({ ...p, treeSize: 2 ** 64 }), "BAD_INDEX");
    assert.equal(code({ ...p, treeSize: Number.NaN }), "BAD_INDEX");
    assert.equal(code({ ...p, proof: p.proof.slice(1) }), "PROOF_LENGTH");
    assert.equal(code({ ...p, proof: [...p.proof, p.root] }), "PROOF_LENGTH");
    assert.equal(code({ ...p, proof: [p.proof[0]!.subarray(1), p.proof[1]!] }), "DIGEST_LENGTH");
    assert.equal(code({ ...p, leafHash: new Uint8Array(33) }), "DIGEST_LENGTH");
    assert.equal(code(p, p.root.subarray(0, 31)), "DIGEST_LENGTH");
    assert.equal(code({ ...p, proof: null as unknown as Uint8Array[] }), "PROOF_LENGTH");
    assert.equal(code(p, new Uint8Array(32)), "ROOT_MISMATCH");
    // Huge but valid sizes are handled without overflow: the path length is the tree height.
    assert.equal(inclusionProofLength(2 ** 52, 2 ** 53 - 1), 53);
    assert.equal(code({ leafIndex: 2 ** 52, treeSize: 2 ** 53 - 1, leafHash: p.leafHash, proof: Array.from({ length: 53 }, () => p.root) }), "ROOT_MISMATCH");
  });
}

test("inclusionProofLength matches the oracle path length and rejects bad arguments", () => {
  for (let n = 1; n <= 70; n++) {
    const leaves = Array.from({ length: n }, (_, i) => Uint8Array.of(i));
    for (let m = 0; m < n; m++) assert.equal(inclusionProofLength(m, n), path(m, leaves).length, `m=${m} n=${n}`);
  }
  assert.throws(() => inclusionProofLength(5, 5), isMerkleError("INDEX_OUT_OF_RANGE"));
  assert.throws(() => inclusionProofLength(0, 2 ** 60), isMerkleError("BAD_INDEX"));
});

test("the core's own verifier rejects what the TypeScript checks would catch first (defence in depth)", () => {
  const leaves = [utf8("a"), utf8("b"), utf8("c"), utf8("d"), utf8("e")];
  for (const { name, hasher } of hashers) {
    if (!(hasher instanceof WasmHasher)) continue;
    const p = merkleProof(leaves, 2, hasher);
    assert.equal(hasher.treeVerify(p.leafHash, 2, 5, p.proof, p.root), TREE_VERIFY_OK, name);
    assert.equal(hasher.treeVerify(p.leafHash, 5, 5, p.proof, p.root), TREE_VERIFY_INDEX_OUT_OF_RANGE, name);
    assert.equal(hasher.treeVerify(p.leafHash, 2 ** 40, 2 ** 40, p.proof, p.root), TREE_VERIFY_INDEX_OUT_OF_RANGE, name);
    assert.equal(hasher.treeVerify(p.leafHash, 2, 5, [...p.proof, p.root], p.root), TREE_VERIFY_PROOF_TOO_LONG, name);
    assert.equal(hasher.treeVerify(p.leafHash, 2, 5, p.proof.slice(1), p.root), TREE_VERIFY_PROOF_TOO_SHORT, name);
    assert.equal(hasher.treeVerify(p.leafHash, 3, 5, p.proof, p.root), TREE_VERIFY_ROOT_MISMATCH, name);
  }
});

test("MerkleTree: every proof of every tree size up to 70 (and chunk edges) equals the oracle, on every backend", (t) => {
  const rng = seededRng(t);
  const sizes = [...Array.from({ length: 71 }, (_, i) => i), 4097];
  for (const n of sizes) {
    const leaves = randomLeaves(rng, n);
    const root = toHex(mth(leaves));
    for (const { name, hasher } of hashers) {
      const tree = MerkleTree.build(leaves, hasher);
      assert.equal(tree.size, n);
      assert.equal(toHex(tree.root), root, `${name}: root of ${n}`);
      const indices = n <= 70 ? Array.from({ length: n }, (_, i) => i) : [0, 4095, 4096, rng.int(n)];
      for (const m of indices) {
        const p = tree.proof(m);
        assert.deepEqual(hex(p.proof), hex(path(m, leaves)), `${name}: path n=${n} m=${m}`);
        assert.equal(toHex(p.leafHash), toHex(sha(Uint8Array.of(0), leaves[m]!)));
        assert.equal(toHex(p.root), root);
        assert.equal(p.treeSize, n);
      }
      assert.throws(() => tree.proof(n), (e: unknown) => e instanceof MerkleError && e.code === "INDEX_OUT_OF_RANGE");
      assert.throws(() => tree.proof(-1), (e: unknown) => e instanceof MerkleError && e.code === "BAD_INDEX");
    }
  }
});

test("MerkleTree: proofs are fresh arrays (a caller mutating one cannot corrupt the kept levels); byteLength counts them", (t) => {
  const rng = seededRng(t);
  const leaves = randomLeaves(rng, 100);
  const tree = MerkleTree.build(leaves);
  const a = tree.proof(7);
  a.proof[0]!.fill(0);
  a.leafHash.fill(0);
  a.root.fill(0);
  const b = tree.proof(7);
  assert.deepEqual(hex(b.proof), hex(path(7, leaves)));
  assert.equal(toHex(b.root), toHex(mth(leaves)));
  // 100 + 50 + 25 + 13 + 7 + 4 + 2 + 1 nodes, plus the root kept apart.
  assert.equal(tree.byteLength, (100 + 50 + 25 + 13 + 7 + 4 + 2 + 1 + 1) * 32);
});
