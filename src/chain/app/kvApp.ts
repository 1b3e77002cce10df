/**
 * The key-value module: put, delete and compare-and-set on client keys (tx format: kvTx.ts; state layout and state
 * root: stateTree.ts, through the shared keyed state of modular.ts).
 *
 * check(): the tx must decode (any op) and its key must not begin with 0xFF (module state, `RESERVED_KEY`).
 * deliver(): put always succeeds; delete fails with NOT_FOUND on an absent key; cas fails with NOT_FOUND (absent) or
 * CAS_MISMATCH (different value); bytes that do not decode (a proposer may include unchecked txs) fail with MALFORMED,
 * a reserved key with RESERVED_KEY. A failed tx writes nothing.
 *
 * `KvApplication` is the modular application with this module alone: what the tests, benches and cost floor that
 * exercise only the KV path build. A node builds its modules from its genesis (`app.modules`).
 */
import type { Hasher } from "../../crypto/hasher.js";
import { bytesEqual } from "../../util/bytes.js";
import type { CheckResult, DeliverResult, StateReader } from "./interface.js";
import { MODULE_KEY_PREFIX } from "./keyedState.js";
import type { TreeKeyedState } from "./keyedState.js";
import type { AppModule } from "./modular.js";
import { ModularApplication } from "./modular.js";
import { decodeKvTx, KV_TX_VERSION, MAX_KEY_BYTES } from "./kvTx.js";

/** Why a well-formed KV tx failed on execution (bit set in the block's result bitmap). */
export type KvDeliverCode = "NOT_FOUND" | "CAS_MISMATCH" | "MALFORMED" | "RESERVED_KEY";

const OK: { readonly ok: true } = { ok: true };

export class KvModule implements AppModule {
  readonly name = "kv";
  readonly txTags = [KV_TX_VERSION] as const;

  constructor(private readonly state: TreeKeyedState) {}

  check(tx: Uint8Array): CheckResult {
    const d = decodeKvTx(tx);
    if (!d.ok) return { ok: false, code: d.code, reason: d.reason };
    if (d.tx.key[0] === MODULE_KEY_PREFIX) return { ok: false, code: "RESERVED_KEY", reason: "keys beginning with byte 0xff hold module state" };
    return OK;
  }

  deliver(tx: Uint8Array, _index: number): DeliverResult {
    const d = decodeKvTx(tx);
    if (!d.ok) return fail("MALFORMED");
    const t = d.tx;
    if (t.key[0] === MODULE_KEY_PREFIX) return fail("RESERVED_KEY");
    switch (t.op) {
      case "put":
        this.state.put(t.key, t.value);
        return OK;
      case "delete":
        if (this.state.get(t.key) === undefined) return fail("NOT_FOUND");
        this.state.delete(t.key);
        return OK;
      case "cas": {
        const current = this.state.get(t.key);
        if (current === undefined) return fail("NOT_FOUND");
        if (!bytesEqual(current, t.expected)) return fail("CAS_MISMATCH");
        this.state.put(t.key, t.value);
        return OK;
      }
    }
  }

  /** The committed value of a client key (`GET /v1/kv/:key`), or undefined (also for reserved keys). */
  query(key: Uint8Array): Uint8Array | undefined {
    if (key.length === 0 || key.length > MAX_KEY_BYTES || key[0] === MODULE_KEY_PREFIX) return undefined;
    return this.state.query(key);
  }
}

export interface KvApplicationOptions {
  /** Buckets of the state tree, as a power of two. Part of the state-root definition: the same on every node. */
  readonly bucketBits?: number;
}

export interface KvApplicationModules {
  readonly committed: StateReader;
  readonly hasher?: Hasher;
}

/** The modular application with the KV module alone. */
export class KvApplication extends ModularApplication {
  override readonly name: string = "kv";
  readonly kv: KvModule;

  constructor(opts: KvApplicationOptions, modules: KvApplicationModules) {
    super(opts, modules);
    this.kv = this.use(new KvModule(this.state));
  }

  /** The tree (tests compare its roots with an oracle). */
  get tree(): TreeKeyedState["tree"] {
    return this.state.tree;
  }

  override query(key: Uint8Array): Uint8Array | undefined {
    return this.kv.query(key);
  }
}

function fail(code: KvDeliverCode): DeliverResult {
  return { ok: false, code };
}
