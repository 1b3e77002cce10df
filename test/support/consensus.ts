/**
 * Test-only builders for consensus (era-consensus's `testonly` habit): validators with the insecure test scheme,
 * blocks, votes, QCs, timeouts, TCs and proposals that are valid unless a test breaks them on purpose, and a tiny
 * instant-delivery harness that drives replicas through the real step function.
 */
import { createHash } from "node:crypto";
import { utf8, toHex } from "../../src/util/bytes.js";
import type { Block, Hash, Message, Proposal, QuorumCert, Timeout, TimeoutCert, Vote } from "../../src/domain/types.js";
import { blockHash } from "../../src/consensus/blockHash.js";
import { Replica } from "../../src/consensus/replica.js";
import type { ReplicaModules, ReplicaOptions } from "../../src/consensus/replica.js";
import { SchemeCertificates } from "../../src/consensus/scheme.js";
import type { SignatureScheme } from "../../src/consensus/scheme.js";
import type { ConsensusSigner } from "../../src/consensus/signing.js";
import { bitmapSignerSets } from "../../src/consensus/adapters/bitmapSignerSets.js";
import { genesisQc, proposalMessage, timeoutMessage, voteMessage } from "../../src/consensus/signing.js";
import type { Effect, Input, ReplicaState, VerifiedProposal } from "../../src/consensus/types.js";
import { merkleRoot } from "../../src/crypto/merkle.js";
import { InsecureTestScheme } from "../../src/sim/insecureTestScheme.js";
import type { PacemakerConfig } from "../../src/consensus/pacemaker.js";

export const CHAIN_ID = utf8("quire-test");
export const ZERO32 = new Uint8Array(32);
export const PACEMAKER: PacemakerConfig = { baseTimeoutMs: 100, backoffFactor: 2, maxTimeoutMs: 800 };

export const txRoot = (txs: readonly Uint8Array[]): Hash => merkleRoot(txs);

export function genesisBlock(): Block {
  return { header: { parent: ZERO32, view: 0, height: 0, proposer: 0, timestampMs: 0, txRoot: txRoot([]), parentStateRoot: ZERO32, parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) }, txs: [] };
}

/** n validators with the insecure test scheme and the real certificate code. */
/** A signature scheme with a signer per validator (the insecure test scheme by default; BLS for shared suites). */
export interface TestCrypto {
  readonly scheme: SignatureScheme;
  signer(index: number): ConsensusSigner;
}

export function insecureTestCrypto(n: number): TestCrypto {
  const scheme = new InsecureTestScheme(n, 7);
  return { scheme, signer: (i) => scheme.signer(i) };
}

export class TestCommittee {
  readonly scheme: SignatureScheme;
  readonly signer: (index: number) => ConsensusSigner;
  readonly certs: SchemeCertificates;
  readonly genesis: Block = genesisBlock();
  readonly genesisHash: Hash;
  readonly genesisQc: QuorumCert;

  constructor(
    readonly n: number,
    crypto: TestCrypto = insecureTestCrypto(n),
  ) {
    this.scheme = crypto.scheme;
    this.signer = (i) => crypto.signer(i);
    this.certs = new SchemeCertificates({ chainId: CHAIN_ID, validatorCount: n }, this.scheme, bitmapSignerSets());
    this.genesisHash = blockHash(this.genesis.header);
    this.genesisQc = genesisQc(this.genesisHash);
  }

  replica(self: number, opts: Partial<ReplicaOptions> = {}, modules: Partial<ReplicaModules> = {}): Replica {
    return new Replica(
      { chainId: CHAIN_ID, self, validatorCount: this.n, genesis: this.genesis, pacemaker: PACEMAKER, ...opts },
      { signer: this.signer(self), aggregator: this.certs, ...modules },
    );
  }

  /**
   * A block on `parent` (a block or {hash, height}) in `view`, proposed by the round-robin leader of `view`. Its
   * parentSigners are those of the QC `qc(…)` makes by default (the first 2f+1), none on the genesis; pass `signers`
   * (indices, or the encoded set) to match a QC with other signers.
   */
  block(parent: { hash: Hash; height: number }, view: number, tag = "", proposer = view % this.n, signers?: readonly number[] | Uint8Array): Block {
    const txs = [utf8(`tx/${view}/${tag}`)];
    const parentSigners = signers instanceof Uint8Array ? signers : signers !== undefined ? this.signerBits(signers) : parent.height === 0 ? new Uint8Array(0) : this.signerBits(this.quorumOf());
    return {
      header: { parent: parent.hash, view, height: parent.height + 1, proposer, timestampMs: view, txRoot: txRoot(txs), parentStateRoot: ZERO32, parentResults: new Uint8Array(0), parentSigners },
      txs,
    };
  }

  ref(b: Block): { hash: Hash; height: number } {
    return { hash: blockHash(b.header), height: b.header.height };
  }

  vote(voter: number, view: number, hash: Hash): Vote {
    return { view, blockHash: hash, voter, signature: this.signer(voter).sign(voteMessage(CHAIN_ID, view, hash)) };
  }

  qc(view: number, hash: Hash, signers: readonly number[] = this.quorumOf()): QuorumCert {
    return this.certs.assembleQc(signers.map((i) => this.vote(i, view, hash))).qc!;
  }

  timeout(voter: number, view: number, highQc: QuorumCert): Timeout {
    return { view, highQc, voter, signature: this.signer(voter).sign(timeoutMessage(CHAIN_ID, view, highQc.view)) };
  }

  tc(view: number, highQcs: readonly QuorumCert[], signers: readonly number[] = this.quorumOf()): TimeoutCert {
    return this.certs.aggregateTc(signers.map((i, k) => this.timeout(i, view, highQcs[k] ?? highQcs[0]!)));
  }

  /** The encoded signer set of `signers` (what a QC's `signers` field holds). */
  signerBits(signers: readonly number[]): Uint8Array {
    return bitmapSignerSets().encode(signers, this.n);
  }

  /** The first 2f+1 validators. */
  quorumOf(): number[] {
    return Array.from({ length: Math.floor((2 * this.n) / 3) + 1 }, (_, i) => i);
  }

  /** A proposal signed by its block's proposer (`signer`: another validator's key, to forge one). */
  proposal(block: Block, qc: QuorumCert, tc: TimeoutCert | null = null, signer: number = block.header.proposer): Proposal {
    const h = block.header;
    return { block, qc, tc, signature: this.signer(signer).sign(proposalMessage(CHAIN_ID, h.view, blockHash(h))) };
  }

  verified(p: Proposal): VerifiedProposal {
    return { block: p.block, hash: blockHash(p.block.header), qc: p.qc, tc: p.tc };
  }
}

/** Effects of one kind. */
export function effectsOf<K extends Effect["kind"]>(effects: readonly Effect[], kind: K): Extract<Effect, { kind: K }>[] {
  return effects.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
}

/** Messages the effects send (send and broadcast), with their recipient (-1 for broadcast). */
export function sentMessages(effects: readonly Effect[]): { to: number; message: Message }[] {
  const out: { to: number; message: Message }[] = [];
  for (const e of effects) {
    if (e.kind === "send") out.push({ to: e.to, message: e.message });
    else if (e.kind === "broadcast") out.push({ to: -1, message: e.message });
  }
  return out;
}

/**
 * Replicas with instant, in-order delivery and no validation (messages built by honest replicas are valid): enough
 * to check the core's protocol logic deterministically. `drop(from, to, message)` filters deliveries; payload
 * requests are answered with `committee.block`.
 */
export class InstantCluster {
  readonly replicas: Replica[];
  readonly states: ReplicaState[];
  readonly commits: string[][];
  readonly persisted: (Effect & { kind: "persist" })[][];
  now = 0;
  private readonly queue: { to: number; input: Input }[] = [];

  constructor(
    readonly committee: TestCommittee,
    readonly drop: (from: number, to: number, m: Message) => boolean = () => false,
  ) {
    this.replicas = Array.from({ length: committee.n }, (_, i) => committee.replica(i));
    this.states = [];
    this.commits = Array.from({ length: committee.n }, () => []);
    this.persisted = Array.from({ length: committee.n }, () => []);
    for (let i = 0; i < committee.n; i++) {
      const r = this.replicas[i]!.init(0);
      this.states.push(r.state);
      this.apply(i, r.effects);
    }
  }

  private apply(i: number, effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case "send":
          if (!this.drop(i, e.to, e.message)) this.enqueue(i, e.to, e.message);
          break;
        case "broadcast":
          for (let j = 0; j < this.committee.n; j++) if (j !== i && !this.drop(i, j, e.message)) this.enqueue(i, j, e.message);
          break;
        case "commit":
          for (const b of e.blocks) this.commits[i]!.push(toHex(b.hash));
          break;
        case "persist":
          this.persisted[i]!.push(e);
          break;
        case "proposeRequest": {
          const r = e.request;
          this.queue.push({ to: i, input: { kind: "payload", view: r.view, block: this.committee.block({ hash: r.parentHash, height: r.parentHeight }, r.view, `by${i}`, i, r.parentSigners) } });
          break;
        }
        default:
          break;
      }
    }
  }

  private enqueue(from: number, to: number, m: Message): void {
    const input = toInput(from, m, this.committee);
    if (input !== null) this.queue.push({ to, input });
  }

  /** Delivers queued inputs until none is left or `max` were delivered. */
  run(max = 10_000): void {
    for (let k = 0; k < max && this.queue.length > 0; k++) {
      const { to, input } = this.queue.shift()!;
      const r = this.replicas[to]!.step(this.states[to]!, input, this.now);
      this.states[to] = r.state;
      this.apply(to, r.effects);
    }
  }

  /** Fires the timer of every replica (as if their view timers all expired at `now`). */
  fireTimers(): void {
    for (let i = 0; i < this.committee.n; i++) {
      this.now = Math.max(this.now, this.states[i]!.viewDeadline);
    }
    for (let i = 0; i < this.committee.n; i++) this.queue.push({ to: i, input: { kind: "timer", view: this.states[i]!.view } });
  }
}

/** A core input for a message an honest replica sent (validation is tested separately). */
export function toInput(from: number, m: Message, c: TestCommittee): Input | null {
  switch (m.kind) {
    case "proposal":
      return { kind: "proposal", from, proposal: c.verified(m.body) };
    case "vote":
      return { kind: "vote", from, vote: m.body };
    case "timeout":
      return { kind: "timeout", from, timeout: m.body };
    case "qc":
      return { kind: "qc", from, qc: m.body };
    case "tc":
      return { kind: "tc", from, tc: m.body };
    default:
      return null;
  }
}

/** SHA-256 through node:crypto (an oracle independent of @noble/hashes). */
export function nodeSha256(data: Uint8Array): Uint8Array {
  return createHash("sha256").update(data).digest();
}
