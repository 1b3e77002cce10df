import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchResult, BenchSuite } from "./harness.js";
import { matchesFilter } from "./harness.js";
import { Mempool } from "../src/chain/mempool.js";
import { LmdbChainStore } from "../src/chain/store/lmdbStore.js";
import { encodeKvTx } from "../src/chain/app/kvTx.js";
import { submitJournaled, TxJournal } from "../src/node/txJournal.js";
import type { NodeApi } from "../src/rpc/api.js";
import { encodeTxBatchBody } from "../src/rpc/client.js";
import { RpcServer } from "../src/rpc/server.js";
import { toHex, utf8 } from "../src/util/bytes.js";

/**
 * `quire bench rpc`: what "acknowledged means durable" costs on the submission path. A real RpcServer (uWS, HTTP on
 * 127.0.0.1) in front of the node's own submit (`submitJournaled`: mempool admission, then the group-committed journal
 * in an LMDB store on disk, fsync'd), driven by concurrent HTTP clients in this process, against the same server and
 * mempool with no journal (the code before: the 202 went out as soon as the mempool took the tx). Modes alternate
 * trial by trial in one run. Rows: submissions/s (`ops/s`), mean and p50 latency of one request; p99 and the number
 * of group writes are printed below the table.
 *
 * Cases: single txs (`POST /v1/tx`, 32 clients at once) and batches (`POST /v1/txs` of 100, 4 clients at once, as JSON
 * and as the binary length-prefixed form), KV puts
 * of 100 bytes.
 */

const TX_BYTES = 100;
const CLIENTS = 32;
const SINGLES_PER_TRIAL = 4_000;
const BATCH = 100;
const BATCH_CLIENTS = 4;
const BATCHES_PER_TRIAL = 80;
const TRIALS = 3;

type Mode = "memory" | "journaled";

interface Subject {
  readonly url: string;
  readonly journal: TxJournal | null;
  stop(): Promise<void>;
}

let txSeq = 0;
function nextTx(): Uint8Array {
  const nonce = new Uint8Array(8);
  new DataView(nonce.buffer).setUint32(4, ++txSeq);
  const key = utf8(`bench/${txSeq}`);
  return encodeKvTx({ op: "put", nonce, key, value: new Uint8Array(TX_BYTES - 16 - key.length).fill(0x63) });
}

function unused(): never {
  throw new Error("not part of this benchmark");
}

async function startSubject(mode: Mode): Promise<Subject> {
  const mempool = new Mempool({ maxTxs: 10_000_000, maxBytes: 2 ** 40, maxTxsPerClient: 10_000_000, maxBytesPerClient: 2 ** 40 });
  const dir = mode === "journaled" ? mkdtempSync(join(tmpdir(), "quire-bench-rpc-")) : null;
  const store = dir === null ? null : await LmdbChainStore.open({ path: dir, chainId: utf8("bench") });
  const journal =
    store === null
      ? null
      : new TxJournal({
          store,
          defer: (fn) => setImmediate(fn),
          now: Date.now,
          onError: (e) => {
            throw e;
          },
        });
  const api: NodeApi = {
    submitTx: (tx, clientId) => submitJournaled(mempool, journal, tx, clientId),
    txStatus: unused,
    block: unused,
    blockTxIds: unused,
    blockBody: unused,
    proof: unused,
    kv: unused,
    account: unused,
    supply: unused,
    status: unused,
    evidence: unused,
    genesisDocument: unused,
    health: unused,
    peers: unused,
    validators: unused,
    epochs: unused,
    effectiveConfig: unused,
    consensus: unused,
    onCommittedHeader: () => () => {},
  };
  const server = new RpcServer({ host: "127.0.0.1", port: 0 }, { api });
  await server.start();
  return {
    url: server.url,
    journal,
    async stop() {
      await server.stop();
      await store?.close();
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `count` requests from `clients` concurrent loops; each request's latency (ms). Checks every answer is a 202. */
async function drive(clients: number, count: number, send: () => Promise<Response>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let left = count;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0) {
        const t = performance.now();
        const res = await send();
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`bench rpc: answer ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, latencies };
}

interface Case {
  readonly group: string;
  readonly clients: number;
  readonly requests: number;
  readonly txsPerRequest: number;
  readonly send: (url: string) => Promise<Response>;
}

const CASES: readonly Case[] = [
  {
    group: `POST /v1/tx, ${CLIENTS} clients`,
    clients: CLIENTS,
    requests: SINGLES_PER_TRIAL,
    txsPerRequest: 1,
    send: (url) => fetch(`${url}/v1/tx`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: nextTx() }),
  },
  {
    group: `POST /v1/txs of ${BATCH}, ${BATCH_CLIENTS} clients`,
    clients: BATCH_CLIENTS,
    requests: BATCHES_PER_TRIAL,
    txsPerRequest: BATCH,
    send: (url) => fetch(`${url}/v1/txs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ txs: Array.from({ length: BATCH }, () => toHex(nextTx())) }) }),
  },
  {
    // The same batch as length-prefixed bytes (what `quire load` sends): no hex or JSON on either end.
    group: `POST /v1/txs of ${BATCH} binary, ${BATCH_CLIENTS} clients`,
    clients: BATCH_CLIENTS,
    requests: BATCHES_PER_TRIAL,
    txsPerRequest: BATCH,
    send: (url) => fetch(`${url}/v1/txs`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: encodeTxBatchBody(Array.from({ length: BATCH }, () => nextTx())) }),
  },
];

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

export const suite: BenchSuite = {
  flags: [],
  async run(_flags, opts) {
    const rows: BenchResult[] = [];
    const notes: string[] = [];
    for (const c of CASES) {
      const modes: { mode: Mode; backend: string }[] = [
        { mode: "memory", backend: "mempool only (before)" },
        { mode: "journaled", backend: "journaled to LMDB (after)" },
      ];
      const selected = modes.filter((m) => matchesFilter(`${c.group} ${m.backend}`, opts.filter));
      if (selected.length === 0) continue;
      const acc = new Map<Mode, { seconds: number; latencies: number[]; groups: number; written: number }>();
      for (let trial = 0; trial < TRIALS; trial++) {
        for (const m of selected) {
          const s = await startSubject(m.mode);
          try {
            const r = await drive(c.clients, c.requests, () => c.send(s.url));
            const a = acc.get(m.mode) ?? { seconds: 0, latencies: [], groups: 0, written: 0 };
            a.seconds += r.seconds;
            a.latencies.push(...r.latencies);
            a.groups += s.journal?.groups ?? 0;
            a.written += s.journal?.written ?? 0;
            acc.set(m.mode, a);
          } finally {
            await s.stop();
          }
          process.stderr.write(".");
        }
      }
      let base: BenchResult | undefined;
      for (const m of selected) {
        const a = acc.get(m.mode)!;
        const lat = [...a.latencies].sort((x, y) => x - y);
        const txs = c.requests * c.txsPerRequest * TRIALS;
        const row: BenchResult = {
          suite: "rpc",
          group: c.group,
          name: `${c.group} ${m.backend}`,
          backend: m.backend,
          size: TX_BYTES,
          items: c.txsPerRequest,
          meanNs: (lat.reduce((x, y) => x + y, 0) / lat.length) * 1e6,
          p50Ns: percentile(lat, 0.5) * 1e6,
          // Transactions (not requests) per second.
          opsPerSec: txs / a.seconds,
          samples: lat.length,
          speedupVsBaseline: null,
        };
        base ??= row;
        row.speedupVsBaseline = row.opsPerSec / base.opsPerSec;
        rows.push(row);
        notes.push(
          `${c.group}, ${m.backend}: ${Math.round(row.opsPerSec).toLocaleString("en-US")} txs/s, latency p50 ${percentile(lat, 0.5).toFixed(2)} ms, p99 ${percentile(lat, 0.99).toFixed(2)} ms` +
            (m.mode === "journaled" ? `, ${a.groups} group writes for ${a.written} txs (${(a.written / Math.max(1, a.groups)).toFixed(1)} per fsync)` : ""),
        );
      }
    }
    process.stderr.write("\n" + notes.join("\n") + "\n");
    return rows;
  },
};
