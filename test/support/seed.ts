import { SeededRng, freshSeed } from "../../src/util/rng.js";

/**
 * A seeded RNG for one randomised test. The seed comes from QUIRE_SEED when set (to replay a failure), otherwise
 * it is fresh; it is always printed through the test context's diagnostic so a failing run can be replayed.
 */
export function seededRng(t: { diagnostic(msg: string): void }, label = "seed"): SeededRng {
  const env = process.env["QUIRE_SEED"];
  if (env !== undefined && env !== "" && !/^\d+$/.test(env)) throw new Error(`QUIRE_SEED must be a non-negative integer, got "${env}"`);
  const seed = env !== undefined && env !== "" ? Number(env) >>> 0 : freshSeed();
  t.diagnostic(`${label}=${seed} (replay with QUIRE_SEED=${seed})`);
  return new SeededRng(seed);
}
