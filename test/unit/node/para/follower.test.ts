import { before, test } from "node:test";
import assert from "node:assert/strict";
import { encodeParaTx } from "../../../../src/chain/app/paracross/format.js";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../../src/crypto/bls/backend.js";
import { SILENT } from "../../../../src/node/logger.js";
import { MainFollower } from "../../../../src/node/para/follower.js";
import { ParaSender } from "../../../../src/node/para/sender.js";
import { ManualScheduler } from "../../../../src/util/clock.js";
import { FakeMain, paraChain, put, TITLE } from "./harness.js";

let backend: BlsBackend;
before(async () => {
  backend = await loadBlsBackend("blst");
});

function node(main: FakeMain, notificationQueue: number) {
  const p = paraChain(backend);
  const scheduler = new ManualScheduler(0);
  const sender = new ParaSender(
    { title: TITLE, nodeIndex: 0, notificationQueue, maxCommitsPerTx: 2, resendAfterBlocks: 2, stallAfterBlocks: 100 },
    { main, commit: (h) => p.builder.commit(h), paraHead: () => p.builder.paraHeight, logger: SILENT },
  );
  const follower = new MainFollower({ retryMs: 500 }, { main, scheduler, builder: p.builder, sender, logger: SILENT });
  return { ...p, scheduler, sender, follower };
}

test("the follower builds one para block per main block and catches up from its cursor", async () => {
  const main = new FakeMain();
  for (let i = 0; i < 3; i++) main.add([encodeParaTx(TITLE, put(`k${i}`, "v"))]);
  const n = node(main, 100);
  await n.sender.start(0);
  await n.follower.start();
  await n.follower.idle();
  assert.equal(n.builder.paraHeight, 3);
  main.add(); // the stream reports it
  await n.follower.idle();
  await n.sender.idle();
  assert.equal(n.builder.paraHeight, 4);
  n.follower.stop();
});

test("bounded intake: a full notification queue pauses building while main blocks are still watched", async () => {
  const main = new FakeMain();
  for (let i = 0; i < 6; i++) main.add();
  const n = node(main, 3);
  await n.sender.start(main.blocks.length);
  await n.follower.start();
  await n.follower.idle();
  // Para 1 in flight, 2..4 notified: full; main blocks 5, 6 are watched but not built from.
  assert.equal(n.builder.paraHeight, 4);
  assert.equal(n.builder.lastMainHeight, 4);
  assert.equal(n.sender.canBuild, false);
  // The main chain carries the in-flight tx: the queue drains and the builder resumes from main height 5.
  main.add([main.submitted[0]!]);
  await n.follower.idle();
  await n.sender.idle();
  // (1 accepted, 2..3 in flight, room for two more: para 5 and 6 from main 5 and 6, then full again.)
  assert.equal(n.builder.lastMainHeight, 6);
  assert.equal(n.builder.paraHeight, 6);
  assert.equal(n.sender.canBuild, false);
  n.follower.stop();
});

test("a failed request is retried after retryMs on the scheduler", async () => {
  const main = new FakeMain();
  main.add();
  main.add();
  const n = node(main, 100);
  await n.sender.start(0);
  main.failRequests = 1;
  await n.follower.start();
  await n.follower.idle();
  assert.equal(n.builder.paraHeight, 0);
  n.scheduler.advance(500);
  await n.follower.idle();
  await new Promise((r) => setImmediate(r));
  await n.follower.idle();
  assert.equal(n.builder.paraHeight, 2);
  n.follower.stop();
});

test("a lost stream is resubscribed after retryMs and the blocks committed meanwhile are caught up", async () => {
  const main = new FakeMain();
  main.add();
  const n = node(main, 100);
  await n.sender.start(0);
  await n.follower.start();
  await n.follower.idle();
  assert.equal(n.builder.paraHeight, 1);
  main.closeStreams();
  main.add();
  main.add();
  await n.follower.idle();
  assert.equal(main.subscribers, 0);
  assert.equal(n.builder.paraHeight, 1);
  n.scheduler.advance(500);
  assert.equal(main.subscribers, 1);
  await new Promise((r) => setImmediate(r));
  await n.follower.idle();
  await n.sender.idle();
  assert.equal(n.builder.paraHeight, 3);
  n.follower.stop();
  assert.equal(main.subscribers, 0);
});
