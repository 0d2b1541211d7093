#!/bin/sh
# Record scenarios (default: all of scenarios/*.scn) twice from one QEMU, check with
# tools/compare.py that both recordings agree, and write the first next to its scenario
# (NAME.qemu72.txt, or NAME.qemu10.txt with --qemu 10.0). A scenario the QEMU cannot run (with
# --qemu 10.0, one that needs a system emulator) is skipped, as tools/record.py says.
# Usage: tools/record-check.sh [--qemu 7.2|10.0] [--qemu-dir DIR] [--qemu10-daemon PROG] [SCENARIO...]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
opts=""
suffix=qemu72
while [ $# -gt 0 ]; do
    case "$1" in
        --qemu)
            [ $# -ge 2 ] || { echo "--qemu needs a version (7.2 or 10.0)" >&2; exit 2; }
            case "$2" in
                7.2) suffix=qemu72 ;;
                10.0) suffix=qemu10 ;;
                *) echo "unknown QEMU version $2 (7.2 or 10.0)" >&2; exit 2 ;;
            esac
            opts="$opts $1 $2"; shift 2 ;;
        --qemu-dir|--qemu10-daemon)
            [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
            opts="$opts $1 $2"; shift 2 ;;
        --) shift; break ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || set -- "$here"/scenarios/*.scn
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/first" "$tmp/second"
status=0
for scn in "$@"; do
    name=$(basename "$scn" .scn)
    # shellcheck disable=SC2086 # opts is a list of words without blanks
    "$here/tools/record.py" $opts --out-dir "$tmp/first" "$scn" || { status=1; continue; }
    [ -e "$tmp/first/$name.$suffix.txt" ] || continue     # skipped: no transcript
    # shellcheck disable=SC2086
    "$here/tools/record.py" $opts --out-dir "$tmp/second" "$scn" 2>/dev/null || { status=1; continue; }
    if ! "$here/tools/compare.py" "$tmp/first/$name.$suffix.txt" "$tmp/second/$name.$suffix.txt"; then
        echo "NOT DETERMINISTIC: $scn" >&2
        status=1
    fi
    cp "$tmp/first/$name.$suffix.txt" "$(dirname "$scn")/$name.$suffix.txt"
done
exit $status
