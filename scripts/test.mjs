#!/usr/bin/env node
// Runs the compiled tests (dist/test/**/*.test.js) with Node's built-in runner. The output passes through as it
// comes; every failing test's TAP block is collected and printed again after the runner's summary, so the end of a
// CI log names what failed (a long log is often cut to its tail).
// Optional arguments filter test files by substring: `npm test -- merkle bitmap`.
import { readdirSync, existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
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

const MAX_BLOCK_LINES = 60;
const failures = [];
let current = null; // the failing block being collected, until its YAML closes with "..."
const child = spawn(process.execPath, ["--test", "--enable-source-maps", ...files], {
  cwd: root,
  stdio: ["ignore", "pipe", "inherit"],
});
const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
lines.on("line", (line) => {
  process.stdout.write(line + "\n");
  if (current !== null) {
    if (current.length < MAX_BLOCK_LINES) current.push(line);
    if (/^\s*\.\.\.\s*$/.test(line)) current = null;
    return;
  }
  if (/^\s*not ok \d+ /.test(line)) {
    current = [line];
    failures.push(current);
  }
});
child.on("close", (code, signal) => {
  if (failures.length > 0) {
    process.stdout.write(`\n# ---- ${failures.length} failing test block(s), repeated from above ----\n`);
    for (const block of failures) process.stdout.write(block.join("\n") + "\n");
  }
  process.exit(code ?? (signal ? 1 : 0));
});
