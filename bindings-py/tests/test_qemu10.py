"""The QEMU 10.0 profile through the Python binding: chosen per manager, kept in snapshots."""

import pytest

import qjob
from qjob import JobManager, JobVerb


def test_the_version_is_chosen_per_manager_and_kept() -> None:
    assert JobManager().qemu == "7.2"
    m = JobManager(qemu="10.0")
    assert m.qemu == "10.0"
    assert JobManager.from_bytes(m.to_bytes()).qemu == "10.0"
    assert JobManager.from_json(m.to_json()).qemu == "10.0"
    assert JobManager.empty(qemu="10.0").qemu == "10.0"
    with pytest.raises(ValueError, match="QEMU version"):
        JobManager(qemu="9.2")


def test_block_job_change_and_actively_synced() -> None:
    m = JobManager(qemu="10.0")
    m.mirror("m1", "src", "dst", speed=1, copy_mode="background")
    m.settle()
    assert m.query_block_jobs()[0].actively_synced is False
    assert m.verb_allowed("m1", JobVerb.CHANGE) is True
    m.block_job_change("m1", "write-blocking")
    with pytest.raises(qjob.GenericError, match="Change to copy mode 'background' is not implemented"):
        m.block_job_change("m1", "background")
    with pytest.raises(ValueError):
        m.block_job_change("m1", "sometimes")
    m.block_job_set_speed("m1", 0)
    m.advance(10**9)
    info = m.query_block_jobs()[0]
    assert info.ready and info.actively_synced is True
    assert info.to_qmp()["actively-synced"] is True


def test_qemu_7_2_has_no_block_job_change() -> None:
    m = JobManager()
    m.mirror("m1", "src", "dst", speed=1)
    with pytest.raises(qjob.CommandNotFound):
        m.block_job_change("m1", "write-blocking")
    assert m.query_block_jobs()[0].actively_synced is None
    assert m.verb_allowed("m1", JobVerb.CHANGE) is False
