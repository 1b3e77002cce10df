/** Shared helpers for the net tests: BLS identities (blst directly, until src/crypto/bls lands), clusters, recorders. */
import { PublicKey, SecretKey, Signature, verify as blstVerify } from "@chainsafe/blst";
import type { LinkIdentity, VerifyFn } from "../../../src/net/handshake.js";
import type { PeerId, Priority, Transport, TransportHandler } from "../../../src/net/transport.js";
import { UwsTransport } from "../../../src/net/uwsTransport.js";
import type { UwsTransportOptions } from "../../../src/net/uwsTransport.js";
import type { Scheduler, TimerHandle } from "../../../src/util/clock.js";
import { SystemScheduler } from "../../../src/util/clock.js";
import { utf8 } from "../../../src/util/bytes.js";

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
