#!/usr/bin/env bash
# Issue 21's benchmark, side by side in one run: the `one` model on 1 node on sled, then on
# 1, 2 and 3 nodes sharing one PostgreSQL database (Debian's, started by cluster.sh).
#
#   tests/postgres/bench.sh [N]      # N instances per configuration (default 5000)
#
# BENCH_PROFILE=release (default) or debug. Prints one JSON line per configuration and stops
# the database afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
n="${1:-5000}"
profile="${BENCH_PROFILE:-release}"
flag=()
[[ "$profile" == "release" ]] && flag=(--release)
cargo build --locked "${flag[@]}" -p baton --bin baton -p baton-tests --bin bench-cluster >&2
target="${CARGO_TARGET_DIR:-target}/$profile"
echo "load before: $(uptime)" >&2
url="$(tests/postgres/cluster.sh start /tmp/baton-pg-bench 54339 | tail -1)"
trap 'tests/postgres/cluster.sh stop /tmp/baton-pg-bench' EXIT
"$target/bench-cluster" 1 "$n" sled
for nodes in 1 2 3; do
  BATON_TEST_DATABASE="$url" "$target/bench-cluster" "$nodes" "$n"
done
echo "load after: $(uptime)" >&2
