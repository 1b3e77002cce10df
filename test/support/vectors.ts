import { fileURLToPath } from "node:url";
import { join } from "node:path";

// Tests run compiled from dist/test/...; the vectors stay in the source tree, so resolve from the repo root.
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** Absolute path of a file under test/vectors/. */
export function vectorPath(...parts: string[]): string {
  return join(repoRoot, "test", "vectors", ...parts);
}
