import type { BenchSuite } from "../src/cli/bench.js";
// Placeholder: replaced by the wire benchmark suite.
export const suite: BenchSuite = {
  flags: [],
  async run() {
    throw new Error("quire bench wire: not implemented yet");
  },
};
