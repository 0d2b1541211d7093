#!/usr/bin/env bash
# Builds what the WASM benchmark needs (the packages, the `bench` module, the native example,
# all with cargo profile `wasm` and speed-rustflags) and runs it: `bash bindings-wasm/bench/run.sh [ITERATIONS]`
# (QJOB_BENCH_ROUNDS=5 by default).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
bash "$here/../ci.sh" --build-only >/dev/null
bash "$here/../build.sh" --bench >/dev/null
# The native half: profile `wasm` and the module's speed-rustflags, as the module is built
# (its own target directory, so that the flags do not rebuild the rest of target/).
(cd "$root" && RUSTFLAGS="$(cat "$here/../speed-rustflags")" cargo build -q --profile wasm -p qjob-wasm \
  --example bench_native --target-dir "$root/target/bench-native")
QJOB_BENCH_NATIVE="$root/target/bench-native/wasm/examples/bench_native" node "$here/bench.mjs" "${1:-50000}"
