"""qjob's pytest plugin (entry point ``pytest11``; active wherever qjob is installed).

Fixtures:

- ``job_manager``: a fresh :class:`qjob.JobManager` over the default world
  (four 64 MiB ``null-co`` nodes ``src``, ``dst``, ``src2``, ``dst2``);
- ``qmp_server``: a :class:`qjob.server.ThreadedQmpServer` listening on a
  Unix socket, for code that only speaks QMP (``qmp_server.address`` is what
  ``qemu.qmp.QMPClient.connect`` takes; ``qmp_server.call(fn)`` runs
  ``fn(manager)`` on the server's thread).

Both take options from the ``qjob`` marker::

    @pytest.mark.qjob(machine=True)     # snapshot-* commands (a VM, not the storage daemon)
    @pytest.mark.qjob(speed=0)          # qmp_server: virtual time only moves by x-qjob-* commands
    @pytest.mark.qjob(empty=True)       # no nodes
    @pytest.mark.qjob(qemu="10.0")      # reproduce QEMU 10.0 (the default: --qjob-qemu, else 7.2)

The QEMU the fixtures reproduce is chosen for the whole run with the
command-line option ``--qjob-qemu=7.2|10.0`` (default 7.2; run the suite
twice to test against both); the marker's ``qemu=`` overrides it for one
test. The manager (``job_manager.qemu``) and the QMP server's greeting and
``query-version`` are that QEMU's.

A typo in a test fails it rather than passing: ``job_manager.wait("b1", "null")``
raises ``KeyError`` when there is no job ``b1`` (``missing_ok=True`` to wait
anyway), and ``wait_event`` raises ``ValueError`` for a name outside
``qjob.EVENT_NAMES``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from . import JobManager
from .server import ThreadedQmpServer

__all__ = ["job_manager", "qmp_server"]


QEMU_VERSIONS = ("7.2", "10.0")
"""The values ``--qjob-qemu`` and the marker's ``qemu=`` take."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("qjob").addoption(
        "--qjob-qemu",
        choices=QEMU_VERSIONS,
        default="7.2",
        help="the QEMU qjob's job_manager and qmp_server fixtures reproduce (default 7.2)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "qjob(machine=False, empty=False, speed=1.0, qemu=None): options of qjob's job_manager and "
        "qmp_server fixtures (qemu: \"7.2\" or \"10.0\", default --qjob-qemu's)",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("qjob")
    opts: dict[str, Any] = {
        "machine": False,
        "empty": False,
        "speed": 1.0,
        "qemu": request.config.getoption("qjob_qemu"),
    }
    if marker is not None:
        unknown = set(marker.kwargs) - set(opts)
        if unknown or marker.args:
            raise pytest.UsageError(f"qjob marker: unknown options {sorted(unknown) or marker.args}")
        opts.update(marker.kwargs)
    if opts["qemu"] not in QEMU_VERSIONS:
        raise pytest.UsageError(f"qjob marker: qemu={opts['qemu']!r} is not one of {', '.join(QEMU_VERSIONS)}")
    return opts


def _manager(opts: dict[str, Any]) -> JobManager:
    if opts["empty"]:
        return JobManager.empty(machine=bool(opts["machine"]), qemu=opts["qemu"])
    return JobManager(machine=bool(opts["machine"]), qemu=opts["qemu"])


@pytest.fixture
def job_manager(request: pytest.FixtureRequest) -> JobManager:
    """A fresh qjob JobManager (options: the ``qjob`` marker)."""
    return _manager(_options(request))


@pytest.fixture
def qmp_server(request: pytest.FixtureRequest) -> Iterator[ThreadedQmpServer]:
    """A qjob QMP server on a Unix socket, in a background thread."""
    opts = _options(request)
    # Unix socket paths are limited to 107 bytes: keep the directory short.
    tmp = tempfile.mkdtemp(prefix="qjob-")
    server = ThreadedQmpServer(_manager(opts), unix=f"{tmp}/qmp.sock", speed=float(opts["speed"]))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
