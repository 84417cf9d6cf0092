"""Columns a forked child hands back to the sandbox's process with few objects to pickle.

A child of :mod:`~enstoolkit.sandbox._fork` makes an export file's values in plain Python and sends
them through a pipe. Sent as rows, every value is an object to pickle and unpickle again in the
parent, which holds the interpreter that serves the other requests meanwhile. Sent as columns,
each text column is one string of its values joined by NUL, which polars splits again over the
whole column; a column with other values (or a NUL in a value) is sent as its list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

__all__ = ["SEPARATOR", "pack", "pack_rows", "unpack"]

#: What joins a text column's values (no value of a text column sent joined holds it).
SEPARATOR = "\x00"


def pack(columns: Sequence[Sequence[Any]]) -> list[str | list[Any]]:
    """Each column as one NUL-joined string when every value is text without a NUL, else as its list."""
    out: list[str | list[Any]] = []
    for values in columns:
        if values and all(type(v) is str for v in values):
            joined = SEPARATOR.join(values)
            if joined.count(SEPARATOR) == len(values) - 1:
                out.append(joined)
                continue
        out.append(list(values))
    return out


def pack_rows(rows: Sequence[Sequence[Any]], width: int) -> list[str | list[Any]]:
    """Rows of ``width`` values each as :func:`pack`'s columns (``width`` empty columns for no rows)."""
    return pack(list(zip(*rows, strict=True)) if rows else [()] * width)


def unpack(packed: Sequence[str | list[Any]], schema: Mapping[str, pl.DataType | type[pl.DataType]]
           ) -> pl.DataFrame:
    """:func:`pack`'s columns as a frame with these names and dtypes (as many as there are columns)."""
    series = []
    for (name, dtype), values in zip(schema.items(), packed, strict=True):
        if isinstance(values, str):
            text = pl.Series(name, [values], dtype=pl.String).str.split(SEPARATOR).explode()
            series.append(text if text.dtype == dtype else text.cast(dtype))
        else:
            series.append(pl.Series(name, values, dtype=dtype))
    return pl.DataFrame(series)
