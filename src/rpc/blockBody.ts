/**
 * The binary document of `GET /v1/blocks/:height/body`: what a para node (src/node/para/) needs of a committed main
 * block besides its header — the transactions and the block's own result bitmap (from the node's committed record,
 * which no header carries: a block's header holds its *parent's* results).
 *
 *   4  R (u32 big-endian) ‖ R  results   encoded bitmap (crypto/bitmap codec): bit i set = tx i failed
 *   then each tx as `length u32 big-endian ‖ bytes`, back to back (the `POST /v1/txs` binary batch layout)
 *
 * The reader checks the txs against the header's txRoot before trusting them; `decodeBlockBody` never throws.
 */
import type { BlockBody } from "./api.js";
import { encodeTxBatchBody } from "./client.js";

export function encodeBlockBody(body: BlockBody): Uint8Array {
  const txs = encodeTxBatchBody(body.txs);
  const out = new Uint8Array(4 + body.results.length + txs.length);
  new DataView(out.buffer).setUint32(0, body.results.length);
  out.set(body.results, 4);
  out.set(txs, 4 + body.results.length);
  return out;
}

export function decodeBlockBody(b: Uint8Array): { readonly ok: true; readonly value: BlockBody } | { readonly ok: false; readonly reason: string } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 4) return { ok: false, reason: "the body ends before its result-bitmap length" };
  const r = dv.getUint32(0);
  if (4 + r > b.length) return { ok: false, reason: `a ${r}-byte result bitmap in a ${b.length}-byte body` };
  const results = b.subarray(4, 4 + r);
  const txs: Uint8Array[] = [];
  for (let p = 4 + r; p < b.length; ) {
    if (p + 4 > b.length) return { ok: false, reason: `tx ${txs.length}: the body ends inside its length` };
    const n = dv.getUint32(p);
    if (p + 4 + n > b.length) return { ok: false, reason: `tx ${txs.length}: ${n} bytes announced, ${b.length - p - 4} left` };
    txs.push(b.subarray(p + 4, p + 4 + n));
    p += 4 + n;
  }
  return { ok: true, value: { results, txs } };
}
