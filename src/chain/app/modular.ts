/**
 * The one application a Quire chain runs: modules behind a dispatcher on the transaction's first byte.
 *
 *   first byte   module                       format
 *   0x01         kv        (kvApp.ts)         kvTx.ts (the byte is the KV format's version)
 *   0x10         accounts  (accounts/)        accounts/accountTx.ts: Ed25519-signed transfers, deposits, withdrawals
 *   0x20–0x22    paracross (paracross/)       paracross/format.ts: commit messages, para-tagged txs, groups
 *   0x30         xshard    (xshard/)          xshard/format.ts: cross-shard transfers and imports (a sharded network)
 *
 * Every module reads and writes through one `TreeKeyedState` (one state tree, one state root per block): the KV
 * module with the client's keys as they are, every other module inside its own namespace (`0xFF ‖ tag ‖ key`, see
 * keyedState.ts), so no client key can reach a balance. Which modules a chain runs is part of its genesis
 * (`app.modules`), and so part of what every node must agree on.
 *
 * On a shard of a sharded network the xshard module is the `RootSealer`: the state root is MTH(tree root, outbox
 * root), so the block's cross-shard records are committed by the next header (xshard/README.md).
 *
 * A failed transaction writes nothing: each deliver runs inside a savepoint that is rolled back when the module
 * answers failed (a module may fail after some writes, e.g. a group whose second leg fails). Malformed bytes and a
 * first byte no module claims fail with MALFORMED / UNKNOWN_MODULE, never throw.
 */
import type { Hasher } from "../../crypto/hasher.js";
import type { BlockHeader } from "../../domain/types.js";
import { defaultHasher } from "../../crypto/hash/backends.js";
import type { Application, BlockInfo, CheckResult, DeliverResult, StateReader, StateWriter } from "./interface.js";
import { NamespacedState, TreeKeyedState } from "./keyedState.js";
import { DEFAULT_BUCKET_BITS, StateTreeError } from "./stateTree.js";

/** The block being executed, as modules see it. */
export interface BlockContext {
  readonly height: number;
  /** The block's header, when the caller passed one (`BlockInfo.header`: the executor always does). */
  readonly header: BlockHeader | undefined;
  /** Every tx of the block, in order (a module may prepare work for all of them in `beginBlock`, e.g. batch-verify). */
  readonly txs: readonly Uint8Array[];
  /**
   * Whether tx `i` of the block succeeded: known for the txs delivered so far (false for one not delivered, e.g. a
   * replay the executor refused without delivering it). Modules that act on the block's outcome read it in `endBlock`.
   */
  succeeded(i: number): boolean;
  /** Delivers a nested transaction (a group's leg) through the dispatcher, as if it were tx `index`. */
  deliverNested(tx: Uint8Array, index: number): DeliverResult;
  /** Savepoints of the block's write log (see TreeKeyedState). */
  savepoint(): number;
  rollback(mark: number): void;
  release(mark: number): void;
}

/** One part of the application: owns the txs whose first byte is one of `txTags`. */
export interface AppModule {
  readonly name: string;
  readonly txTags: readonly number[];
  /** Stateless check of a submitted tx (mempool admission). Must not throw for any bytes. */
  check(tx: Uint8Array): CheckResult;
  /** Before the block's first tx. */
  beginBlock?(ctx: BlockContext): void;
  /** Applies one tx. Must not throw for any bytes; may write and then fail (the writes are rolled back). */
  deliver(tx: Uint8Array, index: number, ctx: BlockContext): DeliverResult;
  /** After the block's last tx, before the state root is computed. */
  endBlock?(ctx: BlockContext): void;
  /**
   * False: its txs are delivered only at the top level of a block, never as another module's leg (a paracross group).
   * The validators module: consensus cuts its commits after every block that carries a set change at the top level,
   * so a change inside a group would schedule an epoch no commit cut sees (review finding).
   */
  readonly nestable?: boolean;
}

/**
 * Extends the state root past the state tree (module xshard: a sharded chain's root also seals its block's outbox).
 * Without a sealer the state root is the tree root.
 */
export interface RootSealer {
  /** At the end of a block, after its tree root: may write derived records (`derivedKey`); returns the state root. */
  seal(treeRoot: Uint8Array, state: StateWriter): Uint8Array;
  /** The state root of a stored state with tree root `treeRoot`, from what `seal` stored. */
  sealed(treeRoot: Uint8Array, state: StateReader): Uint8Array;
}

export interface ModularApplicationOptions {
  /** Buckets of the state tree, as a power of two (part of the state-root definition). */
  readonly bucketBits?: number;
  /**
   * Order transactions, execute nothing: `check` still refuses what no module would take, but every delivered tx
   * succeeds and the state (root) never changes. A geo cluster's chain (node/geo): its blocks are executed in the
   * global order, across clusters, by `GlobalOrder`, with the real modules.
   */
  readonly orderOnly?: boolean;
}

export interface ModularApplicationModules {
  /** The committed state (the chain store), read by queries. */
  readonly committed: StateReader;
  /** SHA-256 for key hashes and the state tree; default: the thread's default hasher. */
  readonly hasher?: Hasher;
}

const UNKNOWN_MODULE: CheckResult = { ok: false, code: "UNKNOWN_MODULE", reason: "no module of this chain handles transactions with this first byte" };

export class ModularApplication implements Application {
  readonly name: string = "quire";
  /** The shared state: the KV module uses it directly, the others through `namespace(tag)`. */
  readonly state: TreeKeyedState;
  private readonly byTag = new Map<number, AppModule>();
  private readonly modules: AppModule[] = [];
  private ctx: Context | null = null;
  private writer: StateWriter | null = null;
  private sealer: RootSealer | null = null;
  /** See ModularApplicationOptions.orderOnly. */
  readonly orderOnly: boolean;

  constructor(opts: ModularApplicationOptions, modules: ModularApplicationModules) {
    this.orderOnly = opts.orderOnly === true;
    this.state = new TreeKeyedState(modules.hasher ?? defaultHasher(), opts.bucketBits ?? DEFAULT_BUCKET_BITS, modules.committed);
  }

  /** A module's own key space (`0xFF ‖ tag ‖ key`). */
  namespace(tag: number): NamespacedState {
    return new NamespacedState(this.state, tag);
  }

  /** Adds a module; its tags must be free. Returns the module for chaining. */
  use<M extends AppModule>(m: M): M {
    for (const t of m.txTags) {
      const other = this.byTag.get(t);
      if (other !== undefined) throw new StateTreeError("BAD_ARGUMENT", `tx tag 0x${t.toString(16)} is claimed by both ${other.name} and ${m.name}`);
    }
    for (const t of m.txTags) this.byTag.set(t, m);
    this.modules.push(m);
    return m;
  }

  /** Sets the one root sealer (see RootSealer). */
  sealWith(sealer: RootSealer): void {
    if (this.sealer !== null) throw new StateTreeError("BAD_ARGUMENT", "a chain has one root sealer");
    this.sealer = sealer;
  }

  /** The modules, in registration order. */
  moduleNames(): string[] {
    return this.modules.map((m) => m.name);
  }

  check(tx: Uint8Array): CheckResult {
    if (tx.length === 0) return { ok: false, code: "EMPTY", reason: "the tx is empty" };
    const m = this.byTag.get(tx[0]!);
    return m === undefined ? UNKNOWN_MODULE : m.check(tx);
  }

  beginBlock(state: StateWriter, info: BlockInfo): void {
    this.writer = state;
    if (this.orderOnly) return;
    this.state.begin(state);
    this.ctx = new Context(this, info.height, info.txs, info.header);
    for (const m of this.modules) m.beginBlock?.(this.ctx);
  }

  deliver(tx: Uint8Array, index: number): DeliverResult {
    if (this.orderOnly) return { ok: true };
    const ctx = this.current();
    const r = this.dispatch(tx, index, ctx);
    if (r.ok) ctx.ok[index] = 1;
    return r;
  }

  commit(): Uint8Array {
    if (this.orderOnly) {
      const state = this.writer!;
      this.writer = null;
      return this.stateRoot(state);
    }
    const ctx = this.current();
    for (const m of this.modules) m.endBlock?.(ctx);
    this.ctx = null;
    const writer = this.writer!;
    this.writer = null;
    const treeRoot = this.state.commit();
    return this.sealer === null ? treeRoot : this.sealer.seal(treeRoot, writer);
  }

  stateRoot(state: StateReader): Uint8Array {
    const treeRoot = this.state.tree.root(state);
    return this.sealer === null ? treeRoot : this.sealer.sealed(treeRoot, state);
  }

  /** The committed value of a raw state key (KV keys are raw; see the modules for their own query helpers). */
  query(key: Uint8Array): Uint8Array | undefined {
    return this.state.query(key);
  }

  /** @internal whether the module owning `tx` accepts it as a leg (`AppModule.nestable`); undefined: no such module. */
  nestable(tx: Uint8Array): boolean | undefined {
    const m = tx.length === 0 ? undefined : this.byTag.get(tx[0]!);
    return m === undefined ? undefined : m.nestable !== false;
  }

  /** @internal the dispatcher behind `deliver` and `BlockContext.deliverNested`. */
  dispatch(tx: Uint8Array, index: number, ctx: BlockContext): DeliverResult {
    if (tx.length === 0) return { ok: false, code: "MALFORMED" };
    const m = this.byTag.get(tx[0]!);
    if (m === undefined) return { ok: false, code: "UNKNOWN_MODULE" };
    const mark = this.state.savepoint();
    const r = m.deliver(tx, index, ctx);
    if (r.ok) this.state.release();
    else this.state.rollback(mark);
    return r;
  }

  private current(): Context {
    if (this.ctx === null) throw new StateTreeError("BAD_ARGUMENT", "deliver/commit outside a block (beginBlock first)");
    return this.ctx;
  }
}

class Context implements BlockContext {
  /** 1 at index i once tx i succeeded. */
  readonly ok: Uint8Array;

  constructor(
    private readonly app: ModularApplication,
    readonly height: number,
    readonly txs: readonly Uint8Array[],
    readonly header: BlockHeader | undefined,
  ) {
    this.ok = new Uint8Array(txs.length);
  }

  succeeded(i: number): boolean {
    return this.ok[i] === 1;
  }

  deliverNested(tx: Uint8Array, index: number): DeliverResult {
    if (this.app.nestable(tx) === false) return { ok: false, code: "NOT_NESTABLE" };
    return this.app.dispatch(tx, index, this);
  }

  savepoint(): number {
    return this.app.state.savepoint();
  }

  rollback(mark: number): void {
    this.app.state.rollback(mark);
  }

  release(_mark: number): void {
    this.app.state.release();
  }
}
