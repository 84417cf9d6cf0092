"""Inputs a real account may send that once gave a plausible, wrong answer: now the right one, or a "cannot check".

Each case is a frame as the readers give it (or as an analyst builds it from a saved file); the
audit and the consent plan must either find what is there or say that they cannot.
"""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl
import pytest

from enstoolkit.analysis import (
    cannot_check_rows,
    encharge_duplicates,
    optin_rates,
    optin_state_conflicts,
    run_audit,
    summarise,
)
from enstoolkit.encharge import people_frame
from enstoolkit.errors import ValidationError
from enstoolkit.sync import consent_plan

TODAY = dt.date(2026, 3, 1)
OPTIN = "Marketing Optin"


def supporters(blank: bool = False) -> pl.DataFrame:
    """Three supporters: suppressed and opted in (and stale); opted out; opted in. ``blank``: the same
    columns with every cell of suppressed, modifiedOn and the opt-in empty."""
    frame = pl.DataFrame({
        "supporterId": [1, 2, 3], "Email Address": ["a@x.org", "b@x.org", "c@x.org"],
        "First Name": ["A", "B", "C"], "Last Name": ["A", "B", "C"], "Postcode": ["P", "P", "P"],
        "suppressed": [True, False, False],
        "modifiedOn": [dt.date(2020, 1, 1), dt.date(2026, 2, 20), dt.date(2026, 2, 20)],
        OPTIN: ["Y", "N", "Y"], f"{OPTIN} Date": [dt.date(2020, 1, 1), dt.date(2026, 2, 20), dt.date(2026, 2, 20)],
    })
    if blank:
        frame = frame.with_columns(pl.lit(None, pl.Boolean).alias("suppressed"), pl.lit(None, pl.Date).alias(
            "modifiedOn"), pl.lit("", pl.String).alias(OPTIN), pl.lit(None, pl.Date).alias(f"{OPTIN} Date"))
    return frame


PEOPLE = pl.DataFrame({"id": ["p1", "p2", "p3"], "email": ["a@x.org", "b@x.org", "c@x.org"],
                       "unsubscribed": [False, False, False], "statusSource": ["field"] * 3})


def test_columns_without_any_value_are_cannot_check_not_clean() -> None:
    counts = dict(summarise(run_audit(supporters(), PEOPLE, today=TODAY)).select("check", "findings").iter_rows())
    assert counts == {"suppressed with opt-in": 1, "opted out, subscribed in Encharge": 1, "stale record": 1}
    findings = run_audit(supporters(blank=True), PEOPLE, today=TODAY)
    unable = cannot_check_rows(findings)
    assert set(unable.get_column("check")) == {
        "suppressed with opt-in", "opted out, subscribed in Encharge", "opted in, unsubscribed in Encharge",
        "pending in ENS, subscribed in Encharge", "stale record"}
    assert unable.get_column("detail").str.contains("is empty in all 3 rows").all()
    assert findings.height == unable.height  # nothing else was found, and nothing reads as clean


def test_a_consent_plan_refuses_columns_without_any_value() -> None:
    assert consent_plan(supporters(), PEOPLE).height == 2  # the opted-out and the suppressed are unsubscribed
    with pytest.raises(ValidationError, match=r"\['suppressed', 'Marketing Optin'\].*empty in all 3 rows"):
        consent_plan(supporters(blank=True), PEOPLE)


def test_an_opt_in_nobody_answered_has_no_rate(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert optin_rates(supporters(), [OPTIN]).select("rate", "rate_answered").row(0) == (0.6667, 0.6667)
    row = optin_rates(supporters(blank=True), [OPTIN]).row(0, named=True)
    assert row["answered"] == 0 and row["rate"] is None and row["rate_answered"] is None  # not 0%
    assert "its opt-in rate cannot be told" in caplog.text


def test_every_encharge_person_of_an_email_is_checked_and_unsubscribed() -> None:
    # Encharge may hold two people whose emails differ only in case: the subscribed one must not hide
    ens = pl.DataFrame({"supporterId": [1], "Email Address": ["jo@x.org"], "suppressed": [False],
                        OPTIN: ["N"], f"{OPTIN} Date": [dt.date(2026, 1, 5)]})
    people = people_frame([{"id": "p-old", "email": "Jo@x.org", "unsubscribed": True},
                           {"id": "p-new", "email": "jo@x.org", "unsubscribed": False}])
    conflicts = optin_state_conflicts(ens, people, OPTIN)
    assert conflicts.select("check", "detail").rows() == [
        ("opted out, subscribed in Encharge", "ENS Marketing Optin: N; Encharge still subscribed (person p-new)")]
    assert encharge_duplicates(people).get_column("detail").to_list() == [
        "2 Encharge people share jo@x.org: p-new, p-old"] * 2
    assert "duplicate email in Encharge" in set(run_audit(ens, people, required=(), today=TODAY)["check"])
    plan = consent_plan(ens, people)
    assert plan.select("personId", "system", "action").rows() == [("p-new", "Encharge", "unsubscribe")]
    both_subscribed = people.with_columns(pl.lit(False).alias("unsubscribed"))
    assert sorted(consent_plan(ens, both_subscribed).get_column("personId")) == ["p-new", "p-old"]


def test_encharge_people_of_one_email_who_differ_leave_an_opt_in_for_review() -> None:
    ens = pl.DataFrame({"supporterId": [1], "Email Address": ["jo@x.org"], "suppressed": [False],
                        OPTIN: ["Y"], f"{OPTIN} Date": [dt.date(2026, 1, 5)]})
    people = pl.DataFrame({"id": ["p1", "p2"], "email": ["jo@x.org", "JO@x.org "], "unsubscribed": [False, True],
                           "unsubscribedAt": [None, dt.datetime(2026, 2, 1, tzinfo=dt.UTC)]})
    plan = consent_plan(ens, people)  # p2's unsubscribe is newer, but p1 still wants the mail: who speaks?
    assert plan.select("system", "action").rows() == [("ENS", "review")]
    assert "2 Encharge people share this email and differ: p1 subscribed, p2 unsubscribed" in plan.item(0, "reason")
    agree = people.with_columns(pl.lit(True).alias("unsubscribed"),
                                pl.lit(dt.datetime(2026, 2, 1, tzinfo=dt.UTC)).alias("unsubscribedAt"))
    assert consent_plan(ens, agree).select("system", "action").rows() == [("ENS", "opt out")]  # once, not twice


@pytest.mark.parametrize("values", [["false", "False", "true"], ["0", "N", "1"], ["no", "FALSE", "yes"]])
def test_an_unsubscribed_column_of_text_is_read_by_the_audit_as_by_the_plan(values: list[str]) -> None:
    ens = supporters().with_columns(pl.lit(False).alias("suppressed"))
    people = PEOPLE.drop("statusSource").with_columns(pl.Series("unsubscribed", values))
    conflicts = optin_state_conflicts(ens, people, OPTIN).select("check", "supporterId").rows()
    assert conflicts == [("opted in, unsubscribed in Encharge", 3), ("opted out, subscribed in Encharge", 2)]
    plan = consent_plan(ens, people)
    assert plan.filter(pl.col("action") == "unsubscribe").get_column("supporterId").to_list() == [2]
    with pytest.raises(ValidationError, match="maybe"):
        optin_state_conflicts(ens, people.with_columns(pl.lit("maybe").alias("unsubscribed")), OPTIN)
