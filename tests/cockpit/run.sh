#!/usr/bin/env bash
# End-to-end tests of the cockpit in headless Chromium (called by .ci/run).
#
#   BATON_BIN=target/debug/baton tests/cockpit/run.sh
#
# Installs what it needs: Debian's chromium (apt-get) when /usr/bin/chromium is missing, and
# playwright-core (pinned in package-lock.json) into tests/cockpit/node_modules with `npm ci`.
# Screenshots land in artifacts/cockpit/ (CI keeps that folder).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [[ ! -x /usr/bin/chromium ]]; then
  echo "cockpit: installing Debian chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cd "$here"
npm ci --no-audit --no-fund --loglevel=error

export BATON_BIN="${BATON_BIN:-$repo/target/debug/baton}"
if [[ ! -x "$BATON_BIN" ]]; then
  echo "cockpit: building $BATON_BIN"
  (cd "$repo" && cargo build -p baton --bin baton)
fi
mkdir -p "$repo/artifacts/cockpit"
node --test --test-concurrency=1 cockpit.test.mjs
