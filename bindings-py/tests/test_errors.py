"""Exceptions: typed methods raise ``qjob.QmpError`` subclasses with QEMU's
class and text; ``execute`` returns the same error as a reply instead."""

from __future__ import annotations

import pickle

import pytest

import qjob
from qjob import JobManager, QmpError


def test_hierarchy() -> None:
    for cls in (qjob.GenericError, qjob.CommandNotFound, qjob.DeviceNotActive, qjob.DeviceNotFound):
        assert issubclass(cls, QmpError) and issubclass(cls, Exception)
        assert qjob.error_type(cls.__name__) is cls
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
    with pytest.raises(OverflowError):
        job_manager.advance(-1)
    with pytest.raises(TypeError, match="arguments must be a dict"):
        job_manager.command("query-jobs", [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a valid JobVerb"):
        job_manager.verb_allowed("b0", "explode")
