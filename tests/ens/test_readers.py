"""Known answers for the readers of shapes that vary by account: export files, transaction dates, opt-in codes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from enstoolkit.ens import read_supporter_export, read_transaction_export, transaction_dates
from enstoolkit.errors import AmbiguousDates, DataShapeError, UnmappedColumns
from enstoolkit.schemas.frames import OPTIN_ANSWERS

D = dt.date


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_api_style_with_iso_dates_and_pending_answers(tmp_path: Path) -> None:
    path = write(tmp_path, "supporterId,suppressed,Email Address,First Name,createdOn,modifiedOn,Q,Q Date\n"
                           "1,false,a@x.org,Ann,2026-03-01,2026-03-02,Y,2026-03-01\n"
                           "2,true,b@x.org,,2025-12-31,2026-01-05,P,2025-12-31\n"
                           "3,false,c@x.org,Cy,2026-02-01,2026-02-01,,\n")
    df = read_supporter_export(path, email_field="Email Address", optins=["Q"], questions=["Q"])
    assert df.schema == pl.Schema({"supporterId": pl.Int64, "suppressed": pl.Boolean, "Email Address": pl.String,
                                   "First Name": pl.String, "createdOn": pl.Date, "modifiedOn": pl.Date,
                                   "Q": OPTIN_ANSWERS, "Q Date": pl.Date})
    assert df.get_column("Q").to_list() == ["Y", "P", None]
    assert df.get_column("suppressed").to_list() == [False, True, False]
    assert df.get_column("createdOn").to_list() == [D(2026, 3, 1), D(2025, 12, 31), D(2026, 2, 1)]


def test_dashboard_style_day_first_with_the_unnamed_last_column(tmp_path: Path) -> None:
    path = write(tmp_path, "Supporter ID,Supporter Email,First Name,Suppressed,Date Created,Date Modified,Q,Q Date,\n"
                           "7,a@x.org,Ann,N,01/03/2026,25/03/2026,N,01/03/2026,\n"
                           "8,b@x.org,Bo,Y,02/03/2026,02/03/2026,Y,02/03/2026,\n")
    df = read_supporter_export(path, email_field="Email Address", optins=["Q"], questions=["Q"])
    assert df.columns == ["supporterId", "Email Address", "First Name", "suppressed", "createdOn", "modifiedOn",
                          "Q", "Q Date"]
    assert df.row(0) == (7, "a@x.org", "Ann", False, D(2026, 3, 1), D(2026, 3, 25), "N", D(2026, 3, 1))


def test_dashboard_style_month_first(tmp_path: Path) -> None:
    path = write(tmp_path, "Supporter ID,Supporter Email,Date Created,Date Modified,\n"
                           "7,a@x.org,03/01/2026,03/25/2026,\n")
    df = read_supporter_export(path, email_field="Email")  # the account calls its email field "Email"
    assert df.row(0) == (7, "a@x.org", D(2026, 3, 1), D(2026, 3, 25))
    assert df.columns[1] == "Email"


def test_an_unnamed_column_with_values_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "supporterId,Email Address,\n1,a@x.org,note\n")
    assert read_supporter_export(path, email_field="Email Address").columns[-1] == "(unnamed column 3)"


def test_an_unknown_header_style_names_what_is_missing_and_how_to_map_it(tmp_path: Path) -> None:
    path = write(tmp_path, "ID,Mail,Joined\n1,a@x.org,2026-01-01\n")
    with pytest.raises(UnmappedColumns) as info:
        read_supporter_export(path, email_field="Email Address")
    assert info.value.missing == ["supporterId", "Email Address"] and info.value.seen == ["ID", "Mail", "Joined"]
    assert "columns=" in str(info.value)
    mapped = read_supporter_export(path, email_field="Email Address",
                                   columns={"ID": "supporterId", "Mail": "Email Address", "Joined": "createdOn"})
    assert mapped.row(0) == (1, "a@x.org", D(2026, 1, 1))


def test_dates_that_read_both_ways_are_refused_unless_the_order_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, "supporterId,Email Address,createdOn\n1,a@x.org,01/03/2026\n2,b@x.org,02/04/2026\n")
    with pytest.raises(AmbiguousDates) as info:
        read_supporter_export(path, email_field="Email Address")
    assert info.value.column == "createdOn" and "date_order" in str(info.value)
    assert read_supporter_export(path, email_field="Email Address", date_order="mdy").get_column(
        "createdOn").to_list() == [D(2026, 1, 3), D(2026, 2, 4)]
    mixed = write(tmp_path, "supporterId,Email Address,createdOn,modifiedOn\n1,a@x.org,25/03/2026,03/25/2026\n",
                  "mixed.csv")
    with pytest.raises(AmbiguousDates, match="neither"):
        read_supporter_export(mixed, email_field="Email Address")


def test_values_that_do_not_fit_name_their_column(tmp_path: Path) -> None:
    bad_code = write(tmp_path, "supporterId,Email Address,Q\n1,a@x.org,X\n", "code.csv")
    with pytest.raises(DataShapeError, match="'Q'") as info:
        read_supporter_export(bad_code, email_field="Email Address", optins=["Q"])
    assert "Y, N, P (pending) or D" in str(info.value)
    bad_id = write(tmp_path, "supporterId,Email Address\nabc,a@x.org\n", "id.csv")
    with pytest.raises(DataShapeError, match="supporterId"):
        read_supporter_export(bad_id, email_field="Email Address")


def test_documented_transactions(tmp_path: Path) -> None:
    path = write(tmp_path, "Supporter ID,Supporter Email,Campaign Number,Campaign Type,Campaign ID,Campaign Date,"
                           "Campaign Time,Campaign Status,Campaign Data 1,\n"
                           "7,a@x.org,10100,DCF,Sign up ,2026-03-25,09:30:05,,,\n"
                           "7,a@x.org,10130,PET,Appeal,2026-04-01,10:00:00,,,\n")
    df = read_transaction_export(path)
    assert df.select("supporterId", "campaignId", "type", "name", "createdOn", "createdDate").row(0) == (
        7, 10100, "DCF", "Sign up ", D(2026, 3, 25), dt.datetime(2026, 3, 25, 13, 30, 5, tzinfo=dt.UTC))  # EDT
    assert "Campaign Data 1" in df.columns and df.get_column("amount").null_count() == 2
    with pytest.raises(UnmappedColumns, match="Campaign Number"):
        read_transaction_export(write(tmp_path, "Supporter ID,When\n1,x\n", "t2.csv"))


def test_a_file_with_the_page_number_under_campaign_id_needs_a_mapping_and_reads_with_it(tmp_path: Path) -> None:
    text = ("Supporter ID,Supporter Email,Campaign ID,Campaign Type,Campaign Date,Campaign Time,\n"
            "7,a@x.org,10100,DCF,2026-03-25,09:30:05,\n")
    path = write(tmp_path, text)
    with pytest.raises(UnmappedColumns, match=r"Campaign Number.*columns=\{'<your column>': 'Campaign Number'\}"):
        read_transaction_export(path)
    df = read_transaction_export(path, columns={"Campaign ID": "Campaign Number"})
    assert df.select("supporterId", "campaignId", "name").row(0) == (7, 10100, None)


def test_transaction_dates_agree_with_created_date() -> None:
    created = [dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC), dt.datetime(2026, 4, 3, 10, tzinfo=dt.UTC), None]
    df = pl.DataFrame({"createdOn": ["03/04/2026", "03/04/2026", None], "createdDate": created})
    out = transaction_dates(df, None)
    assert out.get_column("createdOn").to_list() == [D(2026, 3, 4), D(2026, 4, 3), None]  # month-first, then day-first
    undated = pl.DataFrame({"createdOn": ["03/04/2026"], "createdDate": [None]},
                           schema={"createdOn": pl.String, "createdDate": pl.Datetime("ms", "UTC")})
    with pytest.raises(AmbiguousDates):
        transaction_dates(undated, None)
    assert transaction_dates(undated, "dmy").item(0, "createdOn") == D(2026, 4, 3)
    us = pl.DataFrame({"createdOn": ["03/25/2026"], "createdDate": [None]},
                      schema={"createdOn": pl.String, "createdDate": pl.Datetime("ms", "UTC")})
    assert transaction_dates(us, None).item(0, "createdOn") == D(2026, 3, 25)  # a US date never raises


def test_the_date_order_comes_from_the_environment(shared_sandbox) -> None:
    from enstoolkit.config import connect
    from enstoolkit.errors import ValidationError

    env = {"ENS_API_KEY": shared_sandbox.ens_api_key, "ENS_BASE_URL": shared_sandbox.ens_url,
           "ENCHARGE_API_KEY": shared_sandbox.encharge_api_key, "ENCHARGE_BASE_URL": shared_sandbox.encharge_url}
    assert connect(environ=env).ens.date_order is None
    assert connect(environ={**env, "ENS_DATE_ORDER": "mdy"}).ens.date_order == "mdy"
    with pytest.raises(ValidationError, match="date_order"):
        connect(environ={**env, "ENS_DATE_ORDER": "ymd"})


def test_a_short_row_is_an_error_naming_its_line(tmp_path: Path) -> None:
    from enstoolkit.errors import DataShapeError

    path = tmp_path / "short.csv"
    path.write_text("Supporter ID,Supporter Email,First Name,Last Name\n1,a@x.org,Ann,Lee\n2,b@x.org,Bo\n")
    with pytest.raises(DataShapeError, match="line 3"):
        read_supporter_export(path, email_field="Email Address")


def test_a_latin1_file_keeps_its_letters(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("Supporter ID,Supporter Email,First Name\n1,j@x.org,Jörg\n".encode("latin-1"))
    assert read_supporter_export(path, email_field="Email Address").item(0, "First Name") == "Jörg"


SUPPORTERS = ("supporterId,Email Address,First Name,Last Name,Postcode,suppressed,modifiedOn,Q,Q Date\n"
              "1,a@x.org,A,A,P,false,2026-02-20,Y,2026-02-20\n"
              "2,b@x.org,B,B,P,false,2026-02-20,N,2026-02-20\n")
TRANSACTIONS = ("Supporter ID,Campaign Number,Campaign Type,Campaign ID,Campaign Date,Campaign Time,\n"
                "1,10100,DCF,Sign up,25/03/2026,09:30:00,\n"
                "2,10100,DCF,Sign up,25/03/2026,09:31:00,\n")


def blank_lines(text: str, where: str) -> str:
    """``text`` (a header and two rows) with blank lines put ``where``."""
    head, first, second = text.splitlines(keepends=True)
    return {"leading": "\n" + text,
            "leading, several": "\n\n \n" + text,
            "trailing": text + "\n",
            "trailing, several": text + "\n\n",
            "middle": head + first + "\n" + second,
            "first row": head + "\n" + first + second,
            "whitespace and commas": head + first + "  \n,,,\n" + second,
            "crlf": (text + "\n").replace("\n", "\r\n"),
            "crlf, leading and middle": ("\n" + head + first + "\n" + second + "\n").replace("\n", "\r\n"),
            }[where]


PLACES = ["leading", "leading, several", "trailing", "trailing, several", "middle", "first row",
          "whitespace and commas", "crlf", "crlf, leading and middle"]


@pytest.mark.parametrize("where", PLACES)
def test_blank_lines_in_a_supporter_export_are_not_supporters(tmp_path: Path, where: str) -> None:
    from enstoolkit.analysis import optin_rates, run_audit, summarise

    path = tmp_path / "export.csv"
    path.write_bytes(blank_lines(SUPPORTERS, where).encode())
    df = read_supporter_export(path, email_field="Email Address", optins=["Q"], questions=["Q"])
    assert df.get_column("supporterId").to_list() == [1, 2]
    assert df.get_column("Email Address").to_list() == ["a@x.org", "b@x.org"]
    assert optin_rates(df, ["Q"]).select("supporters", "opted_in", "rate").rows() == [(2, 1, 0.5)]
    findings = summarise(run_audit(df, optins=["Q"], today=D(2026, 3, 1)))
    assert findings.get_column("findings").sum() == 0  # no phantom "invalid email" or "missing fields"


@pytest.mark.parametrize("where", PLACES)
def test_blank_lines_in_a_transaction_export_are_not_transactions(tmp_path: Path, where: str) -> None:
    path = tmp_path / "transactions.csv"
    path.write_bytes(blank_lines(TRANSACTIONS, where).encode())
    df = read_transaction_export(path)
    assert df.select("supporterId", "campaignId", "createdOn").rows() == [(1, 10100, D(2026, 3, 25)),
                                                                       (2, 10100, D(2026, 3, 25))]


def test_ens_error_text_in_place_of_an_export_raises_with_its_message(tmp_path: Path) -> None:
    from enstoolkit.ens.readers import csv_header
    from enstoolkit.errors import APIError

    path = write(tmp_path, "\n\nERROR: the query 'All supporters' could not be run\n")
    for read in (csv_header, lambda p: read_supporter_export(p, email_field="Email Address"),
                 read_transaction_export):
        with pytest.raises(APIError, match="ERROR: the query 'All supporters' could not be run") as info:
            read(path)
        assert info.value.body == "ERROR: the query 'All supporters' could not be run"
        assert "run the export again" in str(info.value)


def test_a_file_of_blank_lines_is_an_error_and_an_empty_file_an_empty_frame(tmp_path: Path) -> None:
    blank = write(tmp_path, "\n\r\n  \n", "blank.csv")
    for read in (lambda p: read_supporter_export(p, email_field="Email Address"), read_transaction_export):
        with pytest.raises(DataShapeError, match="no header"):
            read(blank)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert read_supporter_export(empty, email_field="Email Address").height == 0
    assert read_transaction_export(empty).height == 0
    header_only = write(tmp_path, "supporterId,Email Address\n\n", "header.csv")
    assert read_supporter_export(header_only, email_field="Email Address").height == 0


def test_a_row_with_values_but_no_supporter_id_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "\nsupporterId,Email Address\n1,a@x.org\n\n  ,b@x.org\n")
    with pytest.raises(DataShapeError, match=r"supporterId.*line 5"):
        read_supporter_export(path, email_field="Email Address")
    tx = write(tmp_path, TRANSACTIONS + ",10100,DCF,Sign up,25/03/2026,09:32:00,\n", "t.csv")
    with pytest.raises(DataShapeError, match=r"Supporter ID.*line 4"):
        read_transaction_export(tx)
