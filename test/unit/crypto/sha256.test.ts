import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { DIGEST_LENGTH, HashError, isTreeHasher } from "../../../src/crypto/hasher.js";
import { AutoHasher, BATCH_LANES, MANY_NODE_MIN_BYTES, SINGLE_NODE_MIN_BYTES } from "../../../src/crypto/hash/auto.js";
import { NodeHasher } from "../../../src/crypto/hash/node.js";
import { createHasher, defaultHasher } from "../../../src/crypto/hash/backends.js";
import { WasmHasher } from "../../../src/crypto/hash/wasm.js";
import { WasmCore, simdAvailable } from "../../../src/crypto/wasm/loader.js";
import { fromHex, toHex } from "../../../src/util/bytes.js";
import { allHashers } from "../../support/hashers.js";
import { seededRng } from "../../support/seed.js";
import { vectorPath } from "../../support/vectors.js";

const oracle = (data: Uint8Array, prefix?: number): string => {
  const h = createHash("sha256");
  if (prefix !== undefined) h.update(Uint8Array.of(prefix));
  return h.update(data).digest("hex");
};

/** Parses a NIST CAVP byte-oriented .rsp file into (message, digest) pairs. */
function readRsp(file: string): Array<{ msg: Uint8Array; md: string }> {
  const text = readFileSync(vectorPath("nist", file), "utf8");
  const out: Array<{ msg: Uint8Array; md: string }> = [];
  const re = /Len = (\d+)\r?\nMsg = ([0-9a-f]+)\r?\nMD = ([0-9a-f]{64})/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    // Len is in bits; "Len = 0" comes with the placeholder message "00".
    out.push({ msg: fromHex(m[2]!).subarray(0, Number(m[1]) / 8), md: m[3]! });
  }
  return out;
}

const hashers = allHashers();

test("the NIST CAVP vectors parse (65 short messages, the 11 long messages stored)", () => {
  assert.equal(readRsp("SHA256ShortMsg.rsp").length, 65);
  assert.equal(readRsp("SHA256LongMsg.rsp").length, 11);
});

for (const { name, hasher } of hashers) {
  test(`${name}: NIST SHA256ShortMsg and SHA256LongMsg vectors`, () => {
    for (const file of ["SHA256ShortMsg.rsp", "SHA256LongMsg.rsp"]) {
      for (const { msg, md } of readRsp(file)) assert.equal(toHex(hasher.digest(msg)), md, `${file} Len=${msg.length * 8}`);
    }
  });

  test(`${name}: digest matches node:crypto for every length 0..300 and random lengths up to 10,000`, (t) => {
    const rng = seededRng(t);
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), ...Array.from({ length: 60 }, () => rng.int(10_001)), 10_000];
    for (const len of lengths) {
      const data = rng.bytes(len);
      assert.equal(toHex(hasher.digest(data)), oracle(data), `length ${len}`);
    }
  });

  test(`${name}: a prefix byte is hashed before the message`, (t) => {
    const rng = seededRng(t);
    for (const len of [0, 1, 31, 32, 54, 55, 56, 62, 63, 64, 65, 119, 127, 128, 1000, rng.int(5000)]) {
      const data = rng.bytes(len);
      const prefix = rng.int(256);
      assert.equal(toHex(hasher.digest(data, prefix)), oracle(data, prefix), `length ${len}, prefix ${prefix}`);
    }
  });

  test(`${name}: digestInto writes at the offset and nowhere else`, (t) => {
    const rng = seededRng(t);
    const data = rng.bytes(100);
    const out = new Uint8Array(80).fill(0xee);
    hasher.digestInto(data, out, 7, 0);
    assert.equal(toHex(out.subarray(7, 39)), oracle(data, 0));
    assert.ok(out.subarray(0, 7).every((b) => b === 0xee) && out.subarray(39).every((b) => b === 0xee));
  });

  test(`${name}: digestMany over variable lengths, with and without a prefix`, (t) => {
    const rng = seededRng(t);
    // Lengths around block boundaries and beyond 64 blocks exercise the SIMD grouping by block count.
    const messages = Array.from({ length: 203 }, () => rng.bytes(rng.pick([rng.int(120), rng.int(600), 55, 56, 63, 64, 4096, 5000])));
    for (const prefix of [undefined, 0, 1, 255]) {
      const packed = hasher.digestMany(messages, prefix);
      assert.equal(packed.length, messages.length * DIGEST_LENGTH);
      messages.forEach((m, i) => assert.equal(toHex(packed.subarray(32 * i, 32 * i + 32)), oracle(m, prefix), `message ${i}, prefix ${prefix}`));
    }
    assert.equal(hasher.digestMany([]).length, 0);
  });

  test(`${name}: messages of 64 and 65 bytes in total (the core's precomputed last blocks), in batches`, (t) => {
    const rng = seededRng(t);
    for (const [len, prefix] of [[64, undefined], [65, undefined], [63, 9], [64, 9], [64, 0], [65, 1]] as const) {
      const messages = Array.from({ length: 13 }, () => rng.bytes(len));
      const packed = hasher.digestMany(messages, prefix);
      messages.forEach((m, i) => assert.equal(toHex(packed.subarray(32 * i, 32 * i + 32)), oracle(m, prefix), `${len} bytes, prefix ${prefix}, #${i}`));
    }
  });

  test(`${name}: digestLevel hashes 64-byte chunks, also in place`, (t) => {
    const rng = seededRng(t);
    for (const n of [0, 1, 3, 4, 5, 8, 13, 64, 101]) {
      const input = rng.bytes(64 * n);
      const want = Array.from({ length: n }, (_, i) => oracle(input.subarray(64 * i, 64 * i + 64), 1));
      const out = new Uint8Array(32 * n);
      hasher.digestLevel(input, out, 1);
      assert.deepEqual(Array.from({ length: n }, (_, i) => toHex(out.subarray(32 * i, 32 * i + 32))), want, `${n} chunks`);
      const inPlace = input.slice();
      hasher.digestLevel(inPlace, inPlace, 1);
      assert.deepEqual(Array.from({ length: n }, (_, i) => toHex(inPlace.subarray(32 * i, 32 * i + 32))), want, `${n} chunks in place`);
      const plain = new Uint8Array(32 * n);
      hasher.digestLevel(input, plain);
      for (let i = 0; i < n; i++) assert.equal(toHex(plain.subarray(32 * i, 32 * i + 32)), oracle(input.subarray(64 * i, 64 * i + 64)));
    }
  });

  test(`${name}: bad input gets a typed HashError`, () => {
    const isCode = (code: string) => (e: unknown) => e instanceof HashError && e.code === code;
    for (const prefix of [-1, 256, 1.5, Number.NaN]) assert.throws(() => hasher.digest(new Uint8Array(1), prefix), isCode("BAD_PREFIX"));
    assert.throws(() => hasher.digestMany([new Uint8Array(1)], 300), isCode("BAD_PREFIX"));
    assert.throws(() => hasher.digestInto(new Uint8Array(1), new Uint8Array(31)), isCode("OUTPUT_TOO_SMALL"));
    assert.throws(() => hasher.digestInto(new Uint8Array(1), new Uint8Array(40), 9), isCode("OUTPUT_TOO_SMALL"));
    assert.throws(() => hasher.digestInto(new Uint8Array(1), new Uint8Array(40), -1), isCode("OUTPUT_TOO_SMALL"));
    assert.throws(() => hasher.digestLevel(new Uint8Array(65), new Uint8Array(64)), isCode("BAD_LEVEL_LENGTH"));
    assert.throws(() => hasher.digestLevel(new Uint8Array(128), new Uint8Array(63)), isCode("OUTPUT_TOO_SMALL"));
  });
}

test("both WASM builds give identical bytes on the same random batch", (t) => {
  if (!simdAvailable()) return t.skip("runtime without wasm SIMD");
  const rng = seededRng(t);
  const messages = Array.from({ length: 500 }, () => rng.bytes(rng.int(300)));
  const simd = new WasmHasher(new WasmCore("simd"));
  const scalar = new WasmHasher(new WasmCore("scalar"));
  assert.deepEqual(simd.digestMany(messages, 0), scalar.digestMany(messages, 0));
  const level = rng.bytes(64 * 77);
  const a = new Uint8Array(32 * 77);
  const b = new Uint8Array(32 * 77);
  simd.digestLevel(level, a, 1);
  scalar.digestLevel(level, b, 1);
  assert.deepEqual(a, b);
});

test("wasm memory grows for large inputs and keeps working afterwards", (t) => {
  const rng = seededRng(t);
  const hasher = new WasmHasher(new WasmCore(simdAvailable() ? "simd" : "scalar"));
  const before = hasher.core.exports.memory.buffer.byteLength;
  const big = rng.bytes(24 << 20);
  assert.equal(toHex(hasher.digest(big)), oracle(big));
  assert.ok(hasher.core.exports.memory.buffer.byteLength > before);
  const small = rng.bytes(10);
  assert.equal(toHex(hasher.digest(small)), oracle(small));
});

test("createHasher builds each backend, the default is the per-job dispatcher, and an unknown name is a typed error", () => {
  assert.equal(createHasher("wasm").backend, "wasm");
  assert.equal(createHasher("node").backend, "node");
  assert.equal(createHasher("noble").backend, "noble");
  assert.equal(createHasher("auto").backend, "auto");
  assert.equal(defaultHasher(), defaultHasher());
  assert.equal(defaultHasher().backend, "auto");
  assert.ok(isTreeHasher(defaultHasher()), "merkle.ts computes whole trees in the core through the default hasher");
  assert.throws(
    () => createHasher("sha1" as never),
    (e: unknown) => e instanceof HashError && e.code === "UNKNOWN_BACKEND",
  );
});

// The per-job dispatcher: correct bytes on both sides of each threshold, and the side each job goes to.
test("auto: single messages on both sides of SINGLE_NODE_MIN_BYTES go to the expected backend and match node:crypto", (t) => {
  const rng = seededRng(t);
  const auto = new AutoHasher();
  const N = SINGLE_NODE_MIN_BYTES;
  for (const prefix of [undefined, 0, 1]) {
    const extra = prefix === undefined ? 0 : 1; // the threshold counts the prefix byte
    // [message length, whether node:crypto hashes it]: the threshold counts bytes hashed, the prefix byte included.
    const cases: Array<[number, boolean]> = [[N - 1 - extra, false], [N - extra, true], [N + 1 - extra, true], [0, false], [4096, true]];
    for (const [len, toNode] of cases) {
      const data = rng.bytes(len);
      assert.equal(auto.singleToNode(len, prefix), toNode, `length ${len}, prefix ${prefix}`);
      assert.equal(toHex(auto.digest(data, prefix)), oracle(data, prefix), `digest, length ${len}, prefix ${prefix}`);
      const out = new Uint8Array(40).fill(0xee);
      auto.digestInto(data, out, 5, prefix);
      assert.equal(toHex(out.subarray(5, 37)), oracle(data, prefix), `digestInto, length ${len}, prefix ${prefix}`);
      assert.ok(out.subarray(0, 5).every((b) => b === 0xee) && out.subarray(37).every((b) => b === 0xee));
    }
  }
});

test("auto: digestMany around MANY_NODE_MIN_BYTES and BATCH_LANES, all short, all long and mixed, in order", (t) => {
  const rng = seededRng(t);
  const auto = new AutoHasher();
  // Counts what reaches node:crypto, to see the split happen (the bytes are checked against the oracle regardless).
  let nodeCalls = 0;
  const node = new NodeHasher();
  const counting = Object.assign(Object.create(node) as NodeHasher, {
    digestInto: (d: Uint8Array, o: Uint8Array, off?: number, p?: number) => (nodeCalls++, node.digestInto(d, o, off, p)),
    digestMany: (ms: readonly Uint8Array[], p?: number) => ((nodeCalls += ms.length), node.digestMany(ms, p)),
  });
  const spied = new AutoHasher({ wasm: auto.wasm, node: counting });
  const M = MANY_NODE_MIN_BYTES;
  const S = SINGLE_NODE_MIN_BYTES;
  const cases: Array<{ lengths: number[]; long: number }> = [
    { lengths: Array(BATCH_LANES).fill(M - 1), long: 0 },
    { lengths: Array(BATCH_LANES).fill(M), long: BATCH_LANES },
    { lengths: Array(BATCH_LANES + 3).fill(M + 1), long: BATCH_LANES + 3 },
    { lengths: [M - 1, M, M + 1, 3, M * 4, 0, M - 1, 64], long: 3 },
    { lengths: [M - 1, M, M + 1, 3, M * 4, 0, M - 1, 64].reverse(), long: 3 },
    // Fewer messages than lanes: judged like single messages.
    { lengths: Array(BATCH_LANES - 1).fill(S - 1), long: 0 },
    { lengths: Array(BATCH_LANES - 1).fill(S), long: BATCH_LANES - 1 },
    { lengths: [S - 1, S + 1], long: 1 },
  ];
  for (const { lengths, long } of cases) {
    const messages = lengths.map((len) => rng.bytes(len));
    nodeCalls = 0;
    const packed = spied.digestMany(messages);
    assert.equal(nodeCalls, long, `lengths ${lengths.join(",")}: messages hashed by node:crypto`);
    assert.equal(packed.length, 32 * messages.length);
    messages.forEach((m, i) => assert.equal(toHex(packed.subarray(32 * i, 32 * i + 32)), oracle(m), `lengths ${lengths.join(",")}, #${i}`));
    // With a prefix the threshold moves down by one byte: the same lengths still hash correctly.
    const withPrefix = auto.digestMany(messages, 7);
    messages.forEach((m, i) => assert.equal(toHex(withPrefix.subarray(32 * i, 32 * i + 32)), oracle(m, 7), `prefixed, lengths ${lengths.join(",")}, #${i}`));
  }
  assert.throws(() => auto.digestMany([new Uint8Array(M)], 256), (e: unknown) => e instanceof HashError && e.code === "BAD_PREFIX");
});
