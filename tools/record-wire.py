#!/usr/bin/env python3
"""Record what QEMU 7.2's QMP monitors write, byte for byte, for wire scripts.

usage: tools/record-wire.py [--qemu-dir DIR] [--stdout] SCRIPT...

A wire script (core/tests/wire/NAME.wire) drives one QEMU 7.2 process over one or more QMP
sockets with exact bytes, one step a line (`#` lines and blank lines are kept as they are):

    machine none        first line only: qemu-system-x86_64 -machine none instead of the
                        storage daemon (both with the four 64 MiB null-co nodes of scenarios/)
    connect A           connect client A (a name: letters and digits) to a monitor of its own
    send A "TEXT"       write TEXT's bytes on A in one write: a JSON string whose characters
                        U+0000..U+00FF are the bytes (so "\\u00ff" is the byte 0xff)
    eof A               end A's output (shutdown for writing)
    close A             close A

After each step the recorder reads every connection until 0.3 s pass with nothing new (5 s at
most) and writes what came, connection by connection, after the step:

    recv A "LINE"       one message as A read it, with its line end (same encoding as send)
    exit                the QEMU process exited

Re-recording rewrites the script in place with fresh recv / exit lines (or prints it with
--stdout). core/tests/wire.rs feeds the same steps to qjob's QMP server and compares the
bytes, with the event timestamps masked. Python 3 standard library only.
"""

import argparse
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

QUIET = 0.3
QUIET_CAP = 5.0
NODES = ("src", "dst", "src2", "dst2")
NODE_SIZE = 67108864


class WireError(Exception):
    pass


def encode(data):
    return json.dumps(data.decode("latin-1"))


def decode(text):
    s = json.loads(text)
    if not isinstance(s, str):
        raise WireError("not a JSON string: %s" % text)
    return s.encode("latin-1")


def parse(lines):
    """The steps of a script: (kind, name, data, original line); recv/exit lines dropped."""
    steps = []
    for no, line in enumerate(lines, 1):
        s = line.strip()
        if not s or s.startswith("#"):
            steps.append(("keep", None, None, line))
            continue
        word, _, rest = s.partition(" ")
        if word in ("recv", "exit"):
            continue
        if word == "machine":
            steps.append(("machine", rest, None, line))
        elif word in ("connect", "eof", "close"):
            steps.append((word, rest, None, line))
        elif word == "send":
            name, _, text = rest.partition(" ")
            steps.append(("send", name, decode(text), line))
        else:
            raise WireError("line %d: unknown step %r" % (no, word))
    return steps


class Qemu:
    def __init__(self, qemu_dir, workdir, machine, names):
        self.sockets = {n: os.path.join(workdir, "m%d.sock" % i) for i, n in enumerate(names)}
        bindir = os.path.join(qemu_dir, "usr", "bin")
        env = dict(os.environ)
        libs = [os.path.join(qemu_dir, "usr", "lib", "x86_64-linux-gnu"),
                os.path.join(qemu_dir, "lib", "x86_64-linux-gnu")]
        env["LD_LIBRARY_PATH"] = ":".join(libs + ([env["LD_LIBRARY_PATH"]] if env.get("LD_LIBRARY_PATH") else []))
        if machine:
            argv = [os.path.join(bindir, "qemu-system-x86_64"), "-machine", machine, "-nodefaults",
                    "-display", "none", "-L", os.path.join(qemu_dir, "usr", "share", "qemu")]
            opt, mon = "-blockdev", lambda i: ["-mon", "chardev=m%d,mode=control" % i]
            chardev = "-chardev"
        else:
            argv = [os.path.join(bindir, "qemu-storage-daemon")]
            opt, mon = "--blockdev", lambda i: ["--monitor", "chardev=m%d" % i]
            chardev = "--chardev"
        for n in NODES:
            argv += [opt, "null-co,node-name=%s,size=%d,read-zeroes=on" % (n, NODE_SIZE)]
        for i, n in enumerate(names):
            argv += [chardev, "socket,id=m%d,path=%s,server=on,wait=off" % (i, self.sockets[n])] + mon(i)
        self.proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.conns = {}
        self.exited = False

    def connect(self, name):
        deadline = time.monotonic() + 10
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.sockets[name])
                break
            except OSError:
                s.close()
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise WireError("cannot connect %s" % name)
                time.sleep(0.02)
        self.conns[name] = [s, b"", False]

    def read(self):
        """What each open connection received until quiet: {name: [line, ...]}."""
        got = {n: [] for n in self.conns}
        cap = time.monotonic() + QUIET_CAP
        while True:
            live = [c[0] for c in self.conns.values() if not c[2]]
            left = min(QUIET, cap - time.monotonic())
            if not live or left <= 0:
                break
            r, _, _ = select.select(live, [], [], left)
            if not r:
                break
            for name, c in self.conns.items():
                if c[0] not in r:
                    continue
                try:
                    data = c[0].recv(1 << 20)
                except ConnectionResetError:
                    data = b""
                if not data:
                    c[2] = True
                    continue
                c[1] += data
                while b"\n" in c[1]:
                    line, _, c[1] = c[1].partition(b"\n")
                    got[name].append(line + b"\n")
        if not self.exited and any(c[2] for c in self.conns.values()):
            # A connection closed by QEMU: give a process on its way out time to end.
            try:
                self.proc.wait(QUIET_CAP)
            except subprocess.TimeoutExpired:
                pass
        if not self.exited and self.proc.poll() is not None:
            self.exited = True
            got["exit"] = []
        return got

    def stop(self):
        for c in self.conns.values():
            c[0].close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def record(path, qemu_dir):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    steps = parse(lines)
    machine = next((s[1] for s in steps if s[0] == "machine"), None)
    names = []
    for kind, name, _, _ in steps:
        if kind == "connect" and name not in names:
            names.append(name)
    out = []
    workdir = tempfile.mkdtemp(prefix="qjob-wire-")
    q = Qemu(qemu_dir, workdir, machine, names)
    try:
        for kind, name, data, line in steps:
            out.append(line)
            if kind in ("keep", "machine"):
                continue
            if kind == "connect":
                q.connect(name)
            elif kind == "send":
                q.conns[name][0].sendall(data)
            elif kind == "eof":
                q.conns[name][0].shutdown(socket.SHUT_WR)
            elif kind == "close":
                q.conns.pop(name)[0].close()
            got = q.read()
            for n in names:
                for l in got.get(n, []):
                    out.append("recv %s %s" % (n, encode(l)))
            if "exit" in got:
                out.append("exit")
    finally:
        q.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return "".join(l + "\n" for l in out)


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description="Record QEMU 7.2's QMP bytes for wire scripts (see the module docs).")
    ap.add_argument("--qemu-dir", default=os.environ.get("QEMU72_DIR", os.path.join(here, ".cache", "qemu72")),
                    help="where tools/fetch-qemu72.sh extracted QEMU 7.2 (default: $QEMU72_DIR or .cache/qemu72)")
    ap.add_argument("--stdout", action="store_true", help="print the recorded scripts instead of rewriting them")
    ap.add_argument("scripts", nargs="+", metavar="SCRIPT")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.qemu_dir, "usr", "bin", "qemu-storage-daemon")):
        sys.exit("no QEMU 7.2 in %s: run tools/fetch-qemu72.sh first (or pass --qemu-dir)" % args.qemu_dir)
    status = 0
    for path in args.scripts:
        try:
            text = record(path, os.path.abspath(args.qemu_dir))
        except (WireError, OSError, ValueError) as e:
            print("%s: %s" % (path, e), file=sys.stderr)
            status = 1
            continue
        if args.stdout:
            sys.stdout.write(text)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print("%s recorded" % path, file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
