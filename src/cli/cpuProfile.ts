/**
 * A plain-text summary of V8 CPU profiles (`node --cpu-prof`, the `.cpuprofile` JSON): for each profile (one per
 * thread), the sampled time by source file (self time), the functions with the most self time, and the functions of
 * Quire's own code (`/src/`, `/bench/`) with the most inclusive time — enough to see where a node spends a run without
 * opening a profiler. `quire bench catchup --profile DIR` prints it.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const TOP = 20;

/** Summaries of every `.cpuprofile` in `dir`, largest first. */
export async function summariseCpuProfiles(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile"));
  const parts: { ms: number; text: string }[] = [];
  for (const f of files) {
    const p = JSON.parse(await readFile(join(dir, f), "utf8")) as CpuProfile;
    parts.push({ ms: (p.endTime - p.startTime) / 1000, text: summariseCpuProfile(p, join(dir, f)) });
  }
  parts.sort((a, b) => b.ms - a.ms);
  return parts.map((p) => p.text).join("");
}

/** Where a frame's code lives: the part of its URL after `dist/` (Quire) or `node_modules/` (the package), else the URL. */
function fileOf(f: CallFrame): string {
  if (f.url === "") return f.functionName.startsWith("(") ? f.functionName : "(native)";
  const dist = f.url.lastIndexOf("/dist/");
  if (dist >= 0) return f.url.slice(dist + 6);
  const nm = f.url.lastIndexOf("node_modules/");
  if (nm >= 0) return f.url.slice(nm + 13).split("/").slice(0, f.url.slice(nm + 13).startsWith("@") ? 2 : 1).join("/");
  return f.url.replace(/^file:\/\//, "");
}

function functionOf(f: CallFrame): string {
  return `${f.functionName || "(anonymous)"} ${fileOf(f)}:${f.lineNumber + 1}`;
}

export function summariseCpuProfile(p: CpuProfile, name: string): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfByFile = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(p.samples[i]!);
    if (node === undefined) continue;
    total += dt;
    add(selfByFile, fileOf(node.callFrame), dt);
    add(selfByFn, functionOf(node.callFrame), dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (!/\/(src|bench)\//.test(f.url)) continue;
      const k = functionOf(f);
      if (seen.has(k)) continue; // recursion counts once
      seen.add(k);
      add(inclusive, k, dt);
    }
  }
  const table = (title: string, m: Map<string, number>) => {
    const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP);
    return [`  ${title}`, ...rows.map(([k, ms]) => `    ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${k}`)].join("\n");
  };
  return [
    "",
    `CPU profile ${name}: ${(total / 1000).toFixed(2)} s sampled`,
    table("self time by file", selfByFile),
    table("self time by function", selfByFn),
    table("inclusive time, Quire functions", inclusive),
    "",
  ].join("\n");
}

function add(m: Map<string, number>, k: string, v: number): void {
  m.set(k, (m.get(k) ?? 0) + v);
}
