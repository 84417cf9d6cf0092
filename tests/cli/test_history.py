"""``enstoolkit history`` and ``enstoolkit schedule``: the commands on a kept store, and schedules installed into
copies (a stand-in crontab command and unit folder), never the machine's own.

Also: the behaviour of :mod:`enstoolkit.cli.history` (pinned here; its docstrings are prose).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import polars as pl
import pytest

from enstoolkit.cli import main
from enstoolkit.cli.history import run_history, run_schedule
from enstoolkit.errors import ConfigurationError, ValidationError
from enstoolkit.history import History
from enstoolkit.history.schedule import CrontabTarget, SystemdTarget, plan, prune, report_folder, windows_command
from enstoolkit.history.scheduled_audit import CHANGES_LOG, run_scheduled_audit


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


DAY = dt.date(2026, 10, 1)


def _findings(ids: list[int], check: str = "invalid email") -> pl.DataFrame:
    return pl.DataFrame({"supporterId": ids, "email": [f"p{i}@x.org" for i in ids], "check": [check] * len(ids),
                         "severity": ["high"] * len(ids), "detail": ["x"] * len(ids)},
                        schema_overrides={"supporterId": pl.Int64})


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "history.duckdb"
    history = History("acct", path)
    people = pl.DataFrame({"id": ["p1", "p2"], "email": ["jo@x.org", "al@x.org"], "unsubscribed": [False, False],
                           "tags": [["vip"], []]})
    history.record_audit(_findings([1, 2, 3]), parameters={"STALE_DAYS": 730}, day=DAY, people=people)
    history.record_audit(_findings([2, 3, 4, 5]), parameters={"STALE_DAYS": 730}, day=DAY + dt.timedelta(days=1),
                         people=people.with_columns(unsubscribed=pl.Series([True, False])))
    return path


def test_history_commands(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--store", str(store), "runs"]) == 0
    assert capsys.readouterr().out.count("2026-10-0") == 2
    assert main(["history", "--store", str(store), "diff", "--rows", str(tmp_path / "rows.csv")]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.strip().startswith("invalid email"))
    assert line.split()[-3:] == ["2", "1", "2"]  # new, resolved, still open
    rows = pl.read_csv(tmp_path / "rows.csv")
    assert sorted(rows.get_column("status").to_list()) == ["new", "new", "resolved", "still open", "still open"]
    assert main(["history", "--store", str(store), "person", "Jo@x.org"]) == 0
    assert "unsubscribed: False -> True" in capsys.readouterr().out
    assert main(["history", "--store", str(store), "as-of", "2026-10-01", "--out", str(tmp_path / "then.parquet")]) == 0
    then = pl.read_parquet(tmp_path / "then-encharge.parquet")
    assert then.get_column("unsubscribed").to_list() == [False, False]
    assert main(["history", "--store", str(store), "as-of", "2026-10-02", "--system", "encharge",
                 "--out", str(tmp_path / "now.csv")]) == 0
    now = pl.read_csv(tmp_path / "now.csv")
    assert now.filter(pl.col("email") == "jo@x.org").item(0, "unsubscribed") is True
    assert now.filter(pl.col("email") == "jo@x.org").item(0, "tags") == "vip"
    capsys.readouterr()
    assert main(["history", "--store", str(store), "as-of", "2026-09-01", "--out", str(tmp_path / "x.csv")]) == 2
    assert "no history before 2026-10-01" in capsys.readouterr().err
    assert not (tmp_path / "x-encharge.csv").exists()
    assert main(["history", "--store", str(store), "trend", "--chart", str(tmp_path / "trend.html")]) == 0
    assert (tmp_path / "trend.html").read_text().count("invalid email") >= 1


def test_history_commands_on_a_missing_or_shared_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--store", str(tmp_path / "none.duckdb"), "runs"]) == 2
    assert "no history store" in capsys.readouterr().err
    path = tmp_path / "two.duckdb"
    History("one", path).record_audit(_findings([1]), parameters={}, day=DAY)
    History("two", path).record_audit(_findings([1]), parameters={}, day=DAY)
    assert main(["history", "--store", str(path), "diff"]) == 2
    assert "several accounts" in capsys.readouterr().err
    assert main(["history", "--store", str(path), "accounts"]) == 0
    assert capsys.readouterr().out.split("\n")[:2] == ["one", "two"]


def _stand_in(tmp_path: Path, name: str, script: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_the_crontab_keeps_other_lines_and_replaces_its_own_block(tmp_path: Path) -> None:
    table = tmp_path / "crontab.txt"
    table.write_text("MAILTO=me@example.org\n0 1 * * * backup.sh\n")
    fake = _stand_in(tmp_path, "crontab", f'if [ "$1" = "-l" ]; then cat {table}; else cat > {table}; fi\n')
    target = CrontabTarget(command=[str(fake)])
    first = plan(daily="06:30", reports=tmp_path / "reports", keep=7, sandbox=True, program=["enstoolkit"])
    assert "every day at 06:30" in target.install(first)
    second = plan(weekly=("fri", "18:05"), reports=tmp_path / "reports", keep=7, sandbox=True, program=["enstoolkit"])
    target.install(second)
    lines = table.read_text().splitlines()
    assert lines[:2] == ["MAILTO=me@example.org", "0 1 * * * backup.sh"]
    jobs = [x for x in lines if "run-audit" in x]
    assert len(jobs) == 1 and jobs[0].startswith("5 18 * * 5 enstoolkit schedule run-audit --reports ")
    assert "--keep 7 -- --sandbox >> " in jobs[0]


def test_an_empty_crontab_and_a_failing_one(tmp_path: Path) -> None:
    table = tmp_path / "crontab.txt"
    fake = _stand_in(tmp_path, "crontab", f'if [ "$1" = "-l" ]; then echo "no crontab for you" >&2; exit 1; '
                                          f'else cat > {table}; fi\n')
    p = plan(daily="00:00", reports=tmp_path, keep=1, sandbox=True, program=["enstoolkit"])
    CrontabTarget(command=[str(fake)]).install(p)
    assert table.read_text().splitlines()[1].startswith("0 0 * * * enstoolkit")
    broken = _stand_in(tmp_path, "broken", "echo 'permission denied' >&2; exit 1\n")
    with pytest.raises(ConfigurationError, match="permission denied"):
        CrontabTarget(command=[str(broken)]).install(p)


def test_the_systemd_timer_is_written_and_enabled(tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    fake = _stand_in(tmp_path, "systemctl", f'echo "$@" >> {calls}\n')
    units = tmp_path / "units"
    p = plan(weekly=("Sunday", "23:59"), reports=tmp_path / "r", keep=3, sandbox=True, program=["enstoolkit"])
    SystemdTarget(unit_dir=units, systemctl=[str(fake), "--user"]).install(p)
    assert "OnCalendar=Sun *-*-* 23:59:00" in (units / "enstoolkit-audit.timer").read_text()
    assert "ExecStart=enstoolkit schedule run-audit" in (units / "enstoolkit-audit.service").read_text()
    assert calls.read_text().splitlines() == ["--user daemon-reload", "--user enable --now enstoolkit-audit.timer"]


def test_schedules_need_keys_from_a_file_and_never_hold_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="--env-file"):
        plan(daily="06:30", reports=tmp_path, keep=3)
    env = tmp_path / "audit.env"
    env.write_text("ENS_API_KEY=ens-secret-1\n")
    with pytest.raises(ConfigurationError, match="ENCHARGE_API_KEY"):
        plan(daily="06:30", reports=tmp_path, keep=3, env_file=env)
    env.write_text("# keys\nENS_API_KEY=ens-secret-1\nENCHARGE_API_KEY='enc-secret-2'\n")
    p = plan(daily="06:30", reports=tmp_path, keep=3, env_file=env)
    assert not any("secret" in text for text in (p.cron, p.service, p.timer, windows_command(p)))
    assert all(str(env) in text for text in (p.cron, p.service, windows_command(p)))
    for bad in ({"daily": "6.30"}, {"daily": "24:00"}, {"weekly": ("someday", "06:30")}, {"daily": "06:30",
                                                                                         "weekly": ("mon", "06:30")}):
        with pytest.raises(ValidationError):
            plan(reports=tmp_path, keep=3, sandbox=True, **bad)
    with pytest.raises(ValidationError, match="keep"):
        plan(daily="06:30", reports=tmp_path, keep=0, sandbox=True)


def test_the_schedule_command_shows_before_installing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "crontab.txt"
    fake = _stand_in(tmp_path, "crontab", f'if [ "$1" = "-l" ]; then cat {table} 2>/dev/null || '
                                          f'{{ echo "no crontab for root" >&2; exit 1; }}; else cat > {table}; fi\n')
    base = ["schedule", "audit", "--daily", "07:15", "--sandbox", "--with", "cron", "--crontab", str(fake),
            "--reports", str(tmp_path / "reports")]
    assert main(base) == 0  # not a terminal, no --yes: shown, not installed
    out = capsys.readouterr().out
    assert "15 7 * * *" in out and "not installed: add --yes" in out and not table.exists()
    assert main([*base, "--yes"]) == 0
    assert "15 7 * * *" in table.read_text()
    assert (tmp_path / "reports").is_dir()  # cron's output goes there from the first run
    assert main(["schedule", "audit", "--weekly", "mon", "07:00", "--sandbox", "--with", "windows"]) == 0
    assert "schtasks /Create" in capsys.readouterr().out


def test_dated_folders_keep_the_newest(tmp_path: Path) -> None:
    for day in range(1, 6):
        report_folder(tmp_path, dt.datetime(2026, 3, day, 6, 30))
    (tmp_path / "notes").mkdir()
    (tmp_path / CHANGES_LOG).write_text("")
    removed = prune(tmp_path, 2)
    assert [p.name for p in removed] == ["2026-03-01_063000", "2026-03-02_063000", "2026-03-03_063000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-03-04_063000", "2026-03-05_063000", CHANGES_LOG, "notes"]


@pytest.mark.slow
def test_a_scheduled_run_writes_a_dated_report_and_one_line_without_personal_data(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports"
    os.environ.pop("ENS_API_KEY", None)
    os.environ.pop("ENCHARGE_API_KEY", None)
    printed = []
    for _ in range(2):  # the audit command keeps each run and prints, per check, what changed since the last
        assert run_scheduled_audit(reports, 1, audit_args=["--sandbox", "--supporters", "150"]) == 0
        printed.append(capsys.readouterr().out)
    assert "First run kept for this account" in printed[0]
    assert "Since the previous run" in printed[1] and "still open" in printed[1]
    dated = [p for p in reports.iterdir() if p.is_dir()]
    assert len(dated) == 1 and (dated[0] / "audit_findings.csv").exists()
    lines = (reports / CHANGES_LOG).read_text().splitlines()
    assert len(lines) == 2 and "first run kept" in lines[0]
    assert "since previous: 0 new, 0 resolved" in lines[1]
    findings = pl.read_csv(dated[0] / "audit_findings.csv", infer_schema_length=0)
    emails = [e for e in findings.get_column("email").drop_nulls().to_list() if e.strip()]
    assert emails and not any(e.strip() in "\n".join(lines) for e in emails)
