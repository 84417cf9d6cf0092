"""When people unsubscribed in Encharge, as far as recorded events tell, kept across runs.

Encharge's person records carry no unsubscribe date, and a consent plan may opt someone out in
ENS only when their Encharge unsubscribe is known to be newer than their ENS opt-in answer. The
dates come from events: Encharge's webhooks (:class:`~enstoolkit.encharge.Listener`) or the
changes :func:`enstoolkit.encharge.poll_events` finds (``enstoolkit watch --out events.csv``).

Each date is the *earliest* moment the unsubscribe can have happened, so that an ENS answer given
after it is never taken for older:

- a poll's ``unsubscribedUser`` carries ``notBefore`` in its payload, the moment of the poll before
  (the person was still subscribed then); one without it (a file written by an earlier version) is
  not dated at all, with a warning;
- a webhook's is when it arrived, less :data:`WEBHOOK_MARGIN` (Encharge sends its webhooks as the change
  happens; the margin covers a delivery that took a while).

A re-subscribe seen afterwards (an ``updatedUser`` whose ``changedFields`` holds ``unsubscribed``, not
set to true) forgets the date; a later unsubscribe is dated again. :func:`unsubscribe_dates` reads a
frame of events; :func:`with_unsubscribe_dates` puts the dates on a people frame for
:func:`~enstoolkit.sync.consent_plan`; :class:`UnsubscribeDates` keeps them in a small SQLite file
per Encharge account, so that :class:`~enstoolkit.sync.ConsentWatch` keeps them when restarted.

Example:
    >>> events = pl.DataFrame({"seq": [1], "eventType": ["unsubscribedUser"], "personId": ["p1"],
    ...                        "receivedAt": [dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)],
    ...                        "eventPayload": ['{"notBefore": "2026-03-02T11:55:00.000Z"}']})
    >>> unsubscribe_dates(events).row(0)
    ('p1', datetime.datetime(2026, 3, 2, 11, 55, tzinfo=zoneinfo.ZoneInfo(key='UTC')))
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import check_frame, text_flags
from ..records.store import Schema, open_store, transaction
from ..schemas.ens import UTC_MS
from ..schemas.frames import parse_temporal
from .plan import UNSUBSCRIBED_AT

__all__ = ["WEBHOOK_MARGIN", "UnsubscribeDates", "read_event_file", "unsubscribe_changes", "unsubscribe_dates",
           "with_unsubscribe_dates"]

logger = logging.getLogger("enstoolkit.sync")

#: How long before its arrival a webhook's unsubscribe is dated (the earliest it can have been).
WEBHOOK_MARGIN = dt.timedelta(hours=1)
_TRUE = {True, "true", "True", "1"}


def _payload(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            loaded = json.loads(value)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}


def _moment(value: Any, name: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    parsed = parse_temporal([value], UTC_MS, name).item()
    return parsed.astimezone(dt.UTC) if parsed is not None else None


_NO_CHANGE = object()


def _changed(row: Mapping[str, Any], payload: Mapping[str, Any]) -> Any:
    """The new ``unsubscribed`` value an ``updatedUser`` event carries; ``...`` when it names the field without a
    value; :data:`_NO_CHANGE` when the field did not change."""
    fields = row.get("changedFields")
    given = payload.get("changedFields")
    if isinstance(given, Mapping) and "unsubscribed" in given:
        change = given["unsubscribed"]
        return change.get("newValue", ...) if isinstance(change, Mapping) else ...
    if fields is not None and "unsubscribed" in list(fields):
        return ...
    return _NO_CHANGE


def unsubscribe_changes(events: pl.DataFrame) -> list[tuple[str, dt.datetime | None]]:
    """Each unsubscribe the events show, with the earliest moment it can have been, and each re-subscribe
    (``None``), in the events' order: ``(person id, moment)``.

    ``events`` has the columns of :meth:`Listener.events() <enstoolkit.encharge.Listener.events>`
    (``eventType``, ``personId``, ``receivedAt``; ``eventPayload``, ``changedFields`` and ``seq`` when
    there), as the listener, :func:`~enstoolkit.encharge.poll_events` and :func:`read_event_file` give
    them. See the module's description for how each is dated.

    Example:
        >>> at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
        >>> events = pl.DataFrame({"seq": [1, 2], "personId": ["p2", "p2"], "eventType": ["unsubscribedUser",
        ...                        "updatedUser"], "receivedAt": [at, at], "changedFields": [None, ["unsubscribed"]]})
        >>> [(pid, moment and moment.hour) for pid, moment in unsubscribe_changes(events)]
        [('p2', 11), ('p2', None)]
    """
    events = check_frame("events", events, ("eventType", "personId", "receivedAt"),
                         what="a frame of Encharge events (Listener.events(), poll_events)")
    if "seq" in events.columns and events.height:
        events = events.sort("seq", *(["personIndex"] if "personIndex" in events.columns else []),
                             maintain_order=True, nulls_last=True)
    out: list[tuple[str, dt.datetime | None]] = []
    undated = 0
    for row in events.iter_rows(named=True):
        pid = row["personId"]
        if pid is None or str(pid).strip() == "":
            continue
        payload = _payload(row.get("eventPayload"))
        if row["eventType"] == "unsubscribedUser":
            moment = _moment(payload.get("notBefore"), "notBefore")
            if moment is None and (row.get("emailSource") == "snapshot" or payload.get("source") == "poll"):
                undated += 1  # a poll's, without the poll before it (an earlier version's file): not datable
                continue
            if moment is None:
                arrived = _moment(row["receivedAt"], "receivedAt")
                moment = arrived - WEBHOOK_MARGIN if arrived is not None else None
            if moment is not None:
                out.append((str(pid), moment))
        elif row["eventType"] == "updatedUser":
            change = _changed(row, payload)
            if change is not _NO_CHANGE and change not in _TRUE:
                out.append((str(pid), None))  # re-subscribed (or cannot tell): an earlier date no longer holds
    if undated:
        logger.warning("%d unsubscribes found by polls carry no 'notBefore' (written by an earlier version): they "
                       "are not dated, since they may have happened any time after the poll before", undated)
    return out


def unsubscribe_dates(events: pl.DataFrame) -> pl.DataFrame:
    """When each person unsubscribed, as the events tell: ``id``, ``unsubscribedAt`` (UTC), one row each (the
    first unsubscribe since the person's last re-subscribe; see :func:`unsubscribe_changes`).

    Example:
        >>> at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
        >>> events = pl.DataFrame({"seq": [1, 2, 3], "personId": ["p1", "p2", "p2"],
        ...                        "eventType": ["unsubscribedUser", "unsubscribedUser", "updatedUser"],
        ...                        "receivedAt": [at, at, at], "changedFields": [None, None, ["unsubscribed"]]})
        >>> unsubscribe_dates(events).rows()  # p1's webhook, dated an hour before it arrived; p2 re-subscribed
        [('p1', datetime.datetime(2026, 3, 2, 11, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')))]
    """
    dates: dict[str, dt.datetime] = {}
    for pid, moment in unsubscribe_changes(events):
        if moment is None:
            dates.pop(pid, None)
        else:
            dates.setdefault(pid, moment)
    return pl.DataFrame({"id": list(dates), UNSUBSCRIBED_AT: list(dates.values())},
                        schema={"id": pl.String, UNSUBSCRIBED_AT: UTC_MS})


def with_unsubscribe_dates(people: pl.DataFrame, dates: pl.DataFrame) -> pl.DataFrame:
    """``people`` with ``unsubscribedAt`` from ``dates`` (:func:`unsubscribe_dates`), by Encharge id; only for
    people unsubscribed now (a date on a subscribed person would say nothing).

    Example:
        >>> people = pl.DataFrame({"id": ["p1", "p2"], "email": ["a@x.org", "b@x.org"], "unsubscribed": [True, False]})
        >>> dates = pl.DataFrame({"id": ["p1", "p2"], "unsubscribedAt": [dt.datetime(2026, 3, 2, tzinfo=dt.UTC)] * 2})
        >>> with_unsubscribe_dates(people, dates).get_column("unsubscribedAt").dt.date().to_list()
        [datetime.date(2026, 3, 2), None]
    """
    people = check_frame("people", people, ("id", "unsubscribed"), what="a frame of Encharge people (list_people)")
    dates = check_frame("dates", dates, ("id", UNSUBSCRIBED_AT), what="unsubscribe dates (unsubscribe_dates)")
    keyed = dates.select(pl.col("id").cast(pl.String).alias("__id"),
                         pl.col(UNSUBSCRIBED_AT).alias("__at")).unique("__id", keep="first")
    joined = people.with_columns(pl.col("id").cast(pl.String).alias("__id")).join(
        keyed, on="__id", how="left", maintain_order="left")
    status = people.schema["unsubscribed"]
    now_unsubscribed = (text_flags(people, "unsubscribed", "people") if status == pl.String
                        else pl.col("unsubscribed").cast(pl.Boolean)).fill_null(False)
    at: pl.Expr = pl.when(now_unsubscribed).then(pl.col("__at"))
    if UNSUBSCRIBED_AT in people.columns:  # a date already given stands (text is parsed; what is not a date raises)
        given = people.get_column(UNSUBSCRIBED_AT)
        joined = joined.with_columns(
            (given if given.dtype == UTC_MS else parse_temporal(given, UTC_MS, UNSUBSCRIBED_AT)).alias(UNSUBSCRIBED_AT))
        at = pl.coalesce(pl.col(UNSUBSCRIBED_AT), at)
    return joined.with_columns(at.alias(UNSUBSCRIBED_AT)).drop("__id", "__at")


def read_event_file(path: str | Path) -> pl.DataFrame:
    """Recorded events: ``enstoolkit watch --out`` files (``.csv``, ``.parquet``) or a listener's ``.sqlite3``.

    Example:
        >>> from enstoolkit.schemas.frames import empty_frame
        >>> from enstoolkit.schemas.encharge import EVENT
        >>> path = folder / "events.parquet"
        >>> empty_frame(EVENT).write_parquet(path)
        >>> read_event_file(path).height
        0
    """
    file = Path(path)
    if not file.is_file():
        raise ValidationError("path", str(path), "an events file (.csv or .parquet from `enstoolkit watch --out`, "
                              "or a listener's .sqlite3)", "no such file")
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(file)
    if suffix == ".csv":
        frame = pl.read_csv(file, infer_schema=False)
        if "changedFields" in frame.columns:  # written as text: "[a, b]" or JSON
            frame = frame.with_columns(pl.col("changedFields").str.strip_chars("[]").str.replace_all('"', "")
                                       .str.split(",").list.eval(pl.element().str.strip_chars()))
        return frame
    if suffix in (".sqlite3", ".sqlite", ".db"):
        from ..encharge import Listener

        return Listener(file).events()
    raise ValidationError("path", str(path), "a .csv, .parquet or .sqlite3 file of events")


#: The unsubscribe dates' file format (see :mod:`enstoolkit.records.store`).
DATES_SCHEMA = Schema("unsubscribe dates", 1, (
    "CREATE TABLE IF NOT EXISTS unsubscribes (account TEXT NOT NULL, person_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    " PRIMARY KEY (account, person_id))",
    "CREATE TABLE IF NOT EXISTS own (account TEXT NOT NULL, person_id TEXT NOT NULL, PRIMARY KEY (account, person_id))",
    "CREATE TABLE IF NOT EXISTS positions (account TEXT NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (account, source))"))


class UnsubscribeDates:
    """Unsubscribe dates kept in a SQLite file, per Encharge account (the earliest known since any re-subscribe).

    It also keeps what a :class:`~enstoolkit.sync.ConsentWatch` needs to start again where it
    stopped: the people it unsubscribed itself, whose unsubscribe events are not their own act
    (:meth:`mark_own`, :meth:`take_own`), and how far it has read a listener's events (:meth:`position`).

    Example:
        >>> store = UnsubscribeDates(folder / "dates.sqlite3")
        >>> store.note("7", "p1", dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
        >>> store.note("7", "p1", dt.datetime(2026, 3, 9, tzinfo=dt.UTC))   # the first date stands
        >>> store.load("7"), store.load("8")
        ({'p1': datetime.datetime(2026, 3, 2, 0, 0, tzinfo=datetime.timezone.utc)}, {})
        >>> store.forget("7", "p1"); store.load("7")
        {}
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        open_store(self.path, DATES_SCHEMA)

    def __repr__(self) -> str:
        return f"UnsubscribeDates({self.path.name})"

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path, DATES_SCHEMA)

    def load(self, account: str) -> dict[str, dt.datetime]:
        """The dates kept for ``account``, by Encharge person id.

        Example:
            >>> store = UnsubscribeDates(folder / "dates.sqlite3")
            >>> store.note("7", "p1", dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
            >>> list(store.load("7")), store.load("8")
            (['p1'], {})
        """
        with self._connect() as db:
            rows = db.execute("SELECT person_id, at_ms FROM unsubscribes WHERE account = ?", (str(account),)).fetchall()
        return {pid: dt.datetime.fromtimestamp(ms / 1000, dt.UTC) for pid, ms in rows}

    def note(self, account: str, person_id: str, moment: dt.datetime) -> None:
        """Keep ``moment`` for the person unless a date is kept already.

        Example:
            >>> store = UnsubscribeDates(folder / "dates.sqlite3")
            >>> store.note("7", "p1", dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
            >>> store.note("7", "p1", dt.datetime(2026, 3, 9, tzinfo=dt.UTC))
            >>> store.load("7")["p1"].day
            2
        """
        millis = int(moment.timestamp() * 1000)
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO unsubscribes VALUES (?, ?, ?)", (str(account), str(person_id), millis))

    def forget(self, account: str, person_id: str) -> None:
        """Drop the person's date (they re-subscribed).

        Example:
            >>> store = UnsubscribeDates(folder / "dates.sqlite3")
            >>> store.note("7", "p1", dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
            >>> store.forget("7", "p1"); store.load("7")
            {}
        """
        with self._connect() as db:
            db.execute("DELETE FROM unsubscribes WHERE account = ? AND person_id = ?", (str(account), str(person_id)))

    def mark_own(self, account: str, person_ids: list[str]) -> None:
        """Remember people the watch unsubscribed itself.

        Example:
            >>> store = UnsubscribeDates(folder / "dates.sqlite3")
            >>> store.mark_own("7", ["p1"])
            >>> store.take_own("7", "p1"), store.take_own("7", "p1")
            (True, False)
        """
        with self._connect() as db:
            db.executemany("INSERT OR IGNORE INTO own VALUES (?, ?)", [(str(account), str(p)) for p in person_ids])

    def take_own(self, account: str, person_id: str) -> bool:
        """Whether the watch unsubscribed the person itself (forgotten once asked).

        Example:
            >>> store = UnsubscribeDates(folder / "dates.sqlite3")
            >>> store.take_own("7", "p9")
            False
        """
        with self._connect() as db:
            return db.execute("DELETE FROM own WHERE account = ? AND person_id = ?",
                              (str(account), str(person_id))).rowcount > 0

    def position(self, account: str, source: str) -> int:
        """The last event (``seq``) read from ``source`` (0: none yet).

        Example:
            >>> store = UnsubscribeDates(folder / "dates.sqlite3")
            >>> store.set_position("7", "hooks.sqlite3", 12)
            >>> store.position("7", "hooks.sqlite3"), store.position("7", "other.sqlite3")
            (12, 0)
        """
        with self._connect() as db:
            row = db.execute("SELECT seq FROM positions WHERE account = ? AND source = ?",
                             (str(account), source)).fetchone()
        return int(row[0]) if row else 0

    def set_position(self, account: str, source: str, seq: int) -> None:
        """Record the last event read from ``source``.

        Example:
            >>> store = UnsubscribeDates(folder / "dates.sqlite3")
            >>> store.set_position("7", "hooks", 3); store.set_position("7", "hooks", 5)
            >>> store.position("7", "hooks")
            5
        """
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)", (str(account), source, int(seq)))
