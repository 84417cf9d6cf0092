"""The behaviour of :mod:`enstoolkit.cli.history` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import pytest

from enstoolkit.cli.history import run_history, run_schedule


def test_module() -> None:
    """enstoolkit.cli.history: ``enstoolkit history`` (runs, diff, person, as-of, trend) and ``enstoolkit schedule``
    (audits that run themselves).
    """
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["history", "diff"]).handler is run_history


def test_register() -> None:
    """register: Add the ``history`` and ``schedule`` commands."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["schedule", "audit", "--daily", "06:30", "--sandbox", "--dry-run"])
    assert (args.daily, args.sandbox, args.dry_run) == ("06:30", True, True)


def test_run_history(capsys: pytest.CaptureFixture[str]) -> None:
    """run_history: ``enstoolkit history ...``; errors of the store (missing, corrupt, other accounts) exit 2 with
    their message.
    """
    import tempfile

    from enstoolkit.cli import build_parser

    assert run_history(build_parser().parse_args(["history", "--store", tempfile.mkdtemp() + "/h.duckdb", "runs"])) == 2
    assert capsys.readouterr().out == ""


def test_run_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    """run_schedule: ``enstoolkit schedule audit`` (show, then install) and ``enstoolkit schedule run-audit`` (what it
    runs).
    """
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(
        ["schedule", "audit", "--daily", "6:30", "--sandbox", "--dry-run", "--with", "cron"]
    )
    assert run_schedule(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("Scheduled audit every day at 06:30 (cron); this would be installed:\n")
    assert out.endswith("\ndry run: nothing installed\n")
