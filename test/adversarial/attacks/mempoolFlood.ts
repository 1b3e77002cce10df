/**
 * Mempool starvation from one source: submits valid KV transactions to every node as fast as their pools take them,
 * from ATTACKER_HOST (one client address for the nodes' quotas).
 *
 *   node mempoolFlood.js DURATION_MS BIND_ADDRESS RPC_URL ...
 *
 * Per node, `INFLIGHT` requests at a time, each a `POST /v1/txs` of `BATCH` puts of `VALUE_BYTES`; after a 503 the
 * batch is re-offered `FULL_PAUSE_MS` later (the pool is full: as soon as it drains, the next batch is there), never
 * after the Retry-After an honest client would wait. After DURATION_MS or on SIGTERM it prints one JSON line (requests, txs
 * accepted, 503s, errors) and exits 0.
 */
import { request } from "node:http";
import { randomBytes } from "node:crypto";
import { encodeKvTx } from "../../../src/chain/app/kvTx.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";
import { runAttack } from "../../e2e/support/validatorLink.js";

const BATCH = 256;
const INFLIGHT = 2;
const VALUE_BYTES = 64;
/** 100 ms: refilled within a block interval of the freed room, without turning the attack into an HTTP flood (that one is the RPC's per-source request limit's business, not the mempool's). */
const FULL_PAUSE_MS = 100;

interface Counts {
  requests: number;
  accepted: number;
  full503: number;
  otherStatus: number;
  errors: number;
}

function post(url: URL, localAddress: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: "/v1/txs", method: "POST", localAddress, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const [durationArg, bind, ...urls] = argv;
  if (durationArg === undefined || bind === undefined || urls.length === 0) throw new Error("usage: mempoolFlood.js DURATION_MS BIND_ADDRESS RPC_URL ...");
  const end = Date.now() + Number(durationArg);
  let stopped = false;
  process.once("SIGTERM", () => (stopped = true));
  const run = randomBytes(4).toString("hex");
  const value = new Uint8Array(VALUE_BYTES).fill(0x61);
  const counts: Counts = { requests: 0, accepted: 0, full503: 0, otherStatus: 0, errors: 0 };
  let seq = 0;
  const worker = async (url: URL) => {
    while (!stopped && Date.now() < end) {
      const txs: string[] = [];
      for (let i = 0; i < BATCH; i++) {
        const nonce = new Uint8Array(8);
        new DataView(nonce.buffer).setUint32(4, ++seq);
        txs.push(toHex(encodeKvTx({ op: "put", nonce, key: utf8(`flood/${run}/${seq}`), value })));
      }
      counts.requests++;
      try {
        const r = await post(url, bind, JSON.stringify({ txs }));
        const doc = JSON.parse(r.text) as { results?: { status: string }[] };
        counts.accepted += (doc.results ?? []).filter((x) => x.status === "accepted").length;
        if (r.status === 503) {
          counts.full503++;
          await new Promise((res) => setTimeout(res, FULL_PAUSE_MS));
        } else if (r.status !== 202) counts.otherStatus++;
      } catch {
        counts.errors++;
        await new Promise((res) => setTimeout(res, FULL_PAUSE_MS));
      }
    }
  };
  await Promise.all(urls.flatMap((u) => Array.from({ length: INFLIGHT }, () => worker(new URL(u)))));
  process.stdout.write(JSON.stringify(counts) + "\n");
}

runAttack("mempoolFlood", () => main(process.argv.slice(2)));
