"""qjob's Python benchmark.

Prints:
  1. one backup lifecycle in-process through ``execute`` dicts
     (blockdev-backup, settle, take the events; goal <= 15 us);
  2. a typed pause + resume pair (and the same with settle + events);
  3. N backup lifecycles driven by the ``qemu.qmp`` client against
     ``python -m qjob serve`` and against real QEMU 7.2 ``qemu-storage-daemon``
     (goal: qjob >= 10x faster); QEMU is skipped when not found.

usage: python bench/bench.py [--n N] [--qsd PATH] [--repeat R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import qjob

REPO = Path(__file__).resolve().parents[2]
SIZE = 64 << 20


def per_call(fn: Callable[[int], None], n: int, repeat: int) -> float:
    """Median over ``repeat`` runs of the time per call, in microseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(n)
        times.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(times)


def bench_execute_lifecycle(n: int, repeat: int) -> float:
    m = qjob.JobManager()
    cmd = {
        "execute": "blockdev-backup",
        "arguments": {"job-id": "b0", "device": "src", "target": "dst", "sync": "full"},
    }

    def run(k: int) -> None:
        execute, settle, events = m.execute, m.settle, m.events
        for _ in range(k):
            execute(cmd)
            settle()
            events()

    run(100)
    assert m.execute({"execute": "query-jobs"}) == {"return": []}
    return per_call(run, n, repeat)


def bench_pause_resume(n: int, repeat: int) -> tuple[float, float]:
    m = qjob.JobManager()
    m.backup("b0", "src", "dst", speed=1)
    m.settle()
    m.events()

    def bare(k: int) -> None:
        pause, resume = m.pause, m.resume
        for _ in range(k):
            pause("b0")
            resume("b0")

    def with_settle(k: int) -> None:
        pause, resume, settle, events = m.pause, m.resume, m.settle, m.events
        for _ in range(k):
            pause("b0")
            resume("b0")
            settle()
            events()

    a = per_call(bare, n, repeat)
    m.settle()
    m.events()
    b = per_call(with_settle, n, repeat)
    info = m.job_info("b0")
    assert info is not None and info.status is qjob.JobStatus.RUNNING
    return a, b


# -- over QMP -------------------------------------------------------------------


def find_qsd(explicit: Optional[str]) -> Optional[str]:
    candidates = [explicit] if explicit else []
    if os.environ.get("QEMU72_DIR"):
        candidates.append(os.path.join(os.environ["QEMU72_DIR"], "usr/bin/qemu-storage-daemon"))
    candidates += [str(REPO / ".cache/qemu72/usr/bin/qemu-storage-daemon"), "/tmp/qemu72/usr/bin/qemu-storage-daemon"]
    which = shutil.which("qemu-storage-daemon")
    if which:
        candidates.append(which)
    for c in candidates:
        if c and os.access(c, os.X_OK):
            out = subprocess.run([c, "--version"], capture_output=True, text=True).stdout
            if "version 7.2" in out:
                return c
    return None


def wait_socket(path: str, proc: subprocess.Popen[bytes]) -> None:
    """Waits until the server accepts connections (the file exists a moment before)."""
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {path}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(path)
                return
            except OSError:
                time.sleep(0.01)


async def qmp_lifecycles(sock: str, n: int) -> float:
    from qemu.qmp import QMPClient

    client = QMPClient("bench")
    await client.connect(sock)
    try:

        async def one(i: int) -> None:
            with client.listener("JOB_STATUS_CHANGE") as listener:
                await client.execute(
                    "blockdev-backup",
                    {"job-id": f"b{i}", "device": "src", "target": "dst", "sync": "full"},
                )
                async for ev in listener:
                    data = ev["data"]
                    assert isinstance(data, dict)
                    if data["id"] == f"b{i}" and data["status"] == "null":
                        return

        for i in range(min(10, n)):  # warm up
            await one(-1 - i)
        t0 = time.perf_counter()
        for i in range(n):
            await one(i)
        return (time.perf_counter() - t0) / n * 1e6
    finally:
        await client.disconnect()


def over_qmp(argv: list[str], sock: str, n: int) -> float:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_socket(sock, proc)
        return asyncio.run(qmp_lifecycles(sock, n))
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="lifecycles over QMP (default 200)")
    ap.add_argument("--inproc", type=int, default=20000, help="in-process iterations per run (default 20000)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per in-process figure; the median is printed")
    ap.add_argument("--qsd", help="qemu-storage-daemon 7.2 (default: searched)")
    args = ap.parse_args()

    print(f"qjob {qjob.__version__}, CPython {sys.version.split()[0]}")
    us = bench_execute_lifecycle(args.inproc, args.repeat)
    print(f"backup lifecycle, in-process execute() dicts + settle + events: {us:8.2f} us   (goal <= 15 us)")
    bare, full = bench_pause_resume(args.inproc, args.repeat)
    print(f"typed pause() + resume() pair:                                 {bare:8.2f} us")
    print(f"typed pause() + resume() + settle() + events():                {full:8.2f} us")

    d = tempfile.mkdtemp(prefix="qjob-bench-")
    try:
        sock = os.path.join(d, "qjob.sock")
        q = over_qmp([sys.executable, "-m", "qjob", "serve", "--socket", sock], sock, args.n)
        print(f"{args.n} backup lifecycles via qemu.qmp, qjob server:              {q:8.0f} us each")
        qsd = find_qsd(args.qsd)
        if qsd is None:
            print("real qemu-storage-daemon 7.2: not found (tools/fetch-qemu72.sh), comparison skipped")
            return 0
        sock2 = os.path.join(d, "qsd.sock")
        qsd_argv = [qsd]
        for node in ("src", "dst", "src2", "dst2"):
            qsd_argv += ["--blockdev", f"null-co,node-name={node},size={SIZE},read-zeroes=on"]
        qsd_argv += ["--chardev", f"socket,id=m0,path={sock2},server=on,wait=off", "--monitor", "chardev=m0"]
        r = over_qmp(qsd_argv, sock2, args.n)
        print(f"{args.n} backup lifecycles via qemu.qmp, QEMU 7.2 storage daemon:  {r:8.0f} us each")
        print(f"qjob server is {r / q:.1f}x faster than QEMU 7.2 (goal >= 10x)")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
