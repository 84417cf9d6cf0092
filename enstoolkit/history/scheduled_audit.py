"""What a scheduled audit runs: one ``enstoolkit audit`` into a new dated folder, the oldest pruned, one line logged.

Example:
    >>> log_line(folder, "2026-03-01 06:30 run r1: 12 findings; first run kept").name
    'changes.log'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from .schedule import load_env_file, prune, report_folder

__all__ = ["CHANGES_LOG", "log_line", "run_scheduled_audit"]

#: The file in the reports folder with one line per scheduled run (counts only, no personal data).
CHANGES_LOG = "changes.log"


def log_line(reports: Path, line: str) -> Path:
    """Append ``line`` to the reports folder's :data:`CHANGES_LOG`."""
    target = Path(reports) / CHANGES_LOG
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(line.rstrip("\n") + "\n")
    return target


def run_scheduled_audit(reports: Path, keep: int, *, env_file: Path | None = None,
                        audit_args: Sequence[str] = ()) -> int:
    """Run the audit into a dated folder under ``reports``, keep the newest ``keep`` folders, log one line.

    The keys of a real account come from ``env_file`` (set for this run only). The line says when,
    how many findings, and per check how many new and resolved since the previous run: counts and
    check names only. Returns the audit's exit code.
    """
    from ..cli import main
    from ..cli.audit import environment
    from .core import History
    from .report import summary_line

    values = load_env_file(env_file) if env_file is not None else {}
    folder = report_folder(Path(reports))
    with environment(values):
        code = main(["audit", "--out", str(folder), *audit_args])
    try:
        history, run = History.from_marker(folder)
        line = summary_line(history, run) + f" -> {folder.name}"
    except Exception as exc:  # the log says the run failed, whatever failed: never a missing line
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        line = f"{stamp} audit {'failed (exit ' + str(code) + ')' if code else 'kept no run'}: " \
               f"{type(exc).__name__} -> {folder.name}"
    if code and "failed" not in line:
        line += f" (exit {code}: a notebook failed)"
    print(line)
    log_line(Path(reports), line)
    for gone in prune(Path(reports), keep):
        print(f"removed the old report folder {gone.name}")
    return code
