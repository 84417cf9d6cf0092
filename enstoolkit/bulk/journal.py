"""A journal for bulk writes: intent recorded before each request, outcome after.

Every bulk write (upserting supporters or people, tagging and untagging, processing page
batches, unsubscribing, deleting) is a *run* of *items* in SQLite. An item moves
``pending`` -> ``sending`` (written before the request goes out) -> ``done``, ``failed``
(a definite refusal), ``retry`` (not carried out: a server error or lost connection on a
request that is safe to repeat) or ``unknown`` (a non-idempotent request whose answer was
lost: it may or may not have happened, so it is never resent blindly; see
:mod:`enstoolkit.bulk.review`). A run stopped by anything, even a killed process, resumes
with :func:`enstoolkit.bulk.resume`, which does only what is left.

The journal stores the people and fields being written, never API keys, session tokens
or card numbers. Each run records which account each of its clients acts on (a fingerprint:
the base URL and the Encharge account id, or a hash of the ENS API user's key; see
:meth:`Journal.accounts`), so that it is never resumed on another account.

Example:
    >>> journal = Journal(folder / "journal.sqlite3")
    >>> run = journal.create_run("tag-add", {"tags": ["vip"]}, [{"email": "a@example.org"}])
    >>> journal.items(run).select("seq", "state").rows()
    [(1, 'pending')]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from ..records.exports import export_csv
from ..records.paths import data_dir
from ..records.store import Schema, add_columns, connect, open_store
from ..schemas import ItemState, RunStatus
from ..schemas.frames import read_frame
from ..schemas.results import ITEM, RUN

__all__ = ["JOURNAL_SCHEMA", "SENSITIVE", "STATES", "Journal", "scrub"]

STATES = tuple(ItemState)
SENSITIVE = frozenset({"ccnumber", "ccvv", "cccvv", "bankAccountNumber", "bankRoutingNumber", "bankaccnum",
                       "bankrtenum"})

_CREATE = (
    "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL,"
    " status TEXT NOT NULL, note TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS items (run_id TEXT NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL,"
    " payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY (run_id, seq))",
    "CREATE INDEX IF NOT EXISTS items_state ON items (run_id, state)",
    "CREATE TABLE IF NOT EXISTS claims (ref TEXT PRIMARY KEY, run_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " at INTEGER NOT NULL)",
)


def _to_v1(db: sqlite3.Connection) -> None:
    """0.2.0 and earlier: the owner and account columns, the window; new in version 1: the send moment's upper
    bound (``window_sent_hi``) and which clock the window was read in (``window_clock``: "date" or "stamp")."""
    add_columns(db, "runs", (("owner", "TEXT"), ("owner_pid", "INTEGER"), ("accounts", "TEXT")))
    add_columns(db, "items", (("window_lo", "INTEGER"), ("window_hi", "INTEGER"), ("window_sent_hi", "INTEGER"),
                              ("window_clock", "TEXT")))


#: The journal's file format (see :mod:`enstoolkit.records.store`).
def _to_v2(db: sqlite3.Connection) -> None:
    """Version 2: "not found" is an item state of its own. Items of earlier versions that failed because the
    API said the person or supporter does not exist carried it only in their error text: moved once, here."""
    db.execute("UPDATE items SET state = 'not found' WHERE state = 'failed' AND lower(COALESCE(error, ''))"
               " LIKE '%not found%'")


JOURNAL_SCHEMA = Schema("journal", 2, _CREATE, {0: _to_v1, 1: _to_v2})


def _close_all(connections: list[sqlite3.Connection]) -> None:
    while connections:
        connections.pop().close()


def _alive(pid: int | None) -> bool:
    """Whether a process with this id is running on this machine."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _now() -> int:
    return int(time.time() * 1000)


def scrub(value: Any) -> Any:
    """A copy of ``value`` without card or bank numbers (they are never journalled).

    Example:
        >>> scrub({"transaction": {"donationAmt": "5", "ccnumber": "4222222222222220"}})
        {'transaction': {'donationAmt': '5', 'ccnumber': '[not stored]'}}
    """
    if isinstance(value, Mapping):
        return {k: ("[not stored]" if k in SENSITIVE else scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


class Journal:
    """The SQLite journal of bulk runs (default: ``journal.sqlite3`` in the user's data folder).

    Safe to use from several threads and processes (SQLite WAL, short transactions).

    Example:
        >>> journal = Journal(folder / "j.sqlite3")
        >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
        >>> journal.counts(run), journal.run(run)["status"]
        ({'pending': 2}, 'created')
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / "journal.sqlite3"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        open_store(self.path, JOURNAL_SCHEMA)
        weakref.finalize(self, _close_all, self._connections)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:  # one connection per thread, closed by close() or when the journal is let go
            db = connect(self.path, JOURNAL_SCHEMA, autocommit=True, check_same_thread=False)
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection in a write transaction taken at once (other writers wait); committed after."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def _run_row(self, db: sqlite3.Connection, run_id: str, columns: str) -> tuple[Any, ...]:
        """The run's ``columns`` (of the runs table); a KeyError naming the journal where there is no such run."""
        row = db.execute(f"SELECT {columns} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no run {run_id!r} in {self.path}")
        return tuple(row)

    def close(self) -> None:
        """Close the journal's connections (it opens them again when used).

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> journal.close(); journal.runs().height
            0
        """
        with self._connections_lock:
            _close_all(self._connections)
        self._local = threading.local()

    # -- writing -------------------------------------------------------------------------
    def create_run(self, kind: str, params: Mapping[str, Any], payloads: Iterable[Mapping[str, Any]],
                   *, keys: Iterable[str] | None = None, accounts: Mapping[str, str] | None = None) -> str:
        """Record a new run with all its items ``pending``; returns the run id.

        ``accounts`` names, per client ("ens", "encharge"), the account the run acts on: the
        client's ``account_fingerprint()``, never a key or token (a run created without them
        is bound to the accounts of its first worker, see :meth:`bind_accounts`).

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("tag-add", {"tags": ["vip"]}, [{"kind": "email", "value": "a@example.org"}],
            ...                          accounts={"encharge": "https://api.encharge.io/v1 account 48214"})
            >>> journal.items(run).select("seq", "state").rows(), journal.accounts(run)
            ([(1, 'pending')], {'encharge': 'https://api.encharge.io/v1 account 48214'})
        """
        run_id = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        now = _now()
        items = [scrub(dict(p)) for p in payloads]
        names = list(keys) if keys is not None else [json.dumps(p, sort_keys=True, default=str) for p in items]
        with self._db() as db:
            db.execute("BEGIN")
            db.execute("INSERT INTO runs (run_id, kind, params, status, note, created_at, updated_at, accounts)"
                       " VALUES (?,?,?,?,?,?,?,?)",
                       (run_id, kind, json.dumps(scrub(dict(params)), default=str), RunStatus.CREATED, None, now,
                        now, json.dumps(dict(accounts), sort_keys=True) if accounts else None))
            db.executemany(
                "INSERT INTO items (run_id, seq, key, payload, state, attempts, updated_at) VALUES (?,?,?,?,?,?,?)",
                [(run_id, n, names[n - 1], json.dumps(p, default=str), ItemState.PENDING, 0, now)
                 for n, p in enumerate(items, start=1)])
            db.execute("COMMIT")
        return run_id

    def accounts(self, run_id: str) -> dict[str, str]:
        """The accounts a run acts on, per client ("ens", "encharge"): ``{}`` for a run journalled without them.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}])
            >>> journal.accounts(run)
            {}
        """
        (recorded,) = self._run_row(self._db(), run_id, "accounts")
        return dict(json.loads(recorded)) if recorded else {}

    def bind_accounts(self, run_id: str, accounts: Mapping[str, str]) -> dict[str, str]:
        """Record the accounts a run acts on where none is recorded yet; returns what is recorded afterwards.

        An account already recorded for a client is kept (compare the result with what you
        passed): two workers binding at the same moment agree on the first one's.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}])
            >>> journal.bind_accounts(run, {"encharge": "https://api.encharge.io/v1 account 1"})
            {'encharge': 'https://api.encharge.io/v1 account 1'}
            >>> journal.bind_accounts(run, {"encharge": "https://api.encharge.io/v1 account 2"})
            {'encharge': 'https://api.encharge.io/v1 account 1'}
        """
        with self._immediate() as db:
            (text,) = self._run_row(db, run_id, "accounts")
            recorded = dict(json.loads(text)) if text else {}
            merged = {**dict(accounts), **recorded}
            if merged != recorded:
                db.execute("UPDATE runs SET accounts = ? WHERE run_id = ?", (json.dumps(merged, sort_keys=True),
                                                                             run_id))
        return merged

    def mark(self, run_id: str, seqs: Iterable[int], state: str, *, result: Any = None,
             error: str | None = None, attempt: bool = False) -> None:
        """Move items to ``state`` (``attempt=True`` counts a request being sent).

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> journal.mark(run, [1], "done", result={"id": "p1"}, attempt=True)
            >>> journal.items(run).select("state", "attempts", "result").row(0)
            ('done', 1, '{"id": "p1"}')
        """
        if state not in STATES:
            raise ValueError(f"state={state!r}: expected one of {', '.join(STATES)}")
        now = _now()
        text = None if result is None else json.dumps(scrub(result), default=str)
        with self._db() as db:
            db.executemany(
                "UPDATE items SET state = ?, result = COALESCE(?, result), error = ?, updated_at = ?,"
                " attempts = attempts + ? WHERE run_id = ? AND seq = ?",
                [(state, text, error, now, 1 if attempt else 0, run_id, s) for s in seqs])
            db.execute("UPDATE runs SET updated_at = ? WHERE run_id = ?", (now, run_id))

    def acquire(self, run_id: str, token: str) -> int | None:
        """Make ``token`` the run's only worker; returns None, or the pid of the live worker that has it.

        A run whose worker process has died (a killed kernel) can be taken over at once.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> journal.acquire(run, "worker-1") is None   # taken
            True
            >>> journal.acquire(run, "worker-2") == os.getpid()   # refused: this live process holds it
            True
        """
        with self._immediate() as db:
            owner, pid = self._run_row(db, run_id, "owner, owner_pid")
            if owner and owner != token and _alive(pid):
                return int(pid)
            db.execute("UPDATE runs SET owner = ?, owner_pid = ? WHERE run_id = ?", (token, os.getpid(), run_id))
            return None

    def release(self, run_id: str, token: str) -> None:
        """Let go of a run acquired with ``token``.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> _ = journal.acquire(run, "worker-1")
            >>> journal.release(run, "worker-1")
            >>> journal.acquire(run, "worker-2") is None
            True
        """
        with self._db() as db:
            db.execute("UPDATE runs SET owner = NULL, owner_pid = NULL WHERE run_id = ? AND owner = ?",
                       (run_id, token))

    def claim(self, run_id: str, seqs: Iterable[int], *, window: tuple[int, int] | None = None,
              sent_hi: int | None = None, clock: str | None = None) -> list[int]:
        """Mark items ``sending`` (the intent, before the request) if they are still waiting; returns those claimed.

        ``window`` records, in the server's clock (epoch ms), the earliest moment the request
        can reach the server and the latest it may still be acted on: evidence for settling
        an answer that gets lost (see :mod:`enstoolkit.bulk.review`).

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> journal.claim(run, [1, 2], window=(1_000, 2_000)), journal.claim(run, [1])   # claimed once only
            ([1, 2], [])
        """
        claimed = []
        now = _now()
        low, high = window if window is not None else (None, None)
        if clock not in (None, "date", "stamp"):
            raise ValueError(f"clock={clock!r}: expected 'date' or 'stamp'")
        with self._immediate() as db:
            for seq in seqs:
                cursor = db.execute(
                    "UPDATE items SET state = 'sending', attempts = attempts + 1, updated_at = ?, window_lo = ?,"
                    " window_hi = ?, window_sent_hi = ?, window_clock = ? WHERE run_id = ? AND seq = ?"
                    " AND state IN ('pending', 'retry')", (now, low, high, sent_hi, clock, run_id, seq))
                if cursor.rowcount == 1:
                    claimed.append(seq)
        return claimed

    def close_window(self, run_id: str, seq: int, high: int, *, sent_hi: int | None = None) -> None:
        """Record when this machine stopped waiting for an item's answer (server clock, epoch ms), and the upper
        bound of the server's clock when the request went out (``sent_hi``), when it is known more exactly.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> _ = journal.claim(run, [1], window=(1_000, 2_000))
            >>> journal.close_window(run, 1, 1_500)
            >>> journal.window(run, 1)
            (1000, 1500)
        """
        with self._db() as db:
            db.execute("UPDATE items SET window_hi = ?, window_sent_hi = MAX(COALESCE(window_sent_hi, ?), ?) WHERE"
                       " run_id = ? AND seq = ?", (high, sent_hi, sent_hi, run_id, seq))

    def window(self, run_id: str, seq: int) -> tuple[int | None, int | None]:
        """The item's window (see :meth:`claim`): when it may have reached the server, server clock, epoch ms.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> _ = journal.claim(run, [1], window=(1_000, 2_000))
            >>> journal.window(run, 1), journal.window(run, 2)
            ((1000, 2000), (None, None))
        """
        row = self._db().execute("SELECT window_lo, window_hi FROM items WHERE run_id = ? AND seq = ?",
                                 (run_id, seq)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def send_moment(self, run_id: str, seq: int) -> tuple[int | None, int | None, str | None]:
        """Bounds on the server's clock when the item was last sent (epoch ms), and which clock they were read
        in: "stamp" (ENS's own millisecond timestamps, the clock its transactions are dated by) or "date"
        (``Date`` headers only). ``(None, None, None)`` when not recorded; a journal from 0.2.0 has the lower
        bound only.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}])
            >>> _ = journal.claim(run, [1], window=(1_000, 9_000), sent_hi=2_000, clock="date")
            >>> journal.send_moment(run, 1)
            (1000, 2000, 'date')
        """
        row = self._db().execute("SELECT window_lo, window_sent_hi, window_clock FROM items WHERE run_id = ? AND"
                                 " seq = ?", (run_id, seq)).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def claim_evidence(self, ref: str, run_id: str, seq: int) -> bool:
        """Make ``ref`` (a transaction, say) the evidence of one item; False when another item holds it already.

        Each piece of evidence settles at most one item, across every run in the journal.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> ref = "ens:100001:90000001"   # supporter 100001's transaction 90000001
            >>> journal.claim_evidence(ref, run, 1), journal.claim_evidence(ref, run, 2)
            (True, False)
        """
        try:
            with self._db() as db:
                db.execute("INSERT INTO claims (ref, run_id, seq, at) VALUES (?, ?, ?, ?)", (ref, run_id, seq, _now()))
            return True
        except sqlite3.IntegrityError:
            row = self._db().execute("SELECT run_id, seq FROM claims WHERE ref = ?", (ref,)).fetchone()
            return bool(row and row[0] == run_id and row[1] == seq)

    def claimed(self, refs: Iterable[str]) -> dict[str, tuple[str, int]]:
        """Which of ``refs`` are already evidence of an item: ref -> (run_id, seq).

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> _ = journal.claim_evidence("ens:100001:90000001", run, 1)
            >>> journal.claimed(["ens:100001:90000001", "ens:100001:90000002"]) == {"ens:100001:90000001": (run, 1)}
            True
        """
        wanted = list(refs)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._db().execute(f"SELECT ref, run_id, seq FROM claims WHERE ref IN ({marks})", wanted).fetchall()
        return {ref: (run_id, seq) for ref, run_id, seq in rows}

    def set_status(self, run_id: str, status: str, note: str | None = None) -> None:
        """Set a run's status ("running", "stopped", "completed", ...) with a note.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> journal.set_status(run, "stopped", "stopped by the user")
            >>> journal.run(run)["status"], journal.run(run)["note"]
            ('stopped', 'stopped by the user')
        """
        with self._db() as db:
            db.execute("UPDATE runs SET status = ?, note = ?, updated_at = ? WHERE run_id = ?",
                       (status, note, _now(), run_id))

    # -- reading -------------------------------------------------------------------------
    def run(self, run_id: str) -> dict[str, Any]:
        """One run's row (kind, params, status, note).

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> info = journal.run(run)
            >>> info["kind"], info["params"], info["status"], info["note"]
            ('unsubscribe', {}, 'created', None)
        """
        row = self._run_row(self._db(), run_id, "run_id, kind, params, status, note")
        return {"run_id": row[0], "kind": row[1], "params": json.loads(row[2]), "status": row[3], "note": row[4]}

    def pending(self, run_id: str, states: Iterable[str] = ("pending", "retry")) -> list[tuple[int, dict[str, Any]]]:
        """The items in ``states``, in order, with their payloads.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> journal.mark(run, [1], "done")
            >>> journal.pending(run)
            [(2, {'email': 'b@example.org'})]
        """
        wanted = list(states)
        marks = ",".join("?" * len(wanted))
        rows = self._db().execute(
            f"SELECT seq, payload FROM items WHERE run_id = ? AND state IN ({marks}) ORDER BY seq",
            (run_id, *wanted)).fetchall()
        return [(seq, json.loads(payload)) for seq, payload in rows]

    def counts(self, run_id: str) -> dict[str, int]:
        """How many items are in each state.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> journal.mark(run, [1], "failed", error="Person not found.")
            >>> sorted(journal.counts(run).items())
            [('failed', 1), ('pending', 1)]
        """
        rows = self._db().execute("SELECT state, COUNT(*) FROM items WHERE run_id = ? GROUP BY state",
                                  (run_id,)).fetchall()
        return {state: int(n) for state, n in rows}

    def items(self, run_id: str) -> pl.DataFrame:
        """Every item of a run, as a frame.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> journal.items(run).select("seq", "key", "state").rows()
            [(1, '{"email": "a@example.org"}', 'pending'), (2, '{"email": "b@example.org"}', 'pending')]
        """
        rows = self._db().execute(
            "SELECT run_id, seq, key, state, attempts, payload, result, error, updated_at FROM items"
            " WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
        return read_frame([dict(zip(ITEM, r, strict=True)) for r in rows], ITEM)

    def runs(self) -> pl.DataFrame:
        """Every run, newest first, with counts by state.

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}, {"email": "b@example.org"}])
            >>> journal.runs().select("kind", "status", "items", "pending").rows()
            [('unsubscribe', 'created', 2, 2)]
        """
        rows = self._db().execute(
            "SELECT r.run_id, r.kind, r.status, r.note, COUNT(i.seq),"
            " SUM(i.state = 'done'), SUM(i.state IN ('pending', 'retry', 'sending')), SUM(i.state = 'unknown'),"
            " SUM(i.state IN ('failed', 'not found')), r.created_at, r.updated_at, r.params"
            " FROM runs r LEFT JOIN items i ON i.run_id = r.run_id GROUP BY r.run_id"
            " ORDER BY r.created_at DESC, r.run_id DESC").fetchall()
        return read_frame([dict(zip(RUN, r, strict=True)) for r in rows], RUN)

    def export(self, run_id: str, path: str | Path) -> Path:
        """Write a run's items as CSV (safe to open in a spreadsheet).

        Example:
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run = journal.create_run("unsubscribe", {}, [{"email": "a@example.org"}])
            >>> journal.export(run, folder / "run.csv").name
            'run.csv'
        """
        return export_csv(self.items(run_id), path)
