"""Opt-in analysis: rates per question, monthly trend, by country, by acquisition page, sign-up cohorts.

The input is the supporter file from :meth:`ENSClient.export_supporters` (opt-in questions with a
``"<question> Date"`` beside them) and the transactions from :meth:`ENSClient.export_transactions`:
acquisition pages (page submissions only: :mod:`enstoolkit.ens.transaction_types`), and the dated
history of answers that makes the monthly trend and the cohorts exact
(:mod:`enstoolkit.analysis.answer_history`); without answer rows these are estimates, and say so.

Example:
    >>> optin_rates(pl.DataFrame({"Q": [True, None]}), ["Q"]).item(0, "rate")
    0.5
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cache, partial

import polars as pl

from ..ens.transaction_types import TRANSACTION_TYPES
from ..errors import ValidationError
from ..inputs.arguments import check_frame
from .answer_history import ESTIMATE, EXACT, answer_history, answer_rows, linked_transactions, question_history
from .answers import answer, is_no, is_yes

_log = logging.getLogger("enstoolkit.analysis")

__all__ = ["by_acquisition", "by_country", "cohorts", "monthly_trend", "optin_rates"]


def optin_rates(ens: pl.DataFrame, questions: Iterable[str]) -> pl.DataFrame:
    """Per opt-in question: supporters, answered (Y or N), opted in, opted out, pending, and the rates.

    ``rate`` is opted in over the supporters it can classify; ``rate_answered`` over those who
    answered Y or N. A pending double opt-in ("P") is counted as pending: neither an answer nor an
    opt-in. An answer the rate cannot classify ("D": a code of ENS's question rows the vendor
    does not explain) is left out of both rates, counted in ``left_out`` with the reason in
    ``left_out_why``. A question nobody has any answer to (a column that did not come through,
    most likely) has no rates (null), not 0%, and a warning is logged.

    Example:
        >>> df = pl.DataFrame({"Marketing Optin": ["Y", "N", None, "Y", "P", "D"]})
        >>> optin_rates(df, ["Marketing Optin"]).row(0)[:9]
        ('Marketing Optin', 6, 3, 2, 1, 1, 0.4, 0.6667, 1)
    """
    ens = check_frame("ens", ens)
    rows = []
    for q in questions:
        read = answer(ens, q)  # is_yes, is_no and is_pending of the one reading
        counts = ens.select((read == "Y").fill_null(False).sum().alias("y"),
                            (read == "N").fill_null(False).sum().alias("n"),
                            (read == "P").fill_null(False).sum().alias("p"),
                            (read == "D").fill_null(False).sum().alias("d")).row(0, named=True)
        yes, no, pending, unclear = int(counts["y"]), int(counts["n"]), int(counts["p"]), int(counts["d"])
        answered = yes + no
        counted = ens.height - unclear
        known = counted > 0 and answered + pending > 0
        if ens.height and not known:
            _log.warning("no supporter has an answer to %r in %d rows: its opt-in rate cannot be told (is the "
                         "column empty in the export?)", q, ens.height)
        why = (f"{unclear} answered 'D' (not explained by the vendor: neither yes nor no)" if unclear else None)
        rows.append({"question": q, "supporters": ens.height, "answered": answered, "opted_in": yes,
                     "opted_out": no, "pending": pending, "rate": round(yes / counted, 4) if known else None,
                     "rate_answered": round(yes / answered, 4) if answered else None, "left_out": unclear,
                     "left_out_why": why})
    schema = {"question": pl.String, "supporters": pl.Int64, "answered": pl.Int64, "opted_in": pl.Int64,
              "opted_out": pl.Int64, "pending": pl.Int64, "rate": pl.Float64, "rate_answered": pl.Float64,
              "left_out": pl.Int64, "left_out_why": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame([], schema=schema)


def monthly_trend(ens: pl.DataFrame, questions: Iterable[str], *,
                  transactions: pl.DataFrame | None = None) -> pl.DataFrame:
    """Opt-ins and opt-outs per month, and ``basis`` saying whether they are counted or estimated.

    With ``transactions`` (:meth:`ENSClient.export_transactions`) holding answer rows for a
    question, the months are **exact**: every answer that changed a supporter's state (a first
    answer, or one differing from their previous one), dated by its row; "P" and "D" count as
    neither. Without them, an **estimate** from the supporter file: each supporter's latest answer,
    dated by its ``"<question> Date"`` (an opt-in later withdrawn is not seen). Only the supporters
    of ``ens`` are counted.

    Example:
        >>> df = pl.DataFrame({"Q": [True, False, True], "Q Date": [dt.date(2026, 1, 5), dt.date(2026, 1, 9),
        ...                                                        dt.date(2026, 2, 1)]})
        >>> monthly_trend(df, ["Q"]).drop("basis").rows()
        [('Q', datetime.date(2026, 1, 1), 1, 1), ('Q', datetime.date(2026, 2, 1), 1, 0)]
    """
    ens = check_frame("ens", ens)
    parts = []
    rows = cache(partial(answer_rows, transactions)) if transactions is not None else None  # read once, if asked
    for q in questions:
        history = _history_of(ens, transactions, q, rows)
        if history is not None:
            # a supporter's rows are together (by supporterId, then time): the row before, when it is theirs
            same = pl.col("supporterId") == pl.col("supporterId").shift(1)
            changes = history.with_columns(pl.when(same).then(pl.col("answer").shift(1)).alias("before")) \
                .filter(pl.col("before").is_null() | (pl.col("answer") != pl.col("before")))
            parts.append(
                changes.group_by(pl.col("createdDate").dt.date().dt.truncate("1mo").alias("month"))
                .agg((pl.col("answer") == "Y").sum().cast(pl.Int64).alias("opt_ins"),
                     (pl.col("answer") == "N").sum().cast(pl.Int64).alias("opt_outs"))
                .filter((pl.col("opt_ins") + pl.col("opt_outs")) > 0)
                .select(pl.lit(q).alias("question"), "month", "opt_ins", "opt_outs", pl.lit(EXACT).alias("basis")))
            continue
        date = f"{q} Date"
        if date not in ens.columns:
            raise ValidationError("questions", q, f"a question with its {date!r} column (the export carries each "
                                  "question's response date), or transactions with its answer rows")
        parts.append(
            ens.filter(pl.col(date).is_not_null())
            .group_by(pl.col(date).dt.truncate("1mo").alias("month"))
            .agg(is_yes(ens, q).sum().cast(pl.Int64).alias("opt_ins"),
                 is_no(ens, q).sum().cast(pl.Int64).alias("opt_outs"))
            .filter((pl.col("opt_ins") + pl.col("opt_outs")) > 0)
            .select(pl.lit(q).alias("question"), "month", "opt_ins", "opt_outs", pl.lit(ESTIMATE).alias("basis"))
        )
    schema = {"question": pl.String, "month": pl.Date, "opt_ins": pl.Int64, "opt_outs": pl.Int64,
              "basis": pl.String}
    if not parts:
        return pl.DataFrame([], schema=schema)
    return pl.concat(parts).sort("question", "month")


def _history_of(ens: pl.DataFrame, transactions: pl.DataFrame | None, question: str,
                rows: Callable[[], pl.DataFrame | None] | None = None) -> pl.DataFrame | None:
    """The answer rows to ``question`` of the supporters in ``ens``, or None when the file holds none.

    ``rows`` gives the file's question rows (:func:`answer_rows`), read once for several questions."""
    if transactions is None:
        return None
    history = answer_history(transactions, question) if rows is None else question_history(rows(), question)
    if not history.height:
        _log.warning("the transaction file holds no answer rows for %r: its figures are estimates", question)
        return None
    return history.join(ens.select("supporterId").unique(), on="supporterId", how="semi", maintain_order="left")


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
    """Opt-in rate by acquisition page: the page of each supporter's first page submission.

    Only page submissions can acquire a supporter (see :mod:`enstoolkit.ens.transaction_types`):
    broadcasts (EBC, EMAIL), automation emails (MBC), question answers, unsubscribes, API creates
    (SSC) and account-level rows are passed over. Rows are ordered by ``createdDate`` (their time;
    live donations carry only that), else ``createdOn`` (their day), then id. A supporter who
    cannot be placed is counted under a "(cannot tell: ...)" row saying why, never under a guess:
    a page submission with no date, or a row of a type the table does not know at or before
    their first page submission. "(no page submission)" counts supporters with rows but no page
    (e.g. created through the API only), "(no transaction)" those with no row at all. Page names
    come from the transactions' ``name``, else from ``pages`` (``campaignId``, ``name``: see
    :meth:`ENSClient.page_names`), else "campaign <id>".

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1, 2, 3], "Q": [True, False, True]})
        >>> tx = pl.DataFrame({"supporterId": [1, 1, 2, 3, 3], "campaignId": [10, 20, 10, 9, 20],
        ...                    "type": ["DCF", "PET", "DCF", "SSC", "PET"],
        ...                    "name": ["Sign up", "Petition", "Sign up", None, "Petition"],
        ...                    "createdOn": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)] + [dt.date(2026, 1, 1)] * 3})
        >>> by_acquisition(ens, tx, "Q").rows()
        [(10, 'Sign up', 2, 1, 0.5), (20, 'Petition', 1, 1, 1.0)]
    """
    ens = check_frame("ens", ens)
    transactions = linked_transactions(_columns_read(check_frame("transactions", transactions)))
    moments = []
    if "createdDate" in transactions.columns:
        moments.append(pl.col("createdDate").cast(pl.Datetime("ms", "UTC")))
    if "createdOn" in transactions.columns:
        moments.append(pl.col("createdOn").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"))
    if not moments:
        raise ValidationError("transactions", transactions.columns, "transactions with createdDate or createdOn")
    kinds = pl.DataFrame([(code, entry[1]) for code, entry in TRANSACTION_TYPES.items()],
                         schema={"__code": pl.String, "__page": pl.Boolean}, orient="row")
    typed = transactions.with_columns(_type_code(transactions).alias("__code")) \
        .join(kinds, on="__code", how="left", maintain_order="left")
    dated = typed.filter(pl.col("__page").is_null() | pl.col("__page")).with_columns(
        pl.coalesce(moments).alias("__when"), pl.col("id") if "id" in typed.columns else pl.lit(0).alias("id"))
    submissions = dated.filter(pl.col("__page"))
    undated = submissions.filter(pl.col("__when").is_null()).select("supporterId").unique()
    first = (submissions.filter(pl.col("__when").is_not_null())
             .join(undated, on="supporterId", how="anti")
             .sort("supporterId", "__when", "id")
             .unique("supporterId", keep="first", maintain_order=True))
    unknown = (dated.filter(pl.col("__page").is_null())
               .join(first.select("supporterId", pl.col("__when").alias("__first")), on="supporterId", how="left")
               .filter(pl.col("__first").is_null() | pl.col("__when").is_null()
                       | (pl.col("__when") <= pl.col("__first")))
               .join(undated, on="supporterId", how="anti")
               .group_by("supporterId").agg(pl.col("__code").unique().sort().str.join(", ").alias("__codes")))
    first = first.join(unknown, on="supporterId", how="anti").select(
        "supporterId", "campaignId", (pl.col("name") if "name" in first.columns else pl.lit(None, pl.String()))
        .alias("page"))
    if pages is not None:
        named = pages.select("campaignId", pl.col("name").alias("__page"))
        first = first.join(named, on="campaignId", how="left").with_columns(
            pl.coalesce("page", "__page").alias("page")).drop("__page")
    first = first.with_columns(pl.coalesce("page", pl.format("campaign {}", pl.col("campaignId"))).alias("page"))
    blank = pl.lit(None, first.schema["campaignId"]).alias("campaignId")
    placed = [first]
    if undated.height:
        placed.append(undated.with_columns(blank, pl.lit("(cannot tell: undated transactions)").alias("page")))
    if unknown.height:
        placed.append(unknown.select("supporterId", blank, pl.format("(cannot tell: unknown transaction type {})",
                                                                     pl.col("__codes")).alias("page")))
    others = typed.select("supporterId").unique().join(pl.concat(placed).select("supporterId"), on="supporterId",
                                                       how="anti")
    if others.height:
        placed.append(others.with_columns(blank, pl.lit("(no page submission)").alias("page")))
    joined = ens.select("supporterId", question).join(pl.concat(placed), on="supporterId", how="left")
    return (joined.group_by(pl.col("campaignId"), pl.col("page").fill_null("(no transaction)"))
            .agg(pl.len().cast(pl.Int64).alias("supporters"),
                 is_yes(joined, question).sum().cast(pl.Int64).alias("opted_in"))
            .with_columns((pl.col("opted_in") / pl.col("supporters")).round(4).alias("rate"))
            .sort(["supporters", "campaignId", "page"], descending=[True, False, False], nulls_last=True))


#: The transaction file's columns :func:`by_acquisition` reads.
_ACQUISITION = ("supporterId", "isSupporter", "type", "subtype", "campaignId", "name", "id", "createdDate", "createdOn")


def _columns_read(transactions: pl.DataFrame) -> pl.DataFrame:
    """Only the columns :func:`by_acquisition` reads (a wide file: most are not), when it has those it needs (else
    the whole file, for the error naming its columns)."""
    columns = set(transactions.columns)
    if {"supporterId", "type", "campaignId"} <= columns and {"createdDate", "createdOn"} & columns:
        return transactions.select(c for c in _ACQUISITION if c in columns)
    return transactions


def _type_code(transactions: pl.DataFrame) -> pl.Expr:
    """Each row's code in the type table: ``type``, or the data-capture subtype UNSUB (an unsubscribe page)."""
    if "type" not in transactions.columns:
        raise ValidationError("transactions", transactions.columns[:12], "transactions with a type column")
    code = pl.col("type").cast(pl.String).str.strip_chars()
    if "subtype" in transactions.columns:
        return pl.when((code == "dc") & (pl.col("subtype").cast(pl.String) == "UNSUB")).then(pl.lit("UNSUB")) \
            .otherwise(code)
    return code


def cohorts(ens: pl.DataFrame, question: str, *, created: str = "createdOn",
            transactions: pl.DataFrame | None = None) -> pl.DataFrame:
    """Sign-up month cohorts: how many joined opted in, and how many of them still hold the opt-in.

    With ``transactions`` holding answer rows for the question (:meth:`ENSClient.export_transactions`)
    the cohorts are **exact**: a supporter *joined opted in* when their first Y or N answer is Y and
    was given within a day of signing up; *still opted in* when they did and their latest answer
    (the supporter file's) is Y. Cohorts that began before the file's first answer row are
    estimates, and say so. Without answer rows, an **estimate** from the supporter file, which keeps
    the latest answer only: joined opted in = holds it now, or the latest answer is "N" dated more
    than a day after signing up. ``retention`` is still / joined; ``basis`` says which.

    Example:
        >>> df = pl.DataFrame({"createdOn": [dt.date(2026, 1, 3)] * 3, "Q": [True, False, False],
        ...                    "Q Date": [dt.date(2026, 1, 3), dt.date(2026, 3, 1), dt.date(2026, 1, 3)]})
        >>> cohorts(df, "Q").rows()
        [(datetime.date(2026, 1, 1), 3, 2, 1, 0.5, 'estimate (latest answer only)')]
    """
    ens = check_frame("ens", ens)
    date = f"{question} Date"
    frame = ens.with_columns(pl.col(created).dt.truncate("1mo").alias("cohort"))
    if date in ens.columns:
        later_out = is_no(ens, question) & ((pl.col(date) - pl.col(created)).dt.total_days() > 1).fill_null(False)
        guessed: pl.Expr = is_yes(ens, question) | later_out
    else:
        guessed = is_yes(ens, question)
    joined, still, basis = guessed, is_yes(ens, question), pl.lit(ESTIMATE)
    history = _history_of(ens, transactions, question)
    if history is not None:
        first = (history.filter(pl.col("answer").is_in(["Y", "N"]))
                 .unique("supporterId", keep="first", maintain_order=True)
                 .select("supporterId", pl.col("answer").alias("__first"),
                         pl.col("createdDate").dt.date().alias("__answered")))
        frame = frame.join(first, on="supporterId", how="left", maintain_order="left")
        exact = ((pl.col("__first") == "Y") & ((pl.col("__answered") - pl.col(created)).dt.total_days() <= 1)) \
            .fill_null(False)
        since = history.get_column("createdDate").min()
        covered = pl.col("cohort") >= pl.lit(since).cast(pl.Date).dt.truncate("1mo")
        joined = pl.when(covered).then(exact).otherwise(guessed)
        still = pl.when(covered).then(exact & is_yes(ens, question)).otherwise(is_yes(ens, question))
        basis = pl.when(covered).then(pl.lit(EXACT)).otherwise(pl.lit(ESTIMATE))
    return (frame.group_by("cohort")
            .agg(pl.len().cast(pl.Int64).alias("signed_up"),
                 joined.sum().cast(pl.Int64).alias("joined_opted_in"),
                 still.sum().cast(pl.Int64).alias("still_opted_in"),
                 basis.first().alias("basis"))
            .with_columns((pl.col("still_opted_in") / pl.col("joined_opted_in")).round(4).alias("retention"))
            .select("cohort", "signed_up", "joined_opted_in", "still_opted_in", "retention", "basis")
            .sort("cohort"))
