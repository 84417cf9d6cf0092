"""The README's and docs' Python examples run as written, against the sandbox; their links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCKS = [(doc, code) for doc in PAGES
          for code in re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)]


def test_readme_is_a_front_page_with_an_example() -> None:
    assert len(README.read_text().splitlines()) <= 200
    assert sum(doc == README for doc, _ in BLOCKS) >= 1
    assert len({doc for doc, _ in BLOCKS}) >= 8  # the task pages carry the examples


@pytest.mark.parametrize("doc, code", BLOCKS,
                         ids=[f"{doc.stem}-block{n}" for n, (doc, _) in enumerate(BLOCKS)])
def test_example_runs(doc: Path, code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(doc), "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert out.strip(), "every example prints what it shows"
    assert "Traceback" not in out


def test_readme_names_the_two_commands() -> None:
    text = README.read_text()
    assert "python3 dev.py demo" in text and "python3 dev.py ci" in text
    assert "python3 dev.py ci" in (README.parent / ".ci" / "run").read_text()


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc", PAGES, ids=[p.name for p in PAGES])
def test_links_lead_to_files_and_headings_that_exist(doc: Path) -> None:
    text = doc.read_text()
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md":
            anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), flags=re.M)}
            if anchor not in anchors:
                broken.append(target)
    assert broken == []
