/**
 * The replica: Jolteon / DiemBFT v4 (DESIGN §3) as a pure state machine.
 *
 *   const replica = new Replica({ chainId, self, validatorCount, genesis }, { signer, aggregator });
 *   let { state, effects } = replica.init(now);              // or replica.restore(persisted, lastCommitted, now)
 *   ({ state, effects } = replica.step(state, input, now));  // for every verified message, timer firing, payload
 *
 * `step` is synchronous and deterministic: no IO, no clock (time is the `now` argument), no randomness; it never
 * mutates the state it is given. The shell (src/sim/ today, src/node/ later) validates messages before they get here
 * (validation/), executes the effects in order — a `persist` must be durable before the sends that follow it — and
 * turns `setTimer` into a `timer` input.
 */
import { RoundRobinElection } from "./leaderElection.js";
import type { LeaderElection } from "./leaderElection.js";
import { blockHasher } from "./blockHash.js";
import type { BlockHasher } from "./blockHash.js";
import { maxFaulty, quorumSize } from "../domain/quorum.js";
import type { CertificateAggregator } from "./certificates.js";
import { addTimeout, commitByTwoChain, Draft, enterView, sendVote } from "./core.js";
import type { ReplicaContext } from "./core.js";
import { ConsensusError } from "./errors.js";
import { onQc, onTc } from "./onCertificate.js";
import { onPayload } from "./onPayload.js";
import { onProposal } from "./onProposal.js";
import { onCertifiedBlocks, onSyncResponse } from "./onSyncResponse.js";
import { onLeaderDown, onRemoteTimeout, onTimer } from "./onTimer.js";
import { onStaleTimeout, onTimeout } from "./onTimeout.js";
import { onVote } from "./onVote.js";
import { checkPacemaker, DEFAULT_PACEMAKER } from "./pacemaker.js";
import type { PacemakerConfig } from "./pacemaker.js";
import { genesisQc, rootQc } from "./signing.js";
import type { ConsensusSigner } from "./signing.js";
import { attachQc, getNode, insertBlock, treeWithRoot } from "./blockTree.js";
import { bytesKey } from "../util/bytes.js";
import type { Block } from "../domain/types.js";
import { NO_EXECUTION_CHECK } from "./types.js";
import type { CommittedBlock, ExecutionCheck, Input, ReplicaState, SafetyState, StepResult, StoredBlock } from "./types.js";

export interface ReplicaOptions {
  readonly chainId: Uint8Array;
  /**
   * This replica's validator index; `validatorCount` makes it an observer (a replica of an epoch whose set does not
   * include it: it follows proposals and certificates and commits, but never votes, times out or proposes).
   */
  readonly self: number;
  readonly validatorCount: number;
  /** The genesis block (height 0, view 0); committed from the start, certified by `genesisQc`. */
  readonly genesis: Block;
  /**
   * The epoch's root instead of genesis (src/node/epochShell.ts): the committed block that ended the previous epoch,
   * certified here by `rootQc` at its own view. The first block of the epoch extends it in a later view.
   */
  readonly epochRoot?: Block;
  readonly pacemaker?: PacemakerConfig;
}

export interface ReplicaModules {
  /** Signs this replica's votes, timeouts and proposals; `signer.index` must equal `self`. */
  readonly signer: ConsensusSigner;
  readonly aggregator: CertificateAggregator;
  /** Default: round robin over the validators. */
  readonly leaders?: LeaderElection;
  /** Default: SHA-256 (@noble/hashes) of the canonical header preimage. Must match the validator's. */
  readonly hashBlock?: BlockHasher;
  /** Default: every block passes (`NO_EXECUTION_CHECK`); the node and the simulator pass the executor's check. */
  readonly execution?: ExecutionCheck;
}

export class Replica {
  readonly ctx: ReplicaContext;
  /** The root this instance starts from (genesis, or the epoch's root) with its hash and certificate. */
  readonly root: CommittedBlock;

  constructor(opts: ReplicaOptions, modules: ReplicaModules) {
    const n = opts.validatorCount;
    if (!Number.isInteger(n) || n < 1) throw new ConsensusError("BAD_CONFIG", `validatorCount must be a positive integer, got ${n}`);
    if (!Number.isInteger(opts.self) || opts.self < 0 || opts.self > n) throw new ConsensusError("BAD_CONFIG", `self ${opts.self} is not a validator index in [0, ${n}] (${n}: an observer)`);
    if (modules.signer.index !== opts.self) throw new ConsensusError("BAD_CONFIG", `signer is for validator ${modules.signer.index}, not ${opts.self}`);
    if (opts.chainId.length < 1 || opts.chainId.length > 255) throw new ConsensusError("BAD_CONFIG", "chainId must be 1..255 bytes");
    const g = opts.genesis.header;
    if (g.height !== 0 || g.view !== 0) throw new ConsensusError("BAD_CONFIG", "the genesis block must have height 0 and view 0");
    const hashBlock = modules.hashBlock ?? blockHasher();
    const f = maxFaulty(n);
    this.ctx = {
      chainId: opts.chainId,
      self: opts.self,
      observer: opts.self === n,
      n,
      quorum: quorumSize(n),
      weakQuorum: f + 1,
      pacemaker: checkPacemaker(opts.pacemaker ?? DEFAULT_PACEMAKER),
      leaders: modules.leaders ?? new RoundRobinElection(n),
      signer: modules.signer,
      aggregator: modules.aggregator,
      hashBlock,
      execution: modules.execution ?? NO_EXECUTION_CHECK,
    };
    if (opts.epochRoot === undefined) {
      const hash = hashBlock(g);
      this.root = { block: opts.genesis, hash, qc: genesisQc(hash) };
    } else {
      const hash = hashBlock(opts.epochRoot.header);
      this.root = { block: opts.epochRoot, hash, qc: rootQc(hash, opts.epochRoot.header.view) };
    }
  }

  /** A replica starting from genesis with nothing persisted. */
  init(now: number): StepResult {
    return this.restore(null, this.root, [], now);
  }

  /**
   * A replica resuming after a restart, from what the shell stored: `persisted`, the last safety state (null if none);
   * `committed`, the last committed block with its QC; `stored`, the uncommitted blocks saved by `saveBlock` effects
   * (any order; blocks that no longer extend the committed chain are ignored). It rebuilds its block tree, applies
   * the commit rule to it (a crash may have cut a commit short), resumes in the view its safety state implies,
   * re-sends its last vote and timeout of that view (they may have been lost with the crash), and re-arms its timer.
   */
  restore(persisted: SafetyState | null, committed: CommittedBlock, stored: readonly StoredBlock[], now: number): StepResult {
    let safety: SafetyState = persisted ?? { lastVotedView: 0, highQc: committed.qc, lastProposedView: 0, lastVote: null, lastTimeout: null, lastTc: null };
    // The store may be ahead of the safety state (a crash between a commit and the next persist): a committed block's
    // QC is a QC we know, so the high QC can only move up to it.
    if (safety.highQc.view < committed.qc.view) safety = { ...safety, highQc: committed.qc };
    let tree = treeWithRoot(committed.block, committed.hash, committed.qc);
    const byHeight = [...stored].sort((a, b) => a.block.header.height - b.block.header.height);
    for (const s of byHeight) {
      const h = s.block.header;
      const parent = getNode(tree, bytesKey(h.parent));
      if (parent === undefined || h.height !== parent.block.header.height + 1 || h.view <= parent.block.header.view) continue;
      // Same linking rule as live insertion: never under an uncertified parent (see commitTo).
      if (parent.qc === null && s.parentQc === null) continue;
      tree = insertBlock(tree, s.block, s.hash, bytesKey(s.hash), s.qc);
      if (s.parentQc !== null) tree = attachQc(tree, parent.key, s.parentQc);
    }
    const blank: ReplicaState = {
      view: 0,
      viewDeadline: 0,
      safety,
      safetyDirty: safety !== persisted && persisted !== null,
      tree,
      votes: new Map(),
      timeouts: new Map(),
      awaitingPayload: 0,
      pendingProposals: [],
      highQcSource: -1,
      sync: null,
      nextRequestId: 1,
    };
    const d = new Draft(this.ctx, blank, now);
    // Certified blocks in the rebuilt tree may complete a two-chain that the crash interrupted.
    d.tree = attachQc(d.tree, bytesKey(safety.highQc.blockHash), safety.highQc);
    for (const s of byHeight) if (d.tree.nodes.has(bytesKey(s.hash))) commitByTwoChain(d, bytesKey(s.hash));
    enterView(d, Math.max(1, safety.lastVotedView, safety.highQc.view + 1, (safety.lastTc?.view ?? -1) + 1));
    const { lastVote, lastTimeout } = safety;
    if (lastVote !== null && lastVote.view === d.view) sendVote(d, lastVote);
    if (lastTimeout !== null && lastTimeout.view === d.view) {
      d.effects.push({ kind: "broadcast", message: { kind: "timeout", body: lastTimeout } });
      addTimeout(d, lastTimeout);
    }
    return d.finish();
  }

  /** One input: see the module comment. */
  step(state: ReplicaState, input: Input, now: number): StepResult {
    const d = new Draft(this.ctx, state, now);
    switch (input.kind) {
      case "proposal":
        onProposal(d, input.from, input.proposal);
        break;
      case "vote":
        onVote(d, input.vote);
        break;
      case "timeout":
        onTimeout(d, input.from, input.timeout);
        break;
      case "staleTimeout":
        onStaleTimeout(d, input.from, input.view);
        break;
      case "qc":
        onQc(d, input.from, input.qc);
        break;
      case "tc":
        onTc(d, input.from, input.tc);
        break;
      case "syncResponse":
        onSyncResponse(d, input.from, input.requestId, input.blocks);
        break;
      case "certifiedBlocks":
        onCertifiedBlocks(d, input.from, input.blocks);
        break;
      case "timer":
        onTimer(d, input.view);
        break;
      case "leaderDown":
        onLeaderDown(d, input.view);
        break;
      case "remoteTimeout":
        onRemoteTimeout(d, input.view);
        break;
      case "payload":
        onPayload(d, input.view, input.block);
        break;
    }
    return d.finish();
  }
}
