"""The documentation that is generated stays in step with the code: the module map lists every module."""

from __future__ import annotations

from tests.module_map import PAGE, render


def test_module_map_lists_every_module_as_it_is() -> None:
    expected = render()
    assert PAGE.read_text(encoding="utf-8") == expected, "docs/modules.md is out of date: run python3 dev.py modules"
    assert expected.count("| `enstoolkit.") >= 90
