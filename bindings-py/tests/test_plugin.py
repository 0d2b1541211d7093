"""qjob's pytest plugin: registered as a ``pytest11`` entry point, with the
``job_manager`` and ``qmp_server`` fixtures and the ``qjob`` marker."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import pytest

import qjob
import qjob.pytest_plugin
from qjob.server import ThreadedQmpServer



def test_entry_point_is_registered() -> None:
    if sys.version_info >= (3, 10):
        group = list(entry_points(group="pytest11"))
    else:  # Python 3.9: a dict of groups
        group = list(entry_points().get("pytest11", []))  # type: ignore[attr-defined,unused-ignore]
    eps = [ep for ep in group if ep.name == "qjob"]
    assert [ep.value for ep in eps] == ["qjob.pytest_plugin"]
    assert eps[0].load() is qjob.pytest_plugin


def test_job_manager_fixture(job_manager: qjob.JobManager) -> None:
    assert isinstance(job_manager, qjob.JobManager)
    assert job_manager.now == 0 and job_manager.query_jobs() == []
    assert all(job_manager.has_node(n) for n in ("src", "dst", "src2", "dst2"))


@pytest.mark.qjob(empty=True)
def test_marker_empty(job_manager: qjob.JobManager) -> None:
    assert not job_manager.has_node("src")


@pytest.mark.qjob(machine=True, speed=0)
def test_qmp_server_fixture(qmp_server: ThreadedQmpServer) -> None:
    assert isinstance(qmp_server.address, str) and qmp_server.address.endswith("qmp.sock")
    assert qmp_server.server.speed == 0
    assert qmp_server.call(lambda m: m.execute({"execute": "query-jobs"})) == {"return": []}


def test_plugin_in_a_users_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        import asyncio, pytest, qjob
        from qemu.qmp import QMPClient

        def test_manager(job_manager):
            job_manager.backup("b0", "src", "dst")
            assert job_manager.wait("b0", "null")

        @pytest.mark.qjob(machine=True)
        def test_machine(job_manager):
            job_manager.snapshot_delete("d0", "tag", ["src"])  # a VM-only command
            assert job_manager.wait("d0", "concluded")

        def test_server(qmp_server):
            async def main():
                c = QMPClient("user")
                await c.connect(qmp_server.address)
                assert await c.execute("query-jobs") == []
                await c.disconnect()
            asyncio.run(main())

        @pytest.mark.qjob(nonsense=1)
        def test_bad_marker(job_manager):
            pass

        def test_typo_in_a_job_id(job_manager):
            job_manager.backup("b0", "src", "dst")
            assert job_manager.wait("bO", "null")

        def test_typo_in_an_event_name(job_manager):
            job_manager.mirror("m0", "src", "dst")
            assert job_manager.wait_event("BLOCK_JOB_READ", "m0")
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3, failed=2, errors=1)
    result.stdout.fnmatch_lines(["*unknown options*nonsense*"])
    result.stdout.fnmatch_lines(["*KeyError*no job 'bO'*"])
    result.stdout.fnmatch_lines(["*ValueError*'BLOCK_JOB_READ' is not an event qjob emits*"])
    markers = pytester.runpytest_subprocess("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.qjob(*qemu=*"])


@pytest.mark.qjob(qemu="10.0")
def test_marker_qemu(job_manager: qjob.JobManager) -> None:
    assert job_manager.qemu == "10.0"


def test_qemu_option_and_marker(pytester: pytest.Pytester) -> None:
    """--qjob-qemu picks the QEMU of every fixture, the marker's qemu= one test's; the QMP
    server greets as that QEMU."""
    pytester.makepyfile(
        test_user="""
        import asyncio, pytest
        from qemu.qmp import QMPClient

        def test_default(job_manager, pytestconfig):
            assert job_manager.qemu == pytestconfig.getoption("qjob_qemu")

        @pytest.mark.qjob(qemu="7.2")
        def test_marker_72(job_manager):
            assert job_manager.qemu == "7.2"
            r = job_manager.execute({"execute": "block-job-change", "arguments": {"id": "j", "type": "mirror"}})
            assert r["error"]["class"] == "CommandNotFound"

        @pytest.mark.qjob(qemu="10.0")
        def test_marker_10(job_manager):
            assert job_manager.qemu == "10.0"

        def test_server(qmp_server, pytestconfig):
            async def main():
                c = QMPClient("user")
                await c.connect(qmp_server.address)
                v = await c.execute("query-version")
                await c.disconnect()
                return c.greeting, v
            greeting, v = asyncio.run(main())
            want = {"7.2": (7, 2, 22), "10.0": (10, 0, 2)}[pytestconfig.getoption("qjob_qemu")]
            q = v["qemu"]
            assert (q["major"], q["minor"], q["micro"]) == want
            g = greeting.QMP.version["qemu"]
            assert (g["major"], g["minor"], g["micro"]) == want

        @pytest.mark.qjob(qemu="9.2")
        def test_bad_qemu(job_manager):
            pass
        """
    )
    for args in ([], ["--qjob-qemu=7.2"], ["--qjob-qemu=10.0"]):
        result = pytester.runpytest_subprocess("-q", *args)
        result.assert_outcomes(passed=4, errors=1)
        result.stdout.fnmatch_lines(["*qemu='9.2' is not one of 7.2, 10.0*"])
    bad = pytester.runpytest_subprocess("-q", "--qjob-qemu=9.2")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--qjob-qemu*invalid choice*"])
