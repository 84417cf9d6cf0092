"""The consent change log: every consent change the sync made (never one it only planned), for the
organisation's data-protection records.

Each row says who was changed (email, ENS supporter, Encharge person), by whom (the operator: the
OS user unless told), when (UTC, on the clock of the system that made the change, as its answers
show it), where (``system``), what (``action``, ``question``), why (``reason``) and on what evidence
(the ENS answer and its date, the suppression, Encharge's status and its source, the dates of the
unsubscribe and of an erasure). It is an append-only SQLite file beside the bulk journal
(``consent-changes.sqlite3``); a change is written once per plan row, however often a resumed run
sends it. :func:`read_changes` gives it as a typed frame, :func:`export_changes` as a CSV safe to
open in a spreadsheet. It holds identifiers and consent facts only, never keys or tokens.

Example:
    >>> log = ChangeLog(folder / "consent-changes.sqlite3")
    >>> item = {"row": 1, "email": "a@example.org", "system": "Encharge", "action": "unsubscribe",
    ...         "reason": "ENS Marketing Optin: N", "evidence": {"ensAnswer": "N"}}
    >>> log.record("plan-1", item, by="analyst", when=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    True
    >>> log.record("plan-1", item, by="analyst", when=dt.datetime(2026, 10, 2, tzinfo=dt.UTC))  # once only
    False
    >>> log.read().select("email", "action", "ensAnswer", "by").rows()
    [('a@example.org', 'unsubscribe', 'N', 'analyst')]
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, closing
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..records.exports import export_csv
from ..records.paths import data_dir
from ..records.store import Schema, connect, open_store, transaction
from ..schemas.frames import read_frame
from ..schemas.results import CONSENT_CHANGE, CONSENT_EVIDENCE

__all__ = ["CHANGELOG_NAME", "CHANGELOG_SCHEMA", "ChangeLog", "changelog_path", "export_changes", "operator",
           "read_changes"]

#: The change log's file name (beside the journal: in the enstoolkit data folder by default).
CHANGELOG_NAME = "consent-changes.sqlite3"

#: The consent change log's file format (see :mod:`enstoolkit.records.store`): evidence, so written with
#: synchronous=FULL.
CHANGELOG_SCHEMA = Schema(
    "consent change log", 1,
    ("CREATE TABLE IF NOT EXISTS changes (plan_id TEXT NOT NULL, row INTEGER NOT NULL, changed_at INTEGER NOT NULL,"
     " by TEXT NOT NULL, email TEXT, supporter_id INTEGER, person_id TEXT, system TEXT NOT NULL, action TEXT NOT NULL,"
     " question TEXT, reason TEXT, evidence TEXT NOT NULL, PRIMARY KEY (plan_id, row))",
     "CREATE TABLE IF NOT EXISTS runs (plan_id TEXT PRIMARY KEY, run_id TEXT NOT NULL)"),
    evidence=True)


def operator(by: str | None = None) -> str:
    """Who is making the changes: ``by`` when given (trimmed), else the operating system's user name.

    Example:
        >>> operator(" Data Protection Officer ")
        'Data Protection Officer'
    """
    if by is not None:
        if not isinstance(by, str) or not by.strip() or len(by) > 200:
            raise ValidationError("by", by, "the name of the person making the changes (text)")
        return by.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment (some containers)
        name = os.environ.get("USER") or os.environ.get("USERNAME")
        if name:
            return name
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def changelog_path(journal: Any = None) -> Path:
    """Where the change log is: beside ``journal`` (a :class:`~enstoolkit.bulk.Journal`), else in the data folder.

    Example:
        >>> changelog_path().name
        'consent-changes.sqlite3'
    """
    if journal is None:
        return data_dir() / CHANGELOG_NAME
    return Path(journal.path).with_name(CHANGELOG_NAME)


def _millis(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise ValidationError("when", moment, "a moment with a time zone (UTC)")
    return int(moment.timestamp() * 1000)


class ChangeLog:
    """The append-only SQLite consent change log (default: ``consent-changes.sqlite3`` in the data folder).

    Example:
        >>> ChangeLog(folder / "log.sqlite3").read().height
        0
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else changelog_path()
        open_store(self.path, CHANGELOG_SCHEMA)

    def __repr__(self) -> str:
        return f"ChangeLog({str(self.path)!r})"

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path, CHANGELOG_SCHEMA)

    def record(self, plan_id: str, item: Mapping[str, Any], *, by: str, when: dt.datetime) -> bool:
        """Append one change made (a plan row as :func:`~enstoolkit.sync.apply_plan` journals it); True if new.

        A change already recorded for the same plan row is left as it was (a resumed run sends
        an interrupted item again: it is still one change).

        Example:
            >>> log = ChangeLog(folder / "log.sqlite3")
            >>> item = {"row": 1, "email": "a@example.org", "system": "Encharge", "action": "unsubscribe",
            ...         "reason": "ENS Marketing Optin: N; Encharge subscribed"}
            >>> when = dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC)
            >>> log.record("plan-1", item, by="Data team", when=when), log.record("plan-1", item, by="x", when=when)
            (True, False)
        """
        evidence = {k: v for k, v in dict(item.get("evidence") or {}).items() if k in CONSENT_EVIDENCE}
        with self._db() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO changes (plan_id, row, changed_at, by, email, supporter_id, person_id, system,"
                " action, question, reason, evidence) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (plan_id, int(item["row"]), _millis(when), by, item.get("email"), item.get("supporterId"),
                 item.get("personId"), item["system"], item["action"], item.get("question"), item.get("reason"),
                 json.dumps(evidence, default=str)))
            return cursor.rowcount == 1

    def link(self, plan_id: str, run_id: str) -> None:
        """Record which journalled run carries out a plan (shown as ``run_id`` in :meth:`read`).

        Example:
            >>> log = ChangeLog(folder / "log.sqlite3")
            >>> log.record("plan-1", {"row": 1, "email": "a@example.org", "system": "Encharge",
            ...                       "action": "unsubscribe"}, by="me", when=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
            True
            >>> log.link("plan-1", "run-9"); log.read().item(0, "run_id")
            'run-9'
        """
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO runs (plan_id, run_id) VALUES (?, ?)", (plan_id, run_id))

    def claim_plan(self, plan_id: str, make_run: Callable[[], str]) -> tuple[str, bool]:
        """The run that carries out a plan: the one linked already (and False), or one made now by ``make_run``
        and linked (and True). Two processes applying the same plan at once get the same run.

        Example:
            >>> log = ChangeLog(folder / "log.sqlite3")
            >>> log.claim_plan("plan-1", lambda: "run-1"), log.claim_plan("plan-1", lambda: "run-2")
            (('run-1', True), ('run-1', False))
        """
        with closing(connect(self.path, CHANGELOG_SCHEMA, autocommit=True)) as db:
            db.execute("BEGIN IMMEDIATE")  # one process at a time: the other finds the run linked
            try:
                row = db.execute("SELECT run_id FROM runs WHERE plan_id = ?", (plan_id,)).fetchone()
                if row is not None:
                    db.execute("COMMIT")
                    return str(row[0]), False
                run_id = make_run()
                db.execute("INSERT INTO runs (plan_id, run_id) VALUES (?, ?)", (plan_id, run_id))
                db.execute("COMMIT")
                return run_id, True
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def read(self) -> pl.DataFrame:
        """Every change, oldest first (schema :data:`~enstoolkit.schemas.results.CONSENT_CHANGE`).

        Example:
            >>> log = ChangeLog(folder / "log.sqlite3")
            >>> when = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
            >>> _ = log.record("p", {"row": 3, "email": "b@example.org", "system": "ENS", "action": "opt out",
            ...                      "question": "Marketing Optin"}, by="me", when=when)
            >>> log.read().select("email", "system", "action", "question").row(0)
            ('b@example.org', 'ENS', 'opt out', 'Marketing Optin')
        """
        with self._db() as db:
            rows = db.execute(
                "SELECT c.changed_at, c.by, c.email, c.supporter_id, c.person_id, c.system, c.action, c.question,"
                " c.reason, c.evidence, r.run_id, c.plan_id, c.row FROM changes c LEFT JOIN runs r"
                " ON r.plan_id = c.plan_id ORDER BY c.changed_at, c.plan_id, c.row").fetchall()
        records = []
        for (changed_at, by, email, sid, pid, system, action, question, reason, evidence, run_id, plan_id,
             row) in rows:
            records.append({"changedAt": changed_at, "by": by, "email": email, "supporterId": sid, "personId": pid,
                            "system": system, "action": action, "question": question, "reason": reason,
                            **json.loads(evidence), "run_id": run_id, "plan_id": plan_id, "row": row})
        return read_frame(records, CONSENT_CHANGE)

    def export(self, path: str | Path, *, run_id: str | None = None) -> Path:
        """Write the change log (or one run's changes) as CSV, safe to open in a spreadsheet.

        Example:
            >>> log = ChangeLog(folder / "log.sqlite3")
            >>> _ = log.record("p", {"row": 1, "email": "=cmd@example.org", "system": "Encharge",
            ...                      "action": "unsubscribe"}, by="me", when=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
            >>> "'=cmd@example.org" in log.export(folder / "changes.csv").read_text()
            True
        """
        return export_csv(self._of(run_id), path)

    def _of(self, run_id: str | None) -> pl.DataFrame:
        changes = self.read()
        return changes if run_id is None else changes.filter(pl.col("run_id") == run_id)


def _log(source: Any) -> ChangeLog:
    if source is None or isinstance(source, (str, Path)):
        return ChangeLog(source)
    if isinstance(source, ChangeLog):
        return source
    if hasattr(source, "path") and hasattr(source, "create_run"):  # a Journal: its change log is beside it
        return ChangeLog(changelog_path(source))
    raise ValidationError("source", type(source).__name__, "a change log path, a ChangeLog, a Journal or None")


def read_changes(source: Any = None, *, run_id: str | None = None) -> pl.DataFrame:
    """The consent change log as a frame: of the data folder, of a path, or beside a :class:`~enstoolkit.bulk.Journal`.

    Example:
        >>> read_changes(folder / "none.sqlite3").columns[:3]
        ['changedAt', 'by', 'email']
    """
    return _log(source)._of(run_id)


def export_changes(path: str | Path, source: Any = None, *, run_id: str | None = None) -> Path:
    """Write the consent change log (or one run's changes) to a CSV file safe to open in a spreadsheet.

    Example:
        >>> export_changes(folder / "changes.csv", folder / "log.sqlite3").read_text().split(",")[:2]
        ['changedAt', 'by']
    """
    return _log(source).export(path, run_id=run_id)
