"""The README's Python examples run as written, against the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert out.strip(), "every example prints what it shows"
    assert "Traceback" not in out


def test_readme_names_the_two_commands() -> None:
    text = README.read_text()
    assert "python3 dev.py demo" in text and "python3 dev.py test" in text
    assert "python3 dev.py test" in (README.parent / ".ci" / "run").read_text()
