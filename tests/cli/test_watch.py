"""The behaviour of :mod:`enstoolkit.cli.watch` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import argparse
from pathlib import Path

from enstoolkit.cli.watch import append_events, register, run_watch


def test_module() -> None:
    """enstoolkit.cli.watch: ``enstoolkit watch``: poll Encharge every N minutes and append what changed to a file (no
    public URL needed).
    """
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["watch", "--out", "events.csv", "--every", "15"])
    assert (args.every, args.once, args.out.suffix) == (15.0, False, ".csv")


def test_register() -> None:
    """register: Add the ``watch`` command."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["watch", "--once", "--out", "events.parquet"])
    assert (args.once, args.every, args.out.name, args.handler is run_watch) == (True, 5.0, "events.parquet", True)


def test_append_events() -> None:
    """append_events: an events frame appended to a file (.csv: spreadsheet-safe, a header only when new)."""
    import tempfile

    from enstoolkit.schemas.encharge import EVENT
    from enstoolkit.schemas.frames import empty_frame

    assert append_events(empty_frame(EVENT), Path(tempfile.mkdtemp()) / "e.csv") == 0


def test_run_watch() -> None:
    """run_watch: ``enstoolkit watch``: poll until Ctrl-C or SIGTERM (or once with ``--once``)."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["watch", "--every", "15"]).handler is run_watch
