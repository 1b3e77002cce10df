/**
 * Garbage in, typed errors out: a few thousand random and mutated requests (fetch with random methods, paths,
 * headers and bodies; raw TCP with mutated, truncated and random bytes; broken WebSocket upgrades) against one
 * server. Afterwards the server must still answer, no handler may have thrown, no body budget may leak, and every
 * answer our handlers gave must be a success or a typed error whose status matches the error catalogue.
 * Replay a failure with QUIRE_SEED.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { RawConn } from "../../support/rawHttp.js";
import { eventually, http, startHarness } from "../../support/rpcHttp.js";
import { seededRng } from "../../support/seed.js";
import { RPC_ERRORS } from "../../../src/rpc/errors.js";
import type { SeededRng } from "../../../src/util/rng.js";
import { toHex } from "../../../src/util/bytes.js";

const LIMITS = { maxTxBytes: 2048, maxBatchBodyBytes: 16 * 1024, maxBatchTxs: 32, maxUrlBytes: 600 };
const FETCH_REQUESTS = 2400;
const RAW_REQUESTS = 800;
const CONCURRENCY = 24;

const METHODS = ["GET", "GET", "GET", "POST", "POST", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "FROB", "get", "constructor", "__proto__", "hasOwnProperty"];
const TYPES = ["application/octet-stream", "application/json", "application/json; charset=utf-8", "text/plain", "", "multipart/form-data; boundary=x", "application/octet-stream;", "APPLICATION/JSON", "application/x-www-form-urlencoded"];
const SEGMENTS = ["v1", "tx", "txs", "blocks", "proof", "kv", "status", "stream", "metrics", "latest", "", ".", "..", "%00", "%zz", "%", "0", "1", "-1", "01"];

function randomText(rng: SeededRng, n: number): string {
  const alphabet = "abcdefABCDEF0123456789%/._~-+?#&=:@!$'()*,;[]{}\"\\ <>^`|";
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
  return s;
}

function randomPath(rng: SeededRng, height: number): string {
  const hex = (n: number) => toHex(rng.bytes(n));
  switch (rng.int(10)) {
    case 0:
      return `/v1/tx/${rng.chance(0.5) ? hex(32) : randomText(rng, rng.int(70))}`;
    case 1:
      return `/v1/blocks/${rng.pick([String(rng.int(height + 3)), "latest", randomText(rng, rng.int(20)), String(2 ** 53 + rng.int(9))])}`;
    case 2:
      return `/v1/blocks/${rng.int(height + 2)}/proof/${rng.pick([String(rng.int(6)), randomText(rng, 4), "-0"])}`;
    case 3:
      return `/v1/kv/${rng.chance(0.5) ? encodeURIComponent(randomText(rng, rng.int(30))) : randomText(rng, rng.int(30))}`;
    case 4:
      return rng.pick(["/v1/tx", "/v1/txs", "/v1/status", "/metrics", "/", "/v1/stream"]);
    case 5:
      return `/${Array.from({ length: rng.range(1, 6) }, () => rng.pick(SEGMENTS)).join("/")}`;
    case 6:
      return `/v1/kv/${"k".repeat(rng.range(500, 700))}`;
    case 7:
      return rng.chance(0.5)
        ? `/v1/${rng.pick(["status", "blocks", "genesis"])}?${randomText(rng, rng.int(100))}`
        : `/v1/blocks?${rng.pick(["from", "to", "x", ""])}=${rng.pick([String(rng.int(height + 3)), String(rng.int(300)), randomText(rng, 4)])}&${rng.pick(["to", "from"])}=${rng.int(height + 300)}`;
    default:
      return `/${randomText(rng, rng.int(60))}`;
  }
}

function randomBody(rng: SeededRng): Uint8Array | string | undefined {
  switch (rng.int(9)) {
    case 0:
      return undefined;
    case 1:
      return rng.bytes(rng.int(64));
    case 2:
      return rng.bytes(rng.range(LIMITS.maxTxBytes - 2, LIMITS.maxTxBytes + 2));
    case 3: {
      const txs = Array.from({ length: rng.int(40) }, () => toHex(rng.bytes(rng.range(0, 40))));
      return JSON.stringify({ txs });
    }
    case 4: {
      // A valid batch, truncated or with a byte flipped.
      const doc = JSON.stringify({ txs: Array.from({ length: rng.range(1, 5) }, () => toHex(rng.bytes(8))) });
      const b = Buffer.from(doc);
      if (rng.chance(0.5)) return b.subarray(0, rng.int(b.length));
      b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 5:
      return rng.pick(['{"txs": null}', '{"txs": [1, 2]}', '{"txs": ["zz"]}', "[]", "null", '"str"', '{"txs": [""]}', "[".repeat(5000), '{"__proto__": {"txs": ["00"]}}']);
    case 6:
      return JSON.stringify({ txs: Array.from({ length: 33 }, () => "00") });
    case 7:
      return "ab".repeat(rng.range(8000, 8400));
    default:
      return randomText(rng, rng.int(200));
  }
}

/** Mutates a valid request text: byte flips, insertions, deletions, truncation. */
function mutate(rng: SeededRng, base: string): Buffer {
  const b = [...Buffer.from(base, "latin1")];
  const edits = rng.range(1, 6);
  for (let i = 0; i < edits; i++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(4)) {
      case 0:
        if (at < b.length) b[at] = rng.int(256);
        break;
      case 1:
        b.splice(at, 0, ...rng.bytes(rng.range(1, 8)));
        break;
      case 2:
        b.splice(at, rng.range(1, 8));
        break;
      default:
        b.length = Math.min(b.length, at);
    }
  }
  return Buffer.from(b);
}

const VALID_RAW = [
  "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n",
  "POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\nabcd",
  'POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"txs":["00"]}',
  "POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
  "GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  "GET /v1/blocks/1/proof/0 HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/kv/a HTTP/1.1\r\nHost: x\r\n\r\n",
];

function rawPayload(rng: SeededRng): Buffer {
  switch (rng.int(6)) {
    case 0:
      return Buffer.from(rng.bytes(rng.int(600)));
    case 1:
      // Declares more body than it sends, then hangs up.
      return Buffer.from(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${rng.range(10, 2000)}\r\n\r\n${randomText(rng, rng.int(9))}`, "latin1");
    case 2:
      // Chunk sizes that lie or are not hex; bodies over the limit.
      return Buffer.from(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n${rng.pick(["zz", "ffffffffffffffffff", "-1", "5", "800"])}\r\n${"q".repeat(rng.int(3000))}\r\n`, "latin1");
    case 3:
      return Buffer.from(`${rng.pick(["CONNECT", "TRACE", "GET", "PRI", "BREW"])} ${rng.pick(["*", "http://x/v1/status", "/v1/status", "v1/status", ""])} HTTP/1.1\r\nHost: x\r\n\r\n`, "latin1");
    default:
      return mutate(rng, rng.pick(VALID_RAW));
  }
}

test("a few thousand garbage requests: the server keeps answering, no handler throws, every answer is typed", async (t) => {
  const rng = seededRng(t);
  const crashes: unknown[] = [];
  const onCrash = (e: unknown): void => void crashes.push(e);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  const h = await startHarness({ limits: LIMITS, fake: { capacity: 40, mode: rng.chance(0.5) ? "async" : "sync" } });
  const statuses = new Map<number, number>();
  const subscriber = new WebSocket(`${h.base.replace(/^http/, "ws")}/v1/stream`);
  let frames = 0;
  subscriber.on("message", () => frames++);
  subscriber.on("error", () => {});
  await new Promise((r) => subscriber.once("open", r));
  try {
    // Requests are generated up front from the seed, so the sequence (not the interleaving) replays exactly.
    type Job = { kind: "fetch"; method: string; path: string; type: string | undefined; body: Uint8Array | string | undefined } | { kind: "raw"; bytes: Buffer } | { kind: "commit" };
    const jobs: Job[] = [];
    for (let i = 0; i < FETCH_REQUESTS; i++) {
      if (i % 60 === 0) jobs.push({ kind: "commit" });
      const height = Math.floor(i / 60);
      const aim = rng.int(4);
      if (aim === 0) {
        // Aimed at the submit routes with the right media type, so bodies reach the parsers and the mempool.
        const batch = rng.chance(0.5);
        const body = batch ? randomBody(rng) : rng.chance(0.7) ? rng.bytes(rng.range(1, 64)) : randomBody(rng);
        jobs.push({ kind: "fetch", method: "POST", path: batch ? "/v1/txs" : "/v1/tx", type: batch ? "application/json" : "application/octet-stream", body });
      } else if (aim === 1) {
        jobs.push({ kind: "fetch", method: rng.chance(0.9) ? "GET" : "HEAD", path: randomPath(rng, height), type: undefined, body: undefined });
      } else {
        const method = rng.pick(METHODS);
        const body = method === "GET" || method === "HEAD" || method === "get" ? undefined : randomBody(rng);
        jobs.push({ kind: "fetch", method, path: randomPath(rng, height), type: rng.chance(0.9) ? rng.pick(TYPES) : undefined, body });
      }
    }
    for (let i = 0; i < RAW_REQUESTS; i++) jobs.push({ kind: "raw", bytes: rawPayload(rng) });
    rng.shuffle(jobs);

    const run = async (job: Job): Promise<void> => {
      if (job.kind === "commit") {
        h.api.commit();
        return;
      }
      if (job.kind === "raw") {
        const c = await RawConn.open(h.server.port);
        c.write(job.bytes);
        c.end();
        await c.waitClose(5000);
        c.destroy();
        return;
      }
      const bodyLength = job.body === undefined ? 0 : typeof job.body === "string" ? Buffer.byteLength(job.body) : job.body.length;
      let a;
      try {
        a = await http(h.base, job.method, job.path, { ...(job.body === undefined ? {} : { body: job.body }), ...(job.type === undefined ? {} : { type: job.type }) });
      } catch (e) {
        // Only an upload cut short by a 413 may end without a readable answer.
        assert.ok(bodyLength > LIMITS.maxTxBytes, `${job.method} ${job.path}: fetch failed: ${String(e)}`);
        return;
      }
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      if (a.status === 200 || a.status === 202) return;
      if (job.method === "HEAD") return; // no body to check
      const code = (a.json as { error?: { code?: string } } | undefined)?.error?.code;
      assert.ok(code !== undefined && code in RPC_ERRORS, `${job.method} ${job.path}: untyped ${a.status}: ${a.text.slice(0, 200)}`);
      assert.equal(RPC_ERRORS[code as keyof typeof RPC_ERRORS], a.status, `${job.method} ${job.path}: ${code} with status ${a.status}`);
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < jobs.length) await run(jobs[next++]!);
      }),
    );

    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; stream frames: ${frames}`);
    const status = await http(h.base, "GET", "/v1/status");
    assert.equal(status.status, 200);
    assert.equal(await h.total("quire_rpc_handler_errors_total"), 0, JSON.stringify(h.logger.errors.slice(0, 3)));
    assert.deepEqual(h.logger.errors, []);
    assert.equal(await h.count("quire_rpc_stream_errors_total"), 0);
    assert.deepEqual(crashes, []);
    await eventually(() => h.server.bodyBytesInFlight === 0, "every body claim to be released");
    assert.ok(statuses.size >= 8, "the garbage reached many different answers");
    await eventually(() => frames === h.api.height, `the stream subscriber to see all ${h.api.height} blocks (has ${frames})`);
  } finally {
    subscriber.close();
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
    await h.server.stop();
  }
});
