/**
 * The consensus core must stay a pure function of (state, input, now): no node:* modules, no IO, no wall clock, no
 * randomness. This scans the sources of src/consensus (and what they import from other layers) for imports and for
 * the globals that would break that.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { codeOnly as code, importsOf as imports, listSources as list, repoRoot as root } from "../../support/sourceScan.js";

const consensusDir = join(root, "src/consensus");

const FORBIDDEN_GLOBALS = [
  /\bDate\b/,
  /\bMath\.random\b/,
  /\bprocess\b/,
  /\bsetTimeout\b/,
  /\bsetInterval\b/,
  /\bsetImmediate\b/,
  /\bqueueMicrotask\b/,
  /\bperformance\b/,
  /\bcrypto\.getRandomValues\b/,
  /\brequire\s*\(/,
  /\bfetch\s*\(/,
  /\bglobalThis\b/,
  /\bBuffer\b/,
  /\bconsole\b/,
];

// Modules outside src/consensus that the core may use: types, limits, the quorum size, byte helpers, the error base class.
// adapters/ may also use the crypto layer (bitmap codec, BLS), which the core itself never imports.
const ALLOWED_OUTSIDE = ["src/domain/types.ts", "src/domain/limits.ts", "src/domain/quorum.ts", "src/util/bytes.ts", "src/util/errors.ts"];
const ADAPTER_EXTRA = ["src/crypto/bitmap/", "src/crypto/bls/"];
const ALLOWED_PACKAGES = ["@noble/hashes/sha2.js"];

test("src/consensus imports no node:* module, no IO package and nothing outside its allow-list", () => {
  const files = list(consensusDir);
  assert.ok(files.length > 20);
  for (const f of files) {
    const rel = relative(root, f);
    const src = readFileSync(f, "utf8");
    for (const spec of imports(src)) {
      if (spec.startsWith(".")) {
        const target = relative(root, resolve(dirname(f), spec.replace(/\.js$/, ".ts")));
        if (target.startsWith("src/consensus/")) {
          const isAdapter = target.startsWith("src/consensus/adapters/");
          assert.ok(!isAdapter || rel.startsWith("src/consensus/adapters/"), `${rel}: the core must not import the adapter ${target}`);
          continue;
        }
        const ok = ALLOWED_OUTSIDE.includes(target) || (rel.startsWith("src/consensus/adapters/") && ADAPTER_EXTRA.some((p) => target.startsWith(p)));
        assert.ok(ok, `${rel} imports ${target}`);
      } else {
        assert.ok(ALLOWED_PACKAGES.includes(spec), `${rel} imports package ${spec}`);
      }
    }
  }
});

test("src/consensus (and the util modules it uses) use no wall clock, randomness, timers, process or IO globals", () => {
  const files = [...list(consensusDir).filter((f) => !f.includes("/adapters/")), ...ALLOWED_OUTSIDE.map((p) => join(root, p))];
  for (const f of files) {
    const body = code(readFileSync(f, "utf8"));
    for (const re of FORBIDDEN_GLOBALS) assert.ok(!re.test(body), `${relative(root, f)} uses ${re.source}`);
  }
});

test("the scanner itself catches a forbidden use (it can fail)", () => {
  assert.ok(FORBIDDEN_GLOBALS.some((re) => re.test(code("const t = Date.now();"))));
  assert.ok(!FORBIDDEN_GLOBALS.some((re) => re.test(code('// Date.now() in a comment\nconst s = "setTimeout";'))));
  assert.deepEqual(imports('import { x } from "node:fs";\nimport type { Y } from "./y.js";'), ["node:fs", "./y.js"]);
});
