/**
 * `MainChainClient` over the main nodes' RPC: requests go to the first configured main node and move to the next one
 * when it fails (network error, 5xx, a body that does not match its header), so one main node down does not stop the
 * para node. Every block body is checked against the header's txRoot, and its result bitmap against the next block's
 * certified `parentResults` when that is read: the para node trusts the main node for *which* blocks are committed
 * (it follows one it trusts), not for their bytes.
 */
import { bytesEqual } from "../../util/bytes.js";
import { decodeBitmap } from "../../crypto/bitmap/index.js";
import type { Hasher } from "../../crypto/hasher.js";
import { defaultHasher } from "../../crypto/hash/backends.js";
import { txRoot } from "../../chain/blocks.js";
import { RpcClient } from "../../rpc/client.js";
import { subscribeHeads } from "../../rpc/streamClient.js";
import type { Logger } from "../logger.js";
import { ParaNodeError } from "./errors.js";
import type { MainBlock, MainChainClient, ParaStatusView } from "./mainChain.js";

/** Served result bitmaps kept for the check (the follower reads blocks in order; a few for re-reads). */
const SERVED_KEPT = 16;

export interface RpcMainChainOptions {
  /** Main nodes' RPC base URLs, in order of preference. */
  readonly urls: readonly string[];
  /**
   * The main chain the para genesis names: a main node is used only once its chain id and genesis block hash match
   * (checked once per node), so a misconfigured URL cannot feed the para chain another chain's blocks.
   */
  readonly expect?: { readonly chainId: string; readonly genesisHash: Uint8Array };
  /** Per-request timeout (default 5,000 ms). */
  readonly timeoutMs?: number;
}

export class RpcMainChain implements MainChainClient {
  private readonly clients: RpcClient[];
  private readonly verified = new Set<RpcClient>();
  /** Result bitmaps served lately by height, to check against the next block's certified `parentResults`. */
  private readonly served = new Map<number, { readonly url: string; readonly results: Uint8Array }>();
  private readonly expect: RpcMainChainOptions["expect"];
  private current = 0;
  private readonly hasher: Hasher;

  constructor(
    opts: RpcMainChainOptions,
    private readonly modules: { readonly logger: Logger; readonly hasher?: Hasher },
  ) {
    if (opts.urls.length === 0) throw new ParaNodeError("BAD_OPTION", "at least one main RPC URL is needed");
    this.clients = opts.urls.map((url) => new RpcClient({ url, timeoutMs: opts.timeoutMs ?? 5_000, rateLimitRetries: 1 }));
    this.expect = opts.expect;
    this.hasher = modules.hasher ?? defaultHasher();
  }

  /** The main node in use. */
  get url(): string {
    return this.clients[this.current]!.baseUrl;
  }

  head(): Promise<number> {
    return this.withFailover(async (c) => (await c.block("latest"))?.header.height ?? 0);
  }

  blockBody(height: number): Promise<MainBlock | null> {
    return this.withFailover(async (c) => {
      const header = await c.block(height);
      if (header === null) return null;
      const body = await c.blockBody(height);
      if (body === null) return null;
      if (!bytesEqual(txRoot(body.txs, this.hasher), header.header.txRoot)) {
        throw new ParaNodeError("BAD_MAIN_BODY", `${c.baseUrl}: the body of main block ${height} does not match its header's txRoot`);
      }
      try {
        decodeBitmap(body.results, { length: body.txs.length });
      } catch {
        throw new ParaNodeError("BAD_MAIN_BODY", `${c.baseUrl}: main block ${height}'s result bitmap is not ${body.txs.length} bits`);
      }
      // A block's own results come from the main node's store, uncertified; the next block's header carries them
      // (parentResults, under that block's QC). Checked as soon as it is read: a main node that served other results
      // for the block before is caught here, and the para node stops taking blocks (every request then fails) rather
      // than build on — its para block of that height may be wrong and needs an operator.
      const prev = this.served.get(height - 1);
      if (prev !== undefined && !bytesEqual(prev.results, header.header.parentResults)) {
        throw new ParaNodeError("MAIN_RESULTS_MISMATCH", `main block ${height - 1}'s results served by ${prev.url} differ from those block ${height} certifies (${c.baseUrl})`);
      }
      this.served.delete(height - 1);
      this.served.set(height, { url: c.baseUrl, results: body.results });
      if (this.served.size > SERVED_KEPT) this.served.delete(this.served.keys().next().value!);
      return { height, timestampMs: header.header.timestampMs, txs: body.txs, results: body.results };
    });
  }

  paraStatus(title: string): Promise<ParaStatusView> {
    return this.withFailover(async (c) => {
      const st = await c.paraStatus(title);
      // Not registered there: a configuration error the operator must see, not a transient failure.
      if (st === null) throw new ParaNodeError("NOT_REGISTERED", `${c.baseUrl}: the main chain has no para chain titled "${title}" (not in its genesis paras)`);
      return st;
    });
  }

  async submitTx(tx: Uint8Array): Promise<void> {
    await this.withFailover(async (c) => {
      const r = await c.submitTx(tx);
      // A full or refusing mempool is an answer, not a failure of the node: the sender resends after a few blocks.
      if (r.status === "invalid") this.modules.logger.warn("main chain refused a para commit tx", { reason: r.reason });
    });
  }

  subscribeHeads(onHead: (height: number) => void, onClose: () => void): () => void {
    const url = this.url;
    const sub = subscribeHeads(
      url,
      onHead,
      (frames) => {
        // A stream that closes before its first frame (refused upgrade, 426 through a proxy, node down): the next
        // subscription tries the next main node, as a failed request does (seen in the e2e tests: a relay that did not
        // pass upgrades left every para node on a dead stream while the same node's HTTP worked).
        if (frames === 0 && this.clients.length > 1 && this.url === url) {
          this.current = (this.current + 1) % this.clients.length;
          this.modules.logger.warn("main stream closed before any block: trying the next main node", { url, next: this.url });
        }
        onClose();
      },
      (e) => this.modules.logger.debug("main stream error", { url, error: e.message }),
    );
    return () => sub.close();
  }

  private async verifyIdentity(c: RpcClient, expect: { readonly chainId: string; readonly genesisHash: Uint8Array }): Promise<void> {
    const [status, genesis] = await Promise.all([c.status(), c.block(0)]);
    if (status.chainId !== expect.chainId || genesis === null || !bytesEqual(genesis.hash, expect.genesisHash)) {
      throw new ParaNodeError("WRONG_MAIN_CHAIN", `${c.baseUrl} runs chain ${JSON.stringify(status.chainId)}, not the para genesis's main chain ${JSON.stringify(expect.chainId)} (or another genesis block)`);
    }
    this.verified.add(c);
  }

  private async withFailover<T>(fn: (c: RpcClient) => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.clients.length; i++) {
      const c = this.clients[this.current]!;
      try {
        if (this.expect !== undefined && !this.verified.has(c)) await this.verifyIdentity(c, this.expect);
        return await fn(c);
      } catch (e) {
        last = e;
        this.modules.logger.warn("main node request failed: trying the next one", { url: c.baseUrl, error: e instanceof Error ? e.message : String(e) });
        this.current = (this.current + 1) % this.clients.length;
      }
    }
    throw new ParaNodeError("MAIN_UNAVAILABLE", `no main node answered: ${last instanceof Error ? last.message : String(last)}`);
  }
}
