#!/usr/bin/env bash
# Builds what the WASM benchmark needs (the packages, the `bench` module, the native example,
# all with cargo profile `wasm`) and runs it: `bash bindings-wasm/bench/run.sh [ITERATIONS]`
# (QJOB_BENCH_ROUNDS=5 by default).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
bash "$here/../ci.sh" --build-only >/dev/null
bash "$here/../build.sh" --bench >/dev/null
(cd "$root" && cargo build -q --profile wasm -p qjob-wasm --example bench_native)
QJOB_BENCH_NATIVE="$root/target/wasm/examples/bench_native" node "$here/bench.mjs" "${1:-50000}"
