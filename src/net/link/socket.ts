/**
 * What a `Link` needs from a WebSocket, whichever library carries it: the uWS server side (`uwsServer.ts`) and the
 * `ws` client side (`wsClient.ts`) both adapt to this, so handshake, framing, idle detection and back-pressure are
 * written once.
 */

/** Events a socket reports to its link. Frames are binary WebSocket messages, owned by the receiver. */
export interface LinkSocketEvents {
  /** The connection is open (a client socket reports it once; a server socket is open when created). */
  onOpen(): void;
  /**
   * One binary message. A text message is reported as an empty frame (refused as malformed). If the socket's
   * `framesBorrowed`, the frame is only valid during this call.
   */
  onFrame(frame: Uint8Array): void;
  /** A ping or pong arrived (liveness only). */
  onActivity(): void;
  /** After `wantWritable()`: the buffered amount fell below the low-water mark. */
  onWritable(): void;
  /** The socket closed (for any reason). Fires exactly once; nothing is reported afterwards. */
  onClose(code: number, reason: string): void;
}

export interface LinkSocket {
  /** Whether the socket is already open when handed to the link (server side) or opens later (client side). */
  readonly openAtStart: boolean;
  /**
   * Whether `onFrame` lends the library's receive buffer (valid only during the call: the uWS server) rather than
   * handing over memory the link may keep (the `ws` client).
   */
  readonly framesBorrowed: boolean;
  /** Server side: the remote address's admission key (net/admission.ts `sourceKey`). */
  readonly source?: string;
  /** Installs the event sink. Must be called once, right after construction. */
  setEvents(events: LinkSocketEvents): void;
  /** Whether the socket is open for sending (false once either side started closing). */
  readonly writable: boolean;
  /**
   * Memory to build the next outgoing frame in: `size` bytes (at most the link's frame size, or a fresh buffer), the
   * same memory again once `send` is done with it. Reusing hot memory instead of a fresh allocation per frame is what
   * keeps 64 KiB messages as fast as bare ws (link/wsClient.ts, link/uwsServer.ts). Pass it to `send` (or drop it)
   * before asking for the next one; it must not be used after `send`.
   */
  readonly frameBuffer: (size: number) => Uint8Array;
  /** Sends one binary frame. Returns false if the socket is not writable or the library dropped the frame. */
  send(frame: Uint8Array): boolean;
  /** Bytes accepted by `send` but not yet written to the kernel. */
  bufferedAmount(): number;
  /** Asks for one `onWritable` once the buffered amount falls to the low-water mark. */
  wantWritable(): void;
  /** Runs `fn` with writes batched into as few syscalls as possible. */
  cork(fn: () => void): void;
  ping(): void;
  /** Sends a close frame (code, short reason) and closes. Idempotent. */
  close(code: number, reason: string): void;
  /** Drops the TCP connection without a close handshake. Idempotent. */
  terminate(): void;
}
