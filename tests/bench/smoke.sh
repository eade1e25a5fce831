#!/usr/bin/env bash
# A tiny run of the peer benchmark (5 instances per model, dev profile, results under
# tests/bench/results/, docs untouched) so CI notices when the harness rots.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_N=${BENCH_N:-10} BENCH_PROFILE=${BENCH_PROFILE:-dev} BENCH_WRITE_DOCS=0 \
  BENCH_OUT="$HERE/results/smoke" exec "$HERE/run.sh"
