"""The ENS half of the sandbox, its export files: the CSV an export job downloads, in the variant's style.

No real ``/exportjob`` file has been published. Code that reads real ENS export files uses
dashboard-style headers ("Supporter ID", "Supporter Email", "Date Created", ..., an unnamed last
column; transactions as "Campaign ID", "Campaign Type", "Campaign Date", "Campaign Time",
"Campaign Status", "Campaign Data 1..N"), with dates in the account's order; the ``api`` style
(``supporterId``, ``createdOn``, ISO dates) is this project's own. Both are emulated
(:attr:`~enstoolkit.sandbox.variants.Variant.headers`).

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

from .data import EXPORT_GROUPS, FIELD_NAMES, SupporterRecord
from .ens_state import ENSState

__all__ = ["DASHBOARD_TRANSACTION_COLUMNS", "TRANSACTION_COLUMNS", "export_csv", "export_transactions_csv",
           "in_query"]


def in_query(rec: SupporterRecord, query: str) -> bool:
    """Whether a supporter is in one of the dashboard's saved queries.

    Example:
        >>> day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        >>> rec = SupporterRecord(100001, {}, day, day, questions={4512: ("Y", 0)})
        >>> in_query(rec, "Marketing opted in"), in_query(rec, "Suppressed supporters"), in_query(rec, "All supporters")
        (True, False, True)
    """
    if query == "Marketing opted in":
        return rec.questions.get(4512, ("", 0))[0] == "Y"
    if query == "Suppressed supporters":
        return rec.suppressed
    return True


TRANSACTION_COLUMNS = ("supporterId", "id", "type", "subtype", "name", "campaignId", "createdOn", "createdDate",
                       "xref1", "xref2", "txType", "recurringPayment", "status", "amount", "currency", "broadcastId")
DASHBOARD_TRANSACTION_COLUMNS = ("Supporter ID", "Supporter Email", "Campaign ID", "Campaign Type", "Campaign Date",
                                 "Campaign Time", "Campaign Status", "Campaign Data 1", "Campaign Data 2",
                                 "Campaign Data 3", "Campaign Data 4", "")


def _moment(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC)


def export_transactions_csv(state: ENSState, query: str) -> bytes:
    """The CSV of a "Transaction" export job: one row per transaction of the query's supporters.

    Example:
        >>> from enstoolkit.sandbox import Sandbox
        >>> export_transactions_csv(Sandbox(supporters=3).ens, "All supporters").split(b",")[:3]
        [b'supporterId', b'id', b'type']
        >>> state = Sandbox(supporters=3, variant="dashboard-headers").ens
        >>> export_transactions_csv(state, "All supporters").split(b",")[:2]
        [b'Supporter ID', b'Supporter Email']
    """
    account = state.account
    dashboard = state.variant.headers == "dashboard"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DASHBOARD_TRANSACTION_COLUMNS if dashboard else TRANSACTION_COLUMNS)
    for sid in sorted(state.records):
        rec = state.records[sid]
        if not in_query(rec, query):
            continue
        for tx in state.history(rec):  # not kept: an export holds no histories
            moment = _moment(tx["createdDate"])
            if dashboard:
                kind = tx.get("subtype") or str(tx.get("type", "")).upper()
                data = [tx.get("name", ""), tx.get("amount", tx.get("xref1", "")) or "",
                        tx.get("currency", tx.get("xref2", "")) or "", tx.get("txType", "")]
                writer.writerow([sid, rec.email, tx["campaignId"], kind, account.date(moment.date()),
                                 moment.strftime("%H:%M:%S"), tx.get("status", "success"), *data, ""])
            else:
                row: dict[str, Any] = {**tx, "supporterId": sid, "createdOn": moment.date().isoformat()}
                writer.writerow(["" if row.get(c) is None else row.get(c) for c in TRANSACTION_COLUMNS])
    return out.getvalue().encode()


def export_csv(state: ENSState, query: str, group: str | None) -> bytes:
    """The CSV of an export job: ids, fields (the account's names), dates, and each question with its date.

    Example:
        >>> from enstoolkit.sandbox import Sandbox
        >>> text = export_csv(Sandbox(supporters=3).ens, "All supporters", None).decode()
        >>> len(text.splitlines()), text.split(",")[:3]
        (4, ['supporterId', 'suppressed', 'Title'])
    """
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
