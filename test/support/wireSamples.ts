import type { SeededRng } from "../../src/util/rng.js";
import type {
  Block,
  Handshake,
  Message,
  MessageKind,
  QuorumCert,
  TimeoutCert,
} from "../../src/domain/types.js";
import { MAX_UINT53 } from "../../src/domain/limits.js";

/** Values that sit on encoding boundaries: zero (omitted as the default), 32-bit edges, the largest safe integer. */
const EDGE_U53 = [0, 1, 0xff, 0x7fffffff, 0xffffffff, 0x100000000, 2 ** 52, MAX_UINT53 - 1, MAX_UINT53];
const EDGE_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff];

function u53(rng: SeededRng): number {
  return rng.chance(0.3) ? rng.pick(EDGE_U53) : rng.u32() * 2 ** 21 + (rng.u32() >>> 11);
}

function u32(rng: SeededRng): number {
  return rng.chance(0.3) ? rng.pick(EDGE_U32) : rng.u32();
}

function txs(rng: SeededRng, max: number): Uint8Array[] {
  const n = rng.chance(0.2) ? 0 : rng.range(1, max);
  return Array.from({ length: n }, () => rng.bytes(rng.chance(0.1) ? 0 : rng.range(1, 300)));
}

export function randomQc(rng: SeededRng): QuorumCert {
  return { view: u53(rng), blockHash: rng.bytes(32), signers: rng.bytes(rng.range(0, 40)), aggregateSignature: rng.bytes(96) };
}

export function randomTc(rng: SeededRng): TimeoutCert {
  const n = rng.range(0, 20);
  return {
    view: u53(rng),
    signers: rng.bytes(rng.range(0, 8)),
    highQcViews: Array.from({ length: n }, () => u53(rng)),
    aggregateSignature: rng.bytes(96),
    highQc: randomQc(rng),
  };
}

export function randomBlock(rng: SeededRng, maxTxs = 40): Block {
  const block = randomBlockOnly(rng, maxTxs);
  // Signers on about half the blocks, derived without drawing from rng: the samples other tests pin stay the same.
  const r = block.header.parentResults;
  return r.length % 2 === 0 ? block : { ...block, header: { ...block.header, parentSigners: r.slice().reverse() } };
}

function randomBlockOnly(rng: SeededRng, maxTxs: number): Block {
  return {
    header: {
      parent: rng.bytes(32),
      view: u53(rng),
      height: u53(rng),
      proposer: u32(rng),
      timestampMs: u53(rng),
      txRoot: rng.bytes(32),
      parentStateRoot: rng.bytes(32),
      parentResults: rng.bytes(rng.range(0, 16)),
      parentSigners: new Uint8Array(0),
    },
    txs: txs(rng, maxTxs),
  };
}

function randomHandshake(rng: SeededRng): Handshake {
  const answer = rng.chance(0.5);
  return {
    version: u32(rng),
    chainId: rng.bytes(rng.range(1, 64)),
    publicKey: rng.bytes(48),
    nonce: rng.bytes(32),
    peerNonce: answer ? rng.bytes(32) : null,
    signature: answer ? rng.bytes(96) : null,
    ephemeralKey: rng.chance(0.5) ? rng.bytes(32) : null,
  };
}

/** A random valid message of `kind`, with edge values mixed in. */
export function randomMessage(rng: SeededRng, kind: MessageKind): Message {
  switch (kind) {
    case "handshake":
      return { kind, body: randomHandshake(rng) };
    case "hello":
      return { kind, body: { chainId: rng.bytes(rng.range(1, 64)), committedHeight: u53(rng), committedHash: rng.bytes(32) } };
    case "proposal":
      return { kind, body: { block: randomBlock(rng), qc: randomQc(rng), tc: rng.chance(0.5) ? randomTc(rng) : null, signature: rng.bytes(192) } };
    case "vote":
      return { kind, body: { view: u53(rng), blockHash: rng.bytes(32), voter: u32(rng), signature: rng.bytes(192) } };
    case "timeout":
      return { kind, body: { view: u53(rng), highQc: randomQc(rng), voter: u32(rng), signature: rng.bytes(192) } };
    case "qc":
      return { kind, body: randomQc(rng) };
    case "tc":
      return { kind, body: randomTc(rng) };
    case "syncRequest": {
      const from = u53(rng);
      return { kind, body: { requestId: u32(rng), fromHeight: from, toHeight: from + rng.int(MAX_UINT53 - from + 1 > 1000 ? 1000 : MAX_UINT53 - from + 1) } };
    }
    case "syncResponse": {
      const n = rng.range(0, 4);
      return { kind, body: { requestId: u32(rng), blocks: Array.from({ length: n }, () => ({ block: randomBlock(rng, 5), qc: randomQc(rng) })) } };
    }
    case "txBatch": {
      const list = txs(rng, 30);
      if (rng.int(2) === 0) return { kind, body: { txs: list } };
      // Origins (client ids) drawn from a few, so the encoder's dedup is exercised; one non-ASCII.
      const names = ["127.0.0.1", "::1", "2001:db8::7", "", "clïent"];
      return { kind, body: { txs: list, origins: list.map(() => names[rng.int(names.length)]!) } };
    }
  }
}
