"""``JobManager.transaction_in``: a QMP ``transaction`` whose simulated jobs
join a transaction made by ``new_transaction()``, where host jobs are members
too (the C suite's ``test_transaction_in_*`` in Python)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

import qjob
from qjob import HostActionKind, JobManager, JobStatusChange, TxnHandle

STALE = "Transaction handle does not name an existing transaction"


def backup(**extra: Any) -> list[dict[str, Any]]:
    return [qjob.backup_action("b", "src", "dst", **extra)]


def events(m: JobManager) -> list[str]:
    """Takes the queued events as ``id:status`` / ``id:EVENT_NAME``."""
    return [f"{e.job_id}:{e.status if isinstance(e, JobStatusChange) else e.name}" for e in m.events()]


def kinds(m: JobManager) -> list[str]:
    return [a.kind.value for a in m.actions()]


def test_host_job_and_backup_conclude_together(job_manager: JobManager) -> None:
    m = job_manager
    t = m.new_transaction()
    h = m.create_host_job("h", transaction=t)
    m.transaction_in(t, backup())
    m.settle()
    # The backup is done and waits for the host job, which still runs.
    assert events(m) == ["h:created", "h:running", "b:created", "b:running", "b:paused", "b:running", "b:waiting"]
    assert kinds(m) == ["start"]
    assert [(j.id, j.status) for j in m.query_jobs()] == [("b", "waiting"), ("h", "running")]

    # The host job ends: both finalize together, the newest member first.
    m.host_run_finished(h)
    m.settle()
    assert events(m) == [
        "h:waiting",
        "b:pending",
        "h:pending",
        "b:BLOCK_JOB_COMPLETED",
        "b:concluded",
        "b:null",
        "h:BLOCK_JOB_COMPLETED",
        "h:concluded",
        "h:null",
    ]
    assert kinds(m) == ["commit", "clean"]
    assert m.query_jobs() == [] and m.job_count == 0

    # The transaction is gone with its members.
    with pytest.raises(qjob.GenericError) as e:
        m.transaction_in(t, backup())
    assert e.value.desc == STALE and e.value.error_class == "GenericError"
    assert m.internal_errors == []


def test_failing_host_job_aborts_the_backup(job_manager: JobManager) -> None:
    m = job_manager
    t = m.new_transaction()
    h = m.create_host_job("h", transaction=t)
    m.transaction_in(t, backup(speed=1))
    m.settle()
    m.events()
    m.actions()
    assert [(j.id, j.status) for j in m.query_jobs()] == [("b", "running"), ("h", "running")]

    m.host_run_finished(h, -5, "disk on fire")
    m.settle()
    assert events(m) == [
        "h:aborting",
        "b:aborting",
        "b:BLOCK_JOB_CANCELLED",
        "b:concluded",
        "b:null",
        "h:BLOCK_JOB_COMPLETED",
        "h:concluded",
        "h:null",
    ]
    assert kinds(m) == ["abort", "clean"]
    assert m.query_jobs() == []
    with pytest.raises(qjob.GenericError, match=STALE):
        m.transaction_in(t, backup())

    # An action refused after another was prepared rolls that one back: its
    # job is cancelled, which fails the transaction and its members.
    t = m.new_transaction()
    m.create_host_job("h", transaction=t)
    m.events()
    m.actions()
    with pytest.raises(qjob.GenericError) as e:
        m.transaction_in(t, backup() + [qjob.backup_action("c", "nope", "dst")])
    assert e.value.desc == "Cannot find device='nope' nor node-name='nope'"
    assert events(m) == ["b:created", "b:aborting", "b:concluded", "b:null"]
    assert [(a.kind, a.force) for a in m.actions()] == [(HostActionKind.CANCEL, True)]
    with pytest.raises(qjob.GenericError, match="The transaction has failed and takes no new jobs"):
        m.transaction_in(t, [])
    assert m.internal_errors == []


def test_misuse_changes_nothing(job_manager: JobManager) -> None:
    m = job_manager
    # A stale handle of a transaction that is gone, and a live one with a
    # running host job in it.
    gone = m.new_transaction()
    g = m.create_host_job("g", transaction=gone)
    m.host_run_finished(g)
    m.settle()
    t = m.new_transaction()
    assert t != gone
    h = m.create_host_job("h", transaction=t)
    m.host_progress(h, 10, 100)
    before = m.to_bytes()
    assert m.pending_events > 0 and m.pending_actions > 0

    def refused(call: Callable[[], object], exc: type[BaseException], match: str) -> None:
        with pytest.raises(exc, match=match):
            call()
        assert m.to_bytes() == before

    # Malformed Python arguments: TypeError / ValueError, before the core.
    for bad in ({"type": "abort", "data": {}}, "[]", None, 7):
        refused(lambda: m.transaction_in(t, bad), TypeError, "actions must be a list")  # type: ignore[arg-type]
    refused(lambda: m.transaction_in(t, [{"type": "abort", "data": {"n": object()}}]), TypeError, "not JSON")
    refused(lambda: m.transaction_in(t, [{1: "abort"}]), TypeError, "keys must be str")  # type: ignore[dict-item]
    refused(lambda: m.transaction_in(t, [{"type": "abort", "data": {"n": float("nan")}}]), ValueError, "NaN")
    refused(lambda: m.transaction_in(t.raw, backup()), TypeError, "TxnHandle")  # type: ignore[arg-type]
    refused(lambda: m.transaction_in(h, backup()), TypeError, "TxnHandle")  # type: ignore[arg-type]

    # A stale transaction handle, and one that never existed.
    refused(lambda: m.transaction_in(gone, backup()), qjob.GenericError, STALE)
    refused(lambda: m.transaction_in(TxnHandle(987654321), []), qjob.GenericError, STALE)

    # Invalid actions: QEMU's argument errors, before anything happens.
    for actions, desc in (
        ([{"type": "frob", "data": {}}], "Parameter 'type' does not accept value 'frob'"),
        ([1], r"Invalid parameter type for 'actions\[0\]', expected: object"),
        ([{"type": "blockdev-backup", "data": {"device": "src"}}], r"Parameter 'actions\[0\].data.sync' is missing"),
        ([{"type": "abort"}], r"Parameter 'actions\[0\].data' is missing"),
    ):
        refused(lambda: m.transaction_in(gone, actions), qjob.GenericError, desc)  # type: ignore[arg-type]

    # Still usable: the host job goes on, a valid call works (a tuple too).
    m.host_progress(h, 20, 100)
    m.transaction_in(t, tuple(backup()))
    m.settle()
    m.host_run_finished(h)
    m.settle()
    assert m.query_jobs() == [] and m.internal_errors == []
