import { QuireError } from "../util/errors.js";
import { MAX_MESSAGE_BYTES } from "../domain/limits.js";

/**
 * The transport contract: moves opaque byte messages between validators, each message tagged with a priority class.
 * The node layer encodes and decodes them with the wire codec; the transport never looks inside a payload.
 *
 * Implemented by `UwsTransport` (authenticated uWebSockets.js/ws links) and `MemoryTransport` (the in-memory network
 * with seeded fault injection); both pass the same compliance suite (test/unit/net/transportCompliance.ts).
 *
 * Semantics shared by every implementation:
 * - Peers are validator indices (`PeerId`) in the validator registry: the genesis validators are 0..n−1 and each
 *   validator a validator-set change adds takes the next index; indices are never reused or renumbered. A transport
 *   never sends to itself: `broadcast` excludes `self`, and `send(self, …)` throws `NetError("UNKNOWN_PEER")`.
 * - A transport that supports it (`addPeer`) learns validators added after it was built; the others know their
 *   validators from construction on.
 * - Delivery is best effort and at most once per send: a message may be lost when a link drops (the node recovers
 *   through consensus timeouts and sync), but is never delivered twice unless a fault injector duplicates it.
 * - Without injected faults, messages of one priority class from one sender to one receiver arrive in send order.
 *   A higher class may overtake a lower one (that is the point of priorities); never the reverse within a class.
 * - `send` never blocks and never delivers synchronously: the handler runs in a later task.
 * - A payload handed to `send` must not be mutated afterwards (it may be read when the link flushes, and the
 *   in-memory network hands the very same object to every receiver). A payload handed to `onMessage` stays valid
 *   after the handler returns but is read-only (it may be shared with other receivers, or be a view into a larger
 *   frame: copy a small slice you keep for long, so it does not pin the whole frame).
 */
export type PeerId = number;

/**
 * Priority classes, highest first. The numeric value is the class index on the wire (2 bits) and in stats arrays.
 * Queue policy when a class's per-peer queue is full:
 * - `Consensus` (proposals, votes, timeouts, certificates): the new message is refused with `SendStatus.Rejected`;
 *   never dropped silently: the refusal is counted and the peer is flagged (`onPeerFlagged`).
 * - `Sync` (hello, block ranges): the new message is refused (`Rejected`) and counted; sync requests are retried.
 * - `Gossip` (transaction batches): the oldest queued gossip is dropped to make room, counted; the send succeeds.
 */
export const Priority = { Consensus: 0, Sync: 1, Gossip: 2 } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

/**
 * Default largest payload: the wire codec's largest envelope (a full sync response), so every message the node can
 * encode fits one transport message.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = MAX_MESSAGE_BYTES;

/** Number of priority classes. */
export const PRIORITY_COUNT = 3;

/** Human-readable class names, indexed by `Priority`. */
export const PRIORITY_NAMES: readonly string[] = ["consensus", "sync", "gossip"];

/** Result of a `send`: queued (possibly displacing older gossip), or refused because the class queue is full. */
export const SendStatus = { Queued: 0, Rejected: 1 } as const;
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

/** Where a validator listens. */
export interface PeerAddress {
  host: string;
  port: number;
}

/** One validator as the transport sees it; its index in the registry is its `PeerId`. */
export interface ValidatorEntry {
  publicKey: Uint8Array;
  /** Where it listens; may be set later (`UwsTransport.setPeerAddress`). Only needed for validators we dial. */
  address?: PeerAddress;
}

/** The events a transport reports to its owner (the node). Handlers must not throw. */
export interface TransportHandler {
  /** A message from an authenticated peer. `priority` is the class the sender used. */
  onMessage(from: PeerId, payload: Uint8Array, priority: Priority): void;
  /** The link to `peer` is authenticated and open (again). The node sends its hello here. */
  onPeerUp?(peer: PeerId): void;
  /** The link to `peer` closed; queued messages stay queued (bounded) and go out when it comes back. */
  onPeerDown?(peer: PeerId, reason: string): void;
  /** The queues to `peer` fell to empty after being non-empty: a producer waiting on back-pressure may continue. */
  onDrain?(peer: PeerId): void;
  /** `peer` was flagged (a consensus message to it was refused because its queue was full). */
  onPeerFlagged?(peer: PeerId, code: string): void;
}

/** Per-class counters for one peer. */
export interface ClassStats {
  /** Messages / bytes waiting in the transport's queue (not yet handed to the socket). */
  queuedMessages: number;
  queuedBytes: number;
  /** Messages / payload bytes handed to the link (or to the in-memory network). */
  sentMessages: number;
  sentBytes: number;
  receivedMessages: number;
  receivedBytes: number;
  /** Refused by a full queue (`SendStatus.Rejected`): consensus and sync. */
  rejected: number;
  /** Dropped from a full queue, oldest first: gossip only. */
  droppedOldest: number;
}

/** Counters for one peer. */
export interface PeerStats {
  peer: PeerId;
  connected: boolean;
  /** Set when a consensus message was refused; cleared when the peer's consensus queue drains to empty. */
  flagged: boolean;
  /** Times the link to this peer came up (1 for the first connection). */
  connects: number;
  /** Bytes the socket had buffered but not yet written, as last seen (0 for the in-memory network). */
  socketBufferedBytes: number;
  classes: ClassStats[];
}

/** Inbound admission and bans, now (zeros and an empty list where a transport has no such thing). */
export interface AdmissionStats {
  /** Inbound connections in their handshake. */
  pendingHandshakes: number;
  /** Source addresses whose upgrades are refused for back-off after repeated handshake failures. */
  backedOffSources: number;
  /** Refused connections held unanswered (a tarpit for sources in back-off). */
  heldConnections: number;
  /** Validators banned now (`Transport.ban`). */
  bannedPeers: PeerId[];
}

/**
 * Counters for the whole transport. `refused` counts, by code, what this node refused: upgrades (admission codes:
 * PENDING_HANDSHAKE_LIMIT, PENDING_RESERVED, SOURCE_PENDING_LIMIT, SOURCE_BACKOFF), handshakes and links
 * (`REFUSAL_CODES`); and, under `peer:CODE`, the refusals peers sent us as close codes.
 */
export interface TransportStats {
  self: PeerId;
  peers: PeerStats[];
  refused: Record<string, number>;
  admission: AdmissionStats;
}

/** The contract. Lifecycle as in js-libp2p: construct, set the handler, `start()`, …, `stop()`. */
export interface Transport {
  /** This node's validator index. */
  readonly self: PeerId;
  /** Every other validator index, ascending; grows when `addPeer` adds one. */
  readonly peers: readonly PeerId[];
  /** Largest payload `send` accepts, in bytes. */
  readonly maxMessageBytes: number;

  /** Sets the event handler; call before `start()`. */
  setHandler(handler: TransportHandler): void;
  /** Starts listening/dialing. Resolves once the transport accepts sends; peers come up later (`onPeerUp`). */
  start(): Promise<void>;
  /** Closes every link, socket and timer; queued messages are discarded. Idempotent. */
  stop(): Promise<void>;

  /**
   * Queues `payload` for `to`. Throws `NetError` for caller bugs (UNKNOWN_PEER, MESSAGE_TOO_LARGE, NOT_STARTED);
   * returns `SendStatus.Rejected` when the class queue is full (see `Priority` for the policies).
   */
  send(to: PeerId, priority: Priority, payload: Uint8Array): SendStatus;
  /** `send` to each peer in `to` (duplicates and `self` ignored). Returns how many sends were refused. */
  multicast(to: Iterable<PeerId>, priority: Priority, payload: Uint8Array): number;
  /** `send` to every peer except `self`. Returns how many sends were refused. */
  broadcast(priority: Priority, payload: Uint8Array): number;

  /**
   * Disconnects `peer` and refuses it for `ms` from now (a longer ban already running stands); messages to it stay
   * queued (bounded) as for any lost link. The node bans validators that keep earning penalties (node/penalties.ts).
   * Throws `NetError("UNKNOWN_PEER")` for an id that is not a peer.
   */
  ban(peer: PeerId, ms: number): void;
  /** Whether `peer` is banned now. */
  isBanned(peer: PeerId): boolean;

  /** Whether the link to `peer` is currently up. */
  isConnected(peer: PeerId): boolean;
  /** Bytes queued for `peer` in the transport (all classes, not counting the socket's own buffer). */
  queuedBytes(peer: PeerId): number;
  /** A snapshot of the counters. */
  stats(): TransportStats;

  /**
   * Adds the validator a validator-set change appended to the registry, at the next index (one past the highest
   * known so far, self included), and returns that index; from then on it is a peer like the others (links, queues,
   * `peers`). Works before `start()` and while started; throws `NetError("NOT_STARTED")` once stopping or stopped,
   * and `NetError("BAD_CONFIG")` for a key already present (nothing changes). Optional: only transports whose
   * validator set can change at runtime have it.
   */
  addPeer?(entry: ValidatorEntry): PeerId;
  /** The index of `publicKey` (self included), or undefined: lets the node skip keys it already added. */
  peerIndexOf?(publicKey: Uint8Array): PeerId | undefined;
}

export type NetErrorCode =
  | "UNKNOWN_PEER"
  | "MESSAGE_TOO_LARGE"
  | "NOT_STARTED"
  | "BAD_PRIORITY"
  | "BAD_CONFIG"
  | "LISTEN_FAILED"
  | "ALREADY_STARTED";

/** Caller errors from the transport (bad arguments, wrong lifecycle state, configuration). */
export class NetError extends QuireError<NetErrorCode> {}

/**
 * Reasons a link is refused or closed for a protocol violation. Counted in `TransportStats.refused`
 * and sent to the peer as the WebSocket close reason (close code 4000 + index in this list).
 */
export const REFUSAL_CODES = [
  "MALFORMED_HANDSHAKE",
  "BAD_VERSION",
  "WRONG_CHAIN",
  "UNKNOWN_KEY",
  "SELF_CONNECTION",
  "WRONG_DIRECTION",
  "REPLAYED_NONCE",
  "NONCE_MISMATCH",
  "BAD_SIGNATURE",
  "HANDSHAKE_TIMEOUT",
  "MESSAGE_BEFORE_AUTH",
  "MALFORMED_FRAME",
  "MESSAGE_TOO_LARGE",
  "PRE_AUTH_OVERFLOW",
  "IDLE_TIMEOUT",
  "DUPLICATE_CONNECTION",
  "SHUTDOWN",
  "SEND_DROPPED",
  /** The peer is banned for misbehaviour (`Transport.ban`). */
  "BANNED",
  /** A data frame failed the channel's tag: injected, modified, replayed, reordered or dropped frames (channel.ts). */
  "BAD_FRAME_TAG",
  /** A listener's dialer did not present its handshake proof within proofTimeoutMs of accept (link.ts). */
  "PROOF_TIMEOUT",
  /** Proofs claiming this validator's key failed too often lately; only its last good address is still verified. */
  "PROOF_BUDGET",
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** WebSocket close code for a refusal (application range 4000–4999). */
export function closeCodeOf(code: RefusalCode): number {
  return 4000 + REFUSAL_CODES.indexOf(code);
}

/** The refusal code a close code stands for, if any. */
export function refusalOfCloseCode(closeCode: number): RefusalCode | undefined {
  return closeCode >= 4000 ? REFUSAL_CODES[closeCode - 4000] : undefined;
}

/** Validates a priority coming from a caller (a plain number at runtime). */
export function checkPriority(p: number): Priority {
  if (p !== Priority.Consensus && p !== Priority.Sync && p !== Priority.Gossip) throw new NetError("BAD_PRIORITY", `unknown priority ${p}`);
  return p;
}

/** A zeroed ClassStats. */
export function emptyClassStats(): ClassStats {
  return { queuedMessages: 0, queuedBytes: 0, sentMessages: 0, sentBytes: 0, receivedMessages: 0, receivedBytes: 0, rejected: 0, droppedOldest: 0 };
}
