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
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from ._fork import halves
from ._packed import pack, pack_rows, unpack
from .account import Draws
from .data import CLIENT_ID, SupporterRecord
from .ens_state import ENSState

__all__ = ["ACCOUNT_ROWS", "DATA_COLUMNS", "EASTERN", "RENAMED", "TAGGED_FIELDS", "TRANSACTION_COLUMNS",
           "WELCOME_EMAIL", "api_transactions_csv", "documented_header", "documented_transactions_csv", "eastern",
           "export_type", "start_documented_transactions"]

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


#: One row of the file before it is formatted: ``(epoch ms, order, type, number, name, status, data 1, data 2,
#: data 4, data 5)``; a gift's other data columns (3, 6 and 12) follow from its type.
_Row = tuple[int, int, str, int | str, str, str, str, str, str, str]
_GIFTS = ("FCS", "FCR")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _rows(state: ENSState, rec: SupporterRecord, now_ms: int) -> list[_Row]:
    """The supporter's rows (see ``_Row``) as of ``now_ms`` (the sandbox clock), unsorted, in the order they are
    made."""
    out: list[_Row] = []
    add = out.append
    for tx in state.history(rec):
        kind = export_type(tx)
        when = int(tx["createdDate"])
        number, name = tx["campaignId"], tx["name"]
        if kind == "EBC":
            broadcast = _text(tx.get("broadcastId"))
            add((when, 0, kind, number, name, "R", broadcast, "received", "", ""))
            rng = random.Random(f"engage-{tx['id']}")
            if rng.random() < 0.45:
                add((when + rng.randint(600, 86_400) * 1000, 0, kind, number, name, "R", broadcast, "open", "", ""))
                if rng.random() < 0.3:
                    add((when + 90_000_000, 0, kind, number, name, "R", broadcast, "click", "", ""))
        elif kind in _GIFTS:
            amount = float(tx.get("amount") or 0)
            add((when, 1, kind, number, name, str(tx.get("status") or "success"), str(tx["id"]), f"ch_{tx['id']}",
                 f"{amount:.1f}", _text(tx.get("currency", ""))))
        elif kind == "ETT":
            add((when, 1, kind, number, name, "", _text(tx.get("xref1", "")), _text(tx.get("xref2", "")), "", ""))
        else:
            add((when, 1, kind, number, name, "", "", "", "", ""))
    created = int(rec.created.timestamp() * 1000)
    if rec.source_page in (100, 102) and not rec.api_created:
        welcome = created + 86_400_000
        if welcome <= now_ms:
            add((welcome, 0, "MBC", WELCOME_EMAIL[0], WELCOME_EMAIL[1], "R", "1", "received", "", ""))
    if rec.api_created or rec.supporter_id % 9 == 0:  # created through the API (POST /supporter), any page after
        add((created, -1, "SSC", "", "", "", "", "", "", ""))
    by_id = state.account.question_by_id
    unsubscribe = state.pages[103]
    for qid, answer, when in state.answer_history(rec):
        question = by_id[qid]
        add((when, 2, _QUESTION_TYPE[question.type], qid, question.name, answer, "", "", "", ""))
        if qid == 4512 and answer == "N" and rec.earlier_answers.get(qid):  # opted out through the page
            add((when, 2, "UNS", unsubscribe.campaign_id, unsubscribe.name, "", "", "", "", ""))
    return out


def _rows_of(state: ENSState, records: Sequence[SupporterRecord], first: int, now_ms: int
             ) -> tuple[list[int], list[_Row]]:
    """The rows of these supporters, and each row's supporter as its place (from ``first``) in the file."""
    owner: list[int] = []
    rows: list[_Row] = []
    for place, rec in enumerate(records, first):
        made = _rows(state, rec, now_ms)
        owner += [place] * len(made)
        rows += made
    return owner, rows


#: A part's rows as columns, as a forked child hands them back: the owners, then the columns of ``_Row``
#: (the campaign number as text), packed (:func:`~enstoolkit.sandbox._packed.pack`).
_Packed = list[str | list[Any]]
_SCHEMA: dict[str, Any] = {"owner": pl.Int64, "when": pl.Int64, "order": pl.Int64, "Campaign Type": pl.String,
                           "Campaign Number": pl.String, "Campaign ID": pl.String, "Campaign Status": pl.String,
                           "d1": pl.String, "d2": pl.String, "d4": pl.String, "d5": pl.String}


def _pack(owner: list[int], rows: list[_Row]) -> _Packed:
    """Rows (and their supporters' places) as :data:`_Packed` columns."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * 10
    columns[3] = [str(n) for n in columns[3]]
    return pack([owner, *columns])


def _columns(packed: _Packed) -> pl.DataFrame:
    """:func:`_pack`'s columns as a frame; ``seq`` keeps the order the rows were made in, which orders a
    supporter's rows of the same time (one supporter's rows are all in one part)."""
    frame = unpack(packed, _SCHEMA)
    return frame.insert_column(1, pl.int_range(frame.height, eager=True, dtype=pl.Int64).alias("seq"))


def _blank(name: str) -> pl.Expr:
    """The column with empty text as null: polars writes null as nothing and quotes an empty text, the csv
    module writes an empty text as nothing."""
    return pl.when(pl.col(name) != "").then(pl.col(name)).alias(name)


def documented_transactions_csv(state: ENSState, query: str) -> bytes:
    """The "Transaction" export file in the documented layout (or its ``renamed``/``user-data`` variants).

    One row per transaction, engagement and answer of the query's supporters, in time order per
    supporter, then the account-level rows (``Supporter ID`` 0). Each supporter's rows are made in
    Python (their random streams are the supporter's own); the times in US/Eastern, the order and
    the CSV are made by polars over whole columns.
    """
    return start_documented_transactions(state, query)()


def start_documented_transactions(state: ENSState, query: str) -> Callable[[], bytes]:
    """Start :func:`documented_transactions_csv`'s file: the account as it is now, the CSV when the result is called.

    The supporters' rows are made here, or, for a large account, by two forked children, which see the
    account as it is at this moment (an export job's file holds the account as it was when the job ran,
    whatever is written meanwhile) while this process goes on serving. The returned function waits for
    them and makes the file (polars over whole columns); it may run in another thread.
    """
    from .ens_export import in_query

    style = state.variant.transaction_file
    fields = [f for f in TAGGED_FIELDS if not (style == "user-data" and f == "Email Address")]
    chosen = [state.records[sid] for sid in sorted(state.records) if in_query(state.records[sid], query)]
    now_ms = state.now_ms()  # one moment for the whole file (read here: a forked child takes no locks)
    parts = halves(partial(_rows_and_draws, state, now_ms=now_ms, fields=fields), chosen)
    return partial(_finish_documented, state, query, fields, parts)


def _people(records: Sequence[SupporterRecord], fields: list[str]) -> _Packed:
    """The supporter columns of these supporters' rows (id, email, the dates, the tagged fields), packed."""
    rows = [(str(rec.supporter_id), rec.email, rec.created.date().isoformat(), rec.modified.date().isoformat(),
             *[rec.fields.get(f, "") for f in fields]) for rec in records]
    return pack_rows(rows, 4 + len(fields))


def _rows_and_draws(state: ENSState, records: Sequence[SupporterRecord], first: int, *, now_ms: int,
                    fields: list[str]) -> tuple[_Packed, _Packed, Draws]:
    """:func:`_rows_of` packed, the supporters' own columns (:func:`_people`), and the draws made for them (a
    forked child hands them back with its rows)."""
    return _pack(*_rows_of(state, records, first, now_ms)), _people(records, fields), state.account.draws()


def _finish_documented(state: ENSState, query: str, fields: list[str],
                       parts: list[Callable[[], tuple[_Packed, _Packed, Draws]]]) -> bytes:
    """The file of :func:`start_documented_transactions` from its parts' rows (waited for in order).

    Each part's rows are written as soon as the part is in (a part is a run of whole supporters, in the
    file's order), while the next part may still be being made.
    """
    style = state.variant.transaction_file
    string = pl.String
    person_schema = {c: string for c in ["Supporter ID", "Supporter Email", "Date Created", "Date Modified",
                                         *[f"tag {f}" for f in fields]]}
    local = pl.from_epoch(pl.col("when"), time_unit="ms").dt.replace_time_zone("UTC").dt.convert_time_zone(
        str(EASTERN.key))
    gift = pl.col("Campaign Type").is_in(_GIFTS)
    data = {n: pl.lit(None, string) for n in range(1, DATA_COLUMNS + 1)}
    data.update({1: pl.col("d1"), 2: pl.col("d2"), 3: pl.when(gift).then(pl.lit("Approved")),
                 4: pl.col("d4"), 5: pl.col("d5"), 6: pl.when(gift).then(pl.lit("VI"))})
    if DATA_COLUMNS >= 12:
        data[12] = pl.when(gift).then(pl.lit("Test Gateway"))
    columns = [
        pl.lit(str(CLIENT_ID)).alias("Account ID"),
        *([] if style == "user-data" else [pl.col("Supporter ID")]),
        "Supporter Email", "Date Created", "Date Modified", "Campaign Number", "Campaign Type", "Campaign ID",
        local.dt.strftime("%Y-%m-%d").alias("Campaign Date"), local.dt.strftime("%H:%M:%S").alias("Campaign Time"),
        "Campaign Status", *[expr.alias(f"Campaign Data {n}") for n, expr in sorted(data.items())],
        *[pl.col(f"tag {f}") for f in fields], pl.lit(None, string).alias("end"),
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(documented_header(state))
    file = io.BytesIO(out.getvalue().encode())
    file.seek(0, io.SEEK_END)
    first = 0  # the place in the file of the part's first supporter
    for part in parts:
        packed, supporters, draws = part()
        state.account.keep_draws(draws)  # a child's draws, so that the supporter file need not make them again
        frame = _columns(packed).sort("owner", "when", "order", "seq")  # each supporter's rows in time order
        person = unpack(supporters, person_schema)
        del packed, supporters
        if frame.height:
            body = pl.concat([frame, person[frame.get_column("owner") - first]], how="horizontal").select(columns)
            # after what is written, as bytes: no copy of the text made
            body.with_columns(_blank(c) for c in body.columns).write_csv(file, include_header=False)
        first += person.height
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if query == "All supporters":
        for number, name, moment in ACCOUNT_ROWS:
            who: list[object] = [CLIENT_ID, 0, "", "", ""]
            if style == "user-data":
                who.pop(1)
            writer.writerow([*who, number, "PSTE", name, *eastern(int(moment.timestamp() * 1000)), "",
                             *_data("site"), *[""] * len(fields), ""])
    file.write(out.getvalue().encode())
    return file.getvalue()


def api_transactions_csv(state: ENSState, query: str) -> bytes:
    """The "Transaction" export in this project's older style: the transaction list's keys, ISO ``createdOn``.
    """
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
