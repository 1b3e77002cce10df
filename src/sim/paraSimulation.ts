/**
 * Multi-chain runs (issue 13): the main chain's replicas (a `Simulation`, with its scenario faults) run the
 * kv + accounts + paracross application, and P para nodes — each the node's own parts (`buildParaStack`, as
 * `ParaNode` wires them) over a memory store — follow it on the same virtual clock. At the end the paracross
 * invariant is checked on every honest main replica (`checkParaDone`): done heights contiguous from 1, each agreed by
 * ≥ 2/3 of the para nodes, the same on every replica, and the commit the honest para nodes computed.
 *
 *   const bls = await loadBlsBackend("blst");
 *   const r = await runParaSimulation({ validators: 4, seed: 7, kinds: "random", paraNodes: 4, bls });
 *   r.violations   // [] when the main chain and the paracross invariant held
 *
 * The para nodes' main-chain client is promise-based (it is the RPC client's contract), so the run goes through
 * `Simulation.runAsync`, which lets every pending promise callback run after each event: a run is still a pure
 * function of its options and seed. Para faults: Byzantine para nodes (the last `byzantineParas` of them) build with
 * another block policy, so their commits never match the honest ones; outages drop a para node's parts and rebuild
 * them later over the same data (its sender restarts from the main chain's done height).
 */
import { buildApplication } from "../chain/app/build.js";
import type { BuiltApplication } from "../chain/app/build.js";
import { encodeKvTx } from "../chain/app/kvTx.js";
import { encodeParaTx } from "../chain/app/paracross/format.js";
import { testPara } from "../chain/app/paracross/testonly.js";
import { buildGenesisBlock } from "../chain/blocks.js";
import { MemoryChainData, MemoryChainStore } from "../chain/store/memoryStore.js";
import { blockHasher } from "../consensus/blockHash.js";
import type { BlsBackend, SecretKey } from "../crypto/bls/backend.js";
import type { Block } from "../domain/types.js";
import type { Logger } from "../node/logger.js";
import { DEFAULT_SENDER } from "../node/para/paraConfig.js";
import type { MainBlock, MainChainClient, ParaStatusView } from "../node/para/mainChain.js";
import { paraGenesisBlock } from "../node/para/paraGenesis.js";
import type { ParaBlockPolicy, ParaGenesis } from "../node/para/paraGenesis.js";
import { buildParaStack } from "../node/para/paraStack.js";
import type { ParaStack } from "../node/para/paraStack.js";
import { toHex, utf8, writeU64BE } from "../util/bytes.js";
import { SeededRng } from "../util/rng.js";
import type { Violation } from "./checkers.js";
import { checkParaDone } from "./paraChecker.js";
import type { ParaDoneView } from "./paraChecker.js";
import type { ScenarioKind, ScenarioPlan } from "./scenario.js";
import { SIM_BUCKET_BITS } from "./simReplica.js";
import { Simulation, SIM_CHAIN_ID } from "./simulation.js";
import type { SimResult } from "./simulation.js";

export const PARA_SIM_TITLE = "demo";
export const PARA_SIM_CHAIN_ID = "quire-sim-para";
/** The para client submits one para tx (a KV put for the para chain) this often (virtual ms): para blocks carry txs. */
export const PARA_SIM_TX_INTERVAL_MS = 100;
/** A para node whose main-chain start failed tries again after this long (virtual ms; `ParaNode` waits 1 s). */
const START_RETRY_MS = 500;

/** A para node down from `atMs` for `forMs` virtual ms, then rebuilt over the same store data. */
export interface ParaOutage {
  readonly node: number;
  readonly atMs: number;
  readonly forMs: number;
}

export interface ParaSimOptions {
  readonly validators: number;
  readonly seed: number;
  /** The main chain's scenario kinds, as `quire sim --scenario`. */
  readonly kinds: readonly ScenarioKind[] | "random";
  /** Main-chain views to reach (as `SimOptions.views`; default 20). */
  readonly views?: number;
  /** Byzantine main validators (default: drawn by the scenario). */
  readonly byzantine?: number;
  /** Para nodes (registered for title "demo"). */
  readonly paraNodes: number;
  /** The last this many para nodes are Byzantine: they build (and sign) with another block policy. Default 0. */
  readonly byzantineParas?: number;
  /**
   * "distinct" (default): Byzantine para node k uses emptyBlockInterval 2 + k, so they do not agree with each other
   * either; "shared": all use 2 — colluding on one wrong chain (with ≥ 2/3 of the nodes this must break the checker).
   */
  readonly byzantinePolicy?: "distinct" | "shared";
  /** Para node outages; "random": drawn from the seed (`drawParaOutages`). Default none. */
  readonly paraOutages?: readonly ParaOutage[] | "random";
  /** Run until every live honest para node made this many para blocks and, when a quorum can form, done reached it. Default 20. */
  readonly paraHeight?: number;
  /** The sync BLS backend (blst): para nodes sign with it, the main chain's paracross module verifies with it. */
  readonly bls: BlsBackend;
  /** Virtual ms between para txs (default PARA_SIM_TX_INTERVAL_MS; 0: none). */
  readonly paraTxIntervalMs?: number;
  /** Replaces the drawn main-chain plan (tests build exact scenarios). */
  readonly plan?: (drawn: ScenarioPlan) => ScenarioPlan;
  /** Virtual ms past the main run's deadline the para target may take (default 10,000). */
  readonly extraMs?: number;
  /** Keep the main chain's event trace (a failing seed is replayed with it). */
  readonly trace?: boolean;
}

/** Per honest main replica with a live stack at the end. */
export interface ParaDoneReport {
  readonly instance: number;
  readonly doneHeight: number;
}

export interface ParaSimResult {
  readonly seed: number;
  /** The main chain's own result (its safety, validity and liveness violations are included in `violations`). */
  readonly main: SimResult;
  readonly violations: readonly Violation[];
  /** Highest committed main height over honest replicas. */
  readonly mainHeight: number;
  /** Highest para height an honest para node made. */
  readonly paraHead: number;
  /** Each para node's head at the end (0 while it is down), Byzantine ones included. */
  readonly paraHeads: readonly number[];
  /** The para outages of the run (drawn ones included). */
  readonly outages: readonly ParaOutage[];
  readonly done: readonly ParaDoneReport[];
  /** `paraHead` minus the lowest done height in `done` (how far the main chain's agreement trails the para chain). */
  readonly doneLag: number;
  /** Commit txs sent again (summed over para nodes and incarnations). */
  readonly resends: number;
  readonly paraTxs: number;
  /** Warnings the para nodes logged (failed main-chain requests, refused commits): informational. */
  readonly paraWarnings: number;
  readonly endMs: number;
}

/**
 * Random para outages for a seed, from a stream of their own (the main chain's plan for the seed stays the same): with
 * probability 1/2 none, else one or two para nodes each down once, within the first 3 virtual s, for 0.1–2.5 s —
 * sometimes overlapping, so the para nodes up can fall below 2/3 for a while (done pauses; it must resume, no hole).
 */
export function drawParaOutages(seed: number, paraNodes: number): ParaOutage[] {
  const rng = new SeededRng((seed ^ 0x1f83d9ab) >>> 0);
  if (!rng.chance(0.5)) return [];
  const nodes = rng.shuffle(Array.from({ length: paraNodes }, (_, i) => i)).slice(0, rng.range(1, Math.min(2, paraNodes)));
  return nodes.map((node) => ({ node, atMs: rng.range(0, 3_000), forMs: rng.range(100, 2_500) }));
}

/** Builds the main chain and the para nodes, runs them on one virtual clock, and checks. */
export async function runParaSimulation(opts: ParaSimOptions): Promise<ParaSimResult> {
  const run = await ParaSimulation.create(opts);
  await run.run();
  return run.result();
}

/** A main-chain client bound to one para node incarnation: a dropped incarnation's leftover calls all reject. */
class SimMainChain implements MainChainClient {
  closed = false;
  readonly listeners = new Set<(h: number) => void>();

  constructor(
    private readonly sim: ParaSimulation,
    /** The main replica this para node trusts first (it fails over to the next live ones, as `RpcMainChain` does). */
    readonly preferred: number,
  ) {}

  /** The main replica serving this node now: the preferred one or the next one up. */
  serving(): number | null {
    const n = this.sim.main.replicas.length;
    for (let k = 0; k < n; k++) {
      const i = (this.preferred + k) % n;
      if (this.sim.main.replicas[i]!.up) return i;
    }
    return null;
  }

  private async replica(): Promise<number> {
    // One hop first: a call never runs inside the consensus step that triggered it (as over a network).
    await Promise.resolve();
    if (this.closed) throw new Error("para node stopped");
    const i = this.serving();
    if (i === null) throw new Error("no main replica up");
    return i;
  }

  async head(): Promise<number> {
    const i = await this.replica();
    return this.sim.main.replicas[i]!.chainStore!.head()?.height ?? 0;
  }

  async blockBody(height: number): Promise<MainBlock | null> {
    const i = await this.replica();
    const rec = this.sim.main.replicas[i]!.chainStore!.committedAt(height);
    if (rec === undefined) return null;
    return { height, timestampMs: rec.block.header.timestampMs, txs: rec.block.txs, results: rec.results };
  }

  async paraStatus(title: string): Promise<ParaStatusView> {
    const i = await this.replica();
    const st = this.sim.apps.get(i)!.paracross!.status(title);
    if (st === null) throw new Error(`title ${title} is not registered on the main chain`);
    return { doneHeight: st.doneHeight, recordedHeight: st.recordedHeight };
  }

  async submitTx(tx: Uint8Array): Promise<void> {
    const i = await this.replica();
    const r = this.sim.main.replicas[i]!.stack!.mempool.add(tx, "para");
    if (r.kind !== "accepted" && r.kind !== "duplicate") throw new Error(`main mempool refused the commit tx: ${r.kind}`);
  }

  subscribeHeads(onHead: (height: number) => void): () => void {
    this.listeners.add(onHead);
    return () => this.listeners.delete(onHead);
  }
}

/** One para node: its data survives an outage; its parts (the stack) and main-chain client are per incarnation. */
class SimParaNode {
  readonly data = new MemoryChainData();
  stack: ParaStack | null = null;
  link: SimMainChain | null = null;
  private store: MemoryChainStore | null = null;
  /** The commit message this node made for each para height (over all incarnations). */
  readonly made = new Map<number, Uint8Array>();
  resends = 0;
  warnings = 0;
  private nonces = 0;

  constructor(
    private readonly sim: ParaSimulation,
    readonly index: number,
    private readonly secret: SecretKey,
    private readonly policy: ParaBlockPolicy,
    readonly byzantine: boolean,
  ) {}

  get head(): number {
    return this.stack?.builder.paraHeight ?? 0;
  }

  start(): void {
    if (this.stack !== null) return;
    const { sim } = this;
    const g = sim.paraGenesis;
    const store = MemoryChainStore.open({ chainId: g.chainIdBytes, genesisHash: blockHasher()(paraGenesisBlock(g).header) }, this.data);
    const link = new SimMainChain(sim, this.index % sim.main.plan.validators);
    const bls = sim.opts.bls;
    const logger: Logger = { debug: () => {}, info: () => {}, warn: () => this.warnings++, error: () => this.warnings++ };
    const stack = buildParaStack(
      { genesis: g, nodeIndex: this.index, blockPolicy: this.policy, sender: DEFAULT_SENDER },
      {
        store,
        main: link,
        scheduler: sim.main.scheduler,
        logger,
        sign: (b) => bls.signatureToBytes(bls.sign(this.secret, b)),
        metrics: { resends: { inc: (n = 1) => (this.resends += n) }, commitsSent: { inc: () => {} } },
        // The sender signs this commit next anyway (the builder caches it): recording it costs nothing extra.
        onParaBlock: (h) => {
          const c = stack.builder.commit(h);
          if (c !== undefined) this.made.set(h, c.message);
        },
        // Distinct per node and incarnation, deterministic: a resent tx gets a new id.
        nonce: () => {
          const b = new Uint8Array(8);
          writeU64BE(new DataView(b.buffer), 0, this.index * 2 ** 40 + this.nonces++);
          return b;
        },
      },
    );
    this.stack = stack;
    this.link = link;
    this.store = store;
    void this.connect(link, stack);
  }

  /**
   * Drops the parts, as a killed process would: the store data stays. The store is closed (synchronously: the memory
   * store's close does its work before its promise), so a step of the dropped incarnation still under way when the
   * outage starts fails on its next store access instead of writing on.
   */
  stop(): void {
    const { stack, link, store } = this;
    if (stack === null || link === null || store === null) return;
    link.closed = true;
    link.listeners.clear();
    stack.follower.stop();
    void store.close();
    this.stack = null;
    this.link = null;
    this.store = null;
  }

  /** As `ParaNode.connect`: the main head and the done height, then follow; retried until a main replica answers. */
  private async connect(link: SimMainChain, stack: ParaStack): Promise<void> {
    try {
      const head = await link.head();
      await stack.sender.start(head);
    } catch {
      if (link.closed) return;
      this.sim.main.scheduler.setTimeout(() => void this.connect(link, stack), START_RETRY_MS);
      return;
    }
    if (!link.closed) await stack.follower.start();
  }
}

export class ParaSimulation {
  readonly main: Simulation;
  /** Each main instance's application handles (its running incarnation's). */
  readonly apps = new Map<number, BuiltApplication>();
  readonly paras: SimParaNode[];
  readonly outages: readonly ParaOutage[];
  private paraTxs = 0;

  private constructor(
    readonly opts: ParaSimOptions,
    mainGenesis: Block,
    readonly paraGenesis: ParaGenesis,
    secrets: readonly SecretKey[],
    registration: { title: string; nodes: readonly Uint8Array[] },
  ) {
    const { bls } = opts;
    this.main = new Simulation({
      validators: opts.validators,
      seed: opts.seed,
      kinds: opts.kinds,
      views: opts.views ?? 20,
      byzantine: opts.byzantine,
      plan: opts.plan,
      trace: opts.trace,
      genesis: mainGenesis,
      application: (store, instance) => {
        const built = buildApplication({ bucketBits: SIM_BUCKET_BITS, modules: ["kv", "accounts", "paracross"], chainId: SIM_CHAIN_ID, paras: [registration] }, { committed: store, bls });
        this.apps.set(instance, built);
        return built.app;
      },
      onCommitted: (instance, blocks) => this.onMainCommit(instance, blocks[blocks.length - 1]!.height),
    });
    const p = opts.paraNodes;
    const byz = opts.byzantineParas ?? 0;
    this.outages = opts.paraOutages === "random" ? drawParaOutages(opts.seed, p) : (opts.paraOutages ?? []);
    this.paras = secrets.map((sk, i) => {
      const k = i - (p - byz);
      const policy = k < 0 ? paraGenesis.blockPolicy : { emptyBlockInterval: opts.byzantinePolicy === "shared" ? 2 : 2 + k };
      return new SimParaNode(this, i, sk, policy, k >= 0);
    });
  }

  static async create(opts: ParaSimOptions): Promise<ParaSimulation> {
    const { bls } = opts;
    if (!Number.isInteger(opts.paraNodes) || opts.paraNodes < 1) throw new RangeError(`paraNodes must be >= 1, got ${opts.paraNodes}`);
    const byz = opts.byzantineParas ?? 0;
    if (byz < 0 || byz > opts.paraNodes) throw new RangeError(`byzantineParas must be in 0..${opts.paraNodes}, got ${byz}`);
    const tp = testPara(bls, PARA_SIM_TITLE, opts.paraNodes);
    const nodes = [];
    for (let i = 0; i < opts.paraNodes; i++) {
      nodes.push({ publicKey: tp.registration.nodes[i]!, proofOfPossession: bls.signatureToBytes(await bls.popProve(tp.secrets[i]!)) });
    }
    const mainGenesis = buildGenesisBlock({ timestampMs: 0 });
    const mainGenesisHash = blockHasher()(mainGenesis.header);
    const genesis: ParaGenesis = {
      title: PARA_SIM_TITLE,
      chainId: PARA_SIM_CHAIN_ID,
      chainIdBytes: utf8(PARA_SIM_CHAIN_ID),
      mainChainId: new TextDecoder().decode(SIM_CHAIN_ID),
      mainGenesisHash,
      startHeight: 1,
      genesisTimeMs: 0,
      nodes,
      blockPolicy: { emptyBlockInterval: 1 },
      app: { bucketBits: SIM_BUCKET_BITS, modules: ["kv", "accounts"] },
    };
    return new ParaSimulation(opts, mainGenesis, genesis, tp.secrets, tp.registration);
  }

  /** Starts the para nodes and the para client, schedules the outages, and runs the main simulation to the para target. */
  async run(): Promise<void> {
    const s = this.main.scheduler;
    for (const p of this.paras) p.start();
    for (const o of this.outages) {
      const node = this.paras[o.node];
      if (node === undefined) throw new RangeError(`para outage of node ${o.node}: there are ${this.paras.length} para nodes`);
      s.setTimeout(() => node.stop(), o.atMs);
      s.setTimeout(() => node.start(), o.atMs + o.forMs);
    }
    this.armParaClient();
    await this.main.runAsync(() => this.paraDone(), this.opts.extraMs ?? 10_000);
  }

  /** Every live honest para node reached the target height and, when 2/3 can agree, every live honest main replica's done height did too. */
  private paraDone(): boolean {
    const target = this.opts.paraHeight ?? 20;
    const now = this.main.scheduler.now();
    for (const o of this.outages) if (now < o.atMs + o.forMs) return false;
    for (const p of this.paras) if (!p.byzantine && p.head < target) return false;
    if (!this.quorumPossible()) return true;
    for (const i of this.main.live) {
      const app = this.main.replicas[i]!.up ? this.apps.get(i) : undefined;
      if (app === undefined) return false;
      if ((app.paracross!.status(PARA_SIM_TITLE)?.doneHeight ?? 0) < target) return false;
    }
    return true;
  }

  /** Whether some group of para nodes that agree (the honest ones, or colluding Byzantine ones) reaches 2/3. */
  private quorumPossible(): boolean {
    const n = this.paras.length;
    const byz = this.paras.filter((p) => p.byzantine).length;
    const colluding = this.opts.byzantinePolicy === "shared" ? byz : Math.min(byz, 1);
    return 3 * (n - byz) >= 2 * n || 3 * colluding >= 2 * n;
  }

  private onMainCommit(instance: number, height: number): void {
    for (const p of this.paras) {
      const link = p.link;
      if (link === null || link.listeners.size === 0 || link.serving() !== instance) continue;
      // Delivered as the next event (a stream message), not inside the commit.
      this.main.scheduler.setTimeout(() => {
        if (!link.closed) for (const l of link.listeners) l(height);
      }, 0);
    }
  }

  /** One para tx (title "demo", a KV put for the para chain) per interval, to the main replicas in turn. */
  private armParaClient(): void {
    const every = this.opts.paraTxIntervalMs ?? PARA_SIM_TX_INTERVAL_MS;
    if (every <= 0) return;
    const s = this.main.scheduler;
    const tick = (): void => {
      const reps = this.main.replicas;
      const seq = this.paraTxs;
      for (let k = 0; k < reps.length; k++) {
        const stack = reps[(seq + k) % reps.length]!.stack;
        if (stack === null) continue;
        const nonce = new Uint8Array(8);
        writeU64BE(new DataView(nonce.buffer), 0, seq);
        const inner = encodeKvTx({ op: "put", nonce, key: utf8(`para/${seq % 16}`), value: utf8(String(seq)) });
        stack.mempool.add(encodeParaTx(PARA_SIM_TITLE, inner), "para-client");
        this.paraTxs++;
        break;
      }
      s.setTimeout(tick, every);
    };
    s.setTimeout(tick, every);
  }

  /**
   * The commit message the honest para nodes made for `h`: null when none made one, or when they disagree (reported
   * on its own by `result`: honest para nodes run one deterministic builder).
   */
  private honestMessage(h: number): Uint8Array | null {
    let out: Uint8Array | null = null;
    for (const p of this.paras) {
      if (p.byzantine) continue;
      const m = p.made.get(h);
      if (m === undefined) continue;
      if (out !== null && toHex(out) !== toHex(m)) return null;
      out = m;
    }
    return out;
  }

  result(): ParaSimResult {
    const main = this.main.result();
    const violations: Violation[] = [...main.violations];
    const views: ParaDoneView[] = [];
    const done: ParaDoneReport[] = [];
    for (const i of this.main.honest) {
      const app = this.main.replicas[i]!.up ? this.apps.get(i) : undefined;
      const px = app?.paracross;
      if (px === undefined || px === null) continue;
      const doneHeight = px.status(PARA_SIM_TITLE)?.doneHeight ?? 0;
      done.push({ instance: i, doneHeight });
      views.push({
        instance: i,
        doneHeight,
        commitAt: (h) => {
          const c = px.doneCommit(PARA_SIM_TITLE, h);
          return c === null ? null : { message: c.message, signerCount: c.signerCount };
        },
      });
    }
    violations.push(...checkParaDone(PARA_SIM_TITLE, this.paras.length, views, (h) => this.honestMessage(h)));
    violations.push(...this.honestDisagreements());
    let paraHead = 0;
    for (const p of this.paras) if (!p.byzantine) paraHead = Math.max(paraHead, p.made.size === 0 ? 0 : Math.max(...p.made.keys()));
    const lowest = done.length === 0 ? 0 : Math.min(...done.map((d) => d.doneHeight));
    return {
      seed: main.seed,
      main,
      violations,
      mainHeight: main.committedHeight,
      paraHead,
      paraHeads: this.paras.map((p) => p.head),
      outages: this.outages,
      done,
      doneLag: paraHead - lowest,
      resends: this.paras.reduce((a, p) => a + p.resends, 0),
      paraTxs: this.paraTxs,
      paraWarnings: this.paras.reduce((a, p) => a + p.warnings, 0),
      endMs: main.endMs,
    };
  }

  /** Two honest para nodes that made different commits for one height: the builder is not deterministic. */
  private honestDisagreements(): Violation[] {
    const honest = this.paras.filter((p) => !p.byzantine);
    const first = honest[0];
    if (first === undefined) return [];
    for (const p of honest.slice(1)) {
      for (const [h, m] of p.made) {
        const other = first.made.get(h);
        if (other !== undefined && toHex(other) !== toHex(m)) {
          return [{ kind: "para", message: `${PARA_SIM_TITLE}: honest para nodes ${first.index} and ${p.index} made different commits for height ${h}`, instances: [], height: h }];
        }
      }
    }
    return [];
  }
}
