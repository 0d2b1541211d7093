"""The real ``qemu.qmp`` client (PyPI) drives ``python -m qjob serve`` through a
backup, a mirror to READY + complete and a grouped transaction. The same test
code runs against real QEMU 7.2 (``qemu-storage-daemon``) when it is present,
so both must give the same answers and event sequences.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from qemu.qmp import ExecuteError, QMPClient
from qemu.qmp.events import EventListener

NODES = ("src", "dst", "src2", "dst2")
SIZE = 64 << 20

# Per job: the JOB_STATUS_CHANGE sequence QEMU 7.2 sends (backup-basic,
# mirror-ready-complete, txn-grouped-success in scenarios/).
BACKUP = ["created", "running", "paused", "running", "waiting", "pending", "concluded", "null"]
MIRROR = ["created", "running", "ready", "waiting", "pending", "concluded", "null"]
GROUPED = ["created", "running", "paused", "running", "waiting", "pending", "concluded", "null"]


def wait_for_socket(path: str, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Waits until the server accepts connections on ``path`` (the file exists a
    moment before the socket listens)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not listen on {path}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(path)
                return
            except OSError:
                time.sleep(0.01)


def start_qjob(sock: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "qjob", "serve", "--socket", sock], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once the socket listens
    assert b"listening on unix:" in line, line
    return proc


def start_qsd(qsd: str, sock: str) -> subprocess.Popen[bytes]:
    args = [qsd]
    for n in NODES:
        args += ["--blockdev", f"null-co,node-name={n},size={SIZE},read-zeroes=on"]
    args += ["--chardev", f"socket,id=m0,path={sock},server=on,wait=off", "--monitor", "chardev=m0"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_socket(sock, proc)
    return proc


@pytest.fixture(params=["qjob", "qemu-7.2"])
def qmp_socket(request: pytest.FixtureRequest) -> Iterator[str]:
    """A QMP socket served by ``python -m qjob serve`` or by real QEMU 7.2."""
    d = tempfile.mkdtemp(prefix="qjob-")
    sock = os.path.join(d, "qmp.sock")
    if request.param == "qjob":
        proc = start_qjob(sock)
    else:
        proc = start_qsd(request.getfixturevalue("qsd_path"), sock)
    try:
        yield sock
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if os.path.exists(sock):
            os.unlink(sock)
        os.rmdir(d)


async def until(listener: EventListener, done: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Collects events until ``done(events)`` holds."""
    seen: list[dict[str, Any]] = []

    async def collect() -> None:
        while not done(seen):
            seen.append(dict(await listener.get()))

    await asyncio.wait_for(collect(), timeout)
    return seen


def status_seq(events: list[dict[str, Any]], job: str) -> list[str]:
    return [e["data"]["status"] for e in events if e["event"] == "JOB_STATUS_CHANGE" and e["data"]["id"] == job]


def gone(*jobs: str) -> Any:
    return lambda evs: all("null" in status_seq(evs, j) for j in jobs)


async def scenario(sock: str) -> None:
    qmp = QMPClient("qjob-test")
    await qmp.connect(sock)
    try:
        assert qmp.greeting is not None
        version = qmp.greeting.QMP.version.get("qemu")
        assert isinstance(version, dict) and (version["major"], version["minor"]) == (7, 2)

        # 1. a backup, start to finish
        with qmp.listener() as listener:
            r = await qmp.execute(
                "blockdev-backup", {"job-id": "b1", "device": "src", "target": "dst", "sync": "full"}
            )
            assert r == {}
            events = await until(listener, gone("b1"))
        assert status_seq(events, "b1") == BACKUP
        [done] = [e["data"] for e in events if e["event"] == "BLOCK_JOB_COMPLETED"]
        assert done == {"device": "b1", "len": SIZE, "offset": SIZE, "speed": 0, "type": "backup"}
        assert await qmp.execute("query-jobs") == []

        # 2. a mirror to READY, then job-complete
        with qmp.listener() as listener:
            await qmp.execute("blockdev-mirror", {"job-id": "m1", "device": "src", "target": "dst", "sync": "full"})
            events = await until(listener, lambda evs: any(e["event"] == "BLOCK_JOB_READY" for e in evs))
            jobs = await qmp.execute("query-block-jobs")
            assert isinstance(jobs, list)
            assert [(j["device"], j["status"], j["ready"], j["offset"]) for j in jobs] == [("m1", "ready", True, SIZE)]
            with pytest.raises(ExecuteError) as refused:
                await qmp.execute("job-finalize", {"id": "m1"})
            assert refused.value.error_class == "GenericError"
            assert str(refused.value) == "Job 'm1' in state 'ready' cannot accept command verb 'finalize'"
            await qmp.execute("job-complete", {"id": "m1"})
            events += await until(listener, gone("m1"))
        assert status_seq(events, "m1") == MIRROR
        assert [e["event"] for e in events if e["event"].startswith("BLOCK_JOB")] == [
            "BLOCK_JOB_READY",
            "BLOCK_JOB_COMPLETED",
        ]

        # 3. a grouped transaction of two backups
        with qmp.listener() as listener:
            actions = [
                {"type": "blockdev-backup", "data": {"job-id": "t1", "device": "src", "target": "dst", "sync": "full"}},
                {
                    "type": "blockdev-backup",
                    "data": {"job-id": "t2", "device": "src2", "target": "dst2", "sync": "full"},
                },
            ]
            await qmp.execute("transaction", {"actions": actions, "properties": {"completion-mode": "grouped"}})
            events = await until(listener, gone("t1", "t2"))
        assert status_seq(events, "t1") == GROUPED and status_seq(events, "t2") == GROUPED
        completed = sorted(e["data"]["device"] for e in events if e["event"] == "BLOCK_JOB_COMPLETED")
        assert completed == ["t1", "t2"]

        # errors come back as QMP errors with QEMU's texts
        with pytest.raises(ExecuteError) as nf:
            await qmp.execute("job-pause", {"id": "nope"})
        assert (nf.value.error_class, str(nf.value)) == ("GenericError", "Job not found")
        with pytest.raises(ExecuteError) as na:
            await qmp.execute("block-job-pause", {"device": "nope"})
        assert na.value.error_class == "DeviceNotActive"
        assert await qmp.execute("query-jobs") == []
    finally:
        await qmp.disconnect()


def test_qemu_qmp_client_lifecycles(qmp_socket: str) -> None:
    asyncio.run(scenario(qmp_socket))


def test_qmp_server_fixture_with_qemu_qmp(qmp_server: Any) -> None:
    asyncio.run(scenario(qmp_server.address))
