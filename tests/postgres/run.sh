#!/usr/bin/env bash
# The engine test suites against PostgreSQL (issue 21): starts a throwaway cluster
# (cluster.sh, installing Debian's postgresql if it is missing), runs the host and e2e suites
# with BATON_TEST_DATABASE set (every engine they open keeps its store there, a schema per data
# directory), then the tests that need several nodes or a database (`engine_cluster`, run with
# --ignored: 3 nodes, 32 workers, 10,000 tasks, a SIGKILL; and `baton migrate-store`), and stops
# the cluster.
#
#   tests/postgres/run.sh            # uses the dev-profile build (cargo builds what is missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

dir="${BATON_PG_DIR:-/tmp/baton-pg-tests}"
port="${BATON_PG_PORT:-54331}"
url="$(tests/postgres/cluster.sh start "$dir" "$port" | tail -1)"
trap 'tests/postgres/cluster.sh stop "$dir"' EXIT
export BATON_TEST_DATABASE="$url"
echo "engine suites on $url"
# The same build as .ci/run's (one feature set for the whole workspace, so nothing is compiled
# twice; a no-op after that step).
cargo build --workspace --locked --bins --examples --tests
# Both parts run even when the first fails, so one run shows every failure.
rc=0
cargo test --workspace --locked || rc=1
cargo test --workspace --locked --test e2e engine_cluster -- --ignored --nocapture --test-threads 1 || rc=1
exit "$rc"
