#!/usr/bin/env bash
# Cross-binding conformance, under both of qjob's QEMU profiles: replays the
# scenarios through every runner available and fails on
#   - any byte of difference between a runner's transcript and the Rust one
#     (per profile);
#   - under 7.2 (every scenarios/*.scn and scenarios/qemu10/*.scn): any
#     difference between the Rust transcript and the recorded QEMU 7.2
#     transcript (NAME.qemu72.txt), compared as tools/compare.py
#     (scenarios/README.md) says — so every runner agrees with QEMU 7.2, since
#     all are byte-equal;
#   - under 10.0 (`--qemu 10.0`; every scenario is replayed, and those with a
#     NAME.qemu10.txt, all of scenarios/qemu10/*.scn among them, are compared
#     with it): a Rust transcript that differs from the
#     QEMU 10.0 recording and is not listed in
#     scenarios/qemu10-known-differences.txt, or one listed there that agrees
#     (the rule of core/tests/scenarios.rs: the list can only shrink).
#
#   tests/conformance.sh
#
# Runners: rust (cargo's example `replay`), c (bindings-c/examples/replay.c,
# built by its Makefile), python (`python -m qjob replay`, from the .venv),
# node (bindings-wasm/bin/replay.js), chromium (tests/conformance/
# chromium-replay.mjs: bindings-wasm's web build in headless Chromium), dropin
# (tools/replay-dropin.py: the recorder driving qjob-storage-daemon and
# qjob-system over their QMP socket, on manual virtual time, with
# --x-qjob-qemu for the profile; it needs qemu-img and qemu-io for the `image`
# directive, QEMU 7.2's from .cache/qemu72-full/bin or PATH's). Each takes
# `--qemu 7.2|10.0`.
# A runner whose binding is not built is reported as skipped; set
# QJOB_CONFORMANCE_REQUIRE=all (or a list, e.g. "rust c python") to make a
# skipped runner a failure. Prints the scenario count per profile and runner.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
ROOT=$PWD
OUT="$ROOT/target/conformance"
rm -rf "$OUT"
mkdir -p "$OUT"
PROFILES=(7.2 10.0)
declare -A SUFFIX=([7.2]=qemu72 [10.0]=qemu10)
# Every scenario is replayed under both profiles (byte equality between the
# runners); each is compared with its recording from that QEMU where there is
# one: under 7.2 all, under 10.0 all but those that need a system emulator or
# that QEMU 10.0.2 aborts in (scenarios/README.md; scenarios/qemu10/*.scn all
# have one).
mapfile -t SCN < <(ls scenarios/*.scn scenarios/qemu10/*.scn | sort)
recorded() { [ -e "${1%.scn}.${SUFFIX[$2]}.txt" ]; }
# A scenario's name as the known-differences list writes it (qemu10/NAME).
name_of() { local n=${1#scenarios/}; echo "${n%.scn}"; }
REQUIRE="${QJOB_CONFORMANCE_REQUIRE:-rust}"
[ "$REQUIRE" = all ] && REQUIRE="rust c python node chromium dropin"
declare -A COUNT STATE TIME
RUNNERS=(rust c python node chromium dropin)
QEMU_TOOLS="$ROOT/.cache/qemu72-full/bin"

# Each runner prints all transcripts in one run, each after a "# FILE" line;
# $1 is the profile, the scenarios follow.
run_rust() { target/release/examples/replay --qemu "$@"; }
run_c() { target/qjob-c/replay --qemu "$@"; }
run_python() { .venv/bin/python -m qjob replay --qemu "$@"; }
run_node() { node bindings-wasm/bin/replay.js --qemu "$@"; }
run_chromium() { node tests/conformance/chromium-replay.mjs --qemu "$@"; }
run_dropin() { PATH="$QEMU_TOOLS:$PATH" python3 tools/replay-dropin.py --qemu "$@"; }

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

# Splits a multi-scenario transcript into DIR/NAME.txt (NAME as name_of
# gives it); prints the count.
split() {
  python3 - "$1" "$2" <<'PY'
import os, sys
src, out = sys.argv[1], sys.argv[2]
name, buf, n = None, [], 0
def flush():
    global n
    if name is not None:
        path = os.path.join(out, name + ".txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write("".join(buf)); n += 1
for line in open(src, encoding="utf-8", newline=""):
    if line.startswith("# scenarios/") and line.rstrip("\n").endswith(".scn"):
        flush(); name = line.strip()[len("# scenarios/"):-4]; buf = []
    else:
        buf.append(line)
flush()
print(n)
PY
}

# scenarios/qemu10-known-differences.txt, as core/tests/scenarios.rs reads
# it: one NAME per line (NAME: reason), each a scenario.
mapfile -t KNOWN < <(python3 - <<'PY'
import os, sys
path = "scenarios/qemu10-known-differences.txt"
for line in open(path, encoding="utf-8"):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    name, sep, reason = line.partition(":")
    if not sep or not reason.strip():
        sys.exit("%s: no reason in %r" % (path, line))
    name = name.strip()
    if not os.path.exists(os.path.join("scenarios", name + ".scn")):
        sys.exit("%s names %s, which is not a scenario" % (path, name))
    print(name)
PY
)
is_known() { local k; for k in "${KNOWN[@]}"; do [ "$k" = "$1" ] && return 0; done; return 1; }

fail=0
declare -A PREPARED
for r in "${RUNNERS[@]}"; do
  if prepare "$r" 2>"$OUT/$r.prepare.log"; then
    PREPARED[$r]=yes
  else
    PREPARED[$r]=no
    if [[ " $REQUIRE " == *" $r "* ]]; then
      echo "FAIL $r: runner not available"; cat "$OUT/$r.prepare.log"; fail=1
    else
      echo "skip $r: runner not available (binding not built)"
    fi
  fi
done

declare -A NSCN NREC QEMU_OK QEMU_KNOWN
N=${#SCN[@]}
for p in "${PROFILES[@]}"; do
  NSCN[$p]=$N
  NREC[$p]=0
  D="$OUT/$p"
  mkdir -p "$D"
  for r in "${RUNNERS[@]}"; do
    k="$p/$r"
    if [ "${PREPARED[$r]}" != yes ]; then
      STATE[$k]=skipped; COUNT[$k]=0
      continue
    fi
    t0=$SECONDS
    if ! "run_$r" "$p" "${SCN[@]}" >"$D/$r.all.txt" 2>"$D/$r.err"; then
      echo "FAIL $r (QEMU $p): the replayer failed"; tail -5 "$D/$r.err"; fail=1
    fi
    TIME[$k]=$((SECONDS - t0))
    COUNT[$k]=$(split "$D/$r.all.txt" "$D/$r")
    STATE[$k]=ran
    [ "${COUNT[$k]}" = "$N" ] || { echo "FAIL $r (QEMU $p): ${COUNT[$k]} of $N transcripts"; fail=1; }
  done

  # Byte equality with the Rust transcripts, scenario by scenario.
  for r in c python node chromium dropin; do
    [ "${STATE[$p/$r]}" = ran ] || continue
    if ! cmp -s "$D/rust.all.txt" "$D/$r.all.txt"; then
      for s in "${SCN[@]}"; do
        n=$(name_of "$s")
        if ! cmp -s "$D/rust/$n.txt" "$D/$r/$n.txt"; then
          echo "FAIL $r (QEMU $p) differs from rust on $n:"
          diff "$D/rust/$n.txt" "$D/$r/$n.txt" | head -10 || true
          fail=1
        fi
      done
    fi
  done

  # The Rust transcripts against QEMU's, as scenarios/README.md compares them;
  # under 10.0 the known differences must differ, and only they.
  ok=0 known=0
  if [ "${STATE[$p/rust]}" = ran ]; then
    for s in "${SCN[@]}"; do
      if ! recorded "$s" "$p"; then
        [ "$p" = 7.2 ] && { echo "FAIL $s has no QEMU 7.2 recording"; fail=1; }
        continue
      fi
      NREC[$p]=$((NREC[$p] + 1))
      n=$(name_of "$s")
      mkdir -p "$(dirname "$D/compare/$n")"
      if python3 tools/compare.py "${s%.scn}.${SUFFIX[$p]}.txt" "$D/rust/$n.txt" >"$D/compare/$n.log" 2>&1; then
        if [ "$p" = 10.0 ] && is_known "$n"; then
          echo "FAIL $n agrees with QEMU $p but is listed in scenarios/qemu10-known-differences.txt (remove it)"
          fail=1
        else
          ok=$((ok + 1))
        fi
      elif [ "$p" = 10.0 ] && is_known "$n"; then
        known=$((known + 1))
      else
        echo "FAIL $n differs from QEMU $p:"; head -10 "$D/compare/$n.log"; fail=1
      fi
    done
  fi
  QEMU_OK[$p]=$ok
  QEMU_KNOWN[$p]=$known
done

echo
for p in "${PROFILES[@]}"; do
  echo "conformance, QEMU $p: ${NSCN[$p]} scenarios"
  for r in "${RUNNERS[@]}"; do
    k="$p/$r"
    if [ "${STATE[$k]}" = ran ]; then
      printf '  %-9s %3d scenarios replayed in %3ds, byte-identical to rust: %s\n' "$r" "${COUNT[$k]}" \
        "${TIME[$k]}" "$(cmp -s "$OUT/$p/rust.all.txt" "$OUT/$p/$r.all.txt" && echo yes || echo NO)"
    else
      printf '  %-9s skipped (not built)\n' "$r"
    fi
  done
  if [ "$p" = 10.0 ]; then
    printf '  %-9s %3d of the %d recorded from QEMU %s agree (tools/compare.py), %d known differences\n' \
      "${SUFFIX[$p]}" "${QEMU_OK[$p]}" "${NREC[$p]}" "$p" "${QEMU_KNOWN[$p]}"
  else
    printf '  %-9s %3d of the %d recorded from QEMU %s agree (tools/compare.py)\n' \
      "${SUFFIX[$p]}" "${QEMU_OK[$p]}" "${NREC[$p]}" "$p"
  fi
done
[ "$fail" = 0 ] && echo "conformance: ok" || { echo "conformance: FAILED"; exit 1; }
