/**
 * Map keys for byte strings. A 32-byte id becomes a 32-character string (one char per byte), which V8 hashes and
 * compares far faster than hex and builds with one call (the consensus core measured the same choice in hashKey).
 */
export function bytesKey(b: Uint8Array): string {
  return String.fromCharCode.apply(null, b as unknown as number[]);
}

/** The bytes behind a `bytesKey` string. */
export function keyBytes(k: string): Uint8Array {
  const out = new Uint8Array(k.length);
  for (let i = 0; i < k.length; i++) out[i] = k.charCodeAt(i);
  return out;
}
