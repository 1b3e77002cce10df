import type { BenchCase } from "./harness.js";
import type { BlsBackend } from "../src/crypto/bls/backend.js";
// Placeholder until qc.ts lands (needs the bitmap module).
export async function qcCases(_b: BlsBackend, _sizes: number[]): Promise<BenchCase[]> {
  return [];
}
