// Child process of lmdbStore.test.ts's crash tests: writes to an LMDB chain store in a loop until the parent kills it
// with SIGKILL. It prints one line on fd 1 per event, each with one synchronous write(2), so the line is in the pipe
// before the next store call begins:
//   ack <n>   after write n returned (the commit of height n, or safety state n): the store promised it durable
//   mid <h>   from inside the write transaction of height h (mode mid), before its remaining writes: kill me now
// Usage: crashChild.js commit <dir> | safety <dir> | mid <dir> <bigHeight> <markAt>
import { writeSync } from "node:fs";
import { LmdbChainStore } from "../../../../src/chain/store/lmdbStore.js";
import type { BlockCommit, StateWrite } from "../../../../src/chain/store/interface.js";
import { utf8 } from "../../../../src/util/bytes.js";
import { CHAIN_ID, nextBlock, sha256 } from "./fixtures.js";
import type { ChainBlock } from "./fixtures.js";

/** Txs per block, each also written to state: enough that a commit takes long enough for a timed kill to land inside one. */
export const CRASH_TXS_PER_BLOCK = 200;

/**
 * Extra state writes of the one big block of mode `mid`, ~100 B each (2 MB of dirty pages). They are made lazily inside
 * the transaction, so what follows a `mid` line is tens of milliseconds of puts and then LMDB's commit with real I/O
 * (measured here: 60–80 ms from the first of them to the commit's return, under a load average of 6).
 */
export const BIG_WRITES = 20_000;

export function crashTxs(height: number): Uint8Array[] {
  return Array.from({ length: CRASH_TXS_PER_BLOCK }, (_, i) => utf8(`tx ${height} ${i}`));
}

/**
 * The state writes of height `h` after the "last" key, in order: one per tx (`h<h> <i>` → tx), and at `bigHeight`
 * BIG_WRITES more.
 */
export function* crashWrites(h: number, bigHeight: number): Generator<readonly [Uint8Array, Uint8Array]> {
  const txs = crashTxs(h);
  for (let i = 0; i < txs.length; i++) yield [utf8(`h${h} ${i}`), txs[i]!];
  if (h !== bigHeight) return;
  for (let i = 0; i < BIG_WRITES; i++) yield [utf8(`big ${h} ${i}`), utf8(`value ${h} ${i} ${"#".repeat(80)}`)];
}

/** How many writes `crashWrites(h, bigHeight)` yields. */
export function crashWriteCount(h: number, bigHeight: number): number {
  return CRASH_TXS_PER_BLOCK + (h === bigHeight ? BIG_WRITES : 0);
}

/** The commit of block `b`. `beforeWrite(i)` runs inside the store's transaction before state write i, and after the last with i = the count. */
export function crashCommit(b: ChainBlock, bigHeight: number, beforeWrite?: (i: number) => void): BlockCommit {
  const h = b.block.header.height;
  function* writes(): Generator<StateWrite> {
    yield [utf8("last"), utf8(String(h))];
    let i = 0;
    for (const w of crashWrites(h, bigHeight)) {
      beforeWrite?.(i++);
      yield w;
    }
    beforeWrite?.(i);
  }
  return {
    block: b.block,
    hash: b.hash,
    qc: b.qc,
    stateRoot: sha256(utf8(`root ${h}`)),
    results: new Uint8Array([h & 0xff]),
    txIndex: b.block.txs.map((tx, i) => ({ id: sha256(tx), index: i, ok: true })),
    writes: writes(),
  };
}

function report(kind: "ack" | "mid", n: number): void {
  writeSync(1, `${kind} ${n}\n`);
}

async function main(): Promise<void> {
  const [mode, dir, bigArg, markArg] = process.argv.slice(2);
  const store = await LmdbChainStore.open({ chainId: CHAIN_ID, path: dir! });
  if (mode === "safety") {
    for (let i = 1; ; i++) {
      store.saveSafetyState(utf8(`safety ${i}`));
      report("ack", i);
    }
  }
  const bigHeight = mode === "mid" ? Number(bigArg) : -1;
  const markAt = Number(markArg);
  let prev: ChainBlock | null = null;
  // Past the big block (if the parent was too slow to kill inside it) small blocks go on until the kill.
  for (let h = 0; ; h++) {
    const b = nextBlock(prev, crashTxs(h));
    const mark = (i: number): void => {
      if (i === markAt) report("mid", h);
    };
    store.commit([crashCommit(b, bigHeight, h === bigHeight ? mark : undefined)]);
    report("ack", h);
    prev = b;
  }
}

if (process.argv[1]?.endsWith("crashChild.js") === true) void main();
