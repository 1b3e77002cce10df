// An independent reader for trusted (well-formed) buffers: the flatc-generated accessors, converted to domain types.
// Tests compare it with the codec's own decoder, so a field slot or layout the codec gets wrong cannot go unnoticed.
import { ByteBuffer } from "flatbuffers";
import * as fb from "../../src/wire/generated/quire_generated.js";
import type { Block, Message, QuorumCert, TimeoutCert } from "../../src/domain/types.js";

function bytes(a: Uint8Array | null): Uint8Array {
  return a === null ? new Uint8Array(0) : Uint8Array.from(a);
}

function num(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`oracle: ${v} above 2^53 - 1`);
  return Number(v);
}

function txs(endsArr: Uint32Array | null, data: Uint8Array | null): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const end of endsArr ?? []) {
    out.push(bytes(data).slice(prev, end));
    prev = end;
  }
  return out;
}

function qc(q: fb.QuorumCert): QuorumCert {
  return { view: num(q.view()), blockHash: bytes(q.blockHashArray()), signers: bytes(q.signersArray()), aggregateSignature: bytes(q.signatureArray()) };
}

function tc(t: fb.TimeoutCert): TimeoutCert {
  const views: number[] = [];
  for (let i = 0; i < t.highQcViewsLength(); i++) views.push(num(t.highQcViews(i)!));
  return { view: num(t.view()), signers: bytes(t.signersArray()), highQcViews: views, aggregateSignature: bytes(t.signatureArray()), highQc: qc(t.highQc()!) };
}

function block(b: fb.Block): Block {
  const h = b.header()!;
  return {
    header: {
      parent: bytes(h.parentArray()),
      view: num(h.view()),
      height: num(h.height()),
      proposer: h.proposer(),
      timestampMs: num(h.timestampMs()),
      txRoot: bytes(h.txRootArray()),
      parentStateRoot: bytes(h.parentStateRootArray()),
      parentResults: bytes(h.parentResultsArray()),
      parentSigners: bytes(h.parentSignersArray()),
    },
    txs: txs(b.txEndsArray(), b.txDataArray()),
  };
}

/** Reads a well-formed message with the generated code only. */
export function decodeWithGenerated(buf: Uint8Array): Message {
  const bb = new ByteBuffer(buf);
  if (!fb.Envelope.bufferHasIdentifier(bb)) throw new Error("oracle: bad identifier");
  const env = fb.Envelope.getRootAsEnvelope(bb);
  switch (env.messageType()) {
    case fb.Message.Vote: {
      const v = env.message(new fb.Vote()) as fb.Vote;
      return { kind: "vote", body: { view: num(v.view()), blockHash: bytes(v.blockHashArray()), voter: v.voter(), signature: bytes(v.signatureArray()) } };
    }
    case fb.Message.Timeout: {
      const t = env.message(new fb.Timeout()) as fb.Timeout;
      return { kind: "timeout", body: { view: num(t.view()), highQc: qc(t.highQc()!), voter: t.voter(), signature: bytes(t.signatureArray()) } };
    }
    case fb.Message.QuorumCert:
      return { kind: "qc", body: qc(env.message(new fb.QuorumCert()) as fb.QuorumCert) };
    case fb.Message.TimeoutCert:
      return { kind: "tc", body: tc(env.message(new fb.TimeoutCert()) as fb.TimeoutCert) };
    case fb.Message.Proposal: {
      const p = env.message(new fb.Proposal()) as fb.Proposal;
      const t = p.tc();
      return { kind: "proposal", body: { block: block(p.block()!), qc: qc(p.qc()!), tc: t === null ? null : tc(t), signature: bytes(p.signatureArray()) } };
    }
    case fb.Message.Handshake: {
      const h = env.message(new fb.Handshake()) as fb.Handshake;
      const peer = h.peerNonceArray();
      const sig = h.signatureArray();
      const ek = h.ephemeralKeyArray();
      return {
        kind: "handshake",
        body: {
          version: h.version(),
          chainId: bytes(h.chainIdArray()),
          publicKey: bytes(h.publicKeyArray()),
          nonce: bytes(h.nonceArray()),
          peerNonce: peer === null ? null : bytes(peer),
          signature: sig === null ? null : bytes(sig),
          ephemeralKey: ek === null ? null : bytes(ek),
        },
      };
    }
    case fb.Message.Hello: {
      const h = env.message(new fb.Hello()) as fb.Hello;
      return { kind: "hello", body: { chainId: bytes(h.chainIdArray()), committedHeight: num(h.committedHeight()), committedHash: bytes(h.committedHashArray()) } };
    }
    case fb.Message.SyncRequest: {
      const r = env.message(new fb.SyncRequest()) as fb.SyncRequest;
      return { kind: "syncRequest", body: { requestId: r.requestId(), fromHeight: num(r.fromHeight()), toHeight: num(r.toHeight()) } };
    }
    case fb.Message.SyncResponse: {
      const r = env.message(new fb.SyncResponse()) as fb.SyncResponse;
      const blocks = [];
      for (let i = 0; i < r.blocksLength(); i++) {
        const cb = r.blocks(i)!;
        blocks.push({ block: block(cb.block()!), qc: qc(cb.qc()!) });
      }
      return { kind: "syncResponse", body: { requestId: r.requestId(), blocks } };
    }
    case fb.Message.TxBatch: {
      const b = env.message(new fb.TxBatch()) as fb.TxBatch;
      const list = txs(b.txEndsArray(), b.txDataArray());
      if (b.originsLength() === 0 && b.txOriginsLength() === 0 && b.txOriginsArray() === null) return { kind: "txBatch", body: { txs: list } };
      const names = Array.from({ length: b.originsLength() }, (_, i) => b.origins(i));
      return { kind: "txBatch", body: { txs: list, origins: Array.from(b.txOriginsArray() ?? [], (k) => names[k]!) } };
    }
    default:
      throw new Error(`oracle: union type ${env.messageType()}`);
  }
}
