/**
 * `hash.backend` reaches the node: a node started with `--set hash.backend=X` makes X its thread's default hasher
 * before it builds the mempool, executor and KV app, and says so in its start line (read from `defaultHasher()`
 * after everything was built, so the line shows what those parts took). Both backends commit the same way.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { launchCluster, waitUntilCommitting } from "../../src/cli/localCluster.js";

for (const backend of ["noble", "node"] as const) {
  test(`a node started with hash.backend=${backend} runs on it and commits`, async () => {
    const cluster = await launchCluster({ validators: 1, logLevel: "info", output: "capture", nodeArgs: ["--set", `hash.backend=${backend}`] });
    try {
      await waitUntilCommitting(cluster, 30_000);
      const out = cluster.children[0]!.output;
      const started = out.split("\n").find((l) => l.includes("node started"));
      assert.ok(started !== undefined, out);
      assert.match(started, new RegExp(`hash[=:]"?${backend}\\b`), started);
    } finally {
      await cluster.stop();
      await cluster.remove();
    }
  });
}

test("without hash.backend the node keeps the process default (its start line names it)", async () => {
  const cluster = await launchCluster({ validators: 1, logLevel: "info", output: "capture" });
  try {
    await waitUntilCommitting(cluster, 30_000);
    const started = cluster.children[0]!.output.split("\n").find((l) => l.includes("node started"));
    assert.ok(started !== undefined);
    assert.doesNotMatch(started, /hash[=:]"?(noble|node)\b/, started);
  } finally {
    await cluster.stop();
    await cluster.remove();
  }
});
