"""The export file's rows: each irregular shape leaves the fast count and is named by its line, blank lines of every
kind are skipped and counted, and a file the csv module and polars split differently is refused."""

from __future__ import annotations

import csv
import logging
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enstoolkit.ens import read_supporter_export, read_transaction_export
from enstoolkit.ens.export_rows import WHITESPACE, csv_shapes, line_check, line_shapes, quick_shapes, read_rows
from enstoolkit.errors import DataShapeError

HEADER = "Supporter ID,Supporter Email,First Name\n"
TX_HEADER = "Supporter ID,Campaign Number,Campaign Type,Campaign ID,Campaign Date,Campaign Time,\n"
TX_ROW = "{id},10100,DCF,Sign up,2026-03-25,09:30:0{n},\n"


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def supporters(path: Path) -> pl.DataFrame:
    return read_supporter_export(path, email_field="Email Address")


def skipped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "after its header" in r.getMessage()]


def test_whitespace_is_what_python_strips() -> None:
    assert "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()) == WHITESPACE


@pytest.mark.parametrize(("text", "line"), [
    (HEADER + "1,a@x.org,Ann\n2,b@x.org\n", 3),  # one cell short
    (HEADER + "1,a@x.org,Ann\n2\n3,c@x.org,Cy\n", 3),  # one cell: not blank, so not skipped
    (HEADER + "1,a@x.org,Ann\n2,b@x.org,Bo\n3,c@x.org,Cy,extra\n", 4),  # one cell too many
    (HEADER + "1,a@x.org,Ann,,\n", 2),  # too many, the extra cells empty
    (HEADER + '1,a@x.org,"Ann\nLee"\n2,b@x.org\n', 4),  # after a value with a line break: the file's own line
    ("\n\n" + HEADER + "1,a@x.org,Ann\n2,b@x.org\n", 5),  # blank lines before the header count as lines
    ((HEADER + "1,a@x.org,Ann\n\n2,b@x.org\n").replace("\n", "\r\n"), 4),
])
def test_a_row_of_another_width_is_named_by_its_line(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(DataShapeError, match=rf"export file, line {line}'.* cells per row, as in its header"):
        supporters(write(tmp_path, text))


def test_a_row_of_another_width_in_a_transaction_file_is_named_by_its_line(tmp_path: Path) -> None:
    short = TX_HEADER + TX_ROW.format(id=1, n=1) + "2,10100,DCF,Sign up,2026-03-25\n"
    with pytest.raises(DataShapeError, match=r"export file, line 3'.*'5 cells'"):
        read_transaction_export(write(tmp_path, short))
    long = TX_HEADER + TX_ROW.format(id=1, n=1) + TX_ROW.format(id=2, n=2).replace(",\n", ",x,y\n")
    with pytest.raises(DataShapeError, match=r"export file, line 3'.*'8 cells'"):
        read_transaction_export(write(tmp_path, long, "long.csv"))


@pytest.mark.parametrize("cell", ["", "  ", '""', '" "', "\t"])
def test_a_row_with_values_but_no_id_is_named_by_its_line(tmp_path: Path, cell: str) -> None:
    text = HEADER + "1,a@x.org,Ann\n" + f"{cell},b@x.org,Bo\n" + "3,c@x.org,Cy\n"
    with pytest.raises(DataShapeError, match=r"Supporter ID \(export file, line 3\).*no supporter id"):
        supporters(write(tmp_path, text))
    tx = TX_HEADER + TX_ROW.format(id=1, n=1) + TX_ROW.format(id=cell, n=2)
    with pytest.raises(DataShapeError, match=r"Supporter ID \(export file, line 3\)"):
        read_transaction_export(write(tmp_path, tx, "t.csv"))


def test_the_missing_id_line_counts_the_lines_of_a_value_with_a_line_break(tmp_path: Path) -> None:
    text = HEADER + '1,a@x.org,"Ann\r\nMarie"\n2,b@x.org,"Bo\nB"\n,c@x.org,Cy\n'
    with pytest.raises(DataShapeError, match=r"Supporter ID \(export file, line 6\)"):
        supporters(write(tmp_path, text))


BLANKS = {
    "empty": "\n",
    "empty, CRLF": "\r\n",
    "spaces": "   \n",
    "a tab": "\t\n",
    "commas, short": ",\n",
    "commas, full width": ",,\n",
    "spaces and commas": " , ,\t\n",
    "a quoted empty value": '""\n',
    "quoted empty values": '"","",""\n',
    "a quoted space": '" ",,\n',
    "an information separator": "\x1f\n",
    "a no-break space": "\xa0,,\n",
}


@pytest.mark.parametrize("kind", BLANKS)
def test_each_kind_of_blank_line_is_skipped_and_counted(tmp_path: Path, kind: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    blank = BLANKS[kind]
    text = HEADER + blank + "1,a@x.org,Ann\n" + blank + blank + "2,b@x.org,Bo\n" + blank
    with caplog.at_level(logging.INFO, logger="enstoolkit.ens"):
        df = supporters(write(tmp_path, text))
    assert df.select("supporterId", "Email Address").rows() == [(1, "a@x.org"), (2, "b@x.org")]
    assert skipped(caplog) == ["export file export.csv: skipped 4 blank line(s) after its header"]


def test_every_kind_of_blank_line_in_one_transaction_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = TX_HEADER + TX_ROW.format(id=1, n=1) + "".join(BLANKS.values()) + TX_ROW.format(id=2, n=2) + "\n\n"
    with caplog.at_level(logging.INFO, logger="enstoolkit.ens"):
        df = read_transaction_export(write(tmp_path, text, "t.csv"))
    assert df.get_column("supporterId").to_list() == [1, 2]
    assert skipped(caplog) == [f"export file t.csv: skipped {len(BLANKS) + 2} blank line(s) after its header"]


def test_without_an_id_column_a_row_with_an_empty_first_cell_is_a_row(tmp_path: Path) -> None:
    header = "Supporter Email,Campaign Number,Campaign Type,Campaign Date,Campaign Time\n"
    text = header + "a@x.org,10100,DCF,2026-03-25,09:30:01\n\n,10100,DCF,2026-03-25,09:30:02\n ,,,,\n"
    df = read_transaction_export(write(tmp_path, text))
    assert df.select("email", "campaignId").rows() == [("a@x.org", 10100), (None, 10100)]


def test_a_row_only_the_csv_module_reads_with_a_value_and_no_id_is_named_by_its_line(tmp_path: Path) -> None:
    # '"" ""' is a value (' ""') for the csv module, an empty one for polars: the counts differ,
    # and the line the csv module finds without an id is named before the quoting
    text = HEADER + '1,a@x.org,Ann\n,"" "",\n2,b@x.org,Bo\n'
    with pytest.raises(DataShapeError, match=r"Supporter ID \(export file, line 3\)"):
        supporters(write(tmp_path, text))


def test_the_line_that_is_wrong_is_named_before_a_value_that_does_not_fit(tmp_path: Path) -> None:
    # the typing runs while the csv module counts: its error must not hide the line
    bad_time = TX_ROW.format(id=1, n=1).replace("09:30:01", "7 am")
    text = TX_HEADER + bad_time + TX_ROW.format(id=2, n=2) + "3,10100,DCF\n"
    with pytest.raises(DataShapeError, match=r"export file, line 4'") as info:
        read_transaction_export(write(tmp_path, text))
    assert isinstance(info.value.__context__, DataShapeError) and "Campaign Time" in str(info.value.__context__)
    with pytest.raises(DataShapeError, match="'Campaign Time': '7 am'"):
        read_transaction_export(write(tmp_path, TX_HEADER + bad_time, "time.csv"))
    split = HEADER + '1,a@x.org,\n"\n" ",,"\n2,b@x.org,Bo\nx,c@x.org,Cy\n'  # a bad id, and a file split two ways
    with pytest.raises(DataShapeError, match="check its quoting"):
        supporters(write(tmp_path, split, "split.csv"))


def test_a_value_with_a_line_break_reads_as_one_value(tmp_path: Path) -> None:
    text = HEADER + '1,a@x.org,"Ann\nMarie"\n2,b@x.org,"Bo\r\n\r\nB"\n\n3,c@x.org,"Cy, ""C"""\n'
    df = supporters(write(tmp_path, text))
    assert df.get_column("First Name").to_list() == ["Ann\nMarie", "Bo\r\n\r\nB", 'Cy, "C"']


def test_a_file_the_csv_module_and_polars_split_differently_is_refused(tmp_path: Path) -> None:
    # an unescaped quote after a quoted value: the csv module reads one row to the end of the file,
    # polars a row for each line
    text = HEADER + '1,a@x.org,\n"\n" ",,"\n2,b@x.org,Bo\n3,c@x.org,Cy\n'
    path = write(tmp_path, text)
    assert line_check(path, "utf-8-sig", HEADER.strip().split(","), 1, 0) == (2, 0)
    with pytest.raises(DataShapeError, match=r"'4 rows' is not 2 rows, as its lines count: check its quoting"):
        supporters(path)


def test_a_lone_carriage_return_ends_a_line_for_the_csv_module_only(tmp_path: Path) -> None:
    text = HEADER + "1,a@x.org,Ann\r\r\n2,b@x.org,Bo\r\r\n"  # the csv module: a blank line after each row
    assert supporters(write(tmp_path, text)).get_column("supporterId").to_list() == [1, 2]
    one_column = "Supporter ID\n1\r2\n3\n"  # the csv module: three rows; polars: "1\r2" and "3"
    with pytest.raises(DataShapeError, match="check its quoting"):
        supporters(write(tmp_path, one_column, "one.csv"))


def test_a_row_only_polars_reads_without_an_id_is_refused(tmp_path: Path) -> None:
    # lone carriage returns end lines for the csv module only: it reads the id '\t7 a\tba', polars an empty
    # first cell beside values, in as many rows; such a file once read as a supporter without an id. Lone
    # carriage returns beside quotes are refused before the rows are compared
    text = HEADER + ',\t\n\n,\r\t7 a\tba,",\t\n,\n\r,\t\t\t,\t, \taa\r\r\n, \n",'
    with pytest.raises(DataShapeError, match="lone carriage returns beside quoted values"):
        supporters(write(tmp_path, text))


def test_the_fast_count_sees_cells_and_text_as_the_row_by_row_check_does(tmp_path: Path) -> None:
    text = HEADER + "1,a@x.org,Ann\n\n   \n,,\n\xa0, ,\n" + '2,"b@x.org\n",Bo\n' + "3\n"
    path = write(tmp_path, text)
    assert line_shapes(path, "utf-8-sig", 1) == {(3, True): 2, (0, False): 1, (1, False): 1, (3, False): 2,
                                                  (1, True): 1}
    with pytest.raises(DataShapeError, match="line 9"):
        line_check(path, "utf-8-sig", HEADER.strip().split(","), 1, 0)
    with pytest.raises(DataShapeError, match="line 9"):
        read_rows(path, "utf-8-sig", HEADER.strip().split(","), 1, 0)
    good = write(tmp_path, text.replace("3\n", ""), "good.csv")
    assert read_rows(good, "utf-8-sig", HEADER.strip().split(","), 1, 0).rows() == [
        ("1", "a@x.org", "Ann"), ("2", "b@x.org\n", "Bo")]


def test_a_windows_1252_file_with_blank_lines_and_a_short_row(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "1,j@x.org,Jörg\r\n\r\n2,k@x.org,Zoë\r\n").encode("cp1252"))
    assert supporters(path).get_column("First Name").to_list() == ["Jörg", "Zoë"]
    path.write_bytes((HEADER + "1,j@x.org,Jörg\r\n\r\n2,Zoë\r\n").encode("cp1252"))
    with pytest.raises(DataShapeError, match="line 4"):
        supporters(path)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(alphabet=["a", "7", ",", ",", '"', "\n", "\n", "\r", " ", "\t", "\x1f"], max_size=40),
       with_id=st.booleans())
def test_what_the_fast_path_accepts_the_row_by_row_check_accepts_too(tmp_path: Path, body: str, with_id: bool) -> None:
    path = write(tmp_path, HEADER + body)
    header, id_column = HEADER.strip().split(","), (0 if with_id else None)
    try:
        rows = read_rows(path, "utf-8-sig", header, 1, id_column)
    except (DataShapeError, pl.exceptions.PolarsError, csv.Error):
        return
    records, _ = line_check(path, "utf-8-sig", header, 1, id_column)  # raises if a line is wrong
    assert rows.height == records
    if with_id:
        assert rows.get_column("c0").str.strip_chars(WHITESPACE).fill_null("").str.len_chars().min() != 0


#: What a line may hold without a quote: every blank character kind, separators, text, line ends of both kinds.
QUOTE_FREE = ["a", "7", "é", ",", ",", " ", "\t", "\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000", "\n",
              "\n", "\r\n", "x,y", "\ufeff"]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.sampled_from(["h,i\n", "h,i\r\n", "\ufeffh,i\n", 'h,"i\nj"\n']),
       body=st.lists(st.sampled_from(QUOTE_FREE), max_size=40).map("".join))
def test_polars_counts_a_file_without_quotes_as_the_csv_module_does(tmp_path: Path, header: str, body: str) -> None:
    path = write(tmp_path, header + body)
    start = header.count("\n")
    quick = quick_shapes(path, "utf-8-sig", start)
    assert quick is not None or "\ufeff" in body  # taken: the file can only split one way (but for a mark)
    assert line_shapes(path, "utf-8-sig", start) == csv_shapes(path, "utf-8-sig", start)
    if quick is not None:
        assert quick == csv_shapes(path, "utf-8-sig", start)


@pytest.mark.parametrize(("text", "why"), [
    (HEADER + '1,"a@x.org",Ann\n', "a quote"),
    (HEADER + "1,a@x.org,Ann\r2,b@x.org,Bo\n", "a lone carriage return"),
    ("Supporter ID\r" + HEADER + "1,a@x.org,Ann\n", "a lone carriage return in the header"),
    (HEADER + "1,a@x.org,Ann\x00\n", "a NUL"),
    (HEADER + "1\n\x00", "a NUL on the last line (polars reads it as an empty row)"),
    (HEADER + "1,a@x.org," + "x" * (csv.field_size_limit() + 1) + "\n", "a line beyond the csv module's field limit"),
])
def test_a_file_that_may_split_two_ways_is_left_to_the_csv_module(tmp_path: Path, text: str, why: str) -> None:
    path = write(tmp_path, text)
    assert quick_shapes(path, "utf-8-sig", 1) is None, why
    try:
        counted = csv_shapes(path, "utf-8-sig", 1)
    except csv.Error:  # the field limit: line_shapes raises it as the csv module does
        with pytest.raises(csv.Error):
            line_shapes(path, "utf-8-sig", 1)
    else:
        assert line_shapes(path, "utf-8-sig", 1) == counted


def test_a_windows_1252_file_and_one_that_is_not_utf_8_are_counted_by_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "1,j@x.org,J\u00f6rg\n").encode("cp1252"))
    assert quick_shapes(path, "cp1252", 1) is None
    assert line_shapes(path, "cp1252", 1) == {(3, True): 1}
    assert quick_shapes(path, "utf-8-sig", 1) is None  # not UTF-8: the csv module raises what it finds
    with pytest.raises(UnicodeDecodeError):
        line_shapes(path, "utf-8-sig", 1)


def test_lone_carriage_returns_beside_quotes_are_refused_not_read_two_ways(tmp_path: Path) -> None:
    # the csv module: a blank line, then a row with an empty id; polars: one row whose id is '\r""' (its quote is
    # not at the start of the cell): as many rows with text on both sides, so the counts alone agree
    path = write(tmp_path, HEADER + '\r"",7,')
    with pytest.raises(DataShapeError, match="lone carriage returns beside quoted values"):
        read_rows(path, "utf-8-sig", HEADER.strip().split(","), 1, 0)
    with pytest.raises(DataShapeError, match="Windows or Unix line ends"):
        supporters(path)
    crlf = write(tmp_path, (HEADER + '1,"a@x.org",Ann\n').replace("\n", "\r\n"), "crlf.csv")  # CRLF: one reading
    assert supporters(crlf).get_column("Email Address").to_list() == ["a@x.org"]
    for name, ends in (("inside.csv", "\n"), ("inside-crlf.csv", "\r\n")):  # inside a quoted value: one reading
        inside = write(tmp_path, f'Supporter ID,Notes{ends}1,"a\rb"{ends}2,x{ends}', name)
        assert read_rows(inside, "utf-8-sig", ["Supporter ID", "Notes"], 1, 0).rows() == [("1", "a\rb"), ("2", "x")]


def test_a_byte_order_mark_in_the_rows_is_counted_by_the_csv_module(tmp_path: Path) -> None:
    # polars drops a byte-order mark where it starts reading after the header; the csv module keeps it as text
    path = write(tmp_path, "Supporter ID,Notes\n\ufeff\n2,x\n")
    assert quick_shapes(path, "utf-8-sig", 1) is None
    assert line_shapes(path, "utf-8-sig", 1) == csv_shapes(path, "utf-8-sig", 1) == {(1, True): 1, (2, True): 1}
    with pytest.raises(DataShapeError, match="export file, line 2'"):
        read_rows(path, "utf-8-sig", ["Supporter ID", "Notes"], 1, 0)
