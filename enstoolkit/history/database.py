"""The history store: one DuckDB file under the data folder, every row keyed by its account.

Tables: ``runs`` and ``findings`` (every audit run: its parameters, summary and every finding
with a stable key), ``snapshots`` (one row per system per day kept) and ``versions`` (a row per
version of a record, valid from one day to the day it changed or went: change intervals, never
whole copies). Every table carries ``account``: two accounts never mix, whatever is asked.

Example:
    >>> path = folder / "history.duckdb"
    >>> with open_store(path, create=True) as db:
    ...     db.execute("SELECT value FROM meta WHERE name = 'layout'").fetchall()[0][0]
    '1'
"""

from __future__ import annotations

import atexit
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MissingExtra
from ..records.paths import data_dir
from .errors import HistoryError, StoreCorrupt, StoreMissing

if TYPE_CHECKING:
    import duckdb

    from ..config.connect import Connection
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = ["IDLE_SECONDS", "LAYOUT", "LOCK_WAIT", "account_key", "close_stores", "default_path", "loading",
           "open_store"]

#: The store's layout version, kept in its ``meta`` table; a file with another is refused, never rewritten.
LAYOUT = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    account TEXT NOT NULL, run_id TEXT NOT NULL, started_at TIMESTAMP NOT NULL, day DATE NOT NULL,
    parameters TEXT NOT NULL, summary TEXT NOT NULL, findings INTEGER NOT NULL, PRIMARY KEY (account, run_id));
CREATE TABLE IF NOT EXISTS findings (
    account TEXT NOT NULL, run_id TEXT NOT NULL, check_name TEXT NOT NULL, severity TEXT, finding_key TEXT NOT NULL,
    supporter_id BIGINT, email TEXT, detail TEXT, cannot_check BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    account TEXT NOT NULL, system TEXT NOT NULL, day DATE NOT NULL, run_id TEXT, records INTEGER NOT NULL,
    added INTEGER NOT NULL, changed INTEGER NOT NULL, removed INTEGER NOT NULL, layout BLOB NOT NULL,
    PRIMARY KEY (account, system, day));
CREATE TABLE IF NOT EXISTS versions (
    account TEXT NOT NULL, system TEXT NOT NULL, record_key TEXT NOT NULL, email_key TEXT,
    valid_from DATE NOT NULL, valid_to DATE, seen_run TEXT, by_toolkit BOOLEAN NOT NULL, record TEXT NOT NULL,
    record_hash UBIGINT NOT NULL);  -- md5 (its lower 64 bits) of record: the same in every DuckDB version
CREATE INDEX IF NOT EXISTS versions_email ON versions (email_key);
CREATE INDEX IF NOT EXISTS versions_record ON versions (record_key);
"""
_TABLES = {"meta", "runs", "findings", "snapshots", "versions"}


def default_path() -> Path:
    """Where the history is kept: ``history.duckdb`` in the data folder (:func:`enstoolkit.records.paths.data_dir`).

    Example:
        >>> default_path().name
        'history.duckdb'
    """
    return data_dir() / "history.duckdb"


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise MissingExtra("history", "the history store") from exc
    return duckdb


#: Seconds a store's connection stays open after its last use, so that a series of questions (a notebook
#: asking about one person after another) opens the file once; then it is closed, freeing the file for
#: other processes (a scheduled audit). A process finding the file busy waits up to :data:`LOCK_WAIT`.
IDLE_SECONDS = 3.0
LOCK_WAIT = 60.0


class _Open:
    """One process-wide connection per store file, closed when idle (see :data:`IDLE_SECONDS`)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.conns: dict[Path, list[Any]] = {}  # path -> [connection, users, last use]

    def acquire(self, target: Path, fresh: bool) -> Any:
        duckdb = _duckdb()
        with self.lock:
            entry = self.conns.get(target)
            if entry is None:
                deadline = time.monotonic() + LOCK_WAIT
                while True:
                    try:
                        db = duckdb.connect(str(target))
                        break
                    except duckdb.IOException as exc:  # another process holds the file: wait for it
                        if "lock" not in str(exc).lower():
                            raise StoreCorrupt(target, str(exc).splitlines()[0]) from None
                        if time.monotonic() > deadline:
                            raise HistoryError(f"{target} has been in use by another process for {LOCK_WAIT:.0f} s "
                                               f"({str(exc).splitlines()[0]}); try again when it is done") from None
                        time.sleep(0.2)
                    except duckdb.Error as exc:
                        raise StoreCorrupt(target, str(exc).splitlines()[0]) from None
                try:
                    if fresh:
                        db.execute(_SCHEMA)
                        db.execute("INSERT INTO meta VALUES ('layout', ?)", [LAYOUT])
                    else:
                        _check(db, target)
                except BaseException:
                    db.close()
                    raise
                entry = self.conns[target] = [db, 0, 0.0]
                threading.Thread(target=self._close_when_idle, args=(target,), daemon=True).start()
            entry[1] += 1
            return entry[0].cursor()

    def release(self, target: Path, cursor: Any) -> None:
        cursor.close()
        with self.lock:
            entry = self.conns[target]
            entry[1] -= 1
            entry[2] = time.monotonic()

    def _close_when_idle(self, target: Path) -> None:
        while True:
            time.sleep(IDLE_SECONDS / 3)
            with self.lock:
                entry = self.conns.get(target)
                if entry is None:
                    return
                if entry[1] == 0 and time.monotonic() - entry[2] >= IDLE_SECONDS:
                    entry[0].close()
                    del self.conns[target]
                    return

    def close_all(self) -> None:
        with self.lock:
            for entry in self.conns.values():
                entry[0].close()
            self.conns.clear()


_OPEN = _Open()
atexit.register(_OPEN.close_all)


def close_stores() -> None:
    """Close this process's connections to history stores now (they close by themselves when idle).

    Frees the files for other processes at once, and writes everything out (a checkpoint).

    Example:
        >>> close_stores()
    """
    _OPEN.close_all()


@contextmanager
def open_store(path: str | Path | None = None, *, create: bool = False, read_only: bool = False
               ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the store at ``path`` (default :func:`default_path`), checked to be one.

    Raises :class:`StoreMissing` when there is no file and ``create`` is false, and
    :class:`StoreCorrupt` when the file is not a DuckDB database, lacks the store's tables, or
    has another layout version (the file is left as it was). Writes happen in one transaction per
    call of the API, so an interrupted write leaves the store as it was. ``read_only`` documents
    the caller's intent: one connection per file serves a process's reads and writes.

    Example:
        >>> try:
        ...     with open_store(folder / "none.duckdb"):
        ...         pass
        ... except StoreMissing as e:
        ...     print(type(e).__name__)
        StoreMissing
    """
    target = (Path(path) if path is not None else default_path()).resolve()
    fresh = False
    with _OPEN.lock:
        if target not in _OPEN.conns and not target.exists():
            if not create or read_only:
                raise StoreMissing(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            fresh = True
        cursor = _OPEN.acquire(target, fresh)
    try:
        yield cursor
    finally:
        _OPEN.release(target, cursor)


@contextmanager
def loading(db: Any, name: str, frame: Any) -> Iterator[None]:
    """One transaction that reads ``frame`` as the table ``name``: committed whole, or rolled back on any
    error (the error raised again); the frame is unregistered after either.

    Example:
        >>> with open_store(folder / "h.duckdb", create=True) as db:
        ...     _ = db.execute("CREATE TABLE t (n INTEGER)")
        ...     with loading(db, "incoming", pl.DataFrame({"n": [1, 2]})):
        ...         _ = db.execute("INSERT INTO t SELECT n FROM incoming")
        ...     db.execute("SELECT sum(n) FROM t").fetchall()
        [(3,)]
    """
    db.register(name, frame)
    try:
        db.execute("BEGIN TRANSACTION")
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.unregister(name)


def _check(db: Any, target: Path) -> None:
    tables = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    missing = sorted(_TABLES - tables)
    if missing:
        raise StoreCorrupt(target, f"tables {', '.join(missing)} are missing")
    row = db.execute("SELECT value FROM meta WHERE name = 'layout'").fetchall()
    row = row[0] if row else None
    if row is None or row[0] != LAYOUT:
        raise StoreCorrupt(target, f"layout {row[0] if row else 'unknown'!r}, this toolkit reads layout {LAYOUT!r}")


_LOOPBACK = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def account_key(source: Connection | tuple[ENSClient, EnchargeClient], *, sandbox: str | None = None) -> str:
    """The identity of the pair of accounts a connection works on, without a secret: what every row is kept by.

    ENS: its base URL and a hash of the API user's key; Encharge: its base URL and the account's id
    (one request to GET /accounts/info, once per client). On the sandbox (a loopback address) the
    port is left out, since it changes each time the sandbox starts: the sandbox's seed gives its keys
    and its Encharge account id, so one seed is one account; ``sandbox`` (its size and variant, say)
    is added on a loopback address only, since a sandbox of another size is another account.

    Example:
        >>> from enstoolkit.config import connect
        >>> conn = connect(environ={})
        >>> key = account_key(conn)
        >>> key.startswith("ENS sandbox API user "), " | Encharge sandbox account " in key
        (True, True)
        >>> account_key((conn.ens, conn.encharge)) == key
        True
    """
    ens, encharge = (source.ens, source.encharge) if hasattr(source, "ens") else source  # type: ignore[union-attr]
    ens_base, enc_base = str(ens.base_url), str(encharge.base_url)
    api_key = next(iter(ens._secrets()), "") or ""
    if _LOOPBACK.match(ens_base):
        ens_part = "ENS sandbox API user " + _hash("sandbox\n" + api_key)
    else:
        ens_part = f"ENS {ens_base} API user " + _hash(ens_base + "\n" + api_key)
    enc_host = "sandbox" if _LOOPBACK.match(enc_base) else enc_base
    key = f"{ens_part} | Encharge {enc_host} account {encharge.account_id()}"
    return key + (f" ({sandbox})" if sandbox and _LOOPBACK.match(ens_base) else "")
