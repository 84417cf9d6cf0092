"""Tombstones: every erased or suppressed address kept as a salted hash, and the writes that check them.

Deleting a supporter in ENS removes their opt-ins with the record, so a later import or form
would re-create them with no memory of the opt-out. A tombstone remembers the address without
holding it: ``sha256(salt + address)`` (the address trimmed and lowercased, so case variants
share one tombstone). The salt is random, one per data folder (``tombstone.salt``, readable by
its owner only), and is never written to a report, a log or an export.

Every write that could re-create or re-subscribe a person checks the tombstones first and is
refused (:class:`Tombstoned`), unless it is given ``override="a reason"``; each refusal and each
override is logged (hashes, the write path, who and when; never the address). The checked paths:
ENS ``POST /supporter`` (:meth:`ENSClient.upsert_supporter`), ``PUT /supporter/{id}`` with an
opt-in "Y" or a new address, page submissions (:meth:`ENSClient.process_page`, the bulk
``process`` runs and the Process panel), Encharge ``POST /people`` (upserts and updates that
re-subscribe), and the bulk upserts (which journal a tombstoned row ``skipped`` and send the rest).

Example:
    >>> import tempfile
    >>> stones = Tombstones(tempfile.mkdtemp())
    >>> stones.add(["Gone@Example.org"], reason="erased", source="example")
    1
    >>> stones.contains(" gone@example.ORG"), stones.contains("kept@example.org")
    (True, False)
    >>> "gone@example.org" in stones.path.read_bytes().decode("latin-1")   # no plain address stored
    False
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import EnstoolkitError, ValidationError
from ..inputs.people_args import email_key
from ..records.paths import data_dir

__all__ = ["LIVE", "REASONS", "TOMBSTONE_SCHEMA", "Tombstoned", "Tombstones", "check_writes", "default_tombstones",
           "scope_of"]

#: The scope of the tombstones of real accounts (a sandbox's are its own: :func:`scope_of`).
LIVE = "live"

#: Why an address was tombstoned.
REASONS = ("erased", "suppressed")
#: The columns of :meth:`Tombstones.read` (no personal data: the salted hash only).
TOMBSTONE_SCHEMA: dict[str, pl.DataType] = {
    "hash": pl.String(), "reason": pl.String(), "source": pl.String(), "channel": pl.String(),
    "tombstonedAt": pl.Datetime("ms", "UTC"),
}
_REFUSALS: dict[str, pl.DataType] = {
    "path": pl.String(), "hash": pl.String(), "overridden": pl.Boolean(), "reason": pl.String(), "by": pl.String(),
    "at": pl.Datetime("ms", "UTC"),
}


class Tombstoned(EnstoolkitError):
    """A write refused because it would re-create or re-subscribe an erased or suppressed person.

    Attributes:
        path: the write path that refused it (e.g. ``"ENS POST /supporter"``).
        rows: the positions (from 0) of the refused records in what was given.

    Example:
        >>> str(Tombstoned("ENS POST /supporter", [0]))  # doctest: +NORMALIZE_WHITESPACE
        'ENS POST /supporter: record 0 is an erased or suppressed person (tombstone); not sent. To send it anyway
        pass override="the reason" (it is logged)'
    """

    def __init__(self, path: str, rows: Sequence[int]) -> None:
        self.path = path
        self.rows = list(rows)
        shown = ", ".join(str(r) for r in self.rows[:10]) + (" ..." if len(self.rows) > 10 else "")
        which = f"record {shown} is" if len(self.rows) == 1 else f"records {shown} are"
        super().__init__(f"{path}: {which} an erased or suppressed person (tombstone); not sent. To send it anyway "
                         f'pass override="the reason" (it is logged)')


def scope_of(client: Any) -> str:
    """Whose tombstones a client's writes check: a sandbox's own (by its loopback address), else :data:`LIVE`.

    Erasing someone on a sandbox never blocks a real account's write of the same address, and
    each sandbox (each test) keeps its own.

    Example:
        >>> from enstoolkit import ENSClient
        >>> scope_of(ENSClient("key-1234", "http://127.0.0.1:9/ens/service")), scope_of(None)
        ('sandbox 127.0.0.1:9', 'live')
    """
    from urllib.parse import urlsplit

    from ..inputs.arguments import is_loopback

    parts = urlsplit(str(getattr(client, "base_url", "") or ""))
    host = parts.hostname or ""
    return f"sandbox {host}:{parts.port}" if host and is_loopback(host) else LIVE


def _now_ms() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


class Tombstones:
    """The tombstones of one data folder (``protection.sqlite3`` and its ``tombstone.salt``).

    Example:
        >>> import tempfile
        >>> stones = Tombstones(tempfile.mkdtemp())
        >>> stones.add(["a@example.org", "A@example.org "], reason="suppressed", source="FPS", channel="email")
        1
        >>> stones.read().select("reason", "source", "channel").rows()
        [('suppressed', 'FPS', 'email')]
    """

    def __init__(self, folder: str | Path | None = None, *, scope: str = LIVE) -> None:
        self.scope = scope
        self.folder = Path(folder) if folder is not None else data_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "protection.sqlite3"
        self._salt_path = self.folder / "tombstone.salt"
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS tombstones (hash TEXT NOT NULL, scope TEXT NOT NULL, reason TEXT "
                       "NOT NULL, source TEXT, channel TEXT, at INTEGER NOT NULL, PRIMARY KEY (hash, scope))")
            db.execute("CREATE TABLE IF NOT EXISTS refusals (seq INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT, "
                       "path TEXT, hash TEXT, overridden INTEGER, reason TEXT, by TEXT, at INTEGER)")

    def __repr__(self) -> str:
        return f"Tombstones({str(self.folder)!r}, scope={self.scope!r})"

    def _salt(self) -> bytes:
        if not self._salt_path.exists():
            fresh = secrets.token_bytes(32)
            try:  # created once, readable by its owner only; another process may win the race
                fd = os.open(self._salt_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(fresh)
        salt = self._salt_path.read_bytes()
        if len(salt) < 16:
            raise EnstoolkitError(f"the tombstone salt {self._salt_path} is damaged ({len(salt)} bytes); restore it "
                                  "from a backup: without it no tombstone can be checked")
        return salt

    def hash(self, email: Any) -> str:
        """The salted hash of an address (trimmed, lowercased).

        Example:
            >>> import tempfile
            >>> stones = Tombstones(tempfile.mkdtemp())
            >>> stones.hash("A@x.org") == stones.hash(" a@X.org"), len(stones.hash("a@x.org"))
            (True, 64)
        """
        key = email_key(email)
        if not key:
            raise ValidationError("email", email, "an email address")
        return hashlib.sha256(self._salt() + key.encode("utf-8")).hexdigest()

    def add(self, emails: Iterable[Any], *, reason: str, source: str, channel: str | None = None,
            when: dt.datetime | None = None) -> int:
        """Tombstone addresses (blank ones are ignored); how many were new.

        Example:
            >>> import tempfile
            >>> stones = Tombstones(tempfile.mkdtemp())
            >>> stones.add(["a@x.org"], reason="erased", source="retention"), stones.add(["a@x.org"], reason="erased",
            ...                                                                      source="retention")
            (1, 0)
        """
        if reason not in REASONS:
            raise ValidationError("reason", reason, "one of " + ", ".join(REASONS))
        moment = int((when or dt.datetime.now(dt.UTC)).timestamp() * 1000)
        rows = {self.hash(e): (reason, source, channel, moment) for e in emails if email_key(e)}
        with sqlite3.connect(self.path) as db:
            marks = ",".join("?" * len(rows))
            known = {r[0] for r in db.execute(f"SELECT hash FROM tombstones WHERE scope = ? AND hash IN ({marks})",
                                              [self.scope, *rows])} if rows else set()
            db.executemany("INSERT OR IGNORE INTO tombstones (hash, scope, reason, source, channel, at) "
                           "VALUES (?,?,?,?,?,?)", [(h, self.scope, *rest) for h, rest in rows.items()])
            if reason == "erased":  # an erasure outranks a suppression already held for the address
                db.executemany("UPDATE tombstones SET reason = 'erased' WHERE hash = ? AND scope = ?",
                               [(h, self.scope) for h in rows])
        return len(set(rows) - known)

    def hits(self, emails: Sequence[Any]) -> list[bool]:
        """For each address, whether it is tombstoned (blank: False).

        Example:
            >>> import tempfile
            >>> stones = Tombstones(tempfile.mkdtemp())
            >>> _ = stones.add(["a@x.org"], reason="erased", source="example")
            >>> stones.hits(["A@X.org", None, "b@x.org"])
            [True, False, False]
        """
        hashes = [self.hash(e) if email_key(e) else None for e in emails]
        wanted = sorted({h for h in hashes if h})
        found: set[str] = set()
        with sqlite3.connect(self.path) as db:
            for start in range(0, len(wanted), 500):
                part = wanted[start:start + 500]
                found |= {r[0] for r in db.execute(
                    f"SELECT hash FROM tombstones WHERE scope = ? AND hash IN ({','.join('?' * len(part))})",
                    [self.scope, *part])}
        return [h is not None and h in found for h in hashes]

    def contains(self, email: Any) -> bool:
        """Whether one address is tombstoned.

        Example:
            >>> import tempfile
            >>> Tombstones(tempfile.mkdtemp()).contains("a@x.org")
            False
        """
        return self.hits([email])[0]

    def guard(self, emails: Sequence[Any], *, path: str, override: str | None = None,
              by: str | None = None) -> list[int]:
        """The positions of tombstoned addresses, each logged: a refusal, or with ``override`` an override.

        With ``override`` (the reason, text) nothing is refused (``[]``) and each tombstoned
        address sent anyway is logged with the reason and ``by``.

        Example:
            >>> import tempfile
            >>> stones = Tombstones(tempfile.mkdtemp())
            >>> _ = stones.add(["a@x.org"], reason="erased", source="example")
            >>> stones.guard(["b@x.org", "a@x.org"], path="example"), stones.guard(["a@x.org"], path="example",
            ...                                                                 override="asked to rejoin")
            ([1], [])
            >>> stones.refusals().select("path", "refused", "overridden").rows()
            [('example', 1, 1)]
        """
        if override is not None and (not isinstance(override, str) or not override.strip()):
            raise ValidationError("override", override, "the reason for sending to an erased or suppressed person "
                                  "(text; it is logged)")
        hit = [i for i, flag in enumerate(self.hits(emails)) if flag]
        if hit:
            from ..sync.changelog import operator

            who = operator(by)
            moment = _now_ms()
            with sqlite3.connect(self.path) as db:
                db.executemany("INSERT INTO refusals (scope, path, hash, overridden, reason, by, at) "
                               "VALUES (?,?,?,?,?,?,?)",
                               [(self.scope, path, self.hash(emails[i]), int(override is not None),
                                 override.strip() if override else None, who, moment) for i in hit])
        return [] if override is not None else hit

    def read(self) -> pl.DataFrame:
        """The tombstones (hashes, reason, source, channel, when): no personal data.

        Example:
            >>> import tempfile
            >>> Tombstones(tempfile.mkdtemp()).read().columns
            ['hash', 'reason', 'source', 'channel', 'tombstonedAt']
        """
        with sqlite3.connect(self.path) as db:
            rows = db.execute("SELECT hash, reason, source, channel, at FROM tombstones WHERE scope = ? "
                              "ORDER BY at, hash", (self.scope,)).fetchall()
        return pl.DataFrame(rows, schema=TOMBSTONE_SCHEMA, orient="row") if rows else \
            pl.DataFrame(schema=TOMBSTONE_SCHEMA)

    def refusal_log(self) -> pl.DataFrame:
        """Every refusal and override, oldest first (path, hash, overridden, reason, by, at).

        Example:
            >>> import tempfile
            >>> Tombstones(tempfile.mkdtemp()).refusal_log().height
            0
        """
        with sqlite3.connect(self.path) as db:
            rows = db.execute("SELECT path, hash, overridden, reason, by, at FROM refusals WHERE scope = ? "
                              "ORDER BY seq", (self.scope,)).fetchall()
        frame = pl.DataFrame([(p, h, bool(o), r, b, a) for p, h, o, r, b, a in rows], schema={
            **_REFUSALS, "at": pl.Int64()}, orient="row")
        return frame.with_columns(pl.from_epoch("at", time_unit="ms").dt.replace_time_zone("UTC")
                                  .cast(pl.Datetime("ms", "UTC")))

    def refusals(self) -> pl.DataFrame:
        """Refusals and overrides counted per write path (``path``, ``refused``, ``overridden``).

        Example:
            >>> import tempfile
            >>> Tombstones(tempfile.mkdtemp()).refusals().columns
            ['path', 'refused', 'overridden']
        """
        return (self.refusal_log().group_by("path")
                .agg((~pl.col("overridden")).sum().cast(pl.Int64).alias("refused"),
                     pl.col("overridden").sum().cast(pl.Int64).alias("overridden"))
                .sort("path"))


def default_tombstones(client: Any = None) -> Tombstones:
    """The tombstones of the data folder (:func:`enstoolkit.records.paths.data_dir`) for a client's account
    (:func:`scope_of`; without a client, the real accounts').

    Example:
        >>> default_tombstones().path.name, default_tombstones().scope
        ('protection.sqlite3', 'live')
    """
    return Tombstones(data_dir(), scope=scope_of(client) if client is not None else LIVE)


def check_writes(emails: Sequence[Any], *, path: str, override: str | None = None, by: str | None = None,
                 tombstones: Tombstones | None = None, client: Any = None) -> None:
    """Raise :class:`Tombstoned` when any address is tombstoned (each refusal logged), unless ``override`` is given.

    Used by every write that could re-create or re-subscribe a person; ``tombstones`` defaults
    to the data folder's, for the account ``client`` acts on.

    Example:
        >>> check_writes(["never.erased@example.org"], path="example")
    """
    hit = (tombstones or default_tombstones(client)).guard(emails, path=path, override=override, by=by)
    if hit:
        raise Tombstoned(path, hit)
