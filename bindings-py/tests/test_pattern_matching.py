"""Events and infos work with ``match`` (Python 3.10+; skipped on 3.9 by conftest)."""

from __future__ import annotations

from qjob import BlockJobCompleted, JobInfo, JobManager, JobStatus, JobStatusChange, JobType


def test_match_events_and_infos(job_manager: JobManager) -> None:
    job_manager.backup("b0", "src", "dst")
    job_manager.settle()
    matched = []
    for e in job_manager.events():
        match e:
            case JobStatusChange("b0", JobStatus.WAITING):
                matched.append("waiting")
            case BlockJobCompleted(JobType.BACKUP, "b0", offset=offset):
                matched.append(f"completed {offset}")
    assert matched == ["waiting", f"completed {64 << 20}"]
    match JobInfo("b0", "backup", "running"):
        case JobInfo("b0", JobType.BACKUP, JobStatus.RUNNING):
            pass
        case _:
            raise AssertionError("no match")
