#!/usr/bin/env bash
# `make bench`: every figure of the README's Performance table and of bindings-wasm/README.md's
# "Sizes and speed", each with what it measures, from one command.
#   1. QEMU 7.2 for the anchors (tools/fetch-qemu72.sh: idempotent, into .cache/qemu72); when it
#      cannot be fetched, the anchors are skipped and the table says how to get them.
#   2. The core's figures (core/benches/figures.rs), QEMU 7.2 measured beside them in the same run.
#   3. The WASM figures (bindings-wasm/bench/run.sh: the binding, inside WebAssembly and
#      natively, the modules' sizes on the wire), ITERATIONS (default 20000) per workload.
# A few minutes once built (the first run builds the WASM modules with LTO).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if [ -z "${QEMU72_DIR:-}" ] && ! tools/fetch-qemu72.sh >/dev/null 2>&1; then
  echo "(QEMU 7.2 could not be fetched: tools/fetch-qemu72.sh says why; its anchors are skipped)"
fi
echo "== core (cargo bench -p qjob --bench figures)"
cargo bench -q -p qjob --bench figures
echo
echo "== WebAssembly (bash bindings-wasm/bench/run.sh ${ITERATIONS:-20000})"
bash bindings-wasm/bench/run.sh "${ITERATIONS:-20000}"
