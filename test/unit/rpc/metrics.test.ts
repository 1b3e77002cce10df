import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { createRpcMetrics } from "../../../src/rpc/metrics.js";
import { PromParseError, PromScrape, parsePromText } from "../../support/promText.js";

// Written by hand from the text format's description (not rendered by prom-client): the oracle's own check.
const HAND_WRITTEN = [
  "# A plain comment is ignored.",
  "# HELP http_requests_total Requests, with a \\\\ and a \\n in the help.",
  "# TYPE http_requests_total counter",
  'http_requests_total{method="post",code="200"} 1027 1395066363000',
  'http_requests_total{method="post",code="400",} 3',
  "",
  "# TYPE odd_labels gauge",
  'odd_labels{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb"} -1.5e-3',
  "# HELP latency_seconds A histogram.",
  "# TYPE latency_seconds histogram",
  'latency_seconds_bucket{le="0.1"} 2',
  'latency_seconds_bucket{le="1"} 5',
  'latency_seconds_bucket{le="+Inf"} 6',
  "latency_seconds_sum 7.25",
  "latency_seconds_count 6",
  "# TYPE up gauge",
  "up NaN",
  "",
].join("\n");

test("the test parser reads a hand-written exposition: types, help, escapes, trailing commas, timestamps", () => {
  const f = parsePromText(HAND_WRITTEN);
  assert.deepEqual([...f.keys()], ["http_requests_total", "odd_labels", "latency_seconds", "up"]);
  const reqs = f.get("http_requests_total")!;
  assert.equal(reqs.type, "counter");
  assert.equal(reqs.help, "Requests, with a \\ and a \n in the help.");
  assert.deepEqual(reqs.samples[0], { name: "http_requests_total", labels: { method: "post", code: "200" }, value: 1027 });
  assert.deepEqual(f.get("odd_labels")!.samples[0], { name: "odd_labels", labels: { path: "C:\\dir", quote: 'say "hi"', nl: "a\nb" }, value: -0.0015 });
  const s = new PromScrape(HAND_WRITTEN);
  assert.equal(s.value("latency_seconds_bucket", { le: "1" }), 5);
  assert.equal(s.value("latency_seconds_count"), 6);
  assert.equal(s.count("http_requests_total", { code: "400", method: "post" }), 3);
  assert.equal(s.count("http_requests_total", { code: "500", method: "post" }), 0);
  assert.equal(s.total("http_requests_total"), 1030);
  assert.ok(Number.isNaN(s.value("up")!));
  assert.throws(() => s.family("http_request_total"), /no metric family http_request_total/);
});

test("the test parser refuses what a strict scraper would", () => {
  const bad: [string, string][] = [
    ["a sample without TYPE", "x 1\n"],
    ["no final newline", "# TYPE x gauge\nx 1"],
    ["a bad escape", '# TYPE x gauge\nx{a="\\t"} 1\n'],
    ["an unterminated label", '# TYPE x gauge\nx{a="1} 1\n'],
    ["a bad value", "# TYPE x gauge\nx one\n"],
    ["the same series twice", '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ["a family split in two", "# TYPE x gauge\n# TYPE y gauge\ny 1\nx 1\n"],
    ["TYPE twice", "# TYPE x gauge\n# TYPE x gauge\n"],
    ["buckets not cumulative", '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
    ["+Inf bucket differs from _count", '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ["no +Inf bucket", '# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 1\nh_count 2\n'],
  ];
  for (const [what, text] of bad) assert.throws(() => parsePromText(text), PromParseError, what);
});

test("RPC metrics: a populated registry scrapes to well-formed text with the values fed", async () => {
  const m = createRpcMetrics(new Registry());
  m.requests.inc({ route: "status", status: "200" });
  m.requests.inc({ route: "status", status: "200" });
  m.requests.inc({ route: "tx_submit", status: "413" });
  m.rejectedBodies.inc({ code: 'a"b\\c\nd' });
  m.streamSubscribers.set(3);
  m.streamFrames.inc(5);
  const s = new PromScrape(await m.registry.metrics());
  assert.equal(s.count("quire_rpc_requests_total", { route: "status", status: "200" }), 2);
  assert.equal(s.count("quire_rpc_requests_total", { route: "tx_submit", status: "413" }), 1);
  assert.equal(s.total("quire_rpc_requests_total"), 3);
  // A label value with every character the format escapes comes back unchanged.
  assert.equal(s.count("quire_rpc_rejected_bodies_total", { code: 'a"b\\c\nd' }), 1);
  assert.equal(s.value("quire_rpc_stream_subscribers"), 3);
  assert.equal(s.count("quire_rpc_stream_frames_total"), 5);
  // Every series the README lists is there with its type and a help text; nothing else is.
  const expected: Record<string, string> = {
    quire_rpc_requests_total: "counter",
    quire_rpc_requests_aborted_total: "counter",
    quire_rpc_rejected_bodies_total: "counter",
    quire_rpc_handler_errors_total: "counter",
    quire_rpc_request_timeouts_total: "counter",
    quire_rpc_txs_total: "counter",
    quire_rpc_stream_subscribers: "gauge",
    quire_rpc_stream_subscriptions_total: "counter",
    quire_rpc_stream_refused_total: "counter",
    quire_rpc_stream_dropped_total: "counter",
    quire_rpc_stream_frames_total: "counter",
    quire_rpc_stream_errors_total: "counter",
    quire_rpc_source_refused_total: "counter",
    quire_rpc_sources: "gauge",
    quire_rpc_uploads_in_flight: "gauge",
  };
  assert.deepEqual(Object.fromEntries([...s.families.values()].map((f) => [f.name, f.type])), expected);
  for (const f of s.families.values()) assert.ok((f.help ?? "").length > 10, `${f.name} has a help text`);
});
