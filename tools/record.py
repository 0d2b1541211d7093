#!/usr/bin/env python3
"""Record transcripts of qjob scenarios against real QEMU 7.2 or 10.0.

usage: tools/record.py [--qemu 7.2|10.0] [--qemu-dir DIR] [--qemu10-daemon PROG] [--raw]
                       [--out-dir DIR | --stdout] SCENARIO...

Each SCENARIO (scenarios/NAME.scn) is run against a fresh QEMU and its transcript is written next
to it (or into --out-dir, or to standard output with --stdout):
  --qemu 7.2   (the default) Debian's QEMU 7.2 as tools/fetch-qemu72.sh extracts it (--qemu-dir);
               writes NAME.qemu72.txt;
  --qemu 10.0  the system's qemu-storage-daemon 10.0 (--qemu10-daemon, else $QEMU10_DAEMON,
               else qemu-storage-daemon on PATH); writes NAME.qemu10.txt. There is no 10.0
               system emulator, so a scenario that needs one (the `machine` directive) is
               skipped with a message and no transcript.
The program's version is checked before anything is recorded.
With --raw the recorder also writes NAME.qemu72.raw (NAME.qemu10.raw): every line QEMU sent, byte
for byte (timestamps, member order, separators and the 
 line end kept), among the exact bytes
the recorder sent and the directive lines; with --stdout it prints that file instead of the
transcript.
The scenario, transcript and raw formats, and every directive, are described in
scenarios/README.md. Python 3 standard library only.
"""

import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

QUIET = 0.3          # quiet period after a reply: no message for this long ...
QUIET_CAP = 5.0      # ... but never longer than this in total
WAIT_LIMIT = 30.0    # wait / wait-event limit
NODES = ("src", "dst", "src2", "dst2")
NODE_SIZE = 67108864


def dumps(obj):
    return json.dumps(obj, sort_keys=True)


class ScenarioError(Exception):
    pass


class Skipped(Exception):
    """A scenario this QEMU cannot run (no transcript is written)."""


class Qemu:
    """One QEMU to record from: its version, its programs and their environment."""

    # version -> transcript suffix (NAME.SUFFIX.txt)
    SUFFIX = {"7.2": "qemu72", "10.0": "qemu10"}

    def __init__(self, version, daemon, system=None, libdirs=(), datadir=None):
        self.version = version
        self.suffix = self.SUFFIX[version]
        self.daemon = daemon      # qemu-storage-daemon
        self.system = system      # qemu-system-x86_64, or None when there is none
        self.libdirs = list(libdirs)  # the system emulator's libraries (LD_LIBRARY_PATH)
        self.datadir = datadir

    @classmethod
    def qemu72(cls, qemu_dir):
        qemu_dir = os.path.abspath(qemu_dir)
        bindir = os.path.join(qemu_dir, "usr", "bin")
        daemon = os.path.join(bindir, "qemu-storage-daemon")
        if not os.path.exists(daemon):
            raise ScenarioError("no QEMU 7.2 in %s: run tools/fetch-qemu72.sh first (or pass --qemu-dir)"
                                % qemu_dir)
        q = cls("7.2", daemon, os.path.join(bindir, "qemu-system-x86_64"),
                [os.path.join(qemu_dir, "usr", "lib", "x86_64-linux-gnu"),
                 os.path.join(qemu_dir, "lib", "x86_64-linux-gnu")],
                os.path.join(qemu_dir, "usr", "share", "qemu"))
        q.check_version()
        return q

    @classmethod
    def qemu10(cls, daemon):
        found = shutil.which(daemon)
        if found is None:
            raise ScenarioError("no %s: QEMU 10.0's storage daemon is in Debian's qemu-utils 10.0 "
                                "(pass --qemu10-daemon)" % daemon)
        q = cls("10.0", os.path.abspath(found))
        q.check_version()
        return q

    def env(self, machine=None):
        """The environment to run it in: the system emulator finds its extracted libraries."""
        env = dict(os.environ)
        if machine is not None and self.libdirs:
            libs = self.libdirs + ([env["LD_LIBRARY_PATH"]] if env.get("LD_LIBRARY_PATH") else [])
            env["LD_LIBRARY_PATH"] = ":".join(libs)
        return env

    def check_version(self):
        """Refuse a program that is not the QEMU asked for (its first --version line)."""
        try:
            out = subprocess.run([self.daemon, "--version"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, check=False).stdout.decode("utf-8", "replace")
        except OSError as e:
            raise ScenarioError("%s: %s" % (self.daemon, e))
        first = out.splitlines()[0] if out else ""
        if not first.startswith("qemu-storage-daemon version %s." % self.version):
            raise ScenarioError("%s is not QEMU %s: %r" % (self.daemon, self.version, first))

    def argv(self, machine, sockpath, workdir, drives=()):
        """The command line of a QEMU with the four nodes, the -drive options (machine
        scenarios only) and a QMP monitor on sockpath."""
        if machine is None:
            argv = [self.daemon]
            for n in NODES:
                argv += ["--blockdev", "null-co,node-name=%s,size=%d,read-zeroes=on" % (n, NODE_SIZE)]
            return argv + ["--chardev", "socket,id=m0,path=%s,server=on,wait=off" % sockpath,
                           "--monitor", "chardev=m0"]
        if self.system is None:
            raise Skipped("needs a system emulator (machine %s); QEMU %s is here only as "
                          "qemu-storage-daemon" % (machine, self.version))
        argv = [self.system, "-machine", machine, "-nodefaults", "-display", "none"]
        if self.datadir:
            argv += ["-L", self.datadir]
        if machine == "pc":
            # A PC whose guest never runs (as under the iotests' qtest accelerator): a
            # 64 KiB ROM whose reset vector is cli; hlt; jmp back to hlt.
            bios = os.path.join(workdir, "halt-bios.bin")
            with open(bios, "wb") as f:
                f.write(b"\0" * 65520 + b"\xfa\xf4\xeb\xfd" + b"\0" * 12)
            argv += ["-accel", "tcg", "-bios", bios]
        for n in NODES:
            argv += ["-blockdev", "null-co,node-name=%s,size=%d,read-zeroes=on" % (n, NODE_SIZE)]
        for d in drives:
            argv += ["-drive", d]
        return argv + ["-chardev", "socket,id=m0,path=%s,server=on,wait=off" % sockpath,
                       "-mon", "chardev=m0,mode=control"]


class QMP:
    """A QMP connection over a unix socket, read with our own line buffer."""

    def __init__(self, path, proc, timeout=10.0):
        self.proc = proc
        deadline = time.monotonic() + timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                break
            except OSError:
                s.close()
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ScenarioError("cannot connect to QEMU's QMP socket %s" % path)
                time.sleep(0.02)
        self.sock = s
        self.buf = b""
        self.eof = False
        self.last_line = b""      # the last message's bytes as QEMU sent them, line end included

    def send(self, text):
        data = text.encode("utf-8")
        self.sock.sendall(data + b"\n")
        return data

    def recv(self, timeout):
        """Return one parsed message, or None when nothing arrives within timeout (or EOF)."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                raw, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                line = raw.strip()
                if not line:
                    continue
                self.last_line = raw
                return json.loads(line.decode("utf-8"))
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:  # a system emulator that quit
                data = b""
            if not data:
                self.eof = True
                continue
            self.buf += data

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Recorder:
    def __init__(self, qemu, workdir, out, raw=None):
        self.qemu = qemu
        self.workdir = workdir
        self.out = out            # list of transcript lines
        self.raw = raw            # list of raw lines (bytes, each ending in b"\n"), or None
        self.proc = None
        self.qmp = None
        self.seen = []            # events (name, data) seen since the last command
        self.formats = {}         # image file -> format, for backing files

    # ---- output -------------------------------------------------------------------------
    def emit(self, line):
        self.out.append(line)
        if self.raw is not None and line.startswith("~"):
            self.raw.append(line.encode("utf-8") + b"\n")

    def sent(self, data):
        """Record the bytes of a line the recorder wrote to QEMU (raw mode)."""
        if self.raw is not None:
            self.raw.append(b"> " + data + b"\n")

    def handle(self, msg):
        """Print one incoming message; return True if it was a reply."""
        if self.raw is not None:
            self.raw.append(self.qmp.last_line)
        if "event" in msg:
            data = msg.get("data", {})
            self.emit("! %s %s" % (msg["event"], dumps(data)))
            self.seen.append((msg["event"], data))
            return False
        self.emit("< " + dumps(msg))
        return True

    # ---- QEMU process -------------------------------------------------------------------
    def start(self, machine, drives=()):
        sockpath = os.path.join(self.workdir, "qmp.sock")
        argv = self.qemu.argv(machine, sockpath, self.workdir, drives)
        self.stderr = open(os.path.join(self.workdir, "qemu.stderr"), "wb")
        self.proc = subprocess.Popen(argv, cwd=self.workdir, env=self.qemu.env(machine),
                                     stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr)
        self.qmp = QMP(sockpath, self.proc)
        greeting = self.qmp.recv(10.0)
        if not greeting or "QMP" not in greeting:
            raise ScenarioError("no QMP greeting: %r" % (greeting,))
        if self.raw is not None:
            self.raw.append(self.qmp.last_line)
        self.sent(self.qmp.send('{"execute": "qmp_capabilities"}'))
        reply = self.qmp.recv(10.0)
        if not reply or "return" not in reply:
            raise ScenarioError("qmp_capabilities failed: %r" % (reply,))
        if self.raw is not None:
            self.raw.append(self.qmp.last_line)

    def stop(self):
        if self.proc is None:
            return
        try:
            if self.qmp and not self.qmp.eof:
                self.qmp.send('{"execute": "quit"}')
        except OSError:
            pass
        try:
            self.proc.wait(2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.qmp:
            self.qmp.close()
        self.stderr.close()
        self.proc = None

    # ---- reading ------------------------------------------------------------------------
    def read_reply(self):
        """Read (printing events) until a reply arrives, then the quiet period."""
        deadline = time.monotonic() + WAIT_LIMIT
        while True:
            msg = self.qmp.recv(deadline - time.monotonic())
            if msg is None:
                self.emit("~ NO REPLY")
                return
            if self.handle(msg):
                break
        self.quiet()

    def quiet(self):
        cap = time.monotonic() + QUIET_CAP
        while True:
            left = min(QUIET, cap - time.monotonic())
            if left <= 0:
                return
            msg = self.qmp.recv(left)
            if msg is None:
                return
            self.handle(msg)

    def wait_for(self, pred):
        deadline = time.monotonic() + WAIT_LIMIT
        while not any(pred(name, data) for name, data in self.seen):
            left = deadline - time.monotonic()
            msg = self.qmp.recv(left) if left > 0 else None
            if msg is None:
                self.emit("~ WAIT TIMEOUT")
                return
            self.handle(msg)

    def settle(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            msg = self.qmp.recv(left)
            if msg is not None:
                self.handle(msg)

    # ---- images -------------------------------------------------------------------------
    def image(self, spec):
        name = spec["file"]
        fmt = spec.get("format", "qcow2")
        size = int(spec["size"])
        if "/" in name:
            raise ScenarioError("image file names must be plain names: %r" % name)
        argv = ["qemu-img", "create", "-q", "-f", fmt]
        if "backing" in spec:
            bfmt = self.formats.get(spec["backing"], "qcow2")
            argv += ["-b", spec["backing"], "-F", bfmt]
        argv += [name, str(size)]
        subprocess.run(argv, cwd=self.workdir, check=True, stdout=subprocess.DEVNULL)
        for off, length in spec.get("data", []):
            subprocess.run(["qemu-io", "-f", fmt, "-c", "write -P 0x5a %d %d" % (off, length), name],
                           cwd=self.workdir, check=True, stdout=subprocess.DEVNULL)
        self.formats[name] = fmt
        self.emit("~ image " + name)

    # ---- scenario -----------------------------------------------------------------------
    def run(self, lines):
        items = []
        for lineno, raw in enumerate(lines, 1):
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            try:
                items.append((lineno, json.loads(s)))
            except ValueError as e:
                raise ScenarioError("line %d: not JSON: %s" % (lineno, e))
        machine = None
        if items and "machine" in items[0][1]:
            machine = items[0][1]["machine"]
            if machine not in ("none", "pc"):
                raise ScenarioError("machine must be none or pc")
            self.emit("~ machine " + machine)
            items = items[1:]
        # The command line: the leading image and drive lines, when there is a drive (its
        # images are made before QEMU starts and opens them).
        lead = 0
        while lead < len(items) and ("image" in items[lead][1] or "drive" in items[lead][1]):
            lead += 1
        if not any("drive" in obj for _, obj in items[:lead]):
            lead = 0
        drives = []
        for lineno, obj in items[:lead]:
            if "image" in obj:
                self.image(obj["image"])
                continue
            if machine is None:
                raise ScenarioError("line %d: drive needs the machine directive" % lineno)
            self.emit("~ drive " + dumps(obj["drive"]))
            drives.append(drive_opts(obj["drive"]))
        items = items[lead:]
        # QEMU starts; image directives then run in scenario order, each before the commands
        # that follow it.
        self.start(machine, drives)
        try:
            for lineno, obj in items:
                self.step(lineno, obj)
        finally:
            self.stop()

    def step(self, lineno, obj):
        if not isinstance(obj, dict):
            raise ScenarioError("line %d: not a JSON object" % lineno)
        if self.qmp.eof and ("execute" in obj or "send" in obj):
            raise ScenarioError("line %d: QEMU has exited (a command after quit?)" % lineno)
        if "execute" in obj:
            self.seen = []
            self.emit("> " + dumps(obj))
            self.sent(self.qmp.send(json.dumps(obj)))
            self.read_reply()
        elif "send" in obj:
            self.seen = []
            self.emit("> " + obj["send"])
            self.sent(self.qmp.send(obj["send"]))
            self.read_reply()
        elif "wait" in obj:
            want = obj["wait"]
            self.emit("~ wait " + dumps(want))
            self.wait_for(lambda n, d: n == "JOB_STATUS_CHANGE" and d == want)
        elif "wait-event" in obj:
            name, jid = obj["wait-event"], obj["id"]
            self.emit("~ wait-event %s %s" % (name, jid))
            self.wait_for(lambda n, d: n == name and (d.get("id", d.get("device")) == jid))
        elif "settle" in obj:
            self.emit("~ settle")
            self.settle(float(obj["settle"]))
        elif "image" in obj:
            self.image(obj["image"])
        elif "machine" in obj:
            raise ScenarioError("line %d: machine must be the first directive" % lineno)
        elif "drive" in obj:
            raise ScenarioError("line %d: drive lines come before any command" % lineno)
        else:
            raise ScenarioError("line %d: unknown directive %s" % (lineno, dumps(obj)))


def drive_opts(obj):
    """A drive directive's object as -drive takes it: key=value pairs, commas doubled."""
    def text(v):
        if isinstance(v, bool):
            return "on" if v else "off"
        return str(v)
    return ",".join("%s=%s" % (k, text(v).replace(",", ",,")) for k, v in obj.items())


def not_recorded(path, qemu):
    """The reason `scenarios/SUFFIX-not-recorded.txt` gives for not recording this scenario from
    this QEMU (one that aborts part-way), or None. Lines are `NAME: reason` (`qemu10/NAME` for
    scenarios/qemu10/), `#` starts a comment."""
    scn_dir = os.path.dirname(os.path.abspath(path))
    top = os.path.dirname(scn_dir) if os.path.basename(scn_dir) == "qemu10" else scn_dir
    name = os.path.relpath(os.path.splitext(os.path.abspath(path))[0], top)
    try:
        with open(os.path.join(top, "%s-not-recorded.txt" % qemu.suffix), encoding="utf-8") as f:
            for line in f:
                key, sep, why = line.partition(":")
                if sep and not key.startswith("#") and key.strip() == name:
                    return why.strip()
    except FileNotFoundError:
        pass
    return None


def record(path, qemu, raw=False):
    """Run one scenario: (its transcript, its raw lines as bytes or None)."""
    why = not_recorded(path, qemu)
    if why is not None:
        raise Skipped("not recorded from QEMU %s: %s" % (qemu.version, why))
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    raw_lines = [] if raw else None
    workdir = tempfile.mkdtemp(prefix="qjob-rec-")
    try:
        rec = Recorder(qemu, workdir, out, raw_lines)
        rec.run(lines)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return "".join(line + "\n" for line in out), (b"".join(raw_lines) if raw else None)


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(
        description="Run qjob scenarios against real QEMU 7.2 or 10.0 and write their transcripts "
                    "(NAME.scn -> NAME.qemu72.txt or NAME.qemu10.txt). See scenarios/README.md "
                    "for the formats.")
    ap.add_argument("--qemu", choices=sorted(Qemu.SUFFIX), default="7.2",
                    help="the QEMU to record from (default 7.2)")
    ap.add_argument("--qemu-dir", default=os.environ.get("QEMU72_DIR", os.path.join(here, ".cache", "qemu72")),
                    help="7.2: where tools/fetch-qemu72.sh extracted QEMU 7.2 (default: $QEMU72_DIR or .cache/qemu72)")
    ap.add_argument("--qemu10-daemon", default=os.environ.get("QEMU10_DAEMON", "qemu-storage-daemon"),
                    help="10.0: the qemu-storage-daemon 10.0 to run (default: $QEMU10_DAEMON or "
                         "qemu-storage-daemon on PATH)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--out-dir", help="write transcripts into this directory instead of next to each scenario")
    g.add_argument("--stdout", action="store_true",
                   help="print transcripts (with --raw: the raw lines) to standard output")
    ap.add_argument("--raw", action="store_true",
                    help="also write NAME.qemu72.raw (NAME.qemu10.raw), every line QEMU sent byte for byte")
    ap.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    args = ap.parse_args()

    try:
        qemu = Qemu.qemu72(args.qemu_dir) if args.qemu == "7.2" else Qemu.qemu10(args.qemu10_daemon)
    except ScenarioError as e:
        sys.exit(str(e))
    status = 0
    for path in args.scenarios:
        t0 = time.monotonic()
        try:
            text, raw = record(path, qemu, args.raw)
        except Skipped as e:
            print("%s: skipped: %s" % (path, e), file=sys.stderr)
            continue
        except (ScenarioError, subprocess.CalledProcessError, OSError) as e:
            print("%s: %s" % (path, e), file=sys.stderr)
            status = 1
            continue
        if args.stdout:
            if raw is not None:
                sys.stdout.buffer.write(raw)
            else:
                sys.stdout.write(text)
            sys.stdout.flush()
            continue
        base = os.path.basename(path)
        if base.endswith(".scn"):
            base = base[:-4]
        dest_dir = args.out_dir or os.path.dirname(path) or "."
        dest = os.path.join(dest_dir, "%s.%s.txt" % (base, qemu.suffix))
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text)
        if raw is not None:
            with open(os.path.join(dest_dir, "%s.%s.raw" % (base, qemu.suffix)), "wb") as f:
                f.write(raw)
        print("%s -> %s (%.1fs)%s" % (path, dest, time.monotonic() - t0,
                                      "  [WAIT TIMEOUT]" if "~ WAIT TIMEOUT" in text else ""),
              file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
