import { test } from "node:test";
import assert from "node:assert/strict";
import { createSecretKey } from "node:crypto";
import { FrameAuthenticator, TAG_BYTES } from "../../../src/net/channel.js";
import { FLAG_MORE, FRAME_DATA, FrameDecoder, RECORD_HEADER_BYTES } from "../../../src/net/framing.js";
import { PeerQueue } from "../../../src/net/peerQueue.js";
import type { QueueLimits } from "../../../src/net/peerQueue.js";
import { Priority, SendStatus } from "../../../src/net/transport.js";
import { seededRng } from "../../support/seed.js";

const BIG: QueueLimits = [
  { maxMessages: 1e9, maxBytes: 1e12 },
  { maxMessages: 1e9, maxBytes: 1e12 },
  { maxMessages: 1e9, maxBytes: 1e12 },
];

/** Parses a frame's record headers independently of FrameDecoder: [class, length, more] per record. */
function records(frame: Uint8Array): [number, number, boolean][] {
  assert.equal(frame[0], FRAME_DATA);
  const out: [number, number, boolean][] = [];
  let o = 1;
  while (o < frame.length) {
    const len = new DataView(frame.buffer, frame.byteOffset + o).getUint32(0, true);
    const flags = frame[o + 4]!;
    out.push([flags & 3, len, (flags & FLAG_MORE) !== 0]);
    o += RECORD_HEADER_BYTES + len;
  }
  assert.equal(o, frame.length);
  return out;
}

function decodeAll(frames: Uint8Array[], max = 1 << 30): { priority: Priority; payload: Uint8Array }[] {
  const dec = new FrameDecoder(max);
  const out: { priority: Priority; payload: Uint8Array }[] = [];
  for (const f of frames) assert.equal(dec.decode(f, (priority, payload) => out.push({ priority, payload: payload.slice() })), undefined);
  return out;
}

test("frames round-trip: every message arrives whole, per-class FIFO, frames (with room for the channel tag) never exceed the limit", (t) => {
  const rng = seededRng(t);
  for (const [frameBytes, trailer] of [[1024, 0], [4096, 0], [65_536, 0], [1024, 16], [65_536, 16]] as const) {
    const q = new PeerQueue(BIG);
    const sent: Uint8Array[][] = [[], [], []];
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const p = rng.int(3) as Priority;
      // Mostly small, some larger than a frame (fragmented), some empty.
      const size = rng.chance(0.05) ? rng.int(5 * frameBytes) : rng.chance(0.05) ? 0 : rng.int(300);
      const m = rng.bytes(size);
      assert.equal(q.push(p, m).status, SendStatus.Queued);
      sent[p]!.push(m);
      if (rng.chance(0.3)) {
        const f = q.nextFrame(frameBytes, trailer);
        if (f !== null) frames.push(f);
      }
    }
    for (let f = q.nextFrame(frameBytes, trailer); f !== null; f = q.nextFrame(frameBytes, trailer)) frames.push(f);
    assert.ok(q.isEmpty());
    assert.equal(q.bytes, 0);
    for (const f of frames) {
      assert.ok(f.length <= frameBytes, `frame of ${f.length} > ${frameBytes}`);
      records(f.subarray(0, f.length - trailer)); // the records end exactly where the tag's room begins
    }
    const got: Uint8Array[][] = [[], [], []];
    for (const m of decodeAll(frames.map((f) => f.subarray(0, f.length - trailer)))) got[m.priority]!.push(m.payload);
    for (let c = 0; c < 3; c++) {
      assert.equal(got[c]!.length, sent[c]!.length, `class ${c} count (frame ${frameBytes})`);
      got[c]!.forEach((m, i) => assert.deepEqual(m, sent[c]![i]));
      assert.equal(q.classes[c]!.sentMessages, sent[c]!.length);
    }
  }
});

test("consensus never waits behind queued bulk: whenever consensus is queued, the next frame carries all of it first", (t) => {
  const rng = seededRng(t);
  const frameBytes = 8192;
  const q = new PeerQueue(BIG);
  let checked = 0;
  for (let step = 0; step < 5000; step++) {
    const r = rng.int(10);
    if (r < 6) {
      const p = rng.int(3) as Priority;
      q.push(p, new Uint8Array(p === Priority.Consensus ? 100 + rng.int(200) : rng.chance(0.1) ? 20_000 + rng.int(30_000) : rng.int(2000)));
    } else {
      const consensusBefore = q.classes[Priority.Consensus]!.queuedMessages;
      const f = q.nextFrame(frameBytes);
      if (f === null) continue;
      const recs = records(f);
      const leading = recs.findIndex((x) => x[0] !== Priority.Consensus);
      const consensusInFrame = recs.filter((x) => x[0] === Priority.Consensus).length;
      // Consensus records form a prefix of the frame: no bulk record precedes a consensus record.
      if (leading >= 0) assert.ok(recs.slice(leading).every((x) => x[0] !== Priority.Consensus), "bulk before consensus");
      if (consensusBefore > 0) {
        checked++;
        assert.equal(recs[0]![0], Priority.Consensus);
        // All queued consensus went out unless the frame was full of consensus alone.
        if (q.classes[Priority.Consensus]!.queuedMessages > 0) assert.equal(leading, -1, "bulk joined a frame while consensus was left behind");
        else assert.equal(consensusInFrame, consensusBefore);
      }
    }
  }
  assert.ok(checked > 100);
});

test("a consensus message overtakes a block that is halfway through being sent", () => {
  const q = new PeerQueue(BIG);
  const block = new Uint8Array(1_000_000).fill(0xbb);
  q.push(Priority.Sync, block);
  const frames = [q.nextFrame(16_384)!, q.nextFrame(16_384)!];
  const vote = new Uint8Array(150).fill(0x77);
  q.push(Priority.Consensus, vote);
  frames.push(q.nextFrame(16_384)!);
  assert.deepEqual(records(frames[2]!)[0], [Priority.Consensus, 150, false]);
  for (let f = q.nextFrame(16_384); f !== null; f = q.nextFrame(16_384)) frames.push(f);
  const out = decodeAll(frames);
  assert.deepEqual(
    out.map((m) => [m.priority, m.payload.length]),
    [
      [Priority.Consensus, 150],
      [Priority.Sync, 1_000_000],
    ],
  );
  assert.deepEqual(out[1]!.payload, block);
});

test("sync and gossip share the bulk bandwidth (which goes first alternates per frame)", () => {
  const q = new PeerQueue(BIG);
  for (let i = 0; i < 2000; i++) {
    q.push(Priority.Sync, new Uint8Array(3000));
    q.push(Priority.Gossip, new Uint8Array(200));
  }
  const bytes = [0, 0, 0];
  for (let i = 0; i < 50; i++) for (const [c, len] of records(q.nextFrame(16_384)!)) bytes[c]! += len;
  const total = bytes[1]! + bytes[2]!;
  assert.ok(bytes[1]! > 0.3 * total && bytes[2]! > 0.3 * total, `unfair split ${bytes[1]} / ${bytes[2]}`);
});

test("full queues: consensus and sync refuse the new message; gossip drops the oldest; all counted and bounded", () => {
  const lim: QueueLimits = [
    { maxMessages: 3, maxBytes: 1000 },
    { maxMessages: 100, maxBytes: 250 },
    { maxMessages: 4, maxBytes: 1000 },
  ];
  const q = new PeerQueue(lim);
  for (let i = 0; i < 3; i++) assert.equal(q.push(Priority.Consensus, new Uint8Array(10)).status, SendStatus.Queued);
  assert.deepEqual(q.push(Priority.Consensus, new Uint8Array(10)), { status: SendStatus.Rejected, dropped: 0 });
  assert.equal(q.classes[0]!.rejected, 1);
  assert.equal(q.classes[0]!.queuedMessages, 3);
  // Sync: the byte limit.
  assert.equal(q.push(Priority.Sync, new Uint8Array(200)).status, SendStatus.Queued);
  assert.equal(q.push(Priority.Sync, new Uint8Array(51)).status, SendStatus.Rejected);
  assert.equal(q.push(Priority.Sync, new Uint8Array(50)).status, SendStatus.Queued);
  assert.equal(q.classes[1]!.rejected, 1);
  // Gossip: messages tagged by their first byte; the count limit drops oldest first.
  const g = (tag: number, size = 10) => new Uint8Array(size).fill(tag);
  for (let i = 1; i <= 6; i++) q.push(Priority.Gossip, g(i));
  assert.equal(q.classes[2]!.droppedOldest, 2);
  assert.equal(q.classes[2]!.queuedMessages, 4);
  // The byte limit: a 975-byte message pushes out as many old ones as it needs (3 and 4), no more.
  assert.deepEqual(q.push(Priority.Gossip, g(7, 975)), { status: SendStatus.Queued, dropped: 2 });
  assert.equal(q.classes[2]!.queuedBytes, 995);
  assert.equal(q.classes[2]!.droppedOldest, 4);
  const out = decodeAll([q.nextFrame(65_536)!]);
  assert.deepEqual(
    out.filter((m) => m.priority === Priority.Gossip).map((m) => m.payload[0]),
    [5, 6, 7],
  );
});

test("gossip drop-oldest spares a fragmented message already partly sent", () => {
  const q = new PeerQueue([BIG[0], BIG[1], { maxMessages: 2, maxBytes: 1e9 }]);
  const big = new Uint8Array(10_000).fill(1);
  q.push(Priority.Gossip, big);
  const first = q.nextFrame(2048)!; // first piece of `big` is out
  q.push(Priority.Gossip, new Uint8Array(5).fill(2));
  q.push(Priority.Gossip, new Uint8Array(5).fill(3)); // full: drops the 2, not the in-flight big one
  assert.equal(q.classes[2]!.droppedOldest, 1);
  const frames = [first];
  for (let f = q.nextFrame(2048); f !== null; f = q.nextFrame(2048)) frames.push(f);
  const out = decodeAll(frames);
  assert.deepEqual(out.map((m) => m.payload.length), [10_000, 5]);
  assert.equal(out[1]!.payload[0], 3);
});

test("FrameDecoder refuses malformed frames with a code and never throws (hand-made cases + 30,000 mutated frames)", (t) => {
  const rec = (len: number, flags: number, body: number[] = new Array<number>(len).fill(0)) => [len & 255, (len >> 8) & 255, (len >> 16) & 255, len >>> 24, flags, ...body];
  const frame = (...parts: number[][]) => new Uint8Array([FRAME_DATA, ...parts.flat()]);
  const dec = (f: Uint8Array, max = 100) => new FrameDecoder(max).decode(f, () => {});
  assert.equal(dec(frame()), "MALFORMED_FRAME"); // no record
  assert.equal(dec(frame([1, 0, 0])), "MALFORMED_FRAME"); // truncated header
  assert.equal(dec(frame(rec(5, 0, [1, 2]))), "MALFORMED_FRAME"); // length beyond the frame
  assert.equal(dec(frame(rec(1, 3, [0]))), "MALFORMED_FRAME"); // class 3
  assert.equal(dec(frame(rec(1, 8, [0]))), "MALFORMED_FRAME"); // unknown flag bit
  assert.equal(dec(frame(rec(0, FLAG_MORE))), "MALFORMED_FRAME"); // empty non-final piece
  assert.equal(dec(frame(rec(101, 0))), "MESSAGE_TOO_LARGE");
  assert.equal(dec(frame(rec(60, FLAG_MORE), rec(41, 0))), "MESSAGE_TOO_LARGE"); // reassembled too large
  assert.equal(dec(frame(rec(60, FLAG_MORE), rec(40, 0))), undefined);
  assert.equal(dec(frame(rec(0, 0))), undefined); // an empty message is fine
  // Reassembly state persists across frames, per class, and interleaves with other classes.
  const d = new FrameDecoder(100);
  const got: string[] = [];
  const push = (p: Priority, m: Uint8Array) => got.push(`${p}:${[...m].join(",")}`);
  assert.equal(d.decode(frame(rec(2, 1 | FLAG_MORE, [1, 2])), push), undefined);
  assert.equal(d.pendingBytes(), 2);
  assert.equal(d.decode(frame(rec(1, 0, [9]), rec(1, 1, [3])), push), undefined);
  assert.deepEqual(got, ["0:9", "1:1,2,3"]);
  assert.equal(d.pendingBytes(), 0);

  const rng = seededRng(t);
  const good: Uint8Array[] = [];
  const q = new PeerQueue(BIG);
  for (let i = 0; i < 200; i++) q.push(rng.int(3) as Priority, rng.bytes(rng.chance(0.1) ? 3000 : rng.int(100)));
  for (let f = q.nextFrame(1024); f !== null; f = q.nextFrame(1024)) good.push(f);
  let refused = 0;
  for (let i = 0; i < 30_000; i++) {
    let f: Uint8Array;
    if (rng.chance(0.3)) {
      f = rng.bytes(rng.int(64));
    } else {
      f = rng.pick(good).slice();
      const edits = 1 + rng.int(4);
      for (let e = 0; e < edits; e++) {
        if (rng.chance(0.2)) f = f.subarray(0, rng.int(f.length + 1));
        else if (f.length > 0) f[rng.int(f.length)] = rng.u32() & 0xff;
      }
    }
    const decoder = new FrameDecoder(5000);
    let delivered = 0;
    const r = decoder.decode(f, (_p, m) => {
      assert.ok(m.length <= 5000);
      delivered += m.length;
    });
    assert.ok(r === undefined || r === "MALFORMED_FRAME" || r === "MESSAGE_TOO_LARGE", String(r));
    assert.ok(delivered <= f.length);
    if (r !== undefined) refused++;
  }
  assert.ok(refused > 1000);
});

test("a frame built and sealed in reused memory is byte for byte the frame built fresh, and opens the same", (t) => {
  // What UwsTransport.flush does now (the socket's frameBuffer, one buffer reused for every frame) against the
  // default fresh allocation, from two queues fed the same messages; both frames sealed by one key's two counters.
  const rng = seededRng(t);
  const key = createSecretKey(rng.bytes(32));
  const [fresh, reused] = [new PeerQueue(BIG), new PeerQueue(BIG)];
  const sealFresh = new FrameAuthenticator(key);
  const sealReused = new FrameAuthenticator(key);
  const opener = new FrameAuthenticator(key);
  const scratch = new Uint8Array(262_144).fill(0xaa); // stale bytes from an "earlier frame"
  const frameBytes = 262_144;
  let frames = 0;
  for (let round = 0; round < 40; round++) {
    for (let i = rng.int(20); i >= 0; i--) {
      const p = rng.int(3) as Priority;
      const m = rng.bytes(rng.chance(0.3) ? 65_536 : rng.chance(0.05) ? rng.int(600_000) : rng.int(400));
      fresh.push(p, m);
      reused.push(p, m);
    }
    for (;;) {
      const a = fresh.nextFrame(frameBytes, TAG_BYTES);
      const b = reused.nextFrame(frameBytes, TAG_BYTES, (size) => scratch.subarray(0, size));
      if (a === null || b === null) {
        assert.equal(a, b);
        break;
      }
      assert.equal(b.buffer, scratch.buffer, "built in the given memory");
      sealFresh.seal(a);
      sealReused.seal(b);
      assert.ok(Buffer.from(a).equals(Buffer.from(b)), `frame ${frames}: same bytes, same tag`);
      assert.ok(opener.open(b), `frame ${frames} opens`);
      frames++;
    }
  }
  assert.ok(frames > 40);
});
