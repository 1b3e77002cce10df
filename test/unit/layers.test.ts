/**
 * DESIGN §2: a folder imports only from folders below it in the layer list, and only the wire codec touches
 * FlatBuffers. This reads every import of src/ and bench/ and fails on one that goes up (or sideways between two
 * folders of the same rank, which would make the order ambiguous).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { importsOf, listSources, repoRoot } from "../support/sourceScan.js";

/** Bottom to top, as in DESIGN §2. `bench/` sits below `src/cli/`, whose `quire bench` loads its suites on demand. */
const LAYERS = ["util", "domain", "crypto", "wire", "consensus", "chain", "net", "rpc", "node", "sim", "bench", "cli"] as const;
/** Type declarations for the whole tree (ambient, no runtime code). */
const AMBIENT = new Set(["types"]);

/** The layer of a repository path (`src/chain/x.ts` → chain, `bench/x.ts` → bench), or null outside them. */
function layerOf(path: string): string | null {
  if (path.startsWith("bench/")) return "bench";
  const m = /^src\/([^/]+)\//.exec(path);
  return m === null ? null : m[1]!;
}

/** `from` → `to` for each relative import that climbs the layer list. */
export function upwardImports(files: readonly { path: string; src: string }[]): string[] {
  const out: string[] = [];
  for (const { path, src } of files) {
    const from = layerOf(path);
    if (from === null) continue;
    for (const spec of importsOf(src)) {
      if (!spec.startsWith(".")) continue;
      const target = relative(repoRoot, resolve(join(repoRoot, dirname(path)), spec.replace(/\.js$/, ".ts")));
      const to = layerOf(target);
      if (to === null || to === from || AMBIENT.has(to)) continue;
      const a = LAYERS.indexOf(from as (typeof LAYERS)[number]);
      const b = LAYERS.indexOf(to as (typeof LAYERS)[number]);
      if (a < 0 || b < 0 || b > a) out.push(`${path} (${from}) imports ${target} (${to})`);
    }
  }
  return out;
}

function sources(): { path: string; src: string }[] {
  return [...listSources(join(repoRoot, "src")), ...listSources(join(repoRoot, "bench"))]
    .filter((f) => !f.includes("/generated/"))
    .map((f) => ({ path: relative(repoRoot, f), src: readFileSync(f, "utf8") }));
}

test("every folder of src/ is in the layer list (a new folder must be placed in DESIGN §2 and here)", () => {
  const folders = new Set(sources().map((f) => layerOf(f.path)).filter((l): l is string => l !== null));
  for (const f of folders) assert.ok(LAYERS.includes(f as (typeof LAYERS)[number]) || AMBIENT.has(f), `src/${f}/ is not in the layer list`);
});

test("no module imports a layer above its own (DESIGN §2)", () => {
  assert.deepEqual(upwardImports(sources()), []);
});

test("only src/wire/codec.ts and the generated code touch FlatBuffers", () => {
  for (const { path, src } of sources()) {
    if (path === "src/wire/codec.ts") continue;
    for (const spec of importsOf(src)) {
      assert.ok(spec !== "flatbuffers" && !spec.includes("/generated/quire"), `${path} imports ${spec}`);
    }
  }
});

test("the layer check fails on an upward import (it can fail)", () => {
  const bad = [
    { path: "src/consensus/x.ts", src: 'import { ChainStore } from "../chain/store/interface.js";' },
    { path: "src/domain/y.ts", src: 'import { encodeMessage } from "../wire/codec.js";' },
    { path: "src/sim/z.ts", src: 'import { main } from "../cli/main.js";' },
    { path: "bench/w.ts", src: 'import { parseArgs } from "../src/cli/args.js";' },
    { path: "bench/v.ts", src: 'import { x } from "../test/support/x.js";' },
  ];
  assert.equal(upwardImports(bad).length, 4, "consensus→chain, domain→wire, sim→cli and bench→cli climb; bench→test is outside the list");
  assert.deepEqual(upwardImports([{ path: "src/node/n.ts", src: 'import { Replica } from "../consensus/replica.js";' }]), []);
});
