#!/usr/bin/env bash
# What the .wasm's size is made of: `bash bindings-wasm/bench/size.sh`.
# Prints, in bytes, KiB, and as the simulator's server sends them (gzip -9, brotli 11):
#   - the two packages' modules as build.sh makes them: node's (cargo profile `wasm`, for speed)
#     and the browser's (`wasm-size`: opt-level "z", wasm-opt -Oz);
#   - the `size_floor` example with both profiles: the core's QMP path alone (QMP text in and
#     out, settle, events), which no binding of the whole core can go below (checked to run a
#     backup to its end);
#   - the same with QJOB_WASM_NIGHTLY when the dated nightly is installed;
# and, with twiggy on PATH, the largest items of the browser's module.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
bash "$here/../ci.sh" --build-only >/dev/null

row() { node "$here/sizes.mjs" --row "$@"; }

# floor PROFILE LABEL: the floor module, checked to run a backup, and its row.
floor() {
  QJOB_WASM_PROFILE=$1 bash "$here/../build.sh" --floor >/dev/null
  node -e '
    const { Floor } = require(process.argv[1]);
    const f = new Floor();
    f.execute(`{"execute": "blockdev-backup", "arguments": {"job-id": "b", "device": "src", "target": "dst", "sync": "full"}}`);
    f.settle();
    const statuses = JSON.parse(f.drainEvents()).filter((e) => e.event === "JOB_STATUS_CHANGE").map((e) => e.data.status);
    if (statuses.at(-1) !== "null") { console.error("the floor module did not run a backup:", statuses); process.exit(1); }
  ' "$root/target/qjob-wasm-floor/node/size_floor.js"
  row "floor (core QMP path), $2" "$root/target/qjob-wasm-floor/node/size_floor_bg.wasm"
}

# measure SUFFIX: every row with the current QJOB_WASM_* settings.
measure() {
  bash "$here/../build.sh" >/dev/null
  row "package for node (profile wasm)$1" "$here/../pkg-node/qjob_wasm_bg.wasm"
  row "package for browsers (profile wasm-size)$1" "$here/../pkg-web/qjob_wasm_bg.wasm"
  floor wasm "profile wasm$1"
  floor wasm-size "profile wasm-size$1"
}

echo "| module | bytes | KiB | gzip -9 | brotli |"
echo "|---|---|---|---|---|"
# Every module with the stable toolchain first (the browser's package too, which build.sh
# otherwise makes with the dated nightly when it is installed).
QJOB_WASM_WEB_NIGHTLY=none measure ""
# The same with the standard library rebuilt without panic messages, when the dated nightly
# that fuzz/run.sh and tests/miri.sh install is here (QJOB_NIGHTLY overrides it).
nightly="${QJOB_NIGHTLY:-nightly-2026-10-01}"
if rustup +"$nightly" component list --installed 2>/dev/null | grep -q '^rust-src'; then
  QJOB_WASM_NIGHTLY=$nightly measure ", $nightly"
  # Leave the packages as the default build makes them.
  bash "$here/../build.sh" >/dev/null
fi

if command -v twiggy >/dev/null; then
  echo
  echo "largest items of the browser's module (profile wasm-size, names kept):"
  QJOB_WASM_PROFILE=wasm-size bash "$here/../build.sh" --profile >/dev/null
  twiggy top -n 15 "$root/target/qjob-wasm-profile/node/qjob_wasm_bg.wasm"
fi
