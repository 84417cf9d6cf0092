"""Both reports from one pull of the data, in this process: no notebook kernel.

:func:`pull` fetches what the audit and the opt-in analysis need once (the supporter file is
shared by both), :func:`analyse` runs the library functions the notebooks call, and
:func:`write_reports` writes the HTML reports, the CSVs and (optionally) the findings workbook
into a folder, whole or not at all (:func:`~enstoolkit.reports.folder.report_folder`).

Example:
    >>> from enstoolkit.config import connect
    >>> from enstoolkit.config import audit_settings
    >>> conn = connect(supporters=300, environ={})
    >>> results = analyse(pull(conn, audit_settings(conn)))
    >>> written = write_reports(folder / "report", results)
    >>> sorted(p.name for p in written if p.suffix == ".html")
    ['optin_analysis.html', 'supporter_audit.html']
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ..analysis import (
    answer_history,
    by_acquisition,
    by_country,
    cohorts,
    monthly_trend,
    optin_rates,
    run_audit,
    summarise,
)
from ..config.connect import Connection
from ..config.settings import AuditSettings
from ..records.exports import export_csv
from .audit import audit_report_later
from .folder import report_folder
from .optins import optin_report

if TYPE_CHECKING:
    from ..history import History

__all__ = ["AuditData", "Results", "analyse", "keep_run", "keep_snapshots", "notebook_code", "pull", "pull_and_analyse",
           "warm_up", "write_reports"]


@dataclass
class AuditData:
    """What both reports are made from, pulled once."""

    supporters: pl.DataFrame
    people: pl.DataFrame
    erasures: pl.DataFrame
    transactions: pl.DataFrame
    pages: pl.DataFrame
    settings: AuditSettings
    source: str
    synthetic: bool
    today: dt.date


@dataclass
class Results:
    """The frames both reports show (the same the notebooks compute), and the change since the last run."""

    findings: pl.DataFrame
    summary: pl.DataFrame
    rates: pl.DataFrame
    trend: pl.DataFrame
    countries: pl.DataFrame
    acquisition: pl.DataFrame
    cohort: pl.DataFrame
    question: str
    source: str
    synthetic: bool
    today: dt.date
    notes: list[str] = field(default_factory=list)
    #: Per check since the previous kept run (``check``, ``new``, ``resolved``, ``still_open``), when there is one.
    changes: pl.DataFrame | None = None
    #: The previous kept run's id, when ``changes`` is given.
    previous_run: str | None = None
    #: This run's id in the history store, when it was kept.
    run: str | None = None


def _pull_encharge(conn: Connection) -> tuple[pl.DataFrame, pl.DataFrame]:
    from ..records.erasures import read_erasures

    # statuses by the one rule: the record's field, else the account's "Unsubscribed" segment
    return conn.encharge.people_with_status(), read_erasures(account_id=conn.encharge.account_id())


def pull(conn: Connection, settings: AuditSettings) -> AuditData:
    """The supporter file, Encharge's people, the recorded erasures, the transactions and page names.

    ENS and Encharge are pulled side by side, in threads. ENS's export jobs run one after the other
    (the client takes their turns), each file read while the next job runs: the transaction file's
    job is asked for first, as it is the larger.
    """
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="enstoolkit-pull") as pool:
        transactions = pool.submit(conn.ens.export_transactions, settings.query)
        supporters = pool.submit(conn.ens.export_supporters, settings.query)
        encharge = pool.submit(_pull_encharge, conn)
        pages = pool.submit(conn.ens.page_names)
        people, erasures = encharge.result()
        return AuditData(supporters.result(), people, erasures, transactions.result(), pages.result(), settings,
                         conn.describe(), not (conn.ens_real or conn.encharge_real), conn.today())


def _notes(s: AuditSettings, stale_days: int, supporters: int, people: int, erasures: int,
           transactions: int) -> list[str]:
    return [f"export query: {s.query}", f"opt-ins compared with Encharge: {', '.join(s.optins)}",
            f"required fields: {', '.join(s.required)}", f"stale after {stale_days:,} days without activity",
            f"{supporters:,} ENS supporters, {people:,} Encharge people, {erasures:,} recorded erasures, "
            f"{transactions:,} transactions"]


def analyse(data: AuditData, *, stale_days: int = 730, history: History | None = None,
            then: Callable[[], object] | None = None) -> Results:
    """Run the audit's checks and the opt-in analysis (the functions the notebooks call, as they call them).

    Staleness is judged by activity in either system (and in ``history``, when it holds kept days);
    the monthly trend and the cohorts are exact where the transaction file has answer rows, else the
    cohorts come from the kept history where it saw supporters join, else they are estimates (each
    frame's ``basis`` says which). ``then`` is called once the history has been read (staleness and,
    without answer rows, the cohorts come first; with no kept history, at once), before the other
    frames are made: work that writes to the history (keeping the day's snapshots, see
    :func:`keep_snapshots`) may start there without changing an answer.
    """
    from ..history.activity import stale_by_activity
    from ..history.optins import cohorts_with_history

    s = data.settings
    question = s.optins[0]
    kept = history if history is not None and history.kept else None
    pending = [then] if then is not None else []

    def history_read() -> None:  # ``then``, once: as soon as nothing more is read from the history
        while pending:
            pending.pop()()

    if kept is None:
        history_read()
    stale = stale_by_activity(data.supporters, data.people, transactions=data.transactions, history=kept,
                              older_than_days=stale_days, today=data.today)
    if answer_history(data.transactions, question).height:
        history_read()  # the cohorts are counted from the answer rows, not from the history
        cohort = cohorts(data.supporters, question, transactions=data.transactions)
    else:
        cohort = cohorts_with_history(data.supporters, question, history=kept)
    history_read()
    findings = run_audit(data.supporters, data.people, erasures=data.erasures, optins=s.optins, required=s.required,
                         stale_days=stale_days, today=data.today, stale=stale)
    return Results(
        findings=findings, summary=summarise(findings),
        rates=optin_rates(data.supporters, s.optin_questions),
        trend=monthly_trend(data.supporters, s.optin_questions, transactions=data.transactions),
        countries=by_country(data.supporters, question),
        acquisition=by_acquisition(data.supporters, data.transactions, question, pages=data.pages),
        cohort=cohort, question=question, source=data.source, synthetic=data.synthetic, today=data.today,
        notes=_notes(s, stale_days, data.supporters.height, data.people.height, data.erasures.height,
                     data.transactions.height))


def keep_snapshots(history: History, data: AuditData, run_id: str) -> None:
    """Keep the day's supporter file and Encharge people in ``history``, as seen by the run ``run_id`` (kept
    afterwards by :func:`keep_run` with the same id), the two systems side by side. Call it once the
    history has been read for the analyses (:func:`analyse`'s ``then``): it may run in a thread meanwhile
    (the store's work is DuckDB's).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from enstoolkit.config import connect
        >>> from enstoolkit.history import History
        >>> from enstoolkit.config import audit_settings
        >>> conn = connect(supporters=200, environ={})
        >>> history = History.for_connection(conn, Path(tempfile.mkdtemp()) / "h.duckdb", sandbox="200")
        >>> data = pull(conn, audit_settings(conn))
        >>> keep_snapshots(history, data, "20261001T090000-abcdef")
        >>> run = keep_run(history, data, analyse(data), {}, run_id="20261001T090000-abcdef", snapshots=False).run
        >>> run, history.as_of(data.today)["ens"].height
        ('20261001T090000-abcdef', 200)
    """
    # the two systems side by side (a DuckDB connection each; their rows never meet), both finished before
    # an error of either is raised (the ENS one first)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="enstoolkit-snapshot") as pool:
        kept = [pool.submit(history.record_snapshot, system, frame, data.today, run_id=run_id)
                for system, frame in (("ens", data.supporters), ("encharge", data.people))]
    for future in kept:
        future.result()
    from ..history.database import open_store

    with open_store(history.path) as db:  # written out to the file here, not by the next write (the run's)
        db.execute("CHECKPOINT")


def keep_run(history: History, data: AuditData, results: Results, parameters: Mapping[str, object], *,
             run_id: str | None = None, snapshots: bool = True, started_at: dt.datetime | None = None) -> Results:
    """Keep this audit in ``history`` (its findings, the day's lists as change intervals) and add the change
    since the previous run of the same parameters to ``results`` (none for the account's first run).

    With ``snapshots=False`` the day's lists are not kept here: :func:`keep_snapshots` kept them
    under ``run_id`` (this run's id, as it was started at ``started_at``).

    Example:
        >>> from enstoolkit.config import connect
        >>> from enstoolkit.history import History
        >>> from enstoolkit.config import audit_settings
        >>> conn = connect(supporters=200, environ={})
        >>> history = History.for_connection(conn, folder / "h.duckdb", sandbox="200")
        >>> data = pull(conn, audit_settings(conn))
        >>> first = keep_run(history, data, analyse(data), {"STALE_DAYS": 730})
        >>> second = keep_run(history, data, analyse(data, history=history), {"STALE_DAYS": 730})
        >>> first.changes is None, int(second.changes.get_column("new").sum()), second.previous_run == first.run
        (True, 0, True)
    """
    from ..history import NotComparable

    run = history.record_audit(results.findings, parameters=dict(parameters), day=data.today,
                               supporters=data.supporters if snapshots else None,
                               people=data.people if snapshots else None, run_id=run_id, started_at=started_at)
    results.run = run
    try:
        results.changes = history.diff(after=run)
    except NotComparable:
        return results  # the first run of this account and these parameters: nothing to compare
    earlier = history.runs().filter(pl.col("run_id") != run)
    results.previous_run = str(earlier.get_column("run_id").to_list()[-1]) if earlier.height else None
    return results


def pull_and_analyse(conn: Connection, settings: AuditSettings, *, stale_days: int = 730,
                     history: History | None = None, then: Callable[[AuditData], object] | None = None
                     ) -> tuple[AuditData, Results]:
    """:func:`pull` then :func:`analyse`: the data (for keeping it in the history) and what the reports show.

    ``then`` is given the data once the analyses have read the history (see :func:`analyse`).

    Example:
        >>> from enstoolkit.config import connect
        >>> from enstoolkit.config import audit_settings
        >>> conn = connect(supporters=300, environ={})
        >>> data, results = pull_and_analyse(conn, audit_settings(conn))
        >>> data.supporters.height, results.findings.height > 0
        (300, True)
    """
    data = pull(conn, settings)
    return data, analyse(data, stale_days=stale_days, history=history,
                         then=None if then is None else partial(then, data))


def notebook_code(name: str) -> list[tuple[str, str]]:
    """The code cells of a ready-made notebook, as (title, code) pairs: what ``--show-code`` shows.

    Example:
        >>> notebook_code("supporter_audit.ipynb")[0][0]
        'supporter_audit.ipynb, cell 1'
    """
    from ..notebooks import notebook_path

    cells = json.loads(notebook_path(name).read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return [(f"{name}, cell {n}", text) for n, text in enumerate(code, 1) if text.strip()]


def warm_up() -> threading.Thread:
    """Start the chart renderer (its JavaScript engine) in a thread, while the data is pulled.

    Example:
        >>> warm_up().join()
    """
    def draw() -> None:
        try:
            from .charts import chart_svg

            chart_svg({"mark": "point", "data": {"values": [{"a": 1}]}, "encoding": {"x": {"field": "a"}}})
        except Exception as exc:  # only a head start: the report's own charts raise if drawing fails
            logging.getLogger("enstoolkit.reports").debug("chart renderer warm-up failed: %s", exc)

    thread = threading.Thread(target=draw, name="enstoolkit-chart-warm-up", daemon=True)
    thread.start()
    return thread


def write_reports(out: Path, results: Results, *, excel: bool = False, show_code: bool = False,
                  changes: pl.DataFrame | None = None, previous_run: str | None = None,
                  history: History | None = None, kept: Callable[[], object] | None = None) -> list[Path]:
    """Write ``supporter_audit.html``, ``optin_analysis.html``, the CSVs and (``excel``) ``audit_findings.xlsx``.

    The folder is written whole or not at all; ``changes`` (by default the results' own, from
    :func:`keep_run`) feeds the report's "change since the last run" block (see
    :func:`enstoolkit.reports.audit.audit_report`). With ``history`` and a kept run, the folder also
    gets the run's marker (``enstoolkit history`` and the command's summary read it). ``kept`` is
    called once the CSVs, the opt-in report and all of the audit report but its change since the
    last run are made: it may keep the run (:func:`keep_run`, while the day's snapshots are still
    being kept in a thread) and so give that change; an error it raises leaves the folder unwritten. Returns the
    files written, in the folder's final place.
    """
    r = results
    csvs = {"audit_findings.csv": r.findings, "audit_summary.csv": r.summary, "optin_rates.csv": r.rates,
            "optin_monthly.csv": r.trend, "optin_by_country.csv": r.countries,
            "optin_by_acquisition.csv": r.acquisition, "optin_cohorts.csv": r.cohort}
    when = dt.datetime.now(dt.UTC)
    names: list[str] = []
    with report_folder(out) as staging:
        for name, frame in csvs.items():
            export_csv(frame, staging / name)
            names.append(name)
        audit_code: Sequence[tuple[str, str]] = notebook_code("supporter_audit.ipynb") if show_code else ()
        optin_code: Sequence[tuple[str, str]] = notebook_code("optin_analysis.ipynb") if show_code else ()
        page = optin_report(r.rates, r.trend, r.countries, r.acquisition, r.cohort, question=r.question,
                            synthetic=r.synthetic, source=r.source, today=r.today, code=optin_code, when=when)
        (staging / "optin_analysis.html").write_text(page, encoding="utf-8")
        audit_page = audit_report_later(r.findings, synthetic=r.synthetic, source=r.source, notes=r.notes,
                                        code=audit_code, when=when)
        if kept is not None:
            kept()
        changes = changes if changes is not None else r.changes
        previous_run = previous_run if previous_run is not None else r.previous_run
        (staging / "supporter_audit.html").write_text(audit_page(changes, previous_run), encoding="utf-8")
        names += ["supporter_audit.html", "optin_analysis.html"]
        if excel:
            from .workbook import findings_workbook

            findings_workbook(r.findings, staging / "audit_findings.xlsx")
            names.append("audit_findings.xlsx")
        if history is not None and r.run is not None:
            names.append(history.write_marker(r.run, staging).name)
    return [Path(out).absolute() / n for n in names]
