#!/usr/bin/env bash
# CI entry point of the C API (bindings-c): builds and runs every proof.
#
#   bindings-c/ci.sh
#
# Installs what it needs if missing (gcc, g++, make, pkg-config, valgrind,
# binutils with apt-get, through sudo when not root; clippy and rustfmt from
# rustup), then: rustfmt and clippy (-D warnings) of the crate, its Rust unit
# tests and rustdoc, the header freshness check, the C99 suite (static), qjob.h
# as C++, a stripped install used through pkg-config alone (shared library
# through the .pc's rpath, static, LD_LIBRARY_PATH), valgrind, ASan+UBSan,
# replay.c byte-identical to the Rust replayer on every scenario, the mini
# hypervisor, and the benchmark (informational; QJOB_BENCH_CHECK=1 makes it
# fail above 1.2x Rust).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
start=$SECONDS

step() { printf '\n=== %s\n' "$*"; }

step "tools"
missing=()
for pair in gcc:gcc g++:g++ make:make pkg-config:pkg-config valgrind:valgrind readelf:binutils strip:binutils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  tools/apt-get.sh update -qq
  tools/apt-get.sh install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "bindings-c/ci.sh needs a Rust toolchain (cargo) on PATH" >&2; exit 1; }
if command -v rustup >/dev/null; then
  for c in clippy rustfmt; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi
echo "ok: $(gcc --version | head -1); $(cargo --version)"

step "rustfmt, clippy -D warnings, unit tests, rustdoc (qjob-c)"
cargo fmt -p qjob-c -- --check
cargo clippy -q -p qjob-c --all-targets -- -D warnings
cargo test -q -p qjob-c
# The crate's docs in a target dir of their own: both libraries are called
# `qjob`, so `cargo doc --workspace` documents only the core.
cargo rustdoc -q -p qjob-c --lib --target-dir target/qjob-c-doc -- -D warnings

step "header freshness, C tests, C++, install + pkg-config, valgrind, ASan/UBSan, replay, hypervisor"
make --no-print-directory -C bindings-c test

step "benchmark: C API beside Rust API"
if [ "${QJOB_BENCH_CHECK:-0}" = 1 ]; then
  make --no-print-directory -C bindings-c bench-check
else
  make --no-print-directory -C bindings-c bench
fi

printf '\nbindings-c/ci.sh: all passed in %ss\n' "$((SECONDS - start))"
