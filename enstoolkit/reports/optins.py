"""The opt-in report: how sign-ups to each opt-in are doing, where they come from, who stays.

:func:`optin_report` turns the frames of :mod:`enstoolkit.analysis.optins` into one
self-contained HTML page: first the answer (each question's rate in a sentence, the last twelve
months, retention), the figures that cannot be told up front, then the charts and tables, each
table downloadable as CSV.

Example:
    >>> from enstoolkit.analysis import by_acquisition, by_country, cohorts, monthly_trend, optin_rates
    >>> ens = pl.DataFrame({"supporterId": [1, 2], "Q": [True, False], "Q Date": [dt.date(2026, 1, 2)] * 2,
    ...                     "Country": ["GB", "IE"], "createdOn": [dt.date(2026, 1, 1)] * 2})
    >>> tx = pl.DataFrame({"supporterId": [1], "type": ["DCF"], "campaignId": [7], "name": ["Sign up"],
    ...                    "createdOn": [dt.date(2026, 1, 1)]})
    >>> page = optin_report(optin_rates(ens, ["Q"]), monthly_trend(ens, ["Q"]), by_country(ens, "Q"),
    ...                     by_acquisition(ens, tx, "Q"), cohorts(ens, "Q"), question="Q", synthetic=False,
    ...                     source="a test frame", today=dt.date(2026, 6, 1))
    >>> "Q: 50.0% of all 2 supporters are opted in" in page
    True
"""

from __future__ import annotations

import datetime as dt
import html as _html
from collections.abc import Sequence

import polars as pl

from .charts import acquisition_chart, chart_svg, monthly_chart, rates_chart, retention_chart
from .page import chart_block, code_block, render_page, section
from .tables import table_html

__all__ = ["UNDATED_PAGE", "optin_report", "rate_sentence"]

#: The acquisition "page" of supporters whose transactions carry no date (see ``by_acquisition``).
UNDATED_PAGE = "(cannot tell: undated transactions)"


def _esc(text: object) -> str:
    return _html.escape(str(text))


def rate_sentence(row: dict[str, object]) -> str:
    """One question's rates in words (a row of :func:`enstoolkit.analysis.optin_rates`).

    Example:
        >>> rate_sentence({"question": "Q", "supporters": 5000, "answered": 3000, "opted_in": 2000,
        ...                "opted_out": 1000, "pending": 40, "rate": 0.4, "rate_answered": 0.6667})
        'Q: 40.0% of all 5,000 supporters are opted in (66.7% of the 3,000 who answered); 40 pending.'
        >>> rate_sentence({"question": "Q", "supporters": 10, "answered": 0, "opted_in": 0, "opted_out": 0,
        ...                "pending": 0, "rate": None, "rate_answered": None})
        'Q: cannot tell: none of the 10 supporters has an answer (is the column empty in the export?).'
    """
    q, total, answered = row["question"], int(str(row["supporters"])), int(str(row["answered"]))
    rate, of_answered, pending = row["rate"], row["rate_answered"], int(str(row["pending"]))
    if rate is None:
        return (f"{q}: cannot tell: none of the {total:,} supporters has an answer (is the column empty in the "
                "export?).")
    text = f"{q}: {float(str(rate)):.1%} of all {total:,} supporters are opted in"
    if of_answered is not None:
        text += f" ({float(str(of_answered)):.1%} of the {answered:,} who answered)"
    return text + (f"; {pending:,} pending." if pending else ".")


def optin_report(rates: pl.DataFrame, trend: pl.DataFrame, countries: pl.DataFrame, pages: pl.DataFrame,
                 cohort: pl.DataFrame, *, question: str, synthetic: bool, source: str, today: dt.date,
                 notes: Sequence[str] = (), code: Sequence[tuple[str, str]] = (), limit: int = 30,
                 when: dt.datetime | None = None) -> str:
    """The opt-in analysis as one self-contained HTML page (text).

    Args:
        rates: from :func:`~enstoolkit.analysis.optin_rates`.
        trend: from :func:`~enstoolkit.analysis.monthly_trend`.
        countries: from :func:`~enstoolkit.analysis.by_country`, for ``question``.
        pages: from :func:`~enstoolkit.analysis.by_acquisition`, for ``question``.
        cohort: from :func:`~enstoolkit.analysis.cohorts`, for ``question``.
        question: the opt-in looked at in detail.
        synthetic: the data is the sandbox's: the page says "synthetic data".
        source: where the data came from, in words.
        today: the date the last twelve months end on (the account's clock).
        notes: settings and other facts to state.
        code: (title, code) pairs shown at the end; empty by default.
        limit: rows shown per long table (the CSV link holds them all).
    """
    unknown: list[str] = []
    headline: list[str] = []
    for row in rates.iter_rows(named=True):
        (unknown if row["rate"] is None else headline).append(rate_sentence(row))
    start = dt.date(today.year - 1, today.month, 1)
    one = trend.filter(pl.col("question") == question)
    recent = one.filter(pl.col("month") >= start)
    ins, outs = int(recent.get_column("opt_ins").sum()), int(recent.get_column("opt_outs").sum())
    headline.append(f"{question}, the last 12 months (since {start:%B %Y}): {ins:,} opt-ins, {outs:,} opt-outs"
                    + (f", a net {'gain' if ins >= outs else 'loss'} of {abs(ins - outs):,}." if ins or outs
                       else "."))
    joined, still = (int(cohort.get_column(c).sum()) for c in ("joined_opted_in", "still_opted_in"))
    if joined:
        headline.append(f"Of the {joined:,} supporters who joined opted in to {question}, {still:,} still are "
                        f"({still / joined:.1%}).")
    undated = pages.filter(pl.col("page") == UNDATED_PAGE)
    if undated.height:
        n = int(undated.get_column("supporters").sum())
        unknown.append(f"Acquisition page: cannot tell for {n:,} supporters whose transactions carry no date "
                       "(counted apart, never guessed).")
    placed = pages.filter(pl.col("campaignId").is_not_null() & (pl.col("supporters") >= 20))
    if placed.height:
        best = placed.sort("rate", "supporters", descending=True).row(0, named=True)
        headline.append(f"Best acquisition page (of those with 20 or more supporters): {best['page']}, "
                        f"{best['rate']:.1%} of {best['supporters']:,} opted in.")
    blocks = ['<ul class="checks" id="answers">' + "".join(f"<li>{_esc(h)}</li>" for h in headline) + "</ul>"]
    if unknown:
        blocks.append('<div class="notes" id="cannot-tell"><h3>Cannot tell</h3><ul>'
                      + "".join(f"<li>{_esc(u)}</li>" for u in unknown) + "</ul></div>")
    if notes:
        blocks.append('<div class="notes info"><h3>Settings</h3><ul>'
                      + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul></div>")
    counts = ["supporters", "answered", "opted_in", "opted_out", "pending"]
    blocks.append(section(
        "1. Opt-in rate per question",
        "<p>The rate counts every supporter; the rate of those who answered counts only those who answered "
        "yes or no. A pending double opt-in is neither.</p>",
        chart_block(chart_svg(rates_chart(rates.filter(pl.col("rate").is_not_null()))), label="Opt-in rates"),
        table_html(rates, name="optin_rates", counts=counts, percents=["rate", "rate_answered"]), anchor="rates"))
    latest = one.sort("month", descending=True)
    blocks.append(section(
        "2. Month by month",
        chart_block(chart_svg(monthly_chart(trend, question)), label=f"{question} per month"),
        table_html(latest, name="optin_monthly", counts=["opt_ins", "opt_outs"], limit=24, csv=trend),
        anchor="monthly"))
    blocks.append(section(
        "3. Where opt-ins come from",
        f"<p>By country, and by the page each supporter first came through (their first transaction), for "
        f"{_esc(question)}.</p>",
        table_html(countries, name="optin_by_country", counts=["supporters", "opted_in"], percents=["rate"],
                   limit=limit),
        chart_block(chart_svg(acquisition_chart(pages, question)), label="Opt-in rate by acquisition page"),
        table_html(pages, name="optin_by_acquisition", counts=["supporters", "opted_in"], percents=["rate"],
                   limit=limit), anchor="sources"))
    blocks.append(section(
        "4. Who stays opted in",
        "<p>Supporters grouped by the month they signed up. <i>Joined opted in</i> counts those who hold the opt-in "
        "now plus those whose latest answer is a later “no”; <i>retention</i> is the share still opted in.</p>",
        chart_block(chart_svg(retention_chart(cohort, question)), label="Retention by sign-up month"),
        table_html(cohort.sort("cohort", descending=True), name="optin_cohorts",
                   counts=["signed_up", "joined_opted_in", "still_opted_in"], percents=["retention"], limit=24,
                   csv=cohort), anchor="cohorts"))
    if code:
        blocks.append(section("The code behind this report", *(code_block(t, c) for t, c in code), anchor="code"))
    return render_page("Opt-in analysis", blocks, synthetic=synthetic, source=source, when=when,
                       subtitle="How are sign-ups to each opt-in doing, where do they come from, and who leaves?")
