// SHA-256 (FIPS 180-4) with no managed allocation: every buffer is static (`memory.data`) or caller-provided
// (arena offsets computed by the TS side).
//
// Three entry points cross the boundary, each once per call:
//   sha256(ptr, len, prefix, out)                 one message;
//   sha256Batch(data, offsets, count, prefix, out) many variable-length messages, optionally prefixed by one byte
//                                                  (RFC 6962 leaf hashes H(0x00 ‖ d) need no copy);
//   sha256Level(input, count, prefix, out)        `count` consecutive 64-byte messages (a Merkle level of pairs).
//
// The SIMD build (ASC_FEATURE_SIMD) hashes four messages with the same block count at once, one per 32-bit lane
// of a v128; the scalar build runs the same drivers one message at a time and gives identical bytes. A prefix
// byte is passed as -1 (none) or 0..255: it is the message's virtual byte -1, so the first block is loaded from
// `ptr - 1` and its first byte replaced — the byte before any input is always addressable (the arena starts after
// the static data).

// Round constants and initial hash value (FIPS 180-4 §4.2.2, §5.3.3).
const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV: usize = memory.data<u32>([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

// Scalar working set: chaining state, message schedule W and W + K for the block being compressed.
const STATE: usize = memory.data(32, 16);
const W: usize = memory.data(256, 16);
const KW: usize = memory.data(256, 16);
// K + W of the padding block that follows a 64-byte message (0x80, zeros, bit length 512): the same for every
// such message, so level hashing skips its schedule entirely. Filled once at instantiation.
const PAD64_KW: usize = memory.data(256, 16);
// K + W of the final block of a 65-byte message (an RFC 6962 node, 0x01 ‖ left ‖ right), one 256-byte row per
// value of its single data byte: the block is that byte, 0x80, zeros and bit length 520, so these 256 schedules
// are all there is. Node hashing then skips the second block's schedule as level hashing does.
const NODE65_KW: usize = memory.data(256 * 256, 16);
// Final block(s) of up to four messages: the bytes after the last full block, 0x80, zeros and the bit length.
const TAIL: usize = memory.data(4 * 128, 16);

// SIMD working set (lane j of every vector belongs to message j): the same tables, 16 bytes per word.
const STATE4: usize = memory.data(8 * 16, 16);
const W4: usize = memory.data(64 * 16, 16);
const KW4: usize = memory.data(64 * 16, 16);
const K4: usize = memory.data(64 * 16, 16);
const PAD64_KW4: usize = memory.data(64 * 16, 16);
// The four messages of a SIMD group: pointer, length and output address per lane (u32 each).
const LANE_PTR: usize = memory.data(16, 16);
const LANE_LEN: usize = memory.data(16, 16);
const LANE_OUT: usize = memory.data(16, 16);

// ---------------------------------------------------------------------------------------------------------------
// Scalar core

// @ts-ignore: decorator
@inline function bigSigma0(x: u32): u32 {
  return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22);
}
// @ts-ignore: decorator
@inline function bigSigma1(x: u32): u32 {
  return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25);
}
// @ts-ignore: decorator
@inline function smallSigma0(x: u32): u32 {
  return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3);
}
// @ts-ignore: decorator
@inline function smallSigma1(x: u32): u32 {
  return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10);
}
// @ts-ignore: decorator
@inline function ch(e: u32, f: u32, g: u32): u32 {
  return g ^ (e & (f ^ g));
}
// @ts-ignore: decorator
@inline function maj(a: u32, b: u32, c: u32): u32 {
  return (a & b) | (c & (a | b));
}

/** Expands W[0..16) (already loaded) into W[16..64) and writes K + W into KW. */
function schedule(): void {
  for (let t: usize = 0; t < 16; t++) store<u32>(KW + 4 * t, load<u32>(W + 4 * t) + load<u32>(K + 4 * t));
  for (let t: usize = 16; t < 64; t++) {
    const w =
      smallSigma1(load<u32>(W + 4 * t - 8)) + load<u32>(W + 4 * t - 28) + smallSigma0(load<u32>(W + 4 * t - 60)) + load<u32>(W + 4 * t - 64);
    store<u32>(W + 4 * t, w);
    store<u32>(KW + 4 * t, w + load<u32>(K + 4 * t));
  }
}

/** Loads the big-endian block at `src` into W[0..16); a prefix >= 0 replaces its first byte. */
function loadBlock(src: usize, prefix: i32): void {
  for (let t: usize = 0; t < 16; t++) store<u32>(W + 4 * t, bswap<u32>(load<u32>(src + 4 * t)));
  if (prefix >= 0) store<u32>(W, (load<u32>(W) & 0x00ffffff) | (<u32>prefix << 24));
}

/**
 * 64 rounds over the K + W table at `kw`, added into STATE. Unrolled by eight with the roles of the working
 * variables rotated instead of moved: each round only rewrites the variables that become `e` and `a`.
 */
function compress(kw: usize): void {
  let a = load<u32>(STATE, 0);
  let b = load<u32>(STATE, 4);
  let c = load<u32>(STATE, 8);
  let d = load<u32>(STATE, 12);
  let e = load<u32>(STATE, 16);
  let f = load<u32>(STATE, 20);
  let g = load<u32>(STATE, 24);
  let h = load<u32>(STATE, 28);
  for (let p = kw, end = kw + 256; p < end; p += 32) {
    h += bigSigma1(e) + ch(e, f, g) + load<u32>(p, 0);
    d += h;
    h += bigSigma0(a) + maj(a, b, c);
    g += bigSigma1(d) + ch(d, e, f) + load<u32>(p, 4);
    c += g;
    g += bigSigma0(h) + maj(h, a, b);
    f += bigSigma1(c) + ch(c, d, e) + load<u32>(p, 8);
    b += f;
    f += bigSigma0(g) + maj(g, h, a);
    e += bigSigma1(b) + ch(b, c, d) + load<u32>(p, 12);
    a += e;
    e += bigSigma0(f) + maj(f, g, h);
    d += bigSigma1(a) + ch(a, b, c) + load<u32>(p, 16);
    h += d;
    d += bigSigma0(e) + maj(e, f, g);
    c += bigSigma1(h) + ch(h, a, b) + load<u32>(p, 20);
    g += c;
    c += bigSigma0(d) + maj(d, e, f);
    b += bigSigma1(g) + ch(g, h, a) + load<u32>(p, 24);
    f += b;
    b += bigSigma0(c) + maj(c, d, e);
    a += bigSigma1(f) + ch(f, g, h) + load<u32>(p, 28);
    e += a;
    a += bigSigma0(b) + maj(b, c, d);
  }
  store<u32>(STATE, load<u32>(STATE, 0) + a, 0);
  store<u32>(STATE, load<u32>(STATE, 4) + b, 4);
  store<u32>(STATE, load<u32>(STATE, 8) + c, 8);
  store<u32>(STATE, load<u32>(STATE, 12) + d, 12);
  store<u32>(STATE, load<u32>(STATE, 16) + e, 16);
  store<u32>(STATE, load<u32>(STATE, 20) + f, 20);
  store<u32>(STATE, load<u32>(STATE, 24) + g, 24);
  store<u32>(STATE, load<u32>(STATE, 28) + h, 28);
}

/**
 * Writes the end of a message — its bytes after the last full block, 0x80, zeros, the 64-bit big-endian bit
 * length — as one or two blocks at `dst` (128 bytes). Returns the number of blocks.
 */
function buildTail(dst: usize, ptr: usize, len: usize, prefix: i32): usize {
  const pfx: usize = prefix >= 0 ? 1 : 0;
  const total = len + pfx;
  const start = total & ~(<usize>63);
  const rem = total - start;
  const blocks: usize = rem < 56 ? 1 : 2;
  memory.fill(dst, 0, blocks << 6);
  if (start == 0 && pfx != 0) {
    store<u8>(dst, <u8>prefix);
    memory.copy(dst + 1, ptr, len);
  } else {
    memory.copy(dst, ptr - pfx + start, rem);
  }
  store<u8>(dst + rem, 0x80);
  store<u64>(dst + 64 * blocks - 8, bswap<u64>(<u64>total << 3));
  return blocks;
}

/** Number of 64-byte blocks SHA-256 processes for a message of `total` bytes (padding included). */
// @ts-ignore: decorator
@inline function blockCount(total: usize): usize {
  return ((total + 8) >>> 6) + 1;
}

/** SHA-256 of `prefix ‖ input[ptr, ptr + len)` (prefix -1: none) into out[0..32). Reads all input before writing. */
export function sha256(ptr: usize, len: usize, prefix: i32, out: usize): void {
  memory.copy(STATE, IV, 32);
  const pfx: usize = prefix >= 0 ? 1 : 0;
  const total = len + pfx;
  const full = total >>> 6;
  const base = ptr - pfx;
  for (let b: usize = 0; b < full; b++) {
    loadBlock(base + (b << 6), b == 0 ? prefix : -1);
    schedule();
    compress(KW);
  }
  if (total == 64) {
    compress(PAD64_KW);
  } else if (total == 65) {
    compress(NODE65_KW + (<usize>load<u8>(ptr + len - 1) << 8));
  } else {
    const blocks = buildTail(TAIL, ptr, len, prefix);
    for (let b: usize = 0; b < blocks; b++) {
      loadBlock(TAIL + (b << 6), -1);
      schedule();
      compress(KW);
    }
  }
  for (let i: usize = 0; i < 8; i++) store<u32>(out + 4 * i, bswap<u32>(load<u32>(STATE + 4 * i)));
}

// ---------------------------------------------------------------------------------------------------------------
// SIMD core: four messages at once, message j in lane j. Only compiled into the SIMD build.

// @ts-ignore: decorator
@inline function rotr4(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}
// @ts-ignore: decorator
@inline function bigSigma0x4(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 2), rotr4(x, 13)), rotr4(x, 22));
}
// @ts-ignore: decorator
@inline function bigSigma1x4(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 6), rotr4(x, 11)), rotr4(x, 25));
}
// @ts-ignore: decorator
@inline function smallSigma0x4(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 7), rotr4(x, 18)), i32x4.shr_u(x, 3));
}
// @ts-ignore: decorator
@inline function smallSigma1x4(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 17), rotr4(x, 19)), i32x4.shr_u(x, 10));
}
// @ts-ignore: decorator
@inline function ch4(e: v128, f: v128, g: v128): v128 {
  return v128.bitselect(f, g, e);
}
// @ts-ignore: decorator
@inline function maj4(a: v128, b: v128, c: v128): v128 {
  // Where a and c agree they are the majority; where they differ, b decides.
  return v128.bitselect(b, a, v128.xor(a, c));
}

/**
 * Reverses the bytes of each 32-bit lane (big-endian words to native and back). i8x16.swizzle with a constant
 * mask measured ~1% faster than the equivalent i8x16.shuffle on level hashing (9.79 vs 9.88 ms per 2^16 pairs).
 */
// @ts-ignore: decorator
@inline function bswap4(v: v128): v128 {
  return i8x16.swizzle(v, i8x16(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
}

/** Transposes the 4x4 word matrix with rows r0..r3 and stores its rows (the input's columns) at d0..d3. */
// @ts-ignore: decorator
@inline function transposeStore(r0: v128, r1: v128, r2: v128, r3: v128, d0: usize, d1: usize, d2: usize, d3: usize): void {
  const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
  v128.store(d0, v128.shuffle<i64>(t0, t2, 0, 2));
  v128.store(d1, v128.shuffle<i64>(t0, t2, 1, 3));
  v128.store(d2, v128.shuffle<i64>(t1, t3, 0, 2));
  v128.store(d3, v128.shuffle<i64>(t1, t3, 1, 3));
}

/** Loads one 64-byte block per lane (s0..s3) into W4[0..16), word t of lane j in lane j of W4[t]. */
function loadBlock4(s0: usize, s1: usize, s2: usize, s3: usize, prefix: i32): void {
  for (let k: usize = 0; k < 64; k += 16) {
    const d = W4 + 4 * k; // bytes k..k+15 are words k/4 .. k/4+3, 16 bytes per word in W4
    transposeStore(
      bswap4(v128.load(s0 + k)),
      bswap4(v128.load(s1 + k)),
      bswap4(v128.load(s2 + k)),
      bswap4(v128.load(s3 + k)),
      d,
      d + 16,
      d + 32,
      d + 48,
    );
  }
  if (prefix >= 0) {
    v128.store(W4, v128.or(v128.and(v128.load(W4), i32x4.splat(0x00ffffff)), i32x4.splat(prefix << 24)));
  }
}

/** Expands W4[0..16) into W4[16..64) and writes K + W into KW4. */
function schedule4(): void {
  for (let t: usize = 0; t < 16; t++) v128.store(KW4 + 16 * t, i32x4.add(v128.load(W4 + 16 * t), v128.load(K4 + 16 * t)));
  for (let t: usize = 16; t < 64; t++) {
    const p = W4 + 16 * t;
    const w = i32x4.add(
      i32x4.add(smallSigma1x4(v128.load(p - 32)), v128.load(p - 112)),
      i32x4.add(smallSigma0x4(v128.load(p - 240)), v128.load(p - 256)),
    );
    v128.store(p, w);
    v128.store(KW4 + 16 * t, i32x4.add(w, v128.load(K4 + 16 * t)));
  }
}

/** 64 rounds on four lanes over the K + W table at `kw` (16 bytes per round), added into STATE4. */
function compress4(kw: usize): void {
  let a = v128.load(STATE4, 0);
  let b = v128.load(STATE4, 16);
  let c = v128.load(STATE4, 32);
  let d = v128.load(STATE4, 48);
  let e = v128.load(STATE4, 64);
  let f = v128.load(STATE4, 80);
  let g = v128.load(STATE4, 96);
  let h = v128.load(STATE4, 112);
  for (let p = kw, end = kw + 1024; p < end; p += 128) {
    h = i32x4.add(i32x4.add(h, bigSigma1x4(e)), i32x4.add(ch4(e, f, g), v128.load(p, 0)));
    d = i32x4.add(d, h);
    h = i32x4.add(h, i32x4.add(bigSigma0x4(a), maj4(a, b, c)));
    g = i32x4.add(i32x4.add(g, bigSigma1x4(d)), i32x4.add(ch4(d, e, f), v128.load(p, 16)));
    c = i32x4.add(c, g);
    g = i32x4.add(g, i32x4.add(bigSigma0x4(h), maj4(h, a, b)));
    f = i32x4.add(i32x4.add(f, bigSigma1x4(c)), i32x4.add(ch4(c, d, e), v128.load(p, 32)));
    b = i32x4.add(b, f);
    f = i32x4.add(f, i32x4.add(bigSigma0x4(g), maj4(g, h, a)));
    e = i32x4.add(i32x4.add(e, bigSigma1x4(b)), i32x4.add(ch4(b, c, d), v128.load(p, 48)));
    a = i32x4.add(a, e);
    e = i32x4.add(e, i32x4.add(bigSigma0x4(f), maj4(f, g, h)));
    d = i32x4.add(i32x4.add(d, bigSigma1x4(a)), i32x4.add(ch4(a, b, c), v128.load(p, 64)));
    h = i32x4.add(h, d);
    d = i32x4.add(d, i32x4.add(bigSigma0x4(e), maj4(e, f, g)));
    c = i32x4.add(i32x4.add(c, bigSigma1x4(h)), i32x4.add(ch4(h, a, b), v128.load(p, 80)));
    g = i32x4.add(g, c);
    c = i32x4.add(c, i32x4.add(bigSigma0x4(d), maj4(d, e, f)));
    b = i32x4.add(i32x4.add(b, bigSigma1x4(g)), i32x4.add(ch4(g, h, a), v128.load(p, 96)));
    f = i32x4.add(f, b);
    b = i32x4.add(b, i32x4.add(bigSigma0x4(c), maj4(c, d, e)));
    a = i32x4.add(i32x4.add(a, bigSigma1x4(f)), i32x4.add(ch4(f, g, h), v128.load(p, 112)));
    e = i32x4.add(e, a);
    a = i32x4.add(a, i32x4.add(bigSigma0x4(b), maj4(b, c, d)));
  }
  v128.store(STATE4, i32x4.add(v128.load(STATE4, 0), a), 0);
  v128.store(STATE4, i32x4.add(v128.load(STATE4, 16), b), 16);
  v128.store(STATE4, i32x4.add(v128.load(STATE4, 32), c), 32);
  v128.store(STATE4, i32x4.add(v128.load(STATE4, 48), d), 48);
  v128.store(STATE4, i32x4.add(v128.load(STATE4, 64), e), 64);
  v128.store(STATE4, i32x4.add(v128.load(STATE4, 80), f), 80);
  v128.store(STATE4, i32x4.add(v128.load(STATE4, 96), g), 96);
  v128.store(STATE4, i32x4.add(v128.load(STATE4, 112), h), 112);
}

/**
 * Hashes the four messages described by LANE_PTR/LANE_LEN (all with the same block count) into LANE_OUT.
 * Every input byte is read (tails copied, blocks loaded) before any output is written, so an output may
 * overlap its own group's input (in-place level hashing).
 */
function hashFour(prefix: i32): void {
  const pfx: usize = prefix >= 0 ? 1 : 0;
  const p0 = <usize>load<u32>(LANE_PTR, 0);
  const p1 = <usize>load<u32>(LANE_PTR, 4);
  const p2 = <usize>load<u32>(LANE_PTR, 8);
  const p3 = <usize>load<u32>(LANE_PTR, 12);
  const n0 = <usize>load<u32>(LANE_LEN, 0) + pfx;
  const n1 = <usize>load<u32>(LANE_LEN, 4) + pfx;
  const n2 = <usize>load<u32>(LANE_LEN, 8) + pfx;
  const n3 = <usize>load<u32>(LANE_LEN, 12) + pfx;
  const blocks = blockCount(n0);
  // Blocks before `full` come straight from the message; the rest from its tail buffer.
  const f0 = n0 >>> 6;
  const f1 = n1 >>> 6;
  const f2 = n2 >>> 6;
  const f3 = n3 >>> 6;
  // A 64-byte message (a level pair) ends with the constant padding block, a 65-byte one (a node) with one of
  // 256 known blocks: neither needs a tail or a schedule for its last block.
  const pad64 = n0 == 64 && n1 == 64 && n2 == 64 && n3 == 64;
  const node65 = n0 == 65 && n1 == 65 && n2 == 65 && n3 == 65;
  if (!pad64 && !node65) {
    buildTail(TAIL, p0, n0 - pfx, prefix);
    buildTail(TAIL + 128, p1, n1 - pfx, prefix);
    buildTail(TAIL + 256, p2, n2 - pfx, prefix);
    buildTail(TAIL + 384, p3, n3 - pfx, prefix);
  }
  const iv = v128.load(IV);
  const iv2 = v128.load(IV, 16);
  v128.store(STATE4, i32x4.splat(i32x4.extract_lane(iv, 0)), 0);
  v128.store(STATE4, i32x4.splat(i32x4.extract_lane(iv, 1)), 16);
  v128.store(STATE4, i32x4.splat(i32x4.extract_lane(iv, 2)), 32);
  v128.store(STATE4, i32x4.splat(i32x4.extract_lane(iv, 3)), 48);
  v128.store(STATE4, i32x4.splat(i32x4.extract_lane(iv2, 0)), 64);
  v128.store(STATE4, i32x4.splat(i32x4.extract_lane(iv2, 1)), 80);
  v128.store(STATE4, i32x4.splat(i32x4.extract_lane(iv2, 2)), 96);
  v128.store(STATE4, i32x4.splat(i32x4.extract_lane(iv2, 3)), 112);
  for (let b: usize = 0; b < blocks; b++) {
    if (pad64 && b == 1) {
      compress4(PAD64_KW4);
      continue;
    }
    if (node65 && b == 1) {
      // Gather the row of each lane's last byte into KW4 (a 4x4 transpose per four rounds). Outputs are only
      // written after the last block, so in-place input is still intact here.
      const r0 = NODE65_KW + (<usize>load<u8>(p0 + 64 - pfx) << 8);
      const r1 = NODE65_KW + (<usize>load<u8>(p1 + 64 - pfx) << 8);
      const r2 = NODE65_KW + (<usize>load<u8>(p2 + 64 - pfx) << 8);
      const r3 = NODE65_KW + (<usize>load<u8>(p3 + 64 - pfx) << 8);
      for (let t: usize = 0; t < 256; t += 16) {
        const d = KW4 + 4 * t;
        transposeStore(v128.load(r0 + t), v128.load(r1 + t), v128.load(r2 + t), v128.load(r3 + t), d, d + 16, d + 32, d + 48);
      }
      compress4(KW4);
      continue;
    }
    const off = b << 6;
    loadBlock4(
      b < f0 ? p0 - pfx + off : TAIL + ((b - f0) << 6),
      b < f1 ? p1 - pfx + off : TAIL + 128 + ((b - f1) << 6),
      b < f2 ? p2 - pfx + off : TAIL + 256 + ((b - f2) << 6),
      b < f3 ? p3 - pfx + off : TAIL + 384 + ((b - f3) << 6),
      // A tail block that holds byte 0 already carries the prefix, so replacing it again is harmless.
      b == 0 ? prefix : -1,
    );
    schedule4();
    compress4(KW4);
  }
  const o0 = <usize>load<u32>(LANE_OUT, 0);
  const o1 = <usize>load<u32>(LANE_OUT, 4);
  const o2 = <usize>load<u32>(LANE_OUT, 8);
  const o3 = <usize>load<u32>(LANE_OUT, 12);
  transposeStore(
    bswap4(v128.load(STATE4, 0)),
    bswap4(v128.load(STATE4, 16)),
    bswap4(v128.load(STATE4, 32)),
    bswap4(v128.load(STATE4, 48)),
    o0,
    o1,
    o2,
    o3,
  );
  transposeStore(
    bswap4(v128.load(STATE4, 64)),
    bswap4(v128.load(STATE4, 80)),
    bswap4(v128.load(STATE4, 96)),
    bswap4(v128.load(STATE4, 112)),
    o0 + 16,
    o1 + 16,
    o2 + 16,
    o3 + 16,
  );
}

// @ts-ignore: decorator
@inline function setLane(j: usize, ptr: usize, len: usize, out: usize): void {
  store<u32>(LANE_PTR + 4 * j, <u32>ptr);
  store<u32>(LANE_LEN + 4 * j, <u32>len);
  store<u32>(LANE_OUT + 4 * j, <u32>out);
}

// ---------------------------------------------------------------------------------------------------------------
// Exported drivers

/**
 * SHA-256 of `count` consecutive 64-byte messages at `input` (optionally each prefixed by one byte, which makes
 * them RFC 6962 node hashes with prefix 1) into `out`, 32 bytes each. `out` may equal `input` (in place).
 */
export function sha256Level(input: usize, count: usize, prefix: i32, out: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= count; i += 4) {
      const src = input + (i << 6);
      const dst = out + (i << 5);
      setLane(0, src, 64, dst);
      setLane(1, src + 64, 64, dst + 32);
      setLane(2, src + 128, 64, dst + 64);
      setLane(3, src + 192, 64, dst + 96);
      hashFour(prefix);
    }
  }
  for (; i < count; i++) sha256(input + (i << 6), 64, prefix, out + (i << 5));
}

// Messages up to this many blocks (~4 KiB) are grouped by block count for the SIMD path; the bound keeps the
// bucket tables static (1.3 KiB). Longer messages — rare among transactions — take the scalar path, which runs
// at about half the SIMD throughput (bench: level of 2^16 pairs, wasm 10.2 ms vs wasm-scalar 21.6 ms).
const MAX_BUCKET_BLOCKS: i32 = 64;
// Per block count: how many message indices wait (u32) and up to three of them (u32 each).
const BUCKET_FILL: usize = memory.data(4 * (MAX_BUCKET_BLOCKS + 1), 16);
const BUCKET_ITEMS: usize = memory.data(16 * (MAX_BUCKET_BLOCKS + 1), 16);

/**
 * SHA-256 of `count` messages into out (32 bytes each, in order). Message i is data[offsets[i], offsets[i+1])
 * with `offsets` a u32 table of count + 1 entries relative to `data`; a prefix >= 0 is hashed before each message.
 * The SIMD build groups messages with the same block count into fours, whatever their order.
 */
export function sha256Batch(data: usize, offsets: usize, count: usize, prefix: i32, out: usize): void {
  const pfx: usize = prefix >= 0 ? 1 : 0;
  if (!ASC_FEATURE_SIMD) {
    for (let i: usize = 0; i < count; i++) {
      const start = <usize>load<u32>(offsets + 4 * i);
      sha256(data + start, <usize>load<u32>(offsets + 4 * i + 4) - start, prefix, out + (i << 5));
    }
    return;
  }
  memory.fill(BUCKET_FILL, 0, 4 * (<usize>MAX_BUCKET_BLOCKS + 1));
  for (let i: usize = 0; i < count; i++) {
    const start = <usize>load<u32>(offsets + 4 * i);
    const len = <usize>load<u32>(offsets + 4 * i + 4) - start;
    const blocks = blockCount(len + pfx);
    if (blocks > <usize>MAX_BUCKET_BLOCKS) {
      sha256(data + start, len, prefix, out + (i << 5));
      continue;
    }
    const fill = <usize>load<u32>(BUCKET_FILL + 4 * blocks);
    if (fill < 3) {
      store<u32>(BUCKET_ITEMS + 16 * blocks + 4 * fill, <u32>i);
      store<u32>(BUCKET_FILL + 4 * blocks, <u32>(fill + 1));
      continue;
    }
    for (let j: usize = 0; j < 3; j++) {
      const k = <usize>load<u32>(BUCKET_ITEMS + 16 * blocks + 4 * j);
      const s = <usize>load<u32>(offsets + 4 * k);
      setLane(j, data + s, <usize>load<u32>(offsets + 4 * k + 4) - s, out + (k << 5));
    }
    setLane(3, data + start, len, out + (i << 5));
    hashFour(prefix);
    store<u32>(BUCKET_FILL + 4 * blocks, 0);
  }
  for (let blocks: usize = 1; blocks <= <usize>MAX_BUCKET_BLOCKS; blocks++) {
    const fill = <usize>load<u32>(BUCKET_FILL + 4 * blocks);
    for (let j: usize = 0; j < fill; j++) {
      const k = <usize>load<u32>(BUCKET_ITEMS + 16 * blocks + 4 * j);
      const s = <usize>load<u32>(offsets + 4 * k);
      sha256(data + s, <usize>load<u32>(offsets + 4 * k + 4) - s, prefix, out + (k << 5));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Instantiation: tables derived from the constants.

function initTables(): void {
  // Padding block of a 64-byte message: 0x80 then zeros, bit length 512 in the last word.
  memory.fill(W, 0, 64);
  store<u32>(W, 0x80000000);
  store<u32>(W + 60, 512);
  schedule();
  memory.copy(PAD64_KW, KW, 256);
  // Last block of a 65-byte message: its data byte v, 0x80, zeros, bit length 520.
  for (let v: u32 = 0; v < 256; v++) {
    memory.fill(W, 0, 64);
    store<u32>(W, (v << 24) | 0x00800000);
    store<u32>(W + 60, 520);
    schedule();
    memory.copy(NODE65_KW + (<usize>v << 8), KW, 256);
  }
  if (ASC_FEATURE_SIMD) {
    for (let t: usize = 0; t < 64; t++) {
      v128.store(K4 + 16 * t, i32x4.splat(load<u32>(K + 4 * t)));
      v128.store(PAD64_KW4 + 16 * t, i32x4.splat(load<u32>(PAD64_KW + 4 * t)));
    }
  }
}
initTables();
