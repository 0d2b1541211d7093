"""The README's Python examples run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_in_process_example(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(BLOCKS[0], "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines()[0] == "b0 created 0"


def test_plugin_example(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme_plugin=BLOCKS[1])
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=2)
