/**
 * One validator's part in a geo network (README.md in this folder): it shares its cluster's committed blocks with
 * the other clusters, takes theirs in, feeds everything to the global order, and asks a silent cluster to replace
 * whoever should have shared. Driven by its node (or the simulator) through `onLocalCommit`, `onMessage` and `tick`:
 * no timers of its own, one implementation for both.
 *
 * Sharing. The block at height h of cluster i is shared by its proposer — the leader that got it certified — once
 * this replica can prove it committed (a consecutive-view pair committed at or above h: usually one block later).
 * It goes, with its commit proof, to f_j + 1 members of every other cluster j (members (h + k) mod n_j, k = 0..f_j, so
 * the load rotates), at least one of them honest; each receiver verifies it against cluster i's validator set and
 * rebroadcasts it once inside its own cluster. A share that reaches only faulty members, or none, is covered by the
 * remote view change below.
 *
 * Remote view change. A replica whose global execution waits for cluster i's block at round ρ (every earlier block
 * is there, and its own cluster's block of ρ too) for `remoteTimeoutMs` sends every member of i a signed request
 * (i, ρ, attempt 1), and one more, with the attempt raised, per further timeout. A member of i accepts a request only with f_j + 1 valid ones from one cluster j
 * for the same (ρ, attempt) — at least one of them honest, so a faulty minority of j cannot trigger anything — and at
 * most once per key. On acceptance:
 *   - if i has not committed ρ itself, the cluster is behind: its replicas time out their current leader (the
 *     `remoteTimeout` input of the core), at most once per remote timeout;
 *   - otherwise ρ's proposer failed to share: it is suspected (skipped as sharer for `suspectMs`), its replicas time
 *     out their current leader if that is the suspect, and the member `attempt` ranks after the proposer re-shares ρ
 *     and what follows (up to MAX_SHARE_BLOCKS, one proof) with every member of j. A faulty re-sharer costs one more
 *     timeout: the next attempt names the next member.
 * A healthy cluster shares within a round trip, so honest replicas never reach a remote timeout waiting for it; a
 * healthy but slower one keeps them waiting only while its own next block is not committed — choose the remote
 * timeout above a cluster's block interval (README).
 *
 * Pulls. A replica that sees a cluster's blocks far above what it holds (it restarted, or lost a stretch of shares)
 * asks one of that cluster's members for the gap, rotating through them; a member answers from its own committed
 * chain. Own blocks come from the local store (after a restart, all of them again: the global state is rebuilt).
 */
import { TokenBucket } from "../../util/tokenBucket.js";
import { buildCommitProof } from "../../consensus/commitProof.js";
import type { SignatureScheme } from "../../consensus/scheme.js";
import type { ConsensusSigner } from "../../consensus/signing.js";
import type { CommittedBlockRecord } from "../../chain/store/interface.js";
import { maxFaulty } from "../../domain/quorum.js";
import type { Block, Hash } from "../../domain/types.js";
import type { Scheduler } from "../../util/clock.js";
import type { GlobalOrder } from "./globalOrder.js";
import { decodeGeoMessage, encodeGeoMessage, GeoError, MAX_SHARE_BLOCKS, rvcMessage, verifyShare } from "./messages.js";
import type { GeoShare, RvcRequest, ShareContext } from "./messages.js";

/** What a replica knows of each cluster: how to check its shares and its members' signatures. */
export interface GeoCluster {
  readonly size: number;
  readonly share: ShareContext;
  readonly scheme: Pick<SignatureScheme, "verify">;
}

/** Sim-only misbehaviour of a member's geo layer (its consensus stays honest). */
export type GeoBehaviour = "silent" | "partial";

export interface GeoReplicaOptions {
  readonly networkId: Uint8Array;
  readonly cluster: number;
  readonly member: number;
  readonly remoteTimeoutMs: number;
  /** How long a member that failed to share is skipped as sharer (default 10 remote timeouts). */
  readonly suspectMs?: number;
  /**
   * A gap above this many blocks of one cluster is pulled (default 32: a restarted or long-cut replica catches up by
   * pulls, while a sharer that fell silent is left to the remote view change, which acts within a remote timeout).
   */
  readonly pullGap?: number;
  readonly behaviour?: GeoBehaviour;
  /** Rounds a cluster may run ahead of the global order before its leaders hold proposals (default 32). */
  readonly leadRounds?: number;
}

export const DEFAULT_LEAD_ROUNDS = 32;

export interface GeoReplicaModules {
  readonly clusters: readonly GeoCluster[];
  readonly order: GlobalOrder;
  readonly signer: ConsensusSigner;
  readonly scheduler: Scheduler;
  /** This replica's committed chain (its store). */
  readonly chain: { head(): { readonly height: number } | null; committedAt(height: number): CommittedBlockRecord | undefined };
  /** Sends geo message bytes to member `member` of cluster `cluster` (never to itself). */
  send(cluster: number, member: number, bytes: Uint8Array): void;
  /** The local consensus: time out the current view now (a remote view change). */
  remoteTimeout(): void;
  /** The leader of the local consensus's current view. */
  currentLeader(): number;
  /**
   * Executes the global order later, as its own unit of work (the node: the next turn of the event loop; the
   * simulator: an event of the replica's virtual CPU), so that consensus messages already waiting are not held up
   * behind the execution of a whole round. Absent: at once, inside the call that made blocks ready.
   */
  scheduleExecution?(): void;
  /** Counts an event (metrics): "share_sent", "share_new", "share_refused", "rvc_sent", "rvc_accepted", … */
  count?(name: string): void;
}

/** Most bytes of blocks one share carries (a block larger than this goes alone). Receivers take up to 16 MiB. */
export const MAX_SHARE_BYTES = 8 * 1024 * 1024;
/**
 * Work anyone can make a replica do, per second (senders are not authenticated: the bytes prove themselves, at a
 * price). Past a budget the message is dropped and counted; the protocol's timeouts retry. Honest traffic needs far
 * less: a share check per new block of another cluster, a few requests per remote timeout, pulls after restarts.
 */
export const SHARE_CHECKS_PER_SEC = 400;
export const RVC_CHECKS_PER_SEC = 200;
export const PULL_ANSWERS_PER_SEC = 20;

/** A block's encoded size, near enough for the share cap (the record adds a few bytes per tx). */
function blockBytes(b: Block): number {
  let n = 256 + b.header.parentResults.length + b.header.parentSigners.length;
  for (const tx of b.txs) n += 4 + tx.length;
  return n;
}

/** Own heights below the head shared again when a replica's geo layer starts (see the constructor). */
const RESHARE_ON_START = 8;

/** Highest attempt a request may carry (bounds the keys a member keeps). */
const MAX_ATTEMPT = 1_024;

export class GeoReplica {
  private readonly n: number;
  /** Own heights not yet shared whose sharer this replica is (ascending). */
  private duties: number[] = [];
  /** Own heights up to this were considered for sharing. */
  private considered = 0;
  /** Suspected own members (failed to share) → until (scheduler ms). */
  private readonly suspects = new Map<number, number>();
  /** The block global execution waits for, since when, and the last attempt asked about it. */
  private blocked = { round: -1, cluster: -1, since: 0, attempt: 0 };
  /** Valid requests by (from cluster, round, attempt) → members; and the keys already acted on. */
  private readonly requests = new Map<string, Set<number>>();
  private readonly acted = new Set<string>();
  /** Per (from cluster, member): the last (round, attempt) accepted from it (replays and regressions are refused). */
  private readonly lastRequest = new Map<string, { round: number; attempt: number; at: number }>();
  private lastRemoteTimeout = -Infinity;
  /** Per cluster: the highest height seen in any share, and when a pull was last sent. */
  private readonly seen: number[];
  private readonly pulledAt: number[];
  private pullTurn = 0;
  private longestWait = { ms: 0, round: 0, cluster: -1 };
  /** When this cluster last committed here (the "behind" rule of a remote view change looks at it). */
  private lastLocalCommit: number;
  /** Per sender (cluster:member): the request key its vote counts for now (one pending key per sender). */
  private readonly pendingKey = new Map<string, string>();
  /** Work that anyone can make this replica do, bounded per second whatever the senders: see `take`. */
  private readonly budgets = { verify: new TokenBucket(SHARE_CHECKS_PER_SEC), rvc: new TokenBucket(RVC_CHECKS_PER_SEC), pull: new TokenBucket(PULL_ANSWERS_PER_SEC) };

  constructor(
    private readonly o: GeoReplicaOptions,
    private readonly m: GeoReplicaModules,
  ) {
    this.n = m.clusters[o.cluster]!.size;
    this.seen = m.clusters.map(() => 0);
    this.pulledAt = m.clusters.map(() => -Infinity);
    this.lastLocalCommit = m.scheduler.now();
    // Own committed blocks already in the store (a restart): into the global order. The last few are shared again
    // where this replica is their sharer: it may have crashed between committing one and sharing it (or, built
    // during its first commit, never seen the commit as new).
    const head = m.chain.head()?.height ?? 0;
    this.offerOwn();
    this.considered = Math.max(0, head - RESHARE_ON_START);
    m.order.run();
    this.collectDuties();
  }

  /**
   * Own committed blocks into the global order, from the lowest one it lacks up to the head, read from the store —
   * as far as its buffer takes them (the rest on a later call: commits and ticks call this again, so an own block
   * is never lost to a full buffer).
   */
  private offerOwn(): void {
    const head = this.m.chain.head()?.height ?? 0;
    for (let h = this.m.order.missingFrom(this.o.cluster); h <= head; h++) {
      const r = this.m.chain.committedAt(h);
      if (r === undefined || this.m.order.offer(this.o.cluster, h, r.hash, r.block) === "full") break;
    }
  }

  /**
   * The longest global execution waited here for one other cluster's block (as seen by `tick`: to its period): what
   * "a silent sharer is replaced within 2 remote timeouts" is measured by.
   */
  get longestRemoteWait(): { readonly ms: number; readonly round: number; readonly cluster: number } {
    return this.longestWait;
  }

  /**
   * Whether this replica, as leader, should hold its proposal of own height `height`: the cluster is more than
   * `leadRounds` rounds ahead of the global order executed here (other clusters or execution are slower). A local
   * liveness policy only (the shell proposes anyway after a bounded hold): it keeps a fast cluster from piling up
   * rounds nobody can execute yet.
   */
  hold(height: number): boolean {
    return height > this.m.order.completedRound + (this.o.leadRounds ?? DEFAULT_LEAD_ROUNDS);
  }

  /** Own blocks newly committed (ascending): into the global order, and shared where this replica is the sharer. */
  onLocalCommit(blocks: readonly { readonly block: Block; readonly hash: Hash }[]): void {
    if (blocks.length > 0) this.lastLocalCommit = this.m.scheduler.now();
    this.offerOwn();
    this.execute();
    this.collectDuties();
    this.shareDuties();
  }

  /** Own heights committed since last looked at whose sharer this replica is. */
  private collectDuties(): void {
    const head = this.m.chain.head()?.height ?? 0;
    const now = this.m.scheduler.now();
    for (let h = this.considered + 1; h <= head; h++) {
      const proposer = this.m.chain.committedAt(h)?.block.header.proposer;
      // The proposer always shares its own; while it is suspected, the first unsuspected member after it shares too.
      if (proposer !== undefined && (proposer === this.o.member || this.sharerOf(proposer, now) === this.o.member)) this.duties.push(h);
    }
    this.considered = Math.max(this.considered, head);
  }

  /** Geo message bytes from anyone. Returns the reply to send back (a pull's answer), or null. */
  onMessage(bytes: Uint8Array): Uint8Array | null {
    let msg;
    try {
      msg = decodeGeoMessage(bytes);
    } catch (e) {
      if (e instanceof GeoError) {
        this.count("message_malformed");
        return null;
      }
      throw e;
    }
    switch (msg.kind) {
      case "share":
        this.onShare(msg.share);
        return null;
      case "pull":
        return this.onPull(msg.pull.cluster, msg.pull.fromHeight);
      case "rvc":
        this.onRvc(msg.rvc);
        return null;
    }
  }

  /** Remote timeouts, requests and pulls: call often (every few tens of ms). */
  tick(): void {
    const now = this.m.scheduler.now();
    this.offerOwn();
    this.execute();
    this.shareDuties();
    const next = this.m.order.next;
    // Waiting for cluster i's block of round r counts only once this cluster's own block of r is here: "while others
    // have" — before that everyone is still producing the round (a network starting, a slower moment everywhere).
    if (next.cluster !== this.o.cluster && this.m.order.has(this.o.cluster, next.round)) {
      if (next.round !== this.blocked.round || next.cluster !== this.blocked.cluster) this.blocked = { round: next.round, cluster: next.cluster, since: now, attempt: 0 };
      if (now - this.blocked.since > this.longestWait.ms) this.longestWait = { ms: now - this.blocked.since, round: next.round, cluster: next.cluster };
      const attempt = Math.min(MAX_ATTEMPT, Math.floor((now - this.blocked.since) / this.o.remoteTimeoutMs));
      if (attempt > this.blocked.attempt) {
        this.blocked.attempt = attempt;
        this.requestViewChange(next.cluster, next.round, attempt);
      }
    }
    for (let c = 0; c < this.m.clusters.length; c++) {
      if (c === this.o.cluster) continue;
      const from = this.m.order.missingFrom(c);
      // Far behind that cluster (a restart, a long cut), or waiting for it for a whole remote timeout (a share lost
      // on the way here: the requests of one replica alone never reach f + 1).
      const waiting = this.blocked.cluster === c && this.blocked.since >= 0 && now - this.blocked.since >= this.o.remoteTimeoutMs;
      if ((this.seen[c]! - from > (this.o.pullGap ?? 32) || waiting) && now - this.pulledAt[c]! >= this.o.remoteTimeoutMs / 2) {
        this.pulledAt[c] = now;
        const member = this.pullTurn++ % this.m.clusters[c]!.size;
        this.m.send(c, member, encodeGeoMessage({ kind: "pull", pull: { cluster: c, fromHeight: from } }));
        this.count("pull_sent");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  /** Who shares a block proposed by `proposer`: the proposer, or the first unsuspected member ranked after it. */
  private sharerOf(proposer: number, now: number): number {
    for (let k = 0; k < this.n; k++) {
      const m = (proposer + k) % this.n;
      const until = this.suspects.get(m);
      if (until === undefined || until <= now) return m;
    }
    return proposer;
  }

  /** Shares every duty that can be proven now, each with its own proof, to f + 1 members of every other cluster. */
  private shareDuties(): void {
    if (this.duties.length === 0) return;
    const head = this.m.chain.head()?.height ?? 0;
    const left: number[] = [];
    for (const h of this.duties) {
      const share = this.shareFrom(h, h, head);
      if (share === null) {
        left.push(h);
        continue;
      }
      if (this.o.behaviour === "silent") continue;
      const bytes = encodeGeoMessage({ kind: "share", share });
      this.m.clusters.forEach((c, j) => {
        if (j === this.o.cluster) return;
        const f = maxFaulty(c.size);
        const targets = this.o.behaviour === "partial" ? f : f + 1;
        for (let k = 0; k < targets; k++) this.m.send(j, (h + k) % c.size, bytes);
      });
      this.count("share_sent");
    }
    this.duties = left;
  }

  /** Own blocks from..min(to, provable) with the proof of the last, or null when `from` cannot be proven yet. */
  private shareFrom(from: number, to: number, head: number, hop: 0 | 1 = 0): GeoShare | null {
    const chain = this.m.chain;
    const at = (i: number) => {
      const r = chain.committedAt(i);
      return r === undefined ? undefined : { header: r.block.header, qc: r.qc };
    };
    // Blocks from `from` up to MAX_SHARE_BYTES (at least one), then the highest of them that can be proven: its
    // proof covers the ones below by hash links.
    const blocks: Block[] = [];
    let bytes = 0;
    for (let i = from; i <= Math.min(to, head); i++) {
      const b = chain.committedAt(i)?.block;
      if (b === undefined) break;
      const size = blockBytes(b);
      if (blocks.length > 0 && bytes + size > MAX_SHARE_BYTES) break;
      blocks.push(b);
      bytes += size;
    }
    for (let last = from + blocks.length - 1; last >= from; last--) {
      const proof = buildCommitProof(last, head, at);
      if (proof !== null) return { hop, cluster: this.o.cluster, blocks: blocks.slice(0, last - from + 1), proof };
    }
    return null;
  }

  private onShare(s: GeoShare): void {
    const c = s.cluster;
    const cluster = this.m.clusters[c];
    if (cluster === undefined || c === this.o.cluster) {
      this.count("share_refused");
      return;
    }
    const first = s.blocks[0]?.header.height ?? 0;
    const last = first + s.blocks.length - 1;
    // Nothing new: no proof to check (a rebroadcast of what we have costs a lookup).
    let fresh = false;
    for (let h = first; h <= last && !fresh; h++) fresh = !this.m.order.has(c, h);
    if (!fresh) return;
    if (!this.budgets.verify.take(this.m.scheduler.now())) {
      this.count("share_dropped");
      return;
    }
    let blocks;
    this.count("share_verified");
    try {
      blocks = verifyShare(s, cluster.share);
    } catch (e) {
      if (e instanceof GeoError) {
        this.count("share_refused");
        return;
      }
      throw e;
    }
    let added = false;
    for (const b of blocks) if (this.m.order.offer(c, b.height, b.hash, b.block) === "new") added = true;
    this.seen[c] = Math.max(this.seen[c]!, last);
    if (!added) return;
    this.count("share_new");
    this.execute();
    if (s.hop === 0 && this.o.behaviour !== "silent") {
      const bytes = encodeGeoMessage({ kind: "share", share: { ...s, hop: 1 } });
      for (let k = 0; k < this.n; k++) if (k !== this.o.member) this.m.send(this.o.cluster, k, bytes);
    }
  }

  private onPull(cluster: number, fromHeight: number): Uint8Array | null {
    if (cluster !== this.o.cluster || this.o.behaviour === "silent" || fromHeight < 1) return null;
    if (!this.budgets.pull.take(this.m.scheduler.now())) {
      this.count("pull_dropped");
      return null;
    }
    const head = this.m.chain.head()?.height ?? 0;
    // hop 1: the one who pulled does not rebroadcast what it asked for itself.
    const share = this.shareFrom(fromHeight, fromHeight + MAX_SHARE_BLOCKS - 1, head, 1);
    this.count("pull_answered");
    return share === null ? null : encodeGeoMessage({ kind: "share", share });
  }

  private requestViewChange(target: number, round: number, attempt: number): void {
    const body = { fromCluster: this.o.cluster, fromMember: this.o.member, target, round, attempt };
    const signature = this.m.signer.sign(rvcMessage(this.o.networkId, body));
    const bytes = encodeGeoMessage({ kind: "rvc", rvc: { ...body, signature } });
    for (let k = 0; k < this.m.clusters[target]!.size; k++) this.m.send(target, k, bytes);
    this.count("rvc_sent");
  }

  private onRvc(r: RvcRequest): void {
    const from = this.m.clusters[r.fromCluster];
    if (r.target !== this.o.cluster || from === undefined || r.fromCluster === this.o.cluster || r.fromMember >= from.size || r.round < 1 || r.attempt < 1 || r.attempt > MAX_ATTEMPT) {
      this.count("rvc_refused");
      return;
    }
    const now = this.m.scheduler.now();
    const who = `${r.fromCluster}:${r.fromMember}`;
    const prev = this.lastRequest.get(who);
    // One new request per member and half a remote timeout, never an older (round, attempt) than its last.
    if (prev !== undefined && (r.round < prev.round || (r.round === prev.round && r.attempt <= prev.attempt) || now - prev.at < this.o.remoteTimeoutMs / 2)) {
      this.count("rvc_ignored");
      return;
    }
    if (!this.budgets.rvc.take(now)) {
      this.count("rvc_dropped");
      return;
    }
    if (!from.scheme.verify(r.fromMember, rvcMessage(this.o.networkId, r), r.signature)) {
      this.count("rvc_refused");
      return;
    }
    this.lastRequest.set(who, { round: r.round, attempt: r.attempt, at: now });
    const key = `${r.fromCluster}:${r.round}:${r.attempt}`;
    if (this.acted.has(key)) return;
    // A sender's vote counts for its latest key only: the map holds at most one pending key per sender.
    const previous = this.pendingKey.get(who);
    if (previous !== undefined && previous !== key) {
      const old = this.requests.get(previous);
      old?.delete(r.fromMember);
      if (old !== undefined && old.size === 0) this.requests.delete(previous);
    }
    this.pendingKey.set(who, key);
    let set = this.requests.get(key);
    if (set === undefined) this.requests.set(key, (set = new Set()));
    set.add(r.fromMember);
    if (set.size < maxFaulty(from.size) + 1) return;
    this.requests.delete(key);
    this.acted.add(key);
    this.prune(r.round);
    this.count("rvc_accepted");
    this.act(r.fromCluster, r.round, r.attempt, now);
  }

  private act(requester: number, round: number, attempt: number, now: number): void {
    const head = this.m.chain.head()?.height ?? 0;
    if (round > head) {
      // Behind: only when this cluster committed nothing for a remote timeout (a cluster that commits, only more
      // slowly than the requesters, keeps its views).
      if (now - this.lastLocalCommit >= this.o.remoteTimeoutMs) this.timeOutLeader(now);
      return;
    }
    const proposer = this.m.chain.committedAt(round)?.block.header.proposer;
    if (proposer === undefined) return;
    this.suspects.set(proposer, now + (this.o.suspectMs ?? 10 * this.o.remoteTimeoutMs));
    if (this.m.currentLeader() === proposer) this.timeOutLeader(now);
    const rank = (this.o.member - proposer + this.n) % this.n;
    if (this.n < 2 || rank !== ((attempt - 1) % (this.n - 1)) + 1 || this.o.behaviour === "silent") return;
    // hop 1: it goes to every member of the requesting cluster, none of which needs to pass it on.
    const share = this.shareFrom(round, round + MAX_SHARE_BLOCKS - 1, head, 1);
    if (share === null) return;
    const bytes = encodeGeoMessage({ kind: "share", share });
    for (let k = 0; k < this.m.clusters[requester]!.size; k++) this.m.send(requester, k, bytes);
    this.count("reshare_sent");
  }

  /** Runs the global order now, or asks the host to soon (`scheduleExecution`). */
  private execute(): void {
    if (this.m.scheduleExecution !== undefined) this.m.scheduleExecution();
    else this.m.order.run();
  }

  private timeOutLeader(now: number): void {
    if (now - this.lastRemoteTimeout < this.o.remoteTimeoutMs) return;
    this.lastRemoteTimeout = now;
    this.count("remote_timeout");
    this.m.remoteTimeout();
  }

  /** Drops request state about rounds already executed here (they cannot block anything any more). */
  private prune(round: number): void {
    if (this.acted.size + this.requests.size < 4_096) return;
    const done = this.m.order.completedRound;
    for (const k of [...this.requests.keys()]) if (Number(k.split(":")[1]) <= done) this.requests.delete(k);
    for (const [who, k] of [...this.pendingKey]) if (!this.requests.has(k)) this.pendingKey.delete(who);
    for (const k of [...this.acted]) if (Number(k.split(":")[1]) <= Math.min(done, round - 1)) this.acted.delete(k);
  }

  private count(name: string): void {
    this.m.count?.(name);
  }
}
