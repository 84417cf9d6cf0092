"""The rows of an export file after its header: polars reads the cells, the csv module checks how the file splits.

Two readers split every file, and they must agree: polars reads the cells (fast, in its own threads),
and Python's csv module splits the same file into rows in a thread beside it. The csv module's pass
runs at C speed: it counts the rows by their number of cells and whether they hold any text, with no
Python code per row. A file without quotes (nor lone carriage returns, nor NULs) can split only one way:
its rows are its lines, and polars counts them the same (:func:`quick_shapes`; the two counts are
compared on generated files in the tests). Polars' frame is then checked with expressions: a blank row
(no cells, or only empty or whitespace cells) is dropped, a row with values but no supporter id is refused.

Only when something is irregular (a row with text whose number of cells is not the header's, a row
polars reads with values but no id, a count of rows with text that differs between the two readers,
or polars failing to read the file) does the csv module read the file again row by row, to name the
first line that is wrong (:func:`line_check`). Its errors come before anything polars says. What the
two readers split differently, with no line to blame, raises as a quoting error: never a guess at which
is right.

"Blank" means the same on both sides: every cell is empty or made of the characters Python's
``str.strip()`` removes (:data:`WHITESPACE`, also given to polars' ``strip_chars``). An empty line is a
row of no cells for the csv module and a row of nulls for polars (polars 2 keeps it as a row); a
whitespace-only line is one cell; a line of commas is empty cells (full width or not); a quoted empty
value (``""``) is an empty text for polars and an empty cell for the csv module. All of them are blank.

Example:
    >>> path = folder / "rows.csv"
    >>> _ = path.write_text('Supporter ID,Supporter Email\\n7,a@x.org\\n\\n8,"b@x.org"\\n')
    >>> read_rows(path, "utf-8-sig", ["Supporter ID", "Supporter Email"], 1, 0).rows()
    [('7', 'a@x.org'), ('8', 'b@x.org')]
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import mmap
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import polars as pl

from ..errors import DataShapeError

_log = logging.getLogger("enstoolkit.ens")

__all__ = ["WHITESPACE", "blank_row", "csv_shapes", "export_rows", "line_check", "line_shapes", "quick_shapes",
           "read_rows"]

#: Every character ``str.isspace()`` is true for: what Python's ``str.strip()`` removes, given to polars'
#: ``strip_chars`` so that a cell is blank by the same rule for the csv module and for polars (polars' own
#: ``strip_chars()`` leaves the separators ``\\x1c``-``\\x1f``).
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
              "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def blank_row(row: Sequence[str]) -> bool:
    """True for a blank line of a CSV file: no cells, or only empty or whitespace cells.

    Example:
        >>> blank_row([]), blank_row(["", " ", "\\t"]), blank_row(["", "7"])
        (True, True, False)
    """
    return not "".join(row).strip()  # the same as every cell blank, without a Python loop over the cells


def _after_header(handle: TextIO, start: int) -> Iterator[list[str]]:
    """The csv module's rows of ``handle`` after the row that ends on line ``start`` (the header)."""
    reader = csv.reader(handle)
    if start > 0:
        for _ in reader:
            if reader.line_num >= start:
                break
    return reader


def line_shapes(path: Path, encoding: str, start: int) -> Counter[tuple[int, bool]]:
    """The rows after line ``start`` as the csv module splits the file: (cells, has text) -> number of rows.

    "Has text" is the opposite of :func:`blank_row`. A UTF-8 file that can only split one way (no
    quote, no carriage return but in line ends, no NUL) is counted by polars over its lines, the
    same counts the csv module gives (:func:`quick_shapes`); any other file by the csv module itself, at
    C speed: no Python code runs per row. A file with quotes and a lone carriage return outside them (a
    line end for the csv module only) is refused: the two readers may read a quote after it differently,
    with the same number of rows.

    Example:
        >>> path = folder / "shapes.csv"
        >>> _ = path.write_text('a,b\\n1,2\\n\\n  \\n,\\n3,"x\\ny"\\n4\\n')
        >>> sorted(line_shapes(path, "utf-8-sig", 1).items())
        [((0, False), 1), ((1, False), 1), ((1, True), 1), ((2, False), 1), ((2, True), 2)]
    """
    quick = quick_shapes(path, encoding, start)
    if quick is not None:
        return quick
    with _mapped(path) as data:
        if _lone_return_outside_quotes(data):  # polars and the csv module may read the quotes two ways
            raise DataShapeError("export file", "lone carriage returns beside quoted values",
                                 "one kind of line end (\\n or \\r\\n): a lone carriage return outside quotes ends a "
                                 "line for the csv module but not for polars, so a quote after it reads two ways; save "
                                 "the file again with Windows or Unix line ends")
    return csv_shapes(path, encoding, start)


@contextmanager
def _mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes, mapped (not read into memory); an empty file as ``b""``."""
    with open(path, "rb") as handle:
        if not os.fstat(handle.fileno()).st_size:
            yield b""
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


_LONE_RETURN = re.compile(rb"\r(?!\n)")
_QUOTE_OR_LONE_RETURN = re.compile(rb'"|\r(?!\n)')


def _lone_return_outside_quotes(data: bytes | mmap.mmap) -> bool:
    """Whether a carriage return not ending a ``\\r\\n`` line end lies outside quotes, in a file with quotes.

    Quotes open and close values (a doubled quote inside a value closes and opens again): a lone carriage
    return inside a quoted value is part of the value for both readers; outside, it ends a line for the csv
    module only.
    """
    if data.find(b'"') < 0 or _LONE_RETURN.search(data) is None:
        return False
    inside = False
    for found in _QUOTE_OR_LONE_RETURN.finditer(data):
        if found.group() == b'"':
            inside = not inside
        elif not inside:
            return True
    return False


def csv_shapes(path: Path, encoding: str, start: int) -> Counter[tuple[int, bool]]:
    """:func:`line_shapes` counted by the csv module, whatever the file holds.

    Example:
        >>> path = folder / "csv-shapes.csv"
        >>> _ = path.write_text('a,b\\n1,"x\\ny"\\n\\n')
        >>> sorted(csv_shapes(path, "utf-8-sig", 1).items())
        [((0, False), 1), ((2, True), 1)]
    """
    with open(path, encoding=encoding, newline="") as handle:
        rows, again = itertools.tee(_after_header(handle, start))
        return Counter(zip(map(len, rows), map(bool, map(str.strip, map("".join, again))), strict=True))


#: A character that makes a cell hold text: neither the separator nor one ``str.strip()`` removes.
_TEXT = "[^," + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"


def _head_end(data: bytes | mmap.mmap, start: int) -> int:
    """Where the line after the first ``start`` lines begins, when they end the same way for the csv module and
    for polars (at ``\\n``; no lone carriage return in them); -1 when they do not, or the file is shorter."""
    at = 0
    for _ in range(start):
        end = data.find(b"\n", at)
        if end < 0 or b"\r" in data[at:end].removesuffix(b"\r"):
            return -1
        at = end + 1
    return at


def quick_shapes(path: Path, encoding: str, start: int) -> Counter[tuple[int, bool]] | None:
    """:func:`line_shapes` counted by polars, for a file that can only split one way; else None.

    Without a quote, the csv module's rows are the file's lines and a row's cells its commas plus one
    (an empty line has none): polars reads the lines whole (the NUL byte as separator, no quote
    character) and counts them. None (the csv module counts instead) for a file that is not UTF-8, a
    quote, a carriage return not ending a line, a NUL, a byte-order mark after the header, a line longer
    than the csv module's field limit, or a file polars cannot read as lines.

    Example:
        >>> path = folder / "quick.csv"
        >>> _ = path.write_text("a,b\\n1,2\\n\\n , \\n")
        >>> sorted(quick_shapes(path, "utf-8-sig", 1).items())
        [((0, False), 1), ((2, False), 1), ((2, True), 1)]
        >>> _ = path.write_text('a,b\\n1,"2"\\n')
        >>> quick_shapes(path, "utf-8-sig", 1) is None
        True
    """
    if encoding != "utf-8-sig" or start < 1:
        return None
    with _mapped(path) as data:
        at = _head_end(data, start)
        # a quote (a file with quoted values goes to the csv module: seen here, before polars reads the lines);
        # a byte-order mark in the rows: polars drops it where it starts reading, the csv module keeps it as text
        if at < 0 or data.find(b'"', at) >= 0 or data.find(b"\x00") >= 0 or data.find(b"\xef\xbb\xbf", at) >= 0:
            return None
    try:
        lines = pl.read_csv(path, has_header=False, skip_lines=start, separator="\x00", quote_char=None,
                            schema={"line": pl.String()})
    except Exception:  # not UTF-8, ...: the csv module counts, and says what is wrong
        return None
    line = pl.col("line")
    found = lines.select(
        odd=line.str.contains("\r", literal=True).any(),  # left in a line: not ending it (polars drops that)
        longest=line.str.len_bytes().max(),
    ).row(0)
    if found[0] or (found[1] or 0) > csv.field_size_limit():
        return None
    shapes = lines.select(
        cells=pl.when(line.fill_null("") == "").then(0).otherwise(line.str.count_matches(",", literal=True) + 1),
        text=line.str.contains(_TEXT).fill_null(False),
    ).group_by("cells", "text").len()
    return Counter({(int(cells), bool(text)): int(n) for cells, text, n in shapes.iter_rows()})


def line_check(path: Path, encoding: str, header: Sequence[str], start: int, id_column: int | None
               ) -> tuple[int, int]:
    """Rows with text and blank lines after line ``start`` as the csv module splits the file, row by row.

    Raises :class:`~enstoolkit.errors.DataShapeError` naming the first line with fewer or more
    cells than the header, or with values but no supporter id (column ``id_column``).

    Example:
        >>> path = folder / "check.csv"
        >>> _ = path.write_text("Supporter ID,Supporter Email\\n7,a@x.org\\n\\n,b@x.org\\n")
        >>> try:
        ...     line_check(path, "utf-8-sig", ["Supporter ID", "Supporter Email"], 1, 0)
        ... except DataShapeError as error:
        ...     print(error.column)
        Supporter ID (export file, line 4)
    """
    width = len(header)
    records = blank = 0
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if reader.line_num <= start:
                continue
            if blank_row(row):
                blank += 1
                continue
            if len(row) != width:
                raise DataShapeError(f"export file, line {reader.line_num}", f"{len(row)} cells",
                                     f"{width} cells per row, as in its header")
            if id_column is not None and not row[id_column].strip():
                raise DataShapeError(f"{header[id_column]} (export file, line {reader.line_num})",
                                     row[id_column], "a supporter id: the line has other values but no "
                                     "supporter id; fix or remove the line")
            records += 1
    return records, blank


def _empty(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars(WHITESPACE).fill_null("") == ""


def _without_blank_rows(raw: pl.DataFrame, id_column: int | None) -> tuple[pl.DataFrame, int]:
    """``raw`` without its blank rows, and how many rows have values but an empty id cell (column ``id_column``).

    A blank row has an empty id cell (or first cell, for a file without an id column): only the rows
    whose key cell is empty are looked at cell by cell.
    """
    names = raw.columns
    suspect = raw.select(_empty(names[id_column if id_column is not None else 0])).to_series()
    if not suspect.any():
        return raw, 0
    where = suspect.arg_true()
    blank = raw.select(pl.all().gather(where)).select(pl.all_horizontal(_empty(n) for n in names)).to_series()
    with_values = where.filter(~blank)
    keep = (~suspect).scatter(with_values, True) if with_values.len() else ~suspect
    return raw.filter(keep), with_values.len() if id_column is not None else 0


def _quoting(polars_rows: int, csv_rows: int) -> DataShapeError:
    return DataShapeError("export file", f"{polars_rows} rows", f"{csv_rows} rows, as its lines count: check its "
                          "quoting (a quote inside a value must be doubled)")


def _settle(counted: Future[Counter[tuple[int, bool]]], height: int, without_id: int, path: Path, encoding: str,
            header: Sequence[str], start: int, id_column: int | None) -> None:
    """The csv module's count held to polars' frame (``height`` rows with text); raises what is wrong, line first."""
    try:
        shapes = counted.result()
    except csv.Error:  # the row-by-row pass names an earlier bad line, else raises this error again
        shapes, irregular = Counter(), True
    else:
        irregular = any(text and cells != len(header) for cells, text in shapes)
    records = sum(n for (_, text), n in shapes.items() if text)
    blank = sum(n for (_, text), n in shapes.items() if not text)
    if irregular or without_id or height != records:
        records, blank = line_check(path, encoding, header, start, id_column)  # names the first bad line
    if blank:
        _log.info("export file %s: skipped %d blank line(s) after its header", path.name, blank)
    if height != records:  # the csv module and polars split the file differently: never guess which is right
        raise _quoting(height, records)
    if without_id and id_column is not None:  # polars reads a row without its id, the csv module with one
        raise DataShapeError(f"{header[id_column]} (export file)", f"{without_id} row(s) with values but no "
                             "supporter id as polars reads the file, none as the csv module reads it",
                             "a file both read alike: check its quoting (a quote inside a value must be doubled)")


@contextmanager
def export_rows(path: Path, encoding: str, header: Sequence[str], start: int, id_column: int | None
                ) -> Iterator[pl.DataFrame]:
    """The file's cells as text after its header, columns by position ``c0``, ``c1``... (headers may repeat).

    ``start`` is the number of lines up to the end of the header. Blank lines are skipped, and
    counted in the log: never a row of nulls. A row with fewer or more cells than the header raises
    naming its line (a short row's missing cells would otherwise read as empty fields), and so does a
    row with values but no supporter id (column ``id_column``). Empty cells are null. A file that is
    not UTF-8 (``encoding`` "cp1252") is read as Windows-1252. See the module's description for how
    the two readers are held to each other.

    The csv module's count is held to polars' frame when the block ends: the block types the
    frame meanwhile. An error in the block comes after what the csv module finds: a line that is
    wrong, or a file the two split differently, is raised first.

    Example:
        >>> path = folder / "block.csv"
        >>> _ = path.write_text("Supporter ID,Supporter Email\\n7,a@x.org\\n8\\n")
        >>> try:
        ...     with export_rows(path, "utf-8-sig", ["Supporter ID", "Supporter Email"], 1, 0) as rows:
        ...         total = rows.get_column("c0").cast(pl.Int64).sum()
        ... except DataShapeError as error:
        ...     print(error.column)
        export file, line 3
    """
    width = len(header)
    # the csv module's pass runs beside polars' read and the block (polars leaves the interpreter free meanwhile)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="enstoolkit-csv-check") as pool:
        counted = pool.submit(line_shapes, path, encoding, start)
        try:
            if encoding == "utf-8-sig":
                source: Path | io.BytesIO = path
            else:
                source = io.BytesIO(path.read_bytes().decode("cp1252").encode("utf-8"))
            names = [f"c{i}" for i in range(width)]
            raw = pl.read_csv(source, has_header=False, skip_lines=start, schema={n: pl.String() for n in names},
                              missing_columns="insert")  # a blank line may come first: it has one cell, not `width`
        except Exception:
            line_check(path, encoding, header, start, id_column)  # the line that is wrong, when there is one
            raise
        rows, without_id = _without_blank_rows(raw, id_column)
        if without_id:  # no need to wait for the block: a line is named, or the two readers disagree
            _settle(counted, rows.height, without_id, path, encoding, header, start, id_column)
        try:
            yield rows
        except Exception:
            _settle(counted, rows.height, without_id, path, encoding, header, start, id_column)
            raise
        _settle(counted, rows.height, without_id, path, encoding, header, start, id_column)


def read_rows(path: Path, encoding: str, header: Sequence[str], start: int, id_column: int | None) -> pl.DataFrame:
    """The rows of :func:`export_rows`, checked before they are returned.

    Example:
        >>> path = folder / "rows.csv"
        >>> _ = path.write_text('Supporter ID,Supporter Email\\n7,a@x.org\\n\\n8,"b@x.org"\\n')
        >>> read_rows(path, "utf-8-sig", ["Supporter ID", "Supporter Email"], 1, 0).rows()
        [('7', 'a@x.org'), ('8', 'b@x.org')]
    """
    with export_rows(path, encoding, header, start, id_column) as rows:
        return rows
