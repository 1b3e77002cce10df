/**
 * N consensus shells in one process: the node's real shell, executor, KV application, mempool and chain store
 * (memory), over the in-memory network on the real clock, with the simulator's fast insecure signature scheme in
 * place of BLS (the BLS path is covered end to end in test/e2e). Records, per node, the order of durable writes and
 * sends, so tests can check "persisted before sent".
 */
import { buildGenesisBlock } from "../../../../src/chain/blocks.js";
import { MemoryChainData, MemoryChainStore } from "../../../../src/chain/store/memoryStore.js";
import { decodeSafetyRecord } from "../../../../src/chain/store/records.js";
import type { SafetyRecord } from "../../../../src/chain/store/records.js";
import type { CommittedSummary } from "../../../../src/chain/executor.js";
import { bitmapSignerSets } from "../../../../src/consensus/adapters/bitmapSignerSets.js";
import { blockHasher } from "../../../../src/consensus/blockHash.js";
import { SchemeCertificates } from "../../../../src/consensus/scheme.js";
import { MemoryNetwork } from "../../../../src/net/memoryNetwork.js";
import type { MemoryTransport } from "../../../../src/net/memoryNetwork.js";
import type { Priority, SendStatus } from "../../../../src/net/transport.js";
import type { ModularApplication } from "../../../../src/chain/app/modular.js";
import type { Mempool } from "../../../../src/chain/mempool.js";
import type { EpochShell } from "../../../../src/node/epochShell.js";
import { buildConsensusStack } from "../../../../src/node/consensusStack.js";
import type { ConsensusStackModules } from "../../../../src/node/consensusStack.js";
import { SILENT } from "../../../../src/node/logger.js";
import { DEFAULT_PENALTIES, PeerPenalties } from "../../../../src/node/penalties.js";
import { InsecureTestScheme } from "../../../../src/sim/insecureTestScheme.js";
import { SystemScheduler } from "../../../../src/util/clock.js";
import assert from "node:assert/strict";
import { toHex, utf8 } from "../../../../src/util/bytes.js";
import { decodeMessage } from "../../../../src/wire/codec.js";
import type { Message, Proposal } from "../../../../src/domain/types.js";
import { proposalMessage } from "../../../../src/consensus/signing.js";

export const CHAIN_ID = utf8("quire-shell-test");

/** One durable write or one outgoing consensus message, in the order the shell did them. */
export type Event = { kind: "durable"; safety: SafetyRecord | null } | { kind: "sent"; to: number; msg: Message };

export interface HarnessNode {
  readonly index: number;
  shell: EpochShell;
  store: MemoryChainStore;
  app: ModularApplication;
  readonly data: MemoryChainData;
  mempool: Mempool;
  readonly transport: MemoryTransport;
  readonly penalties: PeerPenalties;
  readonly events: Event[];
  readonly committed: CommittedSummary[];
  fatal: unknown;
}

export class ShellHarness {
  readonly net: MemoryNetwork;
  readonly nodes: HarnessNode[] = [];
  private readonly scheme: InsecureTestScheme;
  private readonly genesis = buildGenesisBlock({ timestampMs: 0 });
  private readonly hashBlock = blockHasher();
  private readonly gHash: Uint8Array;

  constructor(
    readonly n: number,
    /** The chain's application (default: the KV module alone). */
    private readonly application?: ConsensusStackModules["application"],
  ) {
    this.net = new MemoryNetwork({ size: n, seed: 1 }, { scheduler: new SystemScheduler() });
    this.scheme = new InsecureTestScheme(n, 7);
    this.gHash = this.hashBlock(this.genesis.header);
    for (let i = 0; i < n; i++) this.nodes.push(this.build(i, new MemoryChainData()));
  }

  private build(i: number, data: MemoryChainData): HarnessNode {
    const store = MemoryChainStore.open({ chainId: CHAIN_ID, genesisHash: this.gHash }, data);
    const prev = this.nodes[i];
    const transport = prev?.transport ?? this.net.transport(i);
    const events: Event[] = prev?.events ?? [];
    const committed: CommittedSummary[] = prev?.committed ?? [];
    // Record the order of durable writes and sends.
    const saveConsensusState = store.saveConsensusState.bind(store);
    store.saveConsensusState = (u) => {
      saveConsensusState(u);
      events.push({ kind: "durable", safety: u.safety === undefined ? null : decodeSafetyRecord(u.safety) });
    };
    if (prev === undefined) {
      const send = transport.send.bind(transport);
      transport.send = (to: number, priority: Priority, payload: Uint8Array): SendStatus => {
        events.push({ kind: "sent", to, msg: decodeMessage(payload) });
        return send(to, priority, payload);
      };
    }
    const scheduler = new SystemScheduler(Date.now);
    const penalties = prev?.penalties ?? new PeerPenalties(DEFAULT_PENALTIES, Date.now);
    const node = { index: i, store, data, transport, penalties, events, committed, fatal: undefined } as unknown as HarnessNode;
    const stack = buildConsensusStack(
      {
        chainId: CHAIN_ID,
        self: i,
        validatorCount: this.n,
        genesis: this.genesis,
        pacemaker: { baseTimeoutMs: 400, backoffFactor: 2, maxTimeoutMs: 3_200 },
        block: { maxTxs: 1000, maxBytes: 1 << 20, minIntervalMs: 5, emptyIntervalMs: 40 },
        gossip: { intervalMs: 5, maxBatchTxs: 500, maxBatchBytes: 1 << 20 },
      },
      {
        store,
        certificates: new SchemeCertificates({ chainId: CHAIN_ID, validatorCount: this.n }, this.scheme, bitmapSignerSets()),
        signer: this.scheme.signer(i),
        precheck: null,
        transport,
        scheduler,
        logger: SILENT,
        penalties,
        onCommit: (blocks) => committed.push(...blocks),
        onFatal: (e) => (node.fatal = e),
        application: this.application,
      },
    );
    node.shell = stack.shell;
    node.app = stack.app;
    node.mempool = stack.mempool;
    transport.setHandler({
      onMessage: (from, payload) => node.shell.onMessage(from, payload),
      onPeerUp: (p) => node.shell.onPeerUp(p),
      onPeerDown: (p) => node.shell.onPeerDown(p),
    });
    return node;
  }

  async start(): Promise<void> {
    for (const node of this.nodes) {
      await node.transport.start();
      node.shell.start();
    }
  }

  /** Stops node i (shell, transport, store) and returns its committed height; the store data survives for `restart`. */
  async crashStop(i: number): Promise<number> {
    const node = this.nodes[i]!;
    node.shell.stop();
    const height = this.height(i);
    await node.transport.stop();
    await node.store.close();
    return height;
  }

  /** Rebuilds node i over its surviving store data (or, `empty`, over a new empty store) and starts it. */
  async restart(i: number, empty = false): Promise<HarnessNode> {
    const old = this.nodes[i]!;
    const node = this.build(i, empty ? new MemoryChainData() : old.data);
    this.nodes[i] = node;
    await node.transport.start();
    node.shell.start();
    return node;
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      node.shell.stop();
      await node.transport.stop();
      await node.store.close().catch(() => {});
    }
  }

  height(i: number): number {
    return this.nodes[i]!.store.head()?.height ?? -1;
  }

  /** `p` signed by its block's proposer, as a Byzantine proposer would sign a block it tampered with itself. */
  signedByProposer(p: Proposal): Proposal {
    const h = p.block.header;
    return { ...p, signature: this.scheme.signer(h.proposer).sign(proposalMessage(CHAIN_ID, h.view, this.hashBlock(h))) };
  }
}

/** Every node (of `which`, default all) holds the same block hash at every height up to `upTo`. */
export function sameChain(h: ShellHarness, upTo: number, which: readonly number[] = h.nodes.map((_, i) => i)): void {
  const nodes = which.map((i) => h.nodes[i]!);
  for (let height = 0; height <= upTo; height++) {
    const ref = nodes[0]!.store.hashAt(height);
    assert.ok(ref !== undefined, `node ${nodes[0]!.index} lacks height ${height}`);
    for (const node of nodes) assert.equal(toHex(node.store.hashAt(height)!), toHex(ref), `node ${node.index} at height ${height}`);
  }
}

/** Polls `cond` every 5 ms until it holds; throws after `timeoutMs` (a hang guard, not synchronisation). */
export async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
