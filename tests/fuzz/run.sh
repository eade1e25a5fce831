#!/usr/bin/env bash
# Build and run baton's fuzz targets for a bounded time each; exit non-zero if any crashed.
#
#   tests/fuzz/run.sh [seconds-per-target]      (default 60)
#
# Environment:
#   FUZZ_TARGETS="expr timer"  run only these targets (default: all built ones)
#   FUZZ_HOST=0                skip the host-side targets (they link wasmtime; see README.md)
#
# Installs the pinned cargo-fuzz into tests/fuzz/.tools on first use (git-ignored). Builds
# with RUSTC_BOOTSTRAP=1 because libFuzzer's coverage flags (-Zsanitizer... / sancov) are
# nightly-only options of the stable compiler. Each target reads its committed seeds
# (seeds/<target>, including every input that once crashed it) plus a working corpus
# (corpus/<target>, git-ignored, grows across local runs); a crash leaves its input in
# artifacts/<target>/ and fails the script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

secs="${1:-60}"
cargo_fuzz_version="0.13.1"
tools="$here/.tools"
cargo_fuzz="$tools/bin/cargo-fuzz"

if ! "$cargo_fuzz" --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
  echo "installing cargo-fuzz $cargo_fuzz_version into $tools"
  cargo install --locked "cargo-fuzz@$cargo_fuzz_version" --root "$tools"
fi

export RUSTC_BOOTSTRAP=1
# No sanitizer: the code under test is safe Rust, so what the fuzzer can find is panics,
# stack overflows, hangs and runaway allocations, which libFuzzer catches by itself; ASan
# would halve the executions per second and double the build. Debug assertions on (-a) so
# an integer overflow is a crash here as it is in a debug build.
build_flags=(--sanitizer none --debug-assertions)
bpmn_targets=(bpmn_xml dmn_xml expr timer)
host_targets=(host_variables host_query host_codec host_multipart host_wasm_upload)
if [[ "${FUZZ_HOST:-1}" != "0" ]]; then
  build_flags+=(--features host)
  all=("${bpmn_targets[@]}" "${host_targets[@]}")
else
  all=("${bpmn_targets[@]}")
fi
read -r -a targets <<<"${FUZZ_TARGETS:-${all[*]}}"

t0=$SECONDS
"$cargo_fuzz" build "${build_flags[@]}"
echo "build: $((SECONDS - t0)) s"

results=()
crashed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
  log="artifacts/$t/last-run.log"
  echo "==== fuzz $t for ${secs}s ===="
  rc=0
  # -timeout: one input taking 10 s is a hang (a crash); -rss_limit_mb also bounds a single
  # allocation (malloc_limit_mb defaults to it), so an input that makes the parser allocate
  # gigabytes is reported rather than swapping the machine.
  "$cargo_fuzz" run "${build_flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || rc=$?
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')"
  if [[ $rc -ne 0 ]]; then
    crashed+=("$t")
    tail -40 "$log"
    results+=("$(printf '%-18s %12s execs  CRASH (see %s)' "$t" "$execs" "$log")")
  else
    results+=("$(printf '%-18s %12s execs  ok' "$t" "$execs")")
  fi
done

echo
echo "==== fuzz summary (${secs}s per target, total $((SECONDS - t0)) s) ===="
printf '  %s\n' "${results[@]}"
if [[ ${#crashed[@]} -gt 0 ]]; then
  echo "crashed: ${crashed[*]} (inputs in tests/fuzz/artifacts/<target>/)"
  exit 1
fi
