"""The behaviour of :mod:`enstoolkit.cli.sync` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import argparse

import pytest

from enstoolkit.cli.sync import confirm, register, run_sync


def test_module() -> None:
    """``enstoolkit sync`` parses its options: the optins, apply off by default, its handler."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sync", "--sandbox", "--optin", "Marketing Optin", "--apply", "--yes"])
    assert (args.apply, args.yes, args.optin) == (True, True, ["Marketing Optin"])


def test_register() -> None:
    """register: Add the ``sync`` command."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["sync", "--sandbox", "--optin", "Marketing Optin"])
    assert (args.optin, args.apply, args.handler is run_sync) == (["Marketing Optin"], False, True)


def test_confirm(capsys: pytest.CaptureFixture[str]) -> None:
    """confirm: Whether to go ahead: ``yes``, or "y" typed at a terminal; never when the input is not a terminal."""
    import io

    assert not confirm("Apply 3 changes?", yes=False, stdin=io.StringIO("y\n"))  # not a terminal: refused
    assert capsys.readouterr().out == "refusing to go ahead without --yes: the input is not a terminal\n"


def test_run_sync() -> None:
    """run_sync: ``enstoolkit sync``: print the plan's counts, write it as CSV; ``--apply`` or ``--watch`` after a
    "yes".
    """
    import contextlib
    import io
    import pathlib
    import tempfile

    from enstoolkit.cli import build_parser

    out = pathlib.Path(tempfile.mkdtemp()) / "plan.csv"
    args = build_parser().parse_args(["sync", "--sandbox", "--supporters", "200", "--out", str(out)])
    with contextlib.redirect_stdout(io.StringIO()):
        code = run_sync(args)
    assert (code, out.exists()) == (0, True)
