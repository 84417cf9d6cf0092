"""Tables for readers: ``great_tables`` HTML with full text, thousands separators and percentages, and a CSV link.

Polars' text repr (``shape: (9, 4)``, a dtype row, quoted strings cut at 30 characters) is for
developers. :func:`table_html` formats a frame with great_tables (the counts with thousands
separators, the rates as percentages, every text in full, cells escaped) and puts beneath it a
link that downloads the whole table as CSV from the page itself (a ``data:`` URI: nothing is
fetched, so it works from a file opened offline). The CSV is formula-safe
(:func:`enstoolkit.records.exports.neutralise`).

Example:
    >>> html = table_html(pl.DataFrame({"question": ["Marketing Optin"], "supporters": [12500], "rate": [0.4125]}),
    ...                   name="rates", counts=["supporters"], percents=["rate"])
    >>> "12,500" in html and "41.2%" in html and 'download="rates.csv"' in html
    True
"""

from __future__ import annotations

import base64
import html as _html
import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from ..records.exports import neutralise

__all__ = ["column_label", "csv_data_uri", "table_html"]

_LABELS = {"supporterId": "supporter ID", "campaignId": "campaign ID", "rate_answered": "rate (of those who answered)",
           "still_open": "still open"}


def column_label(name: str) -> str:
    """A column name as a reader reads it: ``opted_in`` as "opted in", ``supporterId`` as "supporter ID".

    Example:
        >>> column_label("joined_opted_in"), column_label("supporterId")
        ('joined opted in', 'supporter ID')
    """
    return _LABELS.get(name, re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " "))


def csv_data_uri(df: pl.DataFrame) -> str:
    """The frame as a formula-safe CSV in a ``data:`` URI (UTF-8 with a byte-order mark, for spreadsheets).

    Example:
        >>> import base64
        >>> uri = csv_data_uri(pl.DataFrame({"a": ["=1+1"]}))
        >>> base64.b64decode(uri.split(",", 1)[1]).decode("utf-8-sig").splitlines()
        ['a', "'=1+1"]
    """
    text = neutralise(df).write_csv()
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(("\ufeff" + text).encode()).decode("ascii")


def _gt(df: pl.DataFrame) -> Any:
    try:
        from great_tables import GT
    except ImportError as exc:
        from ..errors import MissingExtra

        raise MissingExtra("report", "formatting report tables") from exc
    return GT(df)


def table_html(df: pl.DataFrame, *, name: str, title: str | None = None, counts: Sequence[str] = (),
               percents: Sequence[str] = (), limit: int | None = None, csv: pl.DataFrame | None = None) -> str:
    """One table as HTML: great_tables formatting, then a link downloading it (or ``csv``) whole as CSV.

    ``counts`` get thousands separators, ``percents`` (shares from 0 to 1) are shown as percentages
    with one decimal; other columns are shown as they are, in full (identifiers keep no separators).
    Missing values show as "–". With ``limit``, the first ``limit`` rows are shown and the page
    says how many there are; the CSV always holds every row (of ``csv`` when given, else of ``df``).

    Example:
        >>> html = table_html(pl.DataFrame({"email": ["<b>x</b>"]}), name="t")
        >>> "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
        True
    """
    whole = df if csv is None else csv
    shown = df if limit is None or df.height <= limit else df.head(limit)
    for column in [*counts, *percents]:
        if column not in df.columns:
            raise ValueError(f"table {name!r}: no column {column!r} to format (it has {', '.join(df.columns)})")
    text = shown.with_columns(pl.col(c).cast(pl.String) for c, t in shown.schema.items()
                              if c not in counts and c not in percents and t != pl.String)
    table = _gt(text)
    if title:
        table = table.tab_header(title=title)
    table = table.cols_label(**{c: column_label(c) for c in shown.columns})
    if counts:
        table = table.fmt_integer(columns=list(counts), use_seps=True)
    if percents:
        table = table.fmt_percent(columns=list(percents), decimals=1)
    table = table.sub_missing(missing_text="–").tab_options(table_font_size="14px", table_margin_left="0")
    body = table.as_raw_html()
    rows = f"{whole.height:,} row{'s' if whole.height != 1 else ''}"
    caption = (f"Showing the first {shown.height:,} of {df.height:,} rows. " if shown.height < df.height else "")
    link = (f'<a class="csv" download="{_html.escape(name)}.csv" href="{csv_data_uri(whole)}">'
            f"Download as CSV ({rows})</a>")
    return f'<div class="table" data-table="{_html.escape(name)}">{body}<p class="under">{caption}{link}</p></div>'
