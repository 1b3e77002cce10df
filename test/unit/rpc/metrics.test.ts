import { test } from "node:test";
import assert from "node:assert/strict";
import { MetricFamily, RpcMetrics, escapeLabelValue } from "../../../src/rpc/metrics.js";

// The text exposition format 0.0.4: comment lines, or `name{label="value",...} number`.
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? -?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$/;
const COMMENT = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/;

test("label values are escaped as the exposition format requires", () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const f = new MetricFamily("x_total", "help", "counter", ["k"]);
  f.inc(['a"b\\c\nd'], 2);
  const out: string[] = [];
  f.render(out);
  assert.deepEqual(out, ["# HELP x_total help", "# TYPE x_total counter", 'x_total{k="a\\"b\\\\c\\nd"} 2']);
  assert.throws(() => f.inc([]), RangeError);
});

test("every line of a populated registry parses; values add up per series", () => {
  const m = new RpcMetrics();
  m.requests.inc(["status", "200"]);
  m.requests.inc(["status", "200"]);
  m.requests.inc(["tx_submit", "413"]);
  m.rejectedBodies.inc(["BODY_TOO_LARGE"]);
  m.streamSubscribers.set([], 3);
  const text = m.render();
  assert.ok(text.endsWith("\n"));
  for (const line of text.trimEnd().split("\n")) assert.ok(SAMPLE.test(line) || COMMENT.test(line), `bad line: ${line}`);
  assert.match(text, /^quire_rpc_requests_total\{route="status",status="200"\} 2$/m);
  assert.match(text, /^quire_rpc_requests_total\{route="tx_submit",status="413"\} 1$/m);
  assert.match(text, /^quire_rpc_stream_subscribers 3$/m);
  assert.match(text, /^quire_rpc_handler_errors_total$|^# TYPE quire_rpc_handler_errors_total counter$/m);
  assert.equal(m.requests.total(), 3);
  // Each family is declared exactly once.
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
  assert.equal(new Set(types.map((l) => l.split(" ")[2])).size, types.length);
});
