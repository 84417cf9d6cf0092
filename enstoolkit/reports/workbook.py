"""The findings workbook (``enstoolkit audit --excel``): one sheet per check, the columns to fix first.

The first sheet counts the findings by check; then each check has its own sheet whose first
columns are what a person fixing the record needs (supporter ID, email, what is wrong), then the
check and severity, then an empty "fixed" column to tick. Every text cell is written as text:
cells starting with ``=``, ``+``, ``-`` or ``@`` are neutralised (:func:`enstoolkit.records.exports.neutralise`)
and the workbook never turns text into formulas or links.

Example:
    >>> f = pl.DataFrame({"supporterId": [1], "email": ["=cmd()@x.org"], "check": ["invalid email"],
    ...                   "severity": ["high"], "detail": ["not a valid email address"]})
    >>> path = findings_workbook(f, folder / "findings.xlsx")
    >>> path.name
    'findings.xlsx'
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ..analysis import CANNOT_CHECK, summarise
from ..inputs.arguments import check_frame
from ..records.exports import neutralise
from ..schemas.results import FINDINGS

__all__ = ["FIX_COLUMNS", "findings_workbook", "sheet_name"]

#: The columns each check's sheet starts with: what a person fixing the record needs.
FIX_COLUMNS = ("supporterId", "email", "detail")


def sheet_name(check: str, taken: set[str]) -> str:
    """A worksheet name for a check: at most 31 characters, none of ``[]:*?/\\``, unique in the workbook.

    Example:
        >>> sheet_name("opted out, subscribed in Encharge", set())
        'opted out, subscribed in Encha'
        >>> sheet_name("a/b", {"a-b"})
        'a-b (2)'
    """
    base = re.sub(r"[\[\]:*?/\\]", "-", check).strip("'")[:30] or "check"
    name, n = base, 1
    while name.lower() in {t.lower() for t in taken}:
        n += 1
        suffix = f" ({n})"
        name = base[:31 - len(suffix)] + suffix
    taken.add(name)
    return name


def findings_workbook(findings: pl.DataFrame, path: str | Path) -> Path:
    """Write the findings workbook to ``path`` (.xlsx); returns the path.

    Raises :class:`~enstoolkit.errors.MissingExtra` without the ``excel`` extra (xlsxwriter).

    Example:
        >>> import openpyxl
        >>> f = pl.DataFrame({"supporterId": [1, 2], "email": ["a@x", "+44@x.org"], "check": ["invalid email"] * 2,
        ...                   "severity": ["high"] * 2, "detail": ["bad", "bad"]})
        >>> book = openpyxl.load_workbook(findings_workbook(f, folder / "f.xlsx"))
        >>> book.sheetnames, [c.value for c in book["invalid email"][1]][:4]
        (['summary', 'invalid email'], ['supporterId', 'email', 'detail', 'check'])
        >>> book["invalid email"]["B3"].value
        "'+44@x.org"
    """
    try:
        import xlsxwriter
    except ImportError as exc:
        from ..errors import MissingExtra

        raise MissingExtra("excel", "the findings workbook") from exc
    findings = check_frame("findings", findings, tuple(FINDINGS)).cast(pl.Schema(FINDINGS))  # a null column as typed
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    summary = summarise(findings)
    taken: set[str] = {"summary"}
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(str(target), options) as book:
        neutralise(summary).write_excel(workbook=book, worksheet="summary", autofit=True,
                                        header_format={"bold": True})
        real = findings.filter(~pl.col("detail").fill_null("").str.starts_with(CANNOT_CHECK))
        for check in summary.filter(pl.col("findings") > 0).get_column("check").to_list():
            rows = real.filter(pl.col("check") == check)
            ordered = rows.select(*FIX_COLUMNS, "check", "severity").with_columns(
                pl.lit(None, pl.String).alias("fixed"))
            neutralise(ordered).write_excel(workbook=book, worksheet=sheet_name(check, taken), autofit=True,
                                            header_format={"bold": True}, freeze_panes=(1, 0))
    return target
