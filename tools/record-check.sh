#!/bin/sh
# Record scenarios (default: all of scenarios/*.scn) next to themselves, record them a second
# time into a scratch directory, and check with tools/compare.py that both recordings agree.
# Usage: tools/record-check.sh [--qemu-dir DIR] [SCENARIO...]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
qd=""
if [ "${1:-}" = "--qemu-dir" ]; then qd="--qemu-dir $2"; shift 2; fi
[ $# -gt 0 ] || set -- "$here"/scenarios/*.scn
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for scn in "$@"; do
    name=$(basename "$scn" .scn)
    "$here/tools/record.py" $qd "$scn" || { status=1; continue; }
    "$here/tools/record.py" $qd --out-dir "$tmp" "$scn" || { status=1; continue; }
    if ! "$here/tools/compare.py" "$(dirname "$scn")/$name.qemu72.txt" "$tmp/$name.qemu72.txt"; then
        echo "NOT DETERMINISTIC: $scn" >&2
        status=1
    fi
done
exit $status
