"""Audit checks and opt-in analysis on small hand-made frames with known answers."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from enstoolkit import analysis
from enstoolkit.schemas.results import FINDINGS

D = dt.date


@pytest.fixture
def ens() -> pl.DataFrame:
    return pl.DataFrame({
        "supporterId": [1, 2, 3, 4, 5, 6],
        "suppressed": [False, False, True, True, False, False],
        "First Name": ["Ann", "Ann", "Cy", None, "Ed", " "],
        "Last Name": ["Lee", "Lee", "Ng", "Oh", "Po", "Qi"],
        "Email Address": ["ann@x.org", " ANN@x.org ", "cy@x.org", "dee@x", "ed@x.org", "fay@x.org"],
        "Postcode": ["A1", "A1", None, "D4", "E5", "F6"],
        "Country": ["GB", "GB", "IE", "GB", None, "IE"],
        "createdOn": [D(2025, 1, 5), D(2025, 1, 20), D(2025, 2, 1), D(2025, 2, 3), D(2025, 2, 9), D(2025, 3, 1)],
        "modifiedOn": [D(2026, 1, 1), D(2022, 6, 1), D(2026, 1, 1), D(2023, 1, 1), D(2026, 1, 1), D(2026, 1, 1)],
        "Marketing Optin": [True, None, True, False, False, True],
        "Marketing Optin Date": [D(2025, 1, 5), None, D(2025, 2, 1), D(2025, 2, 3), D(2025, 6, 1), D(2025, 3, 1)],
    })


@pytest.fixture
def encharge() -> pl.DataFrame:
    return pl.DataFrame({
        "id": ["p1", "p3", "p5", "p9"],
        "email": ["ann@x.org", "cy@x.org", "ED@x.org", "zed@x.org"],
        "unsubscribed": [False, True, False, False],
    })


def test_duplicates(ens: pl.DataFrame) -> None:
    found = analysis.duplicate_supporters(ens)
    assert found.select("supporterId", "email").rows() == [(1, "ann@x.org"), (2, " ANN@x.org ")]
    assert set(found.get_column("detail")) == {"2 records share ann@x.org: 1, 2"}
    assert found.schema == pl.Schema(FINDINGS)


def test_invalid_and_missing(ens: pl.DataFrame) -> None:
    invalid = analysis.invalid_emails(ens).select("supporterId", "detail").rows()
    assert invalid == [(4, "not a valid email address: 'dee@x'")]
    missing = analysis.missing_fields(ens, ["First Name", "Postcode"])
    assert missing.select("supporterId", "detail").rows() == [
        (3, "missing: Postcode"), (4, "missing: First Name"), (6, "missing: First Name")]
    with pytest.raises(ValueError, match="Favourite"):
        analysis.missing_fields(ens, ["Favourite"])


def test_suppressed_with_optin_and_stale(ens: pl.DataFrame) -> None:
    assert analysis.suppressed_with_optin(ens, ["Marketing Optin"]).get_column("supporterId").to_list() == [3]
    stale = analysis.stale_records(ens, older_than_days=730, today=D(2026, 6, 1))
    assert stale.get_column("supporterId").to_list() == [2, 4]
    assert stale.item(0, "detail") == "not modified for 1461 days (since 2022-06-01)"


def test_cross_system(ens: pl.DataFrame, encharge: pl.DataFrame) -> None:
    conflicts = analysis.optin_state_conflicts(ens, encharge)
    assert conflicts.select("supporterId", "check", "severity").rows() == [
        (3, "opted in, unsubscribed in Encharge", "medium"),
        (5, "opted out, subscribed in Encharge", "high"),
    ]
    only = analysis.one_system_only(ens, encharge)
    assert only.select("supporterId", "email", "check").rows() == [
        (4, "dee@x", "only in ENS"), (6, "fay@x.org", "only in ENS"), (None, "zed@x.org", "only in Encharge")]


def test_erasures(ens: pl.DataFrame) -> None:
    erased = pl.DataFrame({"email": ["CY@x.org", "nobody@x.org"],
                           "erasedAt": [dt.datetime(2026, 5, 1, tzinfo=dt.UTC)] * 2})
    found = analysis.erased_still_in_ens(ens, erased)
    assert found.select("supporterId", "detail").rows() == [(3, "erased in Encharge on 2026-05-01 but still in ENS")]
    assert analysis.erased_still_in_ens(ens, erased.clear()).height == 0


def test_run_audit_and_summary(ens: pl.DataFrame, encharge: pl.DataFrame) -> None:
    erased = pl.DataFrame({"email": ["cy@x.org"], "erasedAt": [dt.datetime(2026, 5, 1, tzinfo=dt.UTC)]})
    findings = analysis.run_audit(ens, encharge, erasures=erased, today=D(2026, 6, 1))
    assert findings.get_column("severity").to_list()[:5] == ["high"] * 4 + ["medium"]
    summary = analysis.summarise(findings)
    assert summary.select("check", "severity", "findings").rows() == [
        ("erased in Encharge, still in ENS", "high", 1),
        ("invalid email", "high", 1),
        ("opted out, subscribed in Encharge", "high", 1),
        ("suppressed with opt-in", "high", 1),
        ("duplicate email", "medium", 2),
        ("only in Encharge", "medium", 1),
        ("opted in, unsubscribed in Encharge", "medium", 1),
        ("missing fields", "low", 3),
        ("only in ENS", "low", 2),
        ("stale record", "low", 2),
    ]
    assert summary.get_column("note").null_count() == summary.height
    assert summary.get_column("findings").sum() == findings.height == 15


def test_checks_that_cannot_run_say_so(ens: pl.DataFrame, encharge: pl.DataFrame) -> None:
    thin = ens.drop("modifiedOn", "suppressed", "Postcode")
    findings = analysis.run_audit(thin, encharge, optins=["Marketing Optin", "Newsletter Optin"],
                            required=["First Name", "Postcode"], today=D(2026, 6, 1))
    unable = findings.filter(pl.col("detail").str.starts_with("cannot check: "))
    assert sorted(unable.get_column("check").to_list()) == sorted([
        "missing fields", "suppressed with opt-in", "stale record", "suppressed with opt-in",
        "opted out, subscribed in Encharge", "opted in, unsubscribed in Encharge",
        "pending in ENS, subscribed in Encharge"])
    assert unable.filter(pl.col("check") == "missing fields").item(0, "detail").endswith(
        "no Postcode column (REQUIRED_FIELDS names the account's fields)")
    summary = analysis.summarise(findings).filter(pl.col("check") == "stale record")
    assert summary.row(0) == ("stale record", "low", None,  # nothing checked: no count, not 0
                              "cannot check: the supporter file has no modifiedOn (Date Modified) column")
    # what could run still ran
    assert findings.filter(pl.col("check") == "opted out, subscribed in Encharge").get_column("supporterId")\
        .drop_nulls().to_list() == [5]


def test_optin_rates_trend_country(ens: pl.DataFrame) -> None:
    rates = analysis.optin_rates(ens, ["Marketing Optin"]).row(0, named=True)
    assert rates == {"question": "Marketing Optin", "supporters": 6, "answered": 5, "opted_in": 3, "opted_out": 2,
                     "pending": 0, "rate": 0.5, "rate_answered": 0.6, "left_out": 0, "left_out_why": None}
    trend = analysis.monthly_trend(ens, ["Marketing Optin"])
    assert trend.select("month", "opt_ins", "opt_outs").rows() == [
        (D(2025, 1, 1), 1, 0), (D(2025, 2, 1), 1, 1), (D(2025, 3, 1), 1, 0), (D(2025, 6, 1), 0, 1)]
    assert analysis.by_country(ens, "Marketing Optin").rows() == [
        ("GB", 3, 1, 0.3333), ("IE", 2, 2, 1.0), ("(none)", 1, 0, 0.0)]


def test_acquisition_and_cohorts(ens: pl.DataFrame) -> None:
    tx = pl.DataFrame({
        "supporterId": [1, 1, 2, 3, 5, 6],
        "campaignId": [10100, 10110, 10110, 10100, 10130, 10100],
        "name": ["Newsletter", "Petition", "Petition", "Newsletter", "Appeal", "Newsletter"],
        "type": ["DCF", "PET", "PET", "DCF", "FCS", "DCF"],
        "createdOn": [D(2025, 1, 5), D(2025, 1, 1), D(2025, 1, 20), D(2025, 2, 1), D(2025, 2, 9), D(2025, 3, 1)],
    })
    acquisition = analysis.by_acquisition(ens, tx, "Marketing Optin")
    assert acquisition.rows() == [
        (10100, "Newsletter", 2, 2, 1.0), (10110, "Petition", 2, 1, 0.5),
        (10130, "Appeal", 1, 0, 0.0), (None, "(no transaction)", 1, 0, 0.0)]
    cohort = analysis.cohorts(ens, "Marketing Optin")
    # Feb: Cy holds it, Dee answered N on the day, Ed opted out months later: joined 2, still 1.
    assert cohort.drop("basis").rows() == [
        (D(2025, 1, 1), 2, 1, 1, 1.0), (D(2025, 2, 1), 3, 2, 1, 0.5), (D(2025, 3, 1), 1, 1, 1, 1.0)]
    assert set(cohort.get_column("basis")) == {"estimate (latest answer only)"}
