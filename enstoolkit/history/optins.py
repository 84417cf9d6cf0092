"""Sign-up cohorts from kept answers where they exist, estimated only where history is missing.

The supporter file keeps only each supporter's latest answer, so "did they join opted in?" is an
estimate from it (a later "N" is read as an opt-out after joining opted in; see
:func:`enstoolkit.analysis.cohorts`). The history knows better for everyone it saw join: their
first kept version, when it was kept within a day of their sign-up, holds the answer they joined
with. Dated answer rows (the transaction file's question rows: ``supporterId``, ``question``,
``response``, ``date``) give it too, for anyone who answered within a day of signing up.
:func:`cohorts_with_history` uses those and estimates only the rest, saying how many per cohort.

Example:
    >>> ens = pl.DataFrame({"supporterId": [1, 2], "createdOn": [dt.date(2026, 1, 3)] * 2, "Q": ["N", "N"],
    ...                     "Q Date": [dt.date(2026, 3, 1)] * 2})
    >>> rows = pl.DataFrame({"supporterId": [1], "question": ["Q"], "response": ["N"], "date": [dt.date(2026, 1, 3)]})
    >>> cohorts_with_history(ens, "Q", answers=rows).select("joined_opted_in", "estimated", "basis").row(0)
    (1, 1, 'partly estimated (1 of 2)')
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from ..analysis.answers import is_no, is_yes
from ..errors import ValidationError
from ..inputs.arguments import check_frame

if TYPE_CHECKING:
    from .core import History

__all__ = ["JOINED", "cohorts_with_history", "joined_answers"]

JOINED: dict[str, pl.DataType] = {"supporterId": pl.Int64(), "joined_answer": pl.String(),
                                  "known_from": pl.String()}
_WINDOW = dt.timedelta(days=1)


def _kept_first_answers(history: History, question: str) -> pl.DataFrame:
    """Each supporter's first kept version: its answer to ``question`` and the day it was first kept."""
    from .database import open_store
    from .snapshots import decode_versions

    with open_store(history.path, read_only=True) as db:
        rows = db.execute(
            "SELECT arg_min(record, valid_from), min(valid_from) FROM versions WHERE account = ? AND system = 'ens' "
            "GROUP BY record_key", [history.account]).fetchall()
        layout = db.execute("SELECT layout FROM snapshots WHERE account = ? AND system = 'ens' ORDER BY day DESC "
                            "LIMIT 1", [history.account]).fetchall()
    if not rows or not layout:
        return pl.DataFrame([], schema={"supporterId": pl.Int64, "__answer": pl.String, "__kept": pl.Date})
    first = decode_versions([r[0] for r in rows], layout[0][0])
    if question not in first.columns:
        raise ValidationError("question", question, "an opt-in column of the kept supporter file: "
                              + ", ".join(c for c in first.columns if f"{c} Date" in first.columns))
    return first.select(pl.col("supporterId").cast(pl.Int64), pl.col(question).cast(pl.String).alias("__answer"),
                        pl.Series("__kept", [r[1] for r in rows], dtype=pl.Date))


def joined_answers(ens: pl.DataFrame, question: str, *, history: History | None = None,
                   answers: pl.DataFrame | None = None, created: str = "createdOn") -> pl.DataFrame:
    """The answer each supporter joined with, where it is known (:data:`JOINED`); others are left out.

    ``known_from`` is "kept history" (their first kept version was kept within a day of
    ``created``) or "answer rows" (a dated answer to ``question`` within a day of ``created``).

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1], "createdOn": [dt.date(2026, 1, 3)]})
        >>> rows = pl.DataFrame({"supporterId": [1, 1], "question": ["Q", "Q"], "response": ["Y", "N"],
        ...                      "date": [dt.date(2026, 1, 3), dt.date(2026, 2, 1)]})
        >>> joined_answers(ens, "Q", answers=rows).row(0)
        (1, 'Y', 'answer rows')
    """
    ens = check_frame("ens", ens, ("supporterId", created), what="a supporter frame with its sign-up date")
    base = ens.select(pl.col("supporterId").cast(pl.Int64), pl.col(created).cast(pl.Date).alias("__created"))
    known: list[pl.DataFrame] = []
    if history is not None:
        kept = base.join(_kept_first_answers(history, question), on="supporterId", how="inner")
        known.append(kept.filter(pl.col("__kept") <= pl.col("__created") + _WINDOW).select(
            "supporterId", pl.col("__answer").alias("joined_answer"), pl.lit("kept history").alias("known_from")))
    if answers is not None:
        answers = check_frame("answers", answers, ("supporterId", "question", "response", "date"),
                              what="dated answer rows (supporterId, question, response, date)")
        rows = base.join(answers.filter(pl.col("question") == question).select(
            pl.col("supporterId").cast(pl.Int64), pl.col("response").cast(pl.String), pl.col("date").cast(pl.Date)),
            on="supporterId", how="inner")
        first = (rows.filter((pl.col("date") - pl.col("__created")).abs() <= _WINDOW).sort("date")
                 .group_by("supporterId", maintain_order=True).first())
        known.append(first.select("supporterId", pl.col("response").alias("joined_answer"),
                                  pl.lit("answer rows").alias("known_from")))
    if not known:
        return pl.DataFrame([], schema=JOINED)
    return pl.concat(known).unique("supporterId", keep="first", maintain_order=True).select(list(JOINED))


def cohorts_with_history(ens: pl.DataFrame, question: str, *, history: History | None = None,
                         answers: pl.DataFrame | None = None, created: str = "createdOn") -> pl.DataFrame:
    """Sign-up month cohorts like :func:`enstoolkit.analysis.cohorts`, with the joined answer kept where known.

    ``still_opted_in`` counts those who joined opted in and still are (someone who joined opted out and
    opted in later is not retained), so ``retention`` never exceeds 1.

    Columns: ``cohort``, ``signed_up``, ``joined_opted_in``, ``still_opted_in``, ``retention``,
    ``estimated`` (supporters whose joined answer is estimated from the latest one) and ``basis``:
    "kept", "estimate", or "partly estimated (n of m)".
    """
    ens = check_frame("ens", ens, (question, created), what="a supporter frame with the opt-in and sign-up date")
    date = f"{question} Date"
    known = joined_answers(ens, question, history=history, answers=answers, created=created)
    frame = ens.with_columns(pl.col("supporterId").cast(pl.Int64)).join(known, on="supporterId", how="left")
    if date in frame.columns:
        later_out = is_no(frame, question) & ((pl.col(date) - pl.col(created)).dt.total_days() > 1).fill_null(False)
    else:
        later_out = pl.lit(False)
    estimate = is_yes(frame, question) | later_out
    kept = (pl.col("joined_answer").str.to_uppercase().str.strip_chars().is_in(["Y", "TRUE"])).fill_null(False)
    joined = pl.when(pl.col("known_from").is_not_null()).then(kept).otherwise(estimate)
    out = (frame.group_by(pl.col(created).dt.truncate("1mo").alias("cohort"))
           .agg(pl.len().cast(pl.Int64).alias("signed_up"), joined.sum().cast(pl.Int64).alias("joined_opted_in"),
                (joined & is_yes(frame, question)).sum().cast(pl.Int64).alias("still_opted_in"),
                pl.col("known_from").is_null().sum().cast(pl.Int64).alias("estimated"))
           .with_columns((pl.col("still_opted_in") / pl.col("joined_opted_in")).round(4).alias("retention"))
           .sort("cohort"))
    basis = (pl.when(pl.col("estimated") == 0).then(pl.lit("kept"))
             .when(pl.col("estimated") == pl.col("signed_up")).then(pl.lit("estimate"))
             .otherwise(pl.format("partly estimated ({} of {})", pl.col("estimated"), pl.col("signed_up"))))
    return out.with_columns(basis.alias("basis")).select("cohort", "signed_up", "joined_opted_in", "still_opted_in",
                                                          "retention", "estimated", "basis")
