/**
 * Admission of inbound p2p connections, decided at the HTTP upgrade before any WebSocket exists (issue 11, item 3).
 * What an unauthenticated source can hold or make the listener spend is bounded per source, so one attacker cannot
 * starve the validators that have to link:
 *
 * - **Pending handshakes per source.** A source (an IPv4 address, or an IPv6 /64: one customer's allocation) may hold
 *   at most `maxPendingPerSource` connections that have not finished their handshake. Honest dialers hold one per
 *   validator they run (one per host in production; a local cluster of n on one address briefly holds up to n − 1).
 * - **A global cap with room for newcomers.** At most `maxPending` at once; once `maxPending − reservedForNewSources`
 *   are taken, only sources holding none get in. So many attacking sources together can fill at most the unreserved
 *   part, and a validator arriving from an address of its own still finds a slot.
 * - **Back-off for sources that keep failing.** A handshake that ends without authentication (timeout, bad signature,
 *   unknown key, malformed, the dialer hanging up) is a failure of its source; `failuresBeforeBackoff` of them put the
 *   source in back-off: its upgrades are refused for `backoffBaseMs · 2^k` (k = back-offs it already served, capped at
 *   `backoffMaxMs`). A successful handshake from the source forgets its record, so a validator sharing an address with
 *   a flaky one is not locked out for long; a source quiet for `forgetAfterMs` is forgotten too.
 * - **Bounded memory.** At most `maxTrackedSources` records; the one updated longest ago is forgotten first. An attacker
 *   with more addresses than that can make us forget back-offs (the pending caps still hold), never grow the table.
 *
 * The refusals (HTTP 503, or 429 with Retry-After for back-off) cost the listener an accepted TCP connection and one
 * parsed HTTP request — no WebSocket, no handshake frame, no signature.
 */
import { isIP } from "node:net";

export interface AdmissionOptions {
  readonly maxPending: number;
  readonly maxPendingPerSource: number;
  readonly reservedForNewSources: number;
  readonly failuresBeforeBackoff: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly forgetAfterMs: number;
  readonly maxTrackedSources: number;
}

/**
 * Defaults.
 * - 64 pending in all, 16 of them kept for sources holding none, 4 per source: a 4-validator local cluster's three
 *   dialers on 127.0.0.1 fit at once; 64 was the old global cap.
 * - 3 failures, then 1 s doubling to 5 min: a validator that fails a handshake or two while restarting is never
 *   backed off; a source failing on purpose pays at most 3 handshakes per back-off period, 3 · (log2(300) + 1) ≈ 30
 *   handshakes in its first 10 minutes and then 3 per 5 minutes (≈ 0.6 ms of BLS verification each).
 * - 10 min of quiet forgets a source; 4,096 records at ≈ 100 bytes each is under half a MiB.
 */
export const DEFAULT_ADMISSION: AdmissionOptions = {
  maxPending: 64,
  maxPendingPerSource: 4,
  reservedForNewSources: 16,
  failuresBeforeBackoff: 3,
  backoffBaseMs: 1_000,
  backoffMaxMs: 300_000,
  forgetAfterMs: 600_000,
  maxTrackedSources: 4_096,
};

/** Why an upgrade was refused; each is counted under its code in `TransportStats.refused`. */
export type AdmissionRefusal = "PENDING_HANDSHAKE_LIMIT" | "PENDING_RESERVED" | "SOURCE_PENDING_LIMIT" | "SOURCE_BACKOFF";

export type AdmissionVerdict = { readonly ok: true } | { readonly ok: false; readonly code: AdmissionRefusal; readonly retryAfterMs: number };

interface SourceRecord {
  /** Failures since the last back-off (or success). */
  failures: number;
  /** Back-offs served so far: the next lasts backoffBaseMs · 2^backoffs. */
  backoffs: number;
  backoffUntil: number;
  lastFailure: number;
}

const OK: AdmissionVerdict = { ok: true };

function checkAdmissionOptions(opts: AdmissionOptions): AdmissionOptions {
  if (!(opts.maxPending >= 1 && opts.maxPendingPerSource >= 1 && opts.reservedForNewSources >= 0 && opts.reservedForNewSources < opts.maxPending)) {
    throw new RangeError("admission: need maxPending >= 1, maxPendingPerSource >= 1, 0 <= reservedForNewSources < maxPending");
  }
  return opts;
}

/**
 * The admission table. Pure bookkeeping on an injected clock: the transport calls `admit` from the upgrade handler,
 * `opened` when the socket exists, and `closed` with the outcome when its handshake ends one way or the other.
 */
export class Admission {
  private readonly pendingBySource = new Map<string, number>();
  private pendingTotal = 0;
  private readonly records = new Map<string, SourceRecord>();
  private readonly trusted = new Set<string>();

  private o: AdmissionOptions;

  constructor(
    opts: AdmissionOptions,
    private readonly now: () => number,
  ) {
    this.o = checkAdmissionOptions(opts);
  }

  /** The policy in force. */
  get opts(): AdmissionOptions {
    return this.o;
  }

  /**
   * Replaces the policy; connections already pending and source records are kept and judged by the new caps from the
   * next `admit` on. The transport raises the per-source cap this way when validators join at runtime.
   */
  setOptions(opts: AdmissionOptions): void {
    this.o = checkAdmissionOptions(opts);
  }

  /** Connections mid-handshake, all sources. */
  get pending(): number {
    return this.pendingTotal;
  }

  /** Source records kept (failing or backed off), at most `maxTrackedSources`. */
  get trackedSources(): number {
    return this.records.size;
  }

  /** Sources currently refused for back-off. */
  backedOffSources(): number {
    const t = this.now();
    let n = 0;
    for (const r of this.records.values()) if (r.backoffUntil > t) n++;
    return n;
  }

  /**
   * Marks `source` as the address of a configured validator: it is never put in back-off (its failures are not
   * counted), only held to the pending caps. Before the proof is read, an attacker sharing a validator's address is
   * indistinguishable from it; counting its failures against the address would lock the validator out (all of a
   * local cluster shares 127.0.0.1; in production, a NAT). The pending caps and the proof deadline still bound what
   * such a source can hold.
   */
  trust(source: string): void {
    this.trusted.add(source);
  }

  /** Whether a new connection from `source` may be upgraded. */
  admit(source: string): AdmissionVerdict {
    const o = this.opts;
    const t = this.now();
    const r = this.trusted.has(source) ? undefined : this.record(source, t);
    if (r !== undefined && r.backoffUntil > t) return { ok: false, code: "SOURCE_BACKOFF", retryAfterMs: r.backoffUntil - t };
    const held = this.pendingBySource.get(source) ?? 0;
    if (this.pendingTotal >= o.maxPending) return { ok: false, code: "PENDING_HANDSHAKE_LIMIT", retryAfterMs: 1_000 };
    if (held >= o.maxPendingPerSource) return { ok: false, code: "SOURCE_PENDING_LIMIT", retryAfterMs: 1_000 };
    if (held > 0 && this.pendingTotal >= o.maxPending - o.reservedForNewSources) return { ok: false, code: "PENDING_RESERVED", retryAfterMs: 1_000 };
    return OK;
  }

  /** A connection from `source` was upgraded and now holds a pending slot. */
  opened(source: string): void {
    this.pendingTotal++;
    this.pendingBySource.set(source, (this.pendingBySource.get(source) ?? 0) + 1);
  }

  /**
   * The pending connection from `source` ended its handshake: `authenticated` (a validator: the source is forgotten),
   * `failed` (counts toward back-off) or `neutral` (our shutdown, a banned validator that did authenticate).
   */
  closed(source: string, outcome: "authenticated" | "failed" | "neutral"): void {
    const held = this.pendingBySource.get(source) ?? 0;
    if (held > 0) {
      this.pendingTotal--;
      if (held === 1) this.pendingBySource.delete(source);
      else this.pendingBySource.set(source, held - 1);
    }
    if (outcome === "authenticated") {
      this.records.delete(source);
      return;
    }
    if (outcome === "neutral" || this.trusted.has(source)) return;
    const t = this.now();
    const r = this.record(source, t) ?? { failures: 0, backoffs: 0, backoffUntil: 0, lastFailure: t };
    r.failures++;
    r.lastFailure = t;
    if (r.failures >= this.opts.failuresBeforeBackoff && r.backoffUntil <= t) {
      r.backoffUntil = t + Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** Math.min(r.backoffs, 30));
      r.backoffs++;
      r.failures = 0;
    }
    // Re-inserted at the end: the table forgets the record updated longest ago first.
    this.records.delete(source);
    this.records.set(source, r);
    if (this.records.size > this.opts.maxTrackedSources) this.records.delete(this.records.keys().next().value!);
  }

  /** The live record of `source`, dropping it when it has been quiet for `forgetAfterMs`. */
  private record(source: string, t: number): SourceRecord | undefined {
    const r = this.records.get(source);
    if (r === undefined) return undefined;
    if (r.backoffUntil <= t && t - Math.max(r.lastFailure, r.backoffUntil) >= this.opts.forgetAfterMs) {
      this.records.delete(source);
      return undefined;
    }
    return r;
  }
}

/**
 * The admission key of a remote address in binary form (uWS `getRemoteAddress()`: 4 or 16 bytes): an IPv4 address
 * as itself (also when it arrives IPv4-mapped on a dual-stack socket), an IPv6 address as its /64 prefix.
 */
/** The source key of an address written as text (an IPv4 or IPv6 literal); undefined for a host name. */
export function sourceKeyOfText(host: string): string | undefined {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const kind = isIP(h);
  if (kind === 4) return sourceKey(Uint8Array.from(h.split(".").map(Number)));
  if (kind !== 6) return undefined;
  // Expand "::" and a trailing dotted quad into 16 bytes.
  let text = h;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad !== null) {
    const b = quad[1]!.split(".").map(Number);
    text = `${text.slice(0, quad.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
  const hs = head === "" ? [] : head.split(":");
  const ts = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill("0"), ...ts];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return sourceKey(out);
}

export function sourceKey(address: Uint8Array): string {
  if (address.length === 4) return address.join(".");
  if (address.length === 16) {
    const mapped = address.subarray(0, 10).every((b) => b === 0) && address[10] === 0xff && address[11] === 0xff;
    if (mapped) return address.subarray(12).join(".");
    const groups: string[] = [];
    for (let i = 0; i < 8; i += 2) groups.push(((address[i]! << 8) | address[i + 1]!).toString(16));
    return `${groups.join(":")}::/64`;
  }
  return "unknown";
}

/**
 * A budget of failed handshake proofs per claimed validator key, across all source addresses. Per-source back-off
 * (above) stops one address; an attacker rotating addresses (127/8 locally, an IPv6 /48 remotely: 65,536 /64s) would
 * still get `failuresBeforeBackoff` BLS verifications from each. So once proofs claiming validator v failed
 * `maxFailures` times within `windowMs`, further proofs claiming v are refused before verification (PROOF_BUDGET) —
 * except from the address v last authenticated from, so the real validator still links while its key is abused
 * elsewhere (one that moved to a new address meanwhile waits out the window). Defaults: 8 per 10 s, ≤ 0.8
 * verifications a second per claimed key (≈ 0.1 % of a core at ≈ 1 ms each). Memory: n × maxFailures timestamps.
 */
export class ProofBudget {
  private readonly failures = new Map<number, number[]>();
  private readonly lastGood = new Map<number, string>();

  constructor(
    private readonly opts: { readonly maxFailures: number; readonly windowMs: number },
    private readonly now: () => number,
  ) {}

  /** Whether a proof claiming `peer` from `source` may be verified. */
  allows(peer: number, source: string | undefined): boolean {
    if (source !== undefined && this.lastGood.get(peer) === source) return true;
    const list = this.failures.get(peer);
    if (list === undefined) return true;
    const cutoff = this.now() - this.opts.windowMs;
    while (list.length > 0 && list[0]! <= cutoff) list.shift();
    return list.length < this.opts.maxFailures;
  }

  /** The verdict on a proof claiming `peer` from `source`. */
  record(peer: number, source: string | undefined, ok: boolean): void {
    if (ok) {
      if (source !== undefined) this.lastGood.set(peer, source);
      return;
    }
    let list = this.failures.get(peer);
    if (list === undefined) this.failures.set(peer, (list = []));
    list.push(this.now());
    if (list.length > this.opts.maxFailures) list.shift();
  }
}

export const DEFAULT_PROOF_BUDGET = { maxFailures: 8, windowMs: 10_000 } as const;
