// Ethereum's BLS test vectors (ethereum/bls12-381-tests v0.1.2, copied into test/vectors/bls12-381-tests) on every
// backend, through the same BlsBackend contract and loader as backend.test.ts. Every case is either reproduced
// exactly or listed below with the typed error Quire's contract gives instead; nothing is skipped silently.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, BlsBackendName, Signature } from "../../../../src/crypto/bls/backend.js";
import { BlsError } from "../../../../src/crypto/bls/errors.js";
import type { BlsErrorCode } from "../../../../src/crypto/bls/errors.js";
import { fromHex, toHex } from "../../../../src/util/bytes.js";
import { vectorPath } from "../../../support/vectors.js";

// ---- The files ------------------------------------------------------------------------------------------------

/** Files per folder in the v0.1.2 release: a missing or partial copy must fail the suite, not shrink it. */
const EXPECTED_FILES = {
  sign: 10,
  verify: 29,
  aggregate: 6,
  fast_aggregate_verify: 12,
  aggregate_verify: 5,
  batch_verify: 2,
  deserialization_G1: 13,
  deserialization_G2: 15,
  hash_to_G2: 4,
} as const;
type Folder = keyof typeof EXPECTED_FILES;
const FOLDERS = Object.keys(EXPECTED_FILES) as Folder[];
const TOTAL_FILES = 96;

interface Vector {
  /** `folder/file.json`, the key of the tables below. */
  id: string;
  input: unknown;
  /** The expected value, `false`, or `null` where the operation must fail. */
  output: unknown;
}

function readFolder(folder: Folder): Vector[] {
  const dir = vectorPath("bls12-381-tests", folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const v = JSON.parse(readFileSync(`${dir}/${f}`, "utf8")) as { input?: unknown; output?: unknown };
      assert.ok("input" in v && "output" in v, `${folder}/${f}: not an {input, output} vector`);
      return { id: `${folder}/${f}`, input: v.input, output: v.output };
    });
}

const VECTORS = new Map(FOLDERS.map((folder) => [folder, readFolder(folder)]));

// The files are hex with and without 0x (the deserialization folders omit it); fromHex takes both.
const bytes = (x: unknown): Uint8Array => {
  assert.equal(typeof x, "string");
  return fromHex(x as string);
};
const list = (x: unknown): Uint8Array[] => {
  assert.ok(Array.isArray(x));
  return x.map(bytes);
};
const field = (input: unknown, name: string): unknown => {
  assert.ok(typeof input === "object" && input !== null && name in input, `input has no "${name}"`);
  return (input as Record<string, unknown>)[name];
};

// ---- Where Quire's contract answers with a typed error --------------------------------------------------------

interface Refusal {
  code: BlsErrorCode;
  why: string;
  /**
   * The refused input is a signature outside G2. Parsed with `validate: false` a backend MAY defer the subgroup check
   * (backend.ts), so it may instead parse, and then the verify call must return false.
   */
  deferrable?: true;
}

/**
 * The generator's `tampered_signature` cases overwrite a valid signature's last four bytes with ff: the x coordinate
 * then has no curve point (refused by every parser) or lies on the curve outside G2 (refused when validated).
 */
const TAMPERED = (id: string): boolean => id.includes("_tampered_signature");
const TAMPERED_COUNT = 13;

/**
 * Vectors that expect the operation to fail (`null`, or `false` from a verify) and that Quire refuses before any
 * verify call, because an input cannot become a key or signature handle (backend.ts: public keys are validated
 * when parsed, identity refused; signatures too, see encoding.ts precheckPoint).
 */
const REFUSED: Record<string, Refusal> = {
  "sign/sign_case_zero_privkey.json": { code: "BAD_SECRET_KEY", why: "sk = 0 is not in [1, r)" },
  "aggregate/aggregate_na_signatures.json": { code: "EMPTY_INPUT", why: "aggregating nothing" },
  "verify/verify_infinity_pubkey_and_infinity_signature.json": { code: "BAD_PUBLIC_KEY", why: "identity public key" },
  "fast_aggregate_verify/fast_aggregate_verify_infinity_pubkey.json": { code: "BAD_PUBLIC_KEY", why: "identity public key" },
  "fast_aggregate_verify/fast_aggregate_verify_na_pubkeys_and_infinity_signature.json": { code: "BAD_SIGNATURE", why: "identity signature" },
  "fast_aggregate_verify/fast_aggregate_verify_na_pubkeys_and_na_signature.json": { code: "BAD_SIGNATURE", why: "96 zero bytes: compression flag clear" },
  "aggregate_verify/aggregate_verify_infinity_pubkey.json": { code: "BAD_PUBLIC_KEY", why: "identity public key" },
  "aggregate_verify/aggregate_verify_na_pubkeys_and_infinity_signature.json": { code: "BAD_SIGNATURE", why: "identity signature" },
  "aggregate_verify/aggregate_verify_na_pubkeys_and_na_signature.json": { code: "BAD_SIGNATURE", why: "96 zero bytes: compression flag clear" },
};
const TAMPERED_REFUSAL: Refusal = { code: "BAD_SIGNATURE", why: "tampered signature: off the curve or outside G2", deferrable: true };

/**
 * Vectors that expect success where Quire is deliberately stricter than the Ethereum spec: the point at infinity
 * never parses, as a public key (KeyValidate) or as a signature (no signature by a valid key on a hashed message
 * is the identity; an identity aggregate only arises from cancelling signatures). Not backend bugs: all three
 * backends agree, because precheckPoint refuses the infinity flag before any of them sees the bytes.
 */
const STRICTER: Record<string, Refusal> = {
  "deserialization_G1/deserialization_succeeds_infinity_with_true_b_flag.json": { code: "BAD_PUBLIC_KEY", why: "identity public key" },
  "deserialization_G2/deserialization_succeeds_infinity_with_true_b_flag.json": { code: "BAD_SIGNATURE", why: "identity signature" },
  "aggregate/aggregate_infinity_signature.json": { code: "BAD_SIGNATURE", why: "identity signature as an aggregate input" },
};

/**
 * Upstream-library disagreements with a vector, per backend: none. A case that starts failing on one backend goes
 * here with the library's issue, never into REFUSED/STRICTER (which hold for every backend alike).
 */
const KNOWN_FAILURES: Record<BlsBackendName, readonly string[]> = { blst: [], noble: [], herumi: [] };

/** hash_to_G2 uses the RFC 9380 test DST (QUUX-…); BlsBackend has no hash-to-curve entry point to give it one. */
const NOT_RUNNABLE: readonly Folder[] = ["hash_to_G2"];

// ---- Running one vector ---------------------------------------------------------------------------------------

/** What an operation did: a value, or a typed refusal. Any other exception fails the test as it is. */
type Outcome = { value: unknown } | { refused: BlsErrorCode };

function outcomeOf(fn: () => unknown): Outcome {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof BlsError) return { refused: e.code };
    throw e;
  }
}

/** One folder's operation. `validate` is how signatures are parsed; verify results must not depend on it. */
type Runner = (b: BlsBackend, input: unknown, validate: boolean) => unknown;

const sigs = (b: BlsBackend, xs: Uint8Array[], validate: boolean): Signature[] => xs.map((x) => b.signatureFromBytes(x, { validate }));

// Inputs are parsed in the order the vector lists them (keys before signature), so a refusal names the first bad one.
const RUNNERS: Record<Exclude<Folder, "hash_to_G2">, Runner> = {
  sign: (b, input) => toHex(b.signatureToBytes(b.sign(b.secretKeyFromBytes(bytes(field(input, "privkey"))), bytes(field(input, "message"))))),
  verify: (b, input, validate) => {
    const pk = b.publicKeyFromBytes(bytes(field(input, "pubkey")));
    const sig = b.signatureFromBytes(bytes(field(input, "signature")), { validate });
    return b.verify(bytes(field(input, "message")), pk, sig);
  },
  aggregate: (b, input, validate) => toHex(b.signatureToBytes(b.aggregateSignatures(sigs(b, list(input), validate)))),
  fast_aggregate_verify: (b, input, validate) => {
    const pks = list(field(input, "pubkeys")).map((x) => b.publicKeyFromBytes(x));
    const sig = b.signatureFromBytes(bytes(field(input, "signature")), { validate });
    return b.fastAggregateVerify(bytes(field(input, "message")), pks, sig);
  },
  aggregate_verify: (b, input, validate) => {
    const pks = list(field(input, "pubkeys")).map((x) => b.publicKeyFromBytes(x));
    const sig = b.signatureFromBytes(bytes(field(input, "signature")), { validate });
    return b.aggregateVerify(list(field(input, "messages")), pks, sig);
  },
  batch_verify: (b, input, validate) => {
    const pks = list(field(input, "pubkeys")).map((x) => b.publicKeyFromBytes(x));
    const messages = list(field(input, "messages"));
    const ss = sigs(b, list(field(input, "signatures")), validate);
    assert.ok(pks.length === messages.length && messages.length === ss.length, "batch vector with ragged arrays");
    return b.verifyBatch(pks.map((publicKey, i) => ({ publicKey, message: messages[i]!, signature: ss[i]! })));
  },
  // Deserialisation succeeds when the bytes parse and re-serialise to themselves (the vectors are canonical).
  deserialization_G1: (b, input) => {
    const raw = bytes(field(input, "pubkey"));
    return toHex(b.publicKeyToBytes(b.publicKeyFromBytes(raw))) === toHex(raw);
  },
  deserialization_G2: (b, input) => {
    const raw = bytes(field(input, "signature"));
    return toHex(b.signatureToBytes(b.signatureFromBytes(raw))) === toHex(raw);
  },
};

function refusalOf(id: string): Refusal | undefined {
  return STRICTER[id] ?? REFUSED[id] ?? (TAMPERED(id) ? TAMPERED_REFUSAL : undefined);
}

/** Every outcome the contract allows for this vector when signatures are parsed with `validate`. */
function allowedOutcomes(v: Vector, validate: boolean): Outcome[] {
  const refusal = refusalOf(v.id);
  if (refusal !== undefined) {
    const refused: Outcome = { refused: refusal.code };
    return refusal.deferrable === true && !validate ? [refused, { value: false }] : [refused];
  }
  const folder = v.id.split("/")[0] as Folder;
  // A failed deserialisation is the parser's typed error (backend.ts: "Throws BAD_PUBLIC_KEY" / "BAD_SIGNATURE").
  if (v.output === false && folder === "deserialization_G1") return [{ refused: "BAD_PUBLIC_KEY" }];
  if (v.output === false && folder === "deserialization_G2") return [{ refused: "BAD_SIGNATURE" }];
  // Hex values compare in toHex's form (lower case, no 0x).
  if (typeof v.output === "string") return [{ value: toHex(bytes(v.output)) }];
  return [{ value: v.output }];
}

// ---- Tests ----------------------------------------------------------------------------------------------------

test(`all ${TOTAL_FILES} vector files are present, in the expected folders`, () => {
  const counts = Object.fromEntries(FOLDERS.map((f) => [f, VECTORS.get(f)!.length]));
  assert.deepEqual(counts, EXPECTED_FILES);
  assert.equal([...VECTORS.values()].flat().length, TOTAL_FILES);
});

test("the exception tables name real files, and REFUSED only lists vectors that expect a failure", () => {
  const ids = new Set([...VECTORS.values()].flat().map((v) => v.id));
  const byId = new Map([...VECTORS.values()].flat().map((v) => [v.id, v]));
  for (const id of [...Object.keys(REFUSED), ...Object.keys(STRICTER)]) assert.ok(ids.has(id), `${id} is not a vector file`);
  const tampered = [...ids].filter(TAMPERED);
  assert.equal(tampered.length, TAMPERED_COUNT);
  for (const id of tampered) {
    const v = byId.get(id)!;
    assert.equal(v.output, false, id);
    assert.ok(String(field(v.input, "signature")).endsWith("ffffffff"), `${id}: not the last-four-bytes tampering`);
  }
  for (const id of [...Object.keys(REFUSED), ...tampered]) {
    const out = byId.get(id)!.output;
    assert.ok(out === null || out === false, `${id}: refusing is only the contract's answer where the vector expects failure`);
  }
  for (const id of Object.keys(STRICTER)) {
    const out = byId.get(id)!.output;
    assert.ok(out !== null && out !== false, `${id}: expects a failure, so it belongs in REFUSED`);
  }
});

test("hash_to_G2 vectors are read (RFC 9380 test DST, Fp2 as c0,c1) though no backend can run them", () => {
  // Parsed so that a malformed or missing file still fails; see NOT_RUNNABLE and the README for why they do not run.
  for (const folder of NOT_RUNNABLE) {
    for (const v of VECTORS.get(folder)!) {
      assert.equal(typeof field(v.input, "msg"), "string", v.id);
      for (const coord of ["x", "y"]) {
        const parts = String(field(v.output, coord)).split(",");
        assert.equal(parts.length, 2, `${v.id}: ${coord} is an Fp2 pair`);
        for (const p of parts) assert.equal(bytes(p).length, 48, `${v.id}: ${coord}`);
      }
    }
  }
});

for (const name of BLS_BACKEND_NAMES) {
  describe(`Ethereum BLS vectors: ${name}`, () => {
    let b: BlsBackend;
    before(async () => {
      b = await loadBlsBackend(name);
    });

    for (const folder of FOLDERS.filter((f) => !NOT_RUNNABLE.includes(f))) {
      test(`${folder}: every vector (${EXPECTED_FILES[folder]})`, () => {
        const run = RUNNERS[folder as Exclude<Folder, "hash_to_G2">];
        const vectors = VECTORS.get(folder)!;
        assert.equal(vectors.length, EXPECTED_FILES[folder]);
        const failures: string[] = [];
        // Operations on parsed signatures run with both parse modes: the contract says a verify* answer (and an
        // aggregate's bytes) must not depend on whether the subgroup check happened at parse time.
        const modes = folder === "sign" || folder.startsWith("deserialization") ? [true] : [true, false];
        let ran = 0;
        for (const v of vectors) {
          for (const validate of modes) {
            const allowed = allowedOutcomes(v, validate);
            const got = outcomeOf(() => run(b, v.input, validate));
            ran++;
            if (!allowed.some((want) => isDeepStrictEqual(got, want))) {
              const why = refusalOf(v.id)?.why;
              const want = allowed.map((w) => JSON.stringify(w)).join(" or ") + (why === undefined ? "" : ` (${why})`);
              failures.push(`${v.id} (validate=${validate}): got ${JSON.stringify(got)}, want ${want}`);
            }
          }
        }
        assert.equal(ran, modes.length * EXPECTED_FILES[folder]);
        assert.deepEqual(failures.filter((f) => !KNOWN_FAILURES[name].some((id) => f.startsWith(id))), []);
        // A known failure that starts passing must leave the list, so the list stays the truth.
        for (const id of KNOWN_FAILURES[name].filter((x) => x.startsWith(`${folder}/`))) {
          assert.ok(failures.some((f) => f.startsWith(id)), `${id} is listed as a known ${name} failure but passes`);
        }
      });
    }

    test("deserialization_G2 with validate: false: an off-subgroup point is refused now or reported invalid", () => {
      // The contract lets a backend defer the subgroup check when asked to (blst does); it must then say so.
      const v = VECTORS.get("deserialization_G2")!.find((x) => x.id.endsWith("deserialization_fails_not_in_G2.json"));
      assert.ok(v !== undefined);
      const raw = bytes(field(v.input, "signature"));
      const got = outcomeOf(() => b.signatureIsValid(b.signatureFromBytes(raw, { validate: false })));
      assert.ok("refused" in got ? got.refused === "BAD_SIGNATURE" : got.value === false, JSON.stringify(got));
    });
  });
}
