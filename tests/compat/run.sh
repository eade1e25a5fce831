#!/usr/bin/env bash
# Compatibility tests: real Camunda clients (PyPI camunda-external-task-client-python3 and
# pycamunda, npm camunda-external-task-client-js; pinned in requirements.txt and
# js/package-lock.json) against the real `baton serve` binary.
#
#   BATON_BIN=target/debug/baton tests/compat/run.sh [extra pytest args]
#
# Sets up tests/compat/.venv and tests/compat/js/node_modules (idempotent: redone only when the
# pins change; quiet unless something fails), then runs pytest and node's test runner, and exits
# non-zero if either fails or runs no test.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

bin="${BATON_BIN:-target/debug/baton}"
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
if [[ ! -x "$bin" ]]; then
  echo "compat: baton binary not found at $bin (build it: cargo build -p baton --bin baton)" >&2
  exit 1
fi
export BATON_BIN="$bin"

# Run a setup command quietly; on failure show its output and stop.
quiet() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    echo "compat: setup step failed: $*" >&2
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

hash_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# --- Python: .venv from requirements.txt -------------------------------------------------------
py_stamp=".venv/.requirements.sha256"
py_hash="$(hash_of requirements.txt)"
if [[ ! -x .venv/bin/python || ! -f "$py_stamp" || "$(cat "$py_stamp")" != "$py_hash" ]]; then
  rm -rf .venv
  quiet python3 -m venv .venv
  quiet .venv/bin/python -m pip install --disable-pip-version-check --no-input -q -r requirements.txt
  echo "$py_hash" >"$py_stamp"
fi

# --- JavaScript: js/node_modules from package-lock.json ----------------------------------------
js_stamp="js/node_modules/.package-lock.sha256"
js_hash="$(hash_of js/package.json js/package-lock.json)"
if [[ ! -f "$js_stamp" || "$(cat "$js_stamp")" != "$js_hash" ]]; then
  quiet npm ci --prefix js --no-audit --no-fund --loglevel=error
  echo "$js_hash" >"$js_stamp"
fi

# --- run ----------------------------------------------------------------------------------------
status=0

echo "compat: pytest (camunda-external-task-client-python3, pycamunda) against $BATON_BIN"
set +e
.venv/bin/python -m pytest "$@"
py_rc=$?
set -e
if [[ $py_rc -eq 5 ]]; then
  echo "compat: pytest collected no tests (exit 5): treating as a failure" >&2
  status=1
elif [[ $py_rc -ne 0 ]]; then
  echo "compat: pytest failed (exit $py_rc)" >&2
  status=1
fi

echo "compat: node --test (camunda-external-task-client-js) against $BATON_BIN"
shopt -s nullglob
js_tests=(js/test/*.test.js)
shopt -u nullglob
if [[ ${#js_tests[@]} -eq 0 ]]; then
  echo "compat: no JS test files found under js/test" >&2
  status=1
else
  set +e
  (cd js && node --test "${js_tests[@]#js/}")
  js_rc=$?
  set -e
  if [[ $js_rc -ne 0 ]]; then
    echo "compat: node tests failed (exit $js_rc)" >&2
    status=1
  fi
fi

if [[ $status -eq 0 ]]; then
  echo "compat: all compatibility tests passed"
fi
exit "$status"
