"""The QMP server at the byte level: greeting, negotiation, id echo, framing,
events to every client, control commands, robustness, and the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional, Union

import pytest

import qjob
from qjob.server import JSON_LIMIT, NESTING_LIMIT, JsonStreamer, ThreadedQmpServer

Address = Union[str, "tuple[str, int]"]


class Raw:
    """A bare QMP connection (no client library): bytes in, JSON lines out."""

    def __init__(self, address: Union[str, tuple[str, int]]) -> None:
        if isinstance(address, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(address)
        self.buf = b""
        self.events: list[dict[str, Any]] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float = 10.0) -> Optional[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        assert line.endswith(b"\r"), "QEMU ends each message with \\r\\n"
        msg: dict[str, Any] = json.loads(line)
        return msg

    def reply(self) -> dict[str, Any]:
        """The next reply; events on the way are kept in ``self.events``."""
        while True:
            msg = self.recv()
            assert msg is not None, "no reply"
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd(self, name: str, args: Optional[dict[str, Any]] = None, **extra: Any) -> dict[str, Any]:
        req: dict[str, Any] = {"execute": name, **extra}
        if args is not None:
            req["arguments"] = args
        self.send(json.dumps(req).encode() + b"\n")
        return self.reply()

    def negotiate(self) -> dict[str, Any]:
        greeting = self.recv()
        assert greeting is not None
        assert self.cmd("qmp_capabilities") == {"return": {}}
        return greeting

    def drain_events(self, quiet: float = 0.2) -> list[dict[str, Any]]:
        while True:
            msg = self.recv(quiet)
            if msg is None:
                break
            assert "event" in msg, msg
            self.events.append(msg)
        out, self.events = self.events, []
        return out

    def close(self) -> None:
        self.sock.close()


def statuses(events: list[dict[str, Any]], job: str) -> list[str]:
    return [e["data"]["status"] for e in events if e["event"] == "JOB_STATUS_CHANGE" and e["data"]["id"] == job]


@pytest.fixture
def raw(qmp_server: ThreadedQmpServer) -> Raw:
    r = Raw(qmp_server.address)
    r.negotiate()
    return r


def test_greeting_and_negotiation(qmp_server: ThreadedQmpServer) -> None:
    r = Raw(qmp_server.address)
    greeting = r.recv()
    assert greeting == {
        "QMP": {
            "version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"},
            "capabilities": ["oob"],
        }
    }
    assert r.cmd("query-jobs", id=1) == {
        "error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"},
        "id": 1,
    }
    # framing errors are reported before negotiation too
    r.send(b"[1]\n")
    assert r.reply() == {"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}
    # QEMU's visitor names a list's enum element 'null'
    assert r.cmd("qmp_capabilities", {"enable": ["nope"]})["error"]["desc"] == (
        "Parameter 'null' does not accept value 'nope'"
    )
    assert r.cmd("qmp_capabilities", {"enable": ["oob"]}, id="n") == {"return": {}, "id": "n"}
    assert r.cmd("qmp_capabilities") == {
        "error": {
            "class": "CommandNotFound",
            "desc": "Capabilities negotiation is already complete, command ignored",
        }
    }
    assert r.cmd("query-jobs", id={"x": [1]}) == {"return": [], "id": {"x": [1]}}
    r.send(b'{"exec-oob": "query-jobs", "id": 5}\n')
    assert r.reply() == {
        "error": {"class": "GenericError", "desc": "The command query-jobs does not support OOB"},
        "id": 5,
    }


def test_backup_events_with_timestamps(raw: Raw) -> None:
    before = time.time()
    assert raw.cmd("blockdev-backup", {"job-id": "b1", "device": "src", "target": "dst", "sync": "full"}) == {
        "return": {}
    }
    events = raw.drain_events()
    assert statuses(events, "b1") == [
        "created",
        "running",
        "paused",
        "running",
        "waiting",
        "pending",
        "concluded",
        "null",
    ]
    for e in events:
        ts = e["timestamp"]
        assert set(ts) == {"seconds", "microseconds"} and 0 <= ts["microseconds"] < 1_000_000
        assert before - 5 < ts["seconds"] + ts["microseconds"] / 1e6 < time.time() + 5
    assert raw.cmd("query-jobs") == {"return": []}


def test_framing_like_qemu(raw: Raw) -> None:
    # two messages on one line, one message over two lines, split writes
    raw.send(b'{"execute":"query-jobs","id":"a"}{"execute":"query-jobs","id":"b"}\n')
    assert raw.reply() == {"return": [], "id": "a"}
    assert raw.reply() == {"return": [], "id": "b"}
    raw.send(b'{"execute":\n"query-jobs", "id": "c"}\n')
    assert raw.reply() == {"return": [], "id": "c"}
    for piece in (b'{"exe', b'cute": "query-jobs", "id": "d\\"}', b'"}\r\n'):
        raw.send(piece)
        time.sleep(0.01)
    assert raw.reply() == {"return": [], "id": 'd"}'}
    raw.send(b"{'execute': 'query-jobs', 'id': 'q'}\n")
    assert raw.reply() == {"return": [], "id": "q"}
    raw.send(b"42 43\n")
    assert raw.reply()["error"]["desc"] == "QMP input must be a JSON object"
    assert raw.reply()["error"]["desc"] == "QMP input must be a JSON object"
    raw.send(b"}\n")
    assert raw.reply() == {"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}}
    raw.send(b'{"execute": nonsense}\n')
    assert raw.reply()["error"]["desc"] == "JSON parse error, invalid keyword 'nonsense'"


def test_garbage_leaves_server_and_jobs_intact(qmp_server: ThreadedQmpServer, raw: Raw) -> None:
    assert raw.cmd("blockdev-backup", {"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 1})
    raw.send(b"\xff\xfe\x00garbage]]]}}}\n")
    raw.send(b"[" * 2000 + b"\n")  # deeper than QEMU's nesting limit
    errors = []
    while True:
        msg = raw.recv(0.5)
        if msg is None:
            break
        if "error" in msg:
            errors.append(msg["error"]["desc"])
    assert "JSON nesting depth limit exceeded" in errors
    # a fresh connection still works and sees the job
    other = Raw(qmp_server.address)
    other.negotiate()
    jobs = other.cmd("query-jobs")["return"]
    assert [j["id"] for j in jobs] == ["b0"] and jobs[0]["status"] == "running"
    # a client that vanishes mid-message does not matter
    third = Raw(qmp_server.address)
    third.negotiate()
    third.send(b'{"execute": "job-cancel", "argu')
    third.close()
    time.sleep(0.05)
    assert other.cmd("query-jobs")["return"][0]["status"] == "running"
    assert other.cmd("job-cancel", {"id": "b0"}) == {"return": {}}
    other.close()


def test_events_go_to_every_negotiated_client(qmp_server: ThreadedQmpServer) -> None:
    a, b, c = Raw(qmp_server.address), Raw(qmp_server.address), Raw(qmp_server.address)
    a.negotiate()
    b.negotiate()
    c.recv()  # greeting only: not in command mode, so no events
    assert a.cmd("blockdev-backup", {"job-id": "b2", "device": "src", "target": "dst", "sync": "full"}) == {
        "return": {}
    }
    ev_a = a.drain_events()
    ev_b = b.drain_events()
    assert statuses(ev_a, "b2") == statuses(ev_b, "b2") and statuses(ev_a, "b2")[-1] == "null"
    assert c.recv(0.2) is None
    for r in (a, b, c):
        r.close()


@pytest.mark.qjob(speed=0)
def test_manual_clock_control_commands(raw: Raw) -> None:
    args = {"job-id": "b0", "device": "src", "target": "dst", "sync": "full", "speed": 10 << 20}
    assert raw.cmd("blockdev-backup", args) == {"return": {}}
    time.sleep(0.2)
    jobs = raw.cmd("query-jobs")["return"]
    assert jobs[0]["current-progress"] == 1 << 20  # the clock does not move by itself
    assert raw.cmd("x-qjob-advance", {"ns": 1_000_000_000}) == {"return": {"now-ns": 1_000_000_000}}
    assert raw.cmd("query-jobs")["return"][0]["current-progress"] > 1 << 20
    assert raw.cmd("x-qjob-settle")["return"] == {"now-ns": 1_000_000_000, "steps": 0}
    r = raw.cmd("x-qjob-wait", {"id": "b0", "status": "null"}, id=9)
    assert r["id"] == 9 and r["return"]["reached"] is True
    assert 6_000_000_000 < r["return"]["now-ns"] < 7_000_000_000
    # already seen since the previous command: satisfied at once
    assert raw.cmd("x-qjob-wait", {"id": "b0", "status": "concluded"})["return"]["reached"] is True
    assert raw.cmd("x-qjob-wait", {"event": "BLOCK_JOB_COMPLETED", "id": "b0"})["return"]["reached"] is True
    # a new command starts a new window
    assert raw.cmd("query-jobs") == {"return": []}
    r = raw.cmd("x-qjob-wait", {"id": "b0", "status": "null", "timeout-ns": 5})
    assert r["return"]["reached"] is True  # no such job counts as null
    now = r["return"]["now-ns"]
    r = raw.cmd("x-qjob-wait", {"event": "BLOCK_JOB_READY", "id": "b0", "timeout-ns": 1000})
    assert r["return"] == {"reached": False, "now-ns": now + 1000}  # a timeout ends at the timeout
    assert raw.cmd("x-qjob-wait", {"event": "NO_SUCH_EVENT", "id": "b0"})["error"]["desc"] == (
        "Parameter 'event' does not accept value 'NO_SUCH_EVENT'"
    )
    assert raw.cmd("x-qjob-advance", {"ns": 1 << 64})["error"]["desc"] == (
        "Invalid parameter type for 'ns', expected: integer"
    )
    assert raw.cmd("x-qjob-advance", {})["error"]["desc"] == "Parameter 'ns' is missing"
    assert raw.cmd("x-qjob-advance", {"ns": "1"})["error"]["desc"] == (
        "Invalid parameter type for 'ns', expected: integer"
    )
    assert raw.cmd("x-qjob-settle", {"x": 1})["error"]["desc"] == "Parameter 'x' is unexpected"
    assert raw.cmd("x-qjob-wait", {"id": "b0", "status": "sideways"})["error"]["desc"] == (
        "Parameter 'status' does not accept value 'sideways'"
    )


def test_paced_clock_runs_speed_limited_jobs(qmp_server: ThreadedQmpServer, raw: Raw) -> None:
    # 64 MiB at 512 MiB/s of virtual time, paced at real time: ~0.125 s.
    args = {"job-id": "p0", "device": "src", "target": "dst", "sync": "full", "speed": 512 << 20}
    assert raw.cmd("blockdev-backup", args) == {"return": {}}
    deadline = time.monotonic() + 10
    seen: list[str] = []
    while "null" not in seen and time.monotonic() < deadline:
        msg = raw.recv(1.0)
        if msg is not None and "event" in msg:
            raw.events.append(msg)
            seen = statuses(raw.events, "p0")
    assert seen[-1] == "null"
    now = qmp_server.call(lambda m: m.now)
    assert now >= 100_000_000


def test_call_on_server_thread(qmp_server: ThreadedQmpServer, raw: Raw) -> None:
    qmp_server.call(lambda m: m.backup("c0", "src", "dst", speed=1))
    assert statuses(raw.drain_events(), "c0")[:2] == ["created", "running"]
    assert raw.cmd("query-block-jobs")["return"][0]["device"] == "c0"


def test_streamer_splits_like_qemu() -> None:
    s = JsonStreamer()
    assert s.feed(b'{"a": "}"} [1, [2]] 42 "x y" ') == [{"a": "}"}, [1, [2]], 42, "x y"]
    assert s.feed(b'{"a": "\\') == [] and not s.is_idle
    assert s.feed(b'"", "b": 1}') == [{"a": '"', "b": 1}]
    assert s.feed("{'é': 1}".encode()) == [{"é": 1}]
    assert s.feed(b"nul") == [] and s.feed(b"l\n") == [None]
    # A message QEMU refuses comes as a GenericError with QEMU's text, and the
    # stream goes on after it.
    [error, value] = s.feed(b"@ [1]")
    assert isinstance(error, qjob.GenericError) and str(error) == "JSON parse error, stray '@'"
    assert value == [1] and s.is_idle
    assert s.feed(b"[" * (NESTING_LIMIT + 1))[0].args[1] == "JSON nesting depth limit exceeded"
    assert s.feed(b"7") == [] and s.flush() == [7]
    assert (JSON_LIMIT, NESTING_LIMIT) == (64 << 20, 1024)


def test_bytes_as_qemu_writes_them(qmp_server: ThreadedQmpServer) -> None:
    """The exact bytes (QEMU 7.2's separators, member order, escapes, line
    ends); core/tests/wire has them recorded from QEMU 7.2 itself."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    assert isinstance(qmp_server.address, str)
    sock.connect(qmp_server.address)
    buf = b""

    def line() -> bytes:
        nonlocal buf
        while b"\n" not in buf:
            chunk = sock.recv(65536)
            assert chunk, "connection closed"
            buf += chunk
        out, _, buf = buf.partition(b"\n")
        return out + b"\n"

    assert line() == (
        b'{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, '
        b'"package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}\r\n'
    )
    sock.sendall(b'{"execute": "query-jobs", "id": 1}')
    assert line() == (
        b'{"id": 1, "error": {"class": "CommandNotFound", '
        b'"desc": "Expecting capabilities negotiation with \'qmp_capabilities\'"}}\r\n'
    )
    sock.sendall(b"{'execute': 'qmp_capabilities', 'id': '\xc3\xa9\\u0001'}")
    assert line() == b'{"return": {}, "id": "\\u00E9\\u0001"}\r\n'
    sock.sendall(b'{"execute": "blockdev-backup", "arguments": {"job-id": "b0", "device": "src", '
                 b'"target": "dst", "sync": "full", "speed": 1}}')
    first = line()
    assert first.startswith(b'{"timestamp": {"seconds": ') and first.endswith(
        b'}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "b0"}}\r\n'
    )
    while True:
        msg = line()
        if not msg.startswith(b'{"timestamp"'):
            break
    assert msg == b'{"return": {}}\r\n'
    sock.sendall(b'{"execute": "query-jobs"}')
    while True:
        msg = line()
        if not msg.startswith(b'{"timestamp"'):
            break
    assert msg == (
        b'{"return": [{"current-progress": 1048576, "status": "running", '
        b'"total-progress": 67108864, "type": "backup", "id": "b0"}]}\r\n'
    )
    sock.close()


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "qjob", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "QMP server listening on " in line, (line, proc.stderr.read() if proc.stderr else "")
    return proc, line.rsplit(" ", 1)[1].strip()


def test_cli_tcp_and_quit() -> None:
    proc, address = start_cli("--tcp", "127.0.0.1:0", "--manual")
    try:
        kind, host, port = address.split(":")
        assert kind == "tcp"
        r = Raw((host, int(port)))
        r.negotiate()
        assert r.cmd("x-qjob-advance", {"ns": 7}) == {"return": {"now-ns": 7}}
        assert r.cmd("quit") == {"return": {}}
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_cli_unix_socket_and_sigterm() -> None:
    d = tempfile.mkdtemp(prefix="qjob-")
    path = os.path.join(d, "s.sock")
    proc, address = start_cli("--socket", path, "--speed", "2")
    try:
        assert address == f"unix:{path}"
        r = Raw(path)
        r.negotiate()
        proc.terminate()
        assert proc.wait(10) == 0
        assert not os.path.exists(path)
    finally:
        proc.kill()
        proc.wait()
        os.rmdir(d)


def test_cli_usage_errors() -> None:
    r = subprocess.run([sys.executable, "-m", "qjob", "serve"], capture_output=True, text=True)
    assert r.returncode == 2 and "--socket" in r.stderr
    r = subprocess.run([sys.executable, "-m", "qjob", "serve", "--tcp", "nonsense"], capture_output=True, text=True)
    assert r.returncode == 2
