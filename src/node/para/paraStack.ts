/**
 * One para node's working parts over a store, wired the same way for the process (`ParaNode`) and the simulator
 * (`src/sim/paraSimulation.ts`), as `consensusStack.ts` is for validators: the para chain's application and executor
 * (the para genesis committed once), the block builder, the sender and the main-chain follower. Nothing starts here.
 */
import { buildApplication } from "../../chain/app/build.js";
import type { BuiltApplication } from "../../chain/app/build.js";
import { Executor } from "../../chain/executor.js";
import type { ChainStore } from "../../chain/store/interface.js";
import { encodeBitmapIndices } from "../../crypto/bitmap/index.js";
import { blockHasher } from "../../consensus/blockHash.js";
import type { Scheduler } from "../../util/clock.js";
import type { Logger } from "../logger.js";
import { ParaBuilder } from "./builder.js";
import { MainFollower } from "./follower.js";
import type { MainChainClient } from "./mainChain.js";
import type { ParaBlockPolicy, ParaGenesis } from "./paraGenesis.js";
import { paraAppSpec, paraGenesisBlock } from "./paraGenesis.js";
import { ParaSender } from "./sender.js";
import type { ParaSenderOptions, SenderMetrics } from "./sender.js";

export interface ParaStackOptions {
  readonly genesis: ParaGenesis;
  readonly nodeIndex: number;
  /** This node's block policy (default: the genesis's). */
  readonly blockPolicy?: ParaBlockPolicy;
  readonly sender: Omit<ParaSenderOptions, "title" | "nodeIndex">;
}

export interface ParaStackModules {
  readonly store: ChainStore;
  readonly main: MainChainClient;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** BLS-signs commit signing bytes with this node's key (96-byte compressed signature). */
  readonly sign: (signingBytes: Uint8Array) => Uint8Array;
  readonly metrics?: SenderMetrics;
  readonly onParaBlock?: (height: number) => void;
  /** Nonces of resent commit txs (default: random). */
  readonly nonce?: () => Uint8Array;
}

export interface ParaStack {
  readonly app: BuiltApplication;
  readonly executor: Executor;
  readonly builder: ParaBuilder;
  readonly sender: ParaSender;
  readonly follower: MainFollower;
}

export function buildParaStack(o: ParaStackOptions, m: ParaStackModules): ParaStack {
  const { store } = m;
  const app = buildApplication(paraAppSpec(o.genesis), { committed: store });
  const executor = new Executor({}, { store, app: app.app });
  if (store.head() === null) {
    const g = paraGenesisBlock(o.genesis);
    const hash = blockHasher()(g.header);
    // The genesis anchor: like every para block's, no signers (a para chain has no votes).
    executor.commitGenesis({ block: g, hash, qc: { view: 0, blockHash: hash, signers: encodeBitmapIndices(0, new Uint32Array(0)), aggregateSignature: new Uint8Array(96) } });
  }
  const policy = o.blockPolicy ?? o.genesis.blockPolicy;
  const builder = new ParaBuilder({ title: o.genesis.title, startHeight: o.genesis.startHeight, emptyBlockInterval: policy.emptyBlockInterval }, { store, executor, sign: m.sign });
  const sender = new ParaSender(
    { title: o.genesis.title, nodeIndex: o.nodeIndex, ...o.sender },
    { main: m.main, commit: (h) => builder.commit(h), paraHead: () => builder.paraHeight, logger: m.logger, metrics: m.metrics, nonce: m.nonce },
  );
  const follower = new MainFollower({}, { main: m.main, scheduler: m.scheduler, builder, sender, logger: m.logger, onParaBlock: m.onParaBlock });
  return { app, executor, builder, sender, follower };
}
