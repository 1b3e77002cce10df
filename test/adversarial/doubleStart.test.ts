/**
 * Double start (issue 11, deliverables 5 and 7): a validator's config started a second time while the first process
 * runs must exit at once, non-zero, naming the holder (its pid and the lock file), and the first must keep committing.
 * A clean stop releases the locks (the files are gone); a `kill -9` leaves a stale lock that the next start takes over.
 *
 * On the old code the second process ran: it bound the same ports (uWS listens with SO_REUSEPORT by default) and was
 * still running 10 s later, when this test gave up waiting for it to exit — see the commit message for the run.
 *
 * `after` stops every process by pid even when the test failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { killNode, logs, spawnQuire, startNetwork, startNode, stopAll, until, waitForHeight } from "../e2e/support/network.js";
import type { TestNetwork } from "../e2e/support/network.js";

const N = 4;
const TWICE = 1;
/** "At once": the second process loads its config and finds the lock; no store, no listener, no BLS pool. */
const EXIT_WITHIN_MS = 10_000;
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

test("a validator config started twice: the second exits at once naming the holder; locks are released on stop and taken over after kill -9", { timeout: 120_000 }, async (t) => {
  const nw = await startNetwork(N);
  netw = nw;
  t.diagnostic(`network in ${nw.dir}`);
  await waitForHeight(nw, 2, 30_000);
  const first = nw.nodes[TWICE]!;
  const config = nw.cluster.configs[TWICE]!;
  const dataLock = join(config.dataDir, "quire.lock");
  const keyLock = `${config.keyFile}.lock`;

  const t0 = Date.now();
  const second = spawnQuire(["node", "--config", nw.configFiles[TWICE]!]);
  const code = await until("the second process to exit", async () => (second.exited ? second.exitCode : undefined), EXIT_WITHIN_MS, () => `${second.output}\n${logs(nw)}`);
  const tookMs = Date.now() - t0;
  t.diagnostic(`second start exited ${code} after ${tookMs} ms: ${second.output.trim()}`);
  assert.notEqual(code, 0, second.output);
  assert.match(second.output, new RegExp(`pid ${first.proc.pid}\\b`), "the message names the holder's pid");
  assert.ok(second.output.includes(dataLock) || second.output.includes(keyLock), `the message names the lock file\n${second.output}`);

  // The first keeps committing.
  const h = (await nw.clients[TWICE]!.status()).committedHeight;
  await waitForHeight(nw, h + 3, 30_000, [TWICE]);
  assert.equal(first.exited, false, logs(nw));

  // A clean stop releases both locks; a restart takes them again.
  assert.ok(existsSync(dataLock) && existsSync(keyLock), "the running node holds both lock files");
  assert.equal(await nw.cluster.stopNode(TWICE), 0, logs(nw));
  assert.ok(!existsSync(dataLock) && !existsSync(keyLock), "a clean stop removes both lock files");
  const again = await startNode(nw, TWICE);
  await until("the restarted node's consensus start", async () => (again.output.includes("consensus started") ? true : undefined), 30_000, () => logs(nw));

  // kill -9 leaves the locks behind (stale: their pid is dead); the next start takes them over.
  const killedPid = again.proc.pid;
  await killNode(nw, TWICE);
  assert.ok(existsSync(dataLock), "kill -9 leaves the data-directory lock behind");
  assert.match(readFileSync(dataLock, "utf8"), new RegExp(`"pid":${killedPid}\\b`));
  const third = await startNode(nw, TWICE);
  await until("the node started over a stale lock", async () => (third.output.includes("consensus started") ? true : undefined), 30_000, () => logs(nw));
  assert.match(third.output, /stale lock/, "the takeover is logged");
  assert.match(readFileSync(dataLock, "utf8"), new RegExp(`"pid":${third.proc.pid}\\b`));
  const h2 = Math.max(...(await Promise.all([0, 2, 3].map((i) => nw.clients[i]!.status()))).map((s) => s.committedHeight));
  await waitForHeight(nw, h2 + 2, 45_000, [TWICE]);
});
