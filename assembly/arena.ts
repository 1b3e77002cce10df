// One scratch arena per instance, used for every call's inputs and outputs.
//
// The core never allocates managed objects (the build uses the stub runtime): static tables live in
// `memory.data`, and everything sized by the caller lives in this arena, which starts at the first
// 64-byte-aligned address after the static data and grows the linear memory on demand. The TS side asks
// for `scratch(bytes)`, writes its input at the returned base, calls a function with offsets into the
// arena, and reads the output back. A call owns the whole arena until it returns (JS is single-threaded
// per instance), so no free list is needed.

const ARENA_BASE: usize = (__heap_base + 63) & ~(<usize>63);

/** Ensures the arena holds at least `bytes` bytes; returns its base address, or 0 if memory cannot grow. */
export function scratch(bytes: usize): usize {
  if (bytes > <usize>0xffffffff - ARENA_BASE) return 0; // would wrap the 32-bit address space
  const end = ARENA_BASE + bytes;
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >>> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  return ARENA_BASE;
}

/** Base address of the arena (valid for the arena's current size). */
export function scratchBase(): usize {
  return ARENA_BASE;
}
