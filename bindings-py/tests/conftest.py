"""Shared helpers of qjob's Python tests (qjob's own pytest plugin gives the
``job_manager`` and ``qmp_server`` fixtures)."""

from __future__ import annotations

import os
import sys
import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "scenarios").glob("*.scn"))


def qemu_storage_daemon() -> Optional[str]:
    """A QEMU 7.2 ``qemu-storage-daemon``: ``$QEMU72_DIR``, the repository's
    ``.cache/qemu72`` (``tools/fetch-qemu72.sh``), ``/tmp/qemu72``, or PATH."""
    candidates = []
    if os.environ.get("QEMU72_DIR"):
        candidates.append(Path(os.environ["QEMU72_DIR"]) / "usr/bin/qemu-storage-daemon")
    candidates.append(REPO / ".cache/qemu72/usr/bin/qemu-storage-daemon")
    candidates.append(Path("/tmp/qemu72/usr/bin/qemu-storage-daemon"))
    on_path = shutil.which("qemu-storage-daemon")
    if on_path:
        candidates.append(Path(on_path))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            try:
                out = subprocess.run([str(c), "--version"], capture_output=True, text=True, timeout=10).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            if "version 7.2" in out:
                return str(c)
    return None


@pytest.fixture(scope="session")
def qsd_path() -> str:
    path = qemu_storage_daemon()
    if path is None:
        pytest.skip("QEMU 7.2 qemu-storage-daemon not found (tools/fetch-qemu72.sh fetches it; or set QEMU72_DIR)")
    return path


collect_ignore = ["test_pattern_matching.py"] if sys.version_info < (3, 10) else []
