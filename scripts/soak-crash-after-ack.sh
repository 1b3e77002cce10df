#!/usr/bin/env bash
# The issue 11 soak of "acknowledged means durable": 1,000 txs acknowledged with 202, kill -9 of that node at once,
# restart, all must commit — RUNS rounds (default 20) in one network (test/adversarial/crashAfterAck.test.ts).
# Builds first. Usage: scripts/soak-crash-after-ack.sh [RUNS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
node scripts/build.mjs
QUIRE_CRASH_RUNS="${1:-20}" node scripts/test.mjs adversarial/crashAfterAck
