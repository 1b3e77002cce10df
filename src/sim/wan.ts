/**
 * A WAN model for the simulator (issue 15, deliverable 7): validators spread over regions, one-way latency from a
 * region × region matrix, jitter, loss and a per-node uplink bandwidth — the links that geo clusters (Z clusters of N
 * validators) and one flat cluster of Z × N validators are compared over.
 *
 *   const spec = wanSpec({ ...DEFAULT_WAN, regions: 4, interMinMs: 50, interMaxMs: 200, bandwidthMbps: 100 }, 16);
 *   const model = new WanModel(spec);             // one per run: it holds the nodes' uplink queues
 *   runSimulation({ validators: 16, seed, kinds: "random", views: 30, wan: { model } });          // one flat cluster
 *   new Simulation({ …, wan: { model, offset: c * N } });      // cluster c of a geo run: global nodes c·N .. c·N+N-1
 *   model.send(from, to, bytes, now, rng);        // the inter-cluster layer: arrival time, or null when lost
 *
 * The model, per message from global node `from` to `to` (in that order):
 * - bandwidth: its bytes queue FIFO on the sender's `Uplink` (src/net/uplink.ts) at `bandwidthMbps`, shared by every
 *   channel the node sends on (its cluster's `MemoryNetwork` and the inter-cluster layer) and by every destination:
 *   the message has left when its last byte has. Unlimited when `bandwidthMbps` is null. One FIFO, no priorities: a
 *   proposal waits behind the tx gossip queued before it, as it would in a socket's send buffer.
 * - loss: dropped with probability `loss` (after using the uplink: the bytes left). Loss after GST is outside the
 *   liveness assumption (no loss after GST); the protocol's timeouts and block fetches recover from it in practice.
 * - latency: then `latencyMs[region(from)][region(to)]` plus jitter, uniform in [0, jitterMs), drawn per message.
 *   Links stay FIFO (as TCP): a message never overtakes an earlier one on the same directed pair.
 *
 * In a `Simulation` the model is the network's geography (`LinkModel`, see memoryNetwork.ts) for the whole run. The
 * scenario's faults stay on top of it: partitions, crashes, Byzantine behaviours, and before GST the plan's own delays
 * (added to the model's), loss, duplication and reordering; from GST on the plan's delay is 0 so link delays are the
 * model's alone (duplication and reordering within the bound go on, as without a WAN). The timers scale with the
 * model (`wanPlan`): Δ, the largest one-way delay after GST, is the largest latency between the network's own nodes
 * (a cluster inside one region: the intra-region latency) plus jitter plus the time to send `WAN_BURST_BYTES` on the
 * uplink; the view timer starts at 6Δ (the scenario's 300 ms was 6 × its 50 ms Δ: a proposal and a vote, a block
 * fetch, and room), caps at 8 × that, and the liveness bound grows in proportion. It has to: over 60 random seeds at
 * n = 16, 50–200 ms, 5 ms jitter, the worst first commit after GST was 35.5 s, past the LAN scenarios' 30 s bound
 * (`quire sim --validators 16 --regions 4 --wan-inter 50-200 --jitter 5 --seed 100 --seeds 60`).
 *
 * Determinism: the matrix comes from its own seed (one geography for every seed of a sweep); jitter and loss are drawn
 * from the caller's RNG (the network's, or the one the inter-cluster layer passes), so a run replays exactly.
 */
import { QuireError } from "../util/errors.js";
import { SeededRng } from "../util/rng.js";
import type { LinkModel } from "../net/memoryNetwork.js";
import { Uplink } from "../net/uplink.js";
import type { PeerId } from "../net/transport.js";
import { SIM_PACEMAKER } from "./scenario.js";
import type { ScenarioPlan } from "./scenario.js";

export type WanErrorCode = "BAD_WAN_CONFIG" | "BAD_WAN_FLAG" | "UNKNOWN_NODE";

/** A WAN description or flag that makes no sense (negative latency, a loss outside [0, 1], "--wan-inter 200-50"…). */
export class WanError extends QuireError<WanErrorCode> {}

/** The generator's input: what `quire sim --wan-…` flags describe. */
export interface WanConfig {
  /** Number of regions Z (nodes are spread over them in contiguous blocks, see `contiguousRegions`). */
  readonly regions: number;
  /** One-way latency inside a region (ms). */
  readonly intraMs: number;
  /** One-way latency between two regions, drawn once per pair in [interMinMs, interMaxMs] (ms, whole). */
  readonly interMinMs: number;
  readonly interMaxMs: number;
  /** Extra one-way delay per message, uniform in [0, jitterMs) (ms). */
  readonly jitterMs: number;
  /** Per-message loss probability. */
  readonly loss: number;
  /** Each node's uplink in Mbit/s (10^6 bits); null: unlimited. */
  readonly bandwidthMbps: number | null;
  /** Seed of the latency matrix. */
  readonly seed: number;
}

/** The issue's example: 1 ms inside a region, 50–200 ms between, 100 Mbit/s per node, no jitter or loss. */
export const DEFAULT_WAN: WanConfig = { regions: 4, intraMs: 1, interMinMs: 50, interMaxMs: 200, jitterMs: 0, loss: 0, bandwidthMbps: 100, seed: 1 };

/** The model's fixed part (no state): reusable across runs; `new WanModel(spec)` per run. */
export interface WanSpec {
  /** Region of each global node (node index → region index into `latencyMs`). */
  readonly regionOf: readonly number[];
  /** One-way latency (ms) from region a to region b: `latencyMs[a][b]`. */
  readonly latencyMs: readonly (readonly number[])[];
  readonly jitterMs: number;
  readonly loss: number;
  /** Each node's uplink (bytes/s); null: unlimited. */
  readonly bytesPerSec: number | null;
}

/**
 * What Δ budgets for transmission: 1 MiB leaving one uplink (a proposal to every peer of a 16-validator cluster plus
 * the tx gossip queued before it, at simulator block sizes). 84 ms at 100 Mbit/s.
 */
export const WAN_BURST_BYTES = 1 << 20;

/** Node g of `nodes` in region ⌊g·Z/nodes⌋: contiguous blocks, so cluster c of N nodes (c·N .. c·N+N-1) is region c when Z clusters. */
export function contiguousRegions(nodes: number, regions: number): number[] {
  checkInt("nodes", nodes, 1);
  checkInt("regions", regions, 1);
  return Array.from({ length: nodes }, (_, g) => Math.floor((g * regions) / nodes));
}

/** A symmetric Z × Z matrix: `intraMs` on the diagonal, each pair a < b drawn once in [interMinMs, interMaxMs] (whole ms). */
export function wanLatencyMatrix(c: Pick<WanConfig, "regions" | "intraMs" | "interMinMs" | "interMaxMs" | "seed">): number[][] {
  checkInt("regions", c.regions, 1);
  checkMs("intraMs", c.intraMs);
  checkMs("interMinMs", c.interMinMs);
  checkMs("interMaxMs", c.interMaxMs);
  if (c.interMaxMs < c.interMinMs) throw new WanError("BAD_WAN_CONFIG", `interMaxMs ${c.interMaxMs} < interMinMs ${c.interMinMs}`);
  const rng = new SeededRng(c.seed >>> 0);
  const m = Array.from({ length: c.regions }, () => new Array<number>(c.regions).fill(c.intraMs));
  for (let a = 0; a < c.regions; a++) {
    for (let b = a + 1; b < c.regions; b++) {
      const ms = Math.round(c.interMinMs + rng.float() * (c.interMaxMs - c.interMinMs));
      m[a]![b] = ms;
      m[b]![a] = ms;
    }
  }
  return m;
}

/** The spec of `nodes` nodes under `config` (regions contiguous, the matrix from the config's seed). */
export function wanSpec(config: WanConfig, nodes: number): WanSpec {
  checkMs("jitterMs", config.jitterMs);
  checkProbability("loss", config.loss);
  if (config.bandwidthMbps !== null && !(config.bandwidthMbps > 0 && Number.isFinite(config.bandwidthMbps))) throw new WanError("BAD_WAN_CONFIG", `bandwidthMbps must be a positive number or null, got ${config.bandwidthMbps}`);
  return {
    regionOf: contiguousRegions(nodes, config.regions),
    latencyMs: wanLatencyMatrix(config),
    jitterMs: config.jitterMs,
    loss: config.loss,
    bytesPerSec: config.bandwidthMbps === null ? null : (config.bandwidthMbps * 1e6) / 8,
  };
}

/** One run's WAN: the spec plus every node's uplink queue (shared by every channel sending from that node). */
export class WanModel {
  readonly spec: WanSpec;
  readonly nodes: number;
  /** Node g's uplink (undefined: unlimited bandwidth). */
  readonly uplinks: readonly (Uplink | undefined)[];
  /** Arrival of the last message `send` carried per directed pair (`from * nodes + to`): FIFO, as the network's links. */
  private readonly lastArrival = new Map<number, number>();

  constructor(spec: WanSpec) {
    const z = spec.latencyMs.length;
    if (z < 1) throw new WanError("BAD_WAN_CONFIG", "the latency matrix is empty");
    for (const row of spec.latencyMs) {
      if (row.length !== z) throw new WanError("BAD_WAN_CONFIG", `the latency matrix must be ${z} × ${z}`);
      for (const ms of row) checkMs("latency", ms);
    }
    if (spec.regionOf.length < 1) throw new WanError("BAD_WAN_CONFIG", "no nodes");
    spec.regionOf.forEach((r, g) => {
      if (!Number.isInteger(r) || r < 0 || r >= z) throw new WanError("BAD_WAN_CONFIG", `node ${g} is in region ${r}, the matrix has ${z}`);
    });
    checkMs("jitterMs", spec.jitterMs);
    checkProbability("loss", spec.loss);
    this.spec = spec;
    this.nodes = spec.regionOf.length;
    const bps = spec.bytesPerSec;
    this.uplinks = spec.regionOf.map(() => (bps === null ? undefined : new Uplink({ bytesPerSec: bps })));
  }

  region(node: number): number {
    this.checkNode(node);
    return this.spec.regionOf[node]!;
  }

  /** The matrix latency from → to (ms, jitter aside). */
  baseMs(from: number, to: number): number {
    return this.spec.latencyMs[this.region(from)]![this.region(to)]!;
  }

  /** One message's propagation delay from → to: the matrix latency plus jitter drawn from `rng`. */
  delay(from: number, to: number, rng: SeededRng): number {
    const base = this.baseMs(from, to);
    return this.spec.jitterMs > 0 ? base + rng.float() * this.spec.jitterMs : base;
  }

  /** Time to put `bytes` on one uplink, queue aside (0 with unlimited bandwidth). */
  transmitMs(bytes: number): number {
    const bps = this.spec.bytesPerSec;
    return bps === null ? 0 : (bytes * 1000) / bps;
  }

  /** Largest latency between the regions of `nodes` (default: every node), plus jitter (ms). */
  maxOneWayMs(nodes?: readonly number[]): number {
    const used = [...new Set(nodes === undefined ? this.spec.regionOf : nodes.map((g) => this.region(g)))];
    let max = 0;
    for (const a of used) for (const b of used) max = Math.max(max, this.spec.latencyMs[a]![b]!);
    return max + this.spec.jitterMs;
  }

  /**
   * Δ: the delay bound the timers of a network of `nodes` (default: every node) are sized for — the largest one-way
   * delay between them plus sending `WAN_BURST_BYTES`. A cluster inside one region gets its intra-region Δ.
   */
  deltaMs(nodes?: readonly number[]): number {
    return this.maxOneWayMs(nodes) + this.transmitMs(WAN_BURST_BYTES);
  }

  /**
   * The geography and uplinks of a `MemoryNetwork` whose peer i is global node `nodeOf[i]` (a cluster's: c·N + i; a
   * flat one's: i). Spread into its modules. A node listed twice (a twin: two machines, one key) gets a second,
   * unshared uplink of the same rate for its later peers.
   */
  networkModules(nodeOf: readonly number[]): { links: LinkModel; uplinks: (Uplink | undefined)[] } {
    for (const g of nodeOf) this.checkNode(g);
    const seen = new Set<number>();
    const bps = this.spec.bytesPerSec;
    const uplinks = nodeOf.map((g) => {
      if (bps === null) return undefined;
      if (seen.has(g)) return new Uplink({ bytesPerSec: bps });
      seen.add(g);
      return this.uplinks[g];
    });
    const links: LinkModel = {
      delay: (from: PeerId, to: PeerId, rng: SeededRng) => this.delay(nodeOf[from]!, nodeOf[to]!, rng),
      loss: () => this.spec.loss,
    };
    return { links, uplinks };
  }

  /**
   * One message of `bytes` sent at `now` from global node `from` to `to` outside any `MemoryNetwork` (the
   * inter-cluster layer): queued on the sender's shared uplink, lost with probability `loss` (null), else its arrival
   * time — departure plus latency and jitter, never before an earlier message of the same pair. Draws from `rng`
   * (loss first, then jitter); calls must come in non-decreasing `now`.
   */
  send(from: number, to: number, bytes: number, now: number, rng: SeededRng): number | null {
    this.checkNode(from);
    this.checkNode(to);
    if (!(bytes >= 0)) throw new WanError("BAD_WAN_CONFIG", `bytes must be >= 0, got ${bytes}`);
    const departed = this.uplinks[from]?.depart(now, bytes) ?? now;
    if (this.spec.loss > 0 && rng.chance(this.spec.loss)) return null;
    const key = from * this.nodes + to;
    const arrival = Math.max(departed + this.delay(from, to, rng), this.lastArrival.get(key) ?? -Infinity);
    this.lastArrival.set(key, arrival);
    return arrival;
  }

  private checkNode(g: number): void {
    if (!Number.isInteger(g) || g < 0 || g >= this.nodes) throw new WanError("UNKNOWN_NODE", `no node ${g} in a WAN of ${this.nodes} nodes`);
  }
}

/**
 * A drawn plan adapted to the WAN for a network of `nodes` (default: all of them; see the module comment): after GST the link delays are the model's alone (the
 * plan's post-GST delay becomes 0; a plan whose pre-GST faults are its post-GST ones gets the same), Δ and the
 * timers are sized for the model, the liveness bound grows with the view timer.
 */
export function wanPlan(plan: ScenarioPlan, model: WanModel, nodes?: readonly number[]): ScenarioPlan {
  const delta = model.deltaMs(nodes);
  const base = Math.max(SIM_PACEMAKER.baseTimeoutMs, Math.ceil(6 * delta));
  const scale = base / SIM_PACEMAKER.baseTimeoutMs;
  const postGst = { ...plan.postGst, delay: { kind: "fixed" as const, ms: 0 } };
  return {
    ...plan,
    postGst,
    preGst: plan.preGst === plan.postGst ? postGst : plan.preGst,
    deltaMs: Math.ceil(delta),
    pacemaker: { ...plan.pacemaker, baseTimeoutMs: base, maxTimeoutMs: Math.max(plan.pacemaker.maxTimeoutMs, Math.ceil(plan.pacemaker.maxTimeoutMs * scale)) },
    livenessBoundMs: Math.max(plan.livenessBoundMs, Math.ceil(plan.livenessBoundMs * scale)),
  };
}

/** The flags `parseWanFlags` reads (`quire sim`). */
export const WAN_FLAGS = ["regions", "wan-intra", "wan-inter", "jitter", "loss", "bandwidth-mbps", "wan-seed"] as const;
export type WanFlag = (typeof WAN_FLAGS)[number];

/**
 * `--regions Z --wan-inter 50-200 (or 80) --wan-intra 1 --jitter 5 --loss 0.01 --bandwidth-mbps 100 (or off)
 * --wan-seed S` over `DEFAULT_WAN`; null when none of them is given (no WAN). `get` returns a flag's text.
 * Throws `WanError("BAD_WAN_FLAG")` naming the flag on a bad value.
 */
export function parseWanFlags(get: (flag: WanFlag) => string | undefined): WanConfig | null {
  if (WAN_FLAGS.every((f) => get(f) === undefined)) return null;
  const num = (flag: WanFlag, fallback: number, ok: (v: number) => boolean, what: string): number => {
    const text = get(flag);
    if (text === undefined) return fallback;
    const v = Number(text);
    if (text.trim() === "" || !Number.isFinite(v) || !ok(v)) throw new WanError("BAD_WAN_FLAG", `--${flag} must be ${what}, got "${text}"`, { flag });
    return v;
  };
  const nonNegative = (v: number): boolean => v >= 0;
  const regions = num("regions", DEFAULT_WAN.regions, (v) => Number.isInteger(v) && v >= 1 && v <= 256, "an integer in 1..256");
  const intraMs = num("wan-intra", DEFAULT_WAN.intraMs, nonNegative, "a latency in ms (>= 0)");
  let interMinMs = DEFAULT_WAN.interMinMs;
  let interMaxMs = DEFAULT_WAN.interMaxMs;
  const inter = get("wan-inter");
  if (inter !== undefined) {
    const parts = inter.split("-").map((x) => x.trim());
    const vals = parts.map(Number);
    if (parts.length < 1 || parts.length > 2 || parts.some((x) => x === "") || vals.some((v) => !Number.isFinite(v) || v < 0) || (vals.length === 2 && vals[1]! < vals[0]!)) {
      throw new WanError("BAD_WAN_FLAG", `--wan-inter must be MS or MIN-MAX in ms with MIN <= MAX, got "${inter}"`, { flag: "wan-inter" });
    }
    interMinMs = vals[0]!;
    interMaxMs = vals[vals.length - 1]!;
  }
  const jitterMs = num("jitter", DEFAULT_WAN.jitterMs, nonNegative, "a jitter in ms (>= 0)");
  const loss = num("loss", DEFAULT_WAN.loss, (v) => v >= 0 && v <= 1, "a probability in 0..1");
  const bwText = get("bandwidth-mbps");
  const bandwidthMbps = bwText === "off" ? null : num("bandwidth-mbps", DEFAULT_WAN.bandwidthMbps ?? 0, (v) => v > 0, "a positive rate in Mbit/s or off");
  const seed = num("wan-seed", DEFAULT_WAN.seed, (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff, "a 32-bit unsigned integer");
  return { regions, intraMs, interMinMs, interMaxMs, jitterMs, loss, bandwidthMbps, seed };
}

/** One line describing a WAN config (reports, replay commands). */
export function describeWan(c: WanConfig): string {
  return `regions=${c.regions} intra=${c.intraMs}ms inter=${c.interMinMs}-${c.interMaxMs}ms jitter=${c.jitterMs}ms loss=${c.loss} bandwidth=${c.bandwidthMbps === null ? "unlimited" : `${c.bandwidthMbps}Mbit/s`} wan-seed=${c.seed}`;
}

/** The flags that reproduce `c` on a `quire sim` command line. */
export function wanFlagsText(c: WanConfig): string {
  return `--regions ${c.regions} --wan-intra ${c.intraMs} --wan-inter ${c.interMinMs}-${c.interMaxMs} --jitter ${c.jitterMs} --loss ${c.loss} --bandwidth-mbps ${c.bandwidthMbps ?? "off"} --wan-seed ${c.seed}`;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new WanError("BAD_WAN_CONFIG", `${name} must be an integer >= ${min}, got ${v}`);
}

function checkMs(name: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) throw new WanError("BAD_WAN_CONFIG", `${name} must be a finite number of ms >= 0, got ${v}`);
}

function checkProbability(name: string, v: number): void {
  if (!(v >= 0 && v <= 1)) throw new WanError("BAD_WAN_CONFIG", `${name} must be a probability in [0, 1], got ${v}`);
}
