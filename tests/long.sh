#!/usr/bin/env bash
# The long runs of qjob's cross-cutting checks:
#
#   tests/long.sh [FUZZ_SECONDS]     (default 3600 s per fuzz target)
#
#   1. the exhaustive model check to depth 8 ($QJOB_MODELCHECK_DEPTH), every world;
#   2. each fuzz target for FUZZ_SECONDS (fuzz/run.sh; FUZZ_JOBS=N for N workers each);
#   3. Miri on the core's unit tests (tests/miri.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

printf '=== model check, depth %s\n' "${QJOB_MODELCHECK_DEPTH:-8}"
cargo build -q --release -p qjob-tests --bin modelcheck
target/release/modelcheck "${QJOB_MODELCHECK_DEPTH:-8}"

printf '\n=== fuzz, %s s per target\n' "${1:-3600}"
fuzz/run.sh "${1:-3600}"

printf '\n=== miri\n'
tests/miri.sh
