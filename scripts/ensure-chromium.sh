#!/usr/bin/env bash
# Makes sure a headless Chromium is on the machine for the dashboard's browser test (test/e2e/dashboard.test.ts) and
# `scripts/dashboard-soak.mjs`: Debian's chromium-headless-shell (falling back to chromium), installed with apt-get
# when no binary is found. Prints the binary's path. Nothing is downloaded outside Debian's packages, nothing cached
# outside the system's own package manager. Needs root (CI runs as root) when it has to install, and a Debian machine
# (Ubuntu ships Chromium as a snap only: set CHROMIUM_PATH to a Chromium binary there).
set -euo pipefail

find_binary() {
  for b in "${CHROMIUM_PATH:-}" /usr/bin/chromium-headless-shell /usr/lib/chromium/chrome-headless-shell /usr/bin/chromium /usr/lib/chromium/chromium; do
    if [ -n "$b" ] && [ -x "$b" ]; then
      echo "$b"
      return 0
    fi
  done
  return 1
}

if find_binary; then exit 0; fi

export DEBIAN_FRONTEND=noninteractive
# `Candidate:` below is matched in English; wait for a concurrent apt run instead of failing on its lock.
export LC_ALL=C
APT_LOCK=(-o DPkg::Lock::Timeout=120)
apt-get "${APT_LOCK[@]}" update -qq >&2
for pkg in chromium-headless-shell chromium; do
  # Read the whole answer first: `grep -q` closing the pipe early would fail the pipeline under pipefail.
  policy="$(apt-cache policy "$pkg" 2>/dev/null || true)"
  if [[ "$policy" == *"Candidate: "[0-9]* ]]; then
    apt-get "${APT_LOCK[@]}" install -y -qq --no-install-recommends "$pkg" >&2
    break
  fi
done
find_binary || { echo "ensure-chromium: no chromium binary after install" >&2; exit 1; }
