#!/bin/sh
# apt-get as root, for the scripts that install the Debian packages they need
# (bindings-c/ci.sh, bindings-wasm/ci.sh, tools/fetch-qemu72.sh): run directly when
# the caller is root, through sudo otherwise; without either, say what to run by hand.
#   tools/apt-get.sh update
#   tools/apt-get.sh install -y --no-install-recommends PACKAGE...
set -eu
if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: this step installs Debian packages (apt-get $*);" >&2
    echo "install the equivalent packages with your system's package manager, then run again" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    exec env DEBIAN_FRONTEND=noninteractive apt-get "$@"
fi
if command -v sudo >/dev/null 2>&1; then
    exec sudo env DEBIAN_FRONTEND=noninteractive apt-get "$@"
fi
echo "this step needs root: apt-get $*" >&2
echo "run that as root (sudo is not installed), then run this script again" >&2
exit 1
