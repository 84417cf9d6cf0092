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

from collections.abc import Iterable

import polars as pl

__all__ = ["by_acquisition", "by_country", "cohorts", "monthly_trend", "optin_rates"]


def optin_rates(ens: pl.DataFrame, questions: Iterable[str]) -> pl.DataFrame:
    """Per opt-in question: supporters, answered, opted in, opted out, and the rates.

    ``rate`` is opted in over all supporters; ``rate_answered`` over those who answered.

    Example:
        >>> df = pl.DataFrame({"Marketing Optin": [True, False, None, True]})
        >>> optin_rates(df, ["Marketing Optin"]).row(0)
        ('Marketing Optin', 4, 3, 2, 1, 0.5, 0.6667)
    """
    rows = []
    for q in questions:
        col = ens.get_column(q)
        answered = int(col.is_not_null().sum())
        yes = int(col.fill_null(False).sum())
        rows.append({"question": q, "supporters": ens.height, "answered": answered, "opted_in": yes,
                     "opted_out": answered - yes, "rate": round(yes / ens.height, 4) if ens.height else None,
                     "rate_answered": round(yes / answered, 4) if answered else None})
    schema = {"question": pl.String, "supporters": pl.Int64, "answered": pl.Int64, "opted_in": pl.Int64,
              "opted_out": pl.Int64, "rate": pl.Float64, "rate_answered": pl.Float64}
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
    parts = []
    for q in questions:
        date = f"{q} Date"
        if date not in ens.columns:
            raise ValueError(f"no {date!r} column: the export carries each question's response date")
        parts.append(
            ens.filter(pl.col(q).is_not_null() & pl.col(date).is_not_null())
            .group_by(pl.col(date).dt.truncate("1mo").alias("month"))
            .agg(pl.col(q).sum().cast(pl.Int64).alias("opt_ins"), (~pl.col(q)).sum().cast(pl.Int64).alias("opt_outs"))
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
    return (ens.group_by(pl.col(country).fill_null("(none)").alias("country"))
            .agg(pl.len().cast(pl.Int64).alias("supporters"),
                 pl.col(question).fill_null(False).sum().cast(pl.Int64).alias("opted_in"))
            .with_columns((pl.col("opted_in") / pl.col("supporters")).round(4).alias("rate"))
            .sort(["supporters", "country"], descending=[True, False]))


def by_acquisition(ens: pl.DataFrame, transactions: pl.DataFrame, question: str) -> pl.DataFrame:
    """Opt-in rate by acquisition page: each supporter's first transaction (by date, then id).

    Example:
        >>> import datetime as dt
        >>> ens = pl.DataFrame({"supporterId": [1, 2, 3], "Q": [True, False, True]})
        >>> tx = pl.DataFrame({"supporterId": [1, 1, 2, 3], "campaignId": [10, 20, 10, 20],
        ...                    "name": ["Sign up", "Petition", "Sign up", "Petition"],
        ...                    "createdOn": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)] + [dt.date(2026, 1, 1)] * 2})
        >>> by_acquisition(ens, tx, "Q").rows()
        [(10, 'Sign up', 2, 1, 0.5), (20, 'Petition', 1, 1, 1.0)]
    """
    first = (transactions.sort("supporterId", "createdOn", "campaignId")
             .unique("supporterId", keep="first", maintain_order=True)
             .select("supporterId", "campaignId", pl.col("name").alias("page")))
    joined = ens.select("supporterId", question).join(first, on="supporterId", how="left")
    return (joined.group_by(pl.col("campaignId"), pl.col("page").fill_null("(no transaction)"))
            .agg(pl.len().cast(pl.Int64).alias("supporters"),
                 pl.col(question).fill_null(False).sum().cast(pl.Int64).alias("opted_in"))
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
    date = f"{question} Date"
    later_out = (pl.col(question) == False) & ((pl.col(date) - pl.col(created)).dt.total_days() > 1)  # noqa: E712
    joined = pl.col(question).fill_null(False) | later_out.fill_null(False)
    return (ens.group_by(pl.col(created).dt.truncate("1mo").alias("cohort"))
            .agg(pl.len().cast(pl.Int64).alias("signed_up"),
                 joined.sum().cast(pl.Int64).alias("joined_opted_in"),
                 pl.col(question).fill_null(False).sum().cast(pl.Int64).alias("still_opted_in"))
            .with_columns((pl.col("still_opted_in") / pl.col("joined_opted_in")).round(4).alias("retention"))
            .sort("cohort"))
