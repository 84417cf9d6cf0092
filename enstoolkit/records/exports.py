"""Writing frames for colleagues: CSV with spreadsheet formula injection neutralised.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by spreadsheet programs; such text cells get a leading apostrophe, which the
programs show as plain text. Typed (numeric, date) columns are left as they are. Excel
files are written with text cells as strings (never as formulas) after the same treatment.

Example:
    >>> neutralise(pl.DataFrame({"name": ["=HYPERLINK(1)", "Ann"]})).get_column("name").to_list()
    ["'=HYPERLINK(1)", 'Ann']
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

__all__ = ["FORMULA_PREFIXES", "export_csv", "export_excel", "neutralise"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = r"^[=+\-@\t\r]"


def _flatten(df: pl.DataFrame) -> pl.DataFrame:
    """Nested columns (lists, structs) as text, so that a CSV can hold them."""
    out = []
    for name, dtype in df.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.List) and dtype.inner == pl.String:
            out.append(column.list.join(", ").alias(name))
        elif isinstance(dtype, (pl.List, pl.Struct, pl.Array)):
            out.append(column.map_elements(lambda v: str(v.to_list() if hasattr(v, "to_list") else v),
                                           return_dtype=pl.String).alias(name))
        else:
            out.append(column)
    return df.select(out)


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe.

    Example:
        >>> neutralise(pl.DataFrame({"p": ["+44 20", "020"]})).get_column("p").to_list()
        ["'+44 20", '020']
    """
    flat = _flatten(df)
    fixes = [
        pl.when(pl.col(name).str.contains(_PATTERN)).then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name))
        .alias(name)
        for name, dtype in flat.schema.items() if dtype == pl.String
    ]
    return flat.with_columns(fixes) if fixes else flat


def export_csv(df: pl.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to a CSV file safe to open in a spreadsheet; returns the path.

    Parent folders are created. Nested columns are written as text.

    Example:
        >>> out = export_csv(pl.DataFrame({"a": ["@SUM(A1)"]}), folder / "x.csv")
        >>> out.read_text().splitlines()
        ['a', "'@SUM(A1)"]
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    neutralise(df).write_csv(target)
    return target


def export_excel(df: pl.DataFrame, path: str | Path, *, sheet: str = "data") -> Path:
    """Write ``df`` to an .xlsx workbook safe to open: no text cell becomes a formula.

    Example:
        >>> out = export_excel(pl.DataFrame({"a": ["=1+1", "ok"]}), folder / "x.xlsx")
        >>> out.suffix
        '.xlsx'
    """
    try:
        import xlsxwriter  # noqa: F401  (polars writes Excel files through it)
    except ImportError as exc:
        from ..errors import MissingExtra

        raise MissingExtra("excel", "writing Excel files") from exc
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    neutralise(df).write_excel(target, worksheet=sheet, autofit=True, header_format={"bold": True})
    return target
