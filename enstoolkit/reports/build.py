"""Both reports from one pull of the data, in this process: no notebook kernel.

:func:`pull` fetches what the audit and the opt-in analysis need once (the supporter file is
shared by both), :func:`analyse` runs the library functions the notebooks call, and
:func:`write_reports` writes the HTML reports, the CSVs and (optionally) the findings workbook
into a folder, whole or not at all (:func:`~enstoolkit.reports.folder.report_folder`).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from enstoolkit.connect import connect
    >>> from enstoolkit.settings import audit_settings
    >>> conn = connect(supporters=300, environ={})
    >>> results = analyse(pull(conn, audit_settings(conn)))
    >>> written = write_reports(Path(tempfile.mkdtemp()) / "report", results)
    >>> sorted(p.name for p in written if p.suffix == ".html")
    ['optin_analysis.html', 'supporter_audit.html']
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..analysis import by_acquisition, by_country, cohorts, monthly_trend, optin_rates, run_audit, summarise
from ..connect import Connection
from ..exports import export_csv
from ..settings import AuditSettings
from .audit import audit_report
from .folder import report_folder
from .optins import optin_report

__all__ = ["AuditData", "Results", "analyse", "notebook_code", "pull", "pull_and_analyse", "warm_up",
           "write_reports"]


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
    """The frames both reports show (the same the notebooks compute)."""

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


def _pull_ens_rest(conn: Connection, settings: AuditSettings, first: Future[pl.DataFrame]
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    first.result()  # ENS's export jobs one after the other
    return conn.ens.export_transactions(settings.query), conn.ens.page_names()


def _pull_encharge(conn: Connection) -> tuple[pl.DataFrame, pl.DataFrame]:
    from ..erasures import read_erasures

    return conn.encharge.list_people(), read_erasures(account_id=conn.encharge.account_id())


def pull(conn: Connection, settings: AuditSettings) -> AuditData:
    """The supporter file, Encharge's people, the recorded erasures, the transactions and page names.

    ENS (its export jobs one after the other) and Encharge are pulled side by side, in threads.
    """
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="enstoolkit-pull") as pool:
        supporters = pool.submit(conn.ens.export_supporters, settings.query)
        rest = pool.submit(_pull_ens_rest, conn, settings, supporters)
        encharge = pool.submit(_pull_encharge, conn)
        people, erasures = encharge.result()
        transactions, pages = rest.result()
        return AuditData(supporters.result(), people, erasures, transactions, pages, settings, conn.describe(),
                         not (conn.ens_real or conn.encharge_real), conn.today())


def _notes(s: AuditSettings, stale_days: int, supporters: int, people: int, erasures: int,
           transactions: int) -> list[str]:
    return [f"export query: {s.query}", f"opt-ins compared with Encharge: {', '.join(s.optins)}",
            f"required fields: {', '.join(s.required)}", f"stale after {stale_days:,} days",
            f"{supporters:,} ENS supporters, {people:,} Encharge people, {erasures:,} recorded erasures, "
            f"{transactions:,} transactions"]


def analyse(data: AuditData, *, stale_days: int = 730) -> Results:
    """Run the audit's checks and the opt-in analysis (the functions the notebooks call)."""
    s = data.settings
    question = s.optins[0]
    findings = run_audit(data.supporters, data.people, erasures=data.erasures, optins=s.optins, required=s.required,
                         stale_days=stale_days, today=data.today)
    return Results(
        findings=findings, summary=summarise(findings),
        rates=optin_rates(data.supporters, s.optin_questions),
        trend=monthly_trend(data.supporters, s.optin_questions),
        countries=by_country(data.supporters, question),
        acquisition=by_acquisition(data.supporters, data.transactions, question, pages=data.pages),
        cohort=cohorts(data.supporters, question), question=question, source=data.source,
        synthetic=data.synthetic, today=data.today,
        notes=_notes(s, stale_days, data.supporters.height, data.people.height, data.erasures.height,
                     data.transactions.height))


def pull_and_analyse(conn: Connection, settings: AuditSettings, *, stale_days: int = 730) -> Results:
    """:func:`pull` then :func:`analyse`, overlapped: the checks run while the transaction file is still coming.

    The same results as ``analyse(pull(conn, settings))``: only the order of the work differs (the
    opt-in analysis by acquisition page, the one that needs the transactions, runs last).

    Example:
        >>> from enstoolkit.connect import connect
        >>> from enstoolkit.settings import audit_settings
        >>> conn = connect(supporters=300, environ={})
        >>> settings = audit_settings(conn)
        >>> a, b = pull_and_analyse(conn, settings), analyse(pull(conn, settings))
        >>> a.findings.equals(b.findings) and a.acquisition.equals(b.acquisition) and a.notes == b.notes
        True
    """
    s = settings
    question = s.optins[0]
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="enstoolkit-pull") as pool:
        supporters_job = pool.submit(conn.ens.export_supporters, settings.query)
        rest = pool.submit(_pull_ens_rest, conn, settings, supporters_job)
        encharge = pool.submit(_pull_encharge, conn)
        today = conn.today()
        supporters = supporters_job.result()
        rates = optin_rates(supporters, s.optin_questions)
        trend = monthly_trend(supporters, s.optin_questions)
        countries = by_country(supporters, question)
        cohort = cohorts(supporters, question)
        people, erasures = encharge.result()
        findings = run_audit(supporters, people, erasures=erasures, optins=s.optins, required=s.required,
                             stale_days=stale_days, today=today)
        summary = summarise(findings)
        transactions, pages = rest.result()
    acquisition = by_acquisition(supporters, transactions, question, pages=pages)
    return Results(findings=findings, summary=summary, rates=rates, trend=trend, countries=countries,
                   acquisition=acquisition, cohort=cohort, question=question, source=conn.describe(),
                   synthetic=not (conn.ens_real or conn.encharge_real), today=today,
                   notes=_notes(s, stale_days, supporters.height, people.height, erasures.height,
                                transactions.height))


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
        except Exception:
            pass

    thread = threading.Thread(target=draw, name="enstoolkit-chart-warm-up", daemon=True)
    thread.start()
    return thread


def write_reports(out: Path, results: Results, *, excel: bool = False, show_code: bool = False,
                  changes: pl.DataFrame | None = None, previous_run: str | None = None) -> list[Path]:
    """Write ``supporter_audit.html``, ``optin_analysis.html``, the CSVs and (``excel``) ``audit_findings.xlsx``.

    The folder is written whole or not at all; ``changes`` feeds the report's optional "change
    since the last run" block (see :func:`enstoolkit.reports.audit.audit_report`). Returns the
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
        page = audit_report(r.findings, synthetic=r.synthetic, source=r.source, changes=changes,
                            previous_run=previous_run, notes=r.notes, code=audit_code, when=when)
        (staging / "supporter_audit.html").write_text(page, encoding="utf-8")
        page = optin_report(r.rates, r.trend, r.countries, r.acquisition, r.cohort, question=r.question,
                            synthetic=r.synthetic, source=r.source, today=r.today, code=optin_code, when=when)
        (staging / "optin_analysis.html").write_text(page, encoding="utf-8")
        names += ["supporter_audit.html", "optin_analysis.html"]
        if excel:
            from .workbook import findings_workbook

            findings_workbook(r.findings, staging / "audit_findings.xlsx")
            names.append("audit_findings.xlsx")
    return [Path(out).absolute() / n for n in names]
