import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("stop() closes the listen socket and every HTTP and WebSocket connection: the process exits on its own", () => {
  const probe = fileURLToPath(new URL("../../support/rpcExitProbe.js", import.meta.url));
  // The timeout only guards against a hang (which is the failure this test exists to catch).
  const r = spawnSync(process.execPath, [probe], { encoding: "utf8", timeout: 15_000 });
  assert.equal(r.signal, null, `the probe did not exit by itself (killed by ${r.signal}); stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "stopped: in-flight request dropped, upload closed true, subscribers 0\n");
});
