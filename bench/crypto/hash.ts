import type { BenchCase } from "../harness.js";
// Placeholder: replaced by the hash benchmark cases (issue 2).
export async function hashCases(): Promise<BenchCase[]> {
  return [];
}
