/**
 * Domain types of everything Quire sends over the wire: plain objects with `Uint8Array` byte fields, used as they are
 * by consensus, chain, sync and the node. Only src/wire/codec.ts converts them to and from FlatBuffers.
 *
 * Numbers: views, heights and timestamps are uint64 on the wire and integers in [0, 2^53 - 1] here (see MAX_UINT53);
 * validator indices, the protocol version and request ids are uint32.
 *
 * Decoded byte fields are zero-copy views into the decoded buffer. They stay valid as long as that buffer is not
 * reused: a transport whose receive buffer is recycled after the callback (uWS does that) must decode a copy, or copy
 * what it keeps. Never mutate a decoded byte field: it may share memory with its neighbours.
 */

/** A 32-byte SHA-256 digest. */
export type Hash = Uint8Array;

/** What a block hash commits to. Transactions are committed through `txRoot`. */
export interface BlockHeader {
  /** Hash of the parent block (32 bytes). */
  readonly parent: Hash;
  readonly view: number;
  /** Parent height + 1; genesis is height 0. */
  readonly height: number;
  /** Index of the proposing validator. */
  readonly proposer: number;
  /** The proposer's clock in milliseconds since the Unix epoch (validity rules live in consensus). */
  readonly timestampMs: number;
  /** RFC 6962 Merkle tree hash of the block's transactions (32 bytes). */
  readonly txRoot: Hash;
  /** State root after executing the parent block: execution is deferred by one block (32 bytes). */
  readonly parentStateRoot: Hash;
  /** Encoded tx-result bitmap of the parent block: bit i set = the parent's transaction i failed. */
  readonly parentResults: Uint8Array;
  /**
   * Encoded bitmap of the validators that signed the QC this block extends (its proposal's justify QC); empty when
   * that QC has no signers (the genesis QC, an epoch's root QC). Voters check it against the QC, so a committed
   * block's field is a true record of who voted: the committed history that leader election and reputation read
   * (every replica has the same one, whichever QC for the parent it happened to learn).
   */
  readonly parentSigners: Uint8Array;
}

/** A block: its header and its transactions (opaque bytes to consensus). */
export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Uint8Array[];
}

/** A vote for `blockHash` in `view`; the signature covers domain ‖ chainId ‖ view ‖ blockHash. */
export interface Vote {
  readonly view: number;
  readonly blockHash: Hash;
  /** Index of the voting validator. */
  readonly voter: number;
  /** BLS signature, uncompressed G2 (192 bytes: see VOTE_SIGNATURE_BYTES). */
  readonly signature: Uint8Array;
}

/** Quorum certificate: 2f+1 votes for (view, blockHash), aggregated. */
export interface QuorumCert {
  readonly view: number;
  readonly blockHash: Hash;
  /** Encoded bitmap of the signing validators' indices. */
  readonly signers: Uint8Array;
  /** Aggregate BLS signature (96 bytes). */
  readonly aggregateSignature: Uint8Array;
}

/** A timeout for `view`; the signature covers domain ‖ chainId ‖ view ‖ highQc.view. */
export interface Timeout {
  readonly view: number;
  /** The sender's highest QC. */
  readonly highQc: QuorumCert;
  readonly voter: number;
  /** BLS signature, uncompressed G2 (192 bytes: see VOTE_SIGNATURE_BYTES). */
  readonly signature: Uint8Array;
}

/**
 * Timeout certificate: 2f+1 timeouts for `view`, aggregated, with the highest QC among them. The signed claims
 * (`highQcViews`) set the bar a proposal after the TC must meet (safety); `highQc` is the evidence that the bar can be
 * met (liveness): validation requires `highQc.view == max(highQcViews)` and a valid `highQc`, so a replica that
 * accepts the TC also learns a QC high enough to justify the next proposal — a signer cannot claim a QC nobody has.
 */
export interface TimeoutCert {
  readonly view: number;
  /** Encoded bitmap of the signing validators' indices. */
  readonly signers: Uint8Array;
  /** The high-QC view each signer reported, in ascending signer-index order (one entry per set bit). */
  readonly highQcViews: readonly number[];
  /** Aggregate BLS signature over the distinct (view, high-QC view) messages (96 bytes). */
  readonly aggregateSignature: Uint8Array;
  /** The highest QC among the signers' timeouts: its view is the largest of `highQcViews`. */
  readonly highQc: QuorumCert;
}

/**
 * A proposal for `block.header.view`. `qc` certifies the parent; `tc` is present when the previous view timed out.
 * Both are needed in that case: the voting rule checks `block.view == tc.view + 1` and `qc.view >= max(tc.highQcViews)`
 * (the TC's carried QC has that view, but the parent may be a later certified block), so a TC alone does not name the
 * block it justifies.
 */
export interface Proposal {
  readonly block: Block;
  readonly qc: QuorumCert;
  readonly tc: TimeoutCert | null;
  /**
   * The proposer's (`block.header.proposer`) signature over domain ‖ chainId ‖ view ‖ blockHash (see
   * consensus/signing.ts `proposalMessage`), uncompressed G2 like a vote's (VOTE_SIGNATURE_BYTES). It, not the link a
   * proposal arrived on, says who proposed: a relayed proposal is as good as the leader's own, and two signed
   * proposals of one view are evidence anyone can check (protocol version 3).
   */
  readonly signature: Uint8Array;
}

/**
 * What a proposal's signature covers, with who signed it: the self-contained part of a proposal that equivocation
 * evidence keeps (consensus/evidence.ts). `blockHash` is the hash of the proposal's block header.
 */
export interface SignedProposalHash {
  readonly view: number;
  readonly blockHash: Hash;
  /** The block's proposer (`header.proposer`): whose key must have made `signature`. */
  readonly proposer: number;
  /** Uncompressed G2 (VOTE_SIGNATURE_BYTES), over consensus/signing.ts `proposalMessage(chainId, view, blockHash)`. */
  readonly signature: Uint8Array;
}

/**
 * Link authentication. The opening message carries version, chainId, publicKey and nonce (peerNonce and signature
 * null); the answer also carries peerNonce (the nonce received from the other side) and the signature.
 */
export interface Handshake {
  /** Wire protocol version (see PROTOCOL_VERSION). */
  readonly version: number;
  /** 1..MAX_CHAIN_ID_BYTES bytes. */
  readonly chainId: Uint8Array;
  /** The sender's validator BLS public key (48 bytes). */
  readonly publicKey: Uint8Array;
  /** The sender's fresh nonce (32 bytes). */
  readonly nonce: Uint8Array;
  /** The receiver's nonce as the sender saw it (32 bytes), or null in the opening message. */
  readonly peerNonce: Uint8Array | null;
  /** BLS signature over both nonces and the chain id (96 bytes), or null in the opening message. */
  readonly signature: Uint8Array | null;
  /** The sender's X25519 ephemeral public key for this link (32 bytes), or null (the link layer requires it). */
  readonly ephemeralKey: Uint8Array | null;
}

/** Sent after the handshake: where the sender's committed chain ends. */
export interface Hello {
  readonly chainId: Uint8Array;
  readonly committedHeight: number;
  /** Hash of the block at `committedHeight`. */
  readonly committedHash: Hash;
}

/** Asks for the committed blocks `fromHeight..toHeight` (inclusive, fromHeight <= toHeight). */
export interface SyncRequest {
  /** Chosen by the requester, echoed in the response. */
  readonly requestId: number;
  readonly fromHeight: number;
  readonly toHeight: number;
}

/** A committed block with the QC that certifies it. */
export interface CertifiedBlock {
  readonly block: Block;
  readonly qc: QuorumCert;
}

/** Committed blocks at consecutive ascending heights (possibly fewer than requested, possibly none). */
export interface SyncResponse {
  readonly requestId: number;
  readonly blocks: readonly CertifiedBlock[];
}

/** Transactions gossiped between mempools. */
export interface TxBatch {
  readonly txs: readonly Uint8Array[];
  /**
   * Per tx, the client that submitted it to the sender (the receiver's mempool counts the tx against it); absent when
   * the sender did not say. Parallel to `txs` when present.
   */
  readonly origins?: readonly string[];
}

/**
 * Version carried in the handshake; bump it with any incompatible schema change. 2: TCs carry their highest QC.
 * 3: proposals are signed by their proposer (`Proposal.signature`, required).
 */
export const PROTOCOL_VERSION = 3;

/** Every message on the wire, tagged by kind: `switch (msg.kind)` narrows `msg.body`. */
export type Message =
  | { readonly kind: "handshake"; readonly body: Handshake }
  | { readonly kind: "hello"; readonly body: Hello }
  | { readonly kind: "proposal"; readonly body: Proposal }
  | { readonly kind: "vote"; readonly body: Vote }
  | { readonly kind: "timeout"; readonly body: Timeout }
  | { readonly kind: "qc"; readonly body: QuorumCert }
  | { readonly kind: "tc"; readonly body: TimeoutCert }
  | { readonly kind: "syncRequest"; readonly body: SyncRequest }
  | { readonly kind: "syncResponse"; readonly body: SyncResponse }
  | { readonly kind: "txBatch"; readonly body: TxBatch };

export type MessageKind = Message["kind"];

/** All message kinds, in union order. */
export const MESSAGE_KINDS: readonly MessageKind[] = [
  "handshake",
  "hello",
  "proposal",
  "vote",
  "timeout",
  "qc",
  "tc",
  "syncRequest",
  "syncResponse",
  "txBatch",
];
