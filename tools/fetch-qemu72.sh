#!/bin/sh
# Fetch QEMU 7.2 (Debian bookworm build) into a cache directory without installing it.
# Usage: tools/fetch-qemu72.sh [DIR]   (default: .cache/qemu72 in the repository, git-ignored)
# Afterwards: DIR/usr/bin/qemu-storage-daemon and DIR/usr/bin/qemu-system-x86_64; the latter needs
#   LD_LIBRARY_PATH=DIR/usr/lib/x86_64-linux-gnu:DIR/lib/x86_64-linux-gnu
# Idempotent: does nothing when DIR/usr/bin/qemu-storage-daemon already reports version 7.2.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/.cache/qemu72}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ -x "$dir/usr/bin/qemu-storage-daemon" ] && [ -x "$dir/usr/bin/qemu-system-x86_64" ] &&
   "$dir/usr/bin/qemu-storage-daemon" --version 2>/dev/null | grep -q 'version 7\.2'; then
    echo "QEMU 7.2 already in $dir"
    exit 0
fi

want=1:7.2+dfsg-7+deb12u18+b3
libs="libcapstone4 libfdt1 libpmem1 librdmacm1 libibverbs1 libslirp0 libvdeplug2 libndctl6 libdaxctl1 libnl-3-200 libnl-route-3-200"

# Pick the QEMU version: the pinned one if apt knows it, else any 7.2 build on offer.
pick_version() {
    pkg=$1
    if apt-cache madison "$pkg" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qx "$want"; then
        echo "$want"; return
    fi
    apt-cache madison "$pkg" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep '^1:7\.2' | head -n1
}

ver=$(pick_version qemu-system-common || true)
if [ -z "$ver" ]; then
    "$here/tools/apt-get.sh" update >/dev/null
    ver=$(pick_version qemu-system-common || true)
fi
if [ -z "$ver" ]; then
    echo "no QEMU 7.2 build offered by apt (apt-cache policy qemu-system-common)" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download "qemu-system-common=$ver" "qemu-system-x86=$ver" $libs
for deb in ./*.deb; do
    dpkg -x "$deb" "$dir"
done
"$dir/usr/bin/qemu-storage-daemon" --version | head -n1
echo "QEMU 7.2 extracted into $dir"
