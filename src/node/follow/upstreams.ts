/**
 * The upstreams a follower reads from, with bounded fan-out: of the configured RPC nodes, at most `fanout` are in use
 * at once — a window starting at the primary (the one whose `/v1/stream` the follower subscribes to). A request goes to
 * the primary and, when it fails (no answer, 5xx), to the next node of the window, which then becomes the primary.
 * `demote()` moves the window on past the primary (it served a block that failed verification, or its stream died
 * before a first frame), so a bad or dead upstream is left, and a follower never holds more than `fanout` upstreams'
 * attention. Validators bound their stream subscribers anyway (rpc limits); the fan-out keeps followers polite.
 *
 * Upstreams are not trusted: every block they serve is verified (consensus/certifiedChain.ts). They may be
 * validators or other followers — the RPC is the same.
 */
import { RpcClient } from "../../rpc/client.js";
import { subscribeHeads } from "../../rpc/streamClient.js";
import type { BlockSummary, BlockBody } from "../../rpc/api.js";
import { NodeError } from "../errors.js";
import type { Logger } from "../logger.js";

export interface UpstreamPoolOptions {
  /** RPC base URLs, in order of preference. */
  readonly urls: readonly string[];
  readonly fanout: number;
  /** Index of the first primary (spreads followers sharing one list). Default 0. */
  readonly start?: number;
  /** Per-request timeout (default 5,000 ms). */
  readonly timeoutMs?: number;
}

/** What the follower reads from an upstream; `RpcClient` is one, tests pass chains held in memory. */
export interface UpstreamSource {
  readonly baseUrl: string;
  block(height: number | "latest"): Promise<BlockSummary | null>;
  blocks(from: number, to: number): Promise<BlockSummary[]>;
  blockBody(height: number): Promise<BlockBody | null>;
}

export interface StreamHandle {
  close(): void;
}

/**
 * Subscribes to committed blocks of `url` (the ws `/v1/stream`); `onClose` after it ended by itself, with the frames
 * it carried and whether it ended on a bad frame (undecodable, or over the client's frame cap).
 */
export type Subscribe = (url: string, onHead: (height: number) => void, onClose: (frames: number, badFrame: boolean) => void) => StreamHandle;

export class UpstreamPool {
  private readonly sources: UpstreamSource[];
  private readonly fanout: number;
  private primary: number;

  constructor(
    opts: UpstreamPoolOptions,
    private readonly m: { readonly logger: Logger; readonly sources?: readonly UpstreamSource[] },
  ) {
    if (opts.urls.length === 0 && (m.sources?.length ?? 0) === 0) throw new NodeError("BAD_CONFIG", "a follower needs at least one upstream", { field: "follow.upstreams" });
    this.sources = m.sources !== undefined ? [...m.sources] : opts.urls.map((url) => new RpcClient({ url, timeoutMs: opts.timeoutMs ?? 5_000, rateLimitRetries: 1 }));
    this.fanout = Math.max(1, Math.min(opts.fanout, this.sources.length));
    this.primary = (opts.start ?? 0) % this.sources.length;
  }

  /** The upstream streamed from and asked first. */
  get url(): string {
    return this.sources[this.primary]!.baseUrl;
  }

  /** The upstreams in use now (primary first), at most `fanout`. */
  get active(): string[] {
    return this.window().map((i) => this.sources[i]!.baseUrl);
  }

  /** `call` on the primary, then on the rest of the window; the first that answers becomes the primary. */
  async call<T>(call: (s: UpstreamSource) => Promise<T>): Promise<T> {
    let last: unknown;
    const first = this.primary;
    for (const i of this.window()) {
      try {
        const v = await call(this.sources[i]!);
        // A fallback answered: it becomes the primary — unless the primary moved meanwhile (a demote while this call
        // was in flight), which an answer of the old primary must not undo.
        if (i !== first && this.primary === first) {
          this.m.logger.info("follower: upstream switched", { from: this.url, to: this.sources[i]!.baseUrl });
          this.primary = i;
        }
        return v;
      } catch (e) {
        last = e;
      }
    }
    // None of the window answered: the window moves on by one, so a dead set of upstreams is eventually left.
    this.demote(`no upstream of the window answered (${last instanceof Error ? last.message : String(last)})`);
    throw last;
  }

  /** Leaves the primary: the next upstream in the list becomes primary (and the window moves with it). */
  demote(reason: string): void {
    if (this.sources.length < 2) return;
    const from = this.url;
    this.primary = (this.primary + 1) % this.sources.length;
    this.m.logger.warn("follower: leaving upstream", { from, to: this.url, reason });
  }

  private window(): number[] {
    return Array.from({ length: this.fanout }, (_, k) => (this.primary + k) % this.sources.length);
  }
}

/** `Subscribe` over the real `/v1/stream`. */
export const wsSubscribe: Subscribe = (url, onHead, onClose) => subscribeHeads(url, onHead, onClose);
