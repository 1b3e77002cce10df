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

const HEIGHTS = 8;
/** The honest chain's views: one per height, but view 6 timed out (its block, `orphan`, was certified and left). */
const viewAt = (h: number): number => (h <= 5 ? h : h + 1);
type Served = { block: Block; hash: Uint8Array; qc: QuorumCert | null };
let dir: string;
let genesisFile: string;
/** Heights 0..HEIGHTS: every block but the last has commit evidence. */
let chain: Served[];
/** A block at height 6 certified in view 6, extending 5, which the chain then left (the honest 6 is in view 7). */
let orphan: Served;
/** The same chain (own keys, valid QCs) but block 3's header certifies a forged parentStateRoot. */
let forgedState: Served[];
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
  const certify = (block: Block): Served & { qc: QuorumCert } => {
    const hash = hashBlock(block.header);
    const view = block.header.view;
    const qc = certs.assembleQc([0, 1, 2].map((voter) => ({ view, blockHash: hash, voter, signature: signers[voter]!.sign(voteMessage(genesis.chainIdBytes, view, hash)) }))).qc!;
    return { block, hash, qc };
  };
  // The producer: the real application over a memory store, committing each block as it is made.
  const produce = (forgeStateAt: number): Served[] => {
    const store = MemoryChainStore.open({ chainId: genesis.chainIdBytes, genesisHash: gHash });
    const app = buildApplication(appSpecOf(genesis), { committed: store, bls: backend });
    const executor = genesisExecutor(store, app.app, g, gHash);
    const out: Served[] = [{ block: g, hash: gHash, qc: null }];
    for (let h = 1; h <= HEIGHTS; h++) {
      const parent = out[h - 1]!;
      const txs = [0, 1].map((i) => encodeKvTx({ op: "put", nonce: new Uint8Array(8).fill(10 * h + i), key: utf8(`k${h}/${i}`), value: utf8(`v${h}`) }));
      if (h === 2) txIdAt2.id = defaultHasher().digest(txs[0]!);
      const made = (view: number, t: Uint8Array[]) => buildBlock({ parentHash: parent.hash, parentHeight: h - 1, view, proposer: view % 4, timestampMs: genesis.genesisTimeMs + view, txs: t, parentExecution: executor.parentExecution(parent.hash) });
      let block = made(viewAt(h), txs);
      if (h === forgeStateAt) block = { ...block, header: { ...block.header, parentStateRoot: new Uint8Array(32).fill(9) } };
      if (h === 6 && forgeStateAt < 0) orphan = certify(made(6, [encodeKvTx({ op: "put", nonce: new Uint8Array(8).fill(99), key: utf8("orphan"), value: utf8("o") })]));
      const c = certify(block);
      executor.commit([c]);
      out.push(c);
    }
    return out;
  };
  chain = produce(-1);
  forgedState = produce(3);
});
after(() => rm(dir, { recursive: true, force: true }));

type Forge = (h: number, b: { summary: BlockSummary; body: BlockBody }) => { summary: BlockSummary; body: BlockBody };

/**
 * An upstream serving `opts.blocks` (default `chain`) up to `opts.serveTo` (default HEIGHTS), with `forge` applied to
 * what it serves; it announces `opts.head` (default HEIGHTS) as its head; `opts.failAbove`: ranges above it throw.
 */
function upstream(name: string, forge: Forge = (_h, b) => b, opts: { blocks?: Served[]; head?: number; serveTo?: number; failAbove?: number } = {}): UpstreamSource & { calls: number } {
  const blocks = opts.blocks ?? chain;
  const serveTo = opts.serveTo ?? HEIGHTS;
  const at = (h: number) => {
    const c = blocks[h]!;
    return forge(h, { summary: { hash: c.hash, header: c.block.header, txCount: c.block.txs.length, qc: c.qc }, body: { txs: c.block.txs, results: new Uint8Array(0) } });
  };
  const src = {
    baseUrl: `fake://${name}`,
    calls: 0,
    block: async (h: number | "latest") => {
      src.calls++;
      if (h === "latest") return at(opts.head ?? HEIGHTS).summary;
      return h <= serveTo ? at(h).summary : null;
    },
    blocks: async (from: number, to: number) => {
      src.calls++;
      if (opts.failAbove !== undefined && from > opts.failAbove) throw new Error(`${name} does not answer`);
      const out: BlockSummary[] = [];
      for (let h = from; h <= Math.min(to, serveTo); h++) out.push(at(h).summary);
      return out;
    },
    blockBody: async (h: number) => (h <= serveTo ? at(h).body : null),
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
  error(msg: string, fields?: Record<string, unknown>): void {
    this.warnings.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  }
}

async function open(name: string, sources: UpstreamSource[], logger: Logger, subscribe: Subscribe = noStream): Promise<FollowerNode> {
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
  const node = await FollowerNode.open(parseFollowerConfig(JSON.stringify(doc), join(dir, `${name}.json`)), { logger, upstreams: sources, subscribe });
  await node.start();
  return node;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

test("follower: a forged body (txRoot), a forged QC or a header that does not link is refused with its code, nothing stored", async () => {
  const forgeries: [string, Forge][] = [
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

/** Serves `orphan` in place of the honest block 6. */
const orphanAt6: Forge = (h, b) => (h === 6 ? { summary: { hash: orphan.hash, header: orphan.block.header, txCount: orphan.block.txs.length, qc: orphan.qc }, body: { txs: orphan.block.txs, results: new Uint8Array(0) } } : b);

test("follower: a certified block the chain orphaned, served by a Byzantine upstream, is replaced by the honest branch; the honest upstream keeps its place", async () => {
  const log = new Recording();
  // Serves 1..5 and the orphan at 6, then stops answering: the honest upstream's 7 does not extend the orphan.
  const byzantine = upstream("byzantine", orphanAt6, { serveTo: 6, failAbove: 6 });
  const honest = upstream("honest");
  const node = await open("orphan", [byzantine, honest], log);
  try {
    await until("height 7", () => (node.store.head()?.height ?? 0) >= HEIGHTS - 1);
    for (let h = 1; h < HEIGHTS; h++) assert.equal(toHex(node.block(h)!.hash), toHex(chain[h]!.hash));
    assert.equal(node.kv(utf8("orphan")), null);
    assert.equal(node.status().follower?.upstream, "fake://honest");
    // The honest upstream was never blamed for not extending the orphan.
    assert.ok(!log.warnings.some((w) => w.includes('"code":"BAD_LINK"')), log.warnings.join("\n"));
  } finally {
    await node.stop();
  }
});

test("follower: a certified header with a forged parentStateRoot stops the follower before anything of the batch is stored", async () => {
  const log = new Recording();
  const node = await open("forged-state", [upstream("forged", undefined, { blocks: forgedState })], log);
  try {
    assert.equal(await node.done, 1);
    assert.ok(log.warnings.some((w) => w.includes("BAD_PARENT_STATE_ROOT: block 3 certifies")), log.warnings.join("\n"));
  } finally {
    await node.stop();
  }
  // Reopened over the same data directory (an upstream that serves nothing): blocks 1 and 2 executed fine, but they
  // came in one batch (1..7) with header 3's forged outcome of block 2, and nothing of the batch was written.
  const again = await open("forged-state", [upstream("silent", undefined, { head: 0, serveTo: 0 })], new Recording());
  try {
    assert.equal(again.store.head()!.height, 0);
  } finally {
    await again.stop();
  }
});

test("follower: a primary announcing a head it does not serve is left for the next upstream", async () => {
  const log = new Recording();
  const liar = upstream("liar", undefined, { serveTo: 4 });
  const honest = upstream("honest");
  const node = await open("liar", [liar, honest], log);
  try {
    await until("height 7", () => (node.store.head()?.height ?? 0) >= HEIGHTS - 1);
    assert.equal(node.status().follower?.upstream, "fake://honest");
    assert.ok(log.warnings.some((w) => w.includes("served nothing from 5")), log.warnings.join("\n"));
    // Asked a bounded number of times, not in a loop: its head (1), the ranges 1..8 and 5..8, perhaps a retry.
    assert.ok(liar.calls <= 6, `the liar was asked ${liar.calls} times`);
  } finally {
    await node.stop();
  }
});

test("follower: an announced head without a valid certificate does not make the follower report CATCHING_UP", async () => {
  const log = new Recording();
  // Its `latest` is block 8's header claiming height 1,000 (hashed again, with block 8's QC, which does not certify
  // it); above 8 it serves block 8's header as 9 (which does not link): it answers, and is refused, again and again.
  const claim = (height: number): BlockSummary => {
    const header = { ...chain[HEIGHTS]!.block.header, height };
    return { hash: blockHasher()(header), header, txCount: 2, qc: chain[HEIGHTS]!.qc };
  };
  const honest = upstream("boaster");
  const boaster: UpstreamSource = {
    baseUrl: honest.baseUrl,
    block: async (h) => (h === "latest" ? claim(1_000) : honest.block(h)),
    blocks: async (from, to) => (from > HEIGHTS ? [claim(HEIGHTS + 1)] : honest.blocks(from, to)),
    blockBody: async (h) => honest.blockBody(Math.min(h, HEIGHTS)),
  };
  const node = await open("boaster", [boaster], log);
  try {
    await until("height 7", () => (node.store.head()?.height ?? 0) >= HEIGHTS - 1);
    // The verified tip (8, certified, waiting for its child), not the announced 1,000, is health's target.
    assert.equal(node.follower.certifiedHeight, HEIGHTS);
    await until("a refusal of the fake 9", () => log.warnings.some((w) => w.includes('"code":"BAD_LINK","height":9')));
    // It keeps asking the boaster (its only upstream, which answers) for 9..1,000; never CATCHING_UP.
    assert.equal(node.follower.upstreamHeight, 1_000);
    const h = node.health();
    assert.notEqual(h.reason, "CATCHING_UP", h.detail ?? "");
  } finally {
    await node.stop();
  }
});

test("follower: a primary whose stream sends a bad frame (undecodable, too long) loses its place", async () => {
  const log = new Recording();
  // The first primary's stream carries two good frames, then a bad one; the other's stays open.
  const subscribe: Subscribe = (url, onHead, onClose) => {
    if (url === "fake://bad-stream") {
      queueMicrotask(() => {
        onHead(HEIGHTS);
        onHead(HEIGHTS);
        onClose(2, true);
      });
    }
    return { close: () => {} };
  };
  const node = await open("bad-stream", [upstream("bad-stream"), upstream("good-stream")], log, subscribe);
  try {
    await until("the next upstream", () => node.status().follower?.upstream === "fake://good-stream");
    assert.ok(log.warnings.some((w) => w.includes("its stream sent a bad frame")), log.warnings.join("\n"));
  } finally {
    await node.stop();
  }
});

test("follower: an upstream alternating non-linking ranges with shortened ones gets one free refetch, then loses its place", async () => {
  const log = new Recording();
  const hashHeader = blockHasher();
  const summary = (h: number): BlockSummary => ({ hash: chain[h]!.hash, header: chain[h]!.block.header, txCount: chain[h]!.block.txs.length, qc: chain[h]!.qc });
  // A header that hashes right but does not link: refused BAD_LINK before any certificate is checked (free to make).
  const junk = (h: number): BlockSummary => {
    const header = { ...chain[h]!.block.header, parent: new Uint8Array(32).fill(7) };
    return { hash: hashHeader(header), header, txCount: 0, qc: chain[h]!.qc };
  };
  let rewinds = 0;
  let rangeCalls = 0;
  // Blocks 5 (view 5) and 6 (view 7) stay pending (no consecutive pair above 4). On every refetch from the committed
  // head the upstream serves [5] or [5, 6] in turn, so the tip changes each time; from the tip it serves junk.
  const hostile: UpstreamSource = {
    baseUrl: "fake://hostile",
    block: async (h) => (h === "latest" ? summary(HEIGHTS) : h <= HEIGHTS ? summary(h) : null),
    blocks: async (from, to) => {
      rangeCalls++;
      if (from === 1) return [1, 2, 3, 4, 5, 6].filter((h) => h <= to).map(summary);
      if (from === 5) return (rewinds++ % 2 === 0 ? [5] : [5, 6]).map(summary);
      return [junk(from)];
    },
    blockBody: async (h) => (h <= HEIGHTS ? { txs: chain[h]!.block.txs, results: new Uint8Array(0) } : null),
  };
  const node = await open("alternating", [hostile, upstream("honest")], log);
  try {
    await until("height 7", () => (node.store.head()?.height ?? 0) >= HEIGHTS - 1);
    assert.equal(node.status().follower?.upstream, "fake://honest");
    // The first range, one junk range, one free refetch, one more junk range: then it is blamed (a retry or two more).
    assert.ok(rangeCalls <= 6, `the hostile upstream was asked for ${rangeCalls} ranges`);
    assert.ok(log.warnings.some((w) => w.includes('"code":"BAD_LINK"')), log.warnings.join("\n"));
  } finally {
    await node.stop();
  }
});
