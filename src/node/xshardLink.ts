/**
 * A validator's cross-shard relaying (chain/app/xshard/README.md): the relayer (xshardRelayer.ts) over this node's
 * committed chain, sending to the other shards' RPC addresses from network.json.
 */
import type { XShardModule } from "../chain/app/xshard/module.js";
import { encodeCommitProofRecord } from "../chain/store/records.js";
import { commitProofOf } from "../consensus/commitProof.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import type { Registry } from "prom-client";
import { scrapeGauge } from "./metrics.js";
import { RpcClient } from "../rpc/client.js";
import { toHex } from "../util/bytes.js";
import type { BlockSummary } from "../rpc/api.js";
import { NodeError } from "./errors.js";
import type { GenesisNetwork } from "./genesis.js";
import type { Logger } from "./logger.js";
import type { NetworkManifest } from "./shardNetwork.js";
import { XShardRelayer } from "./xshardRelayer.js";
import type { RelayAnswer, RelaySink, RelaySource } from "./xshardRelayer.js";

/** What the sink asks of a shard node (an RpcClient). */
export type RelayClient = Pick<RpcClient, "submitTx" | "txStatus">;

/** Sends imports to one shard node at a time, moving to that shard's next node when one does not answer. */
export class RpcRelaySink implements RelaySink {
  private readonly next: number[];
  private readonly clients: RelayClient[][];
  private readonly hasher = defaultHasher();

  /** `clients[s]`: shard s's nodes (RpcClients over network.json's addresses by default). */
  constructor(manifest: NetworkManifest, timeoutMs = 5_000, clients?: RelayClient[][]) {
    this.clients = clients ?? manifest.shards.map((s) => s.rpc.map((url) => new RpcClient({ url, timeoutMs, rateLimitRetries: 0 })));
    // Start each shard at a different node per process, so the relayers of one shard spread their sends.
    this.next = manifest.shards.map(() => Math.floor(Math.random() * 1_000));
  }

  async submit(dest: number, tx: Uint8Array): Promise<{ answer: RelayAnswer; reason?: string }> {
    const list = this.clients[dest];
    if (list === undefined || list.length === 0) return { answer: "unreachable", reason: `no RPC address for shard ${dest}` };
    const client = list[this.next[dest]! % list.length]!;
    try {
      const r = await client.submitTx(tx);
      if (r.status === "accepted") return { answer: "accepted" };
      if (r.status === "duplicate") {
        // These very bytes are known there: pending (wait and resend later) or committed — done either way once
        // committed (a committed import that failed REPLAYED means another import applied its records).
        const st = await client.txStatus(toHex(this.hasher.digest(tx)));
        return st !== null && st.status === "committed" ? { answer: "applied" } : { answer: "accepted" };
      }
      if (r.status === "invalid") return r.reason.startsWith("REPLAYED") ? { answer: "applied" } : { answer: "refused", reason: r.reason };
      this.next[dest]!++;
      return { answer: "unreachable", reason: r.status };
    } catch (e) {
      this.next[dest]!++;
      return { answer: "unreachable", reason: e instanceof Error ? e.message : String(e) };
    }
  }
}

/** The manifest must describe the network this shard's genesis names (ids and shard chain ids). */
export function checkManifest(m: NetworkManifest, network: GenesisNetwork, file: string, field = "xshard.manifest"): void {
  const fail = (why: string): never => {
    throw new NodeError("BAD_CONFIG", `${file}: ${why}`, { field, file });
  };
  if (m.id !== network.id) fail(`is network "${m.id}", the genesis names "${network.id}"`);
  if ((m.kind ?? "shards") !== (network.kind ?? "shards")) fail(`is a network of ${m.kind ?? "shards"}, the genesis one of ${network.kind ?? "shards"}`);
  if (m.shards.length !== network.shards.length) fail(`lists ${m.shards.length} shards, the genesis ${network.shards.length}`);
  m.shards.forEach((s, i) => {
    if (s.chainId !== network.shards[i]!.chainId) fail(`shard ${i} is "${s.chainId}", the genesis names "${network.shards[i]!.chainId}"`);
  });
}

export interface RelayLinkDeps {
  readonly xshard: XShardModule;
  readonly head: () => number;
  readonly commitProof: (height: number) => readonly BlockSummary[] | null;
  readonly manifest: NetworkManifest;
  readonly validatorIndex: number;
  readonly validatorCount: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Where the relayer's gauges go (`GET /metrics`). */
  readonly registry?: Registry;
}

/** Starts relaying on a timer; returns the relayer (stats) and a stop function. */
export function startRelaying(d: RelayLinkDeps): { relayer: XShardRelayer; stop(): void } {
  const source: RelaySource = {
    outboxAt: (h) => d.xshard.outboxAt(h),
    commitProof: (h) => {
      const blocks = d.commitProof(h);
      const p = blocks === null ? null : commitProofOf(blocks);
      return p === null ? null : encodeCommitProofRecord(p);
    },
    head: d.head,
  };
  const relayer = new XShardRelayer({ shard: d.xshard.network.self, validatorIndex: d.validatorIndex, validatorCount: d.validatorCount }, source, new RpcRelaySink(d.manifest), defaultHasher(), d.logger);
  if (d.registry !== undefined) {
    const registry = d.registry;
    const gauge = (name: string, help: string, read: () => number) => scrapeGauge(registry, name, help, read);
    gauge("quire_xshard_relay_in_flight", "Source heights whose cross-shard records this node has not seen confirmed by every destination", () => relayer.inFlight);
    gauge("quire_xshard_relay_submitted", "Imports this node submitted to other shards (first sends and resends)", () => relayer.stats.submitted);
    gauge("quire_xshard_relay_confirmed", "Imports the destination confirmed applied (REPLAYED, or committed)", () => relayer.stats.confirmed);
    gauge("quire_xshard_relay_refused", "Imports a destination refused for another reason (logged; not resent)", () => relayer.stats.refused);
    gauge("quire_xshard_relay_unreachable", "Import submissions no destination node answered", () => relayer.stats.unreachable);
  }
  const timer = setInterval(() => {
    try {
      relayer.tick(Date.now());
    } catch (e) {
      d.logger.error("cross-shard relayer failed a tick", { error: e instanceof Error ? e.message : String(e) });
    }
  }, d.intervalMs);
  return { relayer, stop: () => clearInterval(timer) };
}
