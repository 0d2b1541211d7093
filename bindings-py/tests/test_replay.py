"""``python -m qjob replay``: the scenario replayer (scenarios/README.md) through the
extension, byte-identical to the Rust replayer, and in agreement with the
transcripts recorded from QEMU 7.2."""

from __future__ import annotations

import json
import math
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import qjob
from conftest import SCENARIOS


def python_replay(*files: Path | str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "qjob", "replay", *map(str, files)], capture_output=True)


@pytest.mark.parametrize("scn", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_agrees_with_qemu(scn: Path) -> None:
    recorded = scn.with_name(scn.stem + ".qemu72.txt")
    if not recorded.exists():
        pytest.skip(f"{recorded.name} not recorded yet")
    transcript = qjob.replay(scn.read_text(encoding="utf-8"))
    difference = qjob.compare(recorded.read_text(encoding="utf-8"), transcript)
    assert difference is None, difference


def test_replay_cli_is_byte_identical_to_the_rust_replayer() -> None:
    rust = os.environ.get("QJOB_RUST_REPLAY")
    if not rust:
        pytest.skip("QJOB_RUST_REPLAY (the built core/examples/replay) is not set; bindings-py/ci.sh sets it")
    assert SCENARIOS
    for files in [[p] for p in SCENARIOS] + [SCENARIOS]:
        expected = subprocess.run([rust, *map(str, files)], capture_output=True)
        actual = python_replay(*files)
        assert (actual.returncode, actual.stdout) == (expected.returncode, expected.stdout), files


def test_replayer_class_and_errors(tmp_path: Path) -> None:
    r = qjob.Replayer()
    r.run_line('{"execute": "query-jobs"}')
    r.run_line("# a comment")
    assert r.lines() == ['> {"execute": "query-jobs"}', "< {\"return\": []}"]
    assert r.transcript() == '> {"execute": "query-jobs"}\n< {"return": []}\n'
    with pytest.raises(ValueError, match="unknown scenario line"):
        r.run_line('{"nonsense": 1}')
    with pytest.raises(ValueError, match="line 2: "):
        qjob.replay('{"execute": "query-jobs"}\n[1]\n')
    bad = tmp_path / "bad.scn"
    bad.write_text("not json\n")
    good = tmp_path / "good.scn"
    good.write_text('{"execute": "query-jobs"}\n')
    result = python_replay(good, bad, tmp_path / "missing.scn")
    assert result.returncode == 1
    assert result.stdout.decode() == f'# {good}\n> {{"execute": "query-jobs"}}\n< {{"return": []}}\n# {bad}\n'
    assert f"replay: {bad}: line 1: not JSON" in result.stderr.decode()
    assert "missing.scn" in result.stderr.decode()
    usage = subprocess.run([sys.executable, "-m", "qjob", "replay"], capture_output=True, text=True)
    assert usage.returncode == 2 and usage.stderr.startswith("usage: replay [--qemu 7.2|10.0] SCENARIO...")
    for bad_qemu in (["--qemu"], ["--qemu", "9.2", str(good)]):
        r2 = subprocess.run([sys.executable, "-m", "qjob", "replay", *bad_qemu], capture_output=True, text=True)
        assert r2.returncode == 2 and r2.stdout == ""
        assert r2.stderr.startswith("replay: --qemu takes 7.2 or 10.0\nusage: replay [--qemu 7.2|10.0]")
    with pytest.raises(ValueError, match="QEMU version"):
        qjob.replay("", qemu="9.2")
    with pytest.raises(ValueError, match="QEMU version"):
        qjob.Replayer(qemu="9.2")


def test_replay_qemu_10_is_the_rust_replayers() -> None:
    """``--qemu 10.0`` (and ``replay(text, qemu=...)``, ``Replayer(qemu=...)``) replay under
    the 10.0 profile: the transcripts of ``replay --qemu 10.0`` of the Rust replayer, which
    differ from 7.2's where 10.0 differs (``block-job-change`` exists)."""
    scn = SCENARIOS[0].parent / "qemu10" / "block-job-change.scn"
    text = scn.read_text(encoding="utf-8")
    t10, t72 = qjob.replay(text, qemu="10.0"), qjob.replay(text)
    assert t10 != t72
    assert qjob.compare((scn.with_suffix(".qemu10.txt")).read_text(encoding="utf-8"), t10) is None
    r = qjob.Replayer(qemu="10.0")
    r.run(text)
    assert r.transcript() == t10
    cli = subprocess.run([sys.executable, "-m", "qjob", "replay", "--qemu", "10.0", str(scn)], capture_output=True)
    assert cli.returncode == 0 and cli.stdout.decode() == t10
    rust = os.environ.get("QJOB_RUST_REPLAY")
    if rust:
        files = [str(scn), str(SCENARIOS[0])]
        expected = subprocess.run([rust, "--qemu", "10.0", *files], capture_output=True)
        actual = python_replay("--qemu", "10.0", *files)
        assert (actual.returncode, actual.stdout) == (expected.returncode, expected.stdout)


def test_transcript_floats_are_pythons_repr() -> None:
    """A transcript writes JSON as ``json.dumps(v, sort_keys=True)`` does, so
    its floats must be Python's own ``repr``: the shortest digits, ties to
    even (``1658206780088562.2``, not ``.3``), the same switch to exponents."""
    rng = random.Random(7)
    floats = [0.0, -0.0, 1e-4, 9.999e-5, 1e16, 9999999999999998.0, 1e15, 5e-324, sys.float_info.max,
              sys.float_info.min, 1658206780088562.2, 0.1, 2.5e-5, 1.5e-7, 1e22]
    while len(floats) < 3000:
        (f,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        if math.isfinite(f):
            floats.append(f)
    commands = [{"execute": "query-jobs", "arguments": {"f": f}} for f in floats]
    transcript = qjob.replay("".join(json.dumps(c) + "\n" for c in commands))
    sent = [line for line in transcript.splitlines() if line.startswith("> ")]
    assert sent == ["> " + json.dumps(c, sort_keys=True) for c in commands]
