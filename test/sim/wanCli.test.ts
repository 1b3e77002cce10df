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
  ] as const) {
    const r = quire([...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
