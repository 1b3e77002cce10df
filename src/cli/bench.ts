import { checkFlags, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import type { ParsedArgs } from "./args.js";
import type { BenchOptions, BenchResult } from "../../bench/harness.js";
import { formatTable, writeJson } from "../../bench/harness.js";

/** A benchmark suite module in bench/: builds its cases (suite-specific flags in `args`) and runs them. */
export type BenchSuite = (args: ParsedArgs, opts: BenchOptions) => Promise<BenchResult[]>;

const SUITES: Record<string, { flags: string[]; load: () => Promise<BenchSuite> }> = {
  crypto: { flags: [], load: async () => (await import("../../bench/crypto.js")).cryptoSuite },
};

const COMMON_FLAGS = ["json", "time", "iterations", "filter"];

/** `quire bench <suite> [--json FILE] [--time MS] [--iterations N] [--filter TEXT]` */
export async function benchCommand(argv: string[]): Promise<number> {
  const [suiteName, ...rest] = argv;
  const suite = suiteName === undefined ? undefined : SUITES[suiteName];
  if (suite === undefined) throw new UsageError(`usage: quire bench <${Object.keys(SUITES).join("|")}> [--json FILE] [--time MS] [--filter TEXT]`);
  const args = parseArgs(rest);
  checkFlags(args, [...COMMON_FLAGS, ...suite.flags]);
  const filter = stringFlag(args, "filter");
  const opts: BenchOptions = {
    timeMs: intFlag(args, "time", 500)!,
    iterations: intFlag(args, "iterations", 10)!,
    ...(filter !== undefined ? { filter } : {}),
  };
  const run = await suite.load();
  const rows = await run(args, opts);
  process.stdout.write(formatTable(rows));
  const json = stringFlag(args, "json");
  if (json !== undefined) writeJson(json, suiteName!, rows);
  return 0;
}
