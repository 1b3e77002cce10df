#!/usr/bin/env node
// Runs the compiled tests (dist/test/**/*.test.js) with Node's built-in runner, in two phases:
//   1. unit/ and sim/ (pure code, simulations, loopback transports), QUIRE_TEST_CONCURRENCY files at a time (default:
//      the machine's available parallelism);
//   2. adversarial/ and e2e/ one file at a time: they start real node processes and measure commit rates, so they
//      never share the CPU with another test file.
// The output passes through as it comes; every failing test's TAP block is collected and printed again after the
// last summary, so the end of a CI log names what failed (a long log is often cut to its tail).
// Optional arguments filter test files by substring: `npm test -- merkle bitmap`.
import { readdirSync, existsSync } from "node:fs";
import { availableParallelism } from "node:os";
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

/** Runs one phase; resolves to the runner's exit code. */
function runPhase(phaseFiles, concurrency) {
  let current = null; // the failing block being collected, until its YAML closes with "..."
  const child = spawn(process.execPath, ["--test", `--test-concurrency=${concurrency}`, "--enable-source-maps", ...phaseFiles], {
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
    if (/^\s*not ok \d+ /.test(line) && !/ # (TODO|SKIP)\b/i.test(line)) {
      current = [line];
      failures.push(current);
    }
  });
  running = child;
  return new Promise((resolve) => {
    child.on("error", (e) => {
      process.stderr.write(`test: could not run node --test: ${e.message}\n`);
      resolve(1);
    });
    child.on("close", (code, signal) => {
      running = null;
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

// A CI timeout or ^C stops the runner: pass it on, so the runner's tests stop their nodes (their `after` hooks).
let running = null;
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    stopping = true;
    if (running !== null) running.kill(sig);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 10_000).unref();
  });
}

const SERIAL_DIRS = new Set(["adversarial", "e2e"]);
const isSerial = (f) => SERIAL_DIRS.has(relative(testRoot, f).split(/[\\/]/)[0]);
const envConcurrency = Number(process.env.QUIRE_TEST_CONCURRENCY);
const concurrency = Number.isInteger(envConcurrency) && envConcurrency > 0 ? envConcurrency : Math.max(1, availableParallelism());
const phases = [
  { name: `unit and simulation files (${concurrency} at a time)`, files: files.filter((f) => !isSerial(f)), concurrency },
  { name: "adversarial and end-to-end files (one at a time)", files: files.filter(isSerial), concurrency: 1 },
].filter((p) => p.files.length > 0);

let status = 0;
const started = Date.now();
for (const p of phases) {
  if (stopping) break;
  process.stdout.write(`# ==== phase: ${p.files.length} ${p.name} ====\n`);
  const code = await runPhase(p.files, p.concurrency);
  if (code !== 0) status = code;
}
if (failures.length > 0) {
  process.stdout.write(`\n# ---- ${failures.length} failing test block(s), repeated from above ----\n`);
  for (const block of failures) process.stdout.write(block.join("\n") + "\n");
}
process.stdout.write(`# all phases: ${((Date.now() - started) / 1000).toFixed(1)} s, ${status === 0 ? "passed" : `failed (exit ${status})`}\n`);
process.exit(status);
