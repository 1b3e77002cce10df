import type { BenchCase } from "../harness.js";
// Placeholder: replaced by the bitmap benchmark cases (issue 2).
export async function bitmapCases(): Promise<BenchCase[]> {
  return [];
}
