/**
 * Inbound admission (src/net/admission.ts) on its own, on a manual clock, and in a real UwsTransport listener with raw
 * peers connecting from distinct loopback addresses (127.0.0.66 is "the attacker", 127.0.0.1 the validators); and
 * `Transport.ban` on real links.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Admission, DEFAULT_ADMISSION, ProofBudget, sourceKey, sourceKeyOfText } from "../../../src/net/admission.js";
import type { AdmissionOptions } from "../../../src/net/admission.js";
import { closeCodeOf } from "../../../src/net/transport.js";
import { UwsTransport } from "../../../src/net/uwsTransport.js";
import { TARPIT } from "../../../src/net/link/uwsServer.js";
import type { UwsTransportOptions } from "../../../src/net/uwsTransport.js";
import { allConnected, blstVerifyFn, CHAIN_ID, eventually, rawContext, RawSocket, Recorder, testIdentity, uwsCluster } from "./support.js";

const ATTACKER = "127.0.0.66";

function table(over: Partial<AdmissionOptions> = {}) {
  let t = 0;
  const a = new Admission({ ...DEFAULT_ADMISSION, ...over }, () => t);
  return { a, advance: (ms: number) => (t += ms) };
}

test("admission: a source holds at most maxPendingPerSource; once the table is nearly full only sources holding none get in", () => {
  const { a } = table({ maxPending: 8, maxPendingPerSource: 3, reservedForNewSources: 2 });
  const code = (src: string) => {
    const v = a.admit(src);
    return v.ok ? "ok" : v.code;
  };
  const open = (src: string) => {
    assert.equal(code(src), "ok", src);
    a.opened(src);
  };
  for (let i = 0; i < 3; i++) open("x");
  assert.equal(code("x"), "SOURCE_PENDING_LIMIT");
  for (let i = 0; i < 3; i++) open("y");
  // 6 of 8 taken: the last 2 are kept for sources holding none.
  open("z");
  assert.equal(code("z"), "PENDING_RESERVED", "z holds one, and 7 >= 8 - 2");
  open("w");
  assert.equal(a.pending, 8);
  assert.equal(code("v"), "PENDING_HANDSHAKE_LIMIT");
  a.closed("w", "neutral");
  a.closed("z", "neutral");
  assert.equal(a.pending, 6);
  assert.equal(code("x"), "SOURCE_PENDING_LIMIT");
  assert.equal(code("v"), "ok");
});

test("admission: repeated failures back a source off for 1 s, 2 s, 4 s …; other sources are untouched; success forgets", () => {
  const { a, advance } = table({ failuresBeforeBackoff: 3, backoffBaseMs: 1_000, backoffMaxMs: 4_000 });
  const fail = (src: string) => {
    a.opened(src);
    a.closed(src, "failed");
  };
  fail("x");
  fail("x");
  assert.equal(a.admit("x").ok, true, "two failures are forgiven");
  fail("x");
  const v = a.admit("x");
  assert.equal(v.ok, false);
  assert.deepEqual(v, { ok: false, code: "SOURCE_BACKOFF", retryAfterMs: 1_000 });
  assert.equal(a.admit("validator").ok, true, "another address is not affected");
  assert.equal(a.backedOffSources(), 1);
  advance(1_000);
  assert.equal(a.admit("x").ok, true);
  for (let i = 0; i < 3; i++) fail("x");
  assert.equal((a.admit("x") as { retryAfterMs: number }).retryAfterMs, 2_000);
  advance(2_000);
  for (let i = 0; i < 3; i++) fail("x");
  assert.equal((a.admit("x") as { retryAfterMs: number }).retryAfterMs, 4_000);
  advance(4_000);
  for (let i = 0; i < 3; i++) fail("x");
  assert.equal((a.admit("x") as { retryAfterMs: number }).retryAfterMs, 4_000, "capped at backoffMaxMs");
  advance(4_000);
  // A source that authenticates is forgotten: its next failures start from zero.
  a.opened("x");
  a.closed("x", "authenticated");
  fail("x");
  fail("x");
  assert.equal(a.admit("x").ok, true);
  assert.equal(a.pending, 0);
});

test("admission: quiet sources are forgotten; the table never holds more than maxTrackedSources", () => {
  const { a, advance } = table({ failuresBeforeBackoff: 2, forgetAfterMs: 10_000, maxTrackedSources: 3 });
  const fail = (src: string) => {
    a.opened(src);
    a.closed(src, "failed");
  };
  fail("x");
  advance(10_000);
  fail("x");
  assert.equal(a.admit("x").ok, true, "the first failure was forgotten after 10 s of quiet");
  // Four more sources with one failure each: the oldest record ("x") goes.
  for (const s of ["a", "b", "c"]) fail(s);
  fail("x");
  assert.equal(a.admit("x").ok, true, "x's earlier failure was evicted with its record");
  assert.equal(a.trackedSources, 3);
  fail("a");
  assert.equal(a.admit("a").ok, true, "a's record went when x came back (the oldest update), so this is its first failure again");
  fail("c");
  assert.equal(a.admit("c").ok, false, "c kept its record: its second failure backs it off");
  assert.equal(a.trackedSources, 3);
});

test("admission: a validator's configured address (trusted) is never backed off, whatever fails from it; the pending caps still hold", () => {
  const { a } = table({ failuresBeforeBackoff: 3, maxPendingPerSource: 2 });
  a.trust("127.0.0.1");
  for (let i = 0; i < 50; i++) {
    a.opened("127.0.0.1");
    a.closed("127.0.0.1", "failed");
  }
  assert.equal(a.admit("127.0.0.1").ok, true, "an attacker sharing the address cannot lock the validators out");
  assert.equal(a.backedOffSources(), 0);
  a.opened("127.0.0.1");
  a.opened("127.0.0.1");
  assert.deepEqual(a.admit("127.0.0.1"), { ok: false, code: "SOURCE_PENDING_LIMIT", retryAfterMs: 1_000 });
  for (let i = 0; i < 3; i++) {
    a.opened("127.0.0.66");
    a.closed("127.0.0.66", "failed");
  }
  assert.equal(a.admit("127.0.0.66").ok, false, "an untrusted address is still backed off");
});

test("sourceKeyOfText: address literals as sourceKey keys them; host names have none", () => {
  assert.equal(sourceKeyOfText("127.0.0.1"), "127.0.0.1");
  assert.equal(sourceKeyOfText("2001:db8:1:2:9:9:9:1"), "2001:db8:1:2::/64");
  assert.equal(sourceKeyOfText("[2001:db8:1:2::7]"), "2001:db8:1:2::/64");
  assert.equal(sourceKeyOfText("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(sourceKeyOfText("::1"), "0:0:0:0::/64");
  assert.equal(sourceKeyOfText("::ffff:10.1.2.3"), "10.1.2.3");
  assert.equal(sourceKeyOfText("validator-3.example"), undefined);
  // The same key as the bytes a socket reports.
  assert.equal(sourceKeyOfText("2001:db8:1:2::7"), sourceKey(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7])));
});

test("proof budget: 8 failed proofs for one claimed key in 10 s stop verification from other addresses; its last good address still verifies; the window ends it", () => {
  let t = 0;
  const b = new ProofBudget({ maxFailures: 8, windowMs: 10_000 }, () => t);
  b.record(0, "10.0.0.1", true); // validator 0 authenticated from 10.0.0.1 once
  for (let i = 0; i < 8; i++) {
    assert.equal(b.allows(0, `127.0.0.${100 + i}`), true);
    b.record(0, `127.0.0.${100 + i}`, false);
  }
  assert.equal(b.allows(0, "127.0.0.200"), false, "a fresh address no longer buys a verification");
  assert.equal(b.allows(0, "10.0.0.1"), true, "the validator's own address still does");
  assert.equal(b.allows(1, "127.0.0.200"), true, "other keys are untouched");
  t += 10_001;
  assert.equal(b.allows(0, "127.0.0.200"), true, "the window passed");
});

test("sourceKey: IPv4 as is (also IPv4-mapped), IPv6 by /64", () => {
  assert.equal(sourceKey(new Uint8Array([127, 0, 0, 66])), "127.0.0.66");
  assert.equal(sourceKey(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3])), "10.1.2.3");
  const v6 = (last: number) => new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 9, 9, 9, 9, 9, 9, 9, last]);
  assert.equal(sourceKey(v6(1)), "2001:db8:1:2::/64");
  assert.equal(sourceKey(v6(1)), sourceKey(v6(200)), "one /64, one source");
  assert.notEqual(sourceKey(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 3, 9, 9, 9, 9, 9, 9, 9, 1])), sourceKey(v6(1)));
  assert.equal(sourceKey(new Uint8Array(3)), "unknown");
});

/** The HTTP status of an upgrade from `localAddress` (101 when it was accepted; the socket is then returned open). */
async function upgrade(port: number, localAddress: string): Promise<{ status: number; ws: WebSocket }> {
  const ws = upgrading(port, localAddress);
  return new Promise((resolve) => {
    ws.once("open", () => resolve({ status: 101, ws }));
    ws.once("unexpected-response", (req, res) => {
      resolve({ status: res.statusCode ?? 0, ws });
      res.resume();
      req.destroy();
    });
  });
}

/** An upgrade request from `localAddress`, not waited for. */
function upgrading(port: number, localAddress: string): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/quire/link`, { localAddress, perMessageDeflate: false });
  ws.on("error", () => {});
  return ws;
}

const N = 4;
const validators = Array.from({ length: N }, (_, i) => ({ publicKey: testIdentity(i).publicKey }));

async function listener(extra: Partial<UwsTransportOptions>): Promise<UwsTransport> {
  const t = new UwsTransport({ self: 3, chainId: CHAIN_ID, validators, listen: { host: "127.0.0.1", port: 0 }, ...extra }, { identity: testIdentity(3), verify: blstVerifyFn });
  t.setHandler(new Recorder());
  await t.start();
  return t;
}

test("a listener: idle connections from one address fill only that address's slots; a validator from another address links", async () => {
  const t = await listener({ maxPendingHandshakes: 16, handshakeTimeoutMs: 60_000 });
  const held: WebSocket[] = [];
  try {
    const port = t.listenPort;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const u = await upgrade(port, ATTACKER);
      statuses.push(u.status);
      held.push(u.ws);
    }
    // 4 accepted (the per-source cap), 16 refused with 503 before any WebSocket existed.
    assert.deepEqual([statuses.filter((s) => s === 101).length, statuses.filter((s) => s === 503).length], [4, 16]);
    assert.equal(t.stats().refused["SOURCE_PENDING_LIMIT"], 16);
    assert.equal(t.stats().admission.pendingHandshakes, 4);
    // Validator 0 (127.0.0.1) gets in and authenticates while the attacker still holds its 4.
    const v = await RawSocket.connect(port, "/quire/link", "127.0.0.1");
    assert.equal(await v.handshake(rawContext(0, N), "dialer", 3), 3);
    await eventually(() => t.isConnected(0), "validator 0 linked");
    assert.equal(t.stats().admission.pendingHandshakes, 4);
    v.close();
  } finally {
    for (const ws of held) ws.terminate();
    await t.stop();
  }
});

test("a listener: the per-source cap follows validators added at runtime (n − 1 of them may dial from one address)", async () => {
  const two = [0, 1].map((i) => ({ publicKey: testIdentity(i).publicKey }));
  const t = new UwsTransport({ self: 1, chainId: CHAIN_ID, validators: two, listen: { host: "127.0.0.1", port: 0 }, maxPendingHandshakes: 16, handshakeTimeoutMs: 60_000 }, { identity: testIdentity(1), verify: blstVerifyFn });
  t.setHandler(new Recorder());
  await t.start();
  const held: WebSocket[] = [];
  try {
    const statuses = async (k: number) => {
      const out: number[] = [];
      for (let i = 0; i < k; i++) {
        const u = await upgrade(t.listenPort, ATTACKER);
        out.push(u.status);
        held.push(u.ws);
      }
      return out;
    };
    // Two validators: the default cap of 4 per source.
    assert.deepEqual(await statuses(5), [101, 101, 101, 101, 503]);
    // Six validators: five may dial us from one host at once.
    for (let i = 2; i < 6; i++) assert.equal(t.addPeer({ publicKey: testIdentity(i).publicKey }), i);
    assert.deepEqual(await statuses(2), [101, 503]);
    assert.equal(t.stats().admission.pendingHandshakes, 5);
  } finally {
    for (const ws of held) ws.terminate();
    await t.stop();
  }
});

test("a listener: an address whose handshakes keep failing is held unanswered (64 at most), then answered 429, for a back-off period; the validators' address is not", async () => {
  const t = await listener({ handshakeTimeoutMs: 60_000, admission: { failuresBeforeBackoff: 3, backoffBaseMs: 60_000 } });
  try {
    const port = t.listenPort;
    // Three bad proofs claiming validator 0's key, from the attacker's address.
    const bogus = rawContext(0, N, { identity: { publicKey: testIdentity(0).publicKey, sign: (m) => testIdentity(2).sign(m) } });
    for (let i = 0; i < 3; i++) {
      const raw = await RawSocket.connect(port, "/quire/link", ATTACKER);
      await raw.handshake(bogus, "dialer", 3).catch(() => undefined);
      const closed = await raw.closed;
      assert.equal(closed.code, closeCodeOf("BAD_SIGNATURE"));
    }
    await eventually(() => t.stats().admission.backedOffSources === 1, "the attacker's address backed off");
    // The tarpit: its next 64 upgrades get no answer at all (each costs it a connection for 10 s, us an fd) …
    const held = Array.from({ length: TARPIT.maxHeldPerSource }, () => upgrading(port, ATTACKER));
    await eventually(() => t.stats().admission.heldConnections === TARPIT.maxHeldPerSource, "64 held");
    // … and beyond that it is answered at once.
    const u = await upgrade(port, ATTACKER);
    assert.equal(u.status, 429);
    u.ws.terminate();
    assert.equal(t.stats().refused["SOURCE_BACKOFF"], TARPIT.maxHeldPerSource + 1);
    for (const ws of held) ws.terminate();
    await eventually(() => t.stats().admission.heldConnections === 0, "held connections released when their clients go");
    assert.equal(t.stats().refused["BAD_SIGNATURE"], 3);
    // A validator from 127.0.0.1 is untouched.
    const v = await RawSocket.connect(port, "/quire/link", "127.0.0.1");
    assert.equal(await v.handshake(rawContext(1, N), "dialer", 3), 3);
    await eventually(() => t.isConnected(1), "validator 1 linked");
    v.close();
  } finally {
    await t.stop();
  }
});

test("a listener: bad proofs for one key from rotating addresses cost at most 8 verifications; then PROOF_BUDGET, and the validator's own address still links", async () => {
  let verifications = 0;
  const counting: typeof blstVerifyFn = (pk, m, sig) => {
    verifications++;
    return blstVerifyFn(pk, m, sig);
  };
  const t = new UwsTransport({ self: 3, chainId: CHAIN_ID, validators, listen: { host: "127.0.0.1", port: 0 }, handshakeTimeoutMs: 60_000 }, { identity: testIdentity(3), verify: counting });
  t.setHandler(new Recorder());
  await t.start();
  try {
    const port = t.listenPort;
    // Validator 0 links once from 127.0.0.1 (its last good address), then leaves.
    const v = await RawSocket.connect(port, "/quire/link", "127.0.0.1");
    assert.equal(await v.handshake(rawContext(0, N), "dialer", 3), 3);
    v.close();
    await eventually(() => !t.isConnected(0), "validator 0 gone");
    // 20 bad proofs claiming validator 0, each from a fresh address (per-address back-off never starts).
    const bogus = rawContext(0, N, { identity: { publicKey: testIdentity(0).publicKey, sign: (m) => testIdentity(2).sign(m) } });
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const raw = await RawSocket.connect(port, "/quire/link", `127.0.1.${i + 1}`);
      await raw.handshake(bogus, "dialer", 3).catch(() => undefined);
      codes.push((await raw.closed).code);
    }
    assert.equal(verifications, 1 + 8, "the first link, then 8 failed proofs verified; the other 12 refused unverified");
    assert.deepEqual(codes.slice(0, 8), new Array(8).fill(closeCodeOf("BAD_SIGNATURE")));
    assert.deepEqual(codes.slice(8), new Array(12).fill(closeCodeOf("PROOF_BUDGET")));
    // The real validator 0, from its address, still links.
    const again = await RawSocket.connect(port, "/quire/link", "127.0.0.1");
    assert.equal(await again.handshake(rawContext(0, N), "dialer", 3), 3);
    await eventually(() => t.isConnected(0), "validator 0 linked again");
    again.close();
  } finally {
    await t.stop();
  }
});

test("a listener: silent connections that time out their handshake, and dialers that hang up mid-handshake, count as failures of their address", async () => {
  const t = await listener({ handshakeTimeoutMs: 100, admission: { failuresBeforeBackoff: 3, backoffBaseMs: 60_000 } });
  const held: WebSocket[] = [];
  try {
    const port = t.listenPort;
    // Two connections that never say a word: HANDSHAKE_TIMEOUT after 100 ms each.
    const silent = [await RawSocket.connect(port, "/quire/link", ATTACKER), await RawSocket.connect(port, "/quire/link", ATTACKER)];
    for (const s of silent) assert.equal((await s.closed).code, closeCodeOf("HANDSHAKE_TIMEOUT"));
    assert.equal(t.stats().admission.backedOffSources, 0, "two failures are forgiven");
    // A third that hangs up before proving anything.
    const quitter = await RawSocket.connect(port, "/quire/link", ATTACKER);
    quitter.close();
    await eventually(() => t.stats().admission.backedOffSources === 1, "the third failure backs the address off");
    assert.equal(t.stats().admission.pendingHandshakes, 0);
    held.push(upgrading(port, ATTACKER));
    await eventually(() => t.stats().admission.heldConnections === 1, "its next upgrade is held");
  } finally {
    for (const ws of held) ws.terminate();
    await t.stop();
  }
});

test("ban: the link closes with BANNED, the banned validator's redials are refused after its proof, and it links again once the ban ends", async () => {
  const c = await uwsCluster(2);
  try {
    await allConnected(c.transports);
    const [t0, t1] = c.transports as [UwsTransport, UwsTransport];
    // Validator 1 bans validator 0 (the dialer) for 600 ms.
    t1.ban(0, 600);
    assert.equal(t1.isBanned(0), true);
    assert.deepEqual(t1.stats().admission.bannedPeers, [0]);
    await eventually(() => !t0.isConnected(1) && !t1.isConnected(0), "link down on both sides");
    assert.ok((t0.stats().refused["peer:BANNED"] ?? 0) >= 1, "the banned side was told why");
    // Validator 0 keeps redialing (20-200 ms back-off): each attempt authenticates and is refused with BANNED.
    await eventually(() => (t1.stats().refused["BANNED"] ?? 0) >= 2, "redials refused");
    assert.equal(t0.isConnected(1), false);
    assert.equal(t1.stats().admission.backedOffSources, 0, "a banned validator's refusals are not held against its address");
    // After the ban the next redial links.
    await eventually(() => t0.isConnected(1) && t1.isConnected(0), "linked again after the ban", 5_000);
    assert.equal(t1.isBanned(0), false);
  } finally {
    await c.close();
  }
});

test("ban: a banned validator we dial is not dialed until the ban ends", async () => {
  const c = await uwsCluster(2);
  try {
    await allConnected(c.transports);
    const [t0, t1] = c.transports as [UwsTransport, UwsTransport];
    t0.ban(1, 500); // 0 dials 1
    await eventually(() => !t0.isConnected(1) && !t1.isConnected(0), "link down");
    const refusedBefore = t1.stats().refused["BANNED"] ?? 0;
    const connectsBefore = t1.stats().peers.find((p) => p.peer === 0)!.connects;
    await eventually(() => t0.isConnected(1), "linked again after the ban", 5_000);
    assert.equal(t1.stats().refused["BANNED"] ?? 0, refusedBefore, "no dial was made (and refused) during the ban");
    assert.equal(t1.stats().peers.find((p) => p.peer === 0)!.connects, connectsBefore + 1);
  } finally {
    await c.close();
  }
});
