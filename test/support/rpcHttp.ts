/** Small fetch helpers for the RPC tests. */
import assert from "node:assert/strict";
import { RpcServer } from "../../src/rpc/server.js";
import type { RpcLimits } from "../../src/rpc/server.js";
import { Registry } from "prom-client";
import { createRpcMetrics } from "../../src/rpc/metrics.js";
import type { RpcMetrics } from "../../src/rpc/metrics.js";
import { PromScrape } from "./promText.js";
import { FakeNodeApi } from "./fakeNodeApi.js";
import type { FakeNodeOptions } from "./fakeNodeApi.js";
import type { RpcLogger } from "../../src/rpc/api.js";
import type { Scheduler } from "../../src/util/clock.js";

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function http(base: string, method: string, path: string, opts: { body?: Uint8Array | string; type?: string; signal?: AbortSignal } = {}): Promise<Answer> {
  const init: RequestInit = { method };
  if (opts.body !== undefined) init.body = opts.body;
  if (opts.type !== undefined) init.headers = { "content-type": opts.type };
  if (opts.signal !== undefined) init.signal = opts.signal;
  const r = await fetch(base + path, init);
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, headers: r.headers, text, json };
}

/** Asserts a typed error response: exact status, exact code, a non-empty message, nothing else at the top level. */
export function assertError(a: Answer, status: number, code: string, extraKeys: string[] = []): void {
  assert.equal(a.status, status, `expected ${status} ${code}, got ${a.status} ${a.text.slice(0, 300)}`);
  assert.equal(a.headers.get("content-type"), "application/json");
  const doc = a.json as { error?: { code?: unknown; message?: unknown } };
  assert.equal(doc.error?.code, code, a.text.slice(0, 300));
  assert.equal(typeof doc.error?.message, "string");
  assert.ok((doc.error!.message as string).length > 0);
  assert.deepEqual(Object.keys(doc).sort(), ["error", ...extraKeys].sort());
}

/** A logger that records every error line (a test asserts on them) and fails loudly on nothing. */
export class RecordingLogger implements RpcLogger {
  readonly errors: { msg: string; fields?: Record<string, unknown> }[] = [];
  readonly warnings: string[] = [];
  debug(): void {}
  warn(msg: string): void {
    this.warnings.push(msg);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.errors.push(fields === undefined ? { msg } : { msg, fields });
  }
}

export interface Harness {
  server: RpcServer;
  api: FakeNodeApi;
  metrics: RpcMetrics;
  logger: RecordingLogger;
  base: string;
  /** A counter's value as a scraper reads it (0 for a series never created; throws for an unknown family). */
  count(name: string, labels?: Record<string, string>): Promise<number>;
  /** Sum over every series of a family, as a scraper reads it. */
  total(name: string): Promise<number>;
}

/** Starts an RpcServer on 127.0.0.1 with an ephemeral port in front of a fresh fake node. */
export async function startHarness(opts: { limits?: Partial<RpcLimits>; fake?: FakeNodeOptions; scheduler?: Scheduler } = {}): Promise<Harness> {
  const api = new FakeNodeApi(opts.fake);
  // One registry for the fake node's series and the server's, as QuireNode shares one.
  const registry = new Registry();
  api.registerMetrics(registry);
  const metrics = createRpcMetrics(registry);
  const logger = new RecordingLogger();
  const modules = { api, metrics, logger, ...(opts.scheduler === undefined ? {} : { scheduler: opts.scheduler }) };
  const server = new RpcServer({ host: "127.0.0.1", port: 0, ...(opts.limits === undefined ? {} : { limits: opts.limits }) }, modules);
  await server.start();
  return {
    server,
    api,
    metrics,
    logger,
    base: server.url,
    count: async (name, labels = {}) => (await scrapeOne(registry, name)).count(name, labels),
    total: async (name) => (await scrapeOne(registry, name)).total(name),
  };
}

/**
 * Renders one family, so reading a server counter never runs the fake node's collector (which may be switched to
 * throw or hang), and parses it as a scraper would.
 */
async function scrapeOne(registry: Registry, name: string): Promise<PromScrape> {
  if (registry.getSingleMetric(name) === undefined) throw new Error(`no metric ${name} on the registry`);
  return new PromScrape(`${await registry.getSingleMetricAsString(name)}\n`);
}

/** Waits (event loop turns, bounded) until `cond()` holds; for counters updated by the server after a response. */
export async function eventually(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
