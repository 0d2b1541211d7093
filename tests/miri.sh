#!/usr/bin/env bash
# Miri on the core's unit tests (crate qjob, --lib), on a dated nightly with
# the miri and rust-src components (installed idempotently).
#
#   tests/miri.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
NIGHTLY="${QJOB_NIGHTLY:-nightly-2026-10-01}"
if ! rustup component list --installed --toolchain "$NIGHTLY" 2>/dev/null | grep -q '^miri'; then
  rustup toolchain install "$NIGHTLY" --profile minimal --component miri,rust-src
fi
cargo "+$NIGHTLY" miri setup >/dev/null
cargo "+$NIGHTLY" miri test -p qjob --lib
