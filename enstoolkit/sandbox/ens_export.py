"""The ENS half of the sandbox, its export files: the CSV an export job downloads.

Example:
    >>> from enstoolkit.sandbox.clock import SandboxClock
    >>> from enstoolkit.sandbox.data import DEFAULT_NOW
    >>> state = ENSState(supporters=3, seed=0, clock=SandboxClock(DEFAULT_NOW))
    >>> export_csv(state, "All supporters", None).splitlines()[0][:11]
    b'supporterId'
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from .data import EXPORT_GROUPS, FIELD_NAMES, QUESTIONS, SupporterRecord, make_transactions
from .ens_state import ENSState

__all__ = ["TRANSACTION_COLUMNS", "export_csv", "export_transactions_csv", "in_query"]


def in_query(rec: SupporterRecord, query: str) -> bool:
    if query == "Marketing opted in":
        return rec.questions.get(4512, ("", 0))[0] == "Y"
    if query == "Suppressed supporters":
        return rec.suppressed
    return True


TRANSACTION_COLUMNS = ("supporterId", "id", "type", "subtype", "name", "campaignId", "createdOn", "createdDate",
                       "xref1", "xref2", "txType", "recurringPayment", "status", "amount", "currency")


def export_transactions_csv(state: ENSState, query: str) -> bytes:
    """The CSV of a "Transaction" export job: one row per transaction of the query's supporters."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRANSACTION_COLUMNS)
    for sid in sorted(state.records):
        rec = state.records[sid]
        if not in_query(rec, query):
            continue
        # made afresh (deterministically) unless already held: an export does not keep every history in memory
        history = rec.transactions if rec.transactions is not None else make_transactions(
            rec, state.seed, state.pages, state.clock.start)
        for tx in history:
            day, month, year = str(tx["createdOn"]).split("/")
            row = {**tx, "supporterId": sid, "createdOn": f"{year}-{month}-{day}"}
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in TRANSACTION_COLUMNS])
    return out.getvalue().encode()


def export_csv(state: ENSState, query: str, group: str | None) -> bytes:
    """The CSV of an export job: ids, fields, dates, and each question with its date."""
    names = EXPORT_GROUPS[group] if group else FIELD_NAMES
    header = ["supporterId", "suppressed", *names, "createdOn", "modifiedOn"]
    for q in QUESTIONS:
        header += [q.name, f"{q.name} Date"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for sid in sorted(state.records):
        rec = state.records[sid]
        if not in_query(rec, query):
            continue
        row: list[Any] = [sid, "true" if rec.suppressed else "false"]
        row += [rec.fields.get(n, "") for n in names]
        row += [rec.created.date().isoformat(), rec.modified.date().isoformat()]
        for q in QUESTIONS:
            answer = rec.questions.get(q.question_id)
            if answer is None:
                row += ["", ""]
            else:
                row += [answer[0], dt.datetime.fromtimestamp(answer[1] / 1000, dt.UTC).date().isoformat()]
        writer.writerow(row)
    return out.getvalue().encode()

