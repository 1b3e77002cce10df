/**
 * The RPC server's own metrics, rendered in the Prometheus text exposition format (version 0.0.4) after the node's
 * metrics on `GET /metrics`. Small on purpose: counters and gauges with a fixed label set, no histograms.
 */

/** Escapes a label value as the exposition format requires: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A counter or gauge family: one value per combination of label values. */
export class MetricFamily {
  private readonly series = new Map<string, { labels: readonly string[]; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
    readonly labelNames: readonly string[] = [],
  ) {}

  /** Adds `by` (default 1) to the series with these label values (in `labelNames` order). */
  inc(labels: readonly string[] = [], by = 1): void {
    const s = this.entry(labels);
    s.value += by;
  }

  /** Sets the series (gauges). */
  set(labels: readonly string[], value: number): void {
    this.entry(labels).value = value;
  }

  /** Current value of one series (0 if never touched). */
  get(labels: readonly string[] = []): number {
    return this.series.get(labels.join("\u0000"))?.value ?? 0;
  }

  /** Sum over every series. */
  total(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.value;
    return n;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    if (this.labelNames.length === 0 && this.series.size === 0) {
      out.push(`${this.name} 0`);
      return;
    }
    for (const s of this.series.values()) {
      const labels = this.labelNames.map((n, i) => `${n}="${escapeLabelValue(s.labels[i] ?? "")}"`).join(",");
      out.push(labels === "" ? `${this.name} ${s.value}` : `${this.name}{${labels}} ${s.value}`);
    }
  }

  private entry(labels: readonly string[]): { labels: readonly string[]; value: number } {
    if (labels.length !== this.labelNames.length) throw new RangeError(`${this.name}: expected ${this.labelNames.length} label values, got ${labels.length}`);
    const key = labels.join("\u0000");
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: [...labels], value: 0 };
      this.series.set(key, s);
    }
    return s;
  }
}

/** Every series the RPC server exports. Inject one into `RpcServer` to read them in tests or share a registry. */
export class RpcMetrics {
  /** Responses sent, by route name (see RouteName) and HTTP status. */
  readonly requests = new MetricFamily("quire_rpc_requests_total", "HTTP responses sent, by route and status.", "counter", ["route", "status"]);
  /** Requests whose client went away before the answer. */
  readonly aborted = new MetricFamily("quire_rpc_requests_aborted_total", "Requests aborted by the client before the response, by route.", "counter", ["route"]);
  /** Request bodies refused (too large, wrong type, bad JSON or hex, server busy), by error code. */
  readonly rejectedBodies = new MetricFamily("quire_rpc_rejected_bodies_total", "Request bodies refused, by error code.", "counter", ["code"]);
  /** Handler failures turned into 500 INTERNAL: should stay 0. */
  readonly handlerErrors = new MetricFamily("quire_rpc_handler_errors_total", "Exceptions in request handlers or the node API (answered 500 INTERNAL), by route.", "counter", ["route"]);
  /** Requests answered 408/503 by the request timeout. */
  readonly timeouts = new MetricFamily("quire_rpc_request_timeouts_total", "Requests expired by the request timeout (slow upload or node not answering), by route.", "counter", ["route"]);
  /** Transactions offered through POST /v1/tx and /v1/txs, by outcome. */
  readonly txs = new MetricFamily("quire_rpc_txs_total", "Transactions offered to the mempool through the RPC, by outcome.", "counter", ["outcome"]);
  readonly streamSubscribers = new MetricFamily("quire_rpc_stream_subscribers", "Open /v1/stream subscriptions.", "gauge");
  readonly streamOpened = new MetricFamily("quire_rpc_stream_subscriptions_total", "/v1/stream subscriptions opened.", "counter");
  /** Upgrades refused because the subscriber limit was reached. */
  readonly streamRefused = new MetricFamily("quire_rpc_stream_refused_total", "/v1/stream upgrades refused at the subscriber limit.", "counter");
  /** Subscribers the server disconnected, by reason (`slow`: over the buffering limit; `stopping`). */
  readonly streamDropped = new MetricFamily("quire_rpc_stream_dropped_total", "/v1/stream subscribers disconnected by the server, by reason.", "counter", ["reason"]);
  readonly streamFrames = new MetricFamily("quire_rpc_stream_frames_total", "Block frames sent to /v1/stream subscribers.", "counter");
  /** Exceptions caught in the committed-block listener (should stay 0). */
  readonly streamErrors = new MetricFamily("quire_rpc_stream_errors_total", "Exceptions caught while publishing a committed block to the stream.", "counter");

  private readonly families: readonly MetricFamily[] = [
    this.requests,
    this.aborted,
    this.rejectedBodies,
    this.handlerErrors,
    this.timeouts,
    this.txs,
    this.streamSubscribers,
    this.streamOpened,
    this.streamRefused,
    this.streamDropped,
    this.streamFrames,
    this.streamErrors,
  ];

  /** The exposition text of every family, newline-terminated. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families) f.render(out);
    return `${out.join("\n")}\n`;
  }
}
