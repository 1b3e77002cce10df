import { checkFlags, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import type { ParsedArgs } from "./args.js";
import type { BenchOptions, BenchResult } from "../../bench/harness.js";
import { formatTable, writeJson } from "../../bench/harness.js";

/** What a benchmark module in bench/ exports as `suite`: its own flags, and a runner that builds and runs its cases. */
export interface BenchSuite {
  flags: readonly string[];
  run(args: ParsedArgs, opts: BenchOptions): Promise<BenchResult[]>;
}

// Loaded on demand: `quire bench crypto` never loads BLS or uWS.
const SUITES: Record<string, () => Promise<BenchSuite>> = {
  crypto: async () => (await import("../../bench/crypto.js")).suite,
  bls: async () => (await import("../../bench/bls.js")).suite,
  wire: async () => (await import("../../bench/wire.js")).suite,
  net: async () => (await import("../../bench/net.js")).suite,
  chain: async () => (await import("../../bench/chain.js")).suite,
};

const COMMON_FLAGS = ["json", "time", "iterations", "filter"];

/** `quire bench <suite> [--json FILE] [--time MS] [--iterations N] [--filter TEXT]` */
export async function benchCommand(argv: string[]): Promise<number> {
  const [suiteName, ...rest] = argv;
  const suite = suiteName === undefined ? undefined : SUITES[suiteName];
  if (suite === undefined) throw new UsageError(`usage: quire bench <${Object.keys(SUITES).join("|")}> [--json FILE] [--time MS] [--filter TEXT]`);
  const loaded = await suite();
  const args = parseArgs(rest);
  checkFlags(args, [...COMMON_FLAGS, ...loaded.flags]);
  const filter = stringFlag(args, "filter");
  const opts: BenchOptions = {
    timeMs: intFlag(args, "time", 500)!,
    iterations: intFlag(args, "iterations", 10)!,
    ...(filter !== undefined ? { filter } : {}),
  };
  const rows = await loaded.run(args, opts);
  process.stdout.write(formatTable(rows));
  const json = stringFlag(args, "json");
  if (json !== undefined) writeJson(json, suiteName!, rows);
  return 0;
}
