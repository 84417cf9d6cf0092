"""The ENS half of the sandbox, its "Transaction" export file: the vendor's documented layout, and variants.

The vendor documents the file column by column (see "Exports: the transaction file" in the
project's evidence): ``Account ID, Supporter ID, Supporter Email, Date Created, Date Modified,
Campaign Number, Campaign Type, Campaign ID, Campaign Date, Campaign Time, Campaign Status,
Campaign Data 1 .. N``, then the account's tagged supporter fields, then an unnamed empty column.
``Campaign Number`` is the number (page, question, broadcast), ``Campaign ID`` its reference name
(kept exactly, trailing spaces and all), ``Campaign Date``/``Campaign Time`` US/Eastern local time.
Type codes are the export's own (``FCS``, ``PET``, ``EBC``, ``QCB``, ...), never the REST list's words.

Variants (:attr:`~enstoolkit.sandbox.variants.Variant.transaction_file`): ``"documented"``,
``"renamed"`` (columns an account renamed), ``"user-data"`` (no ``Supporter ID``: people by their
email) and ``"api"`` (this project's older style: the transaction list's own keys).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from .data import CLIENT_ID, SupporterRecord
from .ens_state import ENSState

__all__ = ["ACCOUNT_ROWS", "DATA_COLUMNS", "EASTERN", "RENAMED", "TAGGED_FIELDS", "TRANSACTION_COLUMNS",
           "WELCOME_EMAIL", "api_transactions_csv", "documented_header", "documented_transactions_csv", "eastern",
           "export_type"]

#: The reference time zone of ENS's export files ("The reference timezone for this service is US/Eastern").
EASTERN = ZoneInfo("US/Eastern")
#: How many ``Campaign Data N`` columns the sandbox writes (the food bank reads 12 as the gateway's name).
DATA_COLUMNS = 12
#: The tagged supporter fields written after the transaction columns ("standardcsv"/hybrid formats).
TAGGED_FIELDS = ("Email Address", "Title", "First Name", "Last Name")
#: The documented transaction columns an account renamed, in the ``renamed`` variant.
RENAMED = {"Supporter Email": "Email", "Date Created": "Created", "Campaign Data 1": "EN Transaction ID"}
#: The automation email new newsletter sign-ups receive the day after (an ``MBC`` row per engagement).
WELCOME_EMAIL = (30_101, "Welcome Series - Email 1")
#: Account-level peer-to-peer site rows (``PSTE``): ``Supporter ID`` 0, no email.
ACCOUNT_ROWS = ((40_001, "Runaround Challenge", dt.datetime(2025, 3, 9, 14, 0, 0, tzinfo=dt.UTC)),
                (40_001, "Runaround Challenge", dt.datetime(2025, 11, 2, 18, 53, 2, tzinfo=dt.UTC)),
                (40_002, "Winter Swim ", dt.datetime(2026, 1, 12, 16, 30, 0, tzinfo=dt.UTC)))
#: This project's older style: the transaction list's keys, ``supporterId`` first.
TRANSACTION_COLUMNS = ("supporterId", "id", "type", "subtype", "name", "campaignId", "createdOn", "createdDate",
                       "xref1", "xref2", "txType", "recurringPayment", "status", "amount", "currency", "broadcastId")
_QUESTION_TYPE = {"OPT": "QCB", "CONF": "CQS", "GEN": "QMR"}
_PAGE_TYPE = {"DCF": "DCF", "PET": "PET", "EMS": "EMS", "UNSUB": "UNS", "SURVEY": "SUR"}


def eastern(moment_ms: int) -> tuple[str, str]:
    """An instant (epoch ms) as the export writes it: ``Campaign Date`` and ``Campaign Time`` in US/Eastern."""
    local = dt.datetime.fromtimestamp(moment_ms / 1000, dt.UTC).astimezone(EASTERN)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def export_type(tx: dict[str, Any]) -> str:
    """The export's type code for a transaction the sandbox keeps in the REST list's shape."""
    kind = str(tx.get("type", ""))
    if kind == "EMAIL":
        return "EBC"
    if kind == "nd":
        return "FCR" if tx.get("txType") == "CREDIT_RECURRING" else "FCS"
    if kind == "et":
        return "ETT"
    if kind == "dc":
        return _PAGE_TYPE.get(str(tx.get("subtype", "")), str(tx.get("subtype", "")).upper())
    return kind.upper()


def documented_header(state: ENSState) -> list[str]:
    """The header the variant's transaction file has."""
    header = ["Account ID", "Supporter ID", "Supporter Email", "Date Created", "Date Modified", "Campaign Number",
              "Campaign Type", "Campaign ID", "Campaign Date", "Campaign Time", "Campaign Status",
              *[f"Campaign Data {n}" for n in range(1, DATA_COLUMNS + 1)]]
    style = state.variant.transaction_file
    if style == "renamed":
        header = [RENAMED.get(name, name) for name in header]
    elif style == "user-data":
        header = [{"Supporter Email": "Email"}.get(name, name) for name in header if name != "Supporter ID"]
    return [*header, *[f for f in TAGGED_FIELDS if not (style == "user-data" and f == "Email Address")], ""]


def _data(*values: object) -> list[str]:
    cells = ["" if v is None else str(v) for v in values]
    return [*cells, *[""] * (DATA_COLUMNS - len(cells))]


def _rows(state: ENSState, rec: SupporterRecord) -> Iterator[tuple[int, int, str, int | str, str, str, list[str]]]:
    """The supporter's rows: ``(epoch ms, order, type, number, name, status, data)``, unsorted."""
    for tx in state.history(rec):
        kind = export_type(tx)
        when = int(tx["createdDate"])
        if kind == "EBC":
            yield when, 0, kind, tx["campaignId"], tx["name"], "R", _data(tx.get("broadcastId"), "received")
            rng = random.Random(f"engage-{tx['id']}")
            if rng.random() < 0.45:
                yield when + rng.randint(600, 86_400) * 1000, 0, kind, tx["campaignId"], tx["name"], "R", \
                    _data(tx.get("broadcastId"), "open")
                if rng.random() < 0.3:
                    yield when + 90_000_000, 0, kind, tx["campaignId"], tx["name"], "R", \
                        _data(tx.get("broadcastId"), "click")
        elif kind in ("FCS", "FCR"):
            amount = float(tx.get("amount") or 0)
            yield when, 1, kind, tx["campaignId"], tx["name"], str(tx.get("status") or "success"), \
                _data(tx["id"], f"ch_{tx['id']}", "Approved", f"{amount:.1f}", tx.get("currency", ""), "VI",
                      "", "", "", "", "", "Test Gateway")
        elif kind == "ETT":
            yield when, 1, kind, tx["campaignId"], tx["name"], "", _data(tx.get("xref1", ""), tx.get("xref2", ""))
        else:
            yield when, 1, kind, tx["campaignId"], tx["name"], "", _data()
    created = int(rec.created.timestamp() * 1000)
    if rec.source_page in (100, 102) and not rec.api_created:
        welcome = created + 86_400_000
        if welcome <= state.now_ms():
            yield welcome, 0, "MBC", WELCOME_EMAIL[0], WELCOME_EMAIL[1], "R", _data(1, "received")
    if rec.api_created or rec.supporter_id % 9 == 0:  # created through the API (POST /supporter), any page after
        yield created, -1, "SSC", "", "", "", _data()
    by_id = state.account.question_by_id
    unsubscribe = state.pages[103]
    for qid, answer, when in state.answer_history(rec):
        question = by_id[qid]
        yield when, 2, _QUESTION_TYPE[question.type], qid, question.name, answer, _data()
        if qid == 4512 and answer == "N" and rec.earlier_answers.get(qid):  # opted out through the page
            yield when, 2, "UNS", unsubscribe.campaign_id, unsubscribe.name, "", _data()


def documented_transactions_csv(state: ENSState, query: str) -> bytes:
    """The "Transaction" export file in the documented layout (or its ``renamed``/``user-data`` variants).

    One row per transaction, engagement and answer of the query's supporters, in time order per
    supporter, then the account-level rows (``Supporter ID`` 0).
    """
    from .ens_export import in_query

    style = state.variant.transaction_file
    fields = [f for f in TAGGED_FIELDS if not (style == "user-data" and f == "Email Address")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(documented_header(state))
    for sid in sorted(state.records):
        rec = state.records[sid]
        if not in_query(rec, query):
            continue
        person = [CLIENT_ID, sid, rec.email, rec.created.date().isoformat(), rec.modified.date().isoformat()]
        if style == "user-data":
            person.pop(1)
        tagged = [rec.fields.get(f, "") for f in fields]
        for when, _, kind, number, name, status, data in sorted(_rows(state, rec), key=lambda r: (r[0], r[1])):
            writer.writerow([*person, number, kind, name, *eastern(when), status, *data, *tagged, ""])
    if query == "All supporters":
        for number, name, moment in ACCOUNT_ROWS:
            person = [CLIENT_ID, 0, "", "", ""]
            if style == "user-data":
                person.pop(1)
            writer.writerow([*person, number, "PSTE", name, *eastern(int(moment.timestamp() * 1000)), "",
                             *_data("site"), *[""] * len(fields), ""])
    return out.getvalue().encode()


def api_transactions_csv(state: ENSState, query: str) -> bytes:
    """The "Transaction" export in this project's older style: the transaction list's keys, ISO ``createdOn``."""
    from .ens_export import in_query

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRANSACTION_COLUMNS)
    for sid in sorted(state.records):
        rec = state.records[sid]
        if not in_query(rec, query):
            continue
        for tx in state.history(rec):  # not kept: an export holds no histories
            moment = dt.datetime.fromtimestamp(int(tx["createdDate"]) / 1000, dt.UTC)
            row: dict[str, Any] = {**tx, "supporterId": sid, "createdOn": moment.date().isoformat()}
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in TRANSACTION_COLUMNS])
    return out.getvalue().encode()
