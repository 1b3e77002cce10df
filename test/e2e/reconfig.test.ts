/**
 * Validator-set changes end to end (issue 16): 4 genesis validators and one spare (a validator outside genesis) as
 * real processes, under a steady client load. `quire validators add` grows the set to 5 (the spare syncs through the
 * epoch's end and votes), then `quire validators remove` takes validator 0 out (4 again, the spare among them; node 0
 * follows as an observer). Commits never stop for longer than 3 view timeouts, every acknowledged tx commits, and
 * `quire audit` (following the epochs) agrees on all five nodes, but refuses a node whose epochs omit the last change.
 * A follower (src/node/follow/) follows the validators through both changes, verifying each epoch's QCs with the set
 * it derives from the change txs, and serves the validators' blocks of epoch 2.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { bitmapSignerSets } from "../../src/consensus/adapters/bitmapSignerSets.js";
import { loadNodeConfig } from "../../src/node/config.js";
import { loadGenesis } from "../../src/node/genesis.js";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import { commitProofOf, verifyCommitProof } from "../../src/consensus/commitProof.js";
import { audit, auditChainOf } from "../../src/cli/auditor.js";
import type { AuditSource } from "../../src/cli/auditor.js";
import type { BlockSummary } from "../../src/rpc/api.js";
import { RpcClient } from "../../src/rpc/client.js";
import { toHex } from "../../src/util/bytes.js";
import { assertCommitted, startTxLoad } from "./support/load.js";
import { assertAudited, logs, spawnQuire, startNetwork, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

let net: TestNetwork | undefined;
after(() => stopAll(net));

const BASE_TIMEOUT_MS = 1_000;

async function change(n: TestNetwork, args: readonly string[], rpc: number): Promise<void> {
  const p = spawnQuire(["validators", ...args, "--rpc", n.urls[rpc]!, "--timeout-ms", "30000"]);
  const code = await p.exit;
  assert.equal(code, 0, `quire validators ${args[0]} exited ${code}:\n${p.output}\n${logs(n)}`);
}

async function epochsOf(n: TestNetwork): Promise<{ epoch: number; startHeight: number; members: string }[]> {
  return Promise.all(
    n.clients.map(async (c) => {
      const v = await c.validators();
      return { epoch: v.epoch, startHeight: v.startHeight, members: v.validators.map((x) => x.index).join(",") };
    }),
  );
}

test("reconfiguration: 4 → 5 → 4 validators under load, commits never stop, nothing acknowledged is lost", async () => {
  net = await startNetwork(4, { spares: 1, tmpfs: true, baseTimeoutMs: BASE_TIMEOUT_MS, followers: 1 });
  const n = net;
  assert.equal(n.clients.length, 5, "4 validators and the spare");
  const key = (i: number): string => join(n.dir, `node${i}`, "validator.key");
  const spareP2p = (await loadNodeConfig(n.configFiles[4]!)).p2p;
  await waitForHeight(n, 2, 40_000, [0, 1, 2, 3]);
  assert.deepEqual((await epochsOf(n))[0], { epoch: 0, startHeight: 1, members: "0,1,2,3" });
  let start1 = 0;
  let start2 = 0;
  const load = startTxLoad(n, { targets: () => [1, 2, 3], intervalMs: 100, batch: 5 });
  try {
    // Grow: the genesis set signs the spare in.
    await change(n, ["add", "--key", key(4), "--host", spareP2p.host, "--port", String(spareP2p.port), "--signers", [0, 1, 2, 3].map(key).join(",")], 0);
    await until(
      "every node, the spare included, in epoch 1 with 5 members",
      async () => ((await epochsOf(n)).every((e) => e.epoch === 1 && e.members === "0,1,2,3,4") ? true : undefined),
      60_000,
      () => logs(n),
    );
    // The spare votes: a block of epoch 1 certified with its signature (position 4 of 5).
    start1 = (await epochsOf(n))[0]!.startHeight;
    await until(
      "a QC of epoch 1 signed by the added validator",
      async () => {
        const head = (await n.clients[1]!.status()).committedHeight;
        const blocks = head >= start1 ? await n.clients[1]!.blocks(start1, Math.min(head, start1 + 60)) : [];
        return blocks.some((b) => signerPositions(b, 5).includes(4)) ? true : undefined;
      },
      30_000,
      () => logs(n),
    );

    // Shrink: validator 0 leaves; the four others (the spare among them) sign it out, a quorum of 5.
    await change(n, ["remove", "--index", "0", "--signers", [1, 2, 3, 4].map(key).join(",")], 1);
    await until(
      "every node in epoch 2 with members 1,2,3,4",
      async () => ((await epochsOf(n)).every((e) => e.epoch === 2 && e.members === "1,2,3,4") ? true : undefined),
      60_000,
      () => logs(n),
    );
    start2 = (await epochsOf(n))[0]!.startHeight;
    await waitForHeight(n, start2 + 5, 30_000);
  } finally {
    const summary = await load.stop();
    assert.deepEqual(summary.errors, []);
    assert.ok(summary.acks.length > 50, `only ${summary.acks.length} txs acknowledged`);
    await assertCommitted(n, summary.acks.map((a) => a.id), 2, 60_000);
  }

  // Commits never stopped through either change: around each epoch end (the change's block up to a few blocks into
  // the new epoch), consecutive blocks' timestamps are within 3 view timeouts. The worst gap anywhere is reported too.
  const head = (await n.clients[2]!.status()).committedHeight;
  const blocks: BlockSummary[] = [];
  for (let h = 1; h <= head; h += 100) blocks.push(...(await n.clients[2]!.blocks(h, Math.min(head, h + 99))));
  const gap = (from: number, to: number): number => {
    let worst = 0;
    for (const b of blocks) {
      const h = b.header.height;
      if (h > from && h <= to) worst = Math.max(worst, b.header.timestampMs - blocks[h - 2]!.header.timestampMs);
    }
    return worst;
  };
  const atSwitch = Math.max(gap(start1 - 3, start1 + 3), gap(start2 - 3, start2 + 3));
  const worst = gap(1, head);
  assert.ok(atSwitch <= 3 * BASE_TIMEOUT_MS, `a gap of ${atSwitch} ms between commits at an epoch switch (bound ${3 * BASE_TIMEOUT_MS} ms)`);
  // The commit proof of epoch 0's last block is what committed it inside epoch 0 (the stored end proof), not epoch
  // 1's first block: it verifies against the genesis set alone.
  const bls = await loadBlsBackend("blst");
  const genesis = await loadGenesis(n.genesisFile, bls);
  const proofBlocks = await n.clients[3]!.commitProof(start1 - 1);
  assert.ok(proofBlocks !== null && proofBlocks.length >= 2, "a commit proof of the block that ended epoch 0");
  const verdict = verifyCommitProof(commitProofOf(proofBlocks)!, auditChainOf(genesis, bls));
  assert.deepEqual(verdict.ok ? { ok: true, height: verdict.height } : verdict, { ok: true, height: start1 - 1 });
  // Node 0, out of the set, still follows the chain (an observer of epoch 2).
  const h0 = (await n.clients[0]!.status()).committedHeight;
  assert.ok(h0 >= start2, `node 0 stopped at ${h0}`);
  const self0 = (await n.clients[0]!.validators()).validators.some((v) => v.self);
  assert.equal(self0, false, "node 0 is not in epoch 2's set");
  // Every node lists the three epochs (GET /v1/epochs), and quire audit, deriving each set from the change txs it
  // replays, verifies every QC of every node across both changes.
  const expected = [
    { epoch: 0, startHeight: 1, members: [0, 1, 2, 3] },
    { epoch: 1, startHeight: start1, members: [0, 1, 2, 3, 4] },
    { epoch: 2, startHeight: start2, members: [1, 2, 3, 4] },
  ];
  for (const c of n.clients) assert.deepEqual(await c.epochs(), expected);
  const audited = await assertAudited(n);
  assert.ok(audited.to >= start2 + 5 && audited.qcsVerified >= audited.to, `audited to ${audited.to}, ${audited.qcsVerified} QCs`);
  // The epochs are only a hint: a node whose list drops epoch 2 has its QCs of epoch 2 refused, from its first height.
  const c1 = n.clients[1]!;
  const lying: AuditSource = { status: () => c1.status(), blocks: (a, b) => c1.blocks(a, b), genesis: () => c1.genesis(), blockBody: (h) => c1.blockBody(h), epochs: async () => (await c1.epochs()).slice(0, 2) };
  const refused = await audit(
    [
      { name: "true", source: n.clients[2]! },
      { name: "lying", source: lying },
    ],
    auditChainOf(genesis, bls),
    { to: audited.to },
  );
  assert.equal(refused.verdict, "invalid");
  assert.deepEqual([refused.agreedTo, refused.problems[0]?.node, refused.problems[0]?.height, refused.problems[0]?.code], [start2 - 1, "lying", start2, "BAD_QC"]);
  assert.ok(refused.problems.every((p) => p.node === "lying" && p.code === "BAD_QC"));
  // The follower verified every block across both changes with its epoch's set, and serves the validators' blocks.
  const follower = new RpcClient({ url: n.cluster.followers.urls[0]!, timeoutMs: 5_000 });
  const followerLogs = (): string => n.cluster.followers.children.map((c) => `--- follower${c.exited ? ` exited ${c.exitCode}` : ""}\n${c.output.split("\n").slice(-30).join("\n")}`).join("\n") + "\n" + logs(n);
  const vHead = (await n.clients[2]!.status()).committedHeight;
  await until(`the follower at the validators' head (${vHead}, epoch 2)`, async () => ((await follower.status()).committedHeight >= vHead ? true : undefined), 30_000, followerLogs);
  assert.deepEqual(await follower.epochs(), expected);
  const [fb, vb] = await Promise.all([follower.block(start2 + 2), n.clients[2]!.block(start2 + 2)]);
  assert.ok(fb !== null && vb !== null);
  assert.equal(toHex(fb.hash), toHex(vb.hash));
  assert.ok(signerPositions(fb, 4).length >= 3, "a QC of epoch 2's 4 members");
  assert.doesNotMatch(await follower.metrics(), /^quire_follower_refused_total\{/m, "the follower refused nothing");
  process.stdout.write(`# reconfig e2e: ${head} blocks, epoch 1 from ${start1}, epoch 2 from ${start2}, worst gap ${atSwitch} ms at the switches, ${worst} ms anywhere; audit of 5 nodes agrees on 0..${audited.to} (${audited.qcsVerified} QCs, ${audited.elapsedMs} ms)\n`);
});

function signerPositions(b: BlockSummary, members: number): number[] {
  return b.qc === null ? [] : (bitmapSignerSets().decode(b.qc.signers, members) ?? []);
}
