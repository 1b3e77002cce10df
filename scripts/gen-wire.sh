#!/usr/bin/env bash
# Regenerates src/wire/generated/ from src/wire/quire.fbs (`npm run gen:wire`). The output is committed; never edit it.
#
# flatc comes from Debian's flatbuffers-compiler (2.0.8; installed here if missing). Its TypeScript output imports
# sibling files without an extension ('../../quire/wire/vote'), which NodeNext module resolution rejects, so the
# post-processing step below appends '.js' to every relative import. Nothing else is changed: the 2.0.8 output
# compiles as-is against the flatbuffers 25.9.23 runtime under our strict tsconfig (checked by `npm run build`).
#
# `--check` regenerates into a temporary folder and fails if the committed files differ (used by the wire tests).
set -euo pipefail
check=0
if [ "${1:-}" = "--check" ]; then check=1; fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
schema="$root/src/wire/quire.fbs"
out="$root/src/wire/generated"

if ! command -v flatc >/dev/null 2>&1; then
  if [ "$check" -eq 1 ]; then echo "gen-wire: flatc not installed, cannot check" >&2; exit 3; fi
  echo "gen-wire: flatc not found, installing flatbuffers-compiler" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get update && apt-get install -y flatbuffers-compiler
  else sudo apt-get update && sudo apt-get install -y flatbuffers-compiler; fi
fi
echo "gen-wire: $(flatc --version)" >&2

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
flatc --ts -o "$tmp" "$schema"

# Relative imports get a .js suffix (NodeNext). Matches: from './x' / from "../../x".
find "$tmp" -name '*.ts' -print0 | xargs -0 sed -i -E "s#(from +['\"])(\.\.?/[^'\"]+)(['\"])#\1\2.js\3#g"

if [ "$check" -eq 1 ]; then
  if diff -r "$tmp" "$out" >&2; then echo "gen-wire: src/wire/generated/ is up to date" >&2; exit 0; fi
  echo "gen-wire: src/wire/generated/ differs from quire.fbs; run npm run gen:wire" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out"
cp -R "$tmp"/. "$out"/
echo "gen-wire: wrote $(find "$out" -name '*.ts' | wc -l) files to src/wire/generated/" >&2
