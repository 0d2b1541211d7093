#!/usr/bin/env bash
# Replays every scenario through the Rust replayer and compares each
# transcript with the recorded QEMU 7.2 one (tools/compare.py). Prints one
# line per scenario and a summary.
set -u
cd "$(dirname "$0")/.."
cargo build -q --release -p qjob --example replay || exit 1
pass=0; fail=0
for scn in scenarios/*.scn; do
  exp="${scn%.scn}.qemu72.txt"
  out=$(mktemp)
  if ! target/release/examples/replay "$scn" >"$out" 2>&1; then
    echo "FAIL $scn (replay error: $(tail -1 "$out"))"; fail=$((fail+1)); rm -f "$out"; continue
  fi
  if python3 tools/compare.py "$exp" "$out" >/dev/null 2>&1; then
    pass=$((pass+1))
  else
    echo "FAIL $scn"; fail=$((fail+1))
  fi
  rm -f "$out"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
