"""An asyncio QMP server over qjob's core: ``python -m qjob serve``.

The server is a driver around the core's QMP sessions (:class:`qjob.QmpSessions`)
and one :class:`qjob.JobManager`, as ``quinn`` is around ``quinn-proto``: it
owns the sockets and the real clock; the core owns the protocol. Every byte a
client reads comes from the core, written as QEMU 7.2 writes it: the greeting
(QEMU 7.2.22's), capabilities negotiation (``qmp_capabilities``, ``oob``
offered) and its errors, QEMU's JSON stream framing (several messages per
read or one over several, single-quoted strings, its limits and its
recovery after a parse error), ``id`` echo, ``exec-oob``, events with
timestamps to every negotiated client, ``\\r\\n``-terminated messages, and
``quit`` (the jobs end, then the reply, then the server closes).

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
  comes; returns ``{"reached": …, "now-ns": …}``.

Event timestamps are ``epoch_ns`` (the wall-clock time at which the server's
virtual clock read 0) plus the event's virtual time.

Several clients may connect at once; a client that disconnects, sends
garbage or stops reading never affects the others or the jobs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable
from typing import Callable, Optional, TypeVar, Union

from ._qjob import MAX_NESTING, MAX_TOKEN_SIZE, JobManager, JsonStreamer, QmpSessions

__all__ = ["QmpServer", "ThreadedQmpServer", "JsonStreamer", "JSON_LIMIT", "NESTING_LIMIT"]

T = TypeVar("T")
_log = logging.getLogger("qjob.server")

#: Largest message accepted (QEMU's ``MAX_TOKEN_SIZE``, 64 MiB).
JSON_LIMIT = MAX_TOKEN_SIZE
#: Deepest nesting accepted (QEMU's ``MAX_NESTING``, 1024).
NESTING_LIMIT = MAX_NESTING
#: A client whose unread output grows past this is disconnected.
OUTPUT_LIMIT = 64 << 20


class _Client(asyncio.Protocol):
    """One QMP connection: a monitor of the server's sessions."""

    def __init__(self, server: QmpServer) -> None:
        self.server = server
        self.transport: Optional[asyncio.Transport] = None
        self.monitor = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.monitor = self.server.sessions.handle_connect()
        self.server._clients[self.monitor] = self
        self.server._transmit()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self.server._clients.pop(self.monitor, None) is not None:
            self.server.sessions.handle_disconnect(self.monitor)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.server._input(self, data)

    def eof_received(self) -> Optional[bool]:
        return False  # close: QEMU drops a socket monitor whose client ended its output

    def write(self, data: bytes) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        t.write(data)
        if t.get_write_buffer_size() > OUTPUT_LIMIT:
            t.abort()  # a client that stops reading cannot hold the server's memory


class QmpServer:
    """A QMP server over one :class:`JobManager` (see the module docs).

    Use ``await server.start(unix=PATH)`` or ``start(tcp=(HOST, PORT))`` (both
    may be given; port 0 picks a free port), then ``await server.serve_forever()``
    or :meth:`close`. All methods run on the event loop's thread. ``sessions``
    is the core's :class:`qjob.QmpSessions` the server drives.
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
        if epoch_ns is None:
            epoch_ns = time.time_ns() - self.manager.now
        self.sessions = QmpSessions(allow_quit=allow_quit, epoch_ns=epoch_ns, qemu=self.manager.qemu)
        self.addresses: list[str] = []
        self._allow_quit = allow_quit
        self._clients: dict[int, _Client] = {}
        self._servers: list[asyncio.base_events.Server] = []
        self._unix_paths: list[str] = []
        self._timer: Optional[asyncio.TimerHandle] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stopped: Optional[asyncio.Event] = None
        self._rebase()

    @property
    def epoch_ns(self) -> int:
        """The wall-clock time (ns since the Unix epoch) at which virtual time was 0."""
        return self.sessions.epoch_ns

    @epoch_ns.setter
    def epoch_ns(self, value: int) -> None:
        self.sessions.epoch_ns = value

    @property
    def allow_quit(self) -> bool:
        """Whether ``quit`` exists (it closes the server)."""
        return self._allow_quit

    def greeting(self) -> str:
        """The QMP greeting, as QEMU 7.2 writes it (without its line end)."""
        return self.sessions.greeting

    # -- the clock ---------------------------------------------------------

    def _rebase(self) -> None:
        self._base_real = time.monotonic_ns()
        self._base_virtual = self.manager.now

    def _paced(self) -> int:
        elapsed = time.monotonic_ns() - self._base_real
        return self._base_virtual + int(elapsed * self.speed)

    def virtual_target(self) -> int:
        """Where the paced virtual clock should be now (``now`` when ``speed`` is 0)."""
        if self.speed <= 0:
            return self.manager.now
        return max(self.manager.now, self._paced())

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.speed <= 0 or self._loop is None or self._stopped is None or self._stopped.is_set():
            return
        deadline = self.sessions.poll_timeout(self.manager)
        if deadline is None:
            return
        delay = max(0.0, (deadline - self.virtual_target()) / self.speed / 1e9)
        self._timer = self._loop.call_later(delay, self._on_timer, deadline)

    def _on_timer(self, deadline: int) -> None:
        self._timer = None
        # call_later may fire up to a clock tick early: never stop short of the deadline.
        self.sessions.handle_timeout(self.manager, max(self.virtual_target(), deadline))
        self._transmit()
        self._schedule()

    # -- bytes in, bytes out -------------------------------------------------

    def _input(self, client: _Client, data: bytes) -> None:
        try:
            target = self.virtual_target()
            if target > self.manager.now:
                self.sessions.handle_timeout(self.manager, target)
            self.sessions.handle_input(self.manager, client.monitor, data)
            if self.manager.now > self._paced():
                self._rebase()  # x-qjob-advance or x-qjob-wait moved the clock ahead
        except Exception as e:  # a bug must not take the server down
            _log.exception("qjob QMP server: input failed")
            desc = f"qjob internal error: {type(e).__name__}: {e}"
            client.write(json.dumps({"error": {"class": "GenericError", "desc": desc}}).encode() + b"\r\n")
        self._after()

    def _after(self) -> None:
        """Writes what the sessions have for each client; closes after ``quit``."""
        self._transmit()
        if self.sessions.exit_requested and self._loop is not None:
            self._loop.call_soon(self.close)
        else:
            self._schedule()

    def _transmit(self) -> None:
        for monitor, client in list(self._clients.items()):
            data = self.sessions.poll_transmit(monitor)
            if data:
                client.write(data)

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
        for c in list(self._clients.values()):
            if c.transport is not None:
                c.transport.close()
        for path in self._unix_paths:
            try:
                os.unlink(path)
            except OSError:
                pass


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
            self.server.sessions.handle_manager_events(self.server.manager)
            self.server._after()
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
