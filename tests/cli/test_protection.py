"""The behaviour of :mod:`enstoolkit.cli.protection` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.cli.protection import run_sar, run_suppress


def test_module() -> None:
    """enstoolkit.cli.protection: ``enstoolkit sar``, ``enstoolkit suppress`` and ``enstoolkit retention``: data
    protection from the command line.
    """
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["sar", "someone@example.org", "--sandbox"])
    assert (args.email, args.handler is run_sar) == ("someone@example.org", True)


def test_register() -> None:
    """register: Add the ``sar``, ``suppress`` and ``retention`` commands."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["suppress", "fps.csv", "--source", "fps"])
    assert (args.source, args.yes, args.handler is run_suppress) == ("fps", False, True)


def test_run_sar() -> None:
    """run_sar: Export one person's data; print the zip and its manifest's sources."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["sar", "a@example.org"]).handler is run_sar


def test_run_suppress() -> None:
    """run_suppress: Load, match and (with --yes) suppress; print the figures."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["suppress", "f.csv", "--source", "post", "--yes"]).yes


def test_run_retention() -> None:
    """run_retention: Preview a retention policy; erase with --erase --yes."""
    from enstoolkit.cli import build_parser

    assert not build_parser().parse_args(["retention", "policy.toml", "--erase"]).yes
