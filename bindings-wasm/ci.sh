#!/usr/bin/env bash
# bindings-wasm CI: installs what it needs (idempotently), builds the module for node and
# the web (and a debug build for the panic test), type-checks the page, the entry points and the
# tests against js/qjob.d.ts (tsc, strict), and runs the node tests (API, bad arguments, the
# types against the runtime, panics, the server's port errors, the packed package), the replay
# comparison over every scenario and the Chromium end-to-end tests of the simulator.
# Screenshots: bindings-wasm/test-output/.
#   bash bindings-wasm/ci.sh               everything
#   bash bindings-wasm/ci.sh --build-only  install + build
#   bash bindings-wasm/ci.sh --no-browser  skip the Chromium tests
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
build_only=0 browser=1
for a in "$@"; do
  case "$a" in
    --build-only) build_only=1 ;;
    --no-browser) browser=0 ;;
    *) echo "usage: ci.sh [--build-only] [--no-browser]" >&2; exit 2 ;;
  esac
done
step() { printf '\n== %s\n' "$*"; }

step "tools"
# 1. The wasm32 target (rust-toolchain targets are not auto-installed here: RUSTUP_AUTO_INSTALL=0).
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# 2. wasm-bindgen-cli at exactly the wasm-bindgen version of Cargo.lock (a mismatch is a hard
#    error); without --locked, whose lockfile pins a crate the registry no longer serves.
wb_ver=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")
if [ -z "$wb_ver" ]; then
  (cd "$root" && cargo generate-lockfile -q 2>/dev/null || cargo metadata -q --format-version 1 >/dev/null)
  wb_ver=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_ver" ]; then
  cargo install wasm-bindgen-cli --version "$wb_ver"
fi
# 3. The dated nightly build.sh builds the browser's package with (panics as traps: a smaller
#    module; README "Sizes and speed"), with its rust-src and the wasm32 target: the one
#    fuzz/run.sh and tests/miri.sh install. QJOB_WASM_WEB_NIGHTLY=none skips it (build.sh then
#    builds that package with the stable toolchain); another name installs that toolchain.
web_nightly="${QJOB_WASM_WEB_NIGHTLY-nightly-2026-10-01}"
if [ -n "$web_nightly" ] && [ "$web_nightly" != none ]; then
  rustup toolchain list | grep -q "^$web_nightly" \
    || rustup toolchain install "$web_nightly" --profile minimal --component rust-src
  rustup +"$web_nightly" component list --installed | grep -q '^rust-src' \
    || rustup +"$web_nightly" component add rust-src
  rustup +"$web_nightly" target list --installed | grep -qx wasm32-unknown-unknown \
    || rustup +"$web_nightly" target add wasm32-unknown-unknown
fi
# 4. npm deps from the committed lockfile: playwright-core (no browser download), binaryen,
#    typescript and node's types.
if [ ! -x "$here/node_modules/.bin/wasm-opt" ] || [ ! -d "$here/node_modules/playwright-core" ] \
   || [ ! -x "$here/node_modules/.bin/tsc" ] \
   || ! cmp -s "$here/package-lock.json" "$here/node_modules/.package-lock.json.ci" 2>/dev/null; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  cp "$here/package-lock.json" "$here/node_modules/.package-lock.json.ci"
fi
# 5. Debian's Chromium for the end-to-end tests (apt-get, through sudo when not root).
if [ "$browser" = 1 ] && [ "$build_only" = 0 ] && [ -z "${QJOB_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  "$root/tools/apt-get.sh" update
  "$root/tools/apt-get.sh" install -y --no-install-recommends chromium
fi

step "build"
"$here/build.sh"
[ "$build_only" = 1 ] && exit 0

step "debug build (for the panic test)"
"$here/build.sh" --debug

step "type check (tsc --noEmit, strict)"
(cd "$here" && node_modules/.bin/tsc --noEmit -p .)

step "host unit tests"
(cd "$root" && cargo test -q -p qjob-wasm --features bench)

step "native replayer (for the byte-for-byte comparison)"
(cd "$root" && cargo build -q --release -p qjob --example replay)
export QJOB_NATIVE_REPLAY="$root/target/release/examples/replay"

step "node tests: API, arguments, types, panics, server, package, and replay of every scenario"
(cd "$here" && node --test --test-reporter=spec test/api.test.mjs test/host.test.mjs test/args.test.mjs \
  test/types.test.mjs test/panic.test.mjs test/server.test.mjs test/package.test.mjs test/web.test.mjs \
  test/replay.test.mjs)

if [ "$browser" = 1 ]; then
  step "Chromium end-to-end tests (screenshots in bindings-wasm/test-output/screenshots)"
  (cd "$here" && node --test --test-reporter=spec test/e2e.test.mjs)
fi
