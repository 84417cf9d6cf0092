"""Opt-in analysis: rates per question, monthly trend, by country, by acquisition page, sign-up cohorts.

The input is the supporter file from :meth:`ENSClient.export_supporters` (opt-in questions as
Boolean columns with a ``"<question> Date"`` beside them) and, for acquisition pages, the
transactions from :meth:`ENSClient.export_transactions`.

Example:
    >>> import polars as pl
    >>> optin_rates(pl.DataFrame({"Q": [True, None]}), ["Q"]).item(0, "rate")
    0.5
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import polars as pl

from ..errors import ValidationError
from ..validate import check_frame
from .answers import is_no, is_pending, is_yes

_log = logging.getLogger("enstoolkit.analysis")

__all__ = ["by_acquisition", "by_country", "cohorts", "monthly_trend", "optin_rates"]


def optin_rates(ens: pl.DataFrame, questions: Iterable[str]) -> pl.DataFrame:
    """Per opt-in question: supporters, answered (Y or N), opted in, opted out, pending, and the rates.

    ``rate`` is opted in over all supporters; ``rate_answered`` over those who answered Y or
    N. A pending double opt-in ("P") is counted as pending: neither an answer nor an opt-in.
    A question nobody has any answer to (a column that did not come through, most likely) has
    no rates (null), not 0%, and a warning is logged.

    Example:
        >>> df = pl.DataFrame({"Marketing Optin": ["Y", "N", None, "Y", "P"]})
        >>> optin_rates(df, ["Marketing Optin"]).row(0)
        ('Marketing Optin', 5, 3, 2, 1, 1, 0.4, 0.6667)
    """
    ens = check_frame("ens", ens)
    rows = []
    for q in questions:
        counts = ens.select(is_yes(ens, q).sum().alias("y"), is_no(ens, q).sum().alias("n"),
                            is_pending(ens, q).sum().alias("p")).row(0, named=True)
        yes, no, pending = int(counts["y"]), int(counts["n"]), int(counts["p"])
        answered = yes + no
        known = ens.height > 0 and answered + pending > 0
        if ens.height and not known:
            _log.warning("no supporter has an answer to %r in %d rows: its opt-in rate cannot be told (is the "
                         "column empty in the export?)", q, ens.height)
        rows.append({"question": q, "supporters": ens.height, "answered": answered, "opted_in": yes,
                     "opted_out": no, "pending": pending, "rate": round(yes / ens.height, 4) if known else None,
                     "rate_answered": round(yes / answered, 4) if answered else None})
    schema = {"question": pl.String, "supporters": pl.Int64, "answered": pl.Int64, "opted_in": pl.Int64,
              "opted_out": pl.Int64, "pending": pl.Int64, "rate": pl.Float64, "rate_answered": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame([], schema=schema)


def monthly_trend(ens: pl.DataFrame, questions: Iterable[str]) -> pl.DataFrame:
    """Opt-ins and opt-outs per month, dated by each response's ``"<question> Date"``.

    Example:
        >>> import datetime as dt
        >>> df = pl.DataFrame({"Q": [True, False, True], "Q Date": [dt.date(2026, 1, 5), dt.date(2026, 1, 9),
        ...                                                        dt.date(2026, 2, 1)]})
        >>> monthly_trend(df, ["Q"]).rows()
        [('Q', datetime.date(2026, 1, 1), 1, 1), ('Q', datetime.date(2026, 2, 1), 1, 0)]
    """
    ens = check_frame("ens", ens)
    parts = []
    for q in questions:
        date = f"{q} Date"
        if date not in ens.columns:
            raise ValidationError("questions", q, f"a question with its {date!r} column (the export carries each "
                                  "question's response date)")
        parts.append(
            ens.filter(pl.col(date).is_not_null())
            .group_by(pl.col(date).dt.truncate("1mo").alias("month"))
            .agg(is_yes(ens, q).sum().cast(pl.Int64).alias("opt_ins"),
                 is_no(ens, q).sum().cast(pl.Int64).alias("opt_outs"))
            .filter((pl.col("opt_ins") + pl.col("opt_outs")) > 0)
            .select(pl.lit(q).alias("question"), "month", "opt_ins", "opt_outs")
        )
    schema = {"question": pl.String, "month": pl.Date, "opt_ins": pl.Int64, "opt_outs": pl.Int64}
    if not parts:
        return pl.DataFrame([], schema=schema)
    return pl.concat(parts).sort("question", "month")


def by_country(ens: pl.DataFrame, question: str, *, country: str = "Country") -> pl.DataFrame:
    """Opt-in rate by country, largest countries first.

    Example:
        >>> df = pl.DataFrame({"Country": ["GB", "GB", "IE"], "Q": [True, None, False]})
        >>> by_country(df, "Q").rows()
        [('GB', 2, 1, 0.5), ('IE', 1, 0, 0.0)]
    """
    ens = check_frame("ens", ens)
    return (ens.group_by(pl.col(country).fill_null("(none)").alias("country"))
            .agg(pl.len().cast(pl.Int64).alias("supporters"),
                 is_yes(ens, question).sum().cast(pl.Int64).alias("opted_in"))
            .with_columns((pl.col("opted_in") / pl.col("supporters")).round(4).alias("rate"))
            .sort(["supporters", "country"], descending=[True, False]))


def by_acquisition(ens: pl.DataFrame, transactions: pl.DataFrame, question: str, *,
                   pages: pl.DataFrame | None = None) -> pl.DataFrame:
    """Opt-in rate by acquisition page: the page of each supporter's first transaction.

    Transactions are ordered by ``createdDate`` (their time; live donations carry only that),
    else ``createdOn`` (their day), then id. Emails received (type EMAIL) are not pages. A
    supporter with a page transaction that carries no date at all cannot be placed: they are
    counted under "(cannot tell: undated transactions)", never under a guess. Page names come
    from the transactions' ``name``, else from ``pages`` (``campaignId``, ``name``: see
    :meth:`ENSClient.page_names`), else "campaign <id>".

    Example:
        >>> import datetime as dt
        >>> ens = pl.DataFrame({"supporterId": [1, 2, 3], "Q": [True, False, True]})
        >>> tx = pl.DataFrame({"supporterId": [1, 1, 2, 3], "campaignId": [10, 20, 10, 20],
        ...                    "name": ["Sign up", "Petition", "Sign up", "Petition"],
        ...                    "createdOn": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)] + [dt.date(2026, 1, 1)] * 2})
        >>> by_acquisition(ens, tx, "Q").rows()
        [(10, 'Sign up', 2, 1, 0.5), (20, 'Petition', 1, 1, 1.0)]
    """
    ens = check_frame("ens", ens)
    transactions = check_frame("transactions", transactions)
    moments = []
    if "createdDate" in transactions.columns:
        moments.append(pl.col("createdDate").cast(pl.Datetime("ms", "UTC")))
    if "createdOn" in transactions.columns:
        moments.append(pl.col("createdOn").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"))
    if not moments:
        raise ValidationError("transactions", transactions.columns, "transactions with createdDate or createdOn")
    visits = transactions.filter(pl.col("type").fill_null("") != "EMAIL") if "type" in transactions.columns \
        else transactions
    dated = visits.with_columns(pl.coalesce(moments).alias("__when"),
                                pl.col("id") if "id" in visits.columns else pl.lit(0).alias("id"))
    undated = dated.filter(pl.col("__when").is_null()).select("supporterId").unique()
    first = (dated.filter(pl.col("__when").is_not_null())
             .join(undated, on="supporterId", how="anti")
             .sort("supporterId", "__when", "id")
             .unique("supporterId", keep="first", maintain_order=True)
             .select("supporterId", "campaignId", (pl.col("name") if "name" in dated.columns
                                                   else pl.lit(None, pl.String())).alias("page")))
    if pages is not None:
        named = pages.select("campaignId", pl.col("name").alias("__page"))
        first = first.join(named, on="campaignId", how="left").with_columns(
            pl.coalesce("page", "__page").alias("page")).drop("__page")
    first = first.with_columns(pl.coalesce("page", pl.format("campaign {}", pl.col("campaignId"))).alias("page"))
    if undated.height:
        first = pl.concat([first, undated.with_columns(pl.lit(None, first.schema["campaignId"]).alias("campaignId"),
                                                       pl.lit("(cannot tell: undated transactions)").alias("page"))])
    joined = ens.select("supporterId", question).join(first, on="supporterId", how="left")
    return (joined.group_by(pl.col("campaignId"), pl.col("page").fill_null("(no transaction)"))
            .agg(pl.len().cast(pl.Int64).alias("supporters"),
                 is_yes(joined, question).sum().cast(pl.Int64).alias("opted_in"))
            .with_columns((pl.col("opted_in") / pl.col("supporters")).round(4).alias("rate"))
            .sort(["supporters", "campaignId"], descending=[True, False], nulls_last=True))


def cohorts(ens: pl.DataFrame, question: str, *, created: str = "createdOn") -> pl.DataFrame:
    """Sign-up month cohorts: how many joined opted in, and how many still hold the opt-in.

    A supporter *joined opted in* when they hold it now, or when their latest answer is "N"
    dated more than a day after they signed up (they opted out later). ``retention`` is
    still / joined.

    Example:
        >>> import datetime as dt
        >>> df = pl.DataFrame({"createdOn": [dt.date(2026, 1, 3)] * 3, "Q": [True, False, False],
        ...                    "Q Date": [dt.date(2026, 1, 3), dt.date(2026, 3, 1), dt.date(2026, 1, 3)]})
        >>> cohorts(df, "Q").rows()
        [(datetime.date(2026, 1, 1), 3, 2, 1, 0.5)]
    """
    ens = check_frame("ens", ens)
    date = f"{question} Date"
    later_out = is_no(ens, question) & ((pl.col(date) - pl.col(created)).dt.total_days() > 1).fill_null(False)
    joined = is_yes(ens, question) | later_out
    return (ens.group_by(pl.col(created).dt.truncate("1mo").alias("cohort"))
            .agg(pl.len().cast(pl.Int64).alias("signed_up"),
                 joined.sum().cast(pl.Int64).alias("joined_opted_in"),
                 is_yes(ens, question).sum().cast(pl.Int64).alias("still_opted_in"))
            .with_columns((pl.col("still_opted_in") / pl.col("joined_opted_in")).round(4).alias("retention"))
            .sort("cohort"))
