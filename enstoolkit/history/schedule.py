"""Audits that run themselves: a user crontab line or a systemd user timer, shown before it is installed.

:func:`plan` turns ``--daily HH:MM`` or ``--weekly DAY HH:MM`` into the text to install (a crontab
block, or a systemd ``.service`` and ``.timer``; on Windows the ``schtasks`` command to run). The
scheduled command is ``enstoolkit schedule run-audit``: it runs ``enstoolkit audit`` into a dated
folder under the reports folder, keeps the last N of them, and appends one line per run to
``changes.log`` there (counts per check only: no names, emails or ids of people).

Credentials never go into the schedule: a real account's keys are read at run time from an
environment file (``KEY=VALUE`` lines, readable by the user only) whose path the schedule names.
Installing goes through a :class:`CrontabTarget` or :class:`SystemdTarget` whose commands and
folders are arguments, so it can be tried on a copy (and is, in the tests).

Example:
    >>> p = plan(daily="06:30", reports=Path("/srv/reports"), keep=14, sandbox=True, program=["enstoolkit"])
    >>> print(p.cron)  # doctest: +NORMALIZE_WHITESPACE
    # enstoolkit scheduled audit (begin)
    30 6 * * * enstoolkit schedule run-audit --reports /srv/reports --keep 14 -- --sandbox
      >> /srv/reports/schedule.log 2>&1
    # enstoolkit scheduled audit (end)
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigurationError, ValidationError

__all__ = ["DAYS", "CrontabTarget", "Plan", "SystemdTarget", "load_env_file", "plan", "prune", "report_folder",
           "windows_command"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_BEGIN, _END = "# enstoolkit scheduled audit (begin)", "# enstoolkit scheduled audit (end)"
UNIT = "enstoolkit-audit"
_STAMP = "%Y-%m-%d_%H%M%S"


def _time(value: object, argument: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value)) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError(argument, value, "a time of day as HH:MM, 00:00 to 23:59, e.g. 06:30")
    return int(match[1]), int(match[2])


@dataclass
class Plan:
    """What would be installed: the schedule, the command it runs, and its text for each scheduler.

    Example:
        >>> p = plan(weekly=("mon", "07:00"), reports=Path("r"), keep=4, sandbox=True, program=["enstoolkit"])
        >>> p.when, p.timer.splitlines()[4]
        ('every Monday at 07:00', 'OnCalendar=Mon *-*-* 07:00:00')
    """

    hour: int
    minute: int
    weekday: str | None
    command: list[str]
    env_file: Path | None = None
    log: Path | None = None
    cron: str = field(init=False)
    service: str = field(init=False)
    timer: str = field(init=False)

    def __post_init__(self) -> None:
        line = shlex.join(self.command)
        dow = "*" if self.weekday is None else str(DAYS.index(self.weekday) + 1 if self.weekday != "sun" else 0)
        output = f" >> {shlex.quote(str(self.log))} 2>&1" if self.log is not None else ""
        self.cron = f"{_BEGIN}\n{self.minute} {self.hour} * * {dow} {line}{output}\n{_END}"
        calendar = ("" if self.weekday is None else self.weekday.capitalize() + " ") + \
            f"*-*-* {self.hour:02d}:{self.minute:02d}:00"
        self.service = (f"[Unit]\nDescription=enstoolkit scheduled audit\n\n[Service]\nType=oneshot\n"
                        f"ExecStart={line}\n")
        self.timer = (f"[Unit]\nDescription=enstoolkit scheduled audit ({self.when})\n\n[Timer]\n"
                      f"OnCalendar={calendar}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n")

    @property
    def when(self) -> str:
        at = f"{self.hour:02d}:{self.minute:02d}"
        if self.weekday is None:
            return f"every day at {at}"
        names = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                         strict=True))
        return f"every {names[self.weekday]} at {at}"


def plan(*, daily: str | None = None, weekly: Sequence[str] | None = None, reports: Path, keep: int,
         sandbox: bool = False, env_file: Path | None = None, audit_args: Sequence[str] = (),
         program: Sequence[str] | None = None) -> Plan:
    """The schedule for ``--daily HH:MM`` or ``--weekly DAY HH:MM``, checked.

    A real account needs ``env_file`` (its keys, read at run time); the sandbox (``sandbox=True``)
    needs none. ``program`` is how the scheduler starts enstoolkit (default: this Python with
    ``-m enstoolkit.cli``, so the schedule uses the installation it was made from).

    Example:
        >>> plan(daily="25:00", reports=Path("r"), keep=3, sandbox=True)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        enstoolkit.errors.ValidationError: ...daily...HH:MM...
    """
    if (daily is None) == (weekly is None):
        raise ValidationError("daily/weekly", (daily, weekly), "exactly one of --daily HH:MM or --weekly DAY HH:MM")
    weekday = None
    if weekly is not None:
        if isinstance(weekly, str) or len(weekly) != 2:
            raise ValidationError("weekly", weekly, "a day and a time, e.g. mon 06:30")
        weekday = str(weekly[0]).strip().lower()[:3]
        if weekday not in DAYS:
            raise ValidationError("weekly", weekly[0], "a day of the week: " + ", ".join(DAYS))
        hour, minute = _time(weekly[1], "weekly")
    else:
        hour, minute = _time(daily, "daily")
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise ValidationError("keep", keep, "how many dated report folders to keep, 1 or more")
    if not sandbox:
        if env_file is None:
            raise ConfigurationError("a scheduled audit of real accounts reads its keys from a file: give --env-file "
                                     "PATH (lines ENS_API_KEY=..., ENCHARGE_API_KEY=..., readable by you only), or "
                                     "--sandbox; keys are never written into the schedule")
        load_env_file(env_file)  # checked now, not at 6 in the morning
    base = list(program) if program is not None else [sys.executable, "-m", "enstoolkit.cli"]
    command = [*base, "schedule", "run-audit", "--reports", str(Path(reports)), "--keep", str(keep)]
    if env_file is not None:
        command += ["--env-file", str(Path(env_file))]
    extra = list(audit_args) + (["--sandbox"] if sandbox and "--sandbox" not in audit_args else [])
    if extra:
        command += ["--", *extra]
    return Plan(hour, minute, weekday, command, Path(env_file) if env_file else None, Path(reports) / "schedule.log")


def windows_command(p: Plan) -> str:
    """The Task Scheduler command that schedules the same run on Windows (printed, not run).

    Example:
        >>> print(windows_command(plan(daily="06:30", reports=Path("r"), keep=3, sandbox=True,
        ...                            program=["enstoolkit"])))  # doctest: +NORMALIZE_WHITESPACE
        schtasks /Create /TN "enstoolkit audit" /SC DAILY /ST 06:30
            /TR "enstoolkit schedule run-audit --reports r --keep 3 -- --sandbox" /F
    """
    when = "/SC DAILY" if p.weekday is None else f"/SC WEEKLY /D {p.weekday.upper()}"
    action = subprocess.list2cmdline(p.command).replace('"', '\\"')
    return f'schtasks /Create /TN "enstoolkit audit" {when} /ST {p.hour:02d}:{p.minute:02d}\n    /TR "{action}" /F'


Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass
class CrontabTarget:
    """The user's crontab, through the ``crontab`` command (``command`` says which one: tests give a copy).

    Installing replaces the toolkit's block (between its begin and end lines) and keeps every other line.

    Example:
        >>> CrontabTarget().command
        ['crontab']
    """

    command: list[str] = field(default_factory=lambda: ["crontab"])
    run: Runner = subprocess.run

    def current(self) -> str:
        done = self.run([*self.command, "-l"], capture_output=True, text=True, check=False)
        if done.returncode != 0 and "no crontab" not in (done.stderr or "").lower():
            raise ConfigurationError(f"{shlex.join(self.command)} -l failed: {(done.stderr or '').strip()}")
        return done.stdout if done.returncode == 0 else ""

    def merged(self, p: Plan) -> str:
        """The whole crontab after installing ``p``: the other lines as they were, the toolkit's block replaced."""
        kept, inside = [], False
        for line in self.current().splitlines():
            if line.strip() == _BEGIN:
                inside = True
            elif line.strip() == _END:
                inside = False
            elif not inside:
                kept.append(line)
        return "\n".join([*kept, p.cron]) + "\n"

    def install(self, p: Plan) -> str:
        text = self.merged(p)
        if p.log is not None:  # the line's output is appended there, before the run makes the folder
            p.log.parent.mkdir(parents=True, exist_ok=True)
        done = self.run([*self.command, "-"], input=text, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConfigurationError(f"{shlex.join(self.command)} - failed: {(done.stderr or '').strip()}")
        return f"installed in the crontab ({shlex.join(self.command)}): {p.when}"


@dataclass
class SystemdTarget:
    """A systemd user timer: the unit files written into ``unit_dir``, then ``systemctl --user`` enables it.

    Example:
        >>> SystemdTarget().unit_dir.parts[-3:]
        ('.config', 'systemd', 'user')
    """

    unit_dir: Path = field(default_factory=lambda: Path.home() / ".config" / "systemd" / "user")
    systemctl: list[str] = field(default_factory=lambda: ["systemctl", "--user"])
    run: Runner = subprocess.run

    def install(self, p: Plan) -> str:
        self.unit_dir.mkdir(parents=True, exist_ok=True)
        (self.unit_dir / f"{UNIT}.service").write_text(p.service)
        (self.unit_dir / f"{UNIT}.timer").write_text(p.timer)
        for step in (["daemon-reload"], ["enable", "--now", f"{UNIT}.timer"]):
            done = self.run([*self.systemctl, *step], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise ConfigurationError(f"{shlex.join([*self.systemctl, *step])} failed: "
                                         f"{(done.stderr or '').strip()}")
        return f"installed as the systemd user timer {UNIT}.timer in {self.unit_dir}: {p.when}"


def default_scheduler() -> str:
    """"windows" on Windows, "systemd" where a systemd user session answers, else "cron".

    Example:
        >>> default_scheduler() in ("windows", "systemd", "cron")
        True
    """
    if os.name == "nt":
        return "windows"
    if shutil.which("systemctl") and Path(f"/run/user/{os.getuid()}/systemd").exists():
        return "systemd"
    return "cron"


def load_env_file(path: Path) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of an environment file (``#`` comments and blank lines skipped), checked to
    hold both API keys; never printed.

    Example:
        >>> f = folder / "audit.env"
        >>> _ = f.write_text("# keys\\nENS_API_KEY=abc\\nENCHARGE_API_KEY=def\\n")
        >>> sorted(load_env_file(f))
        ['ENCHARGE_API_KEY', 'ENS_API_KEY']
    """
    target = Path(path)
    if not target.is_file():
        raise ConfigurationError(f"the environment file {target} does not exist (lines ENS_API_KEY=..., "
                                 "ENCHARGE_API_KEY=...)")
    values: dict[str, str] = {}
    for number, raw in enumerate(target.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ConfigurationError(f"{target} line {number}: expected NAME=VALUE")
        values[name.strip()] = value.strip().strip("'\"")
    missing = [k for k in ("ENS_API_KEY", "ENCHARGE_API_KEY") if not values.get(k)]
    if missing:
        raise ConfigurationError(f"{target} has no {' or '.join(missing)}: a scheduled audit would run on the "
                                 "sandbox instead of your accounts")
    return values


def report_folder(reports: Path, now: dt.datetime | None = None) -> Path:
    """A new dated folder for one run's reports, ``YYYY-MM-DD_HHMMSS`` under ``reports``.

    Example:
        >>> report_folder(folder, dt.datetime(2026, 3, 1, 6, 30)).name
        '2026-03-01_063000'
    """
    moment = now or dt.datetime.now()
    folder = Path(reports) / moment.strftime(_STAMP)
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def prune(reports: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest dated report folders (only folders named as :func:`report_folder`
    names them; anything else in ``reports`` is left alone). Returns the folders removed.

    Example:
        >>> base = folder
        >>> for day in (1, 2, 3):
        ...     _ = report_folder(base, dt.datetime(2026, 3, day, 6, 30))
        >>> [p.name for p in prune(base, 2)]
        ['2026-03-01_063000']
    """
    dated = []
    for child in Path(reports).iterdir() if Path(reports).is_dir() else []:
        try:
            dt.datetime.strptime(child.name, _STAMP)
        except ValueError:
            continue
        if child.is_dir():
            dated.append(child)
    dated.sort(key=lambda p: p.name)
    gone = dated[:-keep] if keep < len(dated) else []
    for folder in gone:
        shutil.rmtree(folder)
    return gone
