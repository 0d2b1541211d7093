"""Snapshots: ``to_bytes()`` / ``from_bytes()``, JSON snapshots, pickle and copy.
A restored manager continues exactly as the original would."""

from __future__ import annotations

import copy
import pickle

import pytest

import qjob
from qjob import JobManager


def busy_manager() -> JobManager:
    m = JobManager()
    m.backup("b0", "src", "dst", speed=4 << 20)
    m.mirror("m0", "src2", "dst2")
    m.settle()
    m.advance(250_000_000)
    return m


def run_out(m: JobManager) -> list[str]:
    m.set_speed("b0", 0)
    m.complete("m0")
    m.wait("b0", "null")
    m.wait("m0", "null")
    return [f"{e.timestamp_ns} {e.transcript_line()}" for e in m.events()] + [str(m.now)]


def test_bytes_roundtrip_continues_identically() -> None:
    a = busy_manager()
    data = a.to_bytes()
    assert isinstance(data, bytes) and data.startswith(b"QJOBSNAP")
    b = JobManager.from_bytes(data)
    assert b.to_bytes() == data
    assert b.query_jobs() == a.query_jobs() and b.query_block_jobs() == a.query_block_jobs()
    assert b.now == a.now and b.next_deadline == a.next_deadline
    assert run_out(b) == run_out(a)


def test_json_roundtrip() -> None:
    a = busy_manager()
    text = a.to_json()
    b = JobManager.from_json(text)
    assert b.to_json() == text
    assert run_out(b) == run_out(a)


def test_pickle_and_copy() -> None:
    a = busy_manager()
    for b in (pickle.loads(pickle.dumps(a)), copy.copy(a), copy.deepcopy(a), a.clone()):
        assert b is not a and b.to_bytes() == a.to_bytes()
    b = pickle.loads(pickle.dumps(a, protocol=2))
    b.job_cancel("b0")  # independent of the original
    b.settle()
    assert b.job_info("b0") is None
    info = a.job_info("b0")
    assert info is not None and info.status is qjob.JobStatus.RUNNING


def test_queued_events_survive_a_snapshot() -> None:
    a = JobManager()
    a.backup("b0", "src", "dst")
    a.settle()
    b = pickle.loads(pickle.dumps(a))
    assert b.events() == a.events() and len(b.queued_events()) == 0


def test_pickle_values() -> None:
    m = JobManager()
    m.backup("b0", "src", "dst", speed=1)
    m.settle()
    h = m.create_host_job("h1")
    t = m.new_transaction()
    values: list[object] = [*m.query_jobs(), *m.query_block_jobs(), *m.queued_events(), h, t]
    values += list(qjob.JobStatus) + list(qjob.JobType)
    for v in values:
        back = pickle.loads(pickle.dumps(v))
        assert back == v and type(back) is type(v)


def test_bad_snapshots() -> None:
    with pytest.raises(qjob.SnapshotError, match="not a qjob snapshot"):
        JobManager.from_bytes(b"nonsense")
    good = JobManager().to_bytes()
    with pytest.raises(qjob.SnapshotError):
        JobManager.from_bytes(good[:-3])
    with pytest.raises(qjob.SnapshotError):
        JobManager.from_json('{"format": "qjob-snapshot", "version": 99, "manager": {}}')
