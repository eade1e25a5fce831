#!/usr/bin/env bash
# The chaos run (issue 20, point 2): SIGKILLs `baton serve` KILLS times (default 100) under
# mixed REST load and checks after every restart that nothing acknowledged is lost, no
# external task was delivered twice while locked, no timer fired twice and history matches
# runtime. Prints the summary and exits non-zero if any violation was found.
#
#   tests/chaos/run.sh [kills] [seed]
#
# The driver is `baton_tests::chaos` (tests/src/chaos); CI runs the same test with 5 kills.
set -euo pipefail
cd "$(dirname "$0")/../.."
kills="${1:-100}"
export BATON_CHAOS_KILLS="$kills"
if [ -n "${2:-}" ]; then
    export BATON_CHAOS_SEED="$2"
fi
cargo build --locked -p baton --bin baton
exec cargo test --locked -p baton-tests --test e2e \
    engine_chaos::sigkills_under_mixed_load_lose_nothing_and_run_nothing_twice \
    -- --exact --nocapture
