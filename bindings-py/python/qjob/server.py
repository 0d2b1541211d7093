"""An asyncio QMP server over qjob's core: ``python -m qjob serve``.

The server is a driver around one :class:`qjob.JobManager`, as ``quinn`` is
around ``quinn-proto``: it owns the sockets and the real clock; every command,
reply, error text and event comes from the core. It speaks QMP as QEMU 7.2's
monitor does: the greeting, capabilities negotiation (``qmp_capabilities``,
``oob`` offered), ``id`` echo, events with timestamps to every negotiated
client, ``\\r\\n``-terminated messages, QEMU's JSON stream framing (several
messages per line or one over several lines), and ``quit``.

Time. By default the virtual clock is paced by the real one
(``speed`` virtual seconds per real second): timers fire when their virtual
deadline comes, so a speed-limited job progresses as in QEMU. With
``speed=0`` the clock only moves by the control commands, for deterministic
tests:

- ``x-qjob-advance {"ns": N}`` moves the clock N ns ahead, running what is due;
  returns ``{"now-ns": …}``;
- ``x-qjob-settle`` runs the work ready now; returns ``{"now-ns": …, "steps": …}``;
- ``x-qjob-wait {"id": ID, "status": S}`` (or ``{"event": NAME, "id": ID}``),
  optional ``"timeout-ns"`` (default 30 s of virtual time): satisfied at once
  if the event was sent since this client's previous command (the scenario
  ``wait`` rule), else moves the clock from deadline to deadline until it
  comes or the timeout has passed (the clock then stands at the timeout);
  returns ``{"reached": …, "now-ns": …}``. A job that does not exist counts
  as ``null``; an event name qjob never emits is refused.

Event timestamps are ``epoch`` (the wall-clock time at which the server's
virtual clock read 0) plus the event's virtual time.

Several clients may connect at once; a client that disconnects, sends
garbage or stops reading never affects the others or the jobs.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import json
import logging
import os
import re
import threading
import time
from collections.abc import Awaitable
from typing import Any, Callable, Optional, TypeVar, Union

from ._errors import QmpError
from ._qjob import COMMANDS, EVENT_NAMES, WAIT_LIMIT_NS, Event, JobManager, __version__, parse_json

__all__ = ["QmpServer", "ThreadedQmpServer", "JsonStreamer", "JSON_LIMIT", "NESTING_LIMIT"]

T = TypeVar("T")
_log = logging.getLogger("qjob.server")

#: Largest message accepted (QEMU's ``MAX_TOKEN_SIZE`` is 64 MiB).
JSON_LIMIT = 64 << 20
#: Deepest nesting accepted (QEMU's ``MAX_NESTING``).
NESTING_LIMIT = 1024
#: A client whose unread output grows past this is disconnected.
OUTPUT_LIMIT = 64 << 20

_NONSPACE = re.compile(r"\S")
_INTERESTING = re.compile(r"[\"'\\{}\[\]\s]")
_CONTROL = ("x-qjob-advance", "x-qjob-settle", "x-qjob-wait")


class _Overflow:
    """A message refused by the streamer's limits (answered with ``desc``)."""

    __slots__ = ("desc",)

    def __init__(self, desc: str) -> None:
        self.desc = desc


class JsonStreamer:
    """Splits a QMP input stream into JSON texts the way QEMU's json-streamer
    does: a message ends where its outermost braces or brackets close (several
    per line, or one over several lines); a top-level scalar ends at white
    space or at the next bracket; a stray ``}`` or ``]`` is a message of its own.
    Each text then goes to the core's QMP reader, which gives QEMU's error texts.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._reset()

    def _reset(self) -> None:
        self._pieces: list[str] = []
        self._size = 0
        self._depth = 0
        self._quote: Optional[str] = None
        self._escape = False
        self._scalar = False

    def feed(self, data: bytes) -> list[Union[str, _Overflow]]:
        """The complete messages in ``data`` (plus what was buffered before)."""
        text = self._decoder.decode(data)
        out: list[Union[str, _Overflow]] = []
        pos, start, n = 0, 0, len(text)
        while pos < n:
            if self._depth == 0 and self._quote is None and not self._scalar:
                m = _NONSPACE.search(text, pos)
                if m is None:
                    start = pos = n
                    break
                start = pos = m.start()
                c = text[pos]
                pos += 1
                if c in "{[":
                    self._depth = 1
                elif c in "}]":
                    out.append(c)
                    start = pos
                else:
                    self._scalar = True
                    if c in "\"'":
                        self._quote = c
                continue
            if self._escape:
                self._escape = False
                pos += 1
                continue
            m = _INTERESTING.search(text, pos)
            if m is None:
                pos = n
                break
            i = m.start()
            c = text[i]
            pos = i + 1
            if self._quote is not None:
                if c == "\\":
                    self._escape = True
                elif c == self._quote:
                    self._quote = None
                    if self._depth == 0:
                        out.append(self._take(text, start, pos))
                        start = pos
                continue
            if c in "\"'":
                if self._depth == 0:  # a new token after a scalar
                    out.append(self._take(text, start, i))
                    start = i
                self._quote = c
            elif c in "{[":
                if self._depth == 0:
                    out.append(self._take(text, start, i))
                    start = i
                self._depth += 1
                if self._depth > NESTING_LIMIT:
                    out.append(_Overflow("JSON nesting depth limit exceeded"))
                    self._reset()
                    start = pos
            elif c in "}]":
                if self._depth == 0:
                    out.append(self._take(text, start, i))
                    out.append(c)
                    start = pos
                    continue
                self._depth -= 1
                if self._depth == 0:
                    out.append(self._take(text, start, pos))
                    start = pos
            elif self._depth == 0:  # white space ends a top-level scalar
                out.append(self._take(text, start, i))
                start = pos
        if start < n and (self._depth or self._quote is not None or self._scalar):
            self._pieces.append(text[start:n])
            self._size += n - start
            if self._size > JSON_LIMIT:
                out.append(_Overflow("JSON token size limit exceeded"))
                self._reset()
        return out

    def _take(self, text: str, start: int, end: int) -> str:
        pieces = self._pieces
        msg = "".join(pieces) + text[start:end] if pieces else text[start:end]
        self._pieces = []
        self._size = 0
        self._scalar = False
        return msg


def _error(desc: str, cls: str = "GenericError") -> dict[str, Any]:
    return {"error": {"class": cls, "desc": desc}}


class _Client(asyncio.Protocol):
    """One QMP connection."""

    def __init__(self, server: QmpServer) -> None:
        self.server = server
        self.transport: Optional[asyncio.Transport] = None
        self.streamer = JsonStreamer()
        self.negotiated = False
        self.oob = False
        # Event sequence number at this client's last command (x-qjob-wait).
        self.mark = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._clients.add(self)
        self.send_text(self.server.greeting())

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.server._clients.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            for msg in self.streamer.feed(data):
                if self.transport is None:
                    break
                try:
                    self.server._handle(self, msg)
                except Exception as e:  # a bug must not take the server down
                    _log.exception("qjob QMP server: request failed")
                    self.send_text(json.dumps(_error(f"qjob internal error: {type(e).__name__}: {e}")))
        finally:
            self.server._after_input()

    def eof_received(self) -> Optional[bool]:
        return False

    def send_text(self, text: str) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        t.write(text.encode() + b"\r\n")
        if t.get_write_buffer_size() > OUTPUT_LIMIT:
            t.abort()  # a client that stops reading cannot hold the server's memory


class QmpServer:
    """A QMP server over one :class:`JobManager` (see the module docs).

    Use ``await server.start(unix=PATH)`` or ``start(tcp=(HOST, PORT))`` (both
    may be given; port 0 picks a free port), then ``await server.serve_forever()``
    or :meth:`close`. All methods run on the event loop's thread.
    """

    def __init__(
        self,
        manager: Optional[JobManager] = None,
        *,
        speed: float = 1.0,
        epoch_ns: Optional[int] = None,
        allow_quit: bool = True,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.manager = manager if manager is not None else JobManager()
        self.speed = speed
        self.epoch_ns = time.time_ns() - self.manager.now if epoch_ns is None else epoch_ns
        self.allow_quit = allow_quit
        self.addresses: list[str] = []
        self._clients: set[_Client] = set()
        self._log: collections.deque[tuple[int, Event]] = collections.deque(maxlen=1 << 16)
        self._seq = 0
        self._servers: list[asyncio.base_events.Server] = []
        self._unix_paths: list[str] = []
        self._timer: Optional[asyncio.TimerHandle] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stopped: Optional[asyncio.Event] = None
        self._rebase()

    # -- the clock ---------------------------------------------------------

    def _rebase(self) -> None:
        self._base_real = time.monotonic_ns()
        self._base_virtual = self.manager.now

    def virtual_target(self) -> int:
        """Where the paced virtual clock should be now (``now`` when ``speed`` is 0)."""
        if self.speed <= 0:
            return self.manager.now
        elapsed = time.monotonic_ns() - self._base_real
        return max(self.manager.now, self._base_virtual + int(elapsed * self.speed))

    def _catch_up(self) -> None:
        target = self.virtual_target()
        if target > self.manager.now:
            self.manager.tick(target)
        self._flush()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.speed <= 0 or self._loop is None or self._stopped is None or self._stopped.is_set():
            return
        deadline = self.manager.next_deadline
        if deadline is None:
            return
        delay = max(0.0, (deadline - self.virtual_target()) / self.speed / 1e9)
        self._timer = self._loop.call_later(delay, self._on_timer, deadline)

    def _on_timer(self, deadline: int) -> None:
        self._timer = None
        # call_later may fire up to a clock tick early: never stop short of the deadline.
        self.manager.tick(max(self.virtual_target(), deadline))
        self._flush()
        self._schedule()

    def _after_input(self) -> None:
        self._schedule()

    # -- events ------------------------------------------------------------

    def _flush(self) -> None:
        events = self.manager.events()
        if not events:
            return
        clients = [c for c in self._clients if c.negotiated]
        for ev in events:
            self._seq += 1
            self._log.append((self._seq, ev))
            if clients:
                line = ev.to_json(self.epoch_ns)
                for c in clients:
                    c.send_text(line)

    def greeting(self) -> str:
        """The QMP greeting, as QEMU 7.2 words it."""
        return json.dumps(
            {
                "QMP": {
                    "version": {
                        "qemu": {"micro": 0, "minor": 2, "major": 7},
                        "package": f"qjob {__version__}",
                    },
                    "capabilities": ["oob"],
                }
            }
        )

    # -- requests ----------------------------------------------------------

    def _reply(self, client: _Client, reply: dict[str, Any], req: Any) -> None:
        if isinstance(req, dict) and "id" in req:
            reply["id"] = req["id"]
        client.send_text(json.dumps(reply))

    def _handle(self, client: _Client, text: Union[str, _Overflow]) -> None:
        if isinstance(text, _Overflow):
            client.send_text(json.dumps(_error(text.desc)))
            return
        self._catch_up()
        try:
            req = parse_json(text)
        except ValueError as e:
            client.send_text(json.dumps(_error(str(e))))
            return
        name = None
        framed = (
            isinstance(req, dict)
            and set(req) <= {"execute", "arguments", "id"}
            and isinstance(req.get("execute"), str)
            and isinstance(req.get("arguments", {}), dict)
        )
        if framed:
            name = req["execute"]
        if not client.negotiated:
            if name is None:
                # A framing error: the core words it (nothing runs).
                client.send_text(json.dumps(self.manager.execute(req)))
            elif name == "qmp_capabilities":
                self._negotiate(client, req)
            else:
                self._reply(
                    client,
                    _error("Expecting capabilities negotiation with 'qmp_capabilities'", "CommandNotFound"),
                    req,
                )
            return
        if name != "x-qjob-wait":
            client.mark = self._seq
        if isinstance(req, dict) and client.oob and "exec-oob" in req and "execute" not in req:
            oob = req["exec-oob"]
            if isinstance(oob, str):
                known = oob in COMMANDS or oob in _CONTROL or oob == "quit"
                desc = (
                    f"The command {oob} does not support OOB"
                    if known
                    else f"The command {oob} has not been found"
                )
                self._reply(client, _error(desc, "GenericError" if known else "CommandNotFound"), req)
                return
        if name in _CONTROL:
            self._control(client, name, req)
            return
        if name == "quit" and self.allow_quit:
            self._reply(client, {"return": {}}, req)
            assert self._loop is not None
            self._loop.call_soon(self.close)
            return
        reply = self.manager.execute(req)
        self._flush()  # events QEMU sends before the reply (drained sections, …)
        client.send_text(json.dumps(reply))
        self.manager.settle()  # what QEMU does right after replying
        self._flush()

    def _negotiate(self, client: _Client, req: dict[str, Any]) -> None:
        args = req.get("arguments", {})
        extra = [k for k in args if k != "enable"]
        if extra:
            self._reply(client, _error(f"Parameter '{extra[0]}' is unexpected"), req)
            return
        enable = args.get("enable", [])
        if not isinstance(enable, list):
            self._reply(client, _error("Invalid parameter type for 'enable', expected: array"), req)
            return
        for cap in enable:
            if cap != "oob":
                if isinstance(cap, str):
                    desc = f"Parameter 'enable[{enable.index(cap)}]' does not accept value '{cap}'"
                else:
                    desc = f"Invalid parameter type for 'enable[{enable.index(cap)}]', expected: string"
                self._reply(client, _error(desc), req)
                return
        client.oob = "oob" in enable
        client.negotiated = True
        client.mark = self._seq
        self._reply(client, {"return": {}}, req)

    # -- control commands (x-qjob-*) -----------------------------------------

    def _control(self, client: _Client, name: str, req: dict[str, Any]) -> None:
        args: dict[str, Any] = req.get("arguments", {})
        try:
            if name == "x-qjob-advance":
                ns = _int_arg(args, "ns", required=True)
                _no_other(args, {"ns"})
                self.manager.advance(ns)
                result: dict[str, Any] = {"now-ns": self.manager.now}
            elif name == "x-qjob-settle":
                _no_other(args, set())
                steps = self.manager.settle()
                result = {"now-ns": self.manager.now, "steps": steps}
            else:
                result = {"reached": self._wait(client, args), "now-ns": self.manager.now}
        except QmpError as e:
            self._reply(client, e.to_qmp(), req)
            return
        self._rebase()
        self._flush()
        self._reply(client, {"return": result}, req)

    def _wait(self, client: _Client, args: dict[str, Any]) -> bool:
        job = _str_arg(args, "id", required=True)
        timeout = _int_arg(args, "timeout-ns", required=False)
        if timeout is None:
            timeout = WAIT_LIMIT_NS
        if "status" in args:
            _no_other(args, {"id", "status", "timeout-ns"})
            status = _str_arg(args, "status", required=True)

            def seen(e: Event) -> bool:
                return e.name == "JOB_STATUS_CHANGE" and e.job_id == job and e.data.get("status") == status

            if any(seen(e) for s, e in self._log if s > client.mark):
                return True
            try:
                # A job that is gone counts as null, as for the core's x-qjob-wait.
                return self.manager.wait(job, status, timeout, missing_ok=True)
            except ValueError:
                raise _generic(f"Parameter 'status' does not accept value '{status}'") from None
        _no_other(args, {"id", "event", "timeout-ns"})
        event = _str_arg(args, "event", required=False)
        if event is None:
            raise _generic("Parameter 'status' is missing")
        if event not in EVENT_NAMES:
            raise _generic(f"Parameter 'event' does not accept value '{event}'")
        if any(e.name == event and e.job_id == job for s, e in self._log if s > client.mark):
            return True
        return self.manager.wait_event(event, job, timeout, missing_ok=True)

    # -- life cycle ----------------------------------------------------------

    async def start(
        self,
        *,
        unix: Optional[str] = None,
        tcp: Optional[tuple[str, int]] = None,
    ) -> list[str]:
        """Starts listening; returns the addresses (``unix:PATH``, ``tcp:HOST:PORT``)."""
        if unix is None and tcp is None:
            raise ValueError("give a unix socket path or a TCP address")
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._rebase()
        if unix is not None:
            if os.path.exists(unix):
                os.unlink(unix)
            srv = await self._loop.create_unix_server(lambda: _Client(self), unix)
            self._servers.append(srv)
            self._unix_paths.append(unix)
            self.addresses.append(f"unix:{unix}")
        if tcp is not None:
            srv = await self._loop.create_server(lambda: _Client(self), tcp[0], tcp[1])
            self._servers.append(srv)
            for sock in srv.sockets:
                host, port = sock.getsockname()[:2]
                self.addresses.append(f"tcp:{host}:{port}")
        self._schedule()
        return list(self.addresses)

    async def serve_forever(self) -> None:
        """Runs until :meth:`close` (or a client's ``quit``)."""
        assert self._stopped is not None, "start() first"
        await self._stopped.wait()

    def close(self) -> None:
        """Stops listening and disconnects every client."""
        if self._stopped is None or self._stopped.is_set():
            return
        self._stopped.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for srv in self._servers:
            srv.close()
        for c in list(self._clients):
            if c.transport is not None:
                c.transport.close()
        for path in self._unix_paths:
            try:
                os.unlink(path)
            except OSError:
                pass


def _generic(desc: str) -> QmpError:
    from ._errors import GenericError

    return GenericError("GenericError", desc)


def _no_other(args: dict[str, Any], allowed: set[str]) -> None:
    for k in args:
        if k not in allowed:
            raise _generic(f"Parameter '{k}' is unexpected")


def _int_arg(args: dict[str, Any], name: str, *, required: bool) -> Any:
    if name not in args:
        if required:
            raise _generic(f"Parameter '{name}' is missing")
        return None
    v = args[name]
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << 64:
        raise _generic(f"Invalid parameter type for '{name}', expected: integer")
    return v


def _str_arg(args: dict[str, Any], name: str, *, required: bool) -> Any:
    if name not in args:
        if required:
            raise _generic(f"Parameter '{name}' is missing")
        return None
    v = args[name]
    if not isinstance(v, str):
        raise _generic(f"Invalid parameter type for '{name}', expected: string")
    return v


class ThreadedQmpServer:
    """A :class:`QmpServer` on its own event loop in a background thread (what
    the ``qmp_server`` pytest fixture gives). Use as a context manager, or call
    :meth:`start` and :meth:`stop`. :meth:`call` runs a function on the
    server's thread, where the manager may be touched.
    """

    def __init__(
        self,
        manager: Optional[JobManager] = None,
        *,
        unix: Optional[str] = None,
        tcp: Optional[tuple[str, int]] = None,
        speed: float = 1.0,
    ) -> None:
        self.server = QmpServer(manager, speed=speed)
        self._unix = unix
        self._tcp = tcp
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self.addresses: list[str] = []

    @property
    def address(self) -> Union[str, tuple[str, int]]:
        """The first address, as ``qemu.qmp``'s ``connect()`` takes it: a socket
        path, or ``(host, port)``."""
        kind, _, rest = self.addresses[0].partition(":")
        if kind == "unix":
            return rest
        host, _, port = rest.rpartition(":")
        return (host, int(port))

    def start(self) -> ThreadedQmpServer:
        """Starts the thread and waits until the server listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self.addresses = loop.run_until_complete(self.server.start(unix=self._unix, tcp=self._tcp))
            except BaseException as e:  # reported to the starting thread
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_until_complete(self.server.serve_forever())
            finally:
                loop.run_until_complete(asyncio.sleep(0))
                loop.close()

        self._thread = threading.Thread(target=run, name="qjob-qmp-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def call(self, fn: Callable[[JobManager], T], timeout: float = 30.0) -> T:
        """Runs ``fn(manager)`` on the server's thread and returns its result;
        events it causes are sent to the clients."""
        assert self._loop is not None

        async def run() -> T:
            result = fn(self.server.manager)
            self.server._flush()
            self.server._schedule()
            return result

        fut = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return fut.result(timeout)

    def stop(self) -> None:
        """Stops the server and joins its thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.server.close)
            self._thread.join(10)

    def __enter__(self) -> ThreadedQmpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve(
    *,
    unix: Optional[str] = None,
    tcp: Optional[tuple[str, int]] = None,
    manager: Optional[JobManager] = None,
    speed: float = 1.0,
    on_listening: Optional[Callable[[list[str]], Union[None, Awaitable[None]]]] = None,
) -> None:
    """Runs a server until a client's ``quit`` or cancellation."""
    server = QmpServer(manager, speed=speed)
    addresses = await server.start(unix=unix, tcp=tcp)
    if on_listening is not None:
        r = on_listening(addresses)
        if r is not None:
            await r
    try:
        await server.serve_forever()
    finally:
        server.close()
