/**
 * What the para node needs from the main chain, as a small contract: the RPC-backed implementation
 * (`RpcMainChain`, over `RpcClient` with fail-over between the configured main nodes) and the tests' in-memory fake
 * implement it, so the follower, builder and sender run on a manual clock without a network.
 */

/** A committed main block as the para node reads it: `GET /v1/blocks/:h` (header) checked against `/body`. */
export interface MainBlock {
  readonly height: number;
  readonly timestampMs: number;
  /** The block's transactions, in block order (their RFC 6962 root was checked against the header's txRoot). */
  readonly txs: readonly Uint8Array[];
  /** The block's own encoded result bitmap (bit i set = main tx i failed), from the main node's committed record. */
  readonly results: Uint8Array;
}

/** The main chain's paracross progress for one title (`GET /v1/para/:title/status`). */
export interface ParaStatusView {
  readonly doneHeight: number;
  readonly recordedHeight: number;
}

export interface MainChainClient {
  /** The main chain's committed height. */
  head(): Promise<number>;
  /** The committed main block at `height`, checked; null when it is not committed yet. */
  blockBody(height: number): Promise<MainBlock | null>;
  paraStatus(title: string): Promise<ParaStatusView>;
  /** Offers a tx to the main chain's mempool; resolves once a main node accepted it (or already had it). */
  submitTx(tx: Uint8Array): Promise<void>;
  /**
   * Calls `onHead` with each newly committed main height (the `/v1/stream` of a main node); returns the function that
   * stops it. A follower that misses heights catches up through `head()`/`blockBody()`.
   */
  subscribeHeads(onHead: (height: number) => void, onClose: () => void): () => void;
}
