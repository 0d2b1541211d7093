#!/usr/bin/env bash
# Builds the WebAssembly module and its two JavaScript packages:
#   pkg-node/  (wasm-bindgen --target nodejs, CommonJS): optimised for speed (cargo profile
#              `wasm`: opt-level 3, then wasm-opt -O3);
#   pkg-web/   (--target web, ES module), what browsers load and the simulator serves:
#              optimised for size (profile `wasm-size`: opt-level "z", then wasm-opt -Oz).
# Both profiles (root Cargo.toml) use LTO, one codegen unit, panic=abort and no debug info.
# The speed profile also gets the rustflags in `speed-rustflags` (LLVM's inliner given a higher
# threshold: a call LLVM leaves costs more inside V8 than natively; on the pair of bench/ it took
# 16% off inside the module and 4% natively); bench/run.sh builds the benchmark's native half
# with the same flags, so that both halves are built alike. The size profile gets the `talc`
# feature instead: the talc allocator in place of Rust's default dlmalloc, some 1.3 KiB less on
# the wire (it is 5-10% slower on the lifecycles, so node's module keeps dlmalloc).
# One module instead, node only, with the profile QJOB_WASM_PROFILE names (`wasm`, the default,
# or `wasm-size`):
#   `build.sh --bench`    the module with the `bench` feature (the `BenchWorkload` class for
#                         bench/bench.mjs) into target/qjob-wasm-bench/;
#   `build.sh --profile`  the same with its function names kept, for bench/profile.mjs, into
#                         target/qjob-wasm-profile/;
#   `build.sh --floor`    the `size_floor` example (the core's QMP path alone, for
#                         bench/size.sh) into target/qjob-wasm-floor/;
#   `build.sh --debug`    a debug build (no optimisation, with the debug-only `debugPanic` export
#                         the panic test calls) into target/qjob-wasm-debug/.
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli at the Cargo.lock version, and
# npm's binaryen (node_modules/.bin/wasm-opt) — ci.sh installs all three. Never Debian's binaryen.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cd "$root"
mode=package
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
  --bench | --profile | --floor) mode=${1#--} ;;
  *) echo "usage: build.sh [--bench | --profile | --floor | --debug]" >&2; exit 2 ;;
esac

# QJOB_WASM_NIGHTLY=<toolchain> (e.g. nightly-2026-10-01, with its rust-src component) rebuilds
# the standard library with panics as plain traps: no panic-message formatting in the module,
# which is smaller (README "Sizes and speed"). A wasm32-unknown-unknown module cannot show a
# panic message itself; without one, a panic reaches JavaScript as the bare
# `RuntimeError: unreachable` instead of a `QjobPanic` carrying the message. Its own target
# directory keeps the stable build's cache.
# The browser's package uses that nightly by default when it is installed with its rust-src and
# wasm32 target (QJOB_WASM_WEB_NIGHTLY names another; QJOB_WASM_WEB_NIGHTLY=none, or a toolchain
# that is not installed, builds it with the stable toolchain like the rest).
nightly_ok() {
  [ -n "$1" ] && [ "$1" != none ] \
    && grep -q '^rust-src' <<<"$(rustup +"$1" component list --installed 2>/dev/null)" \
    && grep -qx wasm32-unknown-unknown <<<"$(rustup +"$1" target list --installed 2>/dev/null)"
}
web_nightly="${QJOB_WASM_NIGHTLY:-${QJOB_WASM_WEB_NIGHTLY-nightly-2026-10-01}}"
nightly_ok "$web_nightly" || web_nightly=""

# toolchain [NIGHTLY]: sets cargo, target_dir and rustflags for a stable build or, with a
# nightly named, for the standard library rebuilt with panics as traps.
toolchain() {
  if [ -n "${1:-}" ]; then
    target_dir="$root/target/wasm-nightly"
    cargo=(cargo "+$1" -Z build-std=std,panic_abort)
    rustflags="${RUSTFLAGS:-} -Zunstable-options -Cpanic=immediate-abort"
  else
    target_dir="$root/target"
    cargo=(cargo)
    rustflags="${RUSTFLAGS:-}"
  fi
}
toolchain "${QJOB_WASM_NIGHTLY:-}"

# module PROFILE TARGET OUT [cargo args…]: builds the module with cargo PROFILE, binds it for
# TARGET (nodejs or web) into OUT and optimises it with wasm-opt (-O3, or -Oz for wasm-size);
# sets $bg to the optimised .wasm in OUT.
module() {
  local profile=$1 target=$2 out=$3 name=qjob_wasm wasm level=3 keep=() debug=(--strip-debug)
  shift 3
  # The browser's module: -Oz, and --low-memory-unused (Rust's stack sits at the bottom of
  # memory and grows down from 1 MiB, so no address below 1024 is used except by a stack
  # overflow, a fault already; wasm-opt may then fold constant offsets into loads/stores).
  local extra=()
  [ "$profile" = wasm-size ] && level=z extra=(--low-memory-unused) && set -- "$@" --features talc
  [ "$mode" = profile ] && keep=(--keep-debug) debug=(-g)
  local flags="$rustflags"
  # The speed profile: speed-rustflags (shared with the benchmark's native half) and WebAssembly's
  # 128-bit SIMD, the vector baseline of every engine the package supports (node >= 20.19), as
  # SSE2 is x86-64's: copies of 16 bytes and more in fewer instructions (the pair of bench/
  # 2-13% faster inside the module, 7% by the median of five bench/ab.mjs runs). The browser's
  # module stays without.
  [ "$profile" = wasm ] && flags="$flags $(cat "$here/speed-rustflags") -C target-feature=+simd128" \
    && extra+=(--enable-simd)
  RUSTFLAGS="$flags" "${cargo[@]}" build -q -p qjob-wasm --target wasm32-unknown-unknown --profile "$profile" \
    --target-dir "$target_dir" "$@"
  wasm="$target_dir/wasm32-unknown-unknown/$profile/$name.wasm"
  if [ "$mode" = floor ]; then
    name=size_floor wasm="$target_dir/wasm32-unknown-unknown/$profile/examples/size_floor.wasm"
  fi
  rm -rf "$out" && mkdir -p "$out"
  local ts=()
  [ "$target" = web ] || ts=(--no-typescript)
  wasm-bindgen "${keep[@]}" "${ts[@]}" --target "$target" --out-dir "$out" "$wasm"
  bg="$out/${name}_bg.wasm"
  "$here/node_modules/.bin/wasm-opt" "-O$level" "${extra[@]}" --converge "${debug[@]}" --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$bg" -o "$bg.opt"
  mv "$bg.opt" "$bg"
  # A node module is CommonJS whatever a surrounding package.json says (a "type": "module"
  # there would make node read it as ESM: "exports is not defined").
  [ "$target" = web ] || echo '{"type": "commonjs"}' > "$out/package.json"
}

if [ "$mode" != package ]; then
  profile="${QJOB_WASM_PROFILE:-wasm}"
  case "$mode" in
    bench) module "$profile" nodejs "$root/target/qjob-wasm-bench/node" --features bench ;;
    profile) module "$profile" nodejs "$root/target/qjob-wasm-profile/node" --features bench ;;
    floor) module "$profile" nodejs "$root/target/qjob-wasm-floor/node" --example size_floor ;;
  esac
  echo "module: ${bg%_bg.wasm}.js"
  exit 0
fi

module wasm nodejs "$root/target/qjob-wasm/node"
toolchain "$web_nightly"
module wasm-size web "$root/target/qjob-wasm/web"
echo "pkg-web built with ${web_nightly:-the stable toolchain}"
rm -rf "$here/pkg-node" "$here/pkg-web"
cp -r "$root/target/qjob-wasm/node" "$here/pkg-node"
cp -r "$root/target/qjob-wasm/web" "$here/pkg-web"
for pkg in pkg-node pkg-web; do
  f="$here/$pkg/qjob_wasm_bg.wasm"
  echo "$pkg/qjob_wasm_bg.wasm: $(node "$here/bench/sizes.mjs" "$f")"
done
