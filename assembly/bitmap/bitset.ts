// Dense bitset operations over u64 word arrays (conventions in common.ts).


/** Number of set bits in `nWords` u64 words. */
export function bitsetCount(words: usize, nWords: u32): u32 {
  let n: u64 = 0;
  const end = words + (<usize>nWords << 3);
  for (let p = words; p < end; p += 8) n += popcnt<u64>(load<u64>(p));
  return <u32>n;
}

/** dst = a & b over `nWords` words (dst may alias a or b). */
export function bitsetAnd(dst: usize, a: usize, b: usize, nWords: u32): void {
  for (let k: usize = 0; k < <usize>nWords << 3; k += 8) store<u64>(dst + k, load<u64>(a + k) & load<u64>(b + k));
}

/** dst = a | b. */
export function bitsetOr(dst: usize, a: usize, b: usize, nWords: u32): void {
  for (let k: usize = 0; k < <usize>nWords << 3; k += 8) store<u64>(dst + k, load<u64>(a + k) | load<u64>(b + k));
}

/** dst = a ^ b. */
export function bitsetXor(dst: usize, a: usize, b: usize, nWords: u32): void {
  for (let k: usize = 0; k < <usize>nWords << 3; k += 8) store<u64>(dst + k, load<u64>(a + k) ^ load<u64>(b + k));
}

/** dst = a & ~b. */
export function bitsetAndNot(dst: usize, a: usize, b: usize, nWords: u32): void {
  for (let k: usize = 0; k < <usize>nWords << 3; k += 8) store<u64>(dst + k, load<u64>(a + k) & ~load<u64>(b + k));
}

/** Bit i (the caller checks i against the length). */
export function bitsetGet(words: usize, i: u32): u32 {
  return <u32>((load<u64>(words + ((<usize>i >> 6) << 3)) >> (<u64>i & 63)) & 1);
}

/** Sets bit i. */
export function bitsetSet(words: usize, i: u32): void {
  const p = words + ((<usize>i >> 6) << 3);
  store<u64>(p, load<u64>(p) | (<u64>1 << (<u64>i & 63)));
}

/** Clears bit i. */
export function bitsetClear(words: usize, i: u32): void {
  const p = words + ((<usize>i >> 6) << 3);
  store<u64>(p, load<u64>(p) & ~(<u64>1 << (<u64>i & 63)));
}

/** Writes the set positions as u32 values at `out` in increasing order; returns how many. */
export function bitsetIndices(words: usize, nWords: u32, out: usize): u32 {
  let n: u32 = 0;
  for (let k: u32 = 0; k < nWords; k++) {
    let x = load<u64>(words + (<usize>k << 3));
    const base = k << 6;
    while (x != 0) {
      store<u32>(out + (<usize>n << 2), base + <u32>ctz<u64>(x));
      n++;
      x &= x - 1;
    }
  }
  return n;
}

/** Sets bits [from, to) (from <= to, both within the words). */
export function setRange(words: usize, from: u32, to: u32): void {
  if (from >= to) return;
  const first = from >> 6;
  const last = (to - 1) >> 6;
  const lo = <u64>-1 << (<u64>from & 63);
  const hi = <u64>-1 >> (63 - (<u64>(to - 1) & 63));
  const pf = words + (<usize>first << 3);
  if (first == last) {
    store<u64>(pf, load<u64>(pf) | (lo & hi));
    return;
  }
  store<u64>(pf, load<u64>(pf) | lo);
  if (last > first + 1) memory.fill(pf + 8, 0xff, <usize>(last - first - 1) << 3);
  const pl = words + (<usize>last << 3);
  store<u64>(pl, load<u64>(pl) | hi);
}

/** Exported for tests: sets bits [from, to). */
export function bitsetSetRange(words: usize, from: u32, to: u32): void {
  setRange(words, from, to);
}
