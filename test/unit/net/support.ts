/** Shared helpers for the net tests: BLS identities straight from @chainsafe/blst (independent of src/crypto/bls, whose adapters blsLink.ts has its own test), clusters, recorders, raw peers. */
import { PublicKey, SecretKey, Signature, verify as blstVerify } from "@chainsafe/blst";
import type { LinkIdentity, VerifyFn } from "../../../src/net/handshake.js";
import type { PeerId, Priority, Transport, TransportHandler } from "../../../src/net/transport.js";
import { UwsTransport } from "../../../src/net/uwsTransport.js";
import type { UwsTransportOptions } from "../../../src/net/uwsTransport.js";
import type { Scheduler, TimerHandle } from "../../../src/util/clock.js";
import { SystemScheduler } from "../../../src/util/clock.js";
import assert from "node:assert/strict";
import WebSocket, { WebSocketServer } from "ws";
import { FRAME_DATA, FRAME_HANDSHAKE, FRAME_READY, FrameDecoder, handshakeFrame } from "../../../src/net/framing.js";
import { FrameAuthenticator, TAG_BYTES } from "../../../src/net/channel.js";
import { HandshakeSession, NonceCache } from "../../../src/net/handshake.js";
import type { HandshakeContext, Role } from "../../../src/net/handshake.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";
import { randomBytes } from "node:crypto";

export const CHAIN_ID = utf8("quire-test");

/** A deterministic validator key: ikm = 32 bytes of (i + 1). */
export function testIdentity(i: number): LinkIdentity & { secretKey: SecretKey } {
  const sk = SecretKey.fromKeygen(new Uint8Array(32).fill(i + 1));
  return { secretKey: sk, publicKey: sk.toPublicKey().toBytes(), sign: (m) => sk.sign(m).toBytes() };
}

/** blst verification that returns false (never throws) on malformed keys or signatures. */
export const blstVerifyFn: VerifyFn = (pk, msg, sig) => {
  try {
    return blstVerify(msg, PublicKey.fromBytes(pk, true), Signature.fromBytes(sig, true));
  } catch {
    return false;
  }
};

export interface Received {
  from: PeerId;
  payload: Uint8Array;
  priority: Priority;
}

/** A handler that records everything. */
export class Recorder implements TransportHandler {
  readonly messages: Received[] = [];
  readonly ups: PeerId[] = [];
  readonly downs: { peer: PeerId; reason: string }[] = [];
  readonly drains: PeerId[] = [];
  readonly flagged: { peer: PeerId; code: string }[] = [];
  onMessage(from: PeerId, payload: Uint8Array, priority: Priority): void {
    this.messages.push({ from, payload, priority });
  }
  onPeerUp(peer: PeerId): void {
    this.ups.push(peer);
  }
  onPeerDown(peer: PeerId, reason: string): void {
    this.downs.push({ peer, reason });
  }
  onDrain(peer: PeerId): void {
    this.drains.push(peer);
  }
  onPeerFlagged(peer: PeerId, code: string): void {
    this.flagged.push({ peer, code });
  }
  from(peer: PeerId): Received[] {
    return this.messages.filter((m) => m.from === peer);
  }
}

/**
 * Waits for `cond` by yielding to the event loop (I/O, timers) between checks, bounded by `timeoutMs`.
 * This waits for an event, it does not assert anything about time.
 */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** A real-time scheduler that counts live timers, so tests can assert that stop() cancelled everything. */
export class CountingScheduler implements Scheduler {
  private readonly inner = new SystemScheduler();
  live = 0;
  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    this.live++;
    let done = false;
    const h = this.inner.setTimeout(() => {
      if (!done) {
        done = true;
        this.live--;
      }
      fn();
    }, delayMs);
    return {
      cancel: () => {
        if (!done) {
          done = true;
          this.live--;
        }
        h.cancel();
      },
    };
  }
}

export interface UwsCluster {
  transports: UwsTransport[];
  recorders: Recorder[];
  schedulers: CountingScheduler[];
  close(): Promise<void>;
}

/** n UwsTransports on 127.0.0.1 (free ports), all started, addresses exchanged. Does not wait for links. */
export async function uwsCluster(n: number, extra: Partial<UwsTransportOptions> = {}): Promise<UwsCluster> {
  const ids = Array.from({ length: n }, (_, i) => testIdentity(i));
  const validators = ids.map((id) => ({ publicKey: id.publicKey }));
  const transports: UwsTransport[] = [];
  const recorders: Recorder[] = [];
  const schedulers: CountingScheduler[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const scheduler = new CountingScheduler();
      const t = new UwsTransport(
        { self: i, chainId: CHAIN_ID, validators, listen: { host: "127.0.0.1", port: 0 }, backoff: { initialMs: 20, maxMs: 200, factor: 2 }, ...extra },
        { identity: ids[i]!, verify: blstVerifyFn, scheduler },
      );
      const r = new Recorder();
      t.setHandler(r);
      await t.start();
      transports.push(t);
      recorders.push(r);
      schedulers.push(scheduler);
    }
    for (const t of transports) for (let j = 0; j < n; j++) if (j !== t.self) t.setPeerAddress(j, { host: "127.0.0.1", port: transports[j]!.listenPort });
  } catch (e) {
    await Promise.all(transports.map((t) => t.stop()));
    throw e;
  }
  return {
    transports,
    recorders,
    schedulers,
    close: async () => {
      await Promise.all(transports.map((t) => t.stop()));
    },
  };
}

/** Waits until every pair of transports is connected. */
export async function allConnected(ts: readonly Transport[], timeoutMs = 10_000): Promise<void> {
  await eventually(() => ts.every((t) => t.peers.every((p) => t.isConnected(p))), "all links up", timeoutMs);
}

// ---- raw peers: a bare `ws` socket speaking the link protocol by hand, to play a misbehaving validator ----


/** A ws socket (client or server side) with a frame inbox and a close promise. */
export class RawSocket {
  private readonly inbox: Uint8Array[] = [];
  private waiter: ((f: Uint8Array) => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const f = new Uint8Array(data.buffer, data.byteOffset, data.length).slice();
      // As a listener, the dialer's READY (its first sealed frame) is checked and consumed here, not queued.
      if (this.awaitingReady && f[0] === FRAME_READY && f.length === 1 + TAG_BYTES) {
        this.awaitingReady = false;
        this.readyVerified = this.opener!.open(f);
        return;
      }
      if (this.waiter !== undefined) {
        const w = this.waiter;
        this.waiter = undefined;
        w(f);
      } else this.inbox.push(f);
    });
    ws.on("error", () => {});
    this.closed = new Promise((resolve) =>
      ws.on("close", (code: number, reason: Buffer) => {
        this.isClosed = true;
        this.onClose?.();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  private isClosed = false;
  private onClose: (() => void) | undefined;
  private awaitingReady = false;
  /** Listener: the dialer's READY arrived and its tag verified. */
  readyVerified = false;

  /** `localAddress`: the source address to connect from (any 127/8 address on Linux). */
  static async connect(port: number, path = "/quire/link", localAddress?: string): Promise<RawSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false, ...(localAddress !== undefined ? { localAddress } : {}) });
    const s = new RawSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("close", () => reject(new Error("raw connect failed")));
    });
    return s;
  }

  /** The next frame received (bounded wait). */
  next(timeoutMs = 5000): Promise<Uint8Array> {
    const f = this.inbox.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (this.isClosed) return Promise.reject(new Error("raw socket closed"));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("raw socket: no frame")), timeoutMs);
      this.onClose = () => {
        clearTimeout(t);
        reject(new Error("raw socket closed"));
      };
      this.waiter = (x) => {
        clearTimeout(t);
        this.onClose = undefined;
        resolve(x);
      };
    });
  }

  send(frame: Uint8Array): void {
    this.ws.send(frame, { binary: true });
  }

  /** The channel of the handshake this socket completed (`handshake`): seals what we send, opens what we receive. */
  sealer: FrameAuthenticator | undefined;
  opener: FrameAuthenticator | undefined;

  /** Runs the handshake as validator `self` (role as given); returns the peer index it authenticated. */
  async handshake(ctx: HandshakeContext, role: Role, expected?: number): Promise<number> {
    const session = new HandshakeSession(ctx, role, expected);
    const challenge = session.start();
    if (challenge !== undefined) this.send(handshakeFrame(challenge));
    for (;;) {
      const f = await this.next();
      assert.equal(f[0], FRAME_HANDSHAKE);
      for (const step of await session.receive(f.subarray(1))) {
        if (step.kind === "send") this.send(handshakeFrame(step.bytes));
        else if (step.kind === "refuse") throw new Error(`raw handshake refused: ${step.code}`);
        else if (step.kind === "done") {
          this.sealer = new FrameAuthenticator(step.keys.send);
          this.opener = new FrameAuthenticator(step.keys.receive);
          if (role === "listener") this.awaitingReady = true;
          // As a validator's dialer does (link.ts): READY first, before any data frame.
          if (role === "dialer") {
            const ready = new Uint8Array(1 + TAG_BYTES);
            ready[0] = FRAME_READY;
            this.sealer.seal(ready);
            this.send(ready);
          }
          return step.peer;
        }
      }
    }
  }

  /** Sends a data frame (kind byte and records) with the channel tag appended, as a validator would. */
  sendData(frame: Uint8Array): void {
    const sealed = new Uint8Array(frame.length + TAG_BYTES);
    sealed.set(frame);
    this.sealer!.seal(sealed);
    this.send(sealed);
  }

  /** Decodes the data frames received so far (and those arriving until `count` messages were seen). */
  async messages(count: number, maxMessageBytes = 1 << 24): Promise<{ priority: Priority; payload: Uint8Array }[]> {
    const dec = new FrameDecoder(maxMessageBytes);
    const out: { priority: Priority; payload: Uint8Array }[] = [];
    while (out.length < count) {
      const f = await this.next();
      assert.equal(f[0], FRAME_DATA);
      assert.ok(this.opener!.open(f), "channel tag verifies");
      assert.equal(dec.decode(f.subarray(0, f.length - TAG_BYTES), (priority, payload) => out.push({ priority, payload })), undefined);
    }
    return out;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A handshake context for a raw peer claiming to be validator `self` of the `n` test validators. */
export function rawContext(self: number, n: number, over: Partial<HandshakeContext> = {}): HandshakeContext {
  const ids = Array.from({ length: n }, (_, i) => testIdentity(i));
  return {
    self,
    chainId: CHAIN_ID,
    identity: ids[self] ?? testIdentity(self),
    verify: blstVerifyFn,
    indexOf: (pk) => {
      const i = ids.findIndex((id) => toHex(id.publicKey) === toHex(pk));
      return i < 0 ? undefined : i;
    },
    dialsUs: (peer) => peer < self,
    nonces: new NonceCache(),
    randomBytes: (k) => new Uint8Array(randomBytes(k)),
    ...over,
  };
}

/** A bare ws server on 127.0.0.1 whose connections are RawSockets. */
export class RawServer {
  readonly sockets: RawSocket[] = [];
  private waiter: ((s: RawSocket) => void) | undefined;
  private constructor(readonly wss: WebSocketServer) {
    wss.on("connection", (ws) => {
      const s = new RawSocket(ws);
      this.sockets.push(s);
      this.waiter?.(s);
    });
  }

  static async start(opts: { autoPong?: boolean } = {}): Promise<RawServer> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, autoPong: opts.autoPong ?? true });
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    return new RawServer(wss);
  }

  get port(): number {
    const a = this.wss.address();
    return typeof a === "object" && a !== null ? a.port : 0;
  }

  /** The n-th connection (0-based), waiting for it if needed. */
  async connection(n: number): Promise<RawSocket> {
    await eventually(() => this.sockets.length > n, `connection #${n}`);
    return this.sockets[n]!;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.close();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
