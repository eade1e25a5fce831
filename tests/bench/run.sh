#!/usr/bin/env bash
# Issue 7: baton side by side with bpmn-engine (npm) and SpiffWorkflow (PyPI) on the same four
# models. Installs the pinned peers into gitignored folders, runs everything, and writes the
# table into docs/benchmarks.md (between the peers markers) plus docs/benchmarks-peers.svg.
#
#   tests/bench/run.sh                 # N=500 instances per model (loop100: N/10), release
#   BENCH_N=50 tests/bench/run.sh      # smaller
#   BENCH_PROFILE=dev tests/bench/run.sh
#   BENCH_ENGINE=1 tests/bench/run.sh  # also run bench-engine (issue 3 figures) first
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${BENCH_N:-500}
PROFILE=${BENCH_PROFILE:-release}
OUT=${BENCH_OUT:-$HERE/results}
WRITE_DOCS=${BENCH_WRITE_DOCS:-1}
MODES=${BENCH_MODES:-"wasm remote remote-relaxed"}
mkdir -p "$OUT"
cd "$ROOT"

if [ "$PROFILE" = release ]; then flag=--release; dir=release; else flag=; dir=debug; fi
# One invocation: cargo unifies features only across the packages of one build, so building
# baton alone and then the benches would compile wasmtime and its dependencies twice.
cargo build $flag -p baton -p baton-tests --bin baton --bin bench-engine --bin bench-baton --bin bench-wasm
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$dir"

# Pinned peers, installed where git ignores them.
(cd "$HERE/peers/node" && npm install --no-audit --no-fund --silent)
if [ ! -x "$HERE/peers/python/.venv/bin/python" ]; then
  python3 -m venv "$HERE/peers/python/.venv"
fi
"$HERE/peers/python/.venv/bin/pip" install -q -r "$HERE/peers/python/requirements.txt"

if [ "${BENCH_ENGINE:-0}" = 1 ]; then
  "$BIN/bench-engine" | tee "$OUT/engine.md"
fi

"$BIN/bench-engine" models "$OUT/models"
RESULTS="$OUT/peers.jsonl"
: > "$RESULTS"
for model in one seq10 par10 loop100; do
  n=$N
  [ "$model" = loop100 ] && n=$(( N / 10 > 1 ? N / 10 : 1 ))
  file="$OUT/models/$model.bpmn"
  echo "== $model x $n" >&2
  node "$HERE/peers/node/bench.mjs" "$file" "$model" "$n" | tee -a "$RESULTS"
  "$HERE/peers/python/.venv/bin/python" "$HERE/peers/python/bench.py" "$file" "$model" "$n" | tee -a "$RESULTS"
  for mode in $MODES; do
    "$BIN/bench-baton" "$file" "$model" "$n" "$mode" | tee -a "$RESULTS"
  done
done

machine="$(nproc) vCPU, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
versions="rustc $(rustc --version | cut -d' ' -f2), node $(node --version), $(python3 --version)"
if [ "$WRITE_DOCS" = 1 ]; then
  python3 "$HERE/report.py" "$RESULTS" --docs "$ROOT/docs/benchmarks.md" --svg "$ROOT/docs/benchmarks-peers.svg" \
    --command "BENCH_N=$N BENCH_PROFILE=$PROFILE tests/bench/run.sh" --machine "$machine" --versions "$versions"
else
  python3 "$HERE/report.py" "$RESULTS" --svg "$OUT/peers.svg" --machine "$machine" --versions "$versions"
fi
