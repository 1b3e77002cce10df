/** Reading the sources as text, for the tests that keep DESIGN §2's layer rules true. */
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests run from dist/test/…, sources are read from the checkout). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Every `.ts` file under `dir`, recursively. */
export function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listSources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Source without comments and string contents (so that documentation may mention Date or setTimeout). */
export function codeOnly(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/`(?:\\.|[^`\\])*`/g, "``")
    .replace(/"(?:\\.|[^"\\])*"/g, '""')
    .replace(/'(?:\\.|[^'\\])*'/g, "''");
}

/** The module specifiers a source imports or re-exports, static and dynamic. */
export function importsOf(src: string): string[] {
  return [...src.matchAll(/(?:import|export)[^;]*?from\s+"([^"]+)"/g), ...src.matchAll(/import\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]!);
}
