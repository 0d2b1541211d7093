#!/usr/bin/env bash
# Serves the lifecycle simulator on http://127.0.0.1:PORT/ (default 8080; PORT=0: any free
# port), building the module first when it is missing or older than its sources. A port that
# is malformed or busy is said (with how to pick another) before anything is built.
#   bash bindings-wasm/serve.sh [PORT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
port="${1:-${PORT:-8080}}"
node "$here/web/server.mjs" --check "$port"
wasm="$here/pkg-web/qjob_wasm_bg.wasm"
stale=0
[ -f "$wasm" ] || stale=1
if [ "$stale" = 0 ] && [ -n "$(find "$root/core/src" "$here/src" "$here/Cargo.toml" -newer "$wasm" -print -quit)" ]; then
  stale=1
fi
if [ "$stale" = 1 ]; then
  "$here/ci.sh" --build-only
fi
exec node "$here/web/server.mjs" "$port"
