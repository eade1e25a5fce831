#!/usr/bin/env bash
# A tiny run of the peer benchmark (10 instances per model, dev profile, results under
# tests/bench/results/, docs untouched) so CI notices when the harness rots.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_N=${BENCH_N:-10} BENCH_PROFILE=${BENCH_PROFILE:-dev} BENCH_WRITE_DOCS=0 \
  BENCH_OUT="$HERE/results/smoke" "$HERE/run.sh"
# bench-wasm (issue 5's per-task overhead and fuel/epoch cost), tiny.
dir=debug
[ "${BENCH_PROFILE:-dev}" = release ] && dir=release
BENCH_EXECUTIONS=60 BENCH_ROUNDS=100000 "${CARGO_TARGET_DIR:-$HERE/../../target}/$dir/bench-wasm"
# bench-queries (issue 14's twenty Cockpit/client queries), tiny.
BENCH_QUERY_INSTANCES=400 BENCH_QUERY_REPS=2 "${CARGO_TARGET_DIR:-$HERE/../../target}/$dir/bench-queries"
