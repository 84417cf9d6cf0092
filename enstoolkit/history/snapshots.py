"""Daily snapshots of the ENS supporter file and the Encharge people, kept as change intervals.

Each record (an ENS supporter by ``supporterId``, an Encharge person by ``id``) is kept as one
row per version: its fields as JSON text, valid from the day a snapshot first saw it to the day
a later snapshot saw it changed or gone. A day whose record is unchanged adds nothing, so a year
of daily snapshots of a list that changes 0.5% a day keeps about 2.8 versions per record, not 365
copies. Each version says which audit run (if any) saw it, and whether the change was one the
toolkit itself made (its bulk journal wrote to that person since the previous snapshot).

Example:
    >>> from enstoolkit.history.database import open_store
    >>> path = folder / "h.duckdb"
    >>> people = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"], "City": ["X", "Y"]})
    >>> with open_store(path, create=True) as db:
    ...     first = record_snapshot(db, "acct", "ens", people, dt.date(2026, 3, 1))
    ...     later = record_snapshot(db, "acct", "ens", people.with_columns(City=pl.lit("Z")), dt.date(2026, 3, 2))
    ...     before = as_of(db, "acct", dt.date(2026, 3, 1), "ens").get_column("City").to_list()
    >>> (first["added"], later["changed"]), before
    ((2, 2), ['X', 'Y'])
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..inputs.people_args import email_key_expr, find_email_column
from .database import loading
from .errors import BeforeHistory, HistoryError

__all__ = ["KEYS", "SYSTEMS", "as_of", "decode_versions", "first_day", "person_versions", "record_snapshot"]

#: The systems kept, and the column that identifies a record in each.
KEYS = {"ens": "supporterId", "encharge": "id"}
SYSTEMS = tuple(KEYS)


def _system(system: object) -> str:
    if system not in KEYS:
        raise ValidationError("system", system, "'ens' (the supporter file) or 'encharge' (the people)")
    return str(system)


def _day(day: object, argument: str = "day") -> dt.date:
    if isinstance(day, str):
        try:
            return dt.date.fromisoformat(day)
        except ValueError:
            raise ValidationError(argument, day, "a date, e.g. 2026-03-01") from None
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise ValidationError(argument, day, "a date, e.g. datetime.date(2026, 3, 1) or '2026-03-01'")
    return day


def _encode(frame: pl.DataFrame, system: str) -> pl.DataFrame:
    """``record_key``, ``email_key`` and ``record`` (the row's fields as JSON, columns in name order)."""
    key = KEYS[system]
    if key not in frame.columns:
        raise ValidationError("frame", f"columns {frame.columns[:8]}", f"a frame with a {key!r} column ({system})")
    if frame.get_column(key).null_count():
        raise ValidationError("frame", f"{frame.get_column(key).null_count()} rows without {key}",
                              f"every {system} record with its {key}")
    email = find_email_column(frame.columns, argument="frame")
    columns = sorted(frame.columns)
    rows = frame.unique(maintain_order=True) if frame.get_column(key).is_duplicated().any() else frame
    duplicated = rows.filter(pl.col(key).is_duplicated()).get_column(key).unique().sort().cast(pl.String).to_list()
    if duplicated:
        raise ValidationError("frame", f"{key} repeated with different fields: {', '.join(duplicated[:5])}",
                              f"one row per {key} (which of them is the record could not be told)")
    return rows.select(pl.col(key).cast(pl.String).alias("record_key"), email_key_expr(email).alias("email_key"),
                       pl.struct(columns).struct.json_encode().alias("record"))


def _layout(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.clear().select(sorted(frame.columns)).write_ipc(buffer)
    return buffer.getvalue()


def _schema(layout: bytes) -> pl.Schema:
    return pl.read_ipc(io.BytesIO(layout)).schema


def first_day(db: Any, account: str, system: str) -> dt.date | None:
    """The first day kept for that account's system, or None when none is.

    Example:
        >>> from enstoolkit.history.database import open_store
        >>> with open_store(folder / "h.duckdb", create=True) as db:
        ...     first_day(db, "acct", "ens") is None
        True
    """
    row = db.execute("SELECT min(day) FROM snapshots WHERE account = ? AND system = ?", [account, system]).fetchall()[0]
    return row[0] if row else None


def record_snapshot(db: Any, account: str, system: str, frame: pl.DataFrame, day: dt.date | str, *,
                    run_id: str | None = None, toolkit_keys: Iterable[str] = ()) -> dict[str, Any]:
    """Keep ``frame`` as the state of the account's ``system`` on ``day``: only what changed is written.

    A record whose fields differ from its open version closes that version (valid to ``day``) and
    opens a new one; a record no longer in the frame is closed; a new record opens. Keeping the
    same day again replaces what that day had said. A day before the last one kept raises (the
    intervals would cross). ``toolkit_keys`` are the email keys (and supporter ids) the toolkit
    wrote to since the previous snapshot: their changes are marked ``by_toolkit``.

    Returns the counts: ``records``, ``added``, ``changed``, ``removed``.
    """
    system = _system(system)
    day = _day(day)
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError("frame", type(frame).__name__, "a polars DataFrame")
    row = db.execute("SELECT max(day) FROM snapshots WHERE account = ? AND system = ?", [account, system]).fetchall()[0]
    if row and row[0] is not None and row[0] > day:
        raise ValidationError("day", day.isoformat(), f"a day from {row[0]} on (the {system} history of this account "
                              f"has reached {row[0]}; intervals are kept in order)")
    incoming = _encode(frame, system)
    marked = {str(k) for k in toolkit_keys}
    incoming = incoming.with_columns((pl.col("email_key").is_in(sorted(marked)) | pl.col("record_key").is_in(
        sorted(marked))).fill_null(False).alias("by_toolkit"))
    with loading(db, "incoming_rows", incoming):
        db.execute("CREATE OR REPLACE TEMP TABLE cur AS SELECT record_key, record_hash AS h FROM versions "
                   "WHERE account = ? AND system = ? AND valid_to IS NULL", [account, system])
        # keys and hashes only: the records themselves are read once, by the insert (not copied into each step)
        db.execute("CREATE OR REPLACE TEMP TABLE inc AS SELECT record_key, md5_number_lower(record) AS h "
                   "FROM incoming_rows")
        db.execute("CREATE OR REPLACE TEMP TABLE fresh AS SELECT i.record_key, i.h, c.record_key IS NOT NULL AS known "
                   "FROM inc i LEFT JOIN cur c USING (record_key) WHERE c.record_key IS NULL OR c.h <> i.h")
        db.execute("CREATE OR REPLACE TEMP TABLE gone AS SELECT c.record_key FROM cur c "
                   "LEFT JOIN inc i USING (record_key) WHERE i.record_key IS NULL")
        db.execute("UPDATE versions SET valid_to = ? WHERE account = ? AND system = ? AND valid_to IS NULL AND "
                   "record_key IN (SELECT record_key FROM fresh WHERE known UNION ALL SELECT record_key FROM gone)",
                   [day, account, system])
        db.execute("INSERT INTO versions SELECT ?, ?, n.record_key, n.email_key, ?, NULL, ?, n.by_toolkit AND f.known, "
                   "n.record, f.h FROM incoming_rows n JOIN fresh f USING (record_key)", [account, system, day, run_id])
        db.execute("DELETE FROM versions WHERE account = ? AND system = ? AND valid_from = valid_to",
                   [account, system])
        added, changed = db.execute("SELECT count(*) FILTER (NOT known), count(*) FILTER (known) "
                                    "FROM fresh").fetchall()[0]
        removed = db.execute("SELECT count(*) FROM gone").fetchall()[0][0]
        db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [account, system, day, run_id, incoming.height, added, changed, removed, _layout(frame)])
    return {"system": system, "day": day, "records": incoming.height, "added": int(added), "changed": int(changed),
            "removed": int(removed)}


def decode_versions(records: list[str], layout: bytes) -> pl.DataFrame:
    """Kept versions (their encoded records) as a frame with the columns of the snapshot layout they were kept in."""
    schema = _schema(layout)
    if not records:
        return pl.DataFrame([], schema=schema)
    return pl.read_ndjson(io.BytesIO("\n".join(records).encode()), schema=schema)


def as_of(db: Any, account: str, day: dt.date | str, system: str, *, email: str | None = None) -> pl.DataFrame:
    """The account's ``system`` as it was on ``day`` (every record valid that day), in the layout kept then.

    ``email`` narrows it to that person's records (trimmed, lowercased). A day before the first
    snapshot of that system raises :class:`BeforeHistory`; a system never kept raises
    :class:`HistoryError`: never an empty frame that would read as "nobody".
    """
    system = _system(system)
    day = _day(day)
    first = first_day(db, account, system)
    if first is None:
        raise HistoryError(f"no {system} snapshot has been kept for this account (record_snapshot, or "
                           "`enstoolkit audit`, keeps one)")
    if day < first:
        raise BeforeHistory(day, first)
    layout = db.execute("SELECT layout FROM snapshots WHERE account = ? AND system = ? AND day <= ? "
                        "ORDER BY day DESC LIMIT 1", [account, system, day]).fetchall()[0][0]
    if email is not None:  # by the email's index first (one person: a few rows), then the rest of the filter
        rows = db.execute("SELECT account, system, valid_from, valid_to, record_key, record FROM versions "
                          "WHERE email_key = ?", [_email_key(email)]).fetchall()
        records = [r[5] for r in sorted(rows, key=lambda r: r[4]) if r[0] == account and r[1] == system
                   and r[2] <= day and (r[3] is None or r[3] > day)]
    else:
        records = [r[0] for r in db.execute(
            "SELECT record FROM versions WHERE account = ? AND system = ? AND valid_from <= ? "
            "AND (valid_to IS NULL OR valid_to > ?) ORDER BY record_key", [account, system, day, day]).fetchall()]
    key = KEYS[system]
    frame = decode_versions(records, layout)
    return frame.sort(key) if key in frame.columns else frame


def _email_key(email: object) -> str:
    if not isinstance(email, str) or "@" not in email:
        raise ValidationError("email", email, "an email address, e.g. 'jo@example.org'")
    return email.strip().lower()


def _changes(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    if before is None:
        return "first seen"
    changed = [f"{name}: {before.get(name)!r} -> {after.get(name)!r}" for name in sorted(set(before) | set(after))
               if before.get(name) != after.get(name)]
    return "; ".join(changed) if changed else "no field changed (the file's columns changed)"


def person_versions(db: Any, account: str, email: str) -> pl.DataFrame:
    """Every version of every record that ever had this email, in both systems, oldest first.

    Columns: ``system``, ``record_key``, ``valid_from``, ``valid_to`` (null: still so), ``seen_by``
    (the audit run that kept it, else "snapshot of <day>"), ``by_toolkit``, ``changes`` (field:
    old -> new, "first seen", or "gone" for the day it left) and ``record`` (the fields, JSON).
    """
    key = _email_key(email)
    # the indexes answer one column each: the records that ever had this email, then each record's versions
    records = {(r[1], r[2]) for r in db.execute("SELECT account, system, record_key FROM versions WHERE email_key = ?",
                                                [key]).fetchall() if r[0] == account}
    rows = []
    for record_key in sorted({k for _, k in records}):
        rows += [r[1:] for r in db.execute(
            "SELECT account, system, record_key, valid_from, valid_to, seen_run, by_toolkit, record FROM versions "
            "WHERE record_key = ?", [record_key]).fetchall() if r[0] == account and (r[1], r[2]) in records]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    out: list[dict[str, Any]] = []
    previous: dict[tuple[str, str], dict[str, Any]] = {}
    for system, record_key, valid_from, valid_to, seen_run, by_toolkit, record in rows:
        fields = json.loads(record)
        out.append({"system": system, "record_key": record_key, "valid_from": valid_from, "valid_to": valid_to,
                    "seen_by": seen_run or f"snapshot of {valid_from}", "by_toolkit": by_toolkit,
                    "changes": _changes(previous.get((system, record_key)), fields), "record": record})
        previous[(system, record_key)] = fields
    schema = {"system": pl.String(), "record_key": pl.String(), "valid_from": pl.Date(), "valid_to": pl.Date(),
              "seen_by": pl.String(), "by_toolkit": pl.Boolean(), "changes": pl.String(), "record": pl.String()}
    return pl.DataFrame(out, schema=schema, orient="row") if out else pl.DataFrame([], schema=schema)
