import { test } from "node:test";
import assert from "node:assert/strict";
import { PublicKey, Signature, verify as blstVerify } from "@chainsafe/blst";
import type { KeyObject } from "node:crypto";
import { generateEphemeral } from "../../../src/net/channel.js";
import type { ChannelKeys } from "../../../src/net/channel.js";
import { handshakeSigningMessage, handshakeTranscript, HandshakeSession, LINK_VERSION, NonceCache } from "../../../src/net/handshake.js";
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

function done(steps: HandshakeStep[]): { peer: number; keys: ChannelKeys } {
  const d = steps.find((x) => x.kind === "done");
  assert.ok(d !== undefined && d.kind === "done", `expected done, got ${JSON.stringify(steps.map((x) => (x.kind === "refuse" ? x.code : x.kind)))}`);
  return d;
}

const keyBytes = (k: KeyObject) => toHex(k.export());

/** Runs a full exchange: listener challenge → dialer proof → listener proof. Returns both final steps. */
async function exchange(d: HandshakeSession, l: HandshakeSession): Promise<[HandshakeStep[], HandshakeStep[]]> {
  assert.equal(d.start(), undefined, "the dialer sends nothing before the listener's challenge");
  const pd = sent(await d.receive(l.start()!));
  const rl = await l.receive(pd);
  return [await d.receive(sent(rl)), rl];
}

/** A listener's challenge from validator `from` with a fixed nonce and a fresh ephemeral key. */
const challengeFrom = (from: number, over: Partial<HandshakeMessage> = {}): HandshakeMessage => ({
  version: LINK_VERSION,
  chainId: CHAIN_ID,
  publicKey: ids[from]!.publicKey,
  nonce: new Uint8Array(32).fill(from + 50),
  ephemeralKey: generateEphemeral().publicKey,
  ...over,
});

test("handshake: dialer and listener authenticate each other and agree on one key per direction (sync and async signer/verifier)", async () => {
  const [rd, rl] = await exchange(new HandshakeSession(ctx(0), "dialer", 2), new HandshakeSession(ctx(2), "listener"));
  const d = done(rd);
  const l = done(rl);
  assert.equal(d.peer, 2);
  assert.equal(l.peer, 0);
  assert.equal(keyBytes(d.keys.send), keyBytes(l.keys.receive));
  assert.equal(keyBytes(d.keys.receive), keyBytes(l.keys.send));
  assert.notEqual(keyBytes(d.keys.send), keyBytes(d.keys.receive), "the two directions' keys differ");
  const asyncId = (i: number): LinkIdentity => ({ publicKey: ids[i]!.publicKey, sign: async (m) => ids[i]!.sign(m) });
  const asyncVerify = async (pk: Uint8Array, m: Uint8Array, s: Uint8Array) => blstVerifyFn(pk, m, s);
  const [ad, al] = await exchange(
    new HandshakeSession(ctx(1, { identity: asyncId(1), verify: asyncVerify }), "dialer", 3),
    new HandshakeSession(ctx(3, { identity: asyncId(3), verify: asyncVerify }), "listener"),
  );
  assert.deepEqual([done(ad).peer, done(al).peer], [3, 1]);
  // Another connection between the same validators gets other keys (fresh ephemeral keys and nonces).
  const [rd2] = await exchange(new HandshakeSession(ctx(0), "dialer", 2), new HandshakeSession(ctx(2), "listener"));
  assert.notEqual(keyBytes(done(rd2).keys.send), keyBytes(d.keys.send));
});

test("handshake: the signed bytes are DOMAIN-V2 ‖ role ‖ len ‖ chainId ‖ nonces ‖ BLS keys ‖ ephemeral keys (dialer first)", async () => {
  const nd = new Uint8Array(32).fill(0xd1);
  const nl = new Uint8Array(32).fill(0x11);
  const kd = ids[0]!.publicKey;
  const kl = ids[1]!.publicKey;
  const challengeL = challengeFrom(1, { nonce: nl });
  const d = new HandshakeSession(ctx(0, { randomBytes: () => nd.slice() }), "dialer", 1);
  const proof = decodeHandshake(sent(await d.receive(encodeHandshake(challengeL))))!;
  assert.deepEqual(proof.peerNonce, nl);
  assert.equal(proof.ephemeralKey.length, 32);
  const t = Buffer.concat([Buffer.from([CHAIN_ID.length]), CHAIN_ID, nd, nl, kd, kl, proof.ephemeralKey, challengeL.ephemeralKey]);
  assert.deepEqual(Buffer.from(handshakeTranscript(CHAIN_ID, nd, nl, kd, kl, proof.ephemeralKey, challengeL.ephemeralKey)), t);
  const expected = Buffer.concat([Buffer.from("QUIRE-LINK-HANDSHAKE-V2", "ascii"), Buffer.from("D"), t]);
  assert.deepEqual(Buffer.from(handshakeSigningMessage("dialer", t)), expected);
  assert.equal(handshakeSigningMessage("listener", t)[23], "L".charCodeAt(0));
  // The dialer's proof verifies, with blst directly, over exactly these bytes.
  assert.ok(blstVerify(expected, PublicKey.fromBytes(kd), Signature.fromBytes(proof.signature!)));
});

test("the listener signs only after it verified a valid dialer proof; its challenge costs no signature", async () => {
  const log: string[] = [];
  const listenerCtx = (): HandshakeContext =>
    ctx(1, {
      identity: { publicKey: ids[1]!.publicKey, sign: (m) => (log.push("sign"), ids[1]!.sign(m)) },
      verify: (pk, m, sig) => {
        const ok = blstVerifyFn(pk, m, sig);
        log.push(`verify:${ok}`);
        return ok;
      },
    });
  // Dialer proofs that must all be refused without a signature from the listener.
  const bad: [string, (p: HandshakeMessage) => HandshakeMessage][] = [
    ["BAD_SIGNATURE", (p) => ({ ...p, signature: ids[3]!.secretKey.sign(utf8("anything")).toBytes() })],
    ["BAD_SIGNATURE", (p) => ({ ...p, ephemeralKey: generateEphemeral().publicKey })], // a relay swaps the dialer's ephemeral key
    ["NONCE_MISMATCH", (p) => ({ ...p, peerNonce: new Uint8Array(32) })],
    ["UNKNOWN_KEY", (p) => ({ ...p, publicKey: testIdentity(9).publicKey })],
  ];
  for (const [code, tamper] of bad) {
    const l = new HandshakeSession(listenerCtx(), "listener");
    const d = new HandshakeSession(ctx(0), "dialer", 1);
    const pd = decodeHandshake(sent(await d.receive(l.start()!)))!;
    assert.equal(refusal(await l.receive(encodeHandshake(tamper(pd)))), code);
  }
  assert.ok(!log.includes("sign"), `no signature for a bad proof: ${log.join(",")}`);
  // A valid proof: verified first, then signed.
  log.length = 0;
  const l = new HandshakeSession(listenerCtx(), "listener");
  const d = new HandshakeSession(ctx(0), "dialer", 1);
  const challenge = l.start()!;
  assert.deepEqual(log, [], "the challenge is not signed");
  done(await l.receive(sent(await d.receive(challenge))));
  assert.deepEqual(log, ["verify:true", "sign"]);
});

test("handshake refusals on the dialer's proof at the listener: version, chain, unknown key, own key, direction, missing ephemeral key", async () => {
  const proofFrom = async (from: number, over: Partial<HandshakeMessage> = {}): Promise<[HandshakeSession, Uint8Array]> => {
    const l = new HandshakeSession(ctx(2), "listener");
    const c = decodeHandshake(l.start()!)!;
    return [l, encodeHandshake({ ...challengeFrom(from), peerNonce: c.nonce, signature: new Uint8Array(96), ...over })];
  };
  const refusedWith = async (from: number, over: Partial<HandshakeMessage> = {}) => {
    const [l, p] = await proofFrom(from, over);
    return refusal(await l.receive(p));
  };
  assert.equal(await refusedWith(0, { version: LINK_VERSION + 1 }), "BAD_VERSION");
  assert.equal(await refusedWith(0, { chainId: utf8("other-chain") }), "WRONG_CHAIN");
  assert.equal(await refusedWith(0, { publicKey: testIdentity(9).publicKey }), "UNKNOWN_KEY");
  assert.equal(await refusedWith(2), "SELF_CONNECTION");
  assert.equal(await refusedWith(3), "WRONG_DIRECTION"); // 3 > 2: 2 dials 3, never the reverse
  assert.equal(await refusedWith(0), "BAD_SIGNATURE");
  // A challenge (no signature) sent to a listener, and garbage.
  const l = new HandshakeSession(ctx(2), "listener");
  l.start();
  assert.equal(refusal(await l.receive(encodeHandshake(challengeFrom(0)))), "MALFORMED_HANDSHAKE");
  assert.equal(refusal(await new HandshakeSession(ctx(2), "listener").receive(new Uint8Array([1, 2, 3]))), "MALFORMED_HANDSHAKE");
  // A V1 peer's message (no ephemeral key) is not a handshake of this version.
  const v1 = encodeMessage({ kind: "handshake", body: { version: LINK_VERSION, chainId: CHAIN_ID, publicKey: ids[0]!.publicKey, nonce: new Uint8Array(32), peerNonce: new Uint8Array(32), signature: new Uint8Array(96), ephemeralKey: null } });
  assert.equal(refusal(await new HandshakeSession(ctx(2), "listener").receive(v1)), "MALFORMED_HANDSHAKE");
});

test("handshake refusals at the dialer: unexpected key, proof before challenge, changed challenge, nonce mismatch, bad signature, extra messages", async () => {
  assert.equal(refusal(await new HandshakeSession(ctx(0), "dialer", 1).receive(encodeHandshake(challengeFrom(3)))), "UNKNOWN_KEY"); // dialled 1, found 3
  const fakeProof = encodeHandshake({ ...challengeFrom(1), peerNonce: new Uint8Array(32), signature: new Uint8Array(96) });
  assert.equal(refusal(await new HandshakeSession(ctx(0), "dialer", 1).receive(fakeProof)), "MALFORMED_HANDSHAKE");
  const run = async (tamper: (m: HandshakeMessage) => HandshakeMessage): Promise<string | undefined> => {
    const d = new HandshakeSession(ctx(0), "dialer", 1);
    const l = new HandshakeSession(ctx(1), "listener");
    const pd = sent(await d.receive(l.start()!));
    const pl = decodeHandshake(sent(await l.receive(pd)))!;
    return refusal(await d.receive(encodeHandshake(tamper({ ...pl }))));
  };
  assert.equal(await run((m) => m), undefined);
  assert.equal(await run((m) => ({ ...m, peerNonce: new Uint8Array(32) })), "NONCE_MISMATCH");
  assert.equal(await run((m) => ({ ...m, signature: ids[3]!.secretKey.sign(utf8("anything")).toBytes() })), "BAD_SIGNATURE");
  assert.equal(await run((m) => ({ ...m, signature: new Uint8Array(96).fill(0xff) })), "BAD_SIGNATURE"); // not a curve point: false, no throw
  assert.equal(await run((m) => ({ ...m, nonce: new Uint8Array(32).fill(1) })), "MALFORMED_HANDSHAKE");
  assert.equal(await run((m) => ({ ...m, ephemeralKey: generateEphemeral().publicKey })), "MALFORMED_HANDSHAKE"); // not the challenge's key
  // A relay that swaps the listener's ephemeral key in the challenge (to sit in the middle of the channel keys):
  // the dialer signs the relay's key, which the listener's transcript does not contain.
  const d = new HandshakeSession(ctx(0), "dialer", 1);
  const l = new HandshakeSession(ctx(1), "listener");
  const swapped = encodeHandshake({ ...decodeHandshake(l.start()!)!, ephemeralKey: generateEphemeral().publicKey });
  assert.equal(refusal(await l.receive(sent(await d.receive(swapped)))), "BAD_SIGNATURE");
  // A message after completion.
  const a = new HandshakeSession(ctx(0), "dialer", 1);
  const b = new HandshakeSession(ctx(1), "listener");
  await exchange(a, b);
  assert.equal(refusal(await b.receive(fakeProof)), "MALFORMED_HANDSHAKE");
  assert.equal(refusal(await a.receive(fakeProof)), "MALFORMED_HANDSHAKE");
});

test("replayed handshakes are refused: nonce reuse is caught by the cache, and an old proof never verifies anyway", async () => {
  const listenerCtx = ctx(1);
  const d = new HandshakeSession(ctx(0), "dialer", 1);
  const l = new HandshakeSession(listenerCtx, "listener");
  const pd = sent(await d.receive(l.start()!));
  done(await l.receive(pd));
  // An eavesdropper replays the dialer's recorded proof to the same listener…
  const replay = new HandshakeSession(listenerCtx, "listener");
  replay.start();
  assert.equal(refusal(await replay.receive(pd)), "REPLAYED_NONCE");
  // …or to the listener after a restart (empty nonce cache): the old proof covers the old listener nonce.
  const restarted = () => {
    const s = new HandshakeSession(ctx(1, { randomBytes: () => new Uint8Array(32).fill(0x77) }), "listener");
    s.start();
    return s;
  };
  assert.equal(refusal(await restarted().receive(pd)), "NONCE_MISMATCH");
  // Patched to the new nonce, the old signature does not cover it.
  assert.equal(refusal(await restarted().receive(encodeHandshake({ ...decodeHandshake(pd)!, peerNonce: new Uint8Array(32).fill(0x77) }))), "BAD_SIGNATURE");
  // A listener's own nonce reflected back as the dialer's is a replay too.
  const own = new HandshakeSession(ctx(2, { randomBytes: () => new Uint8Array(32).fill(0x5a) }), "listener");
  own.start();
  const reflected = encodeHandshake({ ...challengeFrom(0, { nonce: new Uint8Array(32).fill(0x5a) }), peerNonce: new Uint8Array(32).fill(0x5a), signature: new Uint8Array(96) });
  assert.equal(refusal(await own.receive(reflected)), "REPLAYED_NONCE");
  // The listener's proof reflected back to it (relay loops it) is not a dialer proof: its role byte is L.
  const d2 = new HandshakeSession(ctx(0), "dialer", 1);
  const l2 = new HandshakeSession(ctx(1), "listener");
  const pl2 = sent(await l2.receive(sent(await d2.receive(l2.start()!))));
  assert.equal(refusal(await new HandshakeSession(ctx(1), "listener").receive(pl2)), "SELF_CONNECTION");
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
    { version: 1, chainId: CHAIN_ID, publicKey: ids[0]!.publicKey, nonce: rng.bytes(32), ephemeralKey: rng.bytes(32) },
    { version: 0xffffffff, chainId: rng.bytes(64), publicKey: rng.bytes(48), nonce: rng.bytes(32), ephemeralKey: rng.bytes(32), peerNonce: rng.bytes(32), signature: rng.bytes(96) },
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
  assert.throws(() => encodeHandshake({ ...msgs[0]!, ephemeralKey: new Uint8Array(31) }), WireError);
  // Another message kind, and a proof with a signature but no peer nonce, are not handshakes.
  assert.equal(decodeHandshake(encodeMessage({ kind: "hello", body: { chainId: CHAIN_ID, committedHeight: 1, committedHash: new Uint8Array(32) } })), undefined);
  const half = encodeMessage({ kind: "handshake", body: { version: 1, chainId: CHAIN_ID, publicKey: rng.bytes(48), nonce: rng.bytes(32), peerNonce: null, signature: rng.bytes(96), ephemeralKey: rng.bytes(32) } });
  assert.equal(decodeHandshake(half), undefined);
  for (let i = 0; i < 20_000; i++) {
    const b = rng.chance(0.5) ? rng.bytes(rng.int(250)) : encodeHandshake(rng.pick(msgs)).map((x) => (rng.chance(0.02) ? rng.u32() & 0xff : x));
    const m = decodeHandshake(b);
    if (m !== undefined) assert.deepEqual(decodeHandshake(encodeHandshake(m)), m);
  }
});
