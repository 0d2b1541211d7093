#!/usr/bin/env bash
# What the .wasm's size is made of: `bash bindings-wasm/bench/size.sh`.
# Builds, with the package's settings, at opt-level 3 (the package) and at "z" (for size), and
# with QJOB_WASM_NIGHTLY when the dated nightly is installed:
#   - the package's module (every class and method);
#   - the `size_floor` example: the core's QMP path alone (QMP text in and out, settle, events),
#     which no binding of the whole core can go below;
# checks that the floor module runs a backup to its end, and prints the sizes (bytes, KiB, gzip -9).
# With twiggy on PATH it also lists the largest items of the package's module at z.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
bash "$here/../ci.sh" --build-only >/dev/null

row() { # name file
  local s g
  s=$(stat -c %s "$2") g=$(gzip -9c "$2" | wc -c)
  printf '| %s | %d | %.1f KiB | %.1f KiB |\n' "$1" "$s" "$(echo "$s / 1024" | bc -l)" "$(echo "$g / 1024" | bc -l)"
}

# measure LABEL: both modules as build.sh makes them with the current QJOB_WASM_* settings.
measure() {
  bash "$here/../build.sh" >/dev/null
  row "package, $1" "$here/../pkg-web/qjob_wasm_bg.wasm"
  bash "$here/../build.sh" --floor >/dev/null
  node -e '
    const { Floor } = require(process.argv[1]);
    const f = new Floor();
    f.execute(`{"execute": "blockdev-backup", "arguments": {"job-id": "b", "device": "src", "target": "dst", "sync": "full"}}`);
    f.settle();
    const statuses = JSON.parse(f.drainEvents()).filter((e) => e.event === "JOB_STATUS_CHANGE").map((e) => e.data.status);
    if (statuses.at(-1) !== "null") { console.error("the floor module did not run a backup:", statuses); process.exit(1); }
  ' "$root/target/qjob-wasm-floor/node/size_floor.js"
  row "floor (core QMP path), $1" "$root/target/qjob-wasm-floor/opt.wasm"
}

echo "| module | bytes | KiB | gzip -9 |"
echo "|---|---|---|---|"
for level in 3 z; do
  QJOB_WASM_OPT_LEVEL=$level QJOB_WASM_OPT=$level measure "opt-level $level"
done
# The same with the standard library rebuilt without panic messages, when the dated nightly
# that fuzz/run.sh and tests/miri.sh install is here (QJOB_NIGHTLY overrides it).
nightly="${QJOB_NIGHTLY:-nightly-2026-10-01}"
if rustup +"$nightly" component list --installed 2>/dev/null | grep -q '^rust-src'; then
  for level in 3 z; do
    QJOB_WASM_OPT_LEVEL=$level QJOB_WASM_OPT=$level QJOB_WASM_NIGHTLY=$nightly measure "opt-level $level, $nightly"
  done
fi
# Leave the packages as the default build makes them.
bash "$here/../build.sh" >/dev/null

if command -v twiggy >/dev/null; then
  echo
  echo "largest items of the package at opt-level z (names kept):"
  QJOB_WASM_OPT_LEVEL=z QJOB_WASM_OPT=z bash "$here/../build.sh" --profile >/dev/null
  twiggy top -n 12 "$root/target/qjob-wasm-profile/node/qjob_wasm_bg.wasm"
fi
