#!/usr/bin/env node
// Runs the compiled tests (dist/test/**/*.test.js) with Node's built-in runner, so its summary closes the output.
// Optional arguments filter test files by substring: `npm test -- merkle bitmap`.
import { readdirSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const testRoot = join(root, "dist/test");
function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith(".test.js") ? [join(dir, e.name)] : []))
    .sort();
}
const filters = process.argv.slice(2);
const files = find(testRoot).filter((f) => filters.length === 0 || filters.some((x) => relative(testRoot, f).includes(x)));
if (files.length === 0) {
  process.stderr.write("test: no test files found (did the build run?)\n");
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--enable-source-maps", ...files], { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
