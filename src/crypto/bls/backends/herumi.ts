import { createRequire } from "node:module";
import { webcrypto } from "node:crypto";
import type * as HerumiTypes from "bls-eth-wasm";
import type { BlsBackend, PublicKey, SecretKey, Signature, SignatureSet } from "../backend.js";
import { BlsError } from "../errors.js";
import { precheckPoint, secretKeyScalar } from "../encoding.js";
import type { PointForm } from "../encoding.js";
import { POP_DST, SIGNATURE_DST } from "../constants.js";

type Herumi = typeof HerumiTypes;
// bls-eth-wasm's classes keep their mcl struct in `a_` (not in its typings).
type Raw = { a_: Uint32Array };
type HSecretKey = InstanceType<Herumi["SecretKey"]> & Raw;
type HPublicKey = InstanceType<Herumi["PublicKey"]> & Raw;
type HSignature = InstanceType<Herumi["Signature"]> & Raw;

/**
 * The parts of herumi's compiled mcl module we call directly (not in bls-eth-wasm's typings). Pointers are wasm32
 * addresses on mcl's own stack; values are mcl's internal (Montgomery, projective) structs, copied in and out of
 * the `a_` arrays that bls-eth-wasm's classes hold.
 */
interface MclModule {
  stackSave(): number;
  stackAlloc(bytes: number): number;
  stackRestore(sp: number): void;
  readonly HEAP8: Int8Array;
  readonly HEAP32: Int32Array;
  _mclBnG2_hashAndMapToWithDst(out: number, msg: number, msgLen: number, dst: number, dstLen: number): number;
  _mclBnG2_mulCT(out: number, p: number, fr: number): void;
  _mclBnG1_neg(out: number, p: number): void;
  _mclBnG1_mulVec(out: number, points: number, scalars: number, n: number): void;
  _mclBnG2_mulVec(out: number, points: number, scalars: number, n: number): void;
  _mclBnFr_setLittleEndian(out: number, buf: number, len: number): number;
  _mclBn_millerLoopVec(out: number, g1s: number, g2s: number, n: number): void;
  _mclBn_finalExp(out: number, x: number): void;
  _mclBnGT_isOne(x: number): number;
}
type HerumiWithModule = Herumi & { mod: MclModule; getGeneratorOfPublicKey(): HPublicKey };

// mcl struct sizes for BLS12-381 (6 × 64-bit limbs per Fp): G1 = 3 Fp, G2 = 3 Fp2, GT = 12 Fp, Fr = 4 limbs.
const G1_BYTES = 144;
const G2_BYTES = 288;
const GT_BYTES = 576;
const FR_BYTES = 32;
const RAND_BYTES = 8; // 64-bit batch scalars (constants.BATCH_RANDOM_BITS)

const SIG_DST_BYTES = new TextEncoder().encode(SIGNATURE_DST);
const POP_DST_BYTES = new TextEncoder().encode(POP_DST);

/**
 * bls-eth-wasm (herumi's mcl + bls compiled to WebAssembly, Ethereum mode = IETF draft-07 hash-to-curve with the
 * POP ciphersuite's signing DST). Keys and signatures are subgroup-checked when parsed, so `validate: false` is
 * accepted but ignored: every handle is a checked point.
 * herumi's own aggregateVerifyNoCheck and multiVerify take only fixed-size (32-byte) messages, so aggregateVerify,
 * batch verification and proof of possession are built here from mcl's primitives (hash-to-G2 with an explicit DST,
 * multi-scalar multiplication, Miller loops and one final exponentiation).
 */
class HerumiBackend implements BlsBackend {
  readonly name = "herumi" as const;
  private readonly mod: MclModule;
  private readonly negG1: Uint32Array;

  constructor(private readonly lib: HerumiWithModule) {
    this.mod = lib.mod;
    // Deserialisation checks curve membership only; the subgroup check is the explicit isValidOrder() call in
    // publicKeyFromBytes / signatureFromBytes, so it runs exactly once per point.
    lib.verifyPublicKeyOrder(false);
    lib.verifySignatureOrder(false);
    const g = lib.getGeneratorOfPublicKey();
    this.negG1 = new Uint32Array(G1_BYTES / 4);
    this.withStack(() => {
      const p = this.put32(g.a_);
      const out = this.mod.stackAlloc(G1_BYTES);
      this.mod._mclBnG1_neg(out, p);
      this.negG1.set(this.get32(out, G1_BYTES / 4));
    });
  }

  secretKeyFromBytes(bytes: Uint8Array): SecretKey {
    secretKeyScalar(bytes);
    const s = new this.lib.SecretKey();
    s.deserialize(bytes);
    return s as unknown as SecretKey;
  }

  publicKeyOf(s: SecretKey): PublicKey {
    return this.sk(s).getPublicKey() as unknown as PublicKey;
  }

  sign(s: SecretKey, message: Uint8Array): Signature {
    return this.sk(s).sign(message) as unknown as Signature;
  }

  publicKeyFromBytes(bytes: Uint8Array): PublicKey {
    const form = precheckPoint(bytes, "publicKey");
    const p = new this.lib.PublicKey();
    try {
      if (form === "compressed") p.deserialize(bytes);
      else p.deserializeUncompressed(bytes);
    } catch (e) {
      throw new BlsError("BAD_PUBLIC_KEY", `invalid public key: ${(e as Error).message}`);
    }
    if (p.isZero() || !p.isValidOrder()) throw new BlsError("BAD_PUBLIC_KEY", "public key is not in G1");
    return p as unknown as PublicKey;
  }

  publicKeyToBytes(p: PublicKey, form: PointForm = "compressed"): Uint8Array {
    return form === "compressed" ? this.pk(p).serialize() : this.pk(p).serializeUncompressed();
  }

  signatureFromBytes(bytes: Uint8Array): Signature {
    const form = precheckPoint(bytes, "signature");
    const s = new this.lib.Signature();
    try {
      if (form === "compressed") s.deserialize(bytes);
      else s.deserializeUncompressed(bytes);
    } catch (e) {
      throw new BlsError("BAD_SIGNATURE", `invalid signature: ${(e as Error).message}`);
    }
    if (s.isZero() || !s.isValidOrder()) throw new BlsError("BAD_SIGNATURE", "signature is not in G2");
    return s as unknown as Signature;
  }

  signatureToBytes(s: Signature, form: PointForm = "compressed"): Uint8Array {
    return form === "compressed" ? this.sig(s).serialize() : this.sig(s).serializeUncompressed();
  }

  signatureIsValid(s: Signature): boolean {
    const x = this.sig(s);
    return !x.isZero() && x.isValidOrder();
  }

  aggregatePublicKeys(pks: readonly PublicKey[]): PublicKey {
    if (pks.length === 0) throw new BlsError("EMPTY_INPUT", "cannot aggregate zero public keys");
    const agg = this.pk(pks[0]!).clone();
    for (let i = 1; i < pks.length; i++) agg.add(this.pk(pks[i]!));
    return agg as unknown as PublicKey;
  }

  aggregateSignatures(sigs: readonly Signature[]): Signature {
    if (sigs.length === 0) throw new BlsError("EMPTY_INPUT", "cannot aggregate zero signatures");
    const agg = new this.lib.Signature();
    agg.aggregate(sigs.map((s) => this.sig(s)));
    return agg as unknown as Signature;
  }

  verify(message: Uint8Array, p: PublicKey, s: Signature): boolean {
    return this.pk(p).verify(this.sig(s), message);
  }

  fastAggregateVerify(message: Uint8Array, pks: readonly PublicKey[], s: Signature): boolean {
    if (pks.length === 0) return false;
    return this.sig(s).fastAggregateVerify(pks.map((p) => this.pk(p)), message);
  }

  aggregateVerify(messages: readonly Uint8Array[], pks: readonly PublicKey[], s: Signature): boolean {
    if (messages.length !== pks.length) throw new BlsError("LENGTH_MISMATCH", `${messages.length} messages but ${pks.length} public keys`);
    if (pks.length === 0) return false;
    const sigA = this.sig(s).a_;
    const pkA = pks.map((p) => this.pk(p).a_);
    // e(pk₁, H(m₁)) ⋯ e(pkₙ, H(mₙ)) · e(−g₁, sig) == 1
    return this.withStack(() => {
      const n = pks.length;
      const g1s = this.mod.stackAlloc(G1_BYTES * (n + 1));
      const g2s = this.mod.stackAlloc(G2_BYTES * (n + 1));
      for (let i = 0; i < n; i++) {
        this.write32(g1s + G1_BYTES * i, pkA[i]!);
        this.hashToG2(g2s + G2_BYTES * i, messages[i]!, SIG_DST_BYTES);
      }
      this.write32(g1s + G1_BYTES * n, this.negG1);
      this.write32(g2s + G2_BYTES * n, sigA);
      return this.pairingProductIsOne(g1s, g2s, n + 1);
    });
  }

  verifyBatch(sets: readonly SignatureSet[]): boolean {
    if (sets.length === 0) return false;
    // Random linear combination, grouped by message:
    //   Π_groups e(Σ_{i∈g} rᵢ·pkᵢ, H(m_g)) · e(−g₁, Σ_i rᵢ·sigᵢ) == 1
    // one hash and one Miller loop per distinct message, two multi-scalar multiplications in all.
    const groups = new Map<string, SignatureSet[]>();
    for (const set of sets) {
      const key = Buffer.from(set.message.buffer, set.message.byteOffset, set.message.byteLength).toString("latin1");
      const g = groups.get(key);
      if (g === undefined) groups.set(key, [set]);
      else g.push(set);
    }
    const ordered = [...groups.values()];
    const flat = ordered.flat();
    const pkA = flat.map((s) => this.pk(s.publicKey).a_);
    const sigA = flat.map((s) => this.sig(s.signature).a_);
    const rand = new Uint8Array(RAND_BYTES * flat.length);
    webcrypto.getRandomValues(rand);
    return this.withStack(() => {
      const n = flat.length;
      const k = ordered.length;
      const pks = this.mod.stackAlloc(G1_BYTES * n);
      const sigs = this.mod.stackAlloc(G2_BYTES * n);
      const frs = this.mod.stackAlloc(FR_BYTES * n);
      const randPos = this.mod.stackAlloc(rand.length);
      this.mod.HEAP8.set(rand, randPos);
      for (let i = 0; i < n; i++) {
        this.write32(pks + G1_BYTES * i, pkA[i]!);
        this.write32(sigs + G2_BYTES * i, sigA[i]!);
        // A zero scalar would drop its set from the check; 2^-64 per set, but cheap to rule out.
        const r = randPos + RAND_BYTES * i;
        if (this.mod.HEAP32[r >> 2] === 0 && this.mod.HEAP32[(r >> 2) + 1] === 0) this.mod.HEAP8[r] = 1;
        if (this.mod._mclBnFr_setLittleEndian(frs + FR_BYTES * i, r, RAND_BYTES) !== 0) throw new Error("mclBnFr_setLittleEndian failed");
      }
      const g1s = this.mod.stackAlloc(G1_BYTES * (k + 1));
      const g2s = this.mod.stackAlloc(G2_BYTES * (k + 1));
      let offset = 0;
      for (let g = 0; g < k; g++) {
        const members = ordered[g]!;
        this.mod._mclBnG1_mulVec(g1s + G1_BYTES * g, pks + G1_BYTES * offset, frs + FR_BYTES * offset, members.length);
        this.hashToG2(g2s + G2_BYTES * g, members[0]!.message, SIG_DST_BYTES);
        offset += members.length;
      }
      this.write32(g1s + G1_BYTES * k, this.negG1);
      this.mod._mclBnG2_mulVec(g2s + G2_BYTES * k, sigs, frs, n);
      return this.pairingProductIsOne(g1s, g2s, k + 1);
    });
  }

  async popProve(s: SecretKey): Promise<Signature> {
    const pkBytes = this.sk(s).getPublicKey().serialize();
    const skA = this.sk(s).a_;
    const out = new this.lib.Signature() as HSignature;
    this.withStack(() => {
      const h = this.mod.stackAlloc(G2_BYTES);
      this.hashToG2(h, pkBytes, POP_DST_BYTES);
      const fr = this.put32(skA);
      const r = this.mod.stackAlloc(G2_BYTES);
      this.mod._mclBnG2_mulCT(r, h, fr); // constant time: the scalar is the secret key
      out.a_.set(this.get32(r, G2_BYTES / 4));
    });
    return out as unknown as Signature;
  }

  async popVerify(p: PublicKey, proof: Signature): Promise<boolean> {
    const pkA = this.pk(p).a_;
    const pkBytes = this.pk(p).serialize();
    const proofA = this.sig(proof).a_;
    // e(pk, H_pop(pk)) · e(−g₁, proof) == 1
    return this.withStack(() => {
      const g1s = this.mod.stackAlloc(G1_BYTES * 2);
      const g2s = this.mod.stackAlloc(G2_BYTES * 2);
      this.write32(g1s, pkA);
      this.hashToG2(g2s, pkBytes, POP_DST_BYTES);
      this.write32(g1s + G1_BYTES, this.negG1);
      this.write32(g2s + G2_BYTES, proofA);
      return this.pairingProductIsOne(g1s, g2s, 2);
    });
  }

  // --- mcl plumbing -------------------------------------------------------------------------------------------

  private withStack<T>(fn: () => T): T {
    const sp = this.mod.stackSave();
    try {
      return fn();
    } finally {
      this.mod.stackRestore(sp);
    }
  }

  private write32(pos: number, a: Uint32Array): void {
    this.mod.HEAP32.set(a, pos >> 2);
  }

  private put32(a: Uint32Array): number {
    const pos = this.mod.stackAlloc(a.length * 4);
    this.write32(pos, a);
    return pos;
  }

  private get32(pos: number, words: number): Int32Array {
    return this.mod.HEAP32.subarray(pos >> 2, (pos >> 2) + words);
  }

  private hashToG2(out: number, msg: Uint8Array, dst: Uint8Array): void {
    const m = this.mod.stackAlloc(msg.length);
    this.mod.HEAP8.set(msg, m);
    const d = this.mod.stackAlloc(dst.length);
    this.mod.HEAP8.set(dst, d);
    if (this.mod._mclBnG2_hashAndMapToWithDst(out, m, msg.length, d, dst.length) !== 0) throw new Error("mclBnG2_hashAndMapToWithDst failed");
  }

  private pairingProductIsOne(g1s: number, g2s: number, n: number): boolean {
    const f = this.mod.stackAlloc(GT_BYTES);
    const e = this.mod.stackAlloc(GT_BYTES);
    this.mod._mclBn_millerLoopVec(f, g1s, g2s, n);
    this.mod._mclBn_finalExp(e, f);
    return this.mod._mclBnGT_isOne(e) === 1;
  }

  private sk(x: SecretKey): HSecretKey {
    if (!(x instanceof this.lib.SecretKey)) throw new BlsError("WRONG_BACKEND", "secret key was not created by the herumi backend");
    return x as unknown as HSecretKey;
  }
  private pk(x: PublicKey): HPublicKey {
    if (!(x instanceof this.lib.PublicKey)) throw new BlsError("WRONG_BACKEND", "public key was not created by the herumi backend");
    return x as unknown as HPublicKey;
  }
  private sig(x: Signature): HSignature {
    if (!(x instanceof this.lib.Signature)) throw new BlsError("WRONG_BACKEND", "signature was not created by the herumi backend");
    return x as unknown as HSignature;
  }
}

let instance: Promise<HerumiBackend> | undefined;
/** The herumi backend (its wasm module is compiled once per thread, ≈ 40 ms). */
export function herumiBackend(): Promise<BlsBackend> {
  instance ??= (async () => {
    const lib = createRequire(import.meta.url)("bls-eth-wasm") as HerumiWithModule;
    await lib.init(lib.BLS12_381);
    return new HerumiBackend(lib);
  })();
  return instance;
}
