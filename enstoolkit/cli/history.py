"""``enstoolkit history`` (runs, diff, person, as-of, trend) and ``enstoolkit schedule`` (audits that run themselves).

The logic lives in :mod:`enstoolkit.history`; these commands parse, call it and print.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run_history", "run_schedule"]


def register(sub: Any) -> None:
    """Add the ``history`` and ``schedule`` commands."""
    history = sub.add_parser("history", help="the kept audit runs and daily lists: runs, diff, person, as-of",
                             description="Ask the history store (history.duckdb in the data folder) what changed.")
    history.add_argument("--store", type=Path, help="the store (default: history.duckdb in the data folder)")
    history.add_argument("--account", help="the account (needed when the store holds several; see `accounts`)")
    verbs = history.add_subparsers(dest="verb", required=True)
    verbs.add_parser("accounts", help="the accounts the store holds")
    verbs.add_parser("runs", help="the audit runs kept, oldest first")
    d = verbs.add_parser("diff", help="per check new / resolved / still open between two runs (default: the last two)")
    d.add_argument("before", nargs="?")
    d.add_argument("after", nargs="?")
    d.add_argument("--rows", type=Path, metavar="FILE.csv", help="also write every finding with its status")
    p = verbs.add_parser("person", help="every version of one person in ENS and Encharge")
    p.add_argument("email")
    a = verbs.add_parser("as-of", help="the lists as they were on a day, written as CSV or Parquet")
    a.add_argument("day", help="YYYY-MM-DD")
    a.add_argument("--out", type=Path, required=True, metavar="FILE.csv|FILE.parquet",
                   help="where to write; with both systems, -ens and -encharge are added to the name")
    a.add_argument("--system", choices=["ens", "encharge"], help="one system only (default: both kept)")
    a.add_argument("--email", help="one person only")
    t = verbs.add_parser("trend", help="findings per check over runs; --chart writes the chart (.html, .png, .svg)")
    t.add_argument("--chart", type=Path)
    history.set_defaults(handler=run_history)

    schedule_parser = sub.add_parser("schedule", help="run the audit by itself: a crontab line or systemd user timer",
                              description="Show, then install, a schedule that runs `enstoolkit audit` into dated "
                                          "report folders (the last --keep kept) with a one-line change summary.")
    jobs = schedule_parser.add_subparsers(dest="job", required=True)
    s = jobs.add_parser("audit", help="schedule the audit (shows what it installs; installs with --yes)")
    when = s.add_mutually_exclusive_group(required=True)
    when.add_argument("--daily", metavar="HH:MM")
    when.add_argument("--weekly", nargs=2, metavar=("DAY", "HH:MM"))
    s.add_argument("--reports", type=Path, default=Path("audit-reports"), help="folder of the dated report folders")
    s.add_argument("--keep", type=int, default=30, help="dated report folders to keep (default 30)")
    s.add_argument("--env-file", type=Path, help="file with ENS_API_KEY=... and ENCHARGE_API_KEY=... (real accounts)")
    s.add_argument("--sandbox", action="store_true", help="schedule an audit of the sandbox (no keys needed)")
    s.add_argument("--with", dest="scheduler", choices=["cron", "systemd", "windows"],
                   help="the scheduler (default: systemd where a user session runs, else cron; Windows: schtasks)")
    s.add_argument("--yes", action="store_true", help="install without asking")
    s.add_argument("--dry-run", action="store_true", help="show what would be installed, install nothing")
    s.add_argument("--crontab", default="crontab", help="the crontab command to use (default: crontab)")
    s.add_argument("--unit-dir", type=Path, help="where systemd user units go (default: ~/.config/systemd/user)")
    s.add_argument("--systemctl", default="systemctl --user", help="the systemctl command (default: systemctl --user)")
    s.add_argument("audit_args", nargs=argparse.REMAINDER, help="after --: options for enstoolkit audit")
    r = jobs.add_parser("run-audit", help="what the schedule runs: one audit into a new dated folder")
    r.add_argument("--reports", type=Path, required=True)
    r.add_argument("--keep", type=int, default=30)
    r.add_argument("--env-file", type=Path)
    r.add_argument("audit_args", nargs=argparse.REMAINDER)
    schedule_parser.set_defaults(handler=run_schedule)


def _print_frame(frame: Any) -> None:
    import polars as pl

    with pl.Config(tbl_rows=200, tbl_cols=20, fmt_str_lengths=80, tbl_hide_dataframe_shape=True):
        print(frame)


def run_history(args: argparse.Namespace) -> int:
    """``enstoolkit history ...``; errors of the store (missing, corrupt, other accounts) exit 2 with their message."""
    from ..errors import EnstoolkitError
    from ..history import History, accounts
    from ..history.core import history_of

    try:
        if args.verb == "accounts":
            for name in accounts(args.store):
                print(name)
            return 0
        history: History = history_of(args.account, args.store)
        if args.verb == "runs":
            _print_frame(history.runs().drop("parameters"))
        elif args.verb == "diff":
            from ..history.report import changes_text

            table = history.diff(args.before, args.after)
            print(changes_text(history, table.item(0, "after")) if args.before is None else "")
            if args.before is not None:
                _print_frame(table.drop("before", "after"))
            if args.rows:
                from ..records.exports import export_csv

                rows = history.diff(args.before, args.after, rows=True)
                print(f"every finding with its status: {export_csv(rows, args.rows)}")
        elif args.verb == "person":
            for row in history.person(args.email).iter_rows(named=True):
                until = row["valid_to"] or "now"
                by = " (by this toolkit)" if row["by_toolkit"] else ""
                print(f"{row['system']:<8} {row['record_key']:<12} {row['valid_from']} to {until!s:<10} "
                      f"seen by {row['seen_by']}{by}: {row['changes']}")
        elif args.verb == "as-of":
            from ..history.export_lists import write_as_of

            for path, count in write_as_of(history, args.day, args.out, system=args.system, email=args.email):
                print(f"{path}: {count:,} rows as of {args.day}")
        elif args.verb == "trend":
            trend = history.trend()
            _print_frame(trend.pivot("check", index="day", values="findings", aggregate_function="last"))
            if args.chart:
                history.trend_chart().save(str(args.chart))
                print(f"chart: {args.chart}")
    except EnstoolkitError as exc:
        print(f"enstoolkit history: {exc}", file=sys.stderr)
        return 2
    return 0


def run_schedule(args: argparse.Namespace) -> int:
    """``enstoolkit schedule audit`` (show, then install) and ``enstoolkit schedule run-audit`` (what it runs)."""
    from ..errors import EnstoolkitError
    from ..history import schedule

    extra = [a for a in args.audit_args if a != "--"] if args.audit_args else []
    try:
        if args.job == "run-audit":
            from ..history.scheduled_audit import run_scheduled_audit

            return run_scheduled_audit(args.reports, args.keep, env_file=args.env_file, audit_args=extra)
        p = schedule.plan(daily=args.daily, weekly=args.weekly, reports=args.reports.resolve(), keep=args.keep,
                       sandbox=args.sandbox, env_file=args.env_file.resolve() if args.env_file else None,
                       audit_args=extra)
        scheduler = args.scheduler or schedule.default_scheduler()
        print(f"Scheduled audit {p.when} ({scheduler}); this would be installed:\n")
        if scheduler == "windows":
            print(schedule.windows_command(p))
            print("\nOn Windows, run that command in a terminal to create the task (nothing was installed).")
            return 0
        if scheduler == "cron":
            target: Any = schedule.CrontabTarget(command=args.crontab.split())
            print(p.cron)
        else:
            target = schedule.SystemdTarget(unit_dir=args.unit_dir or schedule.SystemdTarget().unit_dir,
                                         systemctl=args.systemctl.split())
            print(f"# {target.unit_dir / (schedule.UNIT + '.service')}\n{p.service}\n"
                  f"# {target.unit_dir / (schedule.UNIT + '.timer')}\n{p.timer}")
        if args.dry_run:
            print("dry run: nothing installed")
            return 0
        if not args.yes:
            if not sys.stdin.isatty():
                print("not installed: add --yes to install it")
                return 0
            if input("Install it? [y/N] ").strip().lower() not in ("y", "yes"):
                print("not installed")
                return 0
        print(target.install(p))
    except EnstoolkitError as exc:
        print(f"enstoolkit schedule: {exc}", file=sys.stderr)
        return 2
    return 0
