#!/usr/bin/env python3
"""Replay qjob scenarios through qjob's drop-in binaries, driven over their QMP socket by the recorder.

usage: tools/replay-dropin.py [--qemu 7.2|10.0] [--bin-dir DIR] [--out-dir DIR] SCENARIO...

The recorder (tools/record.py) runs each scenario against qjob-storage-daemon (or qjob-system for
the `machine` directive) exactly as it runs one against QEMU 7.2: the same command line (with
qjob's binaries in QEMU's place), the same QMP socket, the same bytes sent, the same transcript.
Only time differs: the binaries run on manual virtual time (`--x-qjob-time manual`), and what the
recorder does by waiting in real time is asked of them instead, so a run is fast and
deterministic. With --qemu 10.0 the binaries reproduce QEMU 10.0 (`--x-qjob-qemu 10.0`, their
greeting and behaviour 10.0's), as the other runners' `--qemu 10.0` does:
  - the quiet period after a reply: `x-qjob-settle` (the work ready at this instant runs; every
    message before its reply belongs to the window);
  - `wait` / `wait-event`: `x-qjob-wait` (virtual time runs, from deadline to deadline, until the
    event comes or 30 s of virtual time passed: `~ WAIT TIMEOUT`);
  - `settle`: `x-qjob-settle`.
These are the rules of every other qjob runner (scenarios/README.md), so the transcripts are
byte-identical to theirs. The qjob-only commands and their replies are not part of the transcript.

Transcripts go to standard output, each after a `# SCENARIO` line (as the other runners print
them for tests/conformance.sh), or into --out-dir as NAME.txt. The `image` directive runs
`qemu-img` and `qemu-io` from PATH, as the recorder does. Python 3 standard library only.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import record  # noqa: E402  (the recorder, reused as is)

SYNC_ID = "qjob-replay-sync"


class DropinRecorder(record.Recorder):
    """The recorder, with qjob's binaries in QEMU's place and virtual time asked for."""

    def __init__(self, bin_dir, workdir, out, qemu="7.2", raw=None):
        super().__init__(bin_dir, workdir, out, raw)
        self.bin_dir = bin_dir
        self.qemu_version = qemu
        self.quitting = False

    def start(self, machine, drives=()):
        sockpath = os.path.join(self.workdir, "qmp.sock")
        time = "manual"
        if machine is None:
            argv = [os.path.join(self.bin_dir, "qjob-storage-daemon"), "--x-qjob-time", time,
                    "--x-qjob-qemu", self.qemu_version]
            for n in record.NODES:
                argv += ["--blockdev", "null-co,node-name=%s,size=%d,read-zeroes=on" % (n, record.NODE_SIZE)]
            argv += ["--chardev", "socket,id=m0,path=%s,server=on,wait=off" % sockpath,
                     "--monitor", "chardev=m0"]
        else:
            argv = [os.path.join(self.bin_dir, "qjob-system"), "-x-qjob-time", time,
                    "-x-qjob-qemu", self.qemu_version, "-machine", machine, "-nodefaults", "-display", "none"]
            for n in record.NODES:
                argv += ["-blockdev", "null-co,node-name=%s,size=%d,read-zeroes=on" % (n, record.NODE_SIZE)]
            for d in drives:
                argv += ["-drive", d]
            argv += ["-chardev", "socket,id=m0,path=%s,server=on,wait=off" % sockpath,
                     "-mon", "chardev=m0,mode=control"]
        self.stderr = open(os.path.join(self.workdir, "qemu.stderr"), "wb")
        self.proc = subprocess.Popen(argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        self.qmp = record.QMP(sockpath, self.proc)
        greeting = self.qmp.recv(10.0)
        if not greeting or "QMP" not in greeting:
            raise record.ScenarioError("no QMP greeting: %r" % (greeting,))
        if self.raw is not None:
            self.raw.append(self.qmp.last_line)
        self.sent(self.qmp.send('{"execute": "qmp_capabilities"}'))
        reply = self.qmp.recv(10.0)
        if not reply or "return" not in reply:
            raise record.ScenarioError("qmp_capabilities failed: %r" % (reply,))
        if self.raw is not None:
            self.raw.append(self.qmp.last_line)

    def ask(self, command, arguments=None):
        """Sends a qjob command and reads up to its reply, handling the messages before it as
        the recorder does; returns the reply's `return` (the reply is not in the transcript)."""
        msg = {"execute": command, "id": SYNC_ID}
        if arguments is not None:
            msg["arguments"] = arguments
        self.qmp.send(json.dumps(msg))
        while True:
            m = self.qmp.recv(record.WAIT_LIMIT)
            if m is None:
                raise record.ScenarioError("no reply to %s" % command)
            if m.get("id") == SYNC_ID and "event" not in m:
                if "error" in m:
                    raise record.ScenarioError("%s failed: %r" % (command, m))
                return m["return"]
            self.handle(m)

    def quiet(self):
        if self.quitting:
            # The process exits after its reply to quit: read to the end.
            while self.qmp.recv(record.WAIT_LIMIT) is not None:
                pass
            return
        self.ask("x-qjob-settle")

    def step(self, lineno, obj):
        self.quitting = isinstance(obj, dict) and obj.get("execute") == "quit"
        if isinstance(obj, dict) and "wait" in obj:
            want = obj["wait"]
            self.emit("~ wait " + record.dumps(want))
            self.wait(lambda n, d: n == "JOB_STATUS_CHANGE" and d == want,
                      {"id": want.get("id"), "status": want.get("status")})
        elif isinstance(obj, dict) and "wait-event" in obj:
            name, jid = obj["wait-event"], obj["id"]
            self.emit("~ wait-event %s %s" % (name, jid))
            self.wait(lambda n, d: n == name and (d.get("id", d.get("device")) == jid),
                      {"id": jid, "event": name})
        elif isinstance(obj, dict) and "settle" in obj:
            self.emit("~ settle")
            self.ask("x-qjob-settle")
        else:
            super().step(lineno, obj)

    def wait(self, pred, arguments):
        if any(pred(name, data) for name, data in self.seen):
            return
        reached = self.ask("x-qjob-wait", arguments).get("reached")
        if not reached or not any(pred(name, data) for name, data in self.seen):
            self.emit("~ WAIT TIMEOUT")


def replay(path, bin_dir, qemu="7.2", raw=None):
    """The scenario's transcript; with a list as `raw`, every line the binary wrote (and the
    lines sent and the directives, as `tools/record.py --raw` writes them) is appended to it."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    workdir = tempfile.mkdtemp(prefix="qjob-dropin-")
    try:
        DropinRecorder(bin_dir, workdir, out, qemu, raw).run(lines)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return "".join(line + "\n" for line in out)


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description="Replay qjob scenarios through qjob's drop-in binaries "
                                             "over their QMP socket, as tools/record.py drives QEMU.")
    ap.add_argument("--bin-dir", default=os.path.join(here, "target", "release"),
                    help="where qjob-storage-daemon and qjob-system are (default: target/release)")
    ap.add_argument("--qemu", choices=("7.2", "10.0"), default="7.2",
                    help="the QEMU the binaries reproduce (--x-qjob-qemu; default 7.2)")
    ap.add_argument("--out-dir", help="write NAME.txt files here instead of printing")
    ap.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin_dir)
    for prog in ("qjob-storage-daemon", "qjob-system"):
        if not os.access(os.path.join(bin_dir, prog), os.X_OK):
            sys.exit("no %s in %s (cargo build --release -p qjob-dropin)" % (prog, bin_dir))
    status = 0
    for path in args.scenarios:
        try:
            text = replay(path, bin_dir, args.qemu)
        except (record.ScenarioError, subprocess.CalledProcessError, OSError) as e:
            print("%s: %s" % (path, e), file=sys.stderr)
            status = 1
            continue
        if args.out_dir:
            base = os.path.basename(path)
            base = base[:-4] if base.endswith(".scn") else base
            with open(os.path.join(args.out_dir, base + ".txt"), "w", encoding="utf-8") as f:
                f.write(text)
        else:
            sys.stdout.write("# %s\n%s" % (path, text))
            sys.stdout.flush()
    sys.exit(status)


if __name__ == "__main__":
    main()
