"""One way to open the toolkit's SQLite files: the journal, the erasure record, the consent change log, the
unsubscribe dates, the listener's events and the shared request count.

Every file is opened by :func:`open_store` with its :class:`Schema`, and every connection by
:func:`connect` (or :func:`transaction`, which also closes it), so the settings live here only:

- **WAL** (readers never wait for a writer) and a **busy timeout** (a writer waits its turn, up to
  ``timeout`` seconds, instead of failing).
- ``synchronous=FULL`` for the records that are evidence (the erasure record, the consent change
  log): a change the toolkit reported as written survives a power cut, not only a crash.
  ``NORMAL`` elsewhere (WAL: a killed process loses nothing; a power cut may lose the last
  transactions).
- **A schema version** (``PRAGMA user_version``) with migrations: a file written by an earlier
  version (0.2.0 and before: version 0) is brought up to date in one transaction, with nothing
  lost; a file from a *newer* version is refused, not rewritten.
- **Bad files are never replaced**: a damaged or truncated file, one that is not SQLite, or one
  on a read-only disk raises :class:`~enstoolkit.errors.StoreError` naming the file and what to do.

Example:
    >>> schema = Schema("notes", 1, ("CREATE TABLE IF NOT EXISTS notes (text TEXT NOT NULL)",))
    >>> path = open_store(folder / "notes.sqlite3", schema)
    >>> with transaction(path, schema) as db:
    ...     _ = db.execute("INSERT INTO notes VALUES ('kept')")
    >>> with transaction(path, schema) as db:
    ...     db.execute("SELECT text FROM notes").fetchall(), version(db), db.execute("PRAGMA journal_mode").fetchone()
    ([('kept',)], 1, ('wal',))
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StoreError

__all__ = ["Schema", "add_columns", "connect", "open_store", "read_json", "transaction", "version", "write_whole"]

#: Seconds a connection waits for another writer before giving up.
DEFAULT_TIMEOUT = 60.0

_READ_ONLY_FIX = ("it cannot be written here (a read-only disk or folder, or no permission): make the folder "
                  "writable, or point the toolkit at another folder (ENSTOOLKIT_DATA_DIR, or the path argument)")
_DAMAGED_FIX = ("restore it from a backup, or move it aside (the toolkit then starts a new one there) and keep it "
                "for recovery")


@dataclass(frozen=True)
class Schema:
    """A file kind: its name (in messages), its current version, the statements that create it, and the
    migrations that bring an older file up to ``version`` (``migrations[n]`` takes version ``n`` to ``n + 1``;
    version 0 is a file written before files carried a version, 0.2.0 and earlier).

    ``evidence``: the file is a record someone may have to show (erasures, consent changes):
    ``synchronous=FULL``.

    Example:
        >>> Schema("journal", 1, ("CREATE TABLE IF NOT EXISTS runs (run_id TEXT)",)).evidence
        False
    """

    name: str
    version: int
    create: Sequence[str]
    migrations: Mapping[int, Callable[[sqlite3.Connection], None]] = field(default_factory=dict)
    evidence: bool = False


def version(db: sqlite3.Connection) -> int:
    """The file's schema version (``PRAGMA user_version``).

    Example:
        >>> with closing(sqlite3.connect(":memory:")) as db:
        ...     version(db)
        0
    """
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def add_columns(db: sqlite3.Connection, table: str, columns: Sequence[tuple[str, str]]) -> None:
    """Add the columns ``table`` lacks (a migration step; run inside the migration's transaction).

    Example:
        >>> with closing(sqlite3.connect(":memory:")) as db:
        ...     _ = db.execute("CREATE TABLE t (a TEXT)")
        ...     add_columns(db, "t", [("a", "TEXT"), ("b", "INTEGER")])
        ...     [row[1] for row in db.execute("PRAGMA table_info(t)")]
        ['a', 'b']
    """
    present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns:
        if name not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _problem(path: Path, exc: BaseException) -> StoreError:
    text = str(exc).lower()
    if isinstance(exc, PermissionError) or "readonly" in text or "read-only" in text or "unable to open" in text \
            or "permission" in text:
        return StoreError(path, f"it cannot be opened for writing ({exc})", _READ_ONLY_FIX)
    if "not a database" in text or "malformed" in text or "corrupt" in text or "disk i/o" in text:
        return StoreError(path, f"it is damaged or not an enstoolkit file ({exc})", _DAMAGED_FIX)
    if "locked" in text or "busy" in text:
        return StoreError(path, f"another process held it for too long ({exc})",
                          "close the other notebook or command using it, then try again")
    return StoreError(path, f"it could not be used ({type(exc).__name__}: {exc})", _DAMAGED_FIX)


def connect(path: str | Path, schema: Schema, *, timeout: float = DEFAULT_TIMEOUT, autocommit: bool = False,
            check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection to a file opened by :func:`open_store`, with the settings of its kind; the caller closes it
    (``contextlib.closing``, or use :func:`transaction`).

    ``autocommit``: no implicit transactions (the caller writes ``BEGIN``/``COMMIT`` itself).

    Example:
        >>> schema = Schema("record", 1, ("CREATE TABLE IF NOT EXISTS r (x)",), evidence=True)
        >>> path = open_store(folder / "r.sqlite3", schema)
        >>> with closing(connect(path, schema)) as db:
        ...     db.execute("PRAGMA synchronous").fetchone(), db.execute("PRAGMA busy_timeout").fetchone()
        ((2,), (60000,))
    """
    path = Path(path)
    try:
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None if autocommit else "DEFERRED",
                             check_same_thread=check_same_thread)
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        db.execute(f"PRAGMA synchronous = {'FULL' if schema.evidence else 'NORMAL'}")
    except sqlite3.Error as exc:
        raise _problem(path, exc) from exc
    return db


@contextmanager
def transaction(path: str | Path, schema: Schema, *, timeout: float = DEFAULT_TIMEOUT) -> Iterator[sqlite3.Connection]:
    """A connection in one transaction: committed when the block ends, rolled back on an error, always closed.

    Errors of the file itself (read-only, damaged) become :class:`~enstoolkit.errors.StoreError`.

    Example:
        >>> schema = Schema("record", 1, ("CREATE TABLE IF NOT EXISTS r (x)",))
        >>> path = open_store(folder / "r.sqlite3", schema)
        >>> with transaction(path, schema) as db:
        ...     _ = db.execute("INSERT INTO r VALUES (1)")
        >>> with transaction(path, schema) as db:
        ...     db.execute("SELECT COUNT(*) FROM r").fetchone()
        (1,)
    """
    with closing(connect(path, schema, timeout=timeout)) as db:
        try:
            with db:
                yield db
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise _problem(Path(path), exc) from exc


def _wal(db: sqlite3.Connection, path: Path) -> None:
    for attempt in range(200):  # a brand-new file being set up by another process at the same moment
        try:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.05)
            continue
        if str(mode).lower() != "wal":
            raise StoreError(path, f"it cannot use write-ahead logging (journal mode {mode!r})",
                             "keep the toolkit's files on a local disk (not a network share)")
        return


def open_store(path: str | Path, schema: Schema, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Make sure ``path`` is a usable file of ``schema``'s kind: created if missing, migrated if older; returns it.

    Raises :class:`~enstoolkit.errors.StoreError` (the file untouched) when the file is from a newer
    version, is damaged, truncated or not SQLite, or cannot be written.

    Example:
        >>> (folder / "bad.sqlite3").write_bytes(b"not a database at all, just text" * 40)
        1280
        >>> try:
        ...     open_store(folder / "bad.sqlite3", Schema("journal", 1, ()))
        ... except StoreError as error:
        ...     error.problem
        'it is damaged or not an enstoolkit file (file is not a database)'
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _problem(path, exc) from exc
    existed = path.exists()
    if existed and path.stat().st_size == 0 and not path.with_name(path.name + "-wal").exists():
        deadline = time.monotonic() + 2.0  # another process may be creating it this very moment
        while path.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if path.stat().st_size == 0:
            raise StoreError(path, "it is empty (truncated to nothing)", _DAMAGED_FIX)
    try:
        with closing(connect(path, schema, timeout=timeout, autocommit=True)) as db:
            found = version(db)
            if found > schema.version:
                raise StoreError(path, f"it was written by a newer version of enstoolkit ({schema.name} format "
                                 f"{found}; this version reads up to {schema.version})",
                                 "upgrade enstoolkit (pip install -U enstoolkit) to open it")
            if existed:
                check = db.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise StoreError(path, f"it is damaged ({check})", _DAMAGED_FIX)
            _wal(db, path)
            if found == schema.version:
                return path
            db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then find it done
            try:
                found = version(db)
                if found > schema.version:
                    raise StoreError(path, f"it was written by a newer version of enstoolkit ({schema.name} "
                                     f"format {found}; this version reads up to {schema.version})",
                                     "upgrade enstoolkit (pip install -U enstoolkit) to open it")
                if found < schema.version:
                    for statement in schema.create:
                        db.execute(statement)
                    for step in range(found, schema.version):
                        migrate = schema.migrations.get(step)
                        if migrate is not None:
                            migrate(db)
                    db.execute(f"PRAGMA user_version = {schema.version}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    except sqlite3.Error as exc:
        raise _problem(path, exc) from exc
    return path


def write_whole(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write a file whole or not at all: ``write(temporary)`` beside it, flushed to disk, then renamed over it (a
    crash leaves the old file, never half a new one). For the files that are not SQLite (a snapshot, its report).

    Example:
        >>> target = folder / "report.json"
        >>> write_whole(target, lambda tmp: tmp.write_text("{}")).read_text()
        '{}'
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _problem(path, exc) from exc
    return path


def read_json(path: str | Path, fix: str) -> Any:
    """A JSON file's content; one that cannot be read raises :class:`~enstoolkit.errors.StoreError` with ``fix``.

    Example:
        >>> broken = folder / "report.json"
        >>> _ = broken.write_text('{"mode": "fu')
        >>> try:
        ...     read_json(broken, "delete it")
        ... except StoreError as error:
        ...     error.problem.split(" (")[0], error.fix
        ('it is damaged or truncated', 'delete it')
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(path, f"it is damaged or truncated ({exc})", fix) from exc
    except OSError as exc:
        raise _problem(path, exc) from exc
