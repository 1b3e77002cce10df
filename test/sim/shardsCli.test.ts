/** `quire sim --shards` and `quire sim --curve` as a user runs them (the built CLI in a child process). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/quire.js", import.meta.url));

function quire(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, "sim", ...args], { encoding: "utf8", timeout: 60_000 });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("quire sim --shards 2: seeds with faults inside each shard, per-shard checks, exit 0", () => {
  const r = quire(["--shards", "2", "--validators", "4", "--seeds", "2", "--scenario", "crash-restart", "--views", "6", "--load", "100", "--quiet"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const field of ["shards=2", "runs        2", "violations  0", "committed tx/s"]) assert.ok(r.stdout.includes(field), `missing "${field}" in\n${r.stdout}`);
});

test("quire sim --curve 1,2 prints one row per shard count with the ratio to one shard", () => {
  const r = quire(["--curve", "1,2", "--validators", "4", "--warmup-ms", "200", "--window-ms", "500"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\n\s+1\s+[\d,]+\s+[\d,]+\.\.[\d,]+\s+1\.00\s/);
  assert.match(r.stdout, /\n\s+2\s+[\d,]+\s+[\d,]+\.\.[\d,]+\s+\d\.\d\d\s/);
});

test("quire sim shard flags: usage errors exit 2", () => {
  assert.equal(quire(["--window-ms", "100"]).code, 2); // needs --shards or --curve
  assert.equal(quire(["--shards", "2", "--costs", "nope=1"]).code, 2);
  assert.equal(quire(["--curve", "1,2", "--costs", "off"]).code, 2);
  assert.equal(quire(["--curve", "1,2", "--cross", "1.5"]).code, 2);
  assert.equal(quire(["--shards", "0"]).code, 2);
});
