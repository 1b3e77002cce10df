/**
 * Shared pieces of the adversarial suite (test/adversarial/*.test.ts): each test starts a real network
 * (test/e2e/support/network.ts), runs one attack from one separate process (a script under ./attacks, started with
 * `spawnAttack`), and checks the issue's promises while it runs: honest clients are served, honest validators stay
 * linked, and the commit rate stays at least `MIN_RATE_RATIO` of the same network's rate just before the attack.
 *
 * Attackers connect from their own loopback address (`ATTACKER_HOST`, any 127/8 address works on Linux without
 * setup), so per-source limits can tell them from the honest validators and clients on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { heightsOf, logs, spawnTracked } from "../e2e/support/network.js";
import type { NodeProcess, TestNetwork } from "../e2e/support/network.js";

/** The address attack processes bind their sockets to. */
export const ATTACKER_HOST = "127.0.0.66";
/** The issue's target: the commit rate under attack is at least this share of the rate without it. */
export const MIN_RATE_RATIO = 0.7;

/** Starts `attacks/NAME.js` (compiled from ./attacks/NAME.ts) with `args`; stopped by `stopAll` like any process. */
export function spawnAttack(name: string, args: readonly string[]): NodeProcess {
  const script = fileURLToPath(new URL(`./attacks/${name}.js`, import.meta.url));
  return spawnTracked(process.execPath, [script, ...args]);
}

/** Committed blocks per second over `ms`, as the median over `nodes` (each node's own height delta). */
export async function commitRate(net: TestNetwork, nodes: readonly number[], ms: number): Promise<number> {
  const before = await heightsOf(net, nodes);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  const after = await heightsOf(net, nodes);
  const secs = (Date.now() - t0) / 1000;
  const rates = after.map((h, i) => (h - before[i]!) / secs).sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

export interface RateComparison {
  readonly baseline: number;
  readonly attacked: number;
  readonly ratio: number;
}

/**
 * Measures the commit rate for `windowMs`, runs `attack()` (it starts the attack and resolves once the attack is
 * under way), measures again for `windowMs`, and asserts the ratio is at least MIN_RATE_RATIO. Returns both figures
 * (tests print them; the closing note and README quote them).
 */
export async function assertRateHolds(net: TestNetwork, nodes: readonly number[], windowMs: number, attack: () => Promise<void>): Promise<RateComparison> {
  const baseline = await commitRate(net, nodes, windowMs);
  assert.ok(baseline > 0, `no commits before the attack\n${logs(net)}`);
  await attack();
  const attacked = await commitRate(net, nodes, windowMs);
  const ratio = attacked / baseline;
  assert.ok(ratio >= MIN_RATE_RATIO, `commit rate under attack ${attacked.toFixed(1)}/s is ${(100 * ratio).toFixed(0)} % of ${baseline.toFixed(1)}/s before it (need >= ${100 * MIN_RATE_RATIO} %)\n${logs(net)}`);
  return { baseline, attacked, ratio };
}

/** The latest line an attack printed, parsed as JSON (attack scripts print a one-line report each second). */
export function attackReport<T>(p: NodeProcess): T | undefined {
  const line = p.output.trim().split("\n").at(-1);
  try {
    return line === undefined || line === "" ? undefined : (JSON.parse(line) as T);
  } catch {
    return undefined;
  }
}
