#!/usr/bin/env bash
# The drop-in binaries against QEMU 7.2's own iotests:
#
#   dropin/ci.sh [TEST[:FMT] ...]      (default: the pass list below)
#
# Builds qjob-storage-daemon and qjob-system as dropin/build.sh does (release, static
# on glibc Linux) and runs QEMU 7.2's job
# iotests, unmodified, from ../shared/iotests-7.2 beside the repository (its
# run.sh), with qjob's binaries as QEMU_PROG and QSD_PROG and the real
# qemu-img / qemu-io 7.2 making and checking the images (fetched once into
# .cache/qemu72-full by the package's fetch-qemu72.sh). A failing test fails
# the script. Without ../shared/iotests-7.2 it says so and skips them. Then
# tools/check-raw.py: every line the binaries write against QEMU 7.2's raw recordings.
#
# The pass list: the tests that pass against real QEMU 7.2 here (219, 218 for
# qcow2 and raw, 141, qsd-jobs, 129, 056: its backup sync=top target is
# compared with qemu-img compare, so the job's data must really be copied).
# Not run:
#   185        fails against real QEMU 7.2.22 itself (its stable .out expects
#              paused/running pairs from a commit 7.2.x never got);
#   040 041 030  compare image contents after commit, mirror and stream; the
#              data is copied (FileAction::CopyData) and most cases pass, but
#              not all (per-test counts and causes in dropin/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
IOTESTS=${QJOB_IOTESTS:-../shared/iotests-7.2}
QEMU_DIR=.cache/qemu72-full
PASS_LIST=(219 218 218:raw 141 qsd-jobs 129 056)
[ $# -gt 0 ] && PASS_LIST=("$@")

bin=$(bash dropin/build.sh)
if [ ! -x "$IOTESTS/run.sh" ]; then
  echo "dropin: QEMU 7.2's iotests SKIPPED: no $IOTESTS beside the repository"
  exit 0
fi
bash "$IOTESTS/fetch-qemu72.sh" "$QEMU_DIR" >/dev/null
eval "$("$QEMU_DIR/bin/env")"
export QEMU_PROG="$PWD/$bin/qjob-system"
export QSD_PROG="$PWD/$bin/qjob-storage-daemon"
echo "dropin: QEMU 7.2's iotests against qjob's binaries: ${PASS_LIST[*]}"
"$IOTESTS/run.sh" "${PASS_LIST[@]}"

# The bytes on the wire: every line the binaries write, byte for byte against QEMU 7.2's raw
# recordings (NAME.qemu72.raw) of the corpus (timestamps and automatic node numbers masked).
python3 tools/check-raw.py --bin-dir "$bin" scenarios/*.scn
