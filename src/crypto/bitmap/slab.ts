// Small results of the list codecs (position arrays, encodings) are carved out of shared slabs, as Node carves small
// Buffers out of its 8 KB pool, but with room for many results per slab: a fresh ArrayBuffer per call is what made
// a fresh decode cost twice a decode into a reused array (measured below). A result keeps its whole slab alive
// while it is referenced, so only results up to SLAB_MAX_RESULT bytes come from a slab.

/**
 * Bytes per slab. The 100,000-tx bench bitmap decoded to a new position array (965 positions, 3,860 B), median per
 * call over batches of 32 on this machine at load 8-10: 2.3 us with a fresh ArrayBuffer per call (`slice()`),
 * 1.1-1.3 us through Buffer.allocUnsafe (Node's 8 KB pool holds only two such results), 0.62 us from 64 KiB slabs;
 * decoding into a reused array takes 0.47 us.
 */
export const SLAB_BYTES = 64 * 1024;
/** Larger results get their own ArrayBuffer: a slab then holds at least 16 of them. */
export const SLAB_MAX_RESULT = SLAB_BYTES / 16;

let slab: ArrayBuffer | undefined;
let used = 0;

/** `bytes` bytes (8-aligned offset) of the current slab, or of a new ArrayBuffer for a large result. */
function carve(bytes: number): { buffer: ArrayBuffer; offset: number } {
  if (bytes > SLAB_MAX_RESULT) return { buffer: new ArrayBuffer(bytes), offset: 0 };
  if (slab === undefined || used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const offset = used;
  used = (used + bytes + 7) & ~7;
  return { buffer: slab, offset };
}

/** A copy of `src` in slab memory. The result's `.buffer` may be shared with other results: do not transfer it. */
export function slabCopyU32(src: Uint32Array): Uint32Array {
  const { buffer, offset } = carve(4 * src.length);
  const out = new Uint32Array(buffer, offset, src.length);
  out.set(src);
  return out;
}

/** A copy of `src` in slab memory (see slabCopyU32). */
export function slabCopyU8(src: Uint8Array): Uint8Array {
  const { buffer, offset } = carve(src.length);
  const out = new Uint8Array(buffer, offset, src.length);
  out.set(src);
  return out;
}
