/**
 * FrameDecoder on borrowed frames (the uWS server lends its receive buffer for the duration of one call): the same
 * messages and refusals as on owned frames, every delivered message in memory of its own, in blocks small enough to
 * stay clear of fresh mmaps (framing.ts BorrowedCopier). Frames are built by PeerQueue, the original messages are the
 * oracle; the owned-frame decoder is checked against them in peerQueue.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameDecoder } from "../../../src/net/framing.js";
import { PeerQueue } from "../../../src/net/peerQueue.js";
import type { QueueLimits } from "../../../src/net/peerQueue.js";
import { Priority, SendStatus } from "../../../src/net/transport.js";
import { seededRng } from "../../support/seed.js";

const BIG: QueueLimits = [
  { maxMessages: 1e9, maxBytes: 1e12 },
  { maxMessages: 1e9, maxBytes: 1e12 },
  { maxMessages: 1e9, maxBytes: 1e12 },
];

/** Decodes `frame` as a lent buffer would be: borrowed, then overwritten as soon as decode returns. */
function decodeLent(dec: FrameDecoder, frame: Uint8Array, out: { priority: Priority; payload: Uint8Array }[]): string | undefined {
  const lent = frame.slice();
  const r = dec.decode(lent, (priority, payload) => {
    assert.notEqual(payload.buffer, lent.buffer, "a delivered message is not a view into the lent frame");
    out.push({ priority, payload });
  }, true);
  lent.fill(0xee); // what the library does with its buffer next
  return r;
}

test("a borrowed frame delivers the messages it carries, in memory of their own that outlives the frame", (t) => {
  const rng = seededRng(t);
  for (const frameBytes of [4096, 262_144]) {
    const q = new PeerQueue(BIG);
    const sent: Uint8Array[][] = [[], [], []];
    const dec = new FrameDecoder(1 << 24);
    const got: { priority: Priority; payload: Uint8Array }[] = [];
    const flush = () => {
      for (let f = q.nextFrame(frameBytes); f !== null; f = q.nextFrame(frameBytes)) assert.equal(decodeLent(dec, f, got), undefined);
    };
    for (let i = 0; i < 600; i++) {
      const p = rng.int(3) as Priority;
      // 200 B votes, 64 KiB messages (three to a 256 KiB frame), a few larger than a frame (fragmented), some empty.
      const r = rng.float();
      const size = r < 0.5 ? rng.int(300) : r < 0.8 ? 65_536 : r < 0.85 ? 0 : r < 0.95 ? rng.int(40_000) : rng.int(3 * frameBytes);
      const m = rng.bytes(size);
      assert.equal(q.push(p, m).status, SendStatus.Queued);
      sent[p]!.push(m);
      if (rng.chance(0.2)) flush();
    }
    flush();
    for (const c of [Priority.Consensus, Priority.Sync, Priority.Gossip]) {
      const mine = got.filter((m) => m.priority === c).map((m) => m.payload);
      assert.equal(mine.length, sent[c]!.length, `class ${c}, frames of ${frameBytes}`);
      mine.forEach((m, k) => assert.deepEqual(m, sent[c]![k], `class ${c} message ${k}`));
    }
    // No message sits in a fresh allocation of 128 KiB or more unless it is that large itself (reassembled pieces).
    for (const { payload } of got) assert.ok(payload.buffer.byteLength <= Math.max(64 * 1024, payload.length), `a ${payload.length} B message in a ${payload.buffer.byteLength} B buffer`);
  }
});

test("a borrowed frame is refused exactly as the same frame owned, and delivers the same bytes before the refusal (20,000 mutated frames)", (t) => {
  const rng = seededRng(t);
  const good: Uint8Array[] = [];
  const q = new PeerQueue(BIG);
  for (let i = 0; i < 300; i++) q.push(rng.int(3) as Priority, rng.bytes(rng.chance(0.1) ? 3000 : rng.chance(0.1) ? 40_000 : rng.int(100)));
  for (let f = q.nextFrame(65_536); f !== null; f = q.nextFrame(65_536)) good.push(f);
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    let f = rng.pick(good).slice();
    for (let e = 1 + rng.int(4); e > 0; e--) {
      if (rng.chance(0.2)) f = f.subarray(0, rng.int(f.length + 1));
      else if (f.length > 0) f[rng.int(f.length)] = rng.u32() & 0xff;
    }
    const owned: Uint8Array[] = [];
    const r1 = new FrameDecoder(50_000).decode(f.slice(), (_p, m) => owned.push(m.slice()));
    const lent: { priority: Priority; payload: Uint8Array }[] = [];
    const r2 = decodeLent(new FrameDecoder(50_000), f, lent);
    assert.equal(r2, r1);
    assert.deepEqual(lent.map((m) => m.payload), owned);
    if (r1 !== undefined) refused++;
  }
  assert.ok(refused > 1000);
});
