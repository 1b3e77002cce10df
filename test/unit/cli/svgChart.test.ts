import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterChartSvg, escapeXml, niceTicks } from "../../../src/cli/svgChart.js";
import type { ChartData } from "../../../src/cli/svgChart.js";

/**
 * A small well-formedness check written for this test (no XML library in the tree): one root, every start tag
 * closed in order, attributes quoted and unique, only the five predefined entities, nothing outside the root but the
 * XML declaration. Returns the elements as {name, attrs, text} in document order.
 */
function parseXml(doc: string): { name: string; attrs: Record<string, string>; text: string }[] {
  const body = doc.replace(/^<\?xml[^?]*\?>\s*/, "");
  const elements: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const stack: { name: string; index: number }[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(body)) !== null) {
    pos = re.lastIndex;
    const [, close, name, attrText, selfClose, text] = m;
    if (text !== undefined) {
      assert.ok(stack.length > 0 || text.trim() === "", `text outside the root: ${text.slice(0, 40)}`);
      assert.doesNotMatch(text, /&(?!(amp|lt|gt|quot|apos);)/, `bad entity in ${text.slice(0, 40)}`);
      if (stack.length > 0) elements[stack[stack.length - 1]!.index]!.text += text;
      continue;
    }
    if (close === "/") {
      const top = stack.pop();
      assert.equal(top?.name, name, `</${name}> closes <${top?.name}>`);
      continue;
    }
    if (stack.length === 0) roots++;
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      assert.ok(!(a[1]! in attrs), `duplicate attribute ${a[1]} on <${name}>`);
      attrs[a[1]!] = a[2]!;
    }
    elements.push({ name: name!, attrs, text: "" });
    if (selfClose !== "/") stack.push({ name: name!, index: elements.length - 1 });
  }
  assert.equal(pos, body.length, `unparsable at ${body.slice(pos, pos + 60)}`);
  assert.equal(stack.length, 0, "unclosed elements");
  assert.equal(roots, 1);
  return elements;
}

const DATA: ChartData = {
  title: "4 validators <test> & co",
  subtitle: "bls blst",
  points: [
    { offered: 2000, committed: 1990, p50: 300, p99: 700, saturated: false },
    { offered: 3000, committed: 2950, p50: 420, p99: 900, saturated: false },
    { offered: 4500, committed: 3300, p50: 2400, p99: 5200, saturated: true },
  ],
  saturationOffered: 4500,
  floor: 2718,
  latencyTargetMs: 1000,
};

test("the chart is well-formed SVG with labelled axes, one point per step and series, the floor and the saturation mark", () => {
  const svg = clusterChartSvg(DATA);
  const els = parseXml(svg);
  assert.equal(els[0]!.name, "svg");
  assert.equal(els[0]!.attrs["xmlns"], "http://www.w3.org/2000/svg");
  const texts = els.filter((e) => e.name === "text").map((e) => e.text);
  assert.ok(texts.includes("4 validators &lt;test&gt; &amp; co"), "the title, escaped");
  assert.equal(texts.filter((t) => t === "offered tx/s").length, 2, "both x axes labelled");
  assert.ok(texts.includes("committed tx/s"));
  assert.ok(texts.some((t) => t.startsWith("latency")));
  assert.ok(texts.some((t) => t.includes("cost floor") && t.includes("2.7k")));
  const points = els.filter((e) => e.name === "circle");
  const bySeries = (s: string) => points.filter((p) => p.attrs["data-series"] === s);
  for (const s of ["committed tx/s", "p50 ms", "p99 ms"]) assert.equal(bySeries(s).length, 3, s);
  // The data survive into the points, and higher offered rates sit further right; higher values higher up.
  assert.deepEqual(bySeries("committed tx/s").map((p) => Number(p.attrs["data-y"])), [1990, 2950, 3300]);
  const xs = bySeries("p99 ms").map((p) => Number(p.attrs["cx"]));
  assert.ok(xs[0]! < xs[1]! && xs[1]! < xs[2]!);
  const ys = bySeries("p99 ms").map((p) => Number(p.attrs["cy"]));
  assert.ok(ys[0]! > ys[1]! && ys[1]! > ys[2]!, "SVG y grows downwards");
  // Saturation: a dashed line on both panels at the saturated step's x.
  const sat = els.filter((e) => e.attrs["class"] === "saturation");
  assert.equal(sat.length, 2);
  const committedAtSat = bySeries("committed tx/s")[2]!;
  assert.equal(sat[0]!.attrs["x1"], committedAtSat.attrs["cx"]);
});

test("without a floor, saturation or commits the chart is still well-formed and says nothing false", () => {
  const svg = clusterChartSvg({ ...DATA, floor: null, saturationOffered: null, points: [{ offered: 500, committed: 0, p50: null, p99: null, saturated: true }] });
  const els = parseXml(svg);
  assert.equal(els.filter((e) => e.attrs["class"] === "saturation").length, 0);
  assert.equal(els.filter((e) => e.attrs["class"] === "floor").length, 0);
  assert.equal(els.filter((e) => e.name === "circle" && e.attrs["data-series"] === "p50 ms").length, 0);
});

test("niceTicks: 1/2/5 steps from 0 covering the maximum; escapeXml", () => {
  assert.deepEqual(niceTicks(4500), [0, 1000, 2000, 3000, 4000, 5000]);
  assert.deepEqual(niceTicks(1000), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.equal(escapeXml(`a<b>&"c"`), "a&lt;b&gt;&amp;&quot;c&quot;");
});
