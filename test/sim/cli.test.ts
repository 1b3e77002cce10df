import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/quire.js", import.meta.url));

function quire(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, "sim", ...args], { encoding: "utf8", timeout: 60_000 });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("quire sim: a clean sweep prints the summary, writes JSON and exits 0", () => {
  const dir = mkdtempSync(join(tmpdir(), "quire-sim-"));
  try {
    const file = join(dir, "sim.json");
    const r = quire(["--validators", "4", "--seeds", "20", "--scenario", "crash-restart,lossy", "--views", "20", "--json", file, "--quiet"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const field of ["runs        20", "commits", "views", "messages", "violations  0"]) assert.ok(r.stdout.includes(field), `missing "${field}" in\n${r.stdout}`);
    const json = JSON.parse(readFileSync(file, "utf8")) as { runs: number; violations: number; commits: number; config: { scenario: string } };
    assert.equal(json.runs, 20);
    assert.equal(json.violations, 0);
    assert.ok(json.commits > 0);
    assert.equal(json.config.scenario, "crash-restart,lossy");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("quire sim with more than f Byzantine validators reports the safety violation, the seed and a trace, exit 1", () => {
  const r = quire(["--validators", "4", "--byzantine", "2", "--scenario", "twins", "--seeds", "20", "--views", "30", "--quiet"]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAILED seed \d+/);
  assert.match(r.stdout, /safety violation: height \d+: replica \d+ committed [0-9a-f]+ but replica \d+ committed [0-9a-f]+/);
  assert.match(r.stdout, /replay: quire sim --validators 4 --seeds 1 --seed \d+ --scenario twins --views 30 --byzantine 2/);
  assert.match(r.stdout, /minimal trace:\n[\s\S]*net  partition/);
  // The printed replay command reproduces the failure on its own.
  const seed = /replay: quire sim .* --seed (\d+)/.exec(r.stdout)![1]!;
  const again = quire(["--validators", "4", "--seeds", "1", "--seed", seed, "--scenario", "twins", "--views", "30", "--byzantine", "2", "--quiet"]);
  assert.equal(again.code, 1);
  assert.ok(again.stdout.includes(`FAILED seed ${seed}`));
});

test("quire sim --bls-every K runs every K-th seed with real BLS", () => {
  const r = quire(["--seeds", "4", "--bls-every", "4", "--views", "10", "--scenario", "happy", "--quiet"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /runs {8}4 \((insecure-test 3, bls-blst 1|bls-blst 1, insecure-test 3)\)/);
});

test("quire sim: usage errors exit 2", () => {
  assert.equal(quire(["--scenario", "nonsense"]).code, 2);
  assert.equal(quire(["--validators", "0"]).code, 2);
  assert.equal(quire(["--byzantine", "5", "--validators", "4"]).code, 2);
  assert.equal(quire(["--bogus", "1"]).code, 2);
  assert.equal(quire(["--bls-every", "1", "--bls-backend", "openssl"]).code, 2);
});

test("quire sim --para: clean multi-chain seeds exit 0 with the para summary", () => {
  const r = quire(["--validators", "4", "--para", "4", "--seeds", "2", "--scenario", "crash-restart", "--views", "20", "--para-height", "10", "--quiet"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const field of ["para=4", "runs        2", "para blocks", "done", "violations  0"]) assert.ok(r.stdout.includes(field), `missing "${field}" in\n${r.stdout}`);
});

test("quire sim --para with 3 of 4 para nodes colluding reports the paracross violation and a replay line, exit 1", () => {
  const r = quire(["--para", "4", "--byzantine-paras", "3", "--para-policy", "shared", "--scenario", "happy", "--seeds", "1", "--para-height", "10", "--quiet"]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /para violation: demo: replica \d's done commit at height \d+ is not the one the honest para nodes computed/);
  assert.match(r.stdout, /replay: quire sim --validators 4 --para 4 --seeds 1 --seed 1 --scenario happy --views 30 --byzantine-paras 3 --para-policy shared --para-height 10/);
});

test("quire sim with WAN flags: a flat cluster over the model, the WAN named in the summary", () => {
  const r = quire(["--validators", "7", "--regions", "2", "--wan-inter", "80", "--jitter", "3", "--seeds", "2", "--views", "10", "--scenario", "crash-restart", "--quiet"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /WAN regions=2 intra=1ms inter=80-80ms jitter=3ms loss=0 bandwidth=100Mbit\/s wan-seed=1/);
  assert.match(r.stdout, /runs {8}2 .*\n[\s\S]*violations {2}0/);
});

test("quire sim WAN usage errors exit 2 and name the flag", () => {
  for (const [args, message] of [
    [["--regions", "4", "--loss", "2"], /--loss must be a probability/],
    [["--wan-inter", "200-50"], /--wan-inter must be MS or MIN-MAX/],
    [["--throughput"], /need a WAN flag/],
    [["--regions", "2", "--shards", "2"], /apply to one flat cluster/],
    [["--regions", "2", "--block-txs", "512"], /--block-txs .* applies to --throughput/],
    [["--clusters", "2", "--scenario", "geo", "--throughput", "--regions", "2"], /apply to one flat cluster/],
  ] as const) {
    const r = quire([...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test("quire sim --leader-mode-compare: one row per mode over the same seeds; --leader-mode runs a sweep under one mode; a bad mode is usage", () => {
  const r = quire(["--validators", "4", "--seeds", "1", "--scenario", "crash-stop", "--views", "40", "--leader-mode-compare"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const mode of ["skip-inactive", "round-robin", "sticky", "weighted", "reputation"]) assert.match(r.stdout, new RegExp(`^  ${mode} +\\d+\\.\\d\\d +\\d+\\.\\d\\d +\\d+ +0$`, "m"));
  assert.match(r.stdout, /reputation \/ round-robin: \d+\.\d\d×/);
  const sweep = quire(["--validators", "4", "--seeds", "3", "--scenario", "crash-stop", "--views", "20", "--leader-mode", "sticky", "--quiet"]);
  assert.equal(sweep.code, 0, sweep.stdout + sweep.stderr);
  assert.match(sweep.stdout, /violations {2}0/);
  const bad = quire(["--leader-mode", "lottery"]);
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /--leader-mode must be one of/);
});

test("quire sim --scenario committee: the committee line in the summary; its usage errors exit 2", () => {
  const r = quire(["--validators", "7", "--scenario", "committee,happy", "--committee", "5", "--committee-every", "10", "--views", "40", "--seeds", "1", "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /committee +\d+ rotations, \d+ members left, \d+ came back/);
  assert.equal(quire(["--validators", "7", "--scenario", "committee"]).code, 2, "--committee missing");
  assert.equal(quire(["--validators", "7", "--committee", "5"]).code, 2, "--scenario committee missing");
  assert.equal(quire(["--validators", "7", "--scenario", "committee", "--committee", "8"]).code, 2, "larger than the registry");
  assert.equal(quire(["--validators", "7", "--scenario", "committee", "--committee", "5", "--committee-every", "9"]).code, 2, "period below 10");
  assert.equal(quire(["--validators", "7", "--scenario", "committee,reconfig", "--committee", "5"]).code, 2);
});
