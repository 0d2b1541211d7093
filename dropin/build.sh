#!/usr/bin/env bash
# Builds the drop-in binaries as they are meant to be run:
#
#   dropin/build.sh            qjob-storage-daemon and qjob-system, release, into
#                              target/<host>/release/ (prints that directory)
#   dropin/build.sh --bench    the drop-in benchmark (benches/dropin.rs) on binaries built alike
#
# On a glibc Linux host they are linked statically (static-pie, `-C target-feature=+crt-static`):
# a harness starts a fresh QEMU for every test, and without the dynamic loader's work (loading and
# relocating libc and libgcc_s) a binary reaches its QMP greeting about 0.2 ms (a sixth) sooner
# (dropin/README.md, "Speed"). The flag is given for the host target only (`--target`), so build
# scripts and proc-macros are built as usual. Elsewhere the binaries are linked as cargo links
# them. Host names in socket addresses are resolved through glibc's NSS, which a static binary
# loads at run time from the glibc it runs on: numeric addresses and Unix sockets need nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-linux-gnu) export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;;
esac
case "${1:-}" in
  "")
    cargo build -q --release -p qjob-dropin --target "$host"
    echo "target/$host/release"
    ;;
  --bench) cargo bench -p qjob-dropin --bench dropin --target "$host" ;;
  *) echo "usage: dropin/build.sh [--bench]" >&2; exit 2 ;;
esac
