"""The lists as of a day, written to CSV (safe to open in a spreadsheet) or Parquet.

Example:
    >>> from enstoolkit.history import History
    >>> h = History("acct", folder / "h.duckdb")
    >>> _ = h.record_snapshot("encharge", pl.DataFrame({"id": ["p1"], "email": ["a@x.org"], "tags": [["vip"]]}),
    ...                       "2026-03-01")
    >>> [(p.name, n) for p, n in write_as_of(h, "2026-03-02", folder / "people.csv")]
    [('people-encharge.csv', 1)]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ..errors import ValidationError

if TYPE_CHECKING:
    from .core import History

__all__ = ["write_as_of"]


def write_as_of(history: History, day: str, out: str | Path, *, system: str | None = None,
                email: str | None = None) -> list[tuple[Path, int]]:
    """Write each kept system's list as of ``day``; returns (file, rows) for each file written.

    ``out`` ends in ``.csv`` or ``.parquet``; with more than one system, ``-ens`` / ``-encharge`` is added
    to its name. In CSV, list columns (Encharge tags) are joined with "; ".
    """
    target = Path(out)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValidationError("out", str(out), "a file name ending in .csv or .parquet")
    found = history.as_of(day, system, email=email)
    frames = {system: found} if isinstance(found, pl.DataFrame) else found
    written = []
    for name, frame in frames.items():
        path = target if system is not None else target.with_name(f"{target.stem}-{name}{target.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".parquet":
            frame.write_parquet(path)
        else:
            from ..records.exports import export_csv

            lists = [c for c, t in frame.schema.items() if isinstance(t, pl.List)]
            export_csv(frame.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join("; ") for c in lists), path)
        written.append((path, frame.height))
    return written
