"""The ``str`` enums of qjob: QAPI's ``JobStatus``, ``JobType`` and ``JobVerb``
(values in QAPI declaration order, the same as the core's ``ALL`` lists —
``tests/test_api.py`` checks that), and the host-job enums.

Members compare equal to their QAPI spelling (``JobStatus.RUNNING == "running"``)
and ``str()`` gives that spelling, so they can be used wherever QMP wants a string.
"""

from __future__ import annotations

import enum

__all__ = [
    "HostActionKind",
    "HostDirective",
    "HostErrorAction",
    "JobStatus",
    "JobType",
    "JobVerb",
]


class _StrEnum(str, enum.Enum):
    """A ``str`` enum whose ``str()`` and ``format()`` are its value."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class JobStatus(_StrEnum):
    """Status of a job (QAPI ``JobStatus``)."""

    UNDEFINED = "undefined"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    READY = "ready"
    STANDBY = "standby"
    WAITING = "waiting"
    PENDING = "pending"
    ABORTING = "aborting"
    CONCLUDED = "concluded"
    NULL = "null"


class JobType(_StrEnum):
    """Type of a job (QAPI ``JobType``)."""

    COMMIT = "commit"
    STREAM = "stream"
    MIRROR = "mirror"
    BACKUP = "backup"
    CREATE = "create"
    AMEND = "amend"
    SNAPSHOT_LOAD = "snapshot-load"
    SNAPSHOT_SAVE = "snapshot-save"
    SNAPSHOT_DELETE = "snapshot-delete"


class JobVerb(_StrEnum):
    """A verb that can be applied to a job (QAPI ``JobVerb``)."""

    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    SET_SPEED = "set-speed"
    COMPLETE = "complete"
    DISMISS = "dismiss"
    FINALIZE = "finalize"
    CHANGE = "change"


class HostDirective(_StrEnum):
    """What a host job does after reporting a pause point or a sleep."""

    CONTINUE = "continue"
    PAUSED = "paused"
    SLEEPING = "sleeping"
    CANCELLED = "cancelled"


class HostErrorAction(_StrEnum):
    """What the error policy decided about a host job's I/O error."""

    RETRY = "retry"
    FAIL = "fail"
    PAUSE = "pause"


class HostActionKind(_StrEnum):
    """What the core asks of a host job (``HostAction.kind``)."""

    START = "start"
    RESUME = "resume"
    WAKE = "wake"
    PAUSE = "pause"
    CANCEL = "cancel"
    COMPLETE = "complete"
    SET_SPEED = "set-speed"
    PREPARE = "prepare"
    COMMIT = "commit"
    ABORT = "abort"
    CLEAN = "clean"
