import type { BenchSuite } from "./harness.js";
import type { BenchCase, BenchResult } from "./harness.js";
import { formatNs, runCases } from "./harness.js";
import { decodeMessage, WireEncoder } from "../src/wire/codec.js";
import type { Block, Message, Proposal, QuorumCert, Timeout, Vote } from "../src/domain/types.js";
import { SeededRng } from "../src/util/rng.js";

/**
 * `quire bench wire`: encode and decode of a vote, a timeout, a QC and a 1,000-tx proposal, FlatBuffers (this codec,
 * with all of its checks) against JSON of the same data (byte fields as hex, Buffer's native hex codec, no validation).
 * Both sides go all the way between domain objects and bytes: JSON includes UTF-8 encoding/decoding of the text.
 * JSON is each group's baseline, so "vs baseline" is FlatBuffers' speed-up.
 */

const TX_COUNT = 1000;
/** Transaction size in the proposal case: a transfer-sized payload, the same 200 bytes as the net benchmark's small message. */
const TX_BYTES = 200;
/** Small messages per timed call (see Subject.batch). */
const SMALL_BATCH = 100;
/** Validators in the QC's signer bitmap (a dense bitmap of 100 bits, 13 bytes). */
const SIGNER_BITMAP_BYTES = 13;

// ---- fixtures -------------------------------------------------------------------------------------------------------

function fixtures(): { vote: Vote; qc: QuorumCert; timeout: Timeout; proposal: Proposal } {
  const rng = new SeededRng(1);
  const qc: QuorumCert = { view: 1_234_567, blockHash: rng.bytes(32), signers: rng.bytes(SIGNER_BITMAP_BYTES), aggregateSignature: rng.bytes(96) };
  const vote: Vote = { view: 1_234_568, blockHash: rng.bytes(32), voter: 42, signature: rng.bytes(192) };
  const timeout: Timeout = { view: 1_234_569, highQc: qc, voter: 42, signature: rng.bytes(192) };
  const block: Block = {
    header: {
      parent: qc.blockHash,
      view: 1_234_568,
      height: 1_000_000,
      proposer: 7,
      timestampMs: 1_750_000_000_000,
      txRoot: rng.bytes(32),
      parentStateRoot: rng.bytes(32),
      parentResults: rng.bytes(TX_COUNT / 8),
      parentSigners: new Uint8Array(0),
    },
    txs: Array.from({ length: TX_COUNT }, () => rng.bytes(TX_BYTES)),
  };
  return { vote, qc, timeout, proposal: { block, qc, tc: null, signature: rng.bytes(192) } };
}

// ---- the JSON baseline ------------------------------------------------------------------------------------------------

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
const unhex = (s: string): Uint8Array => Buffer.from(s, "hex");
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

interface QcJson { view: number; blockHash: string; signers: string; aggregateSignature: string }
interface BlockJson {
  header: { parent: string; view: number; height: number; proposer: number; timestampMs: number; txRoot: string; parentStateRoot: string; parentResults: string; parentSigners: string };
  txs: string[];
}

const qcToJson = (q: QuorumCert): QcJson => ({ view: q.view, blockHash: hex(q.blockHash), signers: hex(q.signers), aggregateSignature: hex(q.aggregateSignature) });
const qcFromJson = (o: QcJson): QuorumCert => ({ view: o.view, blockHash: unhex(o.blockHash), signers: unhex(o.signers), aggregateSignature: unhex(o.aggregateSignature) });

function blockToJson(b: Block): BlockJson {
  const h = b.header;
  return {
    header: { parent: hex(h.parent), view: h.view, height: h.height, proposer: h.proposer, timestampMs: h.timestampMs, txRoot: hex(h.txRoot), parentStateRoot: hex(h.parentStateRoot), parentResults: hex(h.parentResults), parentSigners: hex(h.parentSigners) },
    txs: b.txs.map(hex),
  };
}

function blockFromJson(o: BlockJson): Block {
  const h = o.header;
  return {
    header: { parent: unhex(h.parent), view: h.view, height: h.height, proposer: h.proposer, timestampMs: h.timestampMs, txRoot: unhex(h.txRoot), parentStateRoot: unhex(h.parentStateRoot), parentResults: unhex(h.parentResults), parentSigners: unhex(h.parentSigners) },
    txs: o.txs.map(unhex),
  };
}

interface VoteJson { view: number; blockHash: string; voter: number; signature: string }
interface TimeoutJson { view: number; highQc: QcJson; voter: number; signature: string }
interface ProposalJson { block: BlockJson; qc: QcJson; tc: null; signature: string }
/** The JSON value that goes over the wire, for the four benchmarked kinds. */
type JsonMessage =
  | { kind: "vote"; body: VoteJson }
  | { kind: "qc"; body: QcJson }
  | { kind: "timeout"; body: TimeoutJson }
  | { kind: "proposal"; body: ProposalJson };

function toJson(m: Message): JsonMessage {
  switch (m.kind) {
    case "vote":
      return { kind: m.kind, body: { view: m.body.view, blockHash: hex(m.body.blockHash), voter: m.body.voter, signature: hex(m.body.signature) } };
    case "qc":
      return { kind: m.kind, body: qcToJson(m.body) };
    case "timeout":
      return { kind: m.kind, body: { view: m.body.view, highQc: qcToJson(m.body.highQc), voter: m.body.voter, signature: hex(m.body.signature) } };
    case "proposal":
      return { kind: m.kind, body: { block: blockToJson(m.body.block), qc: qcToJson(m.body.qc), tc: null, signature: hex(m.body.signature) } };
    default:
      throw new Error(`bench: no JSON mapping for ${m.kind}`);
  }
}

/** Trusts the shape (a JSON protocol would add validation on top of this cost). */
function fromJson(o: JsonMessage): Message {
  switch (o.kind) {
    case "vote":
      return { kind: "vote", body: { view: o.body.view, blockHash: unhex(o.body.blockHash), voter: o.body.voter, signature: unhex(o.body.signature) } };
    case "qc":
      return { kind: "qc", body: qcFromJson(o.body) };
    case "timeout":
      return { kind: "timeout", body: { view: o.body.view, highQc: qcFromJson(o.body.highQc), voter: o.body.voter, signature: unhex(o.body.signature) } };
    case "proposal":
      return { kind: "proposal", body: { block: blockFromJson(o.body.block), qc: qcFromJson(o.body.qc), tc: null, signature: unhex(o.body.signature) } };
  }
}

const jsonEncode = (m: Message): Uint8Array => utf8Encoder.encode(JSON.stringify(toJson(m)));
const jsonDecode = (b: Uint8Array): Message => fromJson(JSON.parse(utf8Decoder.decode(b)) as JsonMessage);

// ---- cases ------------------------------------------------------------------------------------------------------------

interface Subject {
  name: string;
  msg: Message;
  /**
   * Operations per timed call. tinybench reads the clock around every call (~100 ns here), which would swamp a
   * 150 ns decode; small messages therefore run in batches and the "per item" column is the per-message figure.
   */
  batch: number;
}

function cases(subjects: readonly Subject[], sizes: string[]): BenchCase[] {
  const enc = new WireEncoder();
  const out: BenchCase[] = [];
  for (const { name, msg, batch } of subjects) {
    const fbBytes = enc.encode(msg);
    const jsonBytes = jsonEncode(msg);
    // Both decoders must agree with the source before anything is timed.
    if (decodeMessage(fbBytes).kind !== msg.kind || jsonDecode(jsonBytes).kind !== msg.kind) throw new Error(`bench: ${name} does not round-trip`);
    sizes.push(`${name}: flatbuffers ${fbBytes.length} B, json ${jsonBytes.length} B (${(jsonBytes.length / fbBytes.length).toFixed(2)}x)`);
    const kind = msg.kind;
    const fbLen = fbBytes.length;
    const times = (op: () => boolean) => () => {
      for (let i = 0; i < batch; i++) if (!op()) throw new Error(`bench: ${name} produced a wrong result`);
    };
    const common = { items: batch };
    out.push(
      { group: `${name} encode`, backend: "json", baseline: true, size: jsonBytes.length, ...common, fn: times(() => jsonEncode(msg).length > 0) },
      { group: `${name} encode`, backend: "flatbuffers (view)", size: fbLen, ...common, fn: times(() => enc.encodeView(msg).length === fbLen) },
      { group: `${name} encode`, backend: "flatbuffers (copy)", size: fbLen, ...common, fn: times(() => enc.encode(msg).length === fbLen) },
      { group: `${name} decode`, backend: "json", baseline: true, size: jsonBytes.length, ...common, fn: times(() => jsonDecode(jsonBytes).kind === kind) },
      { group: `${name} decode`, backend: "flatbuffers", size: fbLen, ...common, fn: times(() => decodeMessage(fbBytes).kind === kind) },
    );
  }
  return out;
}

/** The targets, checked against this run's per-message means. */
const TARGETS: readonly { group: string; backend: string; maxNs: number }[] = [
  { group: "vote decode", backend: "flatbuffers", maxNs: 300 },
  { group: "vote encode", backend: "flatbuffers (view)", maxNs: 500 },
];

function targetLines(rows: readonly BenchResult[]): string[] {
  return TARGETS.flatMap((t) => {
    const row = rows.find((r) => r.group === t.group && r.backend === t.backend);
    if (row === undefined) return [];
    const perItem = row.meanNs / row.items;
    // The median is printed too: on a busy machine preemption inflates the mean of sub-microsecond cases.
    return [`target ${t.group} (${t.backend}) <= ${t.maxNs} ns: mean ${formatNs(perItem)}, median ${formatNs(row.p50Ns / row.items)} per message -> ${perItem <= t.maxNs ? "met" : "MISSED"}`];
  });
}

export const suite: BenchSuite = {
  flags: [],
  async run(_args, opts) {
    const f = fixtures();
    const subjects: Subject[] = [
      { name: "vote", msg: { kind: "vote", body: f.vote }, batch: SMALL_BATCH },
      { name: "timeout", msg: { kind: "timeout", body: f.timeout }, batch: SMALL_BATCH },
      { name: "qc", msg: { kind: "qc", body: f.qc }, batch: SMALL_BATCH },
      { name: `proposal ${TX_COUNT}x${TX_BYTES}B`, msg: { kind: "proposal", body: f.proposal }, batch: 1 },
    ];
    const sizes: string[] = [];
    const rows = await runCases("wire", cases(subjects, sizes), opts);
    process.stdout.write(["encoded sizes:", ...sizes.map((s) => `  ${s}`), ...targetLines(rows), ""].join("\n"));
    return rows;
  },
};
