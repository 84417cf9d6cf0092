"""The audit report: what a DPO or a trustee reads, first screen first.

:func:`audit_report` turns the findings of :func:`enstoolkit.analysis.run_audit` into one
self-contained HTML page: the findings counted by severity, the checks that could not be made
(up front, never read as "clean"), one plain sentence per check (also for the checks that found
nothing), an optional block of what changed since the last run, a chart, and per check a table of
the people to fix, each downloadable as CSV.

The change since the last run is plain data: a frame with ``check``, ``new``, ``resolved`` and
``still_open`` (counts per check), from whatever keeps the history of runs.

Example:
    >>> from enstoolkit.analysis import run_audit
    >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x", "b@x.org"]})
    >>> page = audit_report(run_audit(ens), synthetic=True, source="a test frame", encharge=False, erasures=False)
    >>> "1 supporter has no valid email address." in page
    True
"""

from __future__ import annotations

import datetime as dt
import html as _html
from collections.abc import Callable, Sequence

import polars as pl

from ..analysis import CANNOT_CHECK, summarise
from ..inputs.arguments import check_frame
from ..schemas.results import FINDINGS
from .charts import chart_svg, findings_chart
from .page import chart_block, code_block, render_page, section
from .tables import csv_data_uri, table_html

__all__ = ["AUDIT_CHECKS", "CHANGES", "audit_report", "audit_report_later", "check_sentence", "checks_run"]

#: The columns of the optional change-since-last-run frame (counts per check).
CHANGES = {"check": pl.String, "new": pl.Int64, "resolved": pl.Int64, "still_open": pl.Int64}


def _n(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


#: Every check of :func:`enstoolkit.analysis.run_audit`: its severity, the sentence for ``n`` findings, the
#: sentence when it found nothing, and what it needs ("ens", "encharge" or "erasures").
AUDIT_CHECKS: dict[str, tuple[str, Callable[[int], str], str, str]] = {
    "opted out, subscribed in Encharge": (
        "high", lambda n: f"{_n(n, 'person', 'people')} opted out in ENS {'is' if n == 1 else 'are'} still "
                          "subscribed in Encharge: Encharge would still email them.",
        "Nobody opted out in ENS is subscribed in Encharge.", "encharge"),
    "erased in Encharge, still in ENS": (
        "high", lambda n: f"{_n(n, 'person', 'people')} erased from Encharge {'is' if n == 1 else 'are'} still "
                          "in ENS.", "Nobody erased from Encharge is still in ENS.", "erasures"),
    "invalid email": (
        "high", lambda n: f"{_n(n, 'supporter has', 'supporters have')} no valid email address.",
        "Every supporter has a valid email address.", "ens"),
    "suppressed with opt-in": (
        "high", lambda n: f"{_n(n, 'suppressed supporter still holds', 'suppressed supporters still hold')} an "
                          "opt-in.", "No suppressed supporter holds an opt-in.", "ens"),
    "opted in, unsubscribed in Encharge": (
        "medium", lambda n: f"{_n(n, 'person', 'people')} opted in in ENS {'is' if n == 1 else 'are'} "
                            "unsubscribed in Encharge: they will not get the emails they asked for.",
        "Everybody opted in in ENS is subscribed in Encharge.", "encharge"),
    "pending in ENS, subscribed in Encharge": (
        "medium", lambda n: f"{_n(n, 'person', 'people')} whose double opt-in is still pending in ENS "
                            f"{'is' if n == 1 else 'are'} already subscribed in Encharge.",
        "Nobody with a pending double opt-in is subscribed in Encharge.", "encharge"),
    "duplicate email": (
        "medium", lambda n: f"{_n(n, 'supporter record shares', 'supporter records share')} an email address "
                            "with another record.", "No two supporter records share an email address.", "ens"),
    "duplicate email in Encharge": (
        "medium", lambda n: f"{_n(n, 'Encharge person shares', 'Encharge people share')} an email address with "
                            "another.", "No two Encharge people share an email address.", "encharge"),
    "only in Encharge": (
        "medium", lambda n: f"{_n(n, 'Encharge person has', 'Encharge people have')} no ENS supporter with the "
                            "same email.", "Every Encharge person is an ENS supporter.", "encharge"),
    "missing fields": (
        "low", lambda n: f"{_n(n, 'supporter is', 'supporters are')} missing a required field.",
        "Every supporter has every required field.", "ens"),
    "stale record": (
        "low", lambda n: f"{_n(n, 'record has', 'records have')} not been modified for a long time.",
        "No record is stale.", "ens"),
    "only in ENS": (
        "low", lambda n: f"{_n(n, 'ENS supporter has', 'ENS supporters have')} no Encharge person with the same "
                         "email.", "Every ENS supporter is in Encharge.", "encharge"),
}


def checks_run(*, encharge: bool = True, erasures: bool = True) -> list[str]:
    """The checks :func:`~enstoolkit.analysis.run_audit` makes with the inputs it was given, most severe first.

    Example:
        >>> checks_run(encharge=False, erasures=False)
        ['invalid email', 'suppressed with opt-in', 'duplicate email', 'missing fields', 'stale record']
    """
    given = {"ens": True, "encharge": encharge, "erasures": erasures}
    return [name for name, (_, _, _, needs) in AUDIT_CHECKS.items() if given[needs]]


def check_sentence(check: str, findings: int) -> str:
    """One plain sentence about a check's result.

    Example:
        >>> check_sentence("invalid email", 0), check_sentence("invalid email", 1_204)
        ('Every supporter has a valid email address.', '1,204 supporters have no valid email address.')
        >>> check_sentence("a check of your own", 3)
        'a check of your own: 3 findings.'
    """
    known = AUDIT_CHECKS.get(check)
    if known is None:
        return f"{check}: {_n(findings, 'finding', 'findings')}."
    return known[1](findings) if findings else known[2]


def _esc(text: object) -> str:
    return _html.escape(str(text))


def _first_screen(summary: pl.DataFrame, ran: Sequence[str], unable: pl.DataFrame) -> str:
    counts = {s: 0 for s in ("high", "medium", "low")}
    checks_with = {s: 0 for s in counts}
    for _check, severity, found, _note in summary.iter_rows():
        if severity in counts and found:
            counts[severity] += found
            checks_with[severity] += 1
    cards = "".join(
        f'<div class="card {s}"><span class="n">{counts[s]:,}</span>{s} severity findings'
        f'<br><small>from {_n(checks_with[s], "check", "checks")}</small></div>' for s in counts)
    blocked = unable.get_column("check").n_unique() if unable.height else 0
    if blocked:
        cards += (f'<div class="card unknown"><span class="n">{blocked}</span>'
                  f'{"check" if blocked == 1 else "checks"} could not be made<br><small>see below</small></div>')
    notes = ""
    if unable.height:
        items = "".join(f"<li><b>{_esc(c)}</b>: {_esc(d.removeprefix(CANNOT_CHECK))}</li>"
                        for c, d in unable.select("check", "detail").unique(maintain_order=True).iter_rows())
        notes = ('<div class="notes" id="cannot-check"><h3>Cannot check: these are not clean results</h3>'
                 f"<ul>{items}</ul></div>")
    return f'<div class="cards" id="by-severity">{cards}</div>{notes}'


def _sentences(summary: pl.DataFrame, ran: Sequence[str], unable: pl.DataFrame) -> str:
    # a check nobody could be checked for has no count (None): it is told apart by ``unable``, never read as 0
    found = {c: (s, n or 0) for c, s, n, _ in summary.iter_rows()}
    blocked = set(unable.get_column("check").to_list())
    def severity_of(check: str) -> str:
        return found[check][0] if check in found else AUDIT_CHECKS.get(check, ("low",))[0]

    order = {"high": 0, "medium": 1, "low": 2}
    names = list(dict.fromkeys([*ran, *found]))
    names.sort(key=lambda c: (order.get(severity_of(c), 3), -found.get(c, ("", 0))[1], c))
    rows = []
    for check in names:
        severity, count = severity_of(check), found.get(check, ("", 0))[1]
        if check in blocked and not count:
            text, css = f"{check}: could not be checked (see “Cannot check” above).", "unknown"
        else:
            text = check_sentence(check, count)
            if check in blocked:
                text += " Some could not be checked (see above)."
            css = severity if count else "clean"
        link = f' <a href="#check-{_slug(check)}">the list</a>' if count else ""
        rows.append(f'<li class="{css}" data-check="{_esc(check)}"><span class="sev {severity}">{_esc(severity)}'
                    f"</span> {_esc(text)}{link}</li>")
    return f'<ul class="checks" id="checks">{"".join(rows)}</ul>'


def _changes_block(changes: pl.DataFrame, previous: str | None) -> str:
    changes = check_frame("changes", changes, tuple(CHANGES), what="counts per check: check, new, resolved, "
                          "still_open")
    new, resolved, still = (int(changes.get_column(c).sum()) for c in ("new", "resolved", "still_open"))
    since = f" ({_esc(previous)})" if previous else ""
    sentence = (f"<p>Since the last run{since}: {_n(new, 'new finding', 'new findings')}, "
                f"{resolved:,} resolved, {still:,} still open.</p>")
    table = table_html(changes.select(*CHANGES), name="change_since_last_run",
                       counts=["new", "resolved", "still_open"])
    return section("Change since the last run", sentence, table, anchor="changes")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def audit_report(findings: pl.DataFrame, *, synthetic: bool, source: str, encharge: bool = True,
                 erasures: bool = True, changes: pl.DataFrame | None = None, previous_run: str | None = None,
                 notes: Sequence[str] = (), code: Sequence[tuple[str, str]] = (), limit: int = 50,
                 when: dt.datetime | None = None) -> str:
    """The audit as one self-contained HTML page (text): first screen, chart, one table per check.

    Args:
        findings: from :func:`enstoolkit.analysis.run_audit`.
        synthetic: the data is the sandbox's: every page says "synthetic data".
        source: where the data came from, in words (``Connection.describe()``).
        encharge: whether Encharge's people were given (the checks that need them ran).
        erasures: whether the erasure record was given (the check that needs it ran).
        changes: optional counts per check since the last run (:data:`CHANGES` columns); no block when ``None``.
        previous_run: how to name the last run in that block (e.g. its date).
        notes: settings and other facts to state (e.g. which query and opt-ins were used).
        code: (title, code) pairs shown at the end; empty by default (readers get no code).
        limit: rows shown per check (the CSV link holds them all).

    Example:
        >>> f = pl.DataFrame({"supporterId": [None], "email": [None], "check": ["stale record"],
        ...                   "severity": ["low"], "detail": ["cannot check: no modifiedOn column"]})
        >>> page = audit_report(f, synthetic=False, source="x", encharge=False, erasures=False)
        >>> "Cannot check" in page and "no modifiedOn column" in page and "No record is stale." not in page
        True
    """
    return audit_report_later(findings, synthetic=synthetic, source=source, encharge=encharge, erasures=erasures,
                              notes=notes, code=code, limit=limit, when=when)(changes, previous_run)


def audit_report_later(findings: pl.DataFrame, *, synthetic: bool, source: str, encharge: bool = True,
                       erasures: bool = True, notes: Sequence[str] = (), code: Sequence[tuple[str, str]] = (),
                       limit: int = 50, when: dt.datetime | None = None
                       ) -> Callable[[pl.DataFrame | None, str | None], str]:
    """:func:`audit_report` in two steps: everything but the change since the last run is made now; the
    function returned takes ``changes`` and ``previous_run`` (once the run is kept) and gives the page.

    Example:
        >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x"], "check": ["invalid email"],
        ...                   "severity": ["high"], "detail": ["not a valid email address: 'a@x'"]})
        >>> finish = audit_report_later(f, synthetic=True, source="x")
        >>> changes = pl.DataFrame({"check": ["invalid email"], "new": [1], "resolved": [0], "still_open": [0]})
        >>> "Change since the last run" in finish(None, None), "Change since the last run" in finish(changes, "r1")
        (False, True)
    """
    findings = check_frame("findings", findings, tuple(FINDINGS)).cast(pl.Schema(FINDINGS))  # a null column as typed
    summary = summarise(findings)
    is_unable = pl.col("detail").fill_null("").str.starts_with(CANNOT_CHECK)
    unable = findings.filter(is_unable)
    real = findings.filter(~is_unable)
    ran = checks_run(encharge=encharge, erasures=erasures)
    people = real.get_column("email").drop_nulls().str.to_lowercase().n_unique()
    lead = (f"<p>{_n(real.height, 'finding', 'findings')} about {_n(people, 'person', 'people')}, from "
            f"{len(set(ran) | set(summary.get_column('check').to_list()))} checks. "
            f'<a class="csv" download="audit_findings.csv" href="{csv_data_uri(findings)}">Download every finding '
            "as CSV</a></p>")
    blocks = [lead, _first_screen(summary, ran, unable), _sentences(summary, ran, unable)]
    after = len(blocks)  # where the change since the last run goes
    if notes:
        blocks.append('<div class="notes info"><h3>Settings</h3><ul>'
                      + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul></div>")
    counted = summary.filter(pl.col("findings") > 0)
    if counted.height:
        blocks.append(section("Findings by check", chart_block(chart_svg(findings_chart(counted)),
                                                              label="Audit findings by check"),
                              table_html(summary, name="audit_summary", counts=["findings"]), anchor="chart"))
    for check, severity, count, _ in counted.iter_rows():
        rows = real.filter(pl.col("check") == check).select("supporterId", "email", "detail")
        blocks.append(section(f"{check} ({severity}): {count:,}", f"<p>{_esc(check_sentence(check, count))}</p>",
                              table_html(rows, name=f"audit_{_slug(check)}", limit=limit),
                              anchor=f"check-{_slug(check)}"))
    if code:
        blocks.append(section("The code behind this report", *(code_block(t, c) for t, c in code), anchor="code"))

    def page(changes: pl.DataFrame | None, previous_run: str | None) -> str:
        shown = blocks if changes is None else [*blocks[:after], _changes_block(changes, previous_run),
                                                 *blocks[after:]]
        return render_page("Supporter data audit", shown, synthetic=synthetic, source=source, when=when,
                           subtitle="Is our supporter list clean, and is consent consistent across ENS and "
                                    "Encharge?")

    return page
