"""Probable duplicates, contact quality and the duplicate consent reviews, on the labelled sandbox over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from enstoolkit.analysis import (
    NOT_SAME,
    SAME,
    contact_quality,
    mark_pairs,
    probable_duplicates,
    read_marks,
    worklist_csv,
)
from enstoolkit.encharge import EnchargeClient
from enstoolkit.ens import ENSClient
from enstoolkit.errors import ValidationError
from enstoolkit.sandbox import Sandbox
from enstoolkit.sandbox.truth import (
    LOOK_ALIKE_KINDS,
    TRUE_KINDS,
    anchor_pairs,
    labelled_pairs,
    same_person,
    score_pairs,
)
from enstoolkit.sync import consent_plan

KEY = ["system_1", "id_1", "system_2", "id_2"]


@pytest.fixture(scope="module")
def labelled() -> Iterator[dict[str, pl.DataFrame]]:
    with Sandbox(supporters=3000, variant="labelled-duplicates") as box:
        ens = ENSClient(api_key=box.ens_api_key, base_url=box.ens_url).export_supporters("All supporters",
                                                                                         poll_interval=0.1)
        people = EnchargeClient(api_key=box.encharge_api_key, base_url=box.encharge_url).list_people()
        yield {"ens": ens, "people": people, "labels": labelled_pairs(box), "persons": same_person(box),
               "pairs": probable_duplicates(ens, people, marks=False)}


def test_labels_hold_every_kind_and_look_alike(labelled: dict[str, pl.DataFrame]) -> None:
    kinds = labelled["labels"].group_by("kind").len()
    assert set(kinds.get_column("kind")) == {*TRUE_KINDS, *LOOK_ALIKE_KINDS}
    assert kinds.get_column("len").min() >= 7


def test_high_band_meets_the_targets_and_beats_the_anchor_rule(labelled: dict[str, pl.DataFrame]) -> None:
    scores = score_pairs(labelled["pairs"], labelled["labels"], labelled["persons"], band="high")
    overall = scores.row(0, named=True)
    assert overall["recall"] >= 0.95 and overall["precision"] >= 0.98, scores
    for kind, recall in scores.filter(pl.col("recall").is_not_null()).select("kind", "recall").iter_rows():
        assert recall >= 0.9, (kind, scores)
    assert scores.filter(pl.col("kind").is_in(LOOK_ALIKE_KINDS)).get_column("wrong").sum() == 0
    anchor = score_pairs(anchor_pairs(labelled["ens"], labelled["people"]), labelled["labels"],
                         labelled["persons"], band=None)
    assert anchor.item(0, "recall") < overall["recall"] - 0.2


def test_pairs_read_the_same_way_round_with_evidence_and_keeper(labelled: dict[str, pl.DataFrame]) -> None:
    pairs = labelled["pairs"]
    assert set(pairs.get_column("band")) <= {"high", "review"}
    assert pairs.filter((pl.col("system_1") == "Encharge") & (pl.col("system_2") == "ENS")).height == 0
    cross = pairs.filter(pl.col("system_2") == "Encharge")
    assert cross.height and (cross.get_column("email_1").str.to_lowercase().str.strip_chars()
                             != cross.get_column("email_2")).all()
    nick = pairs.filter(pl.col("evidence").str.contains("nickname"))
    assert nick.height >= 7
    assert ((pairs["keeper_id"] == pairs["id_1"]) | (pairs["keeper_id"] == pairs["id_2"])).all()
    assert pairs.get_column("keeper_reason").is_in(["more recent activity", "older record"]).all()


def test_not_the_same_marks_are_kept_and_never_proposed_again(labelled: dict[str, pl.DataFrame],
                                                               tmp_path: Path) -> None:
    store = tmp_path / "marks.csv"
    pairs = labelled["pairs"]
    first, second = pairs.slice(0, 1), pairs.slice(1, 1)
    mark_pairs(first, NOT_SAME, path=store)
    # kept the other way round too
    flipped = second.select(pl.col("system_2").alias("system_1"), pl.col("id_2").alias("id_1"),
                            pl.col("system_1").alias("system_2"), pl.col("id_1").alias("id_2"))
    mark_pairs(flipped, SAME, path=store)
    again = probable_duplicates(labelled["ens"], labelled["people"], marks=read_marks(store))
    assert again.height == pairs.height - 1
    assert again.join(first.select(KEY), on=KEY).height == 0
    assert again.join(second.select(KEY), on=KEY).item(0, "mark") == SAME


def test_consent_reviews_for_high_pairs_that_disagree_never_subscribe() -> None:
    ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["bob.s@x.org", "rsmith@y.org"],
                        "First Name": ["Bob", "Robert"], "Last Name": ["Smith", "Smith"],
                        "Postcode": ["SW1A 1AA", "sw1a1aa"], "suppressed": [False, False],
                        "Marketing Optin": ["N", "Y"], "Marketing Optin Date": [dt.date(2026, 1, 1)] * 2})
    enc = pl.DataFrame({"id": ["p1", "p2"], "email": ["bob.s@x.org", "rsmith@y.org"], "unsubscribed": [True, False]})
    pairs = probable_duplicates(ens, marks=False)
    assert pairs.get_column("band").to_list() == ["high"]
    plan = consent_plan(ens, enc, duplicates=pairs)
    extra = plan.filter(pl.col("reason").str.contains("probably the same person"))
    assert extra.select("system", "action", "supporterId").rows() == [("ENS", "review", 2), ("Encharge", "review", 2)]
    assert "opt-out on either wins" in extra.item(0, "reason")
    assert consent_plan(ens, enc).filter(pl.col("supporterId") == 2).height == 0
    assert plan.filter(pl.col("action").str.contains("subscribe") & ~pl.col("action").str.contains("unsub")).height == 0


def test_contact_quality_finds_typos_phones_postcodes_and_encharge_verdicts(tmp_path: Path) -> None:
    ens = pl.DataFrame({"supporterId": [1, 2, 3, 4], "Email Address": ["jo@gmial.com", "info@x.org", "z@mailinator.com",
                                                                      "ok@x.org"],
                        "Phone Number": ["07700 900123", "", "12", "+447700900124"],
                        "Postcode": ["sw1a1aa", "", "NOT A CODE", "SW1A 2AA"], "Country": ["GB"] * 4})
    people = pl.DataFrame({"id": ["p4"], "email": ["OK@x.org"], "validationResult": ["invalid"],
                           "isEmailDisposable": [False], "isEmailRole": [False]})
    found = contact_quality(ens, people)
    checks = dict(zip(found.get_column("supporterId").cast(pl.String) + " " + found.get_column("check"),
                      found.get_column("suggestion"), strict=True))
    assert checks["1 email domain typo"] == "jo@gmail.com"
    assert "2 role address" in checks and "3 disposable address" in checks
    assert checks["1 phone not E.164"] == "+447700900123" and "3 phone not E.164" in checks
    assert checks["1 postcode not normalised"] == "SW1A 1AA" and "3 postcode not normalised" in checks
    assert "4 Encharge verdict" in checks and "4 phone not E.164" not in checks
    csv = worklist_csv(found, tmp_path / "w.csv").read_text().splitlines()
    assert len(csv) == found.height + 1 and "jo@gmail.com" in csv[1]
    unable = contact_quality(ens.drop("Phone Number"), people.drop("validationResult", "isEmailDisposable",
                                                                   "isEmailRole"))
    assert unable.filter(pl.col("detail").str.starts_with("cannot check")).height == 2


def test_bad_input_is_refused_or_gives_a_clean_result() -> None:
    base = {"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"]}
    with pytest.raises(ValidationError, match="supporters"):
        probable_duplicates(pl.DataFrame(base), marks=False)
    with pytest.raises(ValidationError, match="supporters"):
        probable_duplicates(pl.DataFrame({**base, "First Name": [None, None], "Last Name": [" ", None]}), marks=False)
    with pytest.raises(ValidationError, match="settings"):
        probable_duplicates(pl.DataFrame({**base, "First Name": ["A", "B"]}), treshold=0.5)
    with pytest.raises(ValidationError, match="supporters"):
        probable_duplicates([1, 2])  # type: ignore[arg-type]
    one = pl.DataFrame({"supporterId": [1], "Email Address": ["a@x.org"], "First Name": ["A"], "Last Name": ["B"]})
    assert probable_duplicates(one, marks=False).height == 0
    assert probable_duplicates(one.clear(), marks=False).height == 0
    names = pl.DataFrame({"supporterId": [1, 2, 3], "Email Address": ["a@x.org", "b@y.org", "c@z.org"],
                          "First Name": ["Дмитрий", "Дмитрий", "美咲"], "Last Name": ["Иванов", "Иванов", "佐藤"],
                          "Postcode": ["SW1A 1AA", "SW1A 1AA", "SW1A 1AA"]})
    found = probable_duplicates(names, marks=False)
    assert found.select("id_1", "id_2", "band").rows() == [("1", "2", "high")]


def test_all_null_columns_and_the_keeper_by_activity_then_age() -> None:
    frame = pl.DataFrame({
        "supporterId": [1, 2, 3, 4], "Email Address": ["ann.lee@x.org", "alee@y.org", "tom.fox@x.org", "tfox@y.org"],
        "First Name": ["Ann", "Ann", "Tom", "Tom"], "Last Name": ["Lee", "Lee", "Fox", "Fox"],
        "Postcode": [None, None, None, None], "Address 1": ["1 Elm Row", "1 Elm Row", "9 Oak Way", "9 Oak Way"],
        "City": ["Leeds"] * 4, "Phone Number": ["07700900001", "+44 7700 900001", "07700900002", "07700900002"],
        "createdOn": [dt.datetime(2020, 1, 1), dt.datetime(2021, 1, 1), dt.datetime(2022, 1, 1),
                      dt.datetime(2019, 1, 1)],
        "modifiedOn": [dt.datetime(2024, 1, 1), dt.datetime(2025, 1, 1), None, None]},
        schema_overrides={"Postcode": pl.String})
    pairs = probable_duplicates(frame, marks=False)
    kept = dict(zip(pairs.get_column("id_1"), pairs.select("keeper_id", "keeper_reason").rows(), strict=True))
    assert kept == {"1": ("2", "more recent activity"), "3": ("4", "older record")}
    assert "phone exact" in pairs.item(0, "evidence")


def test_run_audit_adds_contact_quality_when_asked() -> None:
    ens = pl.DataFrame({"supporterId": [1], "Email Address": ["jo@hotmial.co.uk"], "First Name": ["Jo"],
                        "Last Name": ["Lee"], "Postcode": ["n19gu"], "Country": ["GB"], "suppressed": [False],
                        "Marketing Optin": [True], "modifiedOn": [dt.date(2026, 1, 1)],
                        "Phone Number": ["07700 900123"]})
    from enstoolkit.analysis import run_audit

    plain = run_audit(ens, today=dt.date(2026, 2, 1))
    full = run_audit(ens, today=dt.date(2026, 2, 1), contacts=True)
    added = set(full.get_column("check")) - set(plain.get_column("check"))
    assert added == {"email domain typo", "phone not E.164", "postcode not normalised"}
    assert "jo@hotmail.co.uk" in full.filter(pl.col("check") == "email domain typo").item(0, "detail")


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["dashboard-headers,us-account,text-values", "encharge-no-status"])
def test_targets_hold_on_other_account_shapes(variant: str) -> None:
    with Sandbox(supporters=2000, seed=5, variant=f"labelled-duplicates,{variant}") as box:
        ens = ENSClient(api_key=box.ens_api_key, base_url=box.ens_url).export_supporters("All supporters",
                                                                                         poll_interval=0.1)
        people = EnchargeClient(api_key=box.encharge_api_key, base_url=box.encharge_url).list_people()
        labels, persons = labelled_pairs(box), same_person(box)
    scores = score_pairs(probable_duplicates(ens, people, marks=False), labels, persons, band="high")
    assert scores.item(0, "recall") >= 0.95 and scores.item(0, "precision") >= 0.98, scores
    assert scores.filter(pl.col("recall").is_not_null()).get_column("recall").min() >= 0.9, scores


def test_plan_from_accounts_with_duplicates_adds_only_reviews(tmp_path: Path) -> None:
    from enstoolkit.config import connect
    from enstoolkit.sync import plan_from_accounts

    conn = connect(supporters=1500, variant="labelled-duplicates", environ={})
    plain = plan_from_accounts(conn.ens, conn.encharge, optins="Marketing Optin", erasures=None)
    with_pairs = plan_from_accounts(conn.ens, conn.encharge, optins="Marketing Optin", erasures=None,
                                    duplicates=True)
    extra = with_pairs.filter(pl.col("reason").str.contains("probably the same person"))
    assert extra.height > 0 and set(extra.get_column("action")) == {"review"}
    assert with_pairs.height == plain.height + extra.height
    with pytest.raises(ValidationError, match="duplicates"):
        plan_from_accounts(conn.ens, conn.encharge, optins="Marketing Optin", duplicates="yes")  # type: ignore[arg-type]
