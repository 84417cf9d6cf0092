"""The :class:`History` of one account: its audit runs and daily snapshots, and the questions asked of them.

Example:
    >>> history = History("example account", folder / "history.duckdb")
    >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["invalid email"], "severity": ["high"],
    ...                   "detail": ["not a valid email address: 'a@x'"]})
    >>> r1 = history.record_audit(f, parameters={"STALE_DAYS": 730}, day=dt.date(2026, 3, 1))
    >>> r2 = history.record_audit(f.clear(), parameters={"STALE_DAYS": 730}, day=dt.date(2026, 3, 2))
    >>> history.diff().select("check", "new", "resolved", "still_open").rows()
    [('invalid email', 0, 1, 0)]
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import polars as pl

from ..errors import ValidationError
from . import audit_runs, snapshots
from .database import account_key, default_path, open_store
from .errors import HistoryError, StoreMissing

if TYPE_CHECKING:
    import altair as alt

    from ..bulk import Journal
    from ..config.connect import Connection

__all__ = ["MARKER", "History", "accounts", "as_of", "diff", "history_of", "person", "runs"]

#: The file an audit writes beside its reports to say which account and run it kept.
MARKER = "audit_run.json"
_EMAIL = re.compile(r"[^\s\"'<>,;:@]+@[^\s\"'<>,;:@]+\.[^\s\"'<>,;:@]+")


class History:
    """The kept history of one pair of accounts (ENS and Encharge), in the store at ``path``.

    Args:
        account: the account's identity (:func:`enstoolkit.history.database.account_key`); every row read
            or written is this account's only.
        path: the store (default: ``history.duckdb`` in the data folder).
        connection: the clients, when known: the toolkit's own writes to these accounts (its bulk
            journal) are then told apart from other changes.
        journal: the bulk journal to read them from (default: the data folder's).

    Example:
        >>> from enstoolkit.config import connect
        >>> history = History.for_connection(connect(environ={}), folder / "h.duckdb")
        >>> history.account.startswith("ENS sandbox")
        True
    """

    def __init__(self, account: str, path: str | Path | None = None, *, connection: Connection | None = None,
                 journal: Journal | None = None) -> None:
        if not isinstance(account, str) or not account.strip():
            raise ValidationError("account", account, "an account identity (History.for_connection gives it)")
        self.account = account
        self.path = Path(path) if path is not None else default_path()
        self.connection = connection
        self.journal = journal

    @property
    def kept(self) -> bool:
        """Whether anything has been kept for any account at ``path`` yet (the store exists).

        Example:
            >>> History("acct", "/nonexistent/history.duckdb").kept
            False
        """
        return self.path.exists()

    def __repr__(self) -> str:
        return f"History(account={self.account!r}, path={str(self.path)!r})"

    @classmethod
    def for_connection(cls, connection: Connection, path: str | Path | None = None, *,
                       sandbox: str | None = None, journal: Journal | None = None) -> History:
        """The history of the accounts a :class:`~enstoolkit.config.connect.Connection` works on.

        ``sandbox`` describes the sandbox (size, variant) when the connection is to one: a sandbox of
        another size is another account (see :func:`~enstoolkit.history.database.account_key`).

        Example:
            >>> from enstoolkit.config import connect
            >>> History.for_connection(connect(environ={})).path.name
            'history.duckdb'
        """
        return cls(account_key(connection, sandbox=sandbox), path, connection=connection, journal=journal)

    # -- writing -------------------------------------------------------------------------------
    def record_audit(self, findings: pl.DataFrame, *, parameters: Mapping[str, Any], day: dt.date,
                     supporters: pl.DataFrame | None = None, people: pl.DataFrame | None = None,
                     started_at: dt.datetime | None = None, run_id: str | None = None) -> str:
        """Keep an audit run (parameters, summary, every finding) and, when given, the day's snapshots of the
        supporter file and the Encharge people (change intervals, seen by this run). Returns the run id
        (``run_id`` when given: one the day's snapshots were already kept under, see :meth:`record_snapshot`).

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> f = pl.DataFrame([], schema={"supporterId": pl.Int64, "email": pl.String, "check": pl.String,
            ...                              "severity": pl.String, "detail": pl.String})
            >>> run = h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))
            >>> h.runs().get_column("run_id").to_list() == [run]
            True
        """
        with open_store(self.path, create=True) as db:
            run = audit_runs.record_run(db, self.account, findings, parameters, day, started_at=started_at,
                                        run_id=run_id)
            for system, frame in (("ens", supporters), ("encharge", people)):
                if frame is not None:
                    snapshots.record_snapshot(db, self.account, system, frame, day, run_id=run,
                                           toolkit_keys=self._toolkit_keys(db, system, day))
        return run

    def record_snapshot(self, system: str, frame: pl.DataFrame, day: dt.date | str, *,
                        toolkit_keys: Iterable[str] | None = None, run_id: str | None = None) -> dict[str, Any]:
        """Keep ``frame`` as the state of ``system`` ("ens" or "encharge") on ``day``; returns the counts.

        ``toolkit_keys`` (email keys or supporter ids the toolkit wrote to since the previous snapshot)
        defaults to what the bulk journal holds for this connection's accounts. ``run_id`` marks the
        versions as seen by that audit run (its id from :func:`~enstoolkit.history.audit_runs.new_run_id`, the
        run kept by :meth:`record_audit` with the same id).

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> people = pl.DataFrame({"id": ["p1"], "email": ["a@x.org"], "unsubscribed": [False]})
            >>> h.record_snapshot("encharge", people, "2026-03-01")["added"]
            1
        """
        with open_store(self.path, create=True) as db:
            keys = self._toolkit_keys(db, system, day) if toolkit_keys is None else toolkit_keys
            return snapshots.record_snapshot(db, self.account, system, frame, day, toolkit_keys=keys, run_id=run_id)

    def _toolkit_keys(self, db: Any, system: str, day: dt.date | str) -> set[str]:
        """Emails and supporter ids the bulk journal wrote to on these accounts since the previous snapshot."""
        if self.connection is None:
            return set()
        row = db.execute("SELECT max(day) FROM snapshots WHERE account = ? AND system = ?",
                         [self.account, system]).fetchall()[0]
        since = row[0] if row and row[0] is not None else None
        return toolkit_writes(self.connection, since=since, journal=self.journal)

    # -- reading -------------------------------------------------------------------------------
    def _read(self) -> Any:
        if not self.path.exists():
            raise StoreMissing(self.path)
        return open_store(self.path, read_only=True)

    def runs(self) -> pl.DataFrame:
        """This account's audit runs, oldest first: id, when, day, findings, checks that could not run, parameters.

        Example:
            >>> History("acct", folder / "h.duckdb").runs()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            enstoolkit.history.errors.StoreMissing: no history store at ...
        """
        with self._read() as db:
            return audit_runs.list_runs(db, self.account)

    def diff(self, before: str | None = None, after: str | None = None, *, rows: bool = False) -> pl.DataFrame:
        """Per check: ``new``, ``resolved`` and ``still_open`` findings between two runs (default: the last two).

        With ``rows=True`` every finding of either run with its ``status``. Runs of another account raise
        :class:`~enstoolkit.history.errors.AccountMismatch`, runs made with other parameters
        :class:`~enstoolkit.history.errors.ParametersMismatch`; a check that could not run in one of them
        has no counts and a note.

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["c"], "severity": ["low"],
            ...                   "detail": [""]})
            >>> _ = h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))
            >>> h.diff()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            enstoolkit.history.errors.NotComparable: nothing to compare: run '...' is this account's first; ...
        """
        with self._read() as db:
            return audit_runs.diff_runs(db, self.account, before, after, rows=rows)

    def findings(self, run: str) -> pl.DataFrame:
        """Every finding of one of this account's runs.

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["c"], "severity": ["low"],
            ...                   "detail": [""]})
            >>> h.findings(h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))).height
            1
        """
        with self._read() as db:
            return audit_runs.run_findings(db, self.account, run)

    @overload
    def as_of(self, day: dt.date | str, system: str, *, email: str | None = None) -> pl.DataFrame: ...

    @overload
    def as_of(self, day: dt.date | str, system: None = None, *, email: str | None = None
              ) -> dict[str, pl.DataFrame]: ...

    def as_of(self, day: dt.date | str, system: str | None = None, *, email: str | None = None
              ) -> pl.DataFrame | dict[str, pl.DataFrame]:
        """The lists as they were on ``day``: one system's frame, or ``{"ens": ..., "encharge": ...}``.

        ``email`` narrows them to one person. A day before history began raises
        :class:`~enstoolkit.history.errors.BeforeHistory`.

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> _ = h.record_snapshot("encharge", pl.DataFrame({"id": ["p1"], "email": ["a@x.org"]}), "2026-03-01")
            >>> h.as_of("2026-03-05", "encharge").get_column("id").to_list()
            ['p1']
        """
        with self._read() as db:
            if system is not None:
                return snapshots.as_of(db, self.account, day, system, email=email)
            kept = [s for s in snapshots.SYSTEMS if snapshots.first_day(db, self.account, s) is not None]
            if not kept:
                raise HistoryError("no snapshot has been kept for this account (record_snapshot, or "
                                   "`enstoolkit audit`, keeps one)")
            return {s: snapshots.as_of(db, self.account, day, s, email=email) for s in kept}

    def person(self, email: str) -> pl.DataFrame:
        """Every version of this person in both systems, oldest first, with the run or day that saw each change.

        A person never kept raises :class:`~enstoolkit.history.errors.HistoryError` (never an empty answer
        that reads as "no changes").

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> p = pl.DataFrame({"id": ["p1"], "email": ["a@x.org"], "unsubscribed": [False]})
            >>> _ = h.record_snapshot("encharge", p, "2026-03-01")
            >>> _ = h.record_snapshot("encharge", p.with_columns(unsubscribed=pl.lit(True)), "2026-03-04")
            >>> h.person("A@x.org ").select("valid_from", "changes").rows()
            [(datetime.date(2026, 3, 1), 'first seen'), (datetime.date(2026, 3, 4), 'unsubscribed: False -> True')]
        """
        with self._read() as db:
            found = snapshots.person_versions(db, self.account, email)
            if found.height == 0:
                days = db.execute("SELECT min(day), max(day) FROM snapshots WHERE account = ?",
                                  [self.account]).fetchall()[0]
                span = f"from {days[0]} to {days[1]}" if days and days[0] else "none kept yet"
                raise HistoryError(f"no record with the email {email.strip()!r} in this account's snapshots "
                                   f"({span})")
            return found

    def trend(self) -> pl.DataFrame:
        """Findings per check per run, oldest first (0 where a check found nothing; null where it could not run).

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["c"], "severity": ["low"],
            ...                   "detail": [""]})
            >>> _ = h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))
            >>> _ = h.record_audit(f.clear(), parameters={}, day=dt.date(2026, 3, 2))
            >>> h.trend().get_column("findings").to_list()
            [1, 0]
        """
        with self._read() as db:
            return audit_runs.trend(db, self.account)

    def trend_chart(self) -> alt.Chart:
        """An altair line chart of findings per check over this account's runs (for the audit report).

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["c"], "severity": ["low"],
            ...                   "detail": [""]})
            >>> _ = h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))
            >>> h.trend_chart().to_dict()["mark"]["type"]
            'line'
        """
        from .report import trend_chart

        return trend_chart(self.trend())

    # -- what changed, in words -----------------------------------------------------------------
    def changes_text(self, run: str | None = None) -> str:
        """Per check, new / resolved / still open since the run before ``run`` (default: the latest), as lines.

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["c"], "severity": ["low"],
            ...                   "detail": [""]})
            >>> print(h.changes_text(h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))))
            First run kept for this account: nothing to compare with yet.
        """
        from .report import changes_text

        return changes_text(self, run)

    def summary_line(self, run: str | None = None) -> str:
        """One line of counts for a run against the one before (no names, emails or ids of people).

        Example:
            >>> h = History("acct", folder / "h.duckdb")
            >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["c"], "severity": ["low"],
            ...                   "detail": [""]})
            >>> run = h.record_audit(f, parameters={}, day=dt.date(2026, 3, 1))
            >>> h.summary_line(run).endswith("1 findings; first run kept")
            True
        """
        from .report import summary_line

        return summary_line(self, run)

    def write_marker(self, run: str, folder: str | Path) -> Path:
        """Write :data:`MARKER` into ``folder``: which store, account and run the audit kept (no secret, no person).

        Example:
            >>> import tempfile
            >>> h = History("acct", Path(tempfile.mkdtemp()) / "h.duckdb")
            >>> json.loads(h.write_marker("r1", tempfile.mkdtemp()).read_text())["run_id"]
            'r1'
        """
        target = Path(folder) / MARKER
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"store": str(self.path), "account": self.account, "run_id": run}, indent=2))
        return target

    @classmethod
    def from_marker(cls, folder: str | Path) -> tuple[History, str]:
        """The history and run an audit's :data:`MARKER` in ``folder`` names.

        Example:
            >>> import tempfile
            >>> folder = tempfile.mkdtemp()
            >>> _ = History("acct", Path(folder) / "h.duckdb").write_marker("r1", folder)
            >>> History.from_marker(folder)[1]
            'r1'
        """
        marker = Path(folder) / MARKER
        if not marker.exists():
            raise HistoryError(f"{marker} does not exist: the audit in {folder} kept no run")
        try:
            data = json.loads(marker.read_text())
            return cls(data["account"], data["store"]), str(data["run_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise HistoryError(f"{marker} cannot be read ({exc}): it is not an audit's run marker") from None


def toolkit_writes(connection: Connection, *, since: dt.date | None = None, journal: Journal | None = None) -> set[str]:
    """Emails (trimmed, lowercased) and supporter ids that the toolkit's bulk journal wrote to on this
    connection's accounts from ``since`` on (every write when ``since`` is None).

    Example:
        >>> from enstoolkit.config import connect
        >>> from enstoolkit.bulk import Journal
        >>> toolkit_writes(connect(environ={}), journal=Journal(folder / "j.sqlite3"))
        set()
    """
    from ..bulk import Journal

    log = journal if journal is not None else Journal()
    if not log.path.exists():
        return set()
    ours = {connection.ens._account_fingerprint(), connection.encharge._account_fingerprint()}
    keys: set[str] = set()
    runs = log.runs()
    for run_id in runs.get_column("run_id").to_list():
        if not set(log.accounts(run_id).values()) & ours:
            continue
        items = log.items(run_id).filter(pl.col("state") == "done")
        if since is not None:
            items = items.filter(pl.col("updated_at").dt.date() >= since)
        for key, payload in items.select("key", "payload").iter_rows():
            text = f"{key} {payload}"
            keys.update(m.lower() for m in _EMAIL.findall(text))
            keys.update(re.findall(r'"supporterId":\s*"?(\d+)', text))
    return keys


def _only_account(path: Path | None) -> str:
    found = accounts(path)
    if len(found) == 1:
        return found[0]
    if not found:
        raise HistoryError("the history store holds no account yet (run `enstoolkit audit` to keep one)")
    raise HistoryError("the history store holds several accounts; name one with account= (one of: "
                       + "; ".join(found) + ")")


def accounts(path: str | Path | None = None) -> list[str]:
    """The accounts the store at ``path`` holds (their identities, no secret).

    Example:
        >>> path = folder / "h.duckdb"
        >>> _ = History("acct", path).record_snapshot("encharge", pl.DataFrame({"id": ["p1"], "email": ["a@x.org"]}),
        ...                                           "2026-03-01")
        >>> accounts(path)
        ['acct']
    """
    target = Path(path) if path is not None else default_path()
    with open_store(target, read_only=True) as db:
        rows = db.execute("SELECT account FROM runs UNION SELECT account FROM snapshots ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def history_of(account: str | None, path: str | Path | None) -> History:
    """The :class:`History` of ``account`` in the store at ``path`` (default: the data folder's); with no
    account, the store's only one (an error names them when it holds several)."""
    target = Path(path) if path is not None else default_path()
    return History(account if account is not None else _only_account(target), target)


def runs(*, account: str | None = None, path: str | Path | None = None) -> pl.DataFrame:
    """The audit runs kept (of ``account``; when the store holds one account only, that one).

    Example:
        >>> runs(path=folder / "none.duckdb")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        enstoolkit.history.errors.StoreMissing: no history store at ...
    """
    return history_of(account, path).runs()


def diff(before: str | None = None, after: str | None = None, *, account: str | None = None,
         path: str | Path | None = None, rows: bool = False) -> pl.DataFrame:
    """Per check new / resolved / still open between two runs (default: the last two); see :meth:`History.diff`.

    Example:
        >>> path = folder / "h.duckdb"
        >>> f = pl.DataFrame({"supporterId": [1], "email": ["a@x.org"], "check": ["c"], "severity": ["low"],
        ...                   "detail": [""]})
        >>> for day in (1, 2):
        ...     _ = History("acct", path).record_audit(f, parameters={}, day=dt.date(2026, 3, day))
        >>> diff(path=path).select("new", "resolved", "still_open").row(0)
        (0, 0, 1)
    """
    return history_of(account, path).diff(before, after, rows=rows)


@overload
def as_of(day: dt.date | str, system: str, *, email: str | None = None, account: str | None = None,
          path: str | Path | None = None) -> pl.DataFrame: ...


@overload
def as_of(day: dt.date | str, system: None = None, *, email: str | None = None, account: str | None = None,
          path: str | Path | None = None) -> dict[str, pl.DataFrame]: ...


def as_of(day: dt.date | str, system: str | None = None, *, email: str | None = None, account: str | None = None,
          path: str | Path | None = None) -> pl.DataFrame | dict[str, pl.DataFrame]:
    """The lists as they were on ``day``; see :meth:`History.as_of`.

    Example:
        >>> path = folder / "h.duckdb"
        >>> _ = History("acct", path).record_snapshot("encharge", pl.DataFrame({"id": ["p1"], "email": ["a@x.org"]}),
        ...                                           "2026-03-01")
        >>> as_of("2026-02-01", path=path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        enstoolkit.history.errors.BeforeHistory: no history before 2026-03-01: ...
    """
    history = history_of(account, path)
    return history.as_of(day, system, email=email) if system is not None else history.as_of(day, email=email)


def person(email: str, *, account: str | None = None, path: str | Path | None = None) -> pl.DataFrame:
    """Every version of one person in both systems; see :meth:`History.person`.

    Example:
        >>> path = folder / "h.duckdb"
        >>> _ = History("acct", path).record_snapshot("encharge", pl.DataFrame({"id": ["p1"], "email": ["a@x.org"]}),
        ...                                           "2026-03-01")
        >>> person("a@x.org", path=path).get_column("system").to_list()
        ['encharge']
    """
    return history_of(account, path).person(email)
