#!/usr/bin/env bash
# CI entry point of qjob's cross-cutting checks (tests/ and fuzz/):
#
#   tests/ci.sh
#
#   1. the exhaustive model check to depth 6 (release), every world;
#   2. each fuzz target briefly (fuzz/run.sh, $QJOB_FUZZ_SECONDS s each, default 10);
#   3. the conformance run: every scenario through every runner built
#      (rust, c, python, node, chromium), byte-identical, and equal to QEMU 7.2;
#   4. Miri on the core's unit tests only when QJOB_MIRI=1 (tests/miri.sh; slow).
#
# Installs what it needs idempotently (a dated nightly and cargo-fuzz 0.13.2,
# through fuzz/run.sh). Long runs: tests/long.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
start=$SECONDS
step() { printf '\n=== %s\n' "$*"; }

step "rustfmt, clippy -D warnings (qjob-tests, fuzz)"
cargo fmt -p qjob-tests -- --check
cargo clippy -q -p qjob-tests --all-targets -- -D warnings
(cd fuzz && cargo fmt --check)

step "model check, depth ${QJOB_MODELCHECK_DEPTH:-6}"
cargo build -q --release -p qjob-tests --bin modelcheck
target/release/modelcheck "${QJOB_MODELCHECK_DEPTH:-6}"

step "fuzz, ${QJOB_FUZZ_SECONDS:-10} s per target"
fuzz/run.sh "${QJOB_FUZZ_SECONDS:-10}"

step "conformance"
tests/conformance.sh

if [ "${QJOB_MIRI:-0}" = 1 ]; then
  step "miri"
  tests/miri.sh
fi

printf '\ntests/ci.sh: all passed in %ss\n' "$((SECONDS - start))"
