/**
 * A subscriber of `/v1/stream` (the `ws` client: Node 20 has no global WebSocket). Each frame is decoded with the
 * same decoder as `RpcClient.block`, so listeners receive `BlockSummary` values.
 */
import WebSocket from "ws";
import type { BlockSummary } from "./api.js";
import { decodeBlock } from "./json.js";
import { RpcClientError } from "./errors.js";

export interface BlockSubscriptionHandlers {
  onBlock(block: BlockSummary): void;
  /** The connection is open (frames follow from the next committed block). */
  onOpen?(): void;
  /** The connection closed: 1008 when the server dropped this subscriber as too slow, 1001 when it stopped. */
  onClose?(code: number, reason: string): void;
  /** A frame that does not decode (the subscription is then closed), or a connection error. */
  onError?(err: Error): void;
}

export interface BlockSubscription {
  close(): void;
}

/**
 * The largest frame a subscriber reads (ws's default is 100 MiB, which a hostile node could make it buffer). A block
 * document is under 1 KiB plus its result bitmap's hex (at most 128 KiB) and its QC's signer indices (under 20 KiB):
 * see FRAME_SLACK_BYTES in stream.ts. A longer frame is an error (`BAD_RESPONSE`) and closes the subscription.
 */
export const MAX_STREAM_FRAME_BYTES = 1024 * 1024;

/** Subscribes to committed blocks of the node whose RPC base URL is `url` (http://host:port). */
export function subscribeBlocks(url: string, handlers: BlockSubscriptionHandlers): BlockSubscription {
  const wsUrl = `${url.replace(/\/+$/, "").replace(/^http/, "ws")}/v1/stream`;
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false, maxPayload: MAX_STREAM_FRAME_BYTES });
  ws.on("open", () => handlers.onOpen?.());
  ws.on("message", (data, isBinary) => {
    let block: BlockSummary;
    try {
      if (isBinary) throw new RpcClientError("BAD_RESPONSE", "malformed stream frame: binary");
      block = decodeBlock(JSON.parse(String(data)));
    } catch (e) {
      // Whatever failed (JSON.parse's SyntaxError included), the frame was bad: one typed error, so that a subscriber
      // treats not-JSON like any other malformed frame (review finding: a follower did not demote on non-JSON text).
      handlers.onError?.(e instanceof RpcClientError ? e : new RpcClientError("BAD_RESPONSE", `malformed stream frame: ${e instanceof Error ? e.message : String(e)}`));
      ws.close(1003, "bad frame");
      return;
    }
    handlers.onBlock(block);
  });
  ws.on("error", (e) => {
    // ws closes the connection itself (1009) after a frame over maxPayload.
    const tooLong = (e as { code?: unknown }).code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
    handlers.onError?.(tooLong ? new RpcClientError("BAD_RESPONSE", `malformed stream frame: over ${MAX_STREAM_FRAME_BYTES} bytes`) : e);
  });
  ws.on("close", (code, reason) => handlers.onClose?.(code, reason.toString("utf8")));
  return { close: () => ws.close(1000) };
}

/**
 * Committed heights of the node at `url`, for a follower that fetches the blocks itself: `onHead` per frame, `onClose`
 * once when the stream ends by itself, with the number of frames it carried (0: the upgrade was refused or the node is
 * down — a reason to try another node) and whether it ended on a bad frame (one that does not decode or is too long:
 * the node misbehaves). The returned `close()` ends it without calling `onClose`.
 */
export function subscribeHeads(url: string, onHead: (height: number) => void, onClose: (frames: number, badFrame: boolean) => void, onError?: (err: Error) => void): BlockSubscription {
  let frames = 0;
  let closed = false;
  let badFrame = false;
  const sub = subscribeBlocks(url, {
    onBlock: (b) => {
      frames++;
      onHead(b.header.height);
    },
    onClose: () => {
      if (closed) return;
      closed = true;
      onClose(frames, badFrame);
    },
    onError: (e) => {
      if (e instanceof RpcClientError && e.code === "BAD_RESPONSE") badFrame = true;
      onError?.(e);
    },
  });
  return {
    close: () => {
      closed = true;
      sub.close();
    },
  };
}
