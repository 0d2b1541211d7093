#!/usr/bin/env python3
"""The bytes on the wire: every line qjob's drop-in binaries write, against QEMU 7.2's.

usage: tools/check-raw.py [--bin-dir DIR] SCENARIO...

For each scenario with a raw recording (NAME.qemu72.raw, `tools/record.py --raw`: every line
QEMU 7.2 sent, byte for byte), the scenario is replayed through the drop-in binaries by
tools/replay-dropin.py, capturing every line the binary writes the same way. The two must hold
the same lines, byte for byte (separators, member order, escapes, `\\r\\n`), each as many times,
with three things masked on both sides: event timestamps (wall-clock time), the numbers of
automatic node names (`#block123`, which QEMU draws from a counter of every node it ever made)
and Debian's rebuild number in the greeting's package (`+b2`, `+b3`: binary rebuilds of the same
7.2.22 source; the recordings come from whichever apt offered).
Where each line falls (its window, its order among events) is the transcript's contract, which
tests/conformance.sh checks with tools/compare.py; this check is about how each message is
written. Scenarios without a raw recording are counted and named. Exit status 1 on any
difference. The `image` directive needs QEMU 7.2's qemu-img and qemu-io on PATH, as the
drop-in runner does. Python 3 standard library only.
"""

import argparse
import collections
import importlib.util
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("replay_dropin", os.path.join(HERE, "replay-dropin.py"))
replay_dropin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(replay_dropin)

TIMESTAMP = re.compile(rb'"timestamp": \{"seconds": \d+, "microseconds": \d+\}')
AUTO_NODE = re.compile(rb"#block\d+")
# Debian's binary rebuild number of the same 7.2.22 source (`+b2`, `+b3`): the recordings come
# from the build apt offered when each was made; qjob's greeting names the corpus's.
REBUILD = re.compile(rb'("package": "Debian [^"]*)\+b\d+"')


def masked(lines):
    return collections.Counter(
        REBUILD.sub(rb'\1+bN"', AUTO_NODE.sub(b"#blockN", TIMESTAMP.sub(b'"timestamp": T', line)))
        for line in lines)


def main():
    root = os.path.dirname(HERE)
    ap = argparse.ArgumentParser(description="Every line the drop-in binaries write, byte for "
                                             "byte against QEMU 7.2's raw recordings.")
    ap.add_argument("--bin-dir", default=os.path.join(root, "target", "release"),
                    help="where qjob-storage-daemon and qjob-system are (default: target/release)")
    ap.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin_dir)
    checked, lines, differ, missing = 0, 0, [], []
    for path in args.scenarios:
        raw_path = path[:-4] + ".qemu72.raw" if path.endswith(".scn") else path + ".qemu72.raw"
        if not os.path.exists(raw_path):
            missing.append(os.path.basename(path))
            continue
        ours = []
        try:
            replay_dropin.replay(path, bin_dir, "7.2", ours)
        except Exception as e:  # noqa: BLE001 (reported as a difference)
            differ.append(path)
            print("DIFF %s: the replay failed: %s" % (path, e))
            continue
        with open(raw_path, "rb") as f:
            theirs = f.read().splitlines(True)
        a, b = masked(ours), masked(theirs)
        checked += 1
        lines += sum(b.values())
        if a != b:
            differ.append(path)
            print("DIFF %s" % path)
            for x in list((a - b).elements())[:3]:
                print("  qjob only:   %r" % x[:300])
            for x in list((b - a).elements())[:3]:
                print("  QEMU 7.2 only: %r" % x[:300])
    print("raw wire check: %d scenarios, %d lines, byte-identical to QEMU 7.2 (timestamps and "
          "automatic node numbers masked): %s" % (checked, lines, "yes" if not differ else
                                                  "NO (%d differ)" % len(differ)))
    if missing:
        print("  no raw recording (tools/record.py --raw) for %d: %s" % (len(missing), " ".join(missing)))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
