"""Columns a forked child hands back (:mod:`enstoolkit.sandbox._packed`): the same frame as from the values."""

from __future__ import annotations

import datetime as dt

import polars as pl

from enstoolkit.sandbox._packed import SEPARATOR, pack, pack_rows, unpack

SCHEMA = {"text": pl.String, "gaps": pl.String, "odd": pl.String, "n": pl.Int64, "day": pl.Date, "yes": pl.Boolean}


def test_text_columns_travel_as_one_string_and_the_rest_as_lists() -> None:
    columns = [("a", "b, c", 'd "e"', ""), ("x", None, "y", "z"), ("p", f"q{SEPARATOR}r", "s", "t"),
               (1, 2, None, 4), (dt.date(2026, 1, 1),) * 4, (True, False, None, True)]
    packed = pack(columns)
    assert [type(c) for c in packed] == [str, list, list, list, list, list]  # a None or a NUL: sent as a list
    frame = unpack(packed, SCHEMA)
    expected = pl.DataFrame({name: list(values) for name, values in zip(SCHEMA, columns, strict=True)},
                            schema=SCHEMA)
    assert frame.equals(expected)
    assert frame.get_column("odd").to_list()[1] == f"q{SEPARATOR}r"


def test_empty_columns_keep_their_dtypes() -> None:
    frame = unpack(pack([()] * len(SCHEMA)), SCHEMA)
    assert frame.height == 0 and frame.schema == pl.Schema(SCHEMA)


def test_rows_travel_as_their_columns_and_no_rows_as_empty_columns() -> None:
    rows = [("a", 1), ("b", None)]
    assert pack_rows(rows, 2) == pack([("a", "b"), (1, None)]) == [f"a{SEPARATOR}b", [1, None]]
    assert pack_rows([], 3) == [[], [], []]
