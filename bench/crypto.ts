import type { ParsedArgs } from "../src/cli/args.js";
import type { BenchOptions, BenchResult } from "./harness.js";
// Placeholder until the crypto benchmark lands (issue 2).
export async function cryptoSuite(_args: ParsedArgs, _opts: BenchOptions): Promise<BenchResult[]> {
  return [];
}
