// An independent, deliberately naive model of the compact bitmap format (src/crypto/bitmap/format.ts), written
// from the format description with arrays of 0/1 bits and no code shared with the implementations under test.

/** Packs an array of 0/1 bits LSB-first into ceil(len/8) bytes. */
export function packBits(bits: number[]): number[] {
  const out = new Array<number>(Math.ceil(bits.length / 8)).fill(0);
  bits.forEach((b, j) => {
    if (b) out[Math.floor(j / 8)]! |= 1 << j % 8;
  });
  return out;
}

export function leb128(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

/** Dense encoding of a boolean array. */
export function oracleDense(bits: boolean[]): number[] {
  const body = packBits(bits.map(Number));
  return [body.length * 8 - bits.length, ...body];
}

/** LOW ++ HIGH of an Elias-Fano list with width l. */
export function oracleEf(values: number[], l: number): number[] {
  const low: number[] = [];
  const high: number[] = [];
  values.forEach((v, i) => {
    for (let k = 0; k < l; k++) low.push(Math.floor(v / 2 ** k) % 2);
    const h = Math.floor(v / 2 ** l) + i;
    while (high.length <= h) high.push(0);
    high[h] = 1;
  });
  return [...packBits(low), ...packBits(high)];
}

/** The transitions of a boolean array (bit -1 counts as 0). */
export function transitionsOf(bits: boolean[]): number[] {
  const out: number[] = [];
  bits.forEach((b, i) => {
    if (b !== (i > 0 ? bits[i - 1]! : false)) out.push(i);
  });
  return out;
}

/** A SPARSE (0x10) or RUNS (0x11) encoding with a given width. */
export function oracleEfEncoding(tag: number, n: number, values: number[], l: number): number[] {
  return [tag, ...leb128(n), ...leb128(values.length), l, ...oracleEf(values, l)];
}

/** The smallest EF encoding over every width 0..31 (smallest width on ties). */
function bestEf(tag: number, n: number, values: number[]): number[] {
  // Sizes straight from the description (LOW = m*l bits, HIGH = up to the last set bit), then build the winner.
  const size = (l: number) => {
    const highBits = values.length === 0 ? 0 : Math.floor(values[values.length - 1]! / 2 ** l) + values.length;
    return Math.ceil((values.length * l) / 8) + Math.ceil(highBits / 8);
  };
  let bestL = 0;
  for (let l = 1; l <= 31; l++) if (size(l) < size(bestL)) bestL = l;
  return oracleEfEncoding(tag, n, values, bestL);
}

/** What the canonical encoder must write for this boolean array. */
export function oracleEncode(bits: boolean[]): Uint8Array {
  const n = bits.length;
  const set = bits.flatMap((b, i) => (b ? [i] : []));
  let best = oracleDense(bits);
  for (const e of [bestEf(0x10, n, set), bestEf(0x11, n, transitionsOf(bits))]) if (e.length < best.length) best = e;
  return Uint8Array.from(best);
}
