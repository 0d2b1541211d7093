#!/usr/bin/env bash
# Cross-binding conformance: replays every scenario (scenarios/*.scn) through
# every runner available and fails on
#   - any byte of difference between a runner's transcript and the Rust one;
#   - any difference between the Rust transcript and the recorded QEMU 7.2
#     transcript (NAME.qemu72.txt), compared as tools/compare.py (scenarios/README.md)
#     says — so every runner agrees with QEMU 7.2, since all are byte-equal.
#
#   tests/conformance.sh
#
# Runners: rust (cargo's example `replay`), c (bindings-c/examples/replay.c,
# built by its Makefile), python (`python -m qjob replay`, from the .venv),
# node (bindings-wasm/bin/replay.js), chromium (tests/conformance/
# chromium-replay.mjs: bindings-wasm's web build in headless Chromium), dropin
# (tools/replay-dropin.py: the recorder driving qjob-storage-daemon and
# qjob-system over their QMP socket, on manual virtual time; it needs QEMU
# 7.2's qemu-img and qemu-io for the `image` directive, from
# .cache/qemu72-full/bin or PATH).
# A runner whose binding is not built is reported as skipped; set
# QJOB_CONFORMANCE_REQUIRE=all (or a list, e.g. "rust c python") to make a
# skipped runner a failure. Prints the scenario count per runner.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
ROOT=$PWD
OUT="$ROOT/target/conformance"
rm -rf "$OUT"
mkdir -p "$OUT"
mapfile -t SCN < <(ls scenarios/*.scn | sort)
N=${#SCN[@]}
REQUIRE="${QJOB_CONFORMANCE_REQUIRE:-rust}"
[ "$REQUIRE" = all ] && REQUIRE="rust c python node chromium dropin"
declare -A COUNT STATE
RUNNERS=(rust c python node chromium dropin)
QEMU_TOOLS="$ROOT/.cache/qemu72-full/bin"

# Each runner prints all transcripts in one run, each after a "# FILE" line.
run_rust() { target/release/examples/replay "${SCN[@]}"; }
run_c() { target/qjob-c/replay "${SCN[@]}"; }
run_python() { .venv/bin/python -m qjob replay "${SCN[@]}"; }
run_node() { node bindings-wasm/bin/replay.js "${SCN[@]}"; }
run_chromium() { node tests/conformance/chromium-replay.mjs "${SCN[@]}"; }
run_dropin() { PATH="$QEMU_TOOLS:$PATH" python3 tools/replay-dropin.py "${SCN[@]}"; }

prepare() {
  case "$1" in
    rust) cargo build -q --release -p qjob --example replay ;;
    c) command -v gcc >/dev/null && make --no-print-directory -s -C bindings-c examples >/dev/null ;;
    python)
      [ -x .venv/bin/python ] || return 1
      .venv/bin/python -c 'import qjob._native' 2>/dev/null ||
        .venv/bin/python -c 'import qjob; qjob.JobManager' 2>/dev/null ||
        { [ -x .venv/bin/maturin ] && .venv/bin/maturin develop -q --release -m bindings-py/Cargo.toml >/dev/null 2>&1; }
      .venv/bin/python -c 'import qjob; qjob.JobManager' 2>/dev/null
      ;;
    node) command -v node >/dev/null && [ -f bindings-wasm/pkg-node/qjob_wasm.js ] && [ -f bindings-wasm/bin/replay.js ] ;;
    chromium)
      command -v node >/dev/null && [ -f bindings-wasm/pkg-web/qjob_wasm.js ] &&
        [ -d bindings-wasm/node_modules/playwright-core ] && [ -x "${QJOB_CHROMIUM:-/usr/bin/chromium}" ]
      ;;
    dropin)
      PATH="$QEMU_TOOLS:$PATH" command -v qemu-img >/dev/null &&
        PATH="$QEMU_TOOLS:$PATH" command -v qemu-io >/dev/null &&
        cargo build -q --release -p qjob-dropin
      ;;
  esac
}

# Splits a multi-scenario transcript into DIR/NAME.txt; prints the count.
split() {
  python3 - "$1" "$2" <<'PY'
import os, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
name, buf, n = None, [], 0
def flush():
    global n
    if name is not None:
        open(os.path.join(out, name + ".txt"), "w").write("".join(buf)); n += 1
for line in open(src, encoding="utf-8", newline=""):
    if line.startswith("# scenarios/") and line.rstrip("\n").endswith(".scn"):
        flush(); name = os.path.basename(line.strip()[2:])[:-4]; buf = []
    else:
        buf.append(line)
flush()
print(n)
PY
}

fail=0
for r in "${RUNNERS[@]}"; do
  if ! prepare "$r" 2>"$OUT/$r.prepare.log"; then
    STATE[$r]=skipped; COUNT[$r]=0
    if [[ " $REQUIRE " == *" $r "* ]]; then
      echo "FAIL $r: runner not available"; cat "$OUT/$r.prepare.log"; fail=1
    else
      echo "skip $r: runner not available (binding not built)"
    fi
    continue
  fi
  if ! "run_$r" >"$OUT/$r.all.txt" 2>"$OUT/$r.err"; then
    echo "FAIL $r: the replayer failed"; tail -5 "$OUT/$r.err"; fail=1
  fi
  COUNT[$r]=$(split "$OUT/$r.all.txt" "$OUT/$r")
  STATE[$r]=ran
  [ "${COUNT[$r]}" = "$N" ] || { echo "FAIL $r: ${COUNT[$r]} of $N transcripts"; fail=1; }
done

# Byte equality with the Rust transcripts, scenario by scenario.
for r in c python node chromium dropin; do
  [ "${STATE[$r]}" = ran ] || continue
  if ! cmp -s "$OUT/rust.all.txt" "$OUT/$r.all.txt"; then
    for s in "${SCN[@]}"; do
      n=$(basename "$s" .scn)
      if ! cmp -s "$OUT/rust/$n.txt" "$OUT/$r/$n.txt"; then
        echo "FAIL $r differs from rust on $n:"
        diff "$OUT/rust/$n.txt" "$OUT/$r/$n.txt" | head -10 || true
        fail=1
      fi
    done
  fi
done

# The Rust transcripts against QEMU 7.2's, as scenarios/README.md compares them.
qemu_ok=0
for s in "${SCN[@]}"; do
  n=$(basename "$s" .scn)
  if python3 tools/compare.py "${s%.scn}.qemu72.txt" "$OUT/rust/$n.txt" >"$OUT/compare.$n.log" 2>&1; then
    qemu_ok=$((qemu_ok + 1))
  else
    echo "FAIL $n differs from QEMU 7.2:"; head -10 "$OUT/compare.$n.log"; fail=1
  fi
done

echo
echo "conformance: $N scenarios"
for r in "${RUNNERS[@]}"; do
  if [ "${STATE[$r]}" = ran ]; then
    printf '  %-9s %3d scenarios replayed, byte-identical to rust: %s\n' "$r" "${COUNT[$r]}" \
      "$(cmp -s "$OUT/rust.all.txt" "$OUT/$r.all.txt" && echo yes || echo NO)"
  else
    printf '  %-9s skipped (not built)\n' "$r"
  fi
done
printf '  %-9s %3d of %d agree with QEMU 7.2 (tools/compare.py)\n' qemu72 "$qemu_ok" "$N"
[ "$fail" = 0 ] && echo "conformance: ok" || { echo "conformance: FAILED"; exit 1; }
