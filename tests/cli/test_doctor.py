"""The behaviour of :mod:`enstoolkit.cli.doctor` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import argparse

from enstoolkit.cli.doctor import register, run_doctor


def test_module() -> None:
    """enstoolkit.cli.doctor: ``enstoolkit doctor``: a read-only check of the configured accounts, and the settings to
    run the audit with.
    """
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["doctor", "--query", "All supporters"]).query == "All supporters"


def test_register() -> None:
    """register: Add the ``doctor`` command."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["doctor", "--sandbox", "--record", "shapes"])
    assert (args.sandbox, str(args.record), args.supporters, args.handler is run_doctor) == (True, "shapes", 2000, True)


def test_run_doctor() -> None:
    """run_doctor: Run the diagnosis and print it; 0 when it ran (problems are listed), 2 when it could not."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["doctor", "--query", "All supporters"]).handler is run_doctor
