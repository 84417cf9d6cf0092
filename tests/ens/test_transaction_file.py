"""The "Transaction" export file as ENS documents it: written by the sandbox, read back, what the analyses make of it.

Known answers from small files written here (each fact of the vendor's documentation: Campaign
Number the number, Campaign ID the name, US/Eastern times, type codes, answer rows, Supporter ID
0), then the sandbox's own file over real HTTP.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.analysis import (
    answer_history,
    by_acquisition,
    cohorts,
    monthly_trend,
    optin_rates,
    run_audit,
    summarise,
)
from enstoolkit.ens.readers import read_transaction_export, reporting_zone, supporter_ids_by_email
from enstoolkit.ens.transaction_types import is_page_submission, type_table
from enstoolkit.errors import DataShapeError, ValidationError
from enstoolkit.sandbox import Sandbox
from enstoolkit.sandbox.ens_transactions import documented_header, eastern

D, UTC = dt.date, dt.UTC
HEADER = ("Account ID,Supporter ID,Supporter Email,Date Created,Date Modified,Campaign Number,Campaign Type,"
          "Campaign ID,Campaign Date,Campaign Time,Campaign Status,Campaign Data 1,Campaign Data 2,Campaign Data 3,"
          "Campaign Data 4,Campaign Data 5,Campaign Data 6,Email Address,First Name,\n")


def write(tmp_path: Path, rows: str, header: str = HEADER, name: str = "tx.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + rows)
    return path


def test_a_documented_file_reads_every_column_as_documented(tmp_path: Path) -> None:
    path = write(tmp_path,
                 "1234,7,a@x.org,2024-11-30,2025-01-02,10130,FCS,D.1.1 Denver Donation Page ,2024-12-01,13:53:02,"
                 "success,8001,ch_1,Approved,5.0,USD,VI,a@x.org,Ann,\n"
                 "1234,7,a@x.org,2024-11-30,2025-01-02,20002,EBC,Rivers Update,2025-07-01,14:53:02,R,502,open,,,,,"
                 "a@x.org,Ann,\n"
                 "1234,7,a@x.org,2024-11-30,2025-01-02,4512,QCB,Opt-in EMAIL,2024-12-01,13:54:00,D,,,,,,,a@x.org,Ann,\n"
                 "1234,0,,,,40001,PSTE,Runaround Challenge,2025-03-09,10:00:00,,site,,,,,,,,\n"
                 "1234,7,a@x.org,2024-11-30,2025-01-02,999,ZZQ,Something new,2025-03-09,10:00:00,,,,,,,,a@x.org,Ann,\n")
    df = read_transaction_export(path)
    gift = df.row(0, named=True)
    assert (gift["supporterId"], gift["campaignId"], gift["name"], gift["type"]) == \
        (7, 10130, "D.1.1 Denver Donation Page ", "FCS")  # the name exactly, trailing space kept
    assert gift["createdOn"] == D(2024, 12, 1)
    assert gift["createdDate"] == dt.datetime(2024, 12, 1, 18, 53, 2, tzinfo=UTC)  # EST: UTC-5
    assert (gift["id"], gift["amount"], gift["currency"], gift["recurringPayment"]) == (8001, 5.0, "USD", False)
    broadcast = df.row(1, named=True)
    assert broadcast["createdDate"] == dt.datetime(2025, 7, 1, 18, 53, 2, tzinfo=UTC)  # EDT: UTC-4
    assert broadcast["amount"] is None and broadcast["Campaign Data 2"] == "open"
    assert df.row(2, named=True)["status"] == "D"
    account = df.row(3, named=True)
    assert (account["supporterId"], account["isSupporter"], account["type"]) == (0, False, "PSTE")
    assert df.row(4, named=True)["type"] == "ZZQ"  # an unknown code is kept
    assert df.get_column("isSupporter").to_list() == [True, True, True, False, True]
    assert df.get_column("supporterCreated").to_list()[0] == D(2024, 11, 30)


def test_times_are_read_in_the_reporting_zone_and_a_bad_zone_or_time_stops(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, "1234,7,a@x.org,,,10100,DCF,Sign up,2026-01-15,12:00:00,,,,,,,,,,\n")
    assert read_transaction_export(path).item(0, "createdDate") == dt.datetime(2026, 1, 15, 17, tzinfo=UTC)
    london = read_transaction_export(path, timezone="Europe/London").item(0, "createdDate")
    assert london == dt.datetime(2026, 1, 15, 12, tzinfo=UTC)
    monkeypatch.setenv("ENS_TIMEZONE", "America/Chicago")
    assert read_transaction_export(path).item(0, "createdDate") == dt.datetime(2026, 1, 15, 18, tzinfo=UTC)
    monkeypatch.setenv("ENS_TIMEZONE", "US/Eastren")
    with pytest.raises(ValidationError, match="ENS_TIMEZONE") as info:
        read_transaction_export(path)
    assert info.value.value == "US/Eastren"
    with pytest.raises(ValidationError, match="ENS_TIMEZONE"):
        ENSClient("key-1234", "http://127.0.0.1:9/ens/rest")  # before any request is sent
    monkeypatch.delenv("ENS_TIMEZONE")
    assert reporting_zone() == "US/Eastern"
    skipped = write(tmp_path, "1234,7,a@x.org,,,10100,DCF,Sign up,2026-03-08,02:30:00,,,,,,,,,,\n", name="gap.csv")
    with pytest.raises(DataShapeError, match="ENS_TIMEZONE"):
        read_transaction_export(skipped)  # clocks skip 02:30 that night in US/Eastern: a wrong zone, never a shift
    bad = write(tmp_path, "1234,7,a@x.org,,,10100,DCF,Sign up,2026-03-08,25:61,,,,,,,,,,\n", name="bad.csv")
    with pytest.raises(DataShapeError, match="Campaign Time"):
        read_transaction_export(bad)


def test_renamed_columns_and_the_user_data_format_read_the_same(tmp_path: Path) -> None:
    rows = "1234,{sid}a@x.org,2024-11-30,2025-01-02,10130,FCS,Appeal,2024-12-01,13:53:02,success,8001,,,5.0,GBP,,,,\n"
    standard = read_transaction_export(write(tmp_path, rows.format(sid="7,"), name="a.csv"))
    renamed_header = HEADER.replace("Supporter Email", "Email").replace("Date Created", "Created") \
        .replace("Campaign Data 1,", "EN Transaction ID,")
    renamed = read_transaction_export(write(tmp_path, rows.format(sid="7,"), renamed_header, "b.csv"))
    assert renamed.select("supporterId", "id", "amount", "currency", "supporterCreated").row(0) == \
        standard.select("supporterId", "id", "amount", "currency", "supporterCreated").row(0) == \
        (7, 8001, 5.0, "GBP", D(2024, 11, 30))
    user_header = renamed_header.replace("Supporter ID,", "")
    user = read_transaction_export(write(tmp_path, rows.format(sid=""), user_header, "c.csv"))
    assert user.item(0, "supporterId") is None and user.item(0, "isSupporter")
    supporters = pl.DataFrame({"supporterId": [7, 8], "Email": ["a@x.org", "A@x.org"]})
    linked = supporter_ids_by_email(user, supporters, "Email")
    assert linked.select(standard.columns[:18]).equals(standard.select(standard.columns[:18]))
    with pytest.raises(ValidationError, match="supporter_ids_by_email"):
        by_acquisition(supporters.rename({"Email": "email"}).with_columns(pl.lit("Y").alias("Q")), user, "Q")
    shared = pl.DataFrame({"supporterId": [7, 8], "Email": ["a@x.org", "a@x.org"]})
    with pytest.raises(DataShapeError, match=r"a@x\.org"):
        supporter_ids_by_email(user, shared, "Email")


def test_the_type_table_knows_pages_from_the_rest() -> None:
    table = type_table()
    pages = set(table.filter(pl.col("page_submission")).get_column("type"))
    assert {"FCS", "FCR", "PET", "DCF", "ETT", "EMS", "dc", "nd"} <= pages
    assert not {"EBC", "MBC", "QCB", "CQS", "QMR", "UNS", "SSC", "PSTE", "EMAIL"} & pages
    assert is_page_submission("SBC") is None


def _tx(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"supporterId": pl.Int64, "type": pl.String, "campaignId": pl.Int64,
                                      "name": pl.String, "status": pl.String,
                                      "createdDate": pl.Datetime("ms", "UTC")}, orient="row")


def at(day: int, month: int = 1, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


def test_acquisition_counts_page_submissions_only() -> None:
    ens = pl.DataFrame({"supporterId": [1, 2, 3, 4, 5, 6], "Q": ["Y", "N", "Y", "Y", "N", "Y"]})
    tx = _tx([(1, "EBC", 20001, "Newsletter", "R", at(1)), (1, "PET", 10110, "Rivers", None, at(2)),
              (2, "SSC", None, None, None, at(1)), (2, "PET", 10110, "Rivers", None, at(1, hour=13)),
              (3, "MBC", 30101, "Welcome", "R", at(1)), (3, "QCB", 4512, "Q", "Y", at(1)),
              (3, "DCF", 10100, "Sign up", None, at(1, hour=14)),
              (4, "ZZQ", 1, "New thing", None, at(1)), (4, "DCF", 10100, "Sign up", None, at(2)),
              (5, "SSC", None, None, None, at(1)), (0, "PSTE", 40001, "Runaround Challenge", None, at(1))])
    table = by_acquisition(ens, tx, "Q")
    assert table.rows() == [
        (10110, "Rivers", 2, 1, 0.5), (10100, "Sign up", 1, 1, 1.0),
        (None, "(cannot tell: unknown transaction type ZZQ)", 1, 1, 1.0),
        (None, "(no page submission)", 1, 0, 0.0), (None, "(no transaction)", 1, 1, 1.0)]


def test_exact_history_counts_answers_and_says_estimate_where_there_are_none() -> None:
    ens = pl.DataFrame({"supporterId": [1, 2, 3, 4], "createdOn": [D(2026, 1, 1)] * 4,
                        "Q": ["N", "N", "Y", "D"],
                        "Q Date": [D(2026, 3, 5), D(2026, 3, 5), D(2026, 2, 1), D(2026, 1, 1)]})
    tx = _tx([(1, "QCB", 4512, "Q", "Y", at(1)), (1, "QCB", 4512, "Q", "N", at(5, 3)),   # joined in, left
              (2, "QCB", 4512, "Q", "N", at(1)), (2, "QCB", 4512, "Q", "Y", at(1, 2)),    # joined out, in, out
              (2, "QCB", 4512, "Q", "N", at(5, 3)),
              (3, "QCB", 4512, "Q", "N", at(1)), (3, "QCB", 4512, "Q", "Y", at(1, 2)),    # joined out, in later
              (4, "QCB", 4512, "Q", "D", at(1))])
    exact = cohorts(ens, "Q", transactions=tx)
    estimate = cohorts(ens, "Q")
    assert exact.rows() == [(D(2026, 1, 1), 4, 1, 0, 0.0, "exact (answer history)")]
    assert estimate.rows() == [(D(2026, 1, 1), 4, 3, 1, 0.3333, "estimate (latest answer only)")]
    trend = monthly_trend(ens, ["Q"], transactions=tx)
    assert trend.select("month", "opt_ins", "opt_outs", "basis").rows() == [
        (D(2026, 1, 1), 1, 2, "exact (answer history)"), (D(2026, 2, 1), 2, 0, "exact (answer history)"),
        (D(2026, 3, 1), 0, 2, "exact (answer history)")]
    assert answer_history(tx, "Q").get_column("answer").to_list().count("D") == 1
    rates = optin_rates(ens, ["Q"]).row(0, named=True)
    assert (rates["opted_in"], rates["left_out"], rates["rate"]) == (1, 1, round(1 / 3, 4))
    assert "'D'" in rates["left_out_why"]
    none = monthly_trend(ens, ["Q"], transactions=_tx([]))
    assert set(none.get_column("basis")) == {"estimate (latest answer only)"}


def test_the_sandbox_writes_the_documented_layout_and_the_client_reads_it_back() -> None:
    with Sandbox(supporters=200, seed=3) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        assert documented_header(sb.ens)[:11] == [
            "Account ID", "Supporter ID", "Supporter Email", "Date Created", "Date Modified", "Campaign Number",
            "Campaign Type", "Campaign ID", "Campaign Date", "Campaign Time", "Campaign Status"]
        header = ens.export_columns("All supporters", format="Transaction")
        assert header == documented_header(sb.ens) and header[-1] == ""
        tx = ens.export_transactions("All supporters")
        # every page transaction the sandbox holds comes back at its own instant, in UTC
        rec = sb.ens.records[100001]
        held = sb.ens.history(rec)
        mine = tx.filter(pl.col("supporterId") == 100001)
        for item in held:
            when = dt.datetime.fromtimestamp(item["createdDate"] / 1000, UTC)
            assert when in mine.get_column("createdDate").to_list()
            day, _ = eastern(item["createdDate"])
            assert day == mine.filter(pl.col("createdDate") == when).item(0, "createdOn").isoformat()
        assert set(tx.filter(~pl.col("isSupporter")).get_column("type")) == {"PSTE"}
        answers = tx.filter(pl.col("type").is_in(["QCB", "CQS"]))
        assert set(answers.get_column("status")) <= {"Y", "N", "P"} and answers.height > 200


def test_a_lookup_cut_short_by_a_silent_cap_asks_the_rest_again() -> None:
    for variant in ("default", "encharge-lookup-cap-20"):
        with Sandbox(supporters=300, seed=3, variant=variant) as sb, \
                EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            emails = sorted(enc.list_people().get_column("email").str.to_lowercase().to_list())[:120]
            asked = emails + [f"nobody{i}@example.org" for i in range(15)]
            params = [(f"people[{i}][email]", e) for i, e in enumerate(emails[:50])]
            raw = httpx.get(f"{sb.encharge_url}/people", params=params,
                            headers={"X-Encharge-Token": sb.encharge_api_key}).json()["users"]
            assert len(raw) == (20 if "cap" in variant else 50)  # the cap is real, and silent
            found = enc.get_people(emails=asked, chunk_size=50)
            assert sorted(found.get_column("email").str.to_lowercase().to_list()) == emails, variant


def test_the_audit_reads_statuses_from_the_segment_and_says_cannot_check_only_without_one() -> None:
    summaries = {}
    for variant, segment in (("default", "Unsubscribed"), ("encharge-no-status", "Unsubscribed"),
                             ("encharge-no-status", None)):
        with Sandbox(supporters=400, seed=3, variant=variant) as sb, \
                ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
                EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            supporters = ens.export_supporters("All supporters")
            people = enc.people_with_status(segment=segment)
            summary = summarise(run_audit(supporters, people, optins=["Marketing Optin"], today=D(2026, 10, 1)))
            summaries[(variant, segment)] = dict(zip(summary["check"], summary["findings"], strict=True))
    field, segment, neither = summaries.values()
    assert field["opted out, subscribed in Encharge"] > 0
    assert segment == field
    assert neither["opted out, subscribed in Encharge"] is None  # no count beside "cannot check", not a 0
    assert neither["opted in, unsubscribed in Encharge"] is None


def test_doctor_says_which_time_zone_it_reads_exports_in() -> None:
    from enstoolkit.config import Connection, diagnose

    with Sandbox(supporters=50) as sb, ENSClient(sb.ens_api_key, sb.ens_url, timezone="America/Chicago") as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        report = diagnose(Connection(ens, enc, sb, False, False), query=None)
    found = {section: text for section, text, _ in report.lines}
    assert found["export time zone"].startswith("America/Chicago (ENS_TIMEZONE)")


def test_the_search_panel_reads_statuses_the_same_way() -> None:
    from enstoolkit.widgets.actions import with_encharge

    with Sandbox(supporters=200, seed=3, variant="encharge-no-status") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        found = with_encharge(ens.export_supporters("All supporters"), enc).filter(pl.col("in_encharge"))
        assert found.height > 100
        assert set(found.get_column("encharge_status_source")) == {"the account's Unsubscribed segment"}
        assert found.get_column("encharge_unsubscribed").null_count() == 0


def test_a_supporter_created_through_the_api_has_an_ssc_row_and_no_page() -> None:
    with Sandbox(supporters=20, seed=3) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        sid = ens.upsert_supporter({"Email Address": "api.made@example.org", "First Name": "Api"})
        tx = ens.export_transactions("All supporters").filter(pl.col("supporterId") == sid)
        assert tx.get_column("type").to_list() == ["SSC"]
        table = by_acquisition(ens.export_supporters("All supporters"), ens.export_transactions("All supporters"),
                               "Marketing Optin")
        assert table.filter(pl.col("page") == "(no page submission)").item(0, "supporters") == 1
