#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in dist/. `npm run build` (run by test/bench/start) creates it.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("quire: not built yet; run `npm run build` first\n");
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
