#!/usr/bin/env bash
# What the .wasm's size is made of: `bash bindings-wasm/bench/size.sh`.
# Builds, with the package's settings, at opt-level 3 (the package) and at "z" (for size):
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

echo "| module | bytes | KiB | gzip -9 |"
echo "|---|---|---|---|"
for level in 3 z; do
  export QJOB_WASM_OPT_LEVEL=$level QJOB_WASM_OPT=$level
  bash "$here/../build.sh" >/dev/null
  row "package, opt-level $level" "$here/../pkg-web/qjob_wasm_bg.wasm"
  cp "$here/../pkg-web/qjob_wasm_bg.wasm" "$root/target/qjob-wasm-$level.wasm"
  bash "$here/../build.sh" --floor >/dev/null
  node -e '
    const { Floor } = require(process.argv[1]);
    const f = new Floor();
    f.execute(`{"execute": "blockdev-backup", "arguments": {"job-id": "b", "device": "src", "target": "dst", "sync": "full"}}`);
    f.settle();
    const statuses = JSON.parse(f.drainEvents()).filter((e) => e.event === "JOB_STATUS_CHANGE").map((e) => e.data.status);
    if (statuses.at(-1) !== "null") { console.error("the floor module did not run a backup:", statuses); process.exit(1); }
  ' "$root/target/qjob-wasm-floor/node/size_floor.js"
  row "floor (core QMP path), opt-level $level" "$root/target/qjob-wasm-floor/opt.wasm"
done
# Leave the packages as the default build makes them.
unset QJOB_WASM_OPT_LEVEL QJOB_WASM_OPT
bash "$here/../build.sh" >/dev/null

if command -v twiggy >/dev/null; then
  echo
  echo "largest items of the package at opt-level z (names kept):"
  QJOB_WASM_OPT_LEVEL=z QJOB_WASM_OPT=z bash "$here/../build.sh" --profile >/dev/null
  twiggy top -n 12 "$root/target/qjob-wasm-profile/node/qjob_wasm_bg.wasm"
fi
