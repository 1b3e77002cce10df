/** The network layer's public surface (DESIGN.md §6): the contract and its two implementations. */
export { Priority, PRIORITY_COUNT, PRIORITY_NAMES, SendStatus, NetError, REFUSAL_CODES, DEFAULT_MAX_MESSAGE_BYTES } from "./transport.js";
export type { PeerId, Transport, TransportHandler, TransportStats, PeerStats, ClassStats, RefusalCode, NetErrorCode } from "./transport.js";
export { UwsTransport, UWS_TRANSPORT_DEFAULTS } from "./uwsTransport.js";
export type { UwsTransportOptions, UwsTransportModules, ValidatorEntry, PeerAddress } from "./uwsTransport.js";
export { MemoryNetwork, MemoryTransport } from "./memoryNetwork.js";
export type { MemoryNetworkOptions, MemoryNetworkModules, MemoryNetworkStats, NetTraceEvent, DropReason, Partition, Interceptor, InterceptVerdict, InterceptedMessage } from "./memoryNetwork.js";
export { PERFECT_LINK } from "./faults.js";
export type { LinkFaults, DelayDistribution } from "./faults.js";
export { DEFAULT_QUEUE_LIMITS } from "./peerQueue.js";
export type { QueueLimits, ClassLimit } from "./peerQueue.js";
export { LINK_VERSION, HANDSHAKE_DOMAIN } from "./handshake.js";
export type { LinkIdentity, VerifyFn } from "./handshake.js";
export { DEFAULT_BACKOFF } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { blsLinkIdentity, blsLinkVerify } from "./blsLink.js";
