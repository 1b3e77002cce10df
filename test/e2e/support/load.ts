/**
 * A client load for fault tests: a loop POSTing small KV puts (`POST /v1/txs`, a few per request) round robin to the
 * nodes `targets()` names at the time — the live ones —, at a fixed modest pace, remembering every transaction a node
 * acknowledged (`accepted`: the 202 of the single-tx route) and which node did. The pace is pacing, not
 * synchronisation: tests wait on heights, never on this loop's timing.
 *
 * `assertCommitted` then checks the promise a client was made: every acknowledged transaction is eventually committed.
 */
import assert from "node:assert/strict";
import { encodeKvTx } from "../../../src/chain/app/kvTx.js";
import { randomBytes } from "node:crypto";
import { toHex, utf8 } from "../../../src/util/bytes.js";
import { logs, until } from "./network.js";
import type { TestNetwork } from "./network.js";

export interface Ack {
  readonly id: string;
  /** The node that acknowledged it. */
  readonly node: number;
}

export interface TxLoad {
  /** Every acknowledged transaction so far. */
  readonly acks: readonly Ack[];
  /** Stops the loop (idempotent); resolves once its last request settled. */
  stop(): Promise<LoadSummary>;
}

export interface LoadSummary {
  readonly acks: readonly Ack[];
  /** Requests to a node `targets()` still named when they failed (a live node refusing the load). */
  readonly errors: readonly string[];
}

export interface LoadOptions {
  /** The nodes to submit to, asked before every request (leave a node out before killing it). */
  readonly targets: () => readonly number[];
  /** Pause between requests (default 100 ms). */
  readonly intervalMs?: number;
  /** Transactions per request (default 5). */
  readonly batch?: number;
}

export function startTxLoad(net: TestNetwork, o: LoadOptions): TxLoad {
  const run = randomBytes(4).toString("hex");
  const batch = o.batch ?? 5;
  let running = true;
  const acks: Ack[] = [];
  const errors: string[] = [];
  const loop = (async () => {
    for (let round = 0; running; round++) {
      const nodes = o.targets();
      if (nodes.length > 0) {
        const node = nodes[round % nodes.length]!;
        const txs = Array.from({ length: batch }, (_, j) => {
          const nonce = new Uint8Array(8);
          new DataView(nonce.buffer).setUint32(4, round * batch + j);
          return encodeKvTx({ op: "put", nonce, key: utf8(`load/${run}/${round}/${j}`), value: utf8(`v${round}.${j}`) });
        });
        try {
          const r = await net.clients[node]!.submitTxs(txs);
          for (const x of r.results) if (x.status === "accepted") acks.push({ id: toHex(x.id), node });
        } catch (e) {
          // A request in flight to a node killed meanwhile may fail; a live node failing is the test's business.
          if (o.targets().includes(node)) errors.push(`node ${node}: ${String(e)}`);
        }
      }
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
    }
  })();
  return {
    acks,
    async stop() {
      running = false;
      await loop;
      return { acks, errors };
    },
  };
}

/** Waits until every id is committed on node `via` (a few queries in parallel); throws naming the first one missing. */
export async function assertCommitted(net: TestNetwork, ids: readonly string[], via: number, timeoutMs: number): Promise<void> {
  assert.ok(ids.length > 0, "no transaction was acknowledged: the load did not run");
  const deadline = Date.now() + timeoutMs;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const id = ids[next++];
      if (id === undefined) return;
      await until(
        `tx ${id.slice(0, 16)} committed on node ${via}`,
        async () => ((await net.clients[via]!.txStatus(id))?.status === "committed" ? true : undefined),
        Math.max(1, deadline - Date.now()),
        () => logs(net),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}
