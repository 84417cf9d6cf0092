"""History: every audit run and every day's lists kept, what changed since last time, who changed when.

A local store (one DuckDB file in the data folder, ``history.duckdb``) keeps, per account:
every audit run (its parameters, summary and every finding with a stable key) and daily snapshots
of the ENS supporter file and the Encharge people as change intervals (a row per version of a
record, valid from / valid to), never whole copies. See docs/history.md.

- :func:`runs` - the audit runs kept.
- :func:`diff` - per check, new / resolved / still open between two runs (default: the last two).
- :func:`as_of` - the lists as they were on a day.
- :func:`person` - every version of one person in both systems, with the run or day that saw it.
- :class:`History` - the same for one account, and the writing side (``record_audit``,
  ``record_snapshot``), the trend of findings per check and its chart.

Two accounts never mix: every row is kept by its account's identity, and comparing runs of
different accounts, or made with other parameters, raises a typed error
(:mod:`enstoolkit.history.errors`), as do a missing or unreadable store and a day before
history began.

Example:
    >>> path = folder / "history.duckdb"
    >>> h = History("example account", path)
    >>> people = pl.DataFrame({"id": ["p1"], "email": ["jo@example.org"], "unsubscribed": [False]})
    >>> _ = h.record_snapshot("encharge", people, "2026-03-01")
    >>> _ = h.record_snapshot("encharge", people.with_columns(unsubscribed=pl.lit(True)), "2026-03-09")
    >>> as_of("2026-03-05", "encharge", path=path).get_column("unsubscribed").to_list()
    [False]
    >>> person("jo@example.org", path=path).get_column("changes").to_list()
    ['first seen', 'unsubscribed: False -> True']
"""

from .core import MARKER, History, accounts, as_of, diff, person, runs, toolkit_writes
from .database import account_key, default_path
from .errors import (
    AccountMismatch,
    BeforeHistory,
    HistoryError,
    NoSuchRun,
    NotComparable,
    ParametersMismatch,
    StoreCorrupt,
    StoreMissing,
)

__all__ = [
    "MARKER", "AccountMismatch", "BeforeHistory", "History", "HistoryError", "NoSuchRun", "NotComparable",
    "ParametersMismatch", "StoreCorrupt", "StoreMissing", "account_key", "accounts", "as_of", "default_path", "diff",
    "person", "runs", "toolkit_writes",
]
