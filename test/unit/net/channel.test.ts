/**
 * The authenticated channel (src/net/channel.ts): key agreement, per-direction keys, and the frame tag that refuses
 * tampered, replayed, reordered and dropped frames. The tag is checked against an independent recomputation: the
 * RFC 8439 §2.8 construction rebuilt here from the ChaCha20 keystream (node's plain "chacha20" cipher) and a BigInt
 * Poly1305, which is itself checked against the RFC 8439 §2.5.2 vector.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createSecretKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { channelTag, deriveChannelKeys, FrameAuthenticator, generateEphemeral, TAG_BYTES } from "../../../src/net/channel.js";
import type { ChannelKeys } from "../../../src/net/channel.js";
import { fromHex, toHex, utf8 } from "../../../src/util/bytes.js";
import { seededRng } from "../../support/seed.js";

/** Poly1305 (RFC 8439 §2.5) with BigInt: r clamped, 16-byte blocks with a 1 appended, mod 2^130 - 5, plus s. */
function poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const le = (b: Uint8Array): bigint => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = le(key.subarray(16, 32));
  const p = (1n << 130n) - 5n;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, Math.min(i + 16, msg.length));
    acc = ((acc + le(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  let tag = (acc + s) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++, tag >>= 8n) out[i] = Number(tag & 0xffn);
  return out;
}

/** The RFC 8439 §2.8 AEAD tag for an empty plaintext, built from its parts. */
function referenceTag(key: Uint8Array, counter: number, aad: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(counter), true);
  // One-time key: the first 32 bytes of ChaCha20 block 0 (node's "chacha20" IV = block counter u32le ‖ nonce).
  const iv = new Uint8Array(16);
  iv.set(nonce, 4);
  const otk = createCipheriv("chacha20", key, iv).update(new Uint8Array(32));
  const padded = Math.ceil(aad.length / 16) * 16;
  const macData = new Uint8Array(padded + 16);
  macData.set(aad);
  new DataView(macData.buffer).setBigUint64(padded, BigInt(aad.length), true); // then le64(ciphertext length) = 0
  return poly1305(otk, macData);
}

function pair(): { d: ChannelKeys; l: ChannelKeys } {
  const ed = generateEphemeral();
  const el = generateEphemeral();
  const t = utf8("transcript");
  const d = deriveChannelKeys(ed.privateKey, el.publicKey, t, true);
  const l = deriveChannelKeys(el.privateKey, ed.publicKey, t, false);
  assert.ok(d !== undefined && l !== undefined);
  return { d, l };
}

const hex = (k: KeyObject) => toHex(k.export());

function sealed(a: FrameAuthenticator, body: Uint8Array): Uint8Array {
  const f = new Uint8Array(body.length + TAG_BYTES);
  f.set(body);
  a.seal(f);
  return f;
}

test("poly1305 reference: RFC 8439 §2.5.2 vector", () => {
  const key = fromHex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
  assert.equal(toHex(poly1305(key, utf8("Cryptographic Forum Research Group"))), "a8061dc1305136c6c22b8baf0c0127a9");
});

test("channel tag = RFC 8439 ChaCha20-Poly1305 tag over the frame as AAD, empty plaintext, nonce 0^32 ‖ counter u64le", (t) => {
  const rng = seededRng(t);
  for (const counter of [0, 1, 2, 0xffff_ffff, 0x1_0000_0000, 2 ** 40 + 7]) {
    for (const len of [0, 1, 15, 16, 17, 200, 4096 + 3]) {
      const key = rng.bytes(32);
      const aad = rng.bytes(len);
      assert.equal(toHex(channelTag(createSecretKey(key), counter, aad)), toHex(referenceTag(key, counter, aad)), `counter ${counter} len ${len}`);
    }
  }
});

test("channel keys: both sides agree, one key per direction, bound to the transcript and to fresh ephemeral keys", () => {
  const ed = generateEphemeral();
  const el = generateEphemeral();
  const d = deriveChannelKeys(ed.privateKey, el.publicKey, utf8("T"), true)!;
  const l = deriveChannelKeys(el.privateKey, ed.publicKey, utf8("T"), false)!;
  assert.equal(hex(d.send), hex(l.receive));
  assert.equal(hex(d.receive), hex(l.send));
  assert.notEqual(hex(d.send), hex(d.receive));
  // Another transcript (any handshake field differs) gives other keys.
  assert.notEqual(hex(deriveChannelKeys(ed.privateKey, el.publicKey, utf8("T'"), true)!.send), hex(d.send));
  // A frame sealed by the dialer never opens as a listener-to-dialer frame (no reflection), even at the same counter.
  const f = sealed(new FrameAuthenticator(d.send), utf8("\x02hello"));
  assert.equal(new FrameAuthenticator(d.receive).open(f), false);
  assert.equal(new FrameAuthenticator(l.receive).open(f), true);
  // Unusable peer keys give no channel (a typed refusal upstream), never an exception: wrong length, small order.
  assert.equal(deriveChannelKeys(ed.privateKey, new Uint8Array(31), utf8("T"), true), undefined);
  assert.equal(deriveChannelKeys(ed.privateKey, new Uint8Array(32), utf8("T"), true), undefined); // the point 0: all-zero secret
  const one = new Uint8Array(32);
  one[0] = 1;
  assert.equal(deriveChannelKeys(ed.privateKey, one, utf8("T"), true), undefined); // order-1 point
});

test("frames in order open; a tampered byte, a replay, a reordering or a drop fails the next frame", (t) => {
  const rng = seededRng(t);
  const frames = Array.from({ length: 4 }, () => rng.bytes(rng.range(1, 300)));
  const run = (deliver: (sent: Uint8Array[]) => Uint8Array[]): boolean[] => {
    const { d, l } = pair();
    const tx = new FrameAuthenticator(d.send);
    const rx = new FrameAuthenticator(l.receive);
    const sent = frames.map((b) => sealed(tx, b));
    const out: boolean[] = [];
    for (const f of deliver(sent)) {
      const ok = rx.open(f);
      out.push(ok);
      if (!ok) break; // the link closes at the first failure
    }
    return out;
  };
  assert.deepEqual(run((s) => s), [true, true, true, true]);
  // Every single-bit flip anywhere in the frame (body or tag) is caught.
  for (let i = 0; i < frames[0]!.length + TAG_BYTES; i++) {
    assert.deepEqual(
      run(([a, ...rest]) => {
        const x = a!.slice();
        x[i]! ^= 1 << rng.int(8);
        return [x, ...rest];
      }),
      [false],
      `flip at ${i}`,
    );
  }
  assert.deepEqual(run(([a, b]) => [a!, b!, b!]), [true, true, false], "replay");
  assert.deepEqual(run(([a, b, c]) => [a!, c!, b!]), [true, false], "reorder");
  assert.deepEqual(run(([a, , c]) => [a!, c!]), [true, false], "drop");
  assert.deepEqual(run(([a]) => [a!.subarray(0, a!.length - 1)]), [false], "truncated");
  assert.deepEqual(run(([a]) => [a!.subarray(0, TAG_BYTES - 1)]), [false], "shorter than a tag");
  const forged = new Uint8Array(frames[0]!.length + TAG_BYTES);
  forged.set(frames[0]!);
  assert.deepEqual(run(() => [forged]), [false], "untagged");
});
