"""What changed, in words and in a chart: for the audit command, the report and scheduled runs.

Example:
    >>> trend = pl.DataFrame({"run_id": ["r1", "r2"], "started_at": [dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 2)],
    ...                       "day": [dt.date(2026, 3, 1), dt.date(2026, 3, 2)], "check": ["c", "c"],
    ...                       "severity": ["low", "low"], "findings": [4, 2]})
    >>> trend_chart(trend).to_dict()["encoding"]["y"]["field"]
    'findings'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from .errors import HistoryError, NotComparable, ParametersMismatch

if TYPE_CHECKING:
    import altair as alt

    from .core import History

__all__ = ["audit_changes", "changes_text", "forget_marker", "summary_line", "trend_chart"]


def trend_chart(trend: pl.DataFrame) -> alt.Chart:
    """Findings per check over runs (a line per check, a point per run; a check that could not run is a gap).

    Example:
        >>> empty = pl.DataFrame([], schema={"run_id": pl.String, "started_at": pl.Datetime, "day": pl.Date,
        ...                                   "check": pl.String, "severity": pl.String, "findings": pl.Int64})
        >>> trend_chart(empty).to_dict()["title"]
        'Findings per check over audit runs'
    """
    try:
        import altair as alt
    except ImportError as exc:
        from ..errors import MissingExtra

        raise MissingExtra("notebook", "the trend chart (altair)") from exc
    order = trend.select("run_id", "started_at", "day").unique("run_id").sort("started_at")
    labels = order.with_columns(  # the audit's day; several runs on one day are told apart by their time
        pl.when(pl.col("day").is_duplicated()).then(pl.format("{} {}", pl.col("day"),
                                                               pl.col("started_at").dt.strftime("%H:%M")))
        .otherwise(pl.col("day").cast(pl.String)).alias("run"))
    data = trend.join(labels.select("run_id", "run"), on="run_id", how="left")
    chart: alt.Chart = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("run:O", sort=labels.get_column("run").to_list(), title="audit run"),
        y=alt.Y("findings:Q", title="findings"),
        color=alt.Color("check:N", title="check"),
        tooltip=["run", "check", "severity", "findings"],
    ).properties(title="Findings per check over audit runs", width=520, height=280)
    return chart


def changes_text(history: History, run: str | None = None) -> str:
    """Per check (most severe first): new, resolved and still open since the run before ``run``.

    Example:
        >>> from enstoolkit.history import History
        >>> h = History("acct", folder / "h.duckdb")
        >>> f = pl.DataFrame({"supporterId": [1, 2], "email": ["a@x.org", "b@x.org"], "check": ["c", "c"],
        ...                   "severity": ["low"] * 2, "detail": ["", ""]})
        >>> _ = h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))
        >>> run = h.record_audit(f.head(1), parameters={}, day=dt.date(2026, 3, 2))
        >>> print(changes_text(h, run))  # doctest: +ELLIPSIS
        Since the previous run (...):
          check                                      new  resolved  still open
          c                                            0         1           1
    """
    try:
        table = history.diff(None, run)
    except NotComparable:
        return "First run kept for this account: nothing to compare with yet."
    except ParametersMismatch as exc:
        return f"Not compared with the previous run: {exc}"
    if table.height == 0:
        return "Since the previous run: no findings in either run."
    lines = [f"Since the previous run ({table.item(0, 'before')}):",
             f"  {'check':<40} {'new':>5} {'resolved':>9} {'still open':>11}"]
    for check, new, resolved, still, note in table.select("check", "new", "resolved", "still_open",
                                                          "note").iter_rows():
        if note:
            lines.append(f"  {check:<40} {note}")
        else:
            lines.append(f"  {check:<40} {new:>5,} {resolved:>9,} {still:>11,}")
    return "\n".join(lines)


def summary_line(history: History, run: str | None = None) -> str:
    """One line for a run: when, total findings, and new / resolved against the previous run; counts only.

    Example:
        >>> from enstoolkit.history import History
        >>> h = History("acct", folder / "h.duckdb")
        >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["c"], "severity": ["low"],
        ...                   "detail": [""]})
        >>> _ = h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))
        >>> summary_line(h, h.record_audit(f.clear(), parameters={}, day=dt.date(2026, 3, 2)))  # doctest: +ELLIPSIS
        '... 0 findings; since previous: 0 new, 1 resolved, 0 still open (checks: c -1)'
    """
    runs = history.runs()
    if runs.height == 0:
        raise HistoryError("no run kept for this account yet")
    picked = runs.filter(pl.col("run_id") == run) if run is not None else runs.tail(1)
    if picked.height == 0:
        raise HistoryError(f"no run {run!r} for this account")
    total, unable = picked.select("findings", "checks_not_run").row(0)
    head = f"{picked.item(0, 'day')} run {picked.item(0, 'run_id')}: {total - unable:,} findings"
    head += f" ({unable} checks could not run)" if unable else ""
    try:
        table = history.diff(None, picked.item(0, "run_id"))
    except NotComparable:
        return head + "; first run kept"
    except ParametersMismatch:
        return head + "; parameters differ from the previous run (not compared)"
    counts = table.filter(pl.col("note").is_null())
    moved = counts.filter((pl.col("new") - pl.col("resolved")) != 0)
    per_check = ", ".join(f"{c} {n - r:+,}" for c, n, r in moved.select("check", "new", "resolved").iter_rows())
    line = (f"{head}; since previous: {counts['new'].sum():,} new, {counts['resolved'].sum():,} resolved, "
            f"{counts['still_open'].sum():,} still open")
    return line + (f" (checks: {per_check})" if per_check else "")


def audit_changes(folder: str | Path) -> str:
    """What an ``enstoolkit audit`` run in ``folder`` changed since the previous run, as printed by the command.

    Reads the run marker the audit notebook wrote there; says so when there is none (history was
    off, or the notebook failed before keeping its run), never prints an empty comparison.

    Example:
        >>> import tempfile
        >>> audit_changes(tempfile.mkdtemp())
        'History: this audit kept no run (KEEP_HISTORY was off, or the notebook stopped before keeping it).'
    """
    from ..errors import MissingExtra
    from .core import MARKER, History

    if not (Path(folder) / MARKER).exists():
        return "History: this audit kept no run (KEEP_HISTORY was off, or the notebook stopped before keeping it)."
    try:
        history, run = History.from_marker(folder)
        return changes_text(history, run) + f"\n{summary_line(history, run)}"
    except (HistoryError, MissingExtra) as exc:
        return f"History: {exc}"


def forget_marker(folder: str | Path) -> None:
    """Remove an earlier audit's run marker from ``folder`` (a report folder used again), before a new audit.

    Example:
        >>> import tempfile
        >>> forget_marker(tempfile.mkdtemp())
    """
    from .core import MARKER

    (Path(folder) / MARKER).unlink(missing_ok=True)


