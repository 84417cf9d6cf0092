"""The errors of the history store: each says what is wrong and what to do instead.

Example:
    >>> print(BeforeHistory("2026-01-01", "2026-03-01"))  # doctest: +NORMALIZE_WHITESPACE
    no history before 2026-03-01: the store began then, so 2026-01-01 cannot be answered
    (ask for a day from 2026-03-01)
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import EnstoolkitError

__all__ = ["AccountMismatch", "BeforeHistory", "HistoryError", "NoSuchRun", "NotComparable", "ParametersMismatch",
           "StoreCorrupt", "StoreMissing"]


class HistoryError(EnstoolkitError):
    """Base class of the history store's errors.

    Example:
        >>> issubclass(StoreMissing, HistoryError)
        True
    """


class StoreMissing(HistoryError, FileNotFoundError):
    """There is no history store at the path (nothing kept yet, or another data folder).

    Example:
        >>> "enstoolkit audit" in str(StoreMissing("/tmp/none.duckdb"))
        True
    """

    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(f"no history store at {path}: nothing has been kept there yet (run `enstoolkit audit`, or "
                         "History.record_audit / record_snapshot, to begin one; ENSTOOLKIT_DATA_DIR chooses the "
                         "folder)")


class StoreCorrupt(HistoryError):
    """The file is not a history store this toolkit can read (damaged, another program's, or a newer layout).

    Example:
        >>> "not a history store" in str(StoreCorrupt("/tmp/x.duckdb", "not a database"))
        True
    """

    def __init__(self, path: object, why: str) -> None:
        self.path = path
        super().__init__(f"{path} is not a history store this toolkit can read: {why} (move it aside to begin a new "
                         "one; nothing was changed in it)")


class AccountMismatch(HistoryError):
    """Runs or records of different accounts were to be compared: they never are.

    Example:
        >>> "different accounts" in str(AccountMismatch("r1", "A", "r2", "B"))
        True
    """

    def __init__(self, first: str, first_account: str, second: str, second_account: str) -> None:
        self.accounts = (first_account, second_account)
        super().__init__(f"runs {first!r} and {second!r} are of different accounts ({first_account} and "
                         f"{second_account}): a diff across accounts would compare different people")


class ParametersMismatch(HistoryError):
    """Two runs were made with other parameters (opt-ins, required fields, staleness...): their findings differ
    for that reason, not because the data changed.

    Example:
        >>> str(ParametersMismatch("r1", "r2", {"STALE_DAYS": (730, 365)}))
        "runs 'r1' and 'r2' were made with other parameters (STALE_DAYS: 730 then 365): compare runs made alike"
    """

    def __init__(self, before: str, after: str, differences: dict[str, tuple[object, object]]) -> None:
        self.differences = differences
        shown = "; ".join(f"{k}: {a!r} then {b!r}" for k, (a, b) in sorted(differences.items()))
        super().__init__(f"runs {before!r} and {after!r} were made with other parameters ({shown}): "
                         "compare runs made alike")


class NoSuchRun(HistoryError, KeyError):
    """A run id that the account's history does not hold.

    Example:
        >>> "r9" in str(NoSuchRun("r9", ["r1", "r2"]))
        True
    """

    def __init__(self, run: object, known: Iterable[str]) -> None:
        shown = list(known)
        listing = ", ".join(shown[-5:]) if shown else "none yet"
        super().__init__(f"no run {run!r} in this account's history (latest runs: {listing})")

    def __str__(self) -> str:
        return str(self.args[0])


class NotComparable(HistoryError):
    """There are not two runs to compare (or the run asked for is the only one).

    Example:
        >>> "2 runs" in str(NotComparable("the account has 1 run"))
        True
    """

    def __init__(self, why: str) -> None:
        super().__init__(f"nothing to compare: {why}; a diff needs 2 runs of the same account")


class BeforeHistory(HistoryError, ValueError):
    """A day before the history of the account (or of that system) began: the answer is not known.

    Example:
        >>> BeforeHistory("2026-01-01", "2026-03-01").first
        '2026-03-01'
    """

    def __init__(self, day: object, first: object) -> None:
        self.day, self.first = str(day), str(first)
        super().__init__(f"no history before {first}: the store began then, so {day} cannot be answered "
                         f"(ask for a day from {first})")
