"""The rolling one-hour count of requests a client has sent (ENS allows 5,000 an hour per API user).

The count is kept by an ``httpx`` event hook on every request the client sends, so no
request can bypass it (retries and re-authentication included).

Example:
    >>> log = RequestLog()
    >>> log.add()
    >>> log.count()
    1
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from ..records.store import Schema, connect, open_store, transaction

_log = logging.getLogger("enstoolkit.http")

__all__ = ["RequestLog"]


#: The shared request count's file format (see :mod:`enstoolkit.records.store`).
REQUESTS_SCHEMA = Schema("request count", 1, (
    "CREATE TABLE IF NOT EXISTS requests (scope TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS requests_scope_at ON requests (scope, at)"))


class RequestLog:
    """Timestamps of the requests a client sent, for a rolling one-hour count.

    ``clock`` gives the time (seconds since the epoch); tests may pass a clock they move.
    With a ``path``, the timestamps are kept in SQLite under ``scope`` (a hash naming the
    API user and host, never the key), so a restarted kernel, or another process using
    the same API user, counts the same requests. Writes are batched (every
    ``flush_every`` requests or second, on :meth:`count` and at :meth:`close`), so counting
    costs next to nothing per request; a killed process can lose at most one batch.

    Example:
        >>> log = RequestLog()
        >>> log.add()
        >>> log.count()
        1
    """

    flush_every = 25

    def __init__(self, window: float = 3600.0, *, path: Path | None = None, scope: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.window = window
        self.clock = clock
        self.path = path
        self.scope = scope
        self._times: deque[float] = deque()
        self._pending: list[float] = []
        self._flushed_at = time.monotonic()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            open_store(path, REQUESTS_SCHEMA, timeout=30)
            with transaction(path, REQUESTS_SCHEMA, timeout=30) as db:
                db.execute("DELETE FROM requests WHERE at < ?", (clock() - window,))
            # WAL, synchronous=NORMAL: no fsync per commit; a counter needs no more
            self._db = connect(path, REQUESTS_SCHEMA, timeout=30, check_same_thread=False)
            atexit.register(self.close)

    def _flush(self) -> None:
        """Write the batched timestamps (call with the lock held)."""
        if self._db is None or not self._pending:
            return
        try:
            self._db.executemany("INSERT INTO requests (scope, at) VALUES (?, ?)",
                                 [(self.scope, at) for at in self._pending])
            self._db.commit()
            self._pending.clear()
        except sqlite3.Error as exc:
            # counting must never break a request: keep them for the next flush, and say so
            _log.warning("could not record requests in the shared request count (%s); kept for the next try", exc)
        self._flushed_at = time.monotonic()

    def add(self) -> None:
        """Record one request now.

        Example:
            >>> log = RequestLog()
            >>> log.add(); log.add()
            >>> log.count()
            2
        """
        now = self.clock()
        with self._lock:
            self._times.append(now)
            cutoff = now - self.window
            while self._times[0] < cutoff:  # keep only the window: a long-lived client stays small
                self._times.popleft()
            if self._db is not None:
                self._pending.append(now)
                if len(self._pending) >= self.flush_every or time.monotonic() - self._flushed_at > 1.0:
                    self._flush()

    @property
    def held(self) -> int:
        """How many timestamps this log holds in memory: the window's only, however long the client lives.

        Example:
            >>> now = [0.0]
            >>> log = RequestLog(window=60, clock=lambda: now[0])
            >>> log.add(); now[0] = 61.0; log.add()
            >>> log.held
            1
        """
        with self._lock:
            return len(self._times)

    def count(self) -> int:
        """How many requests were recorded within the window (by this and earlier sessions).

        Example:
            >>> now = [0.0]
            >>> log = RequestLog(window=3600, clock=lambda: now[0])
            >>> log.add(); now[0] = 3000.0; log.add()
            >>> now[0] = 4000.0   # the first request is over an hour old
            >>> log.count()
            1
        """
        cutoff = self.clock() - self.window
        with self._lock:
            if self._db is not None:
                self._flush()
                try:
                    row = self._db.execute("SELECT COUNT(*) FROM requests WHERE scope = ? AND at >= ?",
                                           (self.scope, cutoff)).fetchone()
                    return int(row[0]) + len(self._pending)
                except sqlite3.Error as exc:
                    # this session's own count below: other sessions' requests are then not counted, said in the log
                    _log.warning("could not read the shared request count (%s): counting this session's requests "
                                 "only, which may be fewer than ENS counts", exc)
            while self._times and self._times[0] < cutoff:
                self._times.popleft()
            return len(self._times)

    def close(self) -> None:
        """Write what is batched and close the file.

        Example:
            >>> path = folder / "requests.sqlite3"
            >>> log = RequestLog(path=path, scope="demo")
            >>> log.add(); log.close()
            >>> RequestLog(path=path, scope="demo").count()   # another session of the same API user
            1
        """
        with self._lock:
            self._flush()
            if self._db is not None:
                self._db.close()
                self._db = None
