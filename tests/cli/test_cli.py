"""The behaviour of :mod:`enstoolkit.cli` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.cli import build_parser


def test_module() -> None:
    """enstoolkit.cli: The ``enstoolkit`` command. Each command is a module here that registers its own subcommand."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["sandbox", "--port", "8765"]).port == 8765


def test_build_parser() -> None:
    """build_parser: The argument parser of the ``enstoolkit`` command."""
    assert build_parser().parse_args(["audit", "--sandbox"]).sandbox


def test_main() -> None:
    """main: Run the command line."""
    assert build_parser().parse_args(["demo"]).port == 8765  # the demo's fixed port
