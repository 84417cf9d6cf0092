"""Suppression requests: loaded from a file, checked, kept (matched or not) with their deadlines, reported.

A request file (an FPS download, a deceased screening file, requests taken by phone or post)
has per row an email and/or a name and address, a channel and the date received. Each file is
loaded with its ``source`` ("fps", "deceased", "phone", "post", "email"), which sets the
deadline: 21 days for the Fundraising Preference Service, :data:`DEADLINE_DAYS` for the others
(``deadline_days=`` changes it).

What is wrong with a file stops it with an error naming what to do: another encoding
(``encoding=``), missing columns (``columns={"Their name": "email"}``). What is wrong with a
row makes it a ``review`` row, kept and counted, never a silent skip: no email and no name with
an address, an unknown channel, a date that cannot be read or lies in the future. The same
person twice (same email, or same name at the same postcode) is kept as a ``duplicate_of`` the
first, acted on once.

Every request is kept (:class:`RequestStore`, in the data folder) with its deadline; the
suppression run marks it met. :func:`request_report` says per request met, pending (with days
left) or overdue.

Example:
    >>> import io
    >>> text = "Email,Name,Address,Channel,Date Received\\nana@x.org,Ana Miller,LS1 4AB,email,2026-10-01\\n"
    >>> frame = load_requests(io.BytesIO(text.encode()), source="fps", today=dt.date(2026, 10, 5))
    >>> frame.select("email", "channel", "deadline", "problem").row(0)
    ('ana@x.org', 'email', datetime.date(2026, 10, 22), None)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import is_valid_email
from ..inputs.people_args import email_key
from ..records.paths import data_dir
from .matching import normal_name, normal_postcode

__all__ = ["CHANNELS", "DEADLINE_DAYS", "REQUEST", "SOURCES", "RequestStore", "load_requests", "request_report"]

#: Where requests come from, and the days each allows before it must be met.
DEADLINE_DAYS = {"fps": 21, "deceased": 28, "phone": 28, "post": 28, "email": 28}
SOURCES = tuple(DEADLINE_DAYS)
#: The channels a request can name ("all": every channel).
CHANNELS = ("email", "post", "phone", "sms", "all")
_ALIASES = {
    "email": ("email", "email address", "emailaddress", "e-mail", "supporter email"),
    "name": ("name", "full name", "fullname", "contact name"),
    "first_name": ("first name", "firstname", "forename"),
    "last_name": ("last name", "lastname", "surname"),
    "address": ("address", "address 1", "address1", "postal address", "street"),
    "postcode": ("postcode", "post code", "postal code", "zip", "zip code"),
    "channel": ("channel", "preference", "suppression channel", "channels"),
    "received": ("date received", "received", "received on", "date", "request date", "datereceived"),
}
#: The columns of a loaded request frame.
REQUEST: dict[str, pl.DataType] = {
    "request_id": pl.String(), "source": pl.String(), "row": pl.Int64(), "email": pl.String(), "name": pl.String(),
    "address": pl.String(), "postcode": pl.String(), "channel": pl.String(), "received": pl.Date(),
    "deadline": pl.Date(), "problem": pl.String(), "duplicate_of": pl.String(),
}


def _read_text(data: str | Path | BinaryIO | bytes, encoding: str) -> str:
    raw = data if isinstance(data, bytes) else data.read() if hasattr(data, "read") else Path(data).read_bytes()
    if isinstance(raw, str):
        return raw
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") and not encoding.lower().startswith("utf-16"):
        raise ValidationError("encoding", encoding, "the file's encoding: it starts with a UTF-16 mark "
                              "(encoding='utf-16')")
    try:
        return raw.decode("utf-8-sig" if encoding.lower().replace("-", "") == "utf8" else encoding)
    except UnicodeDecodeError as exc:
        raise ValidationError("encoding", encoding, "the file's encoding (e.g. encoding='cp1252' for a Windows "
                              "spreadsheet, 'latin-1')", detail=f"byte {raw[exc.start:exc.start + 1]!r} at position "
                              f"{exc.start} is not {encoding}") from exc
    except LookupError as exc:
        raise ValidationError("encoding", encoding, "an encoding Python knows (utf-8, cp1252, latin-1, utf-16)") \
            from exc


def _columns(header: list[str], mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Our name -> the file's column."""
    found: dict[str, str] = {}
    for column, ours in (mapping or {}).items():
        if ours not in _ALIASES:
            raise ValidationError("columns", dict(mapping or {}), "a mapping of the file's column -> one of "
                                  + ", ".join(_ALIASES))
        if column not in header:
            raise ValidationError("columns", column, "a column of the file: " + ", ".join(header))
        found[ours] = column
    for ours, names in _ALIASES.items():
        if ours not in found:
            hit = next((c for c in header if c.strip().lower() in names), None)
            if hit is not None:
                found[ours] = hit
    missing = [n for n in ("received",) if n not in found]
    if "email" not in found and "name" not in found and "last_name" not in found:
        missing.insert(0, "email (or name)")
    if missing:
        raise ValidationError("file", header, "a request file with columns for " + ", ".join(missing),
                              detail="map yours with columns={'Their column': 'email' | 'name' | 'address' | "
                                     "'postcode' | 'channel' | 'received'}")
    return found


def _date(text: str) -> dt.date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%d %B %Y",
                "%d %b %Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def load_requests(data: str | Path | BinaryIO | bytes | pl.DataFrame, *, source: str, encoding: str = "utf-8",
                  columns: Mapping[str, str] | None = None, channel: str | None = None,
                  deadline_days: int | None = None, today: dt.date | None = None) -> pl.DataFrame:
    """A request file as a frame (:data:`REQUEST`), every row kept; problems in ``problem`` (see the module).

    Args:
        data: a CSV file (path, bytes or binary file) or a frame of text columns.
        source: one of :data:`SOURCES` (sets the deadline).
        encoding: the file's encoding.
        columns: the file's column -> ours ("email", "name", "first_name", "last_name", "address",
            "postcode", "channel", "received"), for names not recognised.
        channel: the channel of every row, when the file has no channel column (e.g. "all" for
            deceased screening).
        deadline_days: days allowed (default from :data:`DEADLINE_DAYS`).
        today: the day future dates are judged by (default: today, UTC).
    """
    if source not in DEADLINE_DAYS:
        raise ValidationError("source", source, "one of " + ", ".join(SOURCES))
    if channel is not None and channel not in CHANNELS:
        raise ValidationError("channel", channel, "one of " + ", ".join(CHANNELS))
    days = DEADLINE_DAYS[source] if deadline_days is None else deadline_days
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ValidationError("deadline_days", deadline_days, "a whole number of days, 1 or more")
    if isinstance(data, pl.DataFrame):
        frame = data.cast(dict.fromkeys(data.columns, pl.String()))
    else:
        text = _read_text(data, encoding)
        try:
            frame = pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=False)
        except pl.exceptions.ComputeError as exc:
            raise ValidationError("data", "the file", "a CSV file with a header row", detail=str(exc)[:200]) \
                from exc
    names = _columns(frame.columns, columns)
    if "channel" not in names and channel is None:
        raise ValidationError("channel", None, "a channel column in the file, or channel= one of "
                              + ", ".join(CHANNELS) + " for every row")
    today = today or dt.datetime.now(dt.UTC).date()
    rows: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for n, raw in enumerate(frame.iter_rows(named=True), start=1):
        def get(ours: str, raw: dict[str, Any] = raw) -> str:
            return str(raw.get(names[ours]) or "").strip() if ours in names else ""

        name = get("name") or " ".join(x for x in (get("first_name"), get("last_name")) if x)
        address, email = get("address"), get("email")
        postcode = normal_postcode(get("postcode") or address)
        wanted = (get("channel") or channel or "").lower()
        received = _date(get("received")) if get("received") else None
        problems = []
        if email and not is_valid_email(email):
            problems.append(f"email {email!r} is not an address")
        if not email and not (name and postcode):
            problems.append("no email, and no name with a postcode: nobody can be matched")
        if wanted not in CHANNELS:
            problems.append(f"channel {wanted or 'missing'!r}: expected one of {', '.join(CHANNELS)}")
        if received is None:
            problems.append(f"date received {get('received') or 'missing'!r} cannot be read (use YYYY-MM-DD)")
        elif received > today:
            problems.append(f"date received {received.isoformat()} is in the future")
        identity = f"{source}|{email_key(email)}|{normal_name(name)}|{postcode}|{wanted}|{received}"
        request_id = f"{source}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"
        person = f"e:{email_key(email)}" if email else f"n:{normal_name(name)}|{postcode}"
        duplicate = seen.get(person + "|" + wanted)
        if duplicate is None:
            seen[person + "|" + wanted] = request_id
        rows.append({"request_id": request_id if duplicate is None or duplicate != request_id else f"{request_id}-{n}",
                     "source": source, "row": n, "email": email_key(email) or None, "name": name or None,
                     "address": address or None, "postcode": postcode or None, "channel": wanted or None,
                     "received": received, "deadline": received + dt.timedelta(days=days) if received else None,
                     "problem": "; ".join(problems) or None, "duplicate_of": duplicate})
    return pl.DataFrame(rows, schema=REQUEST) if rows else pl.DataFrame(schema=REQUEST)


_TABLE = ("CREATE TABLE IF NOT EXISTS requests (request_id TEXT PRIMARY KEY, source TEXT, row INTEGER, email TEXT, "
          "name TEXT, address TEXT, postcode TEXT, channel TEXT, received TEXT, deadline TEXT, problem TEXT, "
          "duplicate_of TEXT, loaded_at INTEGER, met_at INTEGER, outcome TEXT, run_id TEXT)")
_STORED = {**REQUEST, "met": pl.Date(), "outcome": pl.String(), "run_id": pl.String()}


class RequestStore:
    """Every suppression request received, matched or not, and when each was met (``protection.sqlite3``).

    The requests hold the personal data needed to meet them (email, name, address); tombstones
    hold only salted hashes.

    Example:
        >>> import tempfile, io
        >>> store = RequestStore(tempfile.mkdtemp())
        >>> text = "email,channel,received\\nana@x.org,email,2026-10-01\\n"
        >>> store.add(load_requests(io.BytesIO(text.encode()), source="fps", today=dt.date(2026, 10, 2)))
        1
        >>> store.read().select("email", "met").row(0)
        ('ana@x.org', None)
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else data_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "protection.sqlite3"
        with sqlite3.connect(self.path) as db:
            db.execute(_TABLE)

    def add(self, requests: pl.DataFrame) -> int:
        """Keep requests (a request already kept is not added again); how many were new."""
        now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        rows = [(r["request_id"], r["source"], r["row"], r["email"], r["name"], r["address"], r["postcode"],
                 r["channel"], str(r["received"]) if r["received"] else None,
                 str(r["deadline"]) if r["deadline"] else None, r["problem"], r["duplicate_of"], now)
                for r in requests.iter_rows(named=True)]
        with sqlite3.connect(self.path) as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO requests (request_id, source, row, email, name, address, postcode, "
                           "channel, received, deadline, problem, duplicate_of, loaded_at) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            return db.total_changes - before

    def mark_met(self, outcomes: Mapping[str, str], *, run_id: str | None, when: dt.date | None = None) -> int:
        """Mark requests met (request id -> what was done); a request met already keeps its first date."""
        day = (when or dt.datetime.now(dt.UTC).date()).toordinal()
        with sqlite3.connect(self.path) as db:
            before = db.total_changes
            db.executemany("UPDATE requests SET met_at = ?, outcome = ?, run_id = ? WHERE request_id = ? "
                           "AND met_at IS NULL", [(day, text, run_id, rid) for rid, text in outcomes.items()])
            return db.total_changes - before

    def read(self) -> pl.DataFrame:
        """Every request kept, in the order received."""
        with sqlite3.connect(self.path) as db:
            rows = db.execute("SELECT request_id, source, row, email, name, address, postcode, channel, received, "
                              "deadline, problem, duplicate_of, met_at, outcome, run_id FROM requests "
                              "ORDER BY received, loaded_at, row").fetchall()
        out = []
        for r in rows:
            out.append(dict(zip(_STORED, (*r[:8], dt.date.fromisoformat(r[8]) if r[8] else None,
                                          dt.date.fromisoformat(r[9]) if r[9] else None, r[10], r[11],
                                          dt.date.fromordinal(r[12]) if r[12] else None, r[13], r[14]),
                                strict=True)))
        return pl.DataFrame(out, schema=_STORED) if out else pl.DataFrame(schema=_STORED)

    def for_email(self, email: str) -> pl.DataFrame:
        """The requests naming this address (without case)."""
        frame = self.read()
        return frame.filter(pl.col("email") == email_key(email))


def request_report(requests: pl.DataFrame | RequestStore | None = None, *, today: dt.date | None = None
                   ) -> pl.DataFrame:
    """Each request's deadline status: ``met`` (on time or late), ``pending`` (days left) or ``overdue``.

    Columns added: ``status``, ``days_left`` (negative when overdue; null when met), ``met_late``.
    A request with a problem (a review row) stays pending until it is settled.

    Example:
        >>> frame = pl.DataFrame({"request_id": ["a", "b"], "deadline": [dt.date(2026, 10, 22)] * 2,
        ...                       "met": [dt.date(2026, 10, 3), None]})
        >>> request_report(frame, today=dt.date(2026, 10, 25)).select("status", "days_left").rows()
        [('met', None), ('overdue', -3)]
    """
    frame = (requests.read() if isinstance(requests, RequestStore) else
             RequestStore().read() if requests is None else requests)
    today = today or dt.datetime.now(dt.UTC).date()
    left = (pl.col("deadline") - pl.lit(today)).dt.total_days()
    return frame.with_columns(
        pl.when(pl.col("met").is_not_null()).then(pl.lit("met"))
        .when(pl.col("deadline").is_null() | (left >= 0)).then(pl.lit("pending"))
        .otherwise(pl.lit("overdue")).alias("status"),
        pl.when(pl.col("met").is_null()).then(left).otherwise(None).cast(pl.Int64).alias("days_left"),
        (pl.col("met") > pl.col("deadline")).alias("met_late"),
    )
