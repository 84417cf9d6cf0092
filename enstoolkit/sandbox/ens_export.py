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
import datetime as dt
import io
from typing import Any

from .data import EXPORT_GROUPS, FIELD_NAMES, SupporterRecord
from .ens_state import ENSState
from .ens_transactions import api_transactions_csv, documented_transactions_csv

__all__ = ["export_csv", "export_transactions_csv", "in_query"]


def in_query(rec: SupporterRecord, query: str) -> bool:
    """Whether a supporter is in one of the dashboard's saved queries."""
    if query == "Marketing opted in":
        return rec.questions.get(4512, ("", 0))[0] == "Y"
    if query == "Suppressed supporters":
        return rec.suppressed
    return True


def _moment(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC)


def export_transactions_csv(state: ENSState, query: str) -> bytes:
    """The CSV of a "Transaction" export job, in the variant's layout (:mod:`~enstoolkit.sandbox.ens_transactions`)."""
    if state.variant.transaction_file == "api":
        return api_transactions_csv(state, query)
    return documented_transactions_csv(state, query)


def export_csv(state: ENSState, query: str, group: str | None) -> bytes:
    """The CSV of an export job: ids, fields (the account's names), dates, and each question with its date."""
    account = state.account
    dashboard = state.variant.headers == "dashboard"
    names = EXPORT_GROUPS[group] if group else FIELD_NAMES
    questions = account.questions

    def day(value: dt.date) -> str:
        return account.date(value) if dashboard else value.isoformat()

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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for sid in sorted(state.records):
        rec = state.records[sid]
        if not in_query(rec, query):
            continue
        suppressed = ("Y" if rec.suppressed else "N") if dashboard else ("true" if rec.suppressed else "false")
        values = [rec.fields.get(n, "") for n in fields]
        dates = [day(rec.created.date()), day(rec.modified.date())]
        row: list[Any] = ([sid, rec.email, *values, suppressed, *dates] if dashboard
                          else [sid, suppressed, *values, *dates])
        answers = state.answers(rec)
        for q in questions:
            answer = answers.get(q.question_id)
            row += ["", ""] if answer is None else [answer[0], day(_moment(answer[1]).date())]
        if dashboard:
            row.append("")
        writer.writerow(row)
    return out.getvalue().encode()
