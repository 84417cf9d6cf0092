"""The ENS half of the sandbox, its export files: the CSV an export job downloads, in the variant's style.

Supporter files: no real one has been published. Code that reads real ENS export files uses
dashboard-style headers ("Supporter ID", "Supporter Email", "Date Created", ..., an unnamed last
column) with dates in the account's order; the ``api`` style (``supporterId``, ``createdOn``, ISO
dates) is this project's own. Both are emulated (:attr:`~enstoolkit.sandbox.variants.Variant.headers`).
Transaction files: the vendor's documented layout and its variants, in
:mod:`~enstoolkit.sandbox.ens_transactions`.
"""

from __future__ import annotations

import csv
import datetime as dt  # noqa: F401  (the examples use it)
import io
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import polars as pl

from ._fork import halves
from ._gc import paused_gc
from ._packed import pack_rows, unpack
from .account import Draws
from .data import EXPORT_GROUPS, FIELD_NAMES, SupporterRecord
from .ens_state import ENSState
from .ens_transactions import api_transactions_csv, start_documented_transactions

__all__ = ["export_csv", "export_transactions_csv", "in_query", "start_csv", "start_export"]


def in_query(rec: SupporterRecord, query: str) -> bool:
    """Whether a supporter is in one of the dashboard's saved queries."""
    if query == "Marketing opted in":
        return rec.questions.get(4512, ("", 0))[0] == "Y"
    if query == "Suppressed supporters":
        return rec.suppressed
    return True


def _values(state: ENSState, records: Sequence[SupporterRecord], fields: list[str]) -> list[tuple[Any, ...]]:
    """Each supporter's row of the supporter file, before it is formatted: id, email, suppressed, the fields,
    the two dates, then each question's answer and each question's answer time (epoch ms)."""
    questions = state.account.questions
    rows = []
    for rec in records:
        answers = state.answers(rec)
        chosen = [answers.get(q.question_id) for q in questions]
        rows.append((str(rec.supporter_id), rec.email, rec.suppressed, *[rec.fields.get(n, "") for n in fields],
                     rec.created.date(), rec.modified.date(), *[None if a is None else a[0] for a in chosen],
                     *[None if a is None else a[1] for a in chosen]))
    return rows


def _values_and_draws(state: ENSState, records: Sequence[SupporterRecord], fields: list[str]
                      ) -> tuple[list[str | list[Any]], Draws]:
    """:func:`_values` as packed columns (:func:`~enstoolkit.sandbox._packed.pack`), and the draws made for
    them (a forked child hands them back with its values)."""
    rows = _values(state, records, fields)
    width = 5 + len(fields) + 2 * len(state.account.questions)  # id, email, suppressed, fields, 2 dates, answers
    return pack_rows(rows, width), state.account.draws()


def start_export(state: ENSState, job: Mapping[str, Any]) -> Callable[[], bytes]:
    """Start making an export job's file as the job is created: it holds the account as it is now.

    The values are taken now (by forked children for a large account, while this process goes on
    serving); the returned function waits for them and writes the CSV. It may run in another thread
    (:func:`~enstoolkit.sandbox._fork.in_background`).
    """
    if job["format"] == "Transaction":
        with paused_gc():
            if state.variant.transaction_file == "api":
                made = api_transactions_csv(state, job["query"])
                return lambda: made
            return start_documented_transactions(state, job["query"])
    return start_csv(state, job["query"], job["group"])


def export_transactions_csv(state: ENSState, query: str) -> bytes:
    """The CSV of a "Transaction" export job, in the variant's layout (:mod:`~enstoolkit.sandbox.ens_transactions`).
    """
    return start_export(state, {"format": "Transaction", "query": query})()


def export_csv(state: ENSState, query: str, group: str | None) -> bytes:
    """The CSV of an export job: ids, fields (the account's names), dates, and each question with its date.

    Each supporter's values are gathered in Python; the dates are written and the CSV made by
    polars over whole columns (empty values written as nothing, as the csv module writes them).
    """
    return start_csv(state, query, group)()


def start_csv(state: ENSState, query: str, group: str | None) -> Callable[[], bytes]:
    """Start :func:`export_csv`'s file: the values as they are now (two forked children make them for a large
    account), the CSV when the returned function is called (in any thread)."""
    account = state.account
    dashboard = state.variant.headers == "dashboard"
    names = EXPORT_GROUPS[group] if group else FIELD_NAMES
    questions = account.questions
    if dashboard:
        fields = [n for n in names if n != "Email Address"]
        header = ["Supporter ID", "Supporter Email", *[account.display(n) for n in fields], "Suppressed",
                  "Date Created", "Date Modified"]
    else:
        fields = list(names)
        header = ["supporterId", "suppressed", *[account.display(n) for n in fields], "createdOn", "modifiedOn"]
    for q in questions:
        header += [q.name, f"{q.name} Date"]
    if dashboard:
        header.append("")  # the unnamed last column real export files carry
    with paused_gc():
        chosen = [state.records[sid] for sid in sorted(state.records) if in_query(state.records[sid], query)]
        parts = halves(lambda part, _first: _values_and_draws(state, part, fields), chosen)
    return partial(_finish_csv, state, header, fields, dashboard, parts)


def _finish_csv(state: ENSState, header: list[str], fields: list[str], dashboard: bool,
                parts: list[Callable[[], tuple[list[str | list[Any]], Draws]]]) -> bytes:
    """The file of :func:`start_csv` from its parts' values (waited for in order)."""
    account = state.account
    questions = account.questions
    n = len(fields)
    schema: dict[str, Any] = {"id": pl.String, "email": pl.String, "suppressed": pl.Boolean,
                              **{f"f{i}": pl.String for i in range(n)}, "created": pl.Date, "modified": pl.Date,
                              **{f"a{i}": pl.String for i in range(len(questions))},
                              **{f"w{i}": pl.Int64 for i in range(len(questions))}}
    frames = []
    for part in parts:
        packed, draws = part()
        account.keep_draws(draws)  # a child's draws, so the transaction file need not make them again
        frames.append(unpack(packed, schema))
    frame = pl.concat(frames)
    pattern = ("%m/%d/%Y" if account.variant.date_order == "mdy" else "%d/%m/%Y") if dashboard else "%Y-%m-%d"

    def day(expr: pl.Expr) -> pl.Expr:
        return expr.dt.strftime(pattern)

    yes, no = ("Y", "N") if dashboard else ("true", "false")
    suppressed = pl.when(pl.col("suppressed")).then(pl.lit(yes)).otherwise(pl.lit(no))
    values = [pl.col(f"f{i}") for i in range(n)]
    dates = [day(pl.col("created")), day(pl.col("modified"))]
    lead = [pl.col("id"), pl.col("email"), *values, suppressed, *dates] if dashboard else \
        [pl.col("id"), suppressed, *values, *dates]
    answered = []
    for i in range(len(questions)):
        answered += [pl.col(f"a{i}"),
                     day(pl.from_epoch(pl.col(f"w{i}"), time_unit="ms").dt.replace_time_zone("UTC").dt.date())]
    columns = [*lead, *answered, *([pl.lit(None, pl.String)] if dashboard else [])]
    body = frame.select(expr.alias(f"c{i}") for i, expr in enumerate(columns))
    body = body.select(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in body.columns)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(header)
    file = io.BytesIO(out.getvalue().encode())
    file.seek(0, io.SEEK_END)
    if body.height:
        body.write_csv(file, include_header=False)  # after the header, as bytes: no copy of the text made
    return file.getvalue()
