import { test } from "node:test";
import assert from "node:assert/strict";
import { PublicKey, Signature, verify as blstVerify } from "@chainsafe/blst";
import { handshakeSigningMessage, HandshakeSession, LINK_VERSION, NonceCache } from "../../../src/net/handshake.js";
import type { HandshakeContext, HandshakeStep, LinkIdentity } from "../../../src/net/handshake.js";
import { decodeHandshake, encodeHandshake } from "../../../src/net/handshakeCodec.js";
import type { HandshakeMessage } from "../../../src/net/handshakeCodec.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";
import { encodeMessage } from "../../../src/wire/codec.js";
import { WireError } from "../../../src/wire/errors.js";
import { seededRng } from "../../support/seed.js";
import { blstVerifyFn, CHAIN_ID, testIdentity } from "./support.js";

const N = 4;
const ids = Array.from({ length: N }, (_, i) => testIdentity(i));

function ctx(self: number, over: Partial<HandshakeContext> = {}): HandshakeContext {
  let counter = self * 1000;
  return {
    self,
    chainId: CHAIN_ID,
    identity: ids[self]!,
    verify: blstVerifyFn,
    indexOf: (pk) => {
      const i = ids.findIndex((id) => toHex(id.publicKey) === toHex(pk));
      return i < 0 ? undefined : i;
    },
    dialsUs: (peer) => peer < self,
    nonces: new NonceCache(),
    // Distinct, deterministic nonces for the test (production uses node:crypto).
    randomBytes: (n) => new Uint8Array(n).fill(++counter & 0xff).map((b, i) => (b + i * 7 + (counter >> 8)) & 0xff),
    ...over,
  };
}

function sent(steps: HandshakeStep[]): Uint8Array {
  const s = steps.find((x) => x.kind === "send");
  assert.ok(s !== undefined && s.kind === "send", `expected a send step, got ${JSON.stringify(steps.map((x) => x.kind))}`);
  return s.bytes;
}

function refusal(steps: HandshakeStep[]): string | undefined {
  const r = steps.find((x) => x.kind === "refuse");
  return r?.kind === "refuse" ? r.code : undefined;
}

/** Runs a full exchange between a dialer session and a listener session; returns both outcomes. */
async function exchange(d: HandshakeSession, l: HandshakeSession): Promise<[HandshakeStep[], HandshakeStep[]]> {
  const cd = d.start();
  const cl = l.start();
  const pd = sent(await d.receive(cl));
  const pl = sent(await l.receive(cd));
  return [await d.receive(pl), await l.receive(pd)];
}

test("handshake: dialer and listener authenticate each other (sync and async signer/verifier)", async () => {
  const [rd, rl] = await exchange(new HandshakeSession(ctx(0), "dialer", 2), new HandshakeSession(ctx(2), "listener"));
  assert.deepEqual(rd, [{ kind: "done", peer: 2 }]);
  assert.deepEqual(rl, [{ kind: "done", peer: 0 }]);
  const asyncId = (i: number): LinkIdentity => ({ publicKey: ids[i]!.publicKey, sign: async (m) => ids[i]!.sign(m) });
  const asyncVerify = async (pk: Uint8Array, m: Uint8Array, s: Uint8Array) => blstVerifyFn(pk, m, s);
  const [ad, al] = await exchange(
    new HandshakeSession(ctx(1, { identity: asyncId(1), verify: asyncVerify }), "dialer", 3),
    new HandshakeSession(ctx(3, { identity: asyncId(3), verify: asyncVerify }), "listener"),
  );
  assert.deepEqual([ad, al], [[{ kind: "done", peer: 3 }], [{ kind: "done", peer: 1 }]]);
});

test("handshake: the signed bytes are DOMAIN ‖ len ‖ chainId ‖ role ‖ dialer nonce ‖ listener nonce ‖ dialer key ‖ listener key", async () => {
  const nd = new Uint8Array(32).fill(0xd1);
  const nl = new Uint8Array(32).fill(0x11);
  const kd = ids[0]!.publicKey;
  const kl = ids[1]!.publicKey;
  const expected = Buffer.concat([Buffer.from("QUIRE-LINK-HANDSHAKE-V1", "ascii"), Buffer.from([CHAIN_ID.length]), CHAIN_ID, Buffer.from("D"), nd, nl, kd, kl]);
  assert.deepEqual(Buffer.from(handshakeSigningMessage(CHAIN_ID, "dialer", nd, nl, kd, kl)), expected);
  const asListener = handshakeSigningMessage(CHAIN_ID, "listener", nd, nl, kd, kl);
  assert.equal(asListener[23 + 1 + CHAIN_ID.length], "L".charCodeAt(0));
  // The proof a dialer sends verifies, with blst, over exactly these bytes.
  const d = new HandshakeSession(ctx(0, { randomBytes: () => nd.slice() }), "dialer", 1);
  d.start();
  const challengeL = encodeHandshake({ version: LINK_VERSION, chainId: CHAIN_ID, publicKey: kl, nonce: nl });
  const proof = decodeHandshake(sent(await d.receive(challengeL)))!;
  assert.deepEqual(proof.peerNonce, nl);
  assert.ok(blstVerify(expected, PublicKey.fromBytes(kd), Signature.fromBytes(proof.signature!)));
});

test("handshake refusals on the challenge: version, chain, unknown key, own key, direction, unexpected key", async () => {
  const challenge = (from: number, over: Partial<HandshakeMessage> = {}) =>
    encodeHandshake({ version: LINK_VERSION, chainId: CHAIN_ID, publicKey: ids[from]!.publicKey, nonce: new Uint8Array(32).fill(from + 50), ...over });
  const listener2 = () => new HandshakeSession(ctx(2), "listener");
  assert.equal(refusal(await listener2().receive(challenge(0, { version: LINK_VERSION + 1 }))), "BAD_VERSION");
  assert.equal(refusal(await listener2().receive(challenge(0, { chainId: utf8("other-chain") }))), "WRONG_CHAIN");
  assert.equal(refusal(await listener2().receive(challenge(0, { publicKey: testIdentity(9).publicKey }))), "UNKNOWN_KEY");
  assert.equal(refusal(await listener2().receive(challenge(2))), "SELF_CONNECTION");
  assert.equal(refusal(await listener2().receive(challenge(3))), "WRONG_DIRECTION"); // 3 > 2: 2 dials 3, never the reverse
  assert.equal(refusal(await new HandshakeSession(ctx(0), "dialer", 1).receive(challenge(3))), "UNKNOWN_KEY"); // dialled 1, found 3
  assert.equal(refusal(await listener2().receive(new Uint8Array([1, 2, 3]))), "MALFORMED_HANDSHAKE");
});

test("handshake refusals on the proof: nonce mismatch, wrong key, garbage signature, changed challenge, extra messages", async () => {
  const run = async (tamper: (m: HandshakeMessage) => HandshakeMessage | Uint8Array): Promise<string | undefined> => {
    const d = new HandshakeSession(ctx(0), "dialer", 1);
    const l = new HandshakeSession(ctx(1), "listener");
    const cd = d.start();
    const cl = l.start();
    const pd = decodeHandshake(sent(await d.receive(cl)))!;
    sent(await l.receive(cd));
    const t = tamper({ ...pd });
    return refusal(await l.receive(t instanceof Uint8Array ? t : encodeHandshake(t)));
  };
  assert.equal(await run((m) => m), undefined);
  assert.equal(await run((m) => ({ ...m, peerNonce: new Uint8Array(32) })), "NONCE_MISMATCH");
  assert.equal(await run((m) => ({ ...m, signature: ids[3]!.secretKey.sign(utf8("anything")).toBytes() })), "BAD_SIGNATURE");
  assert.equal(await run((m) => ({ ...m, signature: new Uint8Array(96).fill(0xff) })), "BAD_SIGNATURE"); // not a curve point: false, no throw
  assert.equal(await run((m) => ({ ...m, nonce: new Uint8Array(32).fill(1) })), "MALFORMED_HANDSHAKE");
  assert.equal(await run((m) => ({ version: m.version, chainId: m.chainId, publicKey: m.publicKey, nonce: m.nonce })), "MALFORMED_HANDSHAKE"); // a second challenge
  // A proof signed for another chain id (the dialer's session thinks it is on chain X).
  const d = new HandshakeSession(ctx(0, { chainId: utf8("X") }), "dialer", 1);
  const l = new HandshakeSession(ctx(1), "listener");
  d.start();
  const cl = l.start();
  const cdOnOurChain = encodeHandshake({ version: LINK_VERSION, chainId: CHAIN_ID, publicKey: ids[0]!.publicKey, nonce: new Uint8Array(32).fill(9) });
  sent(await l.receive(cdOnOurChain));
  assert.equal(refusal(await d.receive(cl)), "WRONG_CHAIN");
  // Proof before any challenge; a message after completion.
  const fresh = new HandshakeSession(ctx(1), "listener");
  const fakeProof = encodeHandshake({ version: LINK_VERSION, chainId: CHAIN_ID, publicKey: ids[0]!.publicKey, nonce: new Uint8Array(32), peerNonce: new Uint8Array(32), signature: new Uint8Array(96) });
  assert.equal(refusal(await fresh.receive(fakeProof)), "MALFORMED_HANDSHAKE");
  const a = new HandshakeSession(ctx(0), "dialer", 1);
  const b = new HandshakeSession(ctx(1), "listener");
  await exchange(a, b);
  assert.equal(refusal(await b.receive(fakeProof)), "MALFORMED_HANDSHAKE");
});

test("replayed handshakes are refused: nonce reuse is caught by the cache, and an old proof never verifies anyway", async () => {
  const listenerCtx = ctx(1);
  const d = new HandshakeSession(ctx(0), "dialer", 1);
  const l = new HandshakeSession(listenerCtx, "listener");
  const cd = d.start();
  const cl = l.start();
  const pd = sent(await d.receive(cl));
  sent(await l.receive(cd));
  assert.deepEqual(await l.receive(pd), [{ kind: "done", peer: 0 }]);
  // An eavesdropper replays the dialer's recorded challenge and proof to the same listener…
  const replay = new HandshakeSession(listenerCtx, "listener");
  replay.start();
  assert.equal(refusal(await replay.receive(cd)), "REPLAYED_NONCE");
  // …or to the listener after a restart (empty nonce cache): the old proof covers the old listener nonce.
  // As recorded, its peerNonce is the old one; patched to the new nonce, the old signature does not cover it.
  const restarted = () => {
    const s = new HandshakeSession(ctx(1, { randomBytes: () => new Uint8Array(32).fill(0x77) }), "listener");
    s.start();
    return s;
  };
  const r1 = restarted();
  sent(await r1.receive(cd));
  assert.equal(refusal(await r1.receive(pd)), "NONCE_MISMATCH");
  const r2 = restarted();
  sent(await r2.receive(cd));
  assert.equal(refusal(await r2.receive(encodeHandshake({ ...decodeHandshake(pd)!, peerNonce: new Uint8Array(32).fill(0x77) }))), "BAD_SIGNATURE");
  // Our own nonce reflected back as a peer's nonce is a replay too.
  const own = new HandshakeSession(ctx(2, { randomBytes: () => new Uint8Array(32).fill(0x5a) }), "listener");
  own.start();
  const reflected = encodeHandshake({ version: LINK_VERSION, chainId: CHAIN_ID, publicKey: ids[0]!.publicKey, nonce: new Uint8Array(32).fill(0x5a) });
  assert.equal(refusal(await own.receive(reflected)), "REPLAYED_NONCE");
});

test("NonceCache forgets the oldest beyond its capacity", () => {
  const c = new NonceCache(3);
  const n = (i: number) => new Uint8Array(32).fill(i);
  assert.ok(c.add(n(1)) && c.add(n(2)) && c.add(n(3)));
  assert.equal(c.add(n(2)), false);
  assert.ok(c.add(n(4))); // evicts 1
  assert.ok(c.add(n(1)));
  assert.equal(c.add(n(4)), false);
});

test("handshake codec: round trip, truncations refused, other kinds and half proofs refused, random bytes never throw", (t) => {
  const rng = seededRng(t);
  const msgs: HandshakeMessage[] = [
    { version: 1, chainId: CHAIN_ID, publicKey: ids[0]!.publicKey, nonce: rng.bytes(32) },
    { version: 0xffffffff, chainId: rng.bytes(64), publicKey: rng.bytes(48), nonce: rng.bytes(32), peerNonce: rng.bytes(32), signature: rng.bytes(96) },
  ];
  for (const m of msgs) {
    const b = encodeHandshake(m);
    assert.deepEqual(decodeHandshake(b), m);
    // A truncation either loses referenced bytes (refused) or only trailing alignment padding (same message).
    let refused = 0;
    for (let cut = 0; cut < b.length; cut++) {
      const r = decodeHandshake(b.subarray(0, cut));
      if (r === undefined) refused++;
      else assert.deepEqual(r, m, `truncated at ${cut}`);
    }
    assert.ok(refused >= b.length - 8, `${refused} of ${b.length} truncations refused`);
  }
  // The schema's sizes are enforced on encode (WireError) — a node never emits a handshake its peers would refuse.
  assert.throws(() => encodeHandshake({ ...msgs[0]!, chainId: new Uint8Array(65) }), WireError);
  assert.throws(() => encodeHandshake({ ...msgs[0]!, nonce: new Uint8Array(31) }), WireError);
  assert.throws(() => encodeHandshake({ ...msgs[0]!, publicKey: new Uint8Array(47) }), WireError);
  // Another message kind, and a proof with a signature but no peer nonce, are not handshakes.
  assert.equal(decodeHandshake(encodeMessage({ kind: "hello", body: { chainId: CHAIN_ID, committedHeight: 1, committedHash: new Uint8Array(32) } })), undefined);
  const half = encodeMessage({ kind: "handshake", body: { version: 1, chainId: CHAIN_ID, publicKey: rng.bytes(48), nonce: rng.bytes(32), peerNonce: null, signature: rng.bytes(96) } });
  assert.equal(decodeHandshake(half), undefined);
  for (let i = 0; i < 20_000; i++) {
    const b = rng.chance(0.5) ? rng.bytes(rng.int(250)) : encodeHandshake(rng.pick(msgs)).map((x) => (rng.chance(0.02) ? rng.u32() & 0xff : x));
    const m = decodeHandshake(b);
    if (m !== undefined) assert.deepEqual(decodeHandshake(encodeHandshake(m)), m);
  }
});
