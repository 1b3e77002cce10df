/**
 * The chart of `quire bench cluster`: a self-contained SVG (no script, no external font or style) a browser opens
 * from disk. Two panels over the same x axis (offered tx/s):
 *   left:  committed tx/s per step, the y = x line (everything offered is committed), the cost floor if measured;
 *   right: p50 and p99 latency submit → committed (ms), the 1 s p99 target line.
 * Both mark the saturation point (a dashed vertical line at its offered rate) and label every axis.
 */

export interface ChartPoint {
  readonly offered: number;
  readonly committed: number;
  /** Latencies in ms; null when the step saw no commit. */
  readonly p50: number | null;
  readonly p99: number | null;
  readonly saturated: boolean;
}

export interface ChartData {
  readonly title: string;
  /** A second line under the title (machine, backends, date). */
  readonly subtitle: string;
  readonly points: readonly ChartPoint[];
  /** The offered rate at which saturation was declared, if any. */
  readonly saturationOffered: number | null;
  /** The cost floor in tx/s, if measured. */
  readonly floor: number | null;
  /** The latency target drawn on the right panel (ms). */
  readonly latencyTargetMs: number;
}

const W = 1000;
const H = 460;
const PANEL = { w: 400, h: 320, top: 80 };
const LEFT_X = 80;
const RIGHT_X = 570;

/** XML-escapes text content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Round tick values covering [0, max]: 1, 2 or 5 × a power of ten, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  if (ticks[ticks.length - 1]! < max) ticks.push(+(ticks[ticks.length - 1]! + step).toPrecision(12));
  return ticks;
}

function fmt(v: number): string {
  if (v >= 1000 && v % 1000 === 0) return `${v / 1000}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  return String(v);
}

interface Panel {
  readonly x0: number;
  readonly xMax: number;
  readonly yMax: number;
  px(v: number): number;
  py(v: number): number;
}

function panel(x0: number, xMax: number, yMax: number): Panel {
  return {
    x0,
    xMax,
    yMax,
    px: (v) => +(x0 + (v / xMax) * PANEL.w).toFixed(1),
    py: (v) => +(PANEL.top + PANEL.h - (Math.min(v, yMax) / yMax) * PANEL.h).toFixed(1),
  };
}

function axes(p: Panel, xTicks: number[], yTicks: number[], xLabel: string, yLabel: string): string[] {
  const out: string[] = [];
  const bottom = PANEL.top + PANEL.h;
  out.push(`<rect x="${p.x0}" y="${PANEL.top}" width="${PANEL.w}" height="${PANEL.h}" fill="none" stroke="#444"/>`);
  for (const t of xTicks) {
    const x = p.px(t);
    out.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 5}" stroke="#444"/>`);
    out.push(`<text x="${x}" y="${bottom + 18}" text-anchor="middle" class="tick">${fmt(t)}</text>`);
  }
  for (const t of yTicks) {
    const y = p.py(t);
    out.push(`<line x1="${p.x0}" y1="${y}" x2="${p.x0 + PANEL.w}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${p.x0 - 8}" y="${y + 4}" text-anchor="end" class="tick">${fmt(t)}</text>`);
  }
  out.push(`<text x="${p.x0 + PANEL.w / 2}" y="${bottom + 40}" text-anchor="middle" class="label">${escapeXml(xLabel)}</text>`);
  const ly = PANEL.top + PANEL.h / 2;
  out.push(`<text x="${p.x0 - 58}" y="${ly}" text-anchor="middle" class="label" transform="rotate(-90 ${p.x0 - 58} ${ly})">${escapeXml(yLabel)}</text>`);
  return out;
}

function series(p: Panel, pts: readonly (readonly [number, number])[], color: string, name: string): string[] {
  if (pts.length === 0) return [];
  const path = pts.map(([x, y], i) => `${i === 0 ? "M" : "L"}${p.px(x)},${p.py(y)}`).join(" ");
  return [
    `<path d="${path}" fill="none" stroke="${color}" stroke-width="2" class="series" data-series="${escapeXml(name)}"/>`,
    ...pts.map(([x, y]) => `<circle cx="${p.px(x)}" cy="${p.py(y)}" r="4" fill="${color}" class="point" data-series="${escapeXml(name)}" data-x="${x}" data-y="${y}"><title>${escapeXml(`${name}: ${fmt(Math.round(y))} at ${fmt(Math.round(x))} tx/s offered`)}</title></circle>`),
  ];
}

function saturationMark(p: Panel, offered: number | null): string[] {
  if (offered === null) return [];
  const x = p.px(offered);
  return [
    `<line x1="${x}" y1="${PANEL.top}" x2="${x}" y2="${PANEL.top + PANEL.h}" stroke="#c00" stroke-dasharray="6 4" class="saturation"/>`,
    `<text x="${x + 4}" y="${PANEL.top + 14}" class="note" fill="#c00">saturation</text>`,
  ];
}

function legend(x: number, items: readonly (readonly [string, string])[]): string[] {
  return items.flatMap(([color, name], i) => [
    `<line x1="${x + i * 150}" y1="${PANEL.top - 14}" x2="${x + i * 150 + 20}" y2="${PANEL.top - 14}" stroke="${color}" stroke-width="2"/>`,
    `<text x="${x + i * 150 + 26}" y="${PANEL.top - 10}" class="tick">${escapeXml(name)}</text>`,
  ]);
}

/** The SVG document for `data` (see the module comment). */
export function clusterChartSvg(data: ChartData): string {
  const pts = [...data.points].sort((a, b) => a.offered - b.offered);
  const xMax = niceTicks(Math.max(1, ...pts.map((p) => p.offered)));
  const xTop = xMax[xMax.length - 1]!;
  const yThr = niceTicks(Math.max(1, ...pts.map((p) => p.committed), data.floor ?? 0, xTop * 0.25));
  const lat = pts.flatMap((p) => [p.p50 ?? 0, p.p99 ?? 0]);
  const yLat = niceTicks(Math.max(data.latencyTargetMs * 1.2, ...lat));
  const left = panel(LEFT_X, xTop, yThr[yThr.length - 1]!);
  const right = panel(RIGHT_X, xTop, yLat[yLat.length - 1]!);
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`);
  out.push(`<style>.tick{font-size:11px;fill:#333}.label{font-size:13px;fill:#000}.note{font-size:11px}.title{font-size:16px;font-weight:bold}</style>`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" class="title">${escapeXml(data.title)}</text>`);
  out.push(`<text x="${W / 2}" y="44" text-anchor="middle" class="tick">${escapeXml(data.subtitle)}</text>`);

  out.push(...axes(left, xMax, yThr, "offered tx/s", "committed tx/s"));
  // y = x: what a cluster committing everything offered would show.
  const diag = Math.min(xTop, left.yMax);
  out.push(`<line x1="${left.px(0)}" y1="${left.py(0)}" x2="${left.px(diag)}" y2="${left.py(diag)}" stroke="#999" stroke-dasharray="3 3" class="ideal"/>`);
  if (data.floor !== null) {
    const y = left.py(data.floor);
    out.push(`<line x1="${left.x0}" y1="${y}" x2="${left.x0 + PANEL.w}" y2="${y}" stroke="#2a2" stroke-dasharray="8 4" class="floor"/>`);
    out.push(`<text x="${left.x0 + PANEL.w - 4}" y="${y - 4}" text-anchor="end" class="note" fill="#2a2">cost floor ${fmt(Math.round(data.floor))} tx/s</text>`);
  }
  out.push(...series(left, pts.map((p) => [p.offered, p.committed] as const), "#1f5fbf", "committed tx/s"));
  out.push(...saturationMark(left, data.saturationOffered));
  out.push(...legend(LEFT_X, [["#1f5fbf", "committed tx/s"], ["#999", "offered (y = x)"]]));

  out.push(...axes(right, xMax, yLat, "offered tx/s", "latency submit → committed (ms)"));
  const target = right.py(data.latencyTargetMs);
  out.push(`<line x1="${right.x0}" y1="${target}" x2="${right.x0 + PANEL.w}" y2="${target}" stroke="#c80" stroke-dasharray="8 4" class="target"/>`);
  out.push(`<text x="${right.x0 + 4}" y="${target - 4}" class="note" fill="#c80">p99 target ${fmt(data.latencyTargetMs)} ms</text>`);
  out.push(...series(right, pts.filter((p) => p.p50 !== null).map((p) => [p.offered, p.p50!] as const), "#1f5fbf", "p50 ms"));
  out.push(...series(right, pts.filter((p) => p.p99 !== null).map((p) => [p.offered, p.p99!] as const), "#bf1f5f", "p99 ms"));
  out.push(...saturationMark(right, data.saturationOffered));
  out.push(...legend(RIGHT_X, [["#1f5fbf", "p50"], ["#bf1f5f", "p99"]]));
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
