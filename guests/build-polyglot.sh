#!/usr/bin/env bash
# Builds the polyglot `stock-check` guests into guests/target/polyglot/:
#   stock_check_py.wasm  (Python, PyPI componentize-py==0.25.1)
#   stock_check_js.wasm  (JavaScript, npm @bytecodealliance/componentize-js@0.23.0)
# The pinned tools are installed into guests/.tools/ (git-ignored) on first use.
# Needs python3 (with venv) and node/npm. Each build takes about a minute on 2 vCPUs.
# Then: cargo test -p baton-tests --test e2e wasm_runtime::polyglot -- --ignored --nocapture
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit="$(cd "$here/../wit" && pwd)"
tools="$here/.tools"
out="$here/target/polyglot"
mkdir -p "$tools" "$out"

# Python
py="$tools/py"
if ! "$py/bin/componentize-py" --version 2>/dev/null | grep -q "0.25.1"; then
    python3 -m venv "$py"
    "$py/bin/pip" install --quiet "componentize-py==0.25.1"
fi
"$py/bin/componentize-py" -d "$wit" -w service-task componentize \
    -p "$here/python/stock_check" app -o "$out/stock_check_py.wasm"

# JavaScript
js="$tools/js"
cjs="$js/node_modules/@bytecodealliance/componentize-js"
if ! grep -q '"version": "0.23.0"' "$cjs/package.json" 2>/dev/null; then
    mkdir -p "$js"
    [ -f "$js/package.json" ] || echo '{ "private": true }' > "$js/package.json"
    npm install --prefix "$js" --no-audit --no-fund --silent "@bytecodealliance/componentize-js@0.23.0"
fi
node "$here/js/build.mjs" "$cjs" "$wit" "$out/stock_check_js.wasm"

ls -l "$out"
