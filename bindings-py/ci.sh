#!/usr/bin/env bash
# CI for qjob's Python binding (bindings-py/): run from anywhere, repeatable.
#
#  1. the virtualenv .venv at the repository root (created once, reused), with pinned tools;
#  2. the extension built into it (maturin develop --release), rustfmt + clippy on the crate;
#  3. mypy --strict on the tests and the package, stubtest of the compiled module's stubs;
#  4. every scenario replayed by `python -m qjob replay`, byte-compared with the Rust replayer;
#  5. `pip install ./bindings-py` into a brand-new virtualenv (skip: QJOB_SKIP_FRESH_VENV=1);
#  6. the pytest suite (API, errors, pickling, plugin, QMP server, qemu.qmp against qjob and,
#     when present, real QEMU 7.2 from $QEMU72_DIR, .cache/qemu72 or /tmp/qemu72).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
PYTHON=${PYTHON:-python3}
VENV=.venv
PINS=("maturin==1.16.0" "pytest==9.2.0" "mypy==2.4.1" "qemu.qmp==0.0.6")

step() { printf '\n== %s\n' "$*"; }

step "virtualenv $VENV and pinned tools"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
missing=()
for pin in "${PINS[@]}"; do
    "$VENV/bin/python" -m pip show "${pin%%==*}" 2>/dev/null | grep -qx "Version: ${pin#*==}" || missing+=("$pin")
done
if [ "${#missing[@]}" -gt 0 ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
fi
"$VENV/bin/python" --version

step "build: maturin develop --release, rustfmt, clippy"
cargo fmt -p qjob-py -- --check
cargo build -q --release -p qjob --example replay
"$VENV/bin/maturin" develop -q --release -m bindings-py/Cargo.toml
cargo clippy -q -p qjob-py --no-deps --all-targets -- -D warnings

step "mypy --strict, stubtest"
export MYPY_CACHE_DIR=${CARGO_TARGET_DIR:-target}/mypy-cache
"$VENV/bin/python" -m mypy --strict bindings-py/tests bindings-py/python/qjob bindings-py/bench
# stubtest keeps its cache in the working directory
(mkdir -p "$MYPY_CACHE_DIR" && cd "$MYPY_CACHE_DIR" && "$OLDPWD/$VENV/bin/python" -m mypy.stubtest qjob._qjob)

step "replay: python -m qjob replay vs the Rust replayer, every scenario"
RUST_REPLAY=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/replay
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for scn in scenarios/*.scn; do
    "$RUST_REPLAY" "$scn" >"$tmp/rust.txt"
    "$VENV/bin/python" -m qjob replay "$scn" >"$tmp/py.txt"
    if ! cmp -s "$tmp/rust.txt" "$tmp/py.txt"; then
        echo "DIFFERENT: $scn" >&2
        diff "$tmp/rust.txt" "$tmp/py.txt" | head -20 >&2
        exit 1
    fi
    n=$((n + 1))
done
"$RUST_REPLAY" scenarios/*.scn >"$tmp/rust.txt"
"$VENV/bin/python" -m qjob replay scenarios/*.scn >"$tmp/py.txt"
cmp "$tmp/rust.txt" "$tmp/py.txt"
echo "$n scenarios: byte-identical transcripts (each alone and all in one run)"

if [ "${QJOB_SKIP_FRESH_VENV:-0}" != 1 ]; then
    step "pip install ./bindings-py into a fresh virtualenv"
    fresh=${CARGO_TARGET_DIR:-target}/py-fresh-venv
    rm -rf "$fresh"
    "$PYTHON" -m venv "$fresh"
    "$fresh/bin/python" -m pip install -q --disable-pip-version-check ./bindings-py
    "$fresh/bin/python" - <<'EOF'
import qjob, qjob.server
m = qjob.JobManager()
m.backup("b0", "src", "dst")
assert m.wait("b0", "null") and m.query_jobs() == []
print("fresh venv: qjob", qjob.__version__, "imports and runs a backup")
EOF
    "$fresh/bin/python" -m qjob replay scenarios/backup-basic.scn | cmp - <("$RUST_REPLAY" scenarios/backup-basic.scn)
    rm -rf "$fresh"
fi

step "pytest"
cd bindings-py
QJOB_RUST_REPLAY=$RUST_REPLAY "../$VENV/bin/python" -m pytest -q -rs -p no:cacheprovider tests
