"""Opt-in answers in any of the forms a frame may hold them, read one way.

An export gives opt-in columns as "Y"/"N"/"P" (:data:`enstoolkit.schemas.frames.OPTIN_ANSWERS`); frames
built by hand or by older code may hold Booleans or text. :func:`answer` turns any of them into
"Y", "N", "P", "D" or null, so each check reads them the same way, and a pending double opt-in is
never taken for an opt-in, an opt-out or no answer. "D" (an answer code of ENS's question rows
whose meaning the vendor does not document) is kept as itself: neither yes nor no.

Example:
    >>> df = pl.DataFrame({"a": [True, False, None], "b": ["Y", "P", None]})
    >>> df.select(answer(df, "a"), answer(df, "b")).rows()
    [('Y', 'Y'), ('N', 'P'), (None, None)]
"""

from __future__ import annotations

import polars as pl

from ..errors import ValidationError

__all__ = ["answer", "is_no", "is_pending", "is_yes"]

_TEXT = {"Y": "Y", "YES": "Y", "TRUE": "Y", "1": "Y", "N": "N", "NO": "N", "FALSE": "N", "0": "N", "P": "P",
         "PENDING": "P", "D": "D"}


def answer(df: pl.DataFrame, column: str) -> pl.Expr:
    """The answers of an opt-in column as "Y", "N", "P", "D" or null (named as the column).

    Raises :class:`~enstoolkit.errors.ValidationError` when the column is missing, or holds a
    value that is none of these (naming the value: a code the toolkit does not know is not guessed).

    Example:
        >>> df = pl.DataFrame({"q": ["y", "maybe"]})
        >>> try:
        ...     df.select(answer(df, "q"))
        ... except ValidationError as e:
        ...     print(e.value)
        ['maybe']
    """
    if column not in df.columns:
        raise ValidationError("optins", column, f"opt-in columns of the frame (it has {', '.join(df.columns[:12])})")
    dtype = df.schema[column]
    if dtype == pl.Boolean:
        return pl.when(pl.col(column)).then(pl.lit("Y")).when(~pl.col(column)).then(pl.lit("N")).alias(column)
    text = pl.col(column).cast(pl.String).str.strip_chars().str.to_uppercase()
    raw = df.select(pl.col(column).cast(pl.String).str.strip_chars().unique().drop_nulls()).to_series().to_list()
    unknown = [v for v in raw if v and v.upper() not in _TEXT]
    if unknown:
        raise ValidationError(column, unknown[:5], "opt-in answers Y, N, P (pending) or D, or True/False")
    return text.replace_strict(_TEXT, default=None, return_dtype=pl.String).alias(column)


def is_yes(df: pl.DataFrame, column: str) -> pl.Expr:
    """True where the answer is "Y" (never null).

    Example:
        >>> df = pl.DataFrame({"q": ["Y", "P", None]})
        >>> df.select(is_yes(df, "q")).to_series().to_list()
        [True, False, False]
    """
    return (answer(df, column) == "Y").fill_null(False)


def is_no(df: pl.DataFrame, column: str) -> pl.Expr:
    """True where the answer is "N" (never null).

    Example:
        >>> df = pl.DataFrame({"q": [False, True, None]})
        >>> df.select(is_no(df, "q")).to_series().to_list()
        [True, False, False]
    """
    return (answer(df, column) == "N").fill_null(False)


def is_pending(df: pl.DataFrame, column: str) -> pl.Expr:
    """True where a double opt-in is pending ("P"; never null).

    Example:
        >>> df = pl.DataFrame({"q": ["P", "Y"]})
        >>> df.select(is_pending(df, "q")).to_series().to_list()
        [True, False]
    """
    return (answer(df, column) == "P").fill_null(False)
