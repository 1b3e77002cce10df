/**
 * A small, strict parser of the Prometheus text exposition format 0.0.4, written from the format's description and
 * independent of prom-client, so tests read what a scraper would read instead of asking the code that rendered it.
 *
 * Strict where Quire wants it: every sample needs a `# TYPE` line before it, a family's lines are contiguous, no
 * family or series appears twice, and a histogram's buckets are cumulative, end in `le="+Inf"` and agree with
 * `_count`. Anything else throws `PromParseError` naming the line.
 */

export type PromType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface PromSample {
  /** The sample's own name (`x_bucket`, `x_sum`, `x_count` for a histogram `x`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  readonly type: PromType;
  readonly help: string | undefined;
  readonly samples: PromSample[];
}

export class PromParseError extends Error {}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly string[] = ["counter", "gauge", "histogram", "summary", "untyped"];

/** Parses a whole scrape into its families, in order. */
export function parsePromText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const helps = new Map<string, string>();
  const seriesSeen = new Set<string>();
  let current: { family: PromFamily; ended: boolean } | undefined;
  const lines = text.split("\n");
  if (text !== "" && !text.endsWith("\n")) throw new PromParseError("the text does not end with a newline");
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (m === null) return; // a plain comment
      const [, keyword, name, rest = ""] = m as unknown as [string, string, string, string | undefined];
      if (!NAME.test(name)) throw new PromParseError(`${where}: bad metric name`);
      if (keyword === "HELP") {
        if (helps.has(name)) throw new PromParseError(`${where}: second HELP for ${name}`);
        helps.set(name, unescapeHelp(rest, where));
        const f = families.get(name);
        if (f !== undefined) (f as { help: string | undefined }).help = helps.get(name);
        return;
      }
      if (!TYPES.includes(rest.trim())) throw new PromParseError(`${where}: unknown type ${rest}`);
      if (families.has(name)) throw new PromParseError(`${where}: second TYPE for ${name}`);
      if (current !== undefined) current.ended = true;
      const family: PromFamily = { name, type: rest.trim() as PromType, help: helps.get(name), samples: [] };
      families.set(name, family);
      current = { family, ended: false };
      return;
    }
    const sample = parseSample(line, where);
    const owner = familyOf(sample.name, families);
    if (owner === undefined) throw new PromParseError(`${where}: no TYPE line for ${sample.name}`);
    if (current === undefined || current.family !== owner) throw new PromParseError(`${where}: ${sample.name} is not next to its family's other lines`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seriesSeen.has(key)) throw new PromParseError(`${where}: the series appears twice`);
    seriesSeen.add(key);
    owner.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** One parsed scrape with lookups for tests. */
export class PromScrape {
  readonly families: Map<string, PromFamily>;

  constructor(readonly text: string) {
    this.families = parsePromText(text);
  }

  /** The family, or an error listing what is there (a typo in a test must not read as "0"). */
  family(name: string): PromFamily {
    const f = this.families.get(name);
    if (f === undefined) throw new Error(`no metric family ${name} in the scrape (families: ${[...this.families.keys()].join(", ")})`);
    return f;
  }

  /** The value of the series with exactly these labels, or undefined if the family has no such series. */
  value(sampleName: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
    const f = familyOf(sampleName, this.families);
    if (f === undefined) throw new Error(`no metric family for ${sampleName} in the scrape`);
    const want = JSON.stringify(Object.entries(labels).sort());
    return f.samples.find((s) => s.name === sampleName && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
  }

  /** A counter's value for these labels, 0 when the series was never created (prom-client shows no line for it). */
  count(name: string, labels: Readonly<Record<string, string>> = {}): number {
    if (this.family(name).type !== "counter") throw new Error(`${name} is not a counter`);
    return this.value(name, labels) ?? 0;
  }

  /** Sum over every series of a counter or gauge family. */
  total(name: string): number {
    return this.family(name).samples.reduce((a, s) => a + s.value, 0);
  }
}

/** Scrapes anything with prom-client's `metrics()` shape and parses the answer. */
export async function scrape(registry: { metrics(): Promise<string> }): Promise<PromScrape> {
  return new PromScrape(await registry.metrics());
}

function familyOf(sampleName: string, families: ReadonlyMap<string, PromFamily>): PromFamily | undefined {
  const exact = families.get(sampleName);
  if (exact !== undefined) return exact;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sampleName.endsWith(suffix)) continue;
    const f = families.get(sampleName.slice(0, -suffix.length));
    if (f !== undefined && (f.type === "histogram" || (f.type === "summary" && suffix !== "_bucket"))) return f;
  }
  return undefined;
}

function parseSample(line: string, where: string): PromSample {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new PromParseError(`${where}: bad metric name`);
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      if (line[i] === "}") break;
      const start = i;
      while (i < line.length && /[a-zA-Z0-9_]/.test(line[i]!)) i++;
      const labelName = line.slice(start, i);
      if (!LABEL_NAME.test(labelName)) throw new PromParseError(`${where}: bad label name at column ${start + 1}`);
      if (line[i] !== "=" || line[i + 1] !== '"') throw new PromParseError(`${where}: expected ="value" after ${labelName}`);
      i += 2;
      let value = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new PromParseError(`${where}: unterminated label value`);
        i++;
        if (c === '"') break;
        if (c !== "\\") {
          value += c;
          continue;
        }
        const e = line[i++];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new PromParseError(`${where}: bad escape \\${e ?? ""} in a label value`);
      }
      if (labelName in labels) throw new PromParseError(`${where}: label ${labelName} twice`);
      labels[labelName] = value;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") throw new PromParseError(`${where}: expected , or } after a label`);
    }
    i++;
  }
  const rest = line.slice(i);
  const m = /^ +(\S+)(?: +(-?\d+))?$/.exec(rest);
  if (m === null) throw new PromParseError(`${where}: expected " value [timestamp]"`);
  return { name, labels, value: parseValue(m[1]!, where) };
}

function parseValue(s: string, where: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new PromParseError(`${where}: bad value ${s}`);
  return Number(s);
}

function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.?)/g, (_, e: string) => {
    if (e === "\\") return "\\";
    if (e === "n") return "\n";
    throw new PromParseError(`${where}: bad escape \\${e} in HELP`);
  });
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new PromParseError(`${f.name}: a bucket without le`);
      g.buckets.push([parseValue(le, `${f.name} le`), s.value]);
    } else if (s.name === `${f.name}_count`) g.count = s.value;
    else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else throw new PromParseError(`${f.name}: unexpected sample ${s.name}`);
  }
  for (const [key, g] of groups) {
    if (g.count === undefined || g.sum === undefined) throw new PromParseError(`${f.name}${key}: _sum or _count missing`);
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.length === 0 || sorted[sorted.length - 1]![0] !== Infinity) throw new PromParseError(`${f.name}${key}: no le="+Inf" bucket`);
    for (let k = 1; k < sorted.length; k++) if (sorted[k]![1] < sorted[k - 1]![1]) throw new PromParseError(`${f.name}${key}: buckets are not cumulative`);
    if (sorted[sorted.length - 1]![1] !== g.count) throw new PromParseError(`${f.name}${key}: the +Inf bucket differs from _count`);
  }
}
