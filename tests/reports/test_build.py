"""The report builder: what the first screen says, the tables and CSV links, the workbook, the folder."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from enstoolkit.config import audit_settings, connect
from enstoolkit.reports import (
    AUDIT_CHECKS,
    ReportFolderError,
    analyse,
    audit_report,
    findings_workbook,
    optin_report,
    pull,
    report_folder,
    write_reports,
)
from enstoolkit.schemas.results import FINDINGS


def findings(rows: list[tuple[int | None, str | None, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FINDINGS, orient="row")


def csv_links(page: str) -> dict[str, str]:
    """Every CSV link of a page: file name -> the CSV text it downloads."""
    found = re.findall(r'download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"', page)
    return {name: base64.b64decode(data).decode("utf-8-sig") for name, data in found}


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    conn = connect(supporters=800, environ={})
    try:
        yield analyse(pull(conn, audit_settings(conn)))
    finally:
        conn.close()


def test_the_first_screen_counts_by_severity_and_says_each_check_in_a_sentence() -> None:
    f = findings([(1, "a@x", "invalid email", "high", "not a valid email address: 'a@x'"),
                  (2, "b@x.org", "duplicate email", "medium", "2 records share b@x.org: 2, 3"),
                  (3, "B@x.org", "duplicate email", "medium", "2 records share b@x.org: 2, 3"),
                  (None, None, "stale record", "low", "cannot check: the supporter file has no modifiedOn column")])
    page = audit_report(f, synthetic=False, source="test frames", encharge=False, erasures=False)
    cards = re.findall(r'<div class="card (\w+)"><span class="n">([\d,]+)</span>', page)
    assert cards == [("high", "1"), ("medium", "2"), ("low", "0"), ("unknown", "1")]
    first_screen = page[:page.index('id="checks"')]
    assert "Cannot check: these are not clean results" in first_screen  # up front, before the sentences
    assert "the supporter file has no modifiedOn column" in first_screen
    sentences = re.findall(r'<li class="(\w+)" data-check="([^"]+)">', page)
    assert sentences == [("high", "invalid email"), ("clean", "suppressed with opt-in"),
                         ("medium", "duplicate email"), ("clean", "missing fields"), ("unknown", "stale record")]
    assert "1 supporter has no valid email address." in page
    assert "2 supporter records share an email address with another record." in page
    assert "No suppressed supporter holds an opt-in." in page  # a check that ran and found nothing says so
    assert "No record is stale." not in page  # one that could not run is never "clean"
    assert "Synthetic data" not in page and "Change since the last run" not in page


def test_every_check_run_audit_makes_has_its_sentences(results) -> None:  # type: ignore[no-untyped-def]
    seen = set(results.findings.get_column("check").unique().to_list())
    assert seen <= set(AUDIT_CHECKS)


def test_the_change_since_the_last_run_is_an_optional_block_fed_by_plain_counts() -> None:
    f = findings([(1, "a@x", "invalid email", "high", "not a valid email address: 'a@x'")])
    changes = pl.DataFrame({"check": ["invalid email", "duplicate email"], "new": [1, 0], "resolved": [4, 12],
                            "still_open": [0, 3]})
    page = audit_report(f, synthetic=True, source="x", encharge=False, erasures=False, changes=changes,
                        previous_run="1 November 2026")
    assert "Since the last run (1 November 2026): 1 new finding, 16 resolved, 3 still open." in page
    assert csv_links(page)["change_since_last_run.csv"].splitlines()[1:] == ["invalid email,1,4,0",
                                                                              "duplicate email,0,12,3"]
    with pytest.raises(Exception, match="still_open"):
        audit_report(f, synthetic=True, source="x", changes=changes.drop("still_open"))


def test_tables_keep_full_text_escape_it_and_download_whole(results) -> None:  # type: ignore[no-untyped-def]
    long = "opted out, subscribed in Encharge since 2024-01-01 <b>bold</b> =HYPERLINK(\"x\")"
    f = findings([(n, f"-p{n}@x.org", "opted out, subscribed in Encharge", "high", long) for n in range(120)])
    page = audit_report(f, synthetic=True, source="x", limit=50)
    assert "opted out, subscribed in Encharge since 2024-01-01 &lt;b&gt;bold&lt;/b&gt;" in page  # whole, escaped
    assert "<b>bold</b>" not in page
    assert "Showing the first 50 of 120 rows." in page
    rows = csv_links(page)["audit_opted-out--subscribed-in-encharge.csv"].splitlines()
    assert len(rows) == 121 and rows[1].startswith("0,'-p0@x.org,")  # all rows, formula-safe
    assert page.count('class="synthetic"') == 1 and "@media print" in page


def test_the_optin_report_says_the_rates_and_what_cannot_be_told(results) -> None:  # type: ignore[no-untyped-def]
    rates = results.rates.with_columns(
        pl.when(pl.col("question") == "SMS Optin").then(None).otherwise(pl.col("rate")).alias("rate"))
    page = optin_report(rates, results.trend, results.countries, results.acquisition, results.cohort,
                        question=results.question, synthetic=True, source="the sandbox", today=results.today)
    first = results.rates.row(0, named=True)
    assert f"{first['question']}: {first['rate']:.1%} of all {first['supporters']:,} supporters are opted in" in page
    assert "SMS Optin: cannot tell" in page[:page.index('id="rates"')]
    assert page.count('<figure class="chart"') == 4 and page.count("<svg") >= 4
    assert set(csv_links(page)) == {"optin_rates.csv", "optin_monthly.csv", "optin_by_country.csv",
                                    "optin_by_acquisition.csv", "optin_cohorts.csv"}
    assert csv_links(page)["optin_monthly.csv"].count("\n") == results.trend.height + 1  # the whole trend


def test_the_workbook_has_a_sheet_per_check_with_the_fix_columns_first(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    f = results.findings.vstack(findings([(9, "=cmd|' /C calc'!A0", "invalid email", "high", "@SUM(1)")]))
    book = openpyxl.load_workbook(findings_workbook(f, tmp_path / "f.xlsx"))
    real = f.filter(~pl.col("detail").str.starts_with("cannot check"))
    assert book.sheetnames[0] == "summary"
    assert sum(book[s].max_row - 1 for s in book.sheetnames[1:]) == real.height
    assert len(book.sheetnames) - 1 == real.get_column("check").n_unique()
    for name in book.sheetnames[1:]:
        assert [c.value for c in book[name][1]] == ["supporterId", "email", "detail", "check", "severity", "fixed"]
    sheet = book[next(s for s in book.sheetnames if s.startswith("invalid email"))]
    cells = [(c.value, c.data_type) for row in sheet.iter_rows(min_row=2) for c in row]
    assert ("'=cmd|' /C calc'!A0", "s") in cells and ("'@SUM(1)", "s") in cells
    assert not [v for v, t in cells if t == "f"]  # no formula anywhere


def test_a_failed_build_leaves_no_report_and_an_earlier_one_in_place(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report"
    write_reports(out, results)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(RuntimeError), report_folder(out) as staging:
        (staging / "supporter_audit.html").write_text("half")
        raise RuntimeError("the build failed")
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before  # the earlier report, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staging folder left behind
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError), report_folder(fresh):
        raise RuntimeError("the build failed")
    assert not fresh.exists()


def test_a_folder_of_other_files_or_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.docx").write_text("x")
    with pytest.raises(ReportFolderError, match=r"holds other files \(notes.docx\)"), report_folder(tmp_path / "mine"):
        raise AssertionError("never reached")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ReportFolderError, match="is a file"), report_folder(tmp_path / "a-file"):
        raise AssertionError("never reached")
    with pytest.raises(ReportFolderError, match="a-file is a file, not a folder"), \
            report_folder(tmp_path / "a-file" / "report"):
        raise AssertionError("never reached")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "mine"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere: no folder is read-only to it")
def test_a_folder_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ReportFolderError, match="no permission"), report_folder(locked / "report"):
            raise AssertionError("never reached")
    finally:
        locked.chmod(0o700)


def test_the_report_needs_no_network_and_no_script(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    for path in write_reports(tmp_path / "r", results, show_code=True):
        if path.suffix != ".html":
            continue
        page = path.read_text()
        assert "<script" not in page and not re.search(r"(src|href)=\"(https?:)?//", page)
        assert "@import" not in page and "url(http" not in page
        assert "Content-Security-Policy" in page
        assert "<pre><code>" in page  # --show-code: the notebooks' code, at the end
    assert (dt.date.today() - results.today).days < 10_000
