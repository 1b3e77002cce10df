import { createHash } from "node:crypto";
import { merkleRoot } from "../../../../src/crypto/merkle.js";
import type { Block, Hash, QuorumCert } from "../../../../src/domain/types.js";
import { encodeBlockRecord } from "../../../../src/chain/store/records.js";
import { utf8 } from "../../../../src/util/bytes.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import type { Application, StateWriter } from "../../../../src/chain/app/interface.js";

export const CHAIN_ID = utf8("quire-test");

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** A stand-in block hash for store tests (the store never hashes): SHA-256 of the stored record. */
export function fixtureHash(b: Block): Hash {
  return sha256(encodeBlockRecord(b));
}

export function fakeQc(hash: Hash, view: number): QuorumCert {
  return { view, blockHash: hash, signers: new Uint8Array([1, 0x0f]), aggregateSignature: new Uint8Array(96).fill(view & 0xff) };
}

export interface ChainBlock {
  readonly block: Block;
  readonly hash: Hash;
  readonly qc: QuorumCert;
}

/** A block at `parent.height + 1` (or the genesis block when parent is null) with the given txs. */
export function nextBlock(parent: ChainBlock | null, txs: readonly Uint8Array[], extra: { view?: number; stateRoot?: Hash; results?: Uint8Array } = {}): ChainBlock {
  const height = parent === null ? 0 : parent.block.header.height + 1;
  const block: Block = {
    header: {
      parent: parent === null ? new Uint8Array(32) : parent.hash,
      view: extra.view ?? height,
      height,
      proposer: height % 4,
      timestampMs: 1_700_000_000_000 + height,
      txRoot: merkleRoot(txs),
      parentStateRoot: extra.stateRoot ?? new Uint8Array(32),
      parentResults: extra.results ?? new Uint8Array(0),
      parentSigners: new Uint8Array(0),
    },
    txs,
  };
  const hash = fixtureHash(block);
  return { block, hash, qc: fakeQc(hash, block.header.view) };
}

export function randomTxs(rng: SeededRng, count: number, maxLen = 64): Uint8Array[] {
  return Array.from({ length: count }, () => rng.bytes(1 + rng.int(maxLen)));
}

/** Executes blocks of txs on `app` over `state` from height 1, one call a block: each tx's "ok" or failure code. */
export function appBlocks(app: Application, state: StateWriter): { block(txs: Uint8Array[]): string[]; readonly height: number } {
  let height = 1;
  return {
    get height() {
      return height;
    },
    block(txs) {
      app.beginBlock(state, { height, txCount: txs.length, txs });
      const out = txs.map((tx, i) => {
        const r = app.deliver(tx, i);
        return r.ok ? "ok" : r.code;
      });
      app.commit();
      height++;
      return out;
    },
  };
}
