"""Exceptions of qjob: a refused command is a :class:`QmpError` carrying QMP's
error class and QEMU's description, raised as the subclass of its class."""

from __future__ import annotations

__all__ = [
    "CommandNotFound",
    "DeviceNotActive",
    "DeviceNotFound",
    "GenericError",
    "QmpError",
    "SnapshotError",
    "error_type",
]


class QmpError(Exception):
    """A command refused as QMP reports it: ``{"error": {"class": error_class, "desc": desc}}``.

    ``str(e)`` is the description, worded as QEMU 7.2 words it.
    """

    error_class: str
    desc: str

    def __init__(self, error_class: str, desc: str) -> None:
        super().__init__(error_class, desc)
        self.error_class = error_class
        self.desc = desc

    def __str__(self) -> str:
        return self.desc

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error_class!r}, {self.desc!r})"

    def to_qmp(self) -> dict[str, dict[str, str]]:
        """The QMP error reply: ``{"error": {"class": …, "desc": …}}``."""
        return {"error": {"class": self.error_class, "desc": self.desc}}


class GenericError(QmpError):
    """``GenericError``: almost every refusal."""


class CommandNotFound(QmpError):
    """``CommandNotFound``: no such command (or capabilities negotiation)."""


class DeviceNotActive(QmpError):
    """``DeviceNotActive``: a ``block-job-*`` command named no block job."""


class DeviceNotFound(QmpError):
    """``DeviceNotFound``: a device named by the command does not exist."""


# One exception class per QMP error class the core has (``qjob.ERROR_CLASSES``;
# tests/test_errors.py checks that they are the same).
_BY_CLASS: dict[str, type[QmpError]] = {
    "GenericError": GenericError,
    "CommandNotFound": CommandNotFound,
    "DeviceNotActive": DeviceNotActive,
    "DeviceNotFound": DeviceNotFound,
}


def error_type(error_class: str) -> type[QmpError]:
    """The exception class for a QMP error class (:class:`QmpError` when unknown)."""
    return _BY_CLASS.get(error_class, QmpError)


class SnapshotError(ValueError):
    """A snapshot (``JobManager.from_bytes`` / ``from_json``) that could not be restored."""
