import type { BenchSuite } from "../src/cli/bench.js";
// Placeholder: replaced by the net benchmark suite.
export const suite: BenchSuite = {
  flags: [],
  async run() {
    throw new Error("quire bench net: not implemented yet");
  },
};
