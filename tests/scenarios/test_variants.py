"""The variant matrix: the same synthetic account in every shape a real one may have, the same answers from all.

Each variant changes only how the emulated account shapes what it sends (export headers, date
order, field names, the email field's name, pending opt-ins, ids as text, range questions,
membership history, the transaction file's layout, Encharge records without a status, a lookup
that answers 20 people at most); the people are the same. The audit and the opt-in analysis must
give the same findings, rates, acquisition table, trend and cohorts on every one, and each variant
must really change the shapes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.analysis import (
    by_acquisition,
    cohorts,
    monthly_trend,
    optin_rates,
    optin_state_conflicts,
    run_audit,
    summarise,
)
from enstoolkit.config import Connection, audit_settings
from enstoolkit.ens.readers import supporter_ids_by_email
from enstoolkit.inputs.arguments import is_valid_email
from enstoolkit.sandbox import Sandbox

pytestmark = pytest.mark.slow  # a dozen sandboxes, each exported and audited: with the slow tests

VARIANTS = ["default", "dashboard-headers", "us-account", "pending-optins", "text-values", "plain-questions",
            "dashboard-headers,us-account,pending-optins,text-values", "renamed-export-columns",
            "user-data-transactions", "encharge-no-status", "encharge-lookup-cap-20",
            "user-data-transactions,us-account,encharge-no-status,encharge-lookup-cap-20", "api-headers"]
#: Variants whose transaction file holds no answer rows (this project's older style): their trend and cohorts are
#: the estimates, and must say so.
WITHOUT_ANSWER_ROWS = {"api-headers"}


def pipeline(variant: str) -> dict[str, object]:
    with Sandbox(supporters=1000, seed=3, variant=variant) as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        conn = Connection(ens, enc, sb, False, False)
        settings = audit_settings(conn)
        header = ens.export_columns(settings.query)
        supporters = ens.export_supporters(settings.query)
        transactions = supporter_ids_by_email(ens.export_transactions(settings.query), supporters,
                                              settings.email_field)
        people = enc.people_with_status()
        findings = run_audit(supporters, people, optins=settings.optins, required=settings.required,
                             today=conn.today())
        question = settings.optins[0]
        rates = optin_rates(supporters, settings.optin_questions)
        asked = sorted({e.strip().lower() for e in supporters.get_column(settings.email_field).drop_nulls()
                        if is_valid_email(e.strip().lower())})
        return {
            "header": header, "settings": settings, "supporters": supporters, "transactions": transactions,
            "people": people,
            "findings": findings.select("check", "severity", "supporterId",
                                        pl.col("email").str.strip_chars().str.to_lowercase())
                                .sort(pl.all(), nulls_last=True),
            "summary": summarise(findings).select("check", "severity", "findings", "note"),
            "rates": rates.drop("pending"), "pending": rates.get_column("pending").sum(),
            "acquisition": by_acquisition(supporters, transactions, question, pages=ens.page_names()),
            "trend": monthly_trend(supporters, settings.optin_questions, transactions=transactions),
            "cohorts": cohorts(supporters, question, transactions=transactions),
            "estimate": cohorts(supporters, question),
            "double": optin_state_conflicts(supporters, people, "Email Opt-in (double)"),
            "found": enc.get_people(emails=asked).get_column("email").str.to_lowercase().sort(),
        }


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, object]]:
    return {variant: pipeline(variant) for variant in VARIANTS}


PENDING = "pending in ENS, subscribed in Encharge"  # a check only an account with pending answers can have


@pytest.mark.parametrize("variant", VARIANTS[1:])
def test_every_variant_gives_the_same_findings_and_rates(results: dict, variant: str) -> None:
    base, other = results["default"], results[variant]
    for part in ("findings", "summary", "rates", "acquisition", "trend", "cohorts", "estimate", "found"):
        mine, theirs = other[part], base[part]
        if part in ("findings", "summary"):
            mine, theirs = mine.filter(pl.col("check") != PENDING), theirs.filter(pl.col("check") != PENDING)
        if variant in WITHOUT_ANSWER_ROWS and part == "cohorts":
            theirs = base["estimate"]
        if variant in WITHOUT_ANSWER_ROWS and part == "trend":
            continue  # estimated from the supporter file: compared below
        assert mine.equals(theirs), f"{variant}: {part} differs"  # type: ignore[attr-defined]


def test_the_cohorts_are_exact_where_the_file_has_answer_rows_and_say_estimate_where_not(results: dict) -> None:
    exact, estimate = results["default"]["cohorts"], results["default"]["estimate"]
    assert set(exact.get_column("basis")) == {"exact (answer history)"}
    assert set(estimate.get_column("basis")) == {"estimate (latest answer only)"}
    assert exact.get_column("signed_up").to_list() == estimate.get_column("signed_up").to_list()
    assert (exact["still_opted_in"] <= exact["joined_opted_in"]).all()
    for variant in WITHOUT_ANSWER_ROWS:
        assert set(results[variant]["trend"].get_column("basis")) == {"estimate (latest answer only)"}
    assert set(results["default"]["trend"].get_column("basis")) == {"exact (answer history)"}


def test_the_new_shapes_are_really_there(results: dict) -> None:
    default = results["default"]["transactions"]
    assert {"EBC", "MBC", "SSC", "QCB", "CQS", "QMR", "PSTE", "UNS"} <= set(default.get_column("type"))
    assert default.filter(pl.col("type") == "PSTE").get_column("isSupporter").not_().all()
    assert "Spring Appeal Email " in default.get_column("name").to_list()  # kept exactly as written
    user_data = results["user-data-transactions"]["transactions"]
    assert user_data.height == default.height
    people = pl.col("isSupporter")
    assert default.filter(people).select("supporterId", "type", "createdDate").equals(
        user_data.filter(people).select("supporterId", "type", "createdDate"))  # ids came back by email, row by row
    assert user_data.filter(~people).get_column("supporterId").null_count() == 3  # account-level: nobody's
    renamed = results["renamed-export-columns"]["transactions"]
    assert renamed.select("id", "amount", "currency").equals(default.select("id", "amount", "currency"))
    for variant in ("encharge-no-status", "user-data-transactions,us-account,encharge-no-status,"
                                          "encharge-lookup-cap-20"):
        sources = set(results[variant]["people"].get_column("statusSource"))
        assert sources == {"the account's Unsubscribed segment"}, variant
        summary = results[variant]["summary"]
        assert summary.get_column("note").null_count() == summary.height, variant  # every check could run
    assert results["default"]["found"].len() > 500


def test_pending_answers_subscribed_in_encharge_are_found_where_there_are_some(results: dict) -> None:
    for variant, result in results.items():
        double = result["double"].filter(pl.col("check") == PENDING)
        pending = result["supporters"].get_column("Email Opt-in (double)").eq("P").sum()
        if "pending-optins" in variant:
            assert 0 < double.height <= pending, variant  # found, and never more than the pending answers
            assert double.get_column("detail").str.contains("P \\(double opt-in not confirmed\\)").all()
        else:
            assert double.height == 0 and pending == 0, variant


def test_the_findings_are_real(results: dict) -> None:
    summary = results["default"]["summary"]
    assert summary.get_column("note").null_count() == summary.height  # every check could run
    counts = dict(zip(summary["check"], summary["findings"], strict=True))
    assert counts["invalid email"] > 0 and counts["duplicate email"] > 0
    assert counts["opted out, subscribed in Encharge"] > 0 and counts["missing fields"] > 0


def test_each_variant_really_changes_the_shapes(results: dict) -> None:
    assert results["default"]["header"][:2] == ["supporterId", "suppressed"]
    dashboard = results["dashboard-headers"]["header"]
    assert dashboard[:2] == ["Supporter ID", "Supporter Email"] and dashboard[-1] == ""
    assert "Date Created" in dashboard
    us = results["us-account"]
    assert us["settings"].email_field == "Email"
    assert us["settings"].required == ["First Name", "Last Name", "ZIP or Postal Code"]
    assert "ZIP or Postal Code" in us["supporters"].columns and "Postcode" not in us["supporters"].columns
    assert results["pending-optins"]["pending"] > 0 and results["default"]["pending"] == 0
    combined = results["dashboard-headers,us-account,pending-optins,text-values"]
    assert combined["header"][0] == "Supporter ID" and combined["pending"] > 0


def test_us_dates_are_month_first_and_read_as_such() -> None:
    with Sandbox(supporters=200, seed=3, variant="dashboard-headers,us-account") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        rec = sb.ens.records[sb.ens.first_supporter_id()]
        path = ens._run_export_job("All supporters")
        try:
            text = path.read_text()
        finally:
            path.unlink()
        assert rec.created.strftime("%m/%d/%Y") in text
        df = ens.export_supporters("All supporters")
        assert df.filter(pl.col("supporterId") == rec.supporter_id).item(0, "createdOn") == rec.created.date()
        tx = ens.get_transactions(rec.supporter_id)
        dated = tx.filter(pl.col("createdOn").is_not_null())
        assert dated.height and (dated["createdOn"] == dated["createdDate"].dt.date()).all()


def test_text_values_and_range_questions_and_history(tmp_path: Path) -> None:
    with Sandbox(supporters=400, seed=3, variant="text-values") as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        member = next(r for r in sb.ens.records.values() if sb.ens.memberships(r))
        row = ens.get_supporter(member.supporter_id, questions=True, memberships=True).row(0, named=True)
        assert row["supporterId"] == member.supporter_id and row["suppressed"] == member.suppressed
        history = row["memberships"][0]["history"]
        assert history and history[0]["termStartDate"] == row["memberships"][0]["termStartDate"]
        rng = ens.get_questions().filter(pl.col("name") == "Likelihood to Recommend")
        detail = ens.get_question(rng.item(0, "id"))
        assert detail.item(0, "htmlFieldType") == "range"
        assert detail.item(0, "range")["max"] == "10" and detail.item(0, "content") is None
        answered = [r for r in sb.ens.records.values() if 1210 in sb.ens.answers(r)]
        got = ens.get_supporter(answered[0].supporter_id, questions=True).item(0, "questions").to_list()
        assert any(q["name"] == "Likelihood to Recommend" and q["response"].isdigit() for q in got)
    with Sandbox(supporters=50, variant="plain-questions") as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        assert "Likelihood to Recommend" not in ens.get_questions()["name"].to_list()


def test_a_dashboard_export_keeps_the_day(tmp_path: Path) -> None:
    """A day-first file whose first rows are ambiguous is still read day-first (other rows prove it)."""
    with Sandbox(supporters=300, seed=3, variant="dashboard-headers") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        df = ens.export_supporters("All supporters")
        expected = {r.supporter_id: r.created.date() for r in sb.ens.records.values()}
        assert all(expected[sid] == day for sid, day in df.select("supporterId", "createdOn").iter_rows())
        assert df.get_column("createdOn").min() < dt.date(2026, 1, 1)
