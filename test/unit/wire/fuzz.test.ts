// Seeded fuzzing of the decoder: random buffers and structure-aware mutations of valid messages must either decode
// or throw WireError — never another exception, never a hang. Whatever decodes must also re-encode, and
// encode(decode(x)) is a fixed point, so the decoder never hands out a value the rest of the node could not send.
// The corpus carries envelope epochs too, and envelopeEpoch (the cheap peek) must agree with decodeEnvelope on every
// input: the same epoch when the envelope decodes, the same error when the peek refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEnvelope, encodeMessage, envelopeEpoch } from "../../../src/wire/codec.js";
import { WireError } from "../../../src/wire/errors.js";
import { MESSAGE_KINDS } from "../../../src/domain/types.js";
import { MAX_UINT53 } from "../../../src/domain/limits.js";
import type { SeededRng } from "../../../src/util/rng.js";
import { seededRng } from "../../support/seed.js";
import { randomMessage } from "../../support/wireSamples.js";
import { bytesEqual, toHex } from "../../../src/util/bytes.js";

const ITERATIONS = 100_000;
const INTERESTING_U32 = [0, 1, 2, 3, 4, 7, 8, 0x10, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff];
const INTERESTING_U16 = [0, 1, 2, 3, 4, 5, 6, 8, 0x7fff, 0x8000, 0xfffe, 0xffff];

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

function mutate(rng: SeededRng, src: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
  let b = src.slice();
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    const at = rng.int(b.length);
    switch (rng.int(9)) {
      case 0:
        b[at] = b[at]! ^ (1 << rng.int(8));
        break;
      case 1:
        b[at] = rng.pick([0, 0xff, 0x7f, 0x80, rng.u32() & 0xff]);
        break;
      case 2: {
        // Offsets, vector lengths and soffsets are 4-byte aligned in honest buffers: hit those more often.
        const o = rng.chance(0.7) ? at & ~3 : at;
        if (o + 4 <= b.length) put32(b, o, rng.chance(0.5) ? rng.pick(INTERESTING_U32) : rng.pick([b.length, b.length - 4, o, -o, rng.int(b.length)]));
        break;
      }
      case 3: {
        const o = rng.chance(0.7) ? at & ~1 : at;
        if (o + 2 <= b.length) {
          const v = rng.pick(INTERESTING_U16);
          b[o] = v;
          b[o + 1] = v >>> 8;
        }
        break;
      }
      case 4:
        b = b.subarray(0, at);
        break;
      case 5: {
        const ext = new Uint8Array(b.length + rng.range(1, 64));
        ext.set(b);
        ext.set(rng.bytes(ext.length - b.length), b.length);
        b = ext;
        break;
      }
      case 6: {
        const other = rng.pick(corpus);
        const from = rng.int(other.length);
        const len = Math.min(rng.range(1, 64), other.length - from, b.length - at);
        b.set(other.subarray(from, from + len), at);
        break;
      }
      case 7: {
        const len = Math.min(rng.range(1, 32), b.length - at);
        b.copyWithin(rng.int(b.length), at, at + len);
        break;
      }
      default: {
        // Point the root somewhere else inside the buffer.
        if (b.length >= 4) put32(b, 0, rng.int(b.length));
        break;
      }
    }
  }
  return b;
}

function randomBuffer(rng: SeededRng): Uint8Array {
  const b = rng.bytes(rng.range(0, 300));
  if (b.length >= 8 && rng.chance(0.8)) {
    // Valid identifier and a root inside the buffer, so decoding gets past the envelope checks.
    b.set([0x51, 0x57, 0x52, 0x31], 4);
    put32(b, 0, rng.int(b.length));
  }
  return b;
}

test(`fuzz: ${ITERATIONS.toLocaleString("en-US")} random and mutated buffers decode or throw WireError, nothing else`, (t) => {
  const rng = seededRng(t);
  const corpus: Uint8Array[] = [];
  const epochs = [0, 1, 0xffffffff, 2 ** 32 + 5, MAX_UINT53];
  for (const kind of MESSAGE_KINDS) {
    for (let i = 0; i < 12; i++) corpus.push(encodeMessage(randomMessage(rng, kind), i < 4 ? 0 : rng.pick(epochs)));
  }
  const codes = new Map<string, number>();
  let accepted = 0;
  let peeked = 0;
  let epochRefusals = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = rng.chance(0.15) ? randomBuffer(rng) : mutate(rng, rng.pick(corpus), corpus);
    let peek: number | WireError;
    try {
      peek = envelopeEpoch(input);
      peeked++;
    } catch (e) {
      if (!(e instanceof WireError)) assert.fail(`iteration ${i}: envelopeEpoch threw ${String(e)} for input ${toHex(input)}`);
      peek = e;
      if (e.payload.field === "envelope.epoch") epochRefusals++;
    }
    let env;
    try {
      env = decodeEnvelope(input);
    } catch (e) {
      if (!(e instanceof WireError)) assert.fail(`iteration ${i}: ${String(e)} for input ${toHex(input)}`);
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      // The peek checks a prefix of what the decoder checks: where it refuses, the decoder refuses the same way, and
      // where the decoder refuses in that prefix (the envelope table or its epoch), so does the peek.
      const inPrefix = e.payload.field === "envelope" || e.payload.field === "envelope.epoch";
      if (peek instanceof WireError || inPrefix) {
        assert.ok(peek instanceof WireError, `iteration ${i}: envelopeEpoch accepted what decodeEnvelope refused at ${e.payload.field}: ${toHex(input)}`);
        assert.deepStrictEqual([e.code, e.payload], [peek.code, peek.payload], `iteration ${i}: ${toHex(input)}`);
      }
      continue;
    }
    accepted++;
    assert.equal(peek, env.epoch, `iteration ${i}: envelopeEpoch disagrees with decodeEnvelope for input ${toHex(input)}`);
    let again: Uint8Array;
    try {
      again = encodeMessage(env.message, env.epoch);
    } catch (e) {
      assert.fail(`iteration ${i}: decoded value does not re-encode (${String(e)}) for input ${toHex(input)}`);
    }
    const back = decodeEnvelope(again);
    assert.ok(bytesEqual(encodeMessage(back.message, back.epoch), again), `iteration ${i}: re-encoding is not stable for input ${toHex(input)}`);
  }
  t.diagnostic(`envelopeEpoch answered ${peeked}, refused ${epochRefusals} at envelope.epoch; accepted ${accepted}, refused ${ITERATIONS - accepted}: ${[...codes].map(([c, n]) => `${c} ${n}`).join(", ")}`);
  // The fuzzer must reach deep into the decoder, not only bounce off the envelope checks.
  for (const code of ["TOO_SHORT", "BAD_IDENTIFIER", "OUT_OF_BOUNDS", "BAD_VTABLE", "UNKNOWN_MESSAGE", "MISSING_FIELD", "BAD_LENGTH", "OUT_OF_RANGE", "BAD_TX_LAYOUT"]) {
    assert.ok((codes.get(code) ?? 0) > 0, `no input was refused with ${code}`);
  }
  assert.ok(epochRefusals > 0, "no input reached the epoch field's checks");
  assert.ok(accepted > ITERATIONS / 20, `only ${accepted} inputs decoded`);
});
