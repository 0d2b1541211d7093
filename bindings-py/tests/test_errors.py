"""Exceptions: typed methods raise ``qjob.QmpError`` subclasses with QEMU's
class and text; ``execute`` returns the same error as a reply instead."""

from __future__ import annotations

import pickle
import sys
from typing import Any, Callable

import pytest

import qjob
from qjob import JobManager, QmpError


def test_hierarchy() -> None:
    # One exception class per error class of the core, named after it.
    classes = [qjob.error_type(name) for name in qjob.ERROR_CLASSES]
    assert [cls.__name__ for cls in classes] == qjob.ERROR_CLASSES
    assert classes == [qjob.GenericError, qjob.CommandNotFound, qjob.DeviceNotActive, qjob.DeviceNotFound]
    for cls in classes:
        assert issubclass(cls, QmpError) and issubclass(cls, Exception)
    assert qjob.error_type("SomethingNew") is QmpError
    assert issubclass(qjob.SnapshotError, ValueError)


def test_attributes_str_repr_pickle() -> None:
    e = qjob.GenericError("GenericError", "Job not found")
    assert (e.error_class, e.desc, str(e)) == ("GenericError", "Job not found", "Job not found")
    assert repr(e) == "GenericError('GenericError', 'Job not found')"
    assert e.to_qmp() == {"error": {"class": "GenericError", "desc": "Job not found"}}
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is qjob.GenericError and back.desc == e.desc and back.error_class == e.error_class


@pytest.mark.parametrize(
    ("call", "cls", "desc"),
    [
        (lambda m: m.job_pause("x"), qjob.GenericError, "Job not found"),
        (lambda m: m.job_resume("x"), qjob.GenericError, "Job not found"),
        (lambda m: m.job_cancel("x"), qjob.GenericError, "Job not found"),
        (lambda m: m.job_complete("x"), qjob.GenericError, "Job not found"),
        (lambda m: m.job_finalize("x"), qjob.GenericError, "Job not found"),
        (lambda m: m.job_dismiss("x"), qjob.GenericError, "Job not found"),
        (lambda m: m.block_job_pause("x"), qjob.DeviceNotActive, "Block job 'x' not found"),
        (lambda m: m.block_job_resume("x"), qjob.DeviceNotActive, "Block job 'x' not found"),
        (lambda m: m.block_job_cancel("x"), qjob.DeviceNotActive, "Block job 'x' not found"),
        (lambda m: m.block_job_complete("x"), qjob.DeviceNotActive, "Block job 'x' not found"),
        (lambda m: m.block_job_finalize("x"), qjob.DeviceNotActive, "Block job 'x' not found"),
        (lambda m: m.block_job_dismiss("x"), qjob.DeviceNotActive, "Block job 'x' not found"),
        (lambda m: m.block_job_set_speed("x", 1), qjob.DeviceNotActive, "Block job 'x' not found"),
        (lambda m: m.set_speed("x", 1), qjob.DeviceNotActive, "Block job 'x' not found"),
        (lambda m: m.command("frobnicate"), qjob.CommandNotFound, "The command frobnicate has not been found"),
        (
            lambda m: m.command("qmp_capabilities"),
            qjob.CommandNotFound,
            "Capabilities negotiation is already complete, command ignored",
        ),
        (
            lambda m: m.backup("b0", "src", "dst", speed=-1),
            qjob.GenericError,
            "Parameter 'speed' expects a non-negative value",
        ),
        (lambda m: m.backup(None, "src", "dst"), qjob.GenericError, "Invalid job ID ''"),
        (lambda m: m.blockdev_del("nope"), qjob.GenericError, "Failed to find node with node-name='nope'"),
    ],
)
def test_typed_errors_match_execute(call: object, cls: type[QmpError], desc: str) -> None:
    m = JobManager()
    with pytest.raises(cls) as info:
        call(m)  # type: ignore[operator]
    assert info.value.desc == desc
    assert info.value.error_class == cls.__name__


def test_verb_table_refusals(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst", speed=1)
    m.settle()
    for call, verb in (
        (m.complete, "complete"),
        (m.finalize, "finalize"),
        (m.dismiss, "dismiss"),
    ):
        with pytest.raises(qjob.GenericError) as e:
            call("b0")
        assert e.value.desc == f"Job 'b0' in state 'running' cannot accept command verb '{verb}'"
    with pytest.raises(qjob.GenericError, match="Can't resume a job that was not paused"):
        m.resume("b0")
    # a failed command changes nothing
    assert m.job_info("b0") == qjob.JobInfo("b0", "backup", "running", 1 << 20, 64 << 20)


def test_failed_command_as_reply(job_manager: JobManager) -> None:
    reply = job_manager.execute({"execute": "job-finalize", "arguments": {"id": "x"}, "id": "r1"})
    assert reply == {"error": {"class": "GenericError", "desc": "Job not found"}, "id": "r1"}


def test_python_type_errors(job_manager: JobManager) -> None:
    with pytest.raises(TypeError):
        job_manager.pause(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^ns must be an int from 0 to 2\*\*64-1 \(nanoseconds of virtual time\), not -1"):
        job_manager.advance(-1)
    with pytest.raises(TypeError, match="arguments must be a dict"):
        job_manager.command("query-jobs", [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a valid JobVerb"):
        job_manager.verb_allowed("b0", "explode")


# Every integer argument of the API, as (call taking the bad value, argument name,
# what it must be). A bad value raises TypeError (not an int), ValueError (negative
# where only non-negative values exist) or OverflowError (out of range), naming the
# argument and its range, and changes nothing.
_U64 = "an int from 0 to 2**64-1"


def _h0(m: JobManager) -> qjob.JobHandle:
    h = m.job_handle("h0")
    assert h is not None
    return h


INT_ARGS: list[tuple[Callable[[JobManager, Any], object], str, str]] = [
    (lambda m, v: m.advance(v), "ns", _U64),
    (lambda m, v: m.tick(v), "now_ns", _U64),
    (lambda m, v: m.wait("b0", "null", v), "timeout_ns", _U64),
    (lambda m, v: m.wait_event("BLOCK_JOB_COMPLETED", "b0", timeout_ns=v), "timeout_ns", _U64),
    (lambda m, v: m.set_speed("b0", v), "speed", "an int from 0 to 2**63-1"),
    (lambda m, v: m.block_job_set_speed("b0", v), "speed", "an int from 0 to 2**63-1"),
    (lambda m, v: m.backup("b1", "src2", "dst2", speed=v), "speed", "an int from 0 to 2**63-1"),
    (lambda m, v: m.mirror("m1", "src2", "dst2", speed=v), "speed", "an int from 0 to 2**63-1"),
    (lambda m, v: m.mirror("m1", "src2", "dst2", granularity=v), "granularity", _U64),
    (lambda m, v: m.mirror("m1", "src2", "dst2", buf_size=v), "buf_size", "an int from 0 to 2**63-1"),
    (lambda m, v: m.commit("c1", "src2", speed=v), "speed", "an int from 0 to 2**63-1"),
    (lambda m, v: m.stream("s1", "src2", speed=v), "speed", "an int from 0 to 2**63-1"),
    (lambda m, v: m.create_host_job("h1", speed=v), "speed", "an int from 0 to 2**63-1"),
    (lambda m, v: m.add_image("f.img", "raw", v), "size", _U64),
    (lambda m, v: m.add_image("f.img", "raw", 1 << 20, data=[(0, v)]), "data length", _U64),
    (lambda m, v: m.host_progress(_h0(m), v, 10), "current", _U64),
    (lambda m, v: m.host_progress(_h0(m), 0, v), "total", _U64),
    (lambda m, v: m.host_sleep(_h0(m), v), "until_ns", _U64),
    (lambda m, v: m.host_rate_delay(_h0(m), v), "bytes", _U64),
    (lambda m, v: m.host_io_error(_h0(m), "read", v), "errno", "a positive errno value"),
    (lambda m, v: m.host_run_finished(_h0(m), v), "ret", "0 or a negative errno value"),
    (lambda m, v: m.host_prepare_done(_h0(m), v), "ret", "0 or a negative errno value"),
    (lambda m, v: qjob.JobHandle(v), "raw", _U64),
    (lambda m, v: qjob.TxnHandle(v), "raw", _U64),
    (lambda m, v: qjob.JobInfo("b0", "backup", "running", v), "current_progress", _U64),
    (lambda m, v: qjob.BlockJobInfo("backup", "b0", v, 0, False, False, 0, "ok", False, "running"), "len", _U64),
    (lambda m, v: m.queued_events()[0].to_qmp(v), "epoch_ns", _U64),
    (lambda m, v: m.queued_events()[0].to_json(epoch_ns=v), "epoch_ns", _U64),
]


def _world() -> JobManager:
    m = JobManager()
    m.backup("b0", "src", "dst", speed=1)
    m.create_host_job("h0")
    return m


@pytest.mark.parametrize(("call", "name", "must"), INT_ARGS, ids=[f"{i}-{a[1]}" for i, a in enumerate(INT_ARGS)])
@pytest.mark.parametrize(
    ("value", "exc"),
    [(2**70, OverflowError), (-(2**70), (ValueError, OverflowError)), ("5", TypeError), (None, TypeError), (1.0, TypeError)],
)
def test_int_arguments_say_what_they_must_be(
    call: Callable[[JobManager, Any], object],
    name: str,
    must: str,
    value: object,
    exc: type[Exception] | tuple[type[Exception], ...],
) -> None:
    m = _world()
    before = m.to_json()
    with pytest.raises(exc) as info:
        call(m, value)
    assert str(info.value).startswith(f"{name} must be {must}"), str(info.value)
    shown = repr(value) if isinstance(info.value, (ValueError, OverflowError)) else type(value).__name__
    assert str(info.value).endswith(f", not {shown}")
    assert m.to_json() == before


@pytest.mark.parametrize(("call", "name", "must"), [a for a in INT_ARGS if a[2] == _U64])
def test_unsigned_arguments_refuse_negatives_with_value_error(
    call: Callable[[JobManager, Any], object], name: str, must: str
) -> None:
    m = _world()
    with pytest.raises(ValueError, match=f"^{name} must be "):
        call(m, -1)


def test_values_qemu_refuses_are_refused_in_qemu_s_words(job_manager: JobManager) -> None:
    m = job_manager
    m.backup("b0", "src", "dst", speed=1)
    with pytest.raises(qjob.GenericError, match="^Parameter 'speed' expects a non-negative value$"):
        m.set_speed("b0", -1)
    h = m.create_host_job("h0")
    with pytest.raises(qjob.GenericError, match="positive errno"):
        m.host_io_error(h, "read", -5)
    # The largest values in range are accepted.
    m.set_speed("b0", 2**63 - 1)
    assert qjob.JobHandle(2**64 - 1).raw == 2**64 - 1


def test_list_arguments_say_what_they_must_be(job_manager: JobManager) -> None:
    m = JobManager(machine=True)
    for bad in ("src", ["src", 1], None, 5):
        with pytest.raises(TypeError, match=r"^devices must be a list of node names \(str\), not "):
            m.snapshot_save("s0", "t", "src", bad)  # type: ignore[arg-type]
    for data in (5, [(0,)], [("0", 1)]):
        with pytest.raises(TypeError, match="^data"):
            m.add_image("f.img", "raw", 1 << 20, data=data)  # type: ignore[arg-type]
    assert m.job_count == 0


def test_other_type_errors_name_the_argument(job_manager: JobManager) -> None:
    """str, bool and handle arguments keep pyo3's TypeError, which names the
    expected type; the argument's name comes as a note (printed under the
    message by Python 3.11 and later)."""
    with pytest.raises(TypeError, match="'None' is not an instance of 'str'") as info:
        job_manager.pause(None)  # type: ignore[arg-type]
    if sys.version_info >= (3, 11):
        assert info.value.__notes__ == ["while processing 'id'"]
    with pytest.raises(TypeError, match="'int' object is not an instance of 'bool'"):
        job_manager.cancel("b0", force=1)  # type: ignore[arg-type]
