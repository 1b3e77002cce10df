/**
 * Shared by `quire bench net` (bench/net.ts, the parent) and its peer process (bench/netPeer.ts): fixed validator
 * keys, the control messages the two exchange over the IPC channel, and the payload pools.
 */
import { PublicKey, SecretKey, Signature, verify as blstVerify } from "@chainsafe/blst";
import { authenticateFrames, deriveChannelKeys, generateEphemeral } from "../src/net/channel.js";
import type { FrameAuth, FrameAuthFactory } from "../src/net/channel.js";
import type { LinkIdentity, VerifyFn } from "../src/net/handshake.js";
import { utf8 } from "../src/util/bytes.js";

export const BENCH_CHAIN_ID = utf8("quire-bench-net");

/** Validator i's key, from a fixed ikm (a benchmark, not a secret). */
export function benchIdentity(i: number): LinkIdentity {
  const sk = SecretKey.fromKeygen(new Uint8Array(32).fill(0x40 + i));
  return { publicKey: sk.toPublicKey().toBytes(), sign: (m) => sk.sign(m).toBytes() };
}

export const benchVerify: VerifyFn = (pk, msg, sig) => {
  try {
    return blstVerify(msg, PublicKey.fromBytes(pk, true), Signature.fromBytes(sig, true));
  } catch {
    return false;
  }
};

/** Transport tuning shared by both processes (validators must agree on frame and message limits). */
export interface PeerConfig {
  frameBytes: number;
  socketHighWaterBytes: number;
  /** false: both ends stub the channel's tag out (`channelOffForBenchmark`), the baseline the channel's cost is read against. */
  channel: boolean;
}

/**
 * The channel-off baseline: frames keep their 16 tag bytes (unwritten) and every frame opens. Benchmarks only: it
 * removes the link's protection against injected, replayed or dropped frames.
 */
export const channelOffForBenchmark: FrameAuthFactory = () => ({ seal: () => {}, open: () => true });

/** The two ends of one direction of a real channel (fresh ephemeral keys): [sealing side, opening side]. */
export function channelPairForBenchmark(): [FrameAuth, FrameAuth] {
  const a = generateEphemeral();
  const b = generateEphemeral();
  const d = deriveChannelKeys(a.privateKey, b.publicKey, BENCH_CHAIN_ID, true)!;
  const l = deriveChannelKeys(b.privateKey, a.publicKey, BENCH_CHAIN_ID, false)!;
  return [authenticateFrames(d.send), authenticateFrames(l.receive)];
}

/** Parent → peer. */
export type Command =
  /** Count `n` messages of `size` bytes arriving on the Quire link, then send DONE back over the link. */
  | { cmd: "sink"; n: number; size: number }
  /** Send `n` messages of `size` bytes over the Quire link to the parent, as fast as back-pressure allows. */
  | { cmd: "source"; n: number; size: number }
  /** Echo every message back (round-trip latency). */
  | { cmd: "echo" }
  /** Report this process's CPU time (an `cpu` event). */
  | { cmd: "cpu" }
  /** Baseline: count `n` frames of `size` bytes on the raw uWS server, then report over IPC. */
  | { cmd: "rawSink"; n: number; size: number }
  /** Baseline: send `n` messages of `size` bytes, one uWS message each, to the raw ws client connected last. */
  | { cmd: "rawSource"; n: number; size: number }
  | { cmd: "exit" };

/** Peer → parent. */
export type Event =
  | { ev: "ready"; port: number; rawPort: number }
  | { ev: "ok" }
  | { ev: "rawDone"; n: number }
  | { ev: "sourceDone"; sent: number }
  | { ev: "error"; message: string }
  /** The peer process's CPU time so far (user + system), µs. */
  | { ev: "cpu"; micros: number };

/** The one-byte consensus message a sink sends when it has counted everything. */
export const DONE = new Uint8Array([0xd0]);

/**
 * `count` distinct payloads of `size` bytes, each starting with its index (u32 LE) so a receiver can check order
 * (message k carries k mod count). Built once per (size, count) and kept: 1,024 × 64 KiB takes 100-250 ms to fill,
 * which must not land inside a timed trial (the peer builds its pool after the parent started the clock).
 */
export function payloadPool(size: number, count: number): Uint8Array[] {
  const key = `${size}/${count}`;
  const cached = pools.get(key);
  if (cached !== undefined) return cached;
  const pool = Array.from({ length: count }, (_, i) => {
    const p = new Uint8Array(size);
    for (let j = 4; j < size; j++) p[j] = (i * 31 + j) & 0xff;
    if (size >= 4) new DataView(p.buffer).setUint32(0, i, true);
    return p;
  });
  pools.set(key, pool);
  return pool;
}

const pools = new Map<string, Uint8Array[]>();

export const POOL = 1024;

/** Index stamped into a pool payload (0 for payloads shorter than 4 bytes). */
export function payloadIndex(p: Uint8Array): number {
  return p.length >= 4 ? (p[0]! | (p[1]! << 8) | (p[2]! << 16) | (p[3]! << 24)) >>> 0 : 0;
}

/**
 * Sends `n` pool payloads to `peer` as fast as the transport takes them without loss: keeps the transport queue
 * topped up to `queueTarget` bytes and refills on `onDrain` (the handler must forward onDrain to `drained()`).
 */
export class Pump {
  sent = 0;
  private done = false;

  constructor(
    private readonly t: { send(to: number, priority: 0 | 1 | 2, payload: Uint8Array): number; queuedBytes(peer: number): number },
    private readonly peer: number,
    private readonly priority: 0 | 1 | 2,
    private readonly n: number,
    private readonly pool: readonly Uint8Array[],
    private readonly queueTarget: number,
    private readonly onFinished: () => void,
  ) {}

  start(): void {
    this.fill();
  }

  drained(): void {
    if (!this.done) this.fill();
  }

  private fill(): void {
    const { t, peer, priority, pool, n } = this;
    const mask = pool.length - 1;
    while (this.sent < n && t.queuedBytes(peer) < this.queueTarget) {
      if (t.send(peer, priority, pool[this.sent & mask]!) !== 0) throw new Error("bench: send refused (queue full)");
      this.sent++;
    }
    if (this.sent >= n && !this.done) {
      this.done = true;
      this.onFinished();
    }
  }
}
