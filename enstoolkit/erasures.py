"""The toolkit's own record of GDPR erasures made in Encharge.

:meth:`EnchargeClient.delete_people` with ``force=True`` writes each erased person here
(email, Encharge id, userId, when, and the Encharge account), so that an audit can check that
the same people are gone from ENS too; an audit reads only its own account's erasures (those made
on the sandbox never reach an audit of a real account). The record holds identifiers only, never
keys or tokens.

Example:
    >>> import tempfile, pathlib
    >>> log = ErasureLog(pathlib.Path(tempfile.mkdtemp()) / "erasures.sqlite3")
    >>> log.record([{"email": "gone@example.org", "id": "p1", "userId": "100234"}], account_id=7)
    >>> log.read(account_id=7).select("email", "userId").rows()
    [('gone@example.org', '100234')]
    >>> log.read(account_id=8).height
    0
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from .frames import read_frame
from .paths import data_dir
from .schemas.results import ERASURE

__all__ = ["ErasureLog", "read_erasures"]


class ErasureLog:
    """An append-only SQLite record of erasures (default: ``erasures.sqlite3`` in the data folder).

    Example:
        >>> import tempfile, pathlib
        >>> log = ErasureLog(pathlib.Path(tempfile.mkdtemp()) / "erasures.sqlite3")
        >>> log.path.name, log.read().height
        ('erasures.sqlite3', 0)
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / "erasures.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS erasures (seq INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT,"
                       " person_id TEXT, user_id TEXT, erased_at INTEGER NOT NULL)")
            columns = {row[1] for row in db.execute("PRAGMA table_info(erasures)")}
            if "account_id" not in columns:  # a record from before erasures named their account
                try:
                    db.execute("ALTER TABLE erasures ADD COLUMN account_id INTEGER")
                except sqlite3.OperationalError as exc:  # another process added it a moment ago
                    if "duplicate column" not in str(exc):
                        raise

    def record(self, people: Iterable[Mapping[str, Any]], when: dt.datetime | None = None, *,
               account_id: int | None = None) -> None:
        """Append erased people (mappings with ``email``, ``id``, ``userId``) of the Encharge account ``account_id``.

        Example:
            >>> import tempfile, pathlib
            >>> log = ErasureLog(pathlib.Path(tempfile.mkdtemp()) / "erasures.sqlite3")
            >>> log.record([{"email": "gone@example.org", "id": "p1", "userId": None}], account_id=7)
            >>> log.read().get_column("email").to_list()
            ['gone@example.org']
        """
        moment = int((when or dt.datetime.now(dt.UTC)).timestamp() * 1000)
        rows = [(p.get("email"), p.get("id"), p.get("userId"), moment, account_id) for p in people]
        with sqlite3.connect(self.path) as db:
            db.executemany("INSERT INTO erasures (email, person_id, user_id, erased_at, account_id) "
                           "VALUES (?,?,?,?,?)", rows)

    def read(self, *, account_id: int | None = None) -> pl.DataFrame:
        """The recorded erasures, oldest first: of the account ``account_id`` when given, else all.

        Example:
            >>> import tempfile, pathlib
            >>> log = ErasureLog(pathlib.Path(tempfile.mkdtemp()) / "erasures.sqlite3")
            >>> log.record([{"email": "a@example.org"}], account_id=7)
            >>> log.record([{"email": "b@example.org"}], account_id=8)
            >>> log.read(account_id=8).get_column("email").to_list(), log.read().height
            (['b@example.org'], 2)
        """
        query = "SELECT email, person_id, user_id, erased_at, account_id FROM erasures"
        args: tuple[Any, ...] = ()
        if account_id is not None:
            query, args = query + " WHERE account_id = ?", (int(account_id),)
        with sqlite3.connect(self.path) as db:
            rows = db.execute(query + " ORDER BY seq", args).fetchall()
        return read_frame([dict(zip(ERASURE, r, strict=True)) for r in rows], ERASURE)


def read_erasures(path: str | Path | None = None, *, account_id: int | None = None) -> pl.DataFrame:
    """The recorded erasures (see :class:`ErasureLog`), of one Encharge account when ``account_id`` is given.

    The audit passes its account's id (:meth:`EnchargeClient.account_id`): erasures made on the
    sandbox, or on another account, are not this account's.

    Example:
        >>> import tempfile, pathlib
        >>> read_erasures(pathlib.Path(tempfile.mkdtemp()) / "none.sqlite3", account_id=7).height
        0
    """
    return ErasureLog(path).read(account_id=account_id)
