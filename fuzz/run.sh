#!/usr/bin/env bash
# Runs every fuzz target of qjob for SECONDS each and reports the executions.
#
#   fuzz/run.sh [SECONDS] [TARGET…]     (default 10 s; targets: all)
#
# Targets: execute_bytes (arbitrary bytes into QMP execute), sequences
# (structured commands/steps/clock moves with the invariants checked after
# each), c_api (the C API with hostile arguments). Each run starts from the
# committed seeds (fuzz/seeds/TARGET) plus the working corpus
# (fuzz/corpus/TARGET, not committed) and writes new inputs to the latter.
# Installs what it needs (a dated nightly, cargo-fuzz 0.13.2) idempotently.
# Fails on any finding (crash, panic, timeout, leak); the input is left in
# fuzz/artifacts/TARGET/. Set FUZZ_JOBS=N to run N workers per target, and
# FUZZ_SANITIZER=none for throughput (the default is AddressSanitizer).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
NIGHTLY="${QJOB_NIGHTLY:-nightly-2026-10-01}"
SECS="${1:-10}"
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(execute_bytes sequences c_api)

rustup toolchain list | grep -q "^$NIGHTLY" ||
  rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src
command -v cargo-fuzz >/dev/null && cargo fuzz --version 2>/dev/null | grep -q '0\.13\.2' ||
  cargo install cargo-fuzz --version 0.13.2 --locked

SAN=()
if [ -n "${FUZZ_SANITIZER:-}" ]; then SAN=(-s "$FUZZ_SANITIZER"); fi
cargo "+$NIGHTLY" fuzz build -O "${SAN[@]}"
JOBS=()
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then JOBS=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi

total=0
declare -A EXECS
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
  log="$(mktemp)"
  echo "=== fuzz $t for ${SECS}s"
  if ! cargo "+$NIGHTLY" fuzz run -O "${SAN[@]}" "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 -max_len=4096 \
      -print_final_stats=1 "${JOBS[@]}" \
      -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz/run.sh: FINDING in $t (input in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  n=$(shopt -s nullglob; cat "$log" fuzz-*.log | awk '/stat::number_of_executed_units/ {s+=$2} END {print s+0}')
  rm -f fuzz-*.log
  grep -E '^#[0-9]+.*DONE' "$log" | tail -1 || true
  EXECS[$t]=$n
  total=$((total + n))
  rm -f "$log"
done
echo
echo "executions per target (${SECS}s each):"
for t in "${TARGETS[@]}"; do printf '  %-14s %12d\n' "$t" "${EXECS[$t]}"; done
printf '  %-14s %12d\n' total "$total"
echo "findings: 0"
