// Child process of lmdbStore.test.ts's crash tests: writes to an LMDB chain store in a loop, reporting on fd 1 after
// each write returned, until the parent kills it with SIGKILL. Usage: crashChild.js <commit|safety> <dir>
import { writeSync } from "node:fs";
import { LmdbChainStore } from "../../../../src/chain/store/lmdbStore.js";
import type { BlockCommit } from "../../../../src/chain/store/interface.js";
import { utf8 } from "../../../../src/util/bytes.js";
import { CHAIN_ID, nextBlock, sha256 } from "./fixtures.js";
import type { ChainBlock } from "./fixtures.js";

/** Txs and state writes per block: enough that a commit takes long enough for a kill to land inside one. */
export const CRASH_TXS_PER_BLOCK = 200;

export function crashTxs(height: number): Uint8Array[] {
  return Array.from({ length: CRASH_TXS_PER_BLOCK }, (_, i) => utf8(`tx ${height} ${i}`));
}

export function crashCommit(b: ChainBlock): BlockCommit {
  const h = b.block.header.height;
  return {
    block: b.block,
    hash: b.hash,
    qc: b.qc,
    stateRoot: sha256(utf8(`root ${h}`)),
    results: new Uint8Array([h & 0xff]),
    txIndex: b.block.txs.map((tx, i) => ({ id: sha256(tx), index: i, ok: true })),
    writes: [
      [utf8("last"), utf8(String(h))],
      ...b.block.txs.map((tx, i) => [utf8(`h${h} ${i}`), tx] as const),
    ],
  };
}

async function main(): Promise<void> {
  const [mode, dir] = process.argv.slice(2);
  const store = await LmdbChainStore.open({ chainId: CHAIN_ID, path: dir! });
  if (mode === "safety") {
    for (let i = 1; ; i++) {
      store.saveSafetyState(utf8(`safety ${i}`));
      writeSync(1, `${i}\n`);
    }
  }
  let prev: ChainBlock | null = null;
  for (let h = 0; ; h++) {
    const b = nextBlock(prev, crashTxs(h));
    store.commit([crashCommit(b)]);
    writeSync(1, `${h}\n`);
    prev = b;
  }
}

if (process.argv[1]?.endsWith("crashChild.js") === true) void main();
