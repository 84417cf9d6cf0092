"""The module map in docs/modules.md, made from each module's docstring: ``python3 dev.py modules`` rewrites it,
and tests/project/test_docs.py checks that it lists every module as it is."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "enstoolkit"
PAGE = ROOT / "docs" / "modules.md"

HEADER = """# Module map

Every module of the package, with the first sentence of its docstring. Names starting with an
underscore are private: use the public names their package exports (see the [API reference](reference/index.md)).
This page is generated: after adding, moving or re-describing a module, run `python3 dev.py modules`.
"""


def summary(path: Path) -> str:
    """The first paragraph of a module's docstring, on one line."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.strip().split("\n\n")[0].split())
    return first.replace("|", "\\|")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def render() -> str:
    lines = [HEADER]
    files = sorted(PACKAGE.rglob("*.py"), key=lambda p: module_name(p))
    package: str | None = "-"
    for path in files:
        name = module_name(path)
        top = name.split(".")[1] if name.count(".") >= 1 and path.parent != PACKAGE else None
        if top != package:
            package = top
            lines.append(f"\n## `enstoolkit.{top}`\n" if top else "\n## `enstoolkit`\n")
            lines.append("| Module | What it holds |\n|---|---|")
        lines.append(f"| `{name}` | {summary(path) or '(no docstring)'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--write" in argv:
        PAGE.write_text(text, encoding="utf-8")
        print(f"wrote {PAGE.relative_to(ROOT)}")
        return 0
    if PAGE.read_text(encoding="utf-8") != text:
        print(f"{PAGE.relative_to(ROOT)} is out of date: run python3 dev.py modules")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
