"""The dated history of opt-in answers, from the transaction file's question rows (QCB, CQS, QMR).

The supporter file keeps each supporter's latest answer only; the transaction file keeps every
answer with its date and time (one row per answer: the question's name in ``Campaign ID``, read
as ``name``; the answer in ``Campaign Status``, read as ``status``). Where a file holds these rows
the opt-in trend and the cohorts are exact (:func:`enstoolkit.analysis.monthly_trend`,
:func:`enstoolkit.analysis.cohorts`); where it holds none they are estimates, and say so.

Example:
    >>> tx = pl.DataFrame({"supporterId": [1, 1], "type": ["QCB", "QCB"], "name": ["Q", "Q"],
    ...                    "status": ["Y", "N"], "createdDate": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    ...                                                          dt.datetime(2026, 3, 1, tzinfo=dt.UTC)]})
    >>> answer_history(tx, "Q").get_column("answer").to_list()
    ['Y', 'N']
"""

from __future__ import annotations

import polars as pl

from ..ens.transaction_types import ANSWER_TYPES
from ..errors import ValidationError
from ..inputs.arguments import check_frame
from .answers import answer

__all__ = ["ESTIMATE", "EXACT", "answer_history", "answer_rows", "linked_transactions", "question_history"]

#: ``basis`` of a figure counted from the dated answer rows.
EXACT = "exact (answer history)"
#: ``basis`` of a figure estimated from the supporter file's latest answers (no answer rows to count from).
ESTIMATE = "estimate (latest answer only)"

#: The transaction file's columns an answer row is read from.
_READ = ("type", "name", "status", "createdDate")
_HISTORY: dict[str, pl.DataType] = {"supporterId": pl.Int64(), "createdDate": pl.Datetime("ms", "UTC"),
                                    "answer": pl.String()}


def linked_transactions(transactions: pl.DataFrame) -> pl.DataFrame:
    """The rows of real supporters (not account-level rows), refusing a file whose people have no ids.

    A file without ``Supporter ID`` (the "User data" format) must first get its ids from the
    supporter file: :func:`enstoolkit.ens.readers.supporter_ids_by_email`.

    Example:
        >>> tx = pl.DataFrame({"supporterId": [0, 5], "isSupporter": [False, True]})
        >>> linked_transactions(tx).get_column("supporterId").to_list()
        [5]
    """
    transactions = check_frame("transactions", transactions)
    if "supporterId" not in transactions.columns:
        raise ValidationError("transactions", transactions.columns[:12], "transactions with a supporterId column")
    rows = transactions.filter(pl.col("isSupporter")) if "isSupporter" in transactions.columns else transactions
    if rows.height and rows.get_column("supporterId").null_count() == rows.height:
        raise ValidationError("transactions", "no supporterId on any row",
                              "transactions with their supporters' ids: a file without Supporter ID gets them "
                              "with enstoolkit.ens.readers.supporter_ids_by_email(transactions, supporters, "
                              "email_field)")
    return rows.filter(pl.col("supporterId").is_not_null() & (pl.col("supporterId") != 0))


def answer_history(transactions: pl.DataFrame, question: str) -> pl.DataFrame:
    """Every answer to ``question`` in the transaction file: ``supporterId``, ``createdDate``, ``answer``, oldest first.

    Question rows are those of types QCB, CQS and QMR whose ``name`` is the question's (as
    written; a name differing only by surrounding spaces matches too). Answers read as "Y", "N",
    "P" or "D" (see :func:`enstoolkit.analysis.answers.answer`); another value raises naming it.
    An empty frame means the file holds no answer rows for the question.

    Example:
        >>> tx = pl.DataFrame({"supporterId": [3], "type": ["CQS"], "name": ["Q "], "status": ["p"],
        ...                    "createdDate": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]})
        >>> answer_history(tx, "Q").row(0)[2]
        'P'
    """
    return question_history(answer_rows(transactions), question)


def answer_rows(transactions: pl.DataFrame) -> pl.DataFrame | None:
    """The transaction file's question rows (types QCB, CQS, QMR, of real supporters), each question's name trimmed
    (``question``): what :func:`question_history` reads each question's answers from, so a file is filtered once
    for several questions. ``None`` when the file has no question rows' columns.

    Example:
        >>> tx = pl.DataFrame({"supporterId": [3, 3], "type": ["CQS", "PET"], "name": [" Q ", "Petition"],
        ...                    "status": ["p", None], "createdDate": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * 2})
        >>> answer_rows(tx).get_column("question").to_list()
        ['Q']
    """
    transactions = check_frame("transactions", transactions)
    if "supporterId" in transactions.columns:  # only the columns read here are filtered (a wide file: most are not)
        transactions = transactions.select(c for c in ("supporterId", "isSupporter", *_READ)
                                           if c in transactions.columns)
    rows = linked_transactions(transactions)
    for column in _READ:
        if column not in rows.columns:
            return None
    return rows.filter(pl.col("type").is_in(list(ANSWER_TYPES))).select(
        "supporterId", "createdDate", "status", pl.col("name").str.strip_chars().alias("question"))


def question_history(rows: pl.DataFrame | None, question: str) -> pl.DataFrame:
    """:func:`answer_history` of ``question`` from the rows :func:`answer_rows` gave.

    Example:
        >>> tx = pl.DataFrame({"supporterId": [3], "type": ["CQS"], "name": ["Q "], "status": ["p"],
        ...                    "createdDate": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]})
        >>> question_history(answer_rows(tx), "Q").row(0)[2]
        'P'
    """
    if rows is None:
        return pl.DataFrame([], schema=_HISTORY)
    found = rows.filter(pl.col("question") == question.strip())
    if not found.height:
        return pl.DataFrame([], schema=_HISTORY)
    found = found.select("supporterId", pl.col("createdDate").cast(pl.Datetime("ms", "UTC")),
                         pl.col("status").alias(question))
    return (found.select("supporterId", "createdDate", answer(found, question).alias("answer"))
            .sort("supporterId", "createdDate", maintain_order=True))
