/**
 * Paracross faults on one network (4 validators, para chain "beta" of 4 nodes, real processes):
 * - block-policy mismatch: 2 of 4 para nodes on `emptyBlockInterval=3` build another chain than the other two, so no
 *   para height past the one both policies make alike is ever done; with only 1 of 4 differing, done advances on the
 *   other 3 (their 2/3) and the odd one never signs a done commit;
 * - one para node stopped (SIGTERM) for a while: done keeps advancing on 3; restarted, its commits are counted again,
 *   with no hole;
 * - every para node killed (SIGKILL) and restarted: no hole, done catches up with the para head.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { decodeBitmap } from "../../src/crypto/bitmap/index.js";
import { until } from "./support/network.js";
import { assertContiguous, doneAtLeast, mainHeight, paraHead, paraLogs, startParaNet, stopParaNets } from "./support/para.js";
import type { ParaNet } from "./support/para.js";

const TITLE = "beta";
/** Each para node's extra arguments at its next start. */
const policyArgs: string[][] = [["--set", "blockPolicy.emptyBlockInterval=3"], ["--set", "blockPolicy.emptyBlockInterval=3"], [], []];

let net: ParaNet;
after(async () => {
  await stopParaNets();
});

/** The para nodes that signed the done commit of `height`. */
async function signersOf(height: number): Promise<number[]> {
  const c = (await net.main[1]!.paraCommit(TITLE, height))!;
  const bits = decodeBitmap(c.signers, { length: c.nodes });
  return [0, 1, 2, 3].filter((i) => bits.get(i));
}

async function restartWith(i: number, args: string[]): Promise<void> {
  const para = net.cluster.paras[0]!;
  await para.stopNode(i);
  policyArgs[i] = args;
  // Its blocks were built on the other policy: it rebuilds the para chain from the start.
  await para.start(i, { wipeData: true });
}

test("block-policy mismatch: 2 of 4 differing stops done heights, 1 of 4 differing does not", async () => {
  net = await startParaNet({ validators: 4, paras: [{ title: TITLE, nodes: 4, nodeArgs: (i) => policyArgs[i]! }] });
  const main = net.main[1]!;
  // Many main blocks processed by every para node.
  const target = (await main.status()).committedHeight + 12;
  await until("para nodes past the target main height", async () => ((await Promise.all(net.paras[0]!.map((c) => c.status()))).every((s) => (s.para?.mainHeight ?? 0) >= target) ? true : undefined), 60_000, () => paraLogs(net));
  // Both policies make para block 1 at startHeight alike; every later block differs (other main heights).
  const heads = await Promise.all(net.paras[0]!.map(async (c) => (await c.status()).committedHeight));
  assert.ok(heads[2]! >= 12 && heads[0]! < heads[2]!, `policies build different chains: heads ${heads.join(",")}`);
  const split = (await main.paraStatus(TITLE))!;
  assert.ok(split.doneHeight <= 1, `no done height past the common block 1 with 2 of 4 differing (done ${split.doneHeight})`);

  // Node 1 back on the genesis policy: 3 of 4 agree, done advances; node 0 (still on interval 3) signs none of it.
  await restartWith(1, []);
  const done = await doneAtLeast(net, TITLE, heads[2]! + 2, 60_000);
  for (let h = 2; h <= done; h++) assert.deepEqual(await signersOf(h), [1, 2, 3], `signers of done height ${h}`);
  await assertContiguous(net, 0, 1, [1, 2, 3]);

  await restartWith(0, []);
  const head = await until("node 0 caught up", async () => {
    const [h0, h2] = await Promise.all([0, 2].map(async (i) => (await net.paras[0]![i]!.status()).committedHeight));
    return h0! >= h2! ? h0 : undefined;
  }, 60_000, () => paraLogs(net));
  // Back on the same chain, node 0's signature appears in done commits again.
  await until("node 0 signs done commits", async () => {
    const s = (await net.main[1]!.paraStatus(TITLE))!;
    return s.doneHeight > head && (await signersOf(s.doneHeight)).includes(0) ? true : undefined;
  }, 60_000, () => paraLogs(net));
  await assertContiguous(net, 0);
});

test("one para node stopped for a while: done keeps advancing; restarted, its commits count again without holes", async () => {
  const para = net.cluster.paras[0]!;
  const before = (await net.main[1]!.paraStatus(TITLE))!.doneHeight;
  assert.equal(await para.stopNode(3), 0, "a para node exits 0 on SIGTERM");
  // Node 3 made its last para block from a main block at or below this one: later para blocks it never signed.
  const mainAtStop = (await net.main[1]!.status()).committedHeight;
  const during = await doneAtLeast(net, TITLE, (await paraHead(net, 0, [0, 1, 2])) + 5);
  let unsigned = 0;
  for (let h = before + 1; h <= during; h++) {
    const c = (await net.main[1]!.paraCommit(TITLE, h))!;
    if (c.decoded.mainHeight <= mainAtStop) continue;
    assert.deepEqual(await signersOf(h), [0, 1, 2], `done height ${h} while node 3 is down`);
    unsigned++;
  }
  assert.ok(unsigned >= 3, `done advanced by ${unsigned} heights without node 3`);
  await para.start(3);
  // Its sender starts from the done height: later done heights carry its signature again.
  const head = await paraHead(net, 0, [0, 1, 2]);
  const back = await until(
    "node 3 signs done commits again",
    async () => {
      const s = (await net.main[1]!.paraStatus(TITLE))!;
      if (s.doneHeight <= head) return undefined;
      return (await signersOf(s.doneHeight)).includes(3) ? s.doneHeight : undefined;
    },
    60_000,
    () => paraLogs(net),
  );
  assert.ok(back > head);
  await assertContiguous(net, 0);
});

test("every para node killed and restarted: no hole, done catches up with the para head", async () => {
  const para = net.cluster.paras[0]!;
  for (let i = 0; i < 4; i++) await para.kill(i);
  for (const c of para.children) assert.equal(c.proc.signalCode, "SIGKILL");
  // The main chain goes on without them for ~5 blocks.
  await mainHeight(net, (await net.main[1]!.status()).committedHeight + 5, 30_000);
  for (let i = 0; i < 4; i++) await para.start(i);
  const mainNow = (await net.main[1]!.status()).committedHeight;
  await until("para nodes past the main head", async () => ((await Promise.all(net.paras[0]!.map((c) => c.status()))).every((s) => (s.para?.mainHeight ?? 0) >= mainNow) ? true : undefined), 60_000, () => paraLogs(net));
  await doneAtLeast(net, TITLE, await paraHead(net, 0));
  await assertContiguous(net, 0);
});
