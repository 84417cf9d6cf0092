"""The toolkit's own record of GDPR erasures made in Encharge.

:meth:`EnchargeClient.delete_people` with ``force=True`` writes each erased person here
(email, Encharge id, userId, when, and the Encharge account), so that an audit can check that
the same people are gone from ENS too; an audit reads only its own account's erasures (those made
on the sandbox never reach an audit of a real account). The record holds identifiers only, never
keys or tokens.

Each erasure is written *pending* before the request goes out (:meth:`ErasureLog.begin`) and
*confirmed* when Encharge answers (:meth:`ErasureLog.confirm`), or, when the answer was lost,
once a later attempt finds the person gone: an erasure Encharge carried out is never forgotten
because its answer did not arrive. A request Encharge refused is *cancelled*
(:meth:`ErasureLog.cancel`). :meth:`ErasureLog.read` gives the confirmed erasures (with
``pending=True``, the pending ones too, flagged in the ``pending`` column).

Example:
    >>> log = ErasureLog(folder / "erasures.sqlite3")
    >>> log.record([{"email": "gone@example.org", "id": "p1", "userId": "100234"}], account_id=7)
    >>> log.read(account_id=7).select("email", "userId").rows()
    [('gone@example.org', '100234')]
    >>> log.read(account_id=8).height
    0
    >>> log.begin([{"email": "going@example.org", "id": "p2"}], account_id=7)
    >>> log.read(account_id=7).height, log.read(account_id=7, pending=True).get_column("pending").to_list()
    (1, [False, True])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from ..schemas.frames import read_frame
from ..schemas.results import ERASURE
from .paths import data_dir
from .store import Schema, add_columns, open_store, transaction

__all__ = ["ERASURES_SCHEMA", "ErasureLog", "read_erasures"]

_PENDING, _CONFIRMED, _CANCELLED = "pending", "confirmed", "cancelled"
_COLUMNS = "email, person_id, user_id, erased_at, account_id, state"

#: The erasure record's file format (see :mod:`enstoolkit.records.store`): evidence, so written with synchronous=FULL.
ERASURES_SCHEMA = Schema(
    "erasure record", 1,
    ("CREATE TABLE IF NOT EXISTS erasures (seq INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT, person_id TEXT,"
     " user_id TEXT, erased_at INTEGER NOT NULL)",),
    # a record from before erasures named their account, or had states (its rows are confirmed: NULL)
    {0: lambda db: add_columns(db, "erasures", (("account_id", "INTEGER"), ("state", "TEXT")))},
    evidence=True)


class ErasureLog:
    """An append-only SQLite record of erasures (default: ``erasures.sqlite3`` in the data folder).

    Example:
        >>> log = ErasureLog(folder / "erasures.sqlite3")
        >>> log.path.name, log.read().height
        ('erasures.sqlite3', 0)
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / "erasures.sqlite3"
        open_store(self.path, ERASURES_SCHEMA)

    def record(self, people: Iterable[Mapping[str, Any]], when: dt.datetime | None = None, *,
               account_id: int | None = None) -> None:
        """Append erased people (mappings with ``email``, ``id``, ``userId``) of the Encharge account ``account_id``.

        Example:
            >>> log = ErasureLog(folder / "erasures.sqlite3")
            >>> log.record([{"email": "gone@example.org", "id": "p1", "userId": None}], account_id=7)
            >>> log.read().get_column("email").to_list()
            ['gone@example.org']
        """
        self._insert(people, when, account_id, _CONFIRMED)

    def _insert(self, people: Iterable[Mapping[str, Any]], when: dt.datetime | None, account_id: int | None,
                state: str) -> None:
        moment = int((when or dt.datetime.now(dt.UTC)).timestamp() * 1000)
        rows = [(p.get("email"), p.get("id"), p.get("userId"), moment, account_id, state) for p in people]
        with transaction(self.path, ERASURES_SCHEMA) as db:
            db.executemany(f"INSERT INTO erasures ({_COLUMNS}) VALUES (?,?,?,?,?,?)", rows)

    def begin(self, people: Iterable[Mapping[str, Any]], when: dt.datetime | None = None, *,
              account_id: int | None = None) -> None:
        """Write people about to be erased as *pending* (before the request goes out); :meth:`confirm` settles them.

        Example:
            >>> log = ErasureLog(folder / "erasures.sqlite3")
            >>> log.begin([{"email": "going@example.org", "id": "p1"}], account_id=7)
            >>> log.read(account_id=7).height, log.read(account_id=7, pending=True).item(0, "pending")
            (0, True)
        """
        with transaction(self.path, ERASURES_SCHEMA) as db:  # a repeat of a pending erasure keeps its one row
            waiting = {r[0] for r in db.execute("SELECT person_id FROM erasures WHERE state = ? AND account_id IS ?",
                                                (_PENDING, account_id))}
        self._insert([p for p in people if p.get("id") is None or str(p["id"]) not in waiting], when, account_id,
                     _PENDING)

    def _settle(self, ids: Iterable[str], account_id: int | None, state: str) -> int:
        wanted = sorted({str(i) for i in ids if i})
        if not wanted:
            return 0
        marks = ",".join("?" * len(wanted))
        with transaction(self.path, ERASURES_SCHEMA) as db:
            return db.execute(f"UPDATE erasures SET state = ? WHERE state = ? AND account_id IS ? "
                              f"AND person_id IN ({marks})", (state, _PENDING, account_id, *wanted)).rowcount

    def confirm(self, ids: Iterable[str], *, account_id: int | None = None) -> int:
        """Confirm the pending erasures of these Encharge ids (erased: answered, or found gone); how many rows.

        Example:
            >>> log = ErasureLog(folder / "erasures.sqlite3")
            >>> log.begin([{"email": "going@example.org", "id": "p1"}], account_id=7)
            >>> log.confirm(["p1"], account_id=7), log.read(account_id=7).get_column("email").to_list()
            (1, ['going@example.org'])
        """
        return self._settle(ids, account_id, _CONFIRMED)

    def cancel(self, ids: Iterable[str], *, account_id: int | None = None) -> int:
        """Cancel the pending erasures of these ids (Encharge refused the request: nobody was erased); how many.

        Example:
            >>> log = ErasureLog(folder / "erasures.sqlite3")
            >>> log.begin([{"email": "kept@example.org", "id": "p1"}], account_id=7)
            >>> log.cancel(["p1"], account_id=7), log.read(account_id=7, pending=True).height
            (1, 0)
        """
        return self._settle(ids, account_id, _CANCELLED)

    def read(self, *, account_id: int | None = None, pending: bool = False) -> pl.DataFrame:
        """The confirmed erasures, oldest first: of the account ``account_id`` when given, else all.

        With ``pending=True``, erasures sent whose answer has not (yet) confirmed them are
        included too, with ``pending`` True (settled by the next attempt at erasing the person,
        e.g. resuming the run). Cancelled ones (refused by Encharge) are never included.

        Example:
            >>> log = ErasureLog(folder / "erasures.sqlite3")
            >>> log.record([{"email": "a@example.org"}], account_id=7)
            >>> log.record([{"email": "b@example.org"}], account_id=8)
            >>> log.read(account_id=8).get_column("email").to_list(), log.read().height
            (['b@example.org'], 2)
        """
        states = (_CONFIRMED, _PENDING) if pending else (_CONFIRMED,)
        query = (f"SELECT {_COLUMNS} FROM erasures WHERE (state IS NULL OR state IN "
                 f"({','.join('?' * len(states))}))")
        args: tuple[Any, ...] = states
        if account_id is not None:
            query, args = query + " AND account_id = ?", (*args, int(account_id))
        with transaction(self.path, ERASURES_SCHEMA) as db:
            rows = db.execute(query + " ORDER BY seq", args).fetchall()
        return read_frame([dict(zip(ERASURE, (*r[:5], r[5] == _PENDING), strict=True)) for r in rows], ERASURE)


def read_erasures(path: str | Path | None = None, *, account_id: int | None = None,
                  pending: bool = False) -> pl.DataFrame:
    """The confirmed erasures (see :class:`ErasureLog`), of one Encharge account when ``account_id`` is given.

    ``pending=True`` adds the erasures sent but not yet confirmed (their answer was lost), with
    ``pending`` True; the audit and the consent plan leave those out until they are confirmed.

    The audit passes its account's id (:meth:`EnchargeClient.account_id`): erasures made on the
    sandbox, or on another account, are not this account's.

    Example:
        >>> read_erasures(folder / "none.sqlite3", account_id=7).height
        0
    """
    return ErasureLog(path).read(account_id=account_id, pending=pending)
