/**
 * The transport compliance suite: every implementation of `Transport` runs these same tests
 * (memoryTransport.test.ts on the in-memory network, uwsTransport.test.ts on real uWS/ws links on 127.0.0.1).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { NetError, Priority, SendStatus } from "../../../src/net/transport.js";
import type { PeerId, Transport } from "../../../src/net/transport.js";
import { seededRng } from "../../support/seed.js";
import { Recorder } from "./support.js";

/** A started cluster of n transports (validators 0..n-1), each with a Recorder as handler. */
export interface ComplianceCluster {
  transports: Transport[];
  recorders: Recorder[];
  /** Lets the network run until `cond` holds (bounded: throws naming `what`). */
  until(cond: () => boolean, what: string): Promise<void>;
  close(): Promise<void>;
}

export type ClusterFactory = (n: number) => Promise<ComplianceCluster>;

function bytes(...xs: number[]): Uint8Array {
  return new Uint8Array(xs);
}

/** Registers the suite under `name`. Each test builds its own cluster and always closes it. */
export function transportCompliance(name: string, make: ClusterFactory): void {
  const withCluster = async (n: number, body: (c: ComplianceCluster) => Promise<void>): Promise<void> => {
    const c = await make(n);
    try {
      await c.until(() => c.transports.every((t) => t.peers.every((p) => t.isConnected(p))), "all links up");
      await body(c);
    } finally {
      await c.close();
    }
  };

  describe(`Transport compliance: ${name}`, () => {
    test("peers come up: every transport reports every other validator exactly once", async () => {
      await withCluster(4, async (c) => {
        await c.until(() => c.recorders.every((r) => r.ups.length === 3), "peer-up events");
        c.recorders.forEach((r, i) => {
          assert.deepEqual([...r.ups].sort(), [0, 1, 2, 3].filter((p) => p !== i));
          assert.deepEqual(c.transports[i]!.peers, [0, 1, 2, 3].filter((p) => p !== i));
          assert.equal(c.transports[i]!.self, i);
        });
      });
    });

    test("unicast reaches only its destination, with sender, bytes and priority intact", async () => {
      await withCluster(4, async (c) => {
        const [t0, , , t3] = c.transports;
        assert.equal(t0!.send(3, Priority.Sync, bytes(1, 2, 3)), SendStatus.Queued);
        assert.equal(t3!.send(0, Priority.Gossip, bytes(9)), SendStatus.Queued);
        await c.until(() => c.recorders[3]!.messages.length === 1 && c.recorders[0]!.messages.length === 1, "two messages");
        const m = c.recorders[3]!.messages[0]!;
        assert.equal(m.from, 0);
        assert.equal(m.priority, Priority.Sync);
        assert.deepEqual([...m.payload], [1, 2, 3]);
        assert.deepEqual([...c.recorders[0]!.messages[0]!.payload], [9]);
        assert.equal(c.recorders[0]!.messages[0]!.from, 3);
        // Nothing else anywhere, even after more traffic has flowed through the same links.
        t0!.send(1, Priority.Consensus, bytes(7));
        await c.until(() => c.recorders[1]!.messages.length === 1, "marker");
        assert.equal(c.recorders[2]!.messages.length, 0);
        assert.equal(c.recorders[3]!.messages.length, 1);
      });
    });

    test("multicast reaches exactly the named peers once (duplicates and self ignored); broadcast all but self", async () => {
      await withCluster(4, async (c) => {
        assert.equal(c.transports[0]!.multicast([1, 3, 3, 0], Priority.Consensus, bytes(5)), 0);
        assert.equal(c.transports[2]!.broadcast(Priority.Gossip, bytes(6)), 0);
        await c.until(() => c.recorders[1]!.messages.length === 2 && c.recorders[3]!.messages.length === 2 && c.recorders[0]!.messages.length === 1, "fan-out");
        // A last unicast on each link proves no straggler copies are still coming.
        for (const to of [1, 3]) c.transports[0]!.send(to, Priority.Consensus, bytes(0xff));
        await c.until(() => c.recorders[1]!.messages.length === 3 && c.recorders[3]!.messages.length === 3, "markers");
        const summary = (r: Recorder) => r.messages.map((m) => `${m.from}:${m.payload[0]}`).sort();
        assert.deepEqual(summary(c.recorders[0]!), ["2:6"]);
        assert.deepEqual(summary(c.recorders[1]!), ["0:255", "0:5", "2:6"]);
        assert.deepEqual(summary(c.recorders[2]!), []);
        assert.deepEqual(summary(c.recorders[3]!), ["0:255", "0:5", "2:6"]);
      });
    });

    test("each class is FIFO per link; every message arrives exactly once (mixed classes, many small messages)", async (t) => {
      const rng = seededRng(t);
      await withCluster(3, async (c) => {
        const N = 6000;
        const sent: number[][] = [[], [], []];
        for (let i = 0; i < N; i++) {
          const p = rng.int(3) as Priority;
          const size = 4 + rng.int(300);
          const payload = rng.bytes(size);
          new DataView(payload.buffer).setUint32(0, i, true);
          c.transports[1]!.send(2, p, payload);
          sent[p]!.push(i);
        }
        await c.until(() => c.recorders[2]!.messages.length === N, `${N} messages`);
        const got: number[][] = [[], [], []];
        for (const m of c.recorders[2]!.messages) {
          assert.equal(m.from, 1);
          got[m.priority]!.push(new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true));
        }
        assert.deepEqual(got, sent);
      });
    });

    test("payload bytes survive exactly, from empty to maxMessageBytes", async (t) => {
      const rng = seededRng(t);
      await withCluster(2, async (c) => {
        const max = c.transports[0]!.maxMessageBytes;
        const sizes = [0, 1, 199, 200, 4096, 65_536, 65_541, 300_000, max - 1, max];
        const payloads = sizes.map((s) => rng.bytes(s));
        for (const p of payloads) c.transports[0]!.send(1, Priority.Sync, p);
        for (const p of payloads) c.transports[1]!.send(0, Priority.Gossip, p);
        await c.until(() => c.recorders[1]!.messages.length === sizes.length && c.recorders[0]!.messages.length === sizes.length, "all sizes");
        for (const r of [c.recorders[0]!, c.recorders[1]!]) {
          r.messages.forEach((m, i) => assert.deepEqual(m.payload, payloads[i], `size ${sizes[i]}`));
        }
      });
    });

    test("a received payload stays valid after the handler returned and later traffic", async () => {
      await withCluster(2, async (c) => {
        c.transports[0]!.send(1, Priority.Consensus, bytes(1, 2, 3, 4));
        await c.until(() => c.recorders[1]!.messages.length === 1, "first");
        const kept = c.recorders[1]!.messages[0]!.payload;
        for (let i = 0; i < 100; i++) c.transports[0]!.send(1, Priority.Consensus, new Uint8Array(1000).fill(0xee));
        await c.until(() => c.recorders[1]!.messages.length === 101, "later traffic");
        assert.deepEqual([...kept], [1, 2, 3, 4]);
      });
    });

    test("caller errors are typed: unknown peer, self, oversize, bad priority", async () => {
      await withCluster(2, async (c) => {
        const t0 = c.transports[0]!;
        const code = (f: () => unknown) => {
          try {
            f();
          } catch (e) {
            assert.ok(e instanceof NetError, `expected NetError, got ${String(e)}`);
            return e.code;
          }
          return "no error";
        };
        assert.equal(code(() => t0.send(0, Priority.Consensus, bytes(1))), "UNKNOWN_PEER");
        assert.equal(code(() => t0.send(7, Priority.Consensus, bytes(1))), "UNKNOWN_PEER");
        assert.equal(code(() => t0.send(-1, Priority.Consensus, bytes(1))), "UNKNOWN_PEER");
        assert.equal(code(() => t0.send(1.5, Priority.Consensus, bytes(1))), "UNKNOWN_PEER");
        assert.equal(code(() => t0.multicast([1, 9], Priority.Consensus, bytes(1))), "UNKNOWN_PEER");
        assert.equal(code(() => t0.send(1, Priority.Consensus, new Uint8Array(t0.maxMessageBytes + 1))), "MESSAGE_TOO_LARGE");
        assert.equal(code(() => t0.broadcast(Priority.Gossip, new Uint8Array(t0.maxMessageBytes + 1))), "MESSAGE_TOO_LARGE");
        assert.equal(code(() => t0.send(1, 3 as Priority, bytes(1))), "BAD_PRIORITY");
        assert.equal(code(() => t0.queuedBytes(0)), "UNKNOWN_PEER");
        assert.equal(t0.queuedBytes(1), 0);
      });
    });

    test("ban: the pair goes down on both sides, other links stay, bad ids are typed errors, and the link is back once the ban ends", async () => {
      await withCluster(3, async (c) => {
        const [t0, t1] = c.transports;
        const [r0, r1] = c.recorders;
        assert.throws(() => t1!.ban(1, 100), (e: unknown) => e instanceof NetError && e.code === "UNKNOWN_PEER");
        assert.throws(() => t1!.ban(7, 100), (e: unknown) => e instanceof NetError && e.code === "UNKNOWN_PEER");
        const downs0 = r0!.downs.length;
        const downs1 = r1!.downs.length;
        t1!.ban(0, 400);
        assert.equal(t1!.isBanned(0), true);
        assert.equal(t1!.isBanned(2), false);
        assert.deepEqual(t1!.stats().admission.bannedPeers, [0]);
        await c.until(() => !t0!.isConnected(1) && !t1!.isConnected(0) && r0!.downs.length > downs0 && r1!.downs.length > downs1, "the banned pair down on both sides");
        assert.equal(t1!.isConnected(2), true, "other links stay up");
        await c.until(() => t0!.isConnected(1) && t1!.isConnected(0), "the pair linked again after the ban");
        assert.equal(t1!.isBanned(0), false);
        assert.deepEqual(t1!.stats().admission.bannedPeers, []);
      });
    });

    test("a stopped transport refuses sends; its peers see it go down", async () => {
      await withCluster(3, async (c) => {
        await c.transports[2]!.stop();
        await c.transports[2]!.stop(); // idempotent
        await c.until(() => c.recorders[0]!.downs.some((d) => d.peer === 2) && c.recorders[1]!.downs.some((d) => d.peer === 2), "peer-down events");
        await c.until(() => !c.transports[0]!.isConnected(2) && !c.transports[1]!.isConnected(2), "disconnected");
        assert.ok(c.transports[0]!.isConnected(1));
        assert.throws(() => c.transports[2]!.send(0, Priority.Consensus, bytes(1)), (e: unknown) => e instanceof NetError && e.code === "NOT_STARTED");
        // The others still talk.
        c.transports[0]!.send(1, Priority.Consensus, bytes(3));
        await c.until(() => c.recorders[1]!.messages.length === 1, "survivor traffic");
      });
    });

    test("stats count sent and received messages and bytes per class", async () => {
      await withCluster(2, async (c) => {
        c.transports[0]!.send(1, Priority.Consensus, new Uint8Array(10));
        c.transports[0]!.send(1, Priority.Consensus, new Uint8Array(20));
        c.transports[0]!.send(1, Priority.Gossip, new Uint8Array(5));
        await c.until(() => c.recorders[1]!.messages.length === 3, "messages");
        const out = c.transports[0]!.stats().peers.find((p) => p.peer === 1)!;
        const inn = c.transports[1]!.stats().peers.find((p) => p.peer === 0)!;
        assert.equal(out.connected, true);
        assert.deepEqual([out.classes[0]!.sentMessages, out.classes[0]!.sentBytes, out.classes[2]!.sentMessages, out.classes[2]!.sentBytes], [2, 30, 1, 5]);
        assert.deepEqual([inn.classes[0]!.receivedMessages, inn.classes[0]!.receivedBytes, inn.classes[2]!.receivedMessages], [2, 30, 1]);
        assert.equal(out.classes[1]!.sentMessages, 0);
        assert.equal(out.classes[0]!.queuedMessages, 0);
      });
    });
  });
}

/** Every peer id of an n-cluster except `self`. */
export function others(n: number, self: PeerId): PeerId[] {
  return Array.from({ length: n }, (_, i) => i).filter((i) => i !== self);
}
