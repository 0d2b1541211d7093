#!/usr/bin/env bash
# Builds the WebAssembly module and its two JavaScript packages:
#   pkg-node/  (wasm-bindgen --target nodejs, CommonJS)  and  pkg-web/  (--target web, ES module)
# `build.sh --bench` builds instead, with the same settings, the module with the `bench` feature
# (the `BenchWorkload` class for bench/bench.mjs) into target/qjob-wasm-bench/ (node only);
# `build.sh --profile` the same module with its function names kept, for bench/profile.mjs,
# into target/qjob-wasm-profile/; `build.sh --floor` the `size_floor` example (the core's QMP
# path alone, for bench/size.sh) into target/qjob-wasm-floor/; `build.sh --debug` a debug build
# (no optimisation, with the debug-only `debugPanic` export the panic test calls) into
# target/qjob-wasm-debug/ (node only).
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli at the Cargo.lock version, and
# npm's binaryen (node_modules/.bin/wasm-opt) — ci.sh installs all three. Never Debian's binaryen.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cd "$root"
bench=0 names=0 floor=0
case "${1:-}" in
  "") ;;
  --debug)
    cargo build -q -p qjob-wasm --target wasm32-unknown-unknown
    rm -rf "$root/target/qjob-wasm-debug"
    wasm-bindgen --no-typescript --target nodejs --out-dir "$root/target/qjob-wasm-debug/node" \
      "$root/target/wasm32-unknown-unknown/debug/qjob_wasm.wasm"
    echo '{"type": "commonjs"}' > "$root/target/qjob-wasm-debug/node/package.json"
    echo "module: $root/target/qjob-wasm-debug/node/qjob_wasm.js"
    exit 0 ;;
  --bench) bench=1 ;;
  --profile) bench=1 names=1 ;;
  --floor) floor=1 ;;
  *) echo "usage: build.sh [--bench | --profile | --floor | --debug]" >&2; exit 2 ;;
esac

# The workspace's release profile is shared by every crate; the wasm build gets its own profile
# without touching the root Cargo.toml: LTO, one codegen unit, panic=abort, no debug info, and
# opt-level 3 with wasm-opt -O3 — twice as fast as opt-level "z" with wasm-opt -Oz, which gives
# a module about a third smaller (QJOB_WASM_OPT_LEVEL=z QJOB_WASM_OPT=z; README "Sizes and speed").
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${QJOB_WASM_OPT_LEVEL:-3}" CARGO_PROFILE_RELEASE_LTO=true \
       CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_PANIC=abort \
       CARGO_PROFILE_RELEASE_DEBUG=0
features=() out="$root/target/qjob-wasm" debug=(--strip-debug) keep=()
[ "$bench" = 1 ] && features=(--features bench) out="$root/target/qjob-wasm-bench"
[ "$names" = 1 ] && out="$root/target/qjob-wasm-profile" debug=(-g) keep=(--keep-debug)
# QJOB_WASM_NIGHTLY=<toolchain> (e.g. nightly-2026-10-01, with its rust-src component) rebuilds
# the standard library with panics as plain traps: no panic-message formatting in the module,
# which is smaller (README "Sizes and speed"). A wasm32-unknown-unknown module cannot show a
# panic message either way. Its own target directory keeps the stable build's cache.
cargo=(cargo) target_dir="$root/target"
if [ -n "${QJOB_WASM_NIGHTLY:-}" ]; then
  target_dir="$root/target/wasm-nightly"
  cargo=(cargo "+$QJOB_WASM_NIGHTLY" -Z build-std=std,panic_abort)
  export RUSTFLAGS="${RUSTFLAGS:-} -Zunstable-options -Cpanic=immediate-abort"
fi
build=("${cargo[@]}" build -q -p qjob-wasm --target wasm32-unknown-unknown --release --target-dir "$target_dir")
if [ "$floor" = 1 ]; then
  "${build[@]}" --example size_floor
  wasm="$target_dir/wasm32-unknown-unknown/release/examples/size_floor.wasm"
  out="$root/target/qjob-wasm-floor" bench=1
else
  "${build[@]}" "${features[@]}"
  wasm="$target_dir/wasm32-unknown-unknown/release/qjob_wasm.wasm"
fi

rm -rf "$out" && mkdir -p "$out"
wasm-bindgen "${keep[@]}" --no-typescript --target nodejs --out-dir "$out/node" "$wasm"
[ "$bench" = 1 ] || wasm-bindgen --target web --out-dir "$out/web" "$wasm"

# wasm-opt on wasm-bindgen's output (both targets have the same .wasm).
"$here/node_modules/.bin/wasm-opt" "-O${QJOB_WASM_OPT:-3}" --converge "${debug[@]}" --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/node/$(basename "$wasm" .wasm)_bg.wasm" -o "$out/opt.wasm"
# pkg-node is CommonJS whatever a surrounding package.json says (a "type": "module" there would
# make node read it as ESM: "exports is not defined").
echo '{"type": "commonjs"}' > "$out/node/package.json"
if [ "$bench" = 1 ]; then
  cp "$out/opt.wasm" "$out/node/$(basename "$wasm" .wasm)_bg.wasm"
  echo "module: $out/node/$(basename "$wasm" .wasm).js"
  exit 0
fi
cp "$out/opt.wasm" "$out/web/qjob_wasm_bg.wasm"
cp "$out/opt.wasm" "$out/node/qjob_wasm_bg.wasm"

rm -rf "$here/pkg-node" "$here/pkg-web"
cp -r "$out/node" "$here/pkg-node"
cp -r "$out/web" "$here/pkg-web"
size=$(stat -c %s "$here/pkg-web/qjob_wasm_bg.wasm")
gz=$(gzip -9c "$here/pkg-web/qjob_wasm_bg.wasm" | wc -c)
echo "qjob_wasm_bg.wasm: $size bytes ($((size / 1024)) KiB), gzip -9: $gz bytes ($((gz / 1024)) KiB)"
