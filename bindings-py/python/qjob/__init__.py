"""qjob — QEMU 7.2's background-job lifecycle, deterministic and in-process.

The same lifecycle as QEMU's job layer seen through QMP (statuses, verbs,
transactions, events, error texts), on a virtual clock you drive, thousands of
times faster than a real QEMU::

    import qjob

    m = qjob.JobManager()                      # four 64 MiB null-co nodes
    m.execute({"execute": "blockdev-backup", "arguments": {
        "job-id": "b0", "device": "src", "target": "dst", "sync": "full"}})
    m.settle()                                 # what QEMU does after replying
    [e.status for e in m.events() if isinstance(e, qjob.JobStatusChange)]

The compiled part (``qjob._qjob``) wraps the Rust core; this package adds the
``str`` enums, the exceptions, the asyncio QMP server (``python -m qjob
serve``), the scenario replayer CLI (``python -m qjob replay``) and a pytest
plugin (fixtures ``job_manager`` and ``qmp_server``).
"""

from __future__ import annotations

from typing import Any, Optional

from ._enums import (
    HostActionKind,
    HostDirective,
    HostErrorAction,
    JobStatus,
    JobType,
    JobVerb,
)
from ._errors import (
    CommandNotFound,
    DeviceNotActive,
    DeviceNotFound,
    GenericError,
    QmpError,
    SnapshotError,
    error_type,
)
from ._qjob import (
    COMMANDS,
    DEFAULT_NODE_SIZE,
    ERROR_CLASSES,
    EVENT_NAMES,
    JOB_STATUSES,
    JOB_TYPES,
    JOB_VERBS,
    WAIT_LIMIT_NS,
    BlockJobCancelled,
    BlockJobCompleted,
    BlockJobError,
    BlockJobInfo,
    BlockJobPending,
    BlockJobReady,
    Event,
    HostAction,
    JobHandle,
    JobInfo,
    JobManager,
    JobStatusChange,
    JsonStreamer,
    QmpSessions,
    Replayer,
    Resume,
    Stop,
    TxnHandle,
    __version__,
    compare,
    parse_json,
    replay,
    to_sorted_json,
)

__all__ = [
    "COMMANDS",
    "DEFAULT_NODE_SIZE",
    "ERROR_CLASSES",
    "EVENT_NAMES",
    "JOB_STATUSES",
    "JOB_TYPES",
    "JOB_VERBS",
    "WAIT_LIMIT_NS",
    "BlockJobCancelled",
    "BlockJobCompleted",
    "BlockJobError",
    "BlockJobInfo",
    "BlockJobPending",
    "BlockJobReady",
    "CommandNotFound",
    "DeviceNotActive",
    "DeviceNotFound",
    "Event",
    "GenericError",
    "HostAction",
    "HostActionKind",
    "HostDirective",
    "HostErrorAction",
    "JobHandle",
    "JobInfo",
    "JobManager",
    "JobStatus",
    "JobStatusChange",
    "JobType",
    "JobVerb",
    "JsonStreamer",
    "QmpError",
    "QmpSessions",
    "Replayer",
    "Resume",
    "SnapshotError",
    "Stop",
    "TxnHandle",
    "__version__",
    "backup_action",
    "compare",
    "error_type",
    "parse_json",
    "replay",
    "to_sorted_json",
]


def backup_action(
    job_id: Optional[str],
    device: str,
    target: str,
    *,
    sync: str = "full",
    **options: Any,
) -> dict[str, Any]:
    """A ``blockdev-backup`` action for :meth:`JobManager.transaction` and
    :meth:`JobManager.transaction_in` (and for QMP's ``transaction``):
    ``{"type": "blockdev-backup", "data": {…}}``.

    Extra keyword options are QMP arguments with ``_`` for ``-``
    (``speed=1``, ``auto_finalize=False``, ``on_source_error="stop"``).
    """
    data: dict[str, Any] = {"device": device, "target": target, "sync": sync}
    if job_id is not None:
        data["job-id"] = job_id
    for key, value in options.items():
        data[key.replace("_", "-")] = value
    return {"type": "blockdev-backup", "data": data}
