import type { BenchSuite } from "../src/cli/bench.js";
// Placeholder: replaced by the bls benchmark suite.
export const suite: BenchSuite = {
  flags: [],
  async run() {
    throw new Error("quire bench bls: not implemented yet");
  },
};
