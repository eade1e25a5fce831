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
# Extra arguments go to `baton run` (a later --var overrides the default one).
set -euo pipefail
cd "$(dirname "$0")/../.."

target=wasm32-wasip2
libdir="$(rustc --print=target-libdir --target "$target" 2>/dev/null || true)"
if [ -z "$libdir" ] || [ ! -d "$libdir" ]; then
  echo "== adding the $target target (rustup target add $target)"
  rustup target add "$target"
fi

echo "== building the wasm task components (guests/)"
# An explicit target dir: a CARGO_TARGET_DIR in the environment must not move the components
# away from the paths passed to --module below.
cargo build --quiet --release --locked --manifest-path guests/Cargo.toml \
  --target-dir guests/target -p stock-check -p payment -p send-mail

echo "== building baton (the first build takes a few minutes)"
cargo build --quiet -p baton --bin baton

wasm=guests/target/$target/release
echo "== baton run examples/order/order.bpmn"
exec cargo run --quiet -p baton --bin baton -- run examples/order/order.bpmn \
  --module check-stock="$wasm/stock_check.wasm" \
  --module payment="$wasm/payment.wasm" \
  --module send-mail="$wasm/send_mail.wasm" \
  --business-key order-42 \
  --var customer=Ada \
  --var amount=250 \
  --var 'items=[{"sku":"A-1","quantity":2},{"sku":"B-7","quantity":1}]' \
  "$@"
