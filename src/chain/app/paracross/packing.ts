/**
 * Which transactions of a main-chain block a para chain packs into its block — the one implementation of Chain33's
 * packing rules, shared by the para node (which builds its block from it) and the main chain's paracross module
 * (which must know a withdrawal's index in the para block to credit it when the para height is done).
 *
 * In main-block order, for each main tx i that succeeded on the main chain (its result bit clear):
 *   - 0x21 para tx titled T                 → its inner tx
 *   - 0x22 group                            → the inner tx of each of its 0x21 legs titled T, in leg order
 *   - 0x10 accounts deposit titled T        → the deposit tx itself (the para chain credits it)
 * except an inner tx that is an accounts deposit: a deposit credits the para chain only as a main tx, which locked its
 * amount in the main chain's escrow first (the main chain refuses such wrapping too: DEPOSIT_IN_PARA_TX).
 * A main tx that failed contributes nothing: a para leg grouped with a main leg that failed is not packed, and the para
 * block's result bitmap covers only packed txs (seed rule). Nothing else is a para tx of T.
 *
 * At most MAX_PARA_BLOCK_TXS txs are packed per main block; the rest of that block's para txs for T are not packed
 * (groups fan out up to 16 para legs each, so a full main block could otherwise make a para block whose commit message
 * — two bitmaps over its txs — no commit tx could carry: a permanent hole; review finding, Dec 3).
 *
 * Cross-chain txs: a packed para tx is cross-chain when it is an accounts withdrawal (the main chain credits it once
 * the para height is done with its result bit clear); `crossIndices` lists them.
 */
import { ACCOUNT_OP, ACCOUNT_TX_TAG, decodeAccountTx } from "../accounts/accountTx.js";
import { decodeGroupTx, decodeParaTx, GROUP_TX_TAG, PARA_TX_TAG } from "./format.js";
import { MAX_TXS_PER_BLOCK } from "../../../domain/limits.js";

/**
 * Most txs a para block packs: its commit message's two bitmaps are then at most 2 × 8 KiB (dense), so one commit
 * always fits a commit tx (MAX_TX_BYTES, 64 KiB) — MAX_TXS_PER_BLOCK, the same bound as a main block's.
 */
export const MAX_PARA_BLOCK_TXS = MAX_TXS_PER_BLOCK;

/** The para txs of `title` in a main block, in packing order. `succeeded(i)`: main tx i's result bit is clear. */
export function packParaTxs(title: string, mainTxs: readonly Uint8Array[], succeeded: (i: number) => boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < mainTxs.length && out.length < MAX_PARA_BLOCK_TXS; i++) {
    const tx = mainTxs[i]!;
    if (tx.length === 0) continue;
    const tag = tx[0];
    if (tag !== PARA_TX_TAG && tag !== GROUP_TX_TAG && tag !== ACCOUNT_TX_TAG) continue;
    if (!succeeded(i)) continue;
    if (tag === PARA_TX_TAG) {
      const p = decodeParaTx(tx);
      if (p.ok && p.value.title === title && !isDeposit(p.value.inner)) out.push(p.value.inner);
    } else if (tag === GROUP_TX_TAG) {
      const g = decodeGroupTx(tx);
      if (!g.ok) continue;
      for (const leg of g.value) {
        if (leg[0] !== PARA_TX_TAG) continue;
        const p = decodeParaTx(leg);
        if (p.ok && p.value.title === title && !isDeposit(p.value.inner) && out.length < MAX_PARA_BLOCK_TXS) out.push(p.value.inner);
      }
    } else if (tx[1] === ACCOUNT_OP.deposit) {
      const d = decodeAccountTx(tx);
      if (d.ok && d.tx.op === "deposit" && d.tx.title === title) out.push(tx);
    }
  }
  return out;
}

/** Indices (into `packed`) of the cross-chain txs: accounts withdrawals. */
export function crossIndices(packed: readonly Uint8Array[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < packed.length; i++) {
    const tx = packed[i]!;
    if (tx.length > 1 && tx[0] === ACCOUNT_TX_TAG && tx[1] === ACCOUNT_OP.withdraw) out.push(i);
  }
  return out;
}

/** The titles a main block carries para txs for (to skip blocks a para node has nothing to take from quickly). */
export function isParaTagged(tx: Uint8Array): boolean {
  const t = tx[0];
  return t === PARA_TX_TAG || t === GROUP_TX_TAG || (t === ACCOUNT_TX_TAG && tx[1] === ACCOUNT_OP.deposit);
}

function isDeposit(tx: Uint8Array): boolean {
  return tx.length > 1 && tx[0] === ACCOUNT_TX_TAG && tx[1] === ACCOUNT_OP.deposit;
}
