import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import type { BenchFlags, BenchOptions, BenchSuite } from "../../bench/harness.js";
import { formatTable, writeJson } from "../../bench/harness.js";

// Loaded on demand: `quire bench crypto` never loads BLS or uWS.
const SUITES: Record<string, () => Promise<BenchSuite>> = {
  crypto: async () => (await import("../../bench/crypto.js")).suite,
  bls: async () => (await import("../../bench/bls.js")).suite,
  wire: async () => (await import("../../bench/wire.js")).suite,
  net: async () => (await import("../../bench/net.js")).suite,
  chain: async () => (await import("../../bench/chain.js")).suite,
  rpc: async () => (await import("../../bench/rpc.js")).suite,
  paracross: async () => (await import("../../bench/paracross.js")).suite,
  "commit-proof": async () => (await import("../../bench/commitProof.js")).suite,
};

const COMMON_FLAGS = ["json", "time", "iterations", "filter"];

/**
 * `quire bench <suite> [--json FILE] [--time MS] [--iterations N] [--filter TEXT]`; `quire bench faults …` and
 * `quire bench catchup …` are not micro-benchmark suites but runs of real node processes (faultBench.ts,
 * benchCatchUp.ts).
 */
export async function benchCommand(argv: string[]): Promise<number> {
  const [suiteName, ...rest] = argv;
  if (suiteName === "faults") return (await import("./faultBench.js")).faultBenchCommand(rest);
  if (suiteName === "catchup") return (await import("./benchCatchUp.js")).benchCatchUpCommand(rest);
  if (suiteName === "floor") return (await import("./costFloor.js")).benchFloorCommand(rest);
  if (suiteName === "cluster") return (await import("./benchCluster.js")).benchClusterCommand(rest);
  if (suiteName === "para") return (await import("./benchPara.js")).benchParaCommand(rest);
  if (suiteName === "xshard") return (await import("./benchXShard.js")).benchXShardCommand(rest);
  if (suiteName === "followers") return (await import("./benchFollowers.js")).benchFollowersCommand(rest);
  const suite = suiteName === undefined ? undefined : SUITES[suiteName];
  if (suite === undefined) throw new UsageError(`usage: quire bench <${Object.keys(SUITES).join("|")}> [--json FILE] [--time MS] [--filter TEXT] | quire bench faults [--help] | quire bench catchup [--blocks N] [--txs T] [--size B] [--json FILE] | quire bench floor [--help] | quire bench cluster [--help] | quire bench para [--help] | quire bench xshard [--help] | quire bench followers [--help]`);
  const loaded = await suite();
  const args = parseArgs(rest);
  checkFlags(args, [...COMMON_FLAGS, ...loaded.flags]);
  const filter = stringFlag(args, "filter");
  const opts: BenchOptions = {
    timeMs: intFlag(args, "time", 500)!,
    iterations: intFlag(args, "iterations", 10)!,
    ...(filter !== undefined ? { filter } : {}),
  };
  const flags: BenchFlags = {
    int: (name, def) => intFlag(args, name, def)!,
    choice: (name, choices, def) => choiceFlag(args, name, choices, def),
  };
  const rows = await loaded.run(flags, opts);
  process.stdout.write(formatTable(rows));
  const json = stringFlag(args, "json");
  if (json !== undefined) writeJson(json, suiteName!, rows);
  return 0;
}
