/**
 * A `FollowerNode` over upstreams held in memory: a certified chain made here with the genesis validators' real keys
 * and the real application (so the follower's execution check runs), served honestly or with one forged part. A forged
 * offer leaves the follower's LMDB store untouched; an honest upstream next in the window is then used, and only the
 * blocks with commit evidence are stored — the head block, whose child is not served yet, is not.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApplication } from "../../../../src/chain/app/build.js";
import { encodeKvTx } from "../../../../src/chain/app/kvTx.js";
import { buildBlock } from "../../../../src/chain/blocks.js";
import { MemoryChainStore } from "../../../../src/chain/store/memoryStore.js";
import { blsSigner } from "../../../../src/consensus/adapters/blsScheme.js";
import { blockHasher } from "../../../../src/consensus/blockHash.js";
import { voteMessage } from "../../../../src/consensus/signing.js";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import { loadKeyFile } from "../../../../src/crypto/bls/keyFile.js";
import { defaultHasher } from "../../../../src/crypto/hash/backends.js";
import type { Block, QuorumCert } from "../../../../src/domain/types.js";
import { genesisExecutor } from "../../../../src/node/consensusStack.js";
import { followerConfigJson, parseFollowerConfig } from "../../../../src/node/follow/followerConfig.js";
import { FollowerNode } from "../../../../src/node/follow/followerNode.js";
import type { Subscribe, UpstreamSource } from "../../../../src/node/follow/upstreams.js";
import { appSpecOf, genesisBlock, genesisCertificates, loadGenesis } from "../../../../src/node/genesis.js";
import type { Logger } from "../../../../src/node/logger.js";
import { writeNetwork } from "../../../../src/node/network.js";
import type { BlockBody, BlockSummary } from "../../../../src/rpc/api.js";
import { toHex, utf8 } from "../../../../src/util/bytes.js";

const HEIGHTS = 6;
let dir: string;
let genesisFile: string;
/** Heights 0..HEIGHTS, consecutive views: every block but the last has commit evidence. */
let chain: { block: Block; hash: Uint8Array; qc: QuorumCert | null }[];
const txIdAt2: { id: Uint8Array } = { id: new Uint8Array(0) };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "quire-follower-unit-"));
  const backend = await loadBlsBackend("blst");
  const net = await writeNetwork({ validators: 4, dir, basePort: 30_000 }, backend);
  genesisFile = net.genesisFile;
  const genesis = await loadGenesis(genesisFile, backend);
  const keys = await Promise.all([0, 1, 2, 3].map((i) => loadKeyFile(join(dir, `node${i}`, "validator.key"), backend)));
  const signers = keys.map((k, i) => blsSigner(backend, k.secretKey, i));
  const certs = genesisCertificates(genesis, backend);
  const hashBlock = blockHasher();
  const g = genesisBlock(genesis);
  const gHash = hashBlock(g.header);
  // The producer: the real application over a memory store, committing each block as it is made.
  const store = MemoryChainStore.open({ chainId: genesis.chainIdBytes, genesisHash: gHash });
  const app = buildApplication(appSpecOf(genesis), { committed: store, bls: backend });
  const executor = genesisExecutor(store, app.app, g, gHash);
  chain = [{ block: g, hash: gHash, qc: null }];
  for (let h = 1; h <= HEIGHTS; h++) {
    const parent = chain[h - 1]!;
    const txs = [0, 1].map((i) => encodeKvTx({ op: "put", nonce: new Uint8Array(8).fill(10 * h + i), key: utf8(`k${h}/${i}`), value: utf8(`v${h}`) }));
    if (h === 2) txIdAt2.id = defaultHasher().digest(txs[0]!);
    const block = buildBlock({ parentHash: parent.hash, parentHeight: h - 1, view: h, proposer: h % 4, timestampMs: genesis.genesisTimeMs + h, txs, parentExecution: executor.parentExecution(parent.hash) });
    const hash = hashBlock(block.header);
    const qc = certs.assembleQc([0, 1, 2].map((voter) => ({ view: h, blockHash: hash, voter, signature: signers[voter]!.sign(voteMessage(genesis.chainIdBytes, h, hash)) }))).qc!;
    executor.commit([{ block, hash, qc }]);
    chain.push({ block, hash, qc });
  }
});
after(() => rm(dir, { recursive: true, force: true }));

/** An upstream serving `chain`, with `forge` applied to what it serves. */
function upstream(name: string, forge: (h: number, b: { summary: BlockSummary; body: BlockBody }) => { summary: BlockSummary; body: BlockBody } = (_h, b) => b): UpstreamSource & { calls: number } {
  const at = (h: number) => {
    const c = chain[h]!;
    return forge(h, { summary: { hash: c.hash, header: c.block.header, txCount: c.block.txs.length, qc: c.qc }, body: { txs: c.block.txs, results: new Uint8Array(0) } });
  };
  const src = {
    baseUrl: `fake://${name}`,
    calls: 0,
    block: async (h: number | "latest") => {
      src.calls++;
      const height = h === "latest" ? HEIGHTS : h;
      return height <= HEIGHTS ? at(height).summary : null;
    },
    blocks: async (from: number, to: number) => {
      src.calls++;
      const out: BlockSummary[] = [];
      for (let h = from; h <= Math.min(to, HEIGHTS); h++) out.push(at(h).summary);
      return out;
    },
    blockBody: async (h: number) => (h <= HEIGHTS ? at(h).body : null),
  };
  return src;
}

const noStream: Subscribe = () => ({ close: () => {} });

class Recording implements Logger {
  readonly warnings: string[] = [];
  debug(): void {}
  info(): void {}
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.warnings.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  }
  error(msg: string): void {
    this.warnings.push(msg);
  }
}

async function open(name: string, sources: UpstreamSource[], logger: Logger): Promise<FollowerNode> {
  const doc = followerConfigJson({
    followerIndex: 0,
    genesisFile,
    dataDir: join(dir, name),
    rpc: { host: "127.0.0.1", port: 0 },
    follow: { upstreams: sources.map((_, i) => ({ host: "127.0.0.1", port: 1 + i })), fanout: 2, rangeBlocks: 64, retryMs: 10 },
    submit: [{ host: "127.0.0.1", port: 1 }],
    bls: { backend: "blst" },
    log: { level: "warn" },
  });
  const node = await FollowerNode.open(parseFollowerConfig(JSON.stringify(doc), join(dir, `${name}.json`)), { logger, upstreams: sources, subscribe: noStream });
  await node.start();
  return node;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

test("follower: a forged body (txRoot), a forged QC or a header that does not link is refused with its code, nothing stored", async () => {
  const forgeries: [string, Parameters<typeof upstream>[1]][] = [
    ["BAD_TX_ROOT", (h, b) => (h === 3 ? { ...b, body: { ...b.body, txs: [utf8("forged")] } } : b)],
    ["BAD_QC", (h, b) => (h === 3 ? { ...b, summary: { ...b.summary, qc: { ...b.summary.qc!, aggregateSignature: chain[2]!.qc!.aggregateSignature } } } : b)],
    // A header from elsewhere, reported with its own hash: it does not extend block 2.
    [
      "BAD_LINK",
      (h, b) => {
        if (h !== 3) return b;
        const header = { ...b.summary.header, parent: new Uint8Array(32) };
        return { ...b, summary: { ...b.summary, header, hash: blockHasher()(header) } };
      },
    ],
  ];
  for (const [code, forge] of forgeries) {
    const log = new Recording();
    const node = await open(`forged-${code}`, [upstream("forger", forge)], log);
    try {
      await until(`a ${code} refusal`, () => log.warnings.some((w) => w.includes(`"code":"${code}"`)));
      assert.equal(node.store.head()!.height, 0, `${code}: nothing of the refused offer is stored`);
      assert.equal(node.block(1), null);
      assert.equal(node.txStatus(txIdAt2.id), null);
      assert.match(await (await fetch(`${node.rpc.url}/metrics`)).text(), new RegExp(`quire_follower_refused_total\\{code="${code}"\\} [1-9]`));
    } finally {
      await node.stop();
    }
  }
});

test("follower: after a forger, the honest upstream of the window is used; only blocks with commit evidence are stored", async () => {
  const log = new Recording();
  const forger = upstream("forger", (h, b) => (h === 2 ? { ...b, body: { ...b.body, txs: [] } } : b));
  const honest = upstream("honest");
  const node = await open("honest", [forger, honest], log);
  try {
    await until("height 5", () => (node.store.head()?.height ?? 0) >= HEIGHTS - 1);
    // Block 6 is certified but its child is not served: no commit evidence, not stored, waiting.
    assert.equal(node.store.head()!.height, HEIGHTS - 1);
    assert.equal(node.block(HEIGHTS), null);
    const st = node.status();
    assert.equal(st.follower?.pending, 1);
    assert.equal(st.follower?.upstream, "fake://honest");
    for (let h = 1; h < HEIGHTS; h++) assert.equal(toHex(node.block(h)!.hash), toHex(chain[h]!.hash));
    assert.deepEqual(node.txStatus(txIdAt2.id), { status: "committed", height: 2, index: 0, ok: true });
    assert.deepEqual(node.kv(utf8("k4/1")), utf8("v4"));
    assert.ok(log.warnings.some((w) => w.includes('"code":"BAD_TX_ROOT"')));
    // Operator routes: healthy (an upstream answers, blocks arrive), no validator links, no consensus, no key.
    assert.deepEqual({ ok: node.health().ok, reason: node.health().reason }, { ok: true, reason: null });
    assert.deepEqual(node.peers(), []);
    assert.equal(node.consensus(), null);
    assert.equal(node.validators().validators.filter((v) => v.self).length, 0);
    assert.ok(!JSON.stringify(node.effectiveConfig()).includes("keyFile"));
  } finally {
    await node.stop();
  }
});
