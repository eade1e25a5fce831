#!/usr/bin/env bash
# Run the order example fully offline, in one command, on a fresh clone with only the Rust
# toolchain: builds the three wasm task components (stock-check, payment, send-mail) and baton,
# then `baton run`s one order to its end, printing the trace and the final variables.
#
#   examples/order/run.sh                                   # in stock, 250: paid and confirmed
#   examples/order/run.sh --var amount=5000 --answers examples/order/answers-approve.json
#   examples/order/run.sh --var amount=5000 --answers examples/order/answers-escalated.json --fast-clock
#   examples/order/run.sh --var 'items=[{"sku":"OUT-1","quantity":1}]'
#
# Extra arguments go to `baton run` (a later --var overrides the default one). It works from
# any current directory: the repository's own files are passed as absolute paths, and extra
# arguments (an --answers file, say) are read relative to where you ran it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

target=wasm32-wasip2
libdir="$(rustc --print=target-libdir --target "$target" 2>/dev/null || true)"
if [ -z "$libdir" ] || [ ! -d "$libdir" ]; then
  echo "== adding the $target target (rustup target add $target)"
  rustup target add "$target"
fi

echo "== building the wasm task components (guests/)"
# Everything explicit, nothing taken from the environment or the current directory:
# - `--target`: cargo reads guests/.cargo/config.toml only when run from inside guests/, so
#   without it a build started elsewhere makes native libraries instead of components;
# - `--target-dir`: a CARGO_TARGET_DIR in the environment must not move the components away
#   from the paths passed to --module below.
guests_target="$repo/guests/target"
cargo build --quiet --release --locked --manifest-path "$repo/guests/Cargo.toml" \
  --target "$target" --target-dir "$guests_target" -p stock-check -p payment -p send-mail

echo "== building baton (the first build takes a few minutes)"
# baton itself is built for this machine, whatever CARGO_BUILD_TARGET says, into the target dir
# `cargo test` and `cargo run` use, so it is built once.
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
env -u CARGO_BUILD_TARGET cargo build --quiet --locked --manifest-path "$repo/Cargo.toml" \
  --target-dir "$target_dir" -p baton --bin baton
baton="$target_dir/debug/baton"

wasm="$guests_target/$target/release"
echo "== baton run examples/order/order.bpmn"
exec "$baton" run "$repo/examples/order/order.bpmn" \
  --module check-stock="$wasm/stock_check.wasm" \
  --module payment="$wasm/payment.wasm" \
  --module send-mail="$wasm/send_mail.wasm" \
  --business-key order-42 \
  --var customer=Ada \
  --var amount=250 \
  --var 'items=[{"sku":"A-1","quantity":2},{"sku":"B-7","quantity":1}]' \
  "$@"
