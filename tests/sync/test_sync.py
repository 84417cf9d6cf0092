"""Consent sync: the plan's rules on small frames, the Done-when loop on a sandbox (counted at the sandbox),
hand-edited plans refused before anything is sent, a killed apply resumed, the change log, and the variants."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enstoolkit import EnchargeClient, ENSClient, RetryPolicy
from enstoolkit.analysis import run_audit
from enstoolkit.bulk import BulkRun, Journal, resume
from enstoolkit.encharge import Listener
from enstoolkit.errors import BudgetExceeded, ValidationError
from enstoolkit.sandbox import Faults, Sandbox
from enstoolkit.sync import (
    ChangeLog,
    actionable,
    apply_plan,
    check_plan,
    consent_plan,
    export_changes,
    plan_counts,
    plan_results,
    read_changes,
    read_plan,
)
from enstoolkit.sync.continuous import ConsentWatch
from enstoolkit.sync.live import current_lists, known_statuses

from .conftest import watched

OPTIN = "Marketing Optin"
MARKETING = 4512  # the sandbox's question id of "Marketing Optin"
FAST = RetryPolicy(backoff=0.005)
DAY = dt.date(2026, 3, 1)


def ens_frame(*rows: tuple[Any, ...], optins: tuple[str, ...] = (OPTIN,)) -> pl.DataFrame:
    """Supporters from (id, email, suppressed, then answer and date per opt-in)."""
    columns: dict[str, list[Any]] = {"supporterId": [], "Email Address": [], "suppressed": []}
    for q in optins:
        columns[q], columns[f"{q} Date"] = [], []
    for row in rows:
        sid, email, suppressed, *answers = row
        columns["supporterId"].append(sid)
        columns["Email Address"].append(email)
        columns["suppressed"].append(suppressed)
        for n, q in enumerate(optins):
            columns[q].append(answers[2 * n])
            columns[f"{q} Date"].append(answers[2 * n + 1])
    schema = {"supporterId": pl.Int64, "Email Address": pl.String, "suppressed": pl.Boolean,
              **{c: (pl.Date if c.endswith(" Date") else pl.String) for c in columns if c not in ("supporterId",
                                                                                                   "Email Address",
                                                                                                   "suppressed")}}
    return pl.DataFrame(columns, schema=schema)


def enc_frame(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """Encharge people from (id, email, unsubscribed[, unsubscribedAt])."""
    data = [{"id": r[0], "email": r[1], "unsubscribed": r[2], "unsubscribedAt": r[3] if len(r) > 3 else None}
            for r in rows]
    return pl.DataFrame(data, schema={"id": pl.String, "email": pl.String, "unsubscribed": pl.Boolean,
                                      "unsubscribedAt": pl.Datetime("ms", "UTC")})


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def actions(plan: pl.DataFrame) -> list[tuple[Any, ...]]:
    return plan.select("email", "supporterId", "system", "action").rows()


# -- the rules, on small frames ------------------------------------------------------------------------


def test_dates_decide_between_an_ens_opt_out_and_a_review() -> None:
    ens = ens_frame((1, "later@x.org", False, "Y", DAY), (2, "same@x.org", False, "Y", DAY),
                    (3, "earlier@x.org", False, "Y", DAY), (4, "undated@x.org", False, "Y", DAY),
                    (5, "noanswerdate@x.org", False, "Y", None))
    enc = enc_frame(("p1", "later@x.org", True, at(DAY + dt.timedelta(days=1), 0)),
                    ("p2", "same@x.org", True, at(DAY, 23)), ("p3", "earlier@x.org", True, at(DAY - dt.timedelta(1))),
                    ("p4", "undated@x.org", True, None), ("p5", "noanswerdate@x.org", True, at(DAY)))
    plan = consent_plan(ens, enc)
    by_email = {r["email"]: r for r in plan.iter_rows(named=True)}
    assert by_email["later@x.org"]["action"] == "opt out" and by_email["later@x.org"]["system"] == "ENS"
    assert by_email["later@x.org"]["question"] == OPTIN
    assert "after the ENS Marketing Optin: Y (2026-03-01)" in by_email["later@x.org"]["reason"]
    for email in ("same@x.org", "earlier@x.org", "undated@x.org", "noanswerdate@x.org"):
        row = by_email[email]
        assert row["action"] == "review" and row["system"] == "ENS", email
        assert "which came last cannot be told" in row["reason"]
    assert "date unknown" in by_email["undated@x.org"]["reason"] and "2026-03-01" in by_email["undated@x.org"]["reason"]
    assert "2026-03-01 23:00 UTC" in by_email["same@x.org"]["reason"] and "(2026-03-01)" in by_email["same@x.org"][
        "reason"]
    assert by_email["same@x.org"]["ensAnswerDate"] == DAY and by_email["same@x.org"]["unsubscribedAt"] == at(DAY, 23)
    assert plan.height == 5


def test_opted_out_or_suppressed_and_subscribed_is_unsubscribed_in_encharge() -> None:
    ens = ens_frame((1, " No@X.org ", False, "N", DAY), (2, "sup@x.org", True, "Y", DAY),
                    (3, "done@x.org", False, "N", DAY), (4, "supdone@x.org", True, None, None),
                    (5, "agree@x.org", False, "Y", DAY), (6, "nothing@x.org", False, None, None))
    enc = enc_frame(("p1", "no@x.org", False), ("p2", "SUP@x.org", False), ("p3", "done@x.org", True),
                    ("p4", "supdone@x.org", True), ("p5", "agree@x.org", False), ("p6", "nothing@x.org", False))
    plan = consent_plan(ens, enc)
    assert actions(plan) == [("no@x.org", 1, "Encharge", "unsubscribe"), ("sup@x.org", 2, "Encharge", "unsubscribe")]
    no, sup = plan.iter_rows(named=True)
    assert no["reason"] == "ENS Marketing Optin: N (2026-03-01) on supporter 1; Encharge subscribed"
    assert no["personId"] == "p1" and no["ensAnswer"] == "N" and no["enchargeUnsubscribed"] is False
    assert sup["reason"].startswith("ENS: supporter 2 is suppressed") and sup["suppressed"] is True


def test_erased_in_encharge_but_still_in_ens_is_for_review() -> None:
    ens = ens_frame((1, "gone@x.org", False, "Y", DAY), (2, "kept@x.org", False, "Y", DAY))
    enc = enc_frame(("p2", "kept@x.org", False))
    erasures = pl.DataFrame({"email": ["GONE@x.org", "gone@x.org"], "erasedAt": [at(DAY), at(DAY, 15)]})
    plan = consent_plan(ens, enc, erasures=erasures)
    assert actions(plan) == [("gone@x.org", 1, "ENS", "review")]
    row = plan.row(0, named=True)
    assert row["erasedAt"] == at(DAY, 15) and "never automatic" in row["reason"] and "2026-03-01 15:00" in row["reason"]
    assert consent_plan(ens, enc, erasures=erasures.head(0)).height == 0


def test_a_pending_double_opt_in_is_not_acted_on_either_way() -> None:
    ens = ens_frame((1, "p1@x.org", False, "P", DAY), (2, "p2@x.org", False, "P", DAY),
                    (3, "p3@x.org", False, "P", DAY))
    enc = enc_frame(("a", "p1@x.org", False), ("b", "p2@x.org", True, at(DAY + dt.timedelta(5))),
                    ("c", "p3@x.org", None))
    assert consent_plan(ens, enc).height == 0


def test_an_unknown_encharge_status_is_never_taken_for_agreement() -> None:
    ens = ens_frame((1, "no@x.org", False, "N", DAY), (2, "yes@x.org", False, "Y", DAY),
                    (3, "none@x.org", False, None, None))
    enc = enc_frame(("p1", "no@x.org", None), ("p2", "yes@x.org", None), ("p3", "none@x.org", None))
    plan = consent_plan(ens, enc)
    assert actions(plan) == [("no@x.org", 1, "Encharge", "unsubscribe"), ("yes@x.org", 2, "Encharge", "cannot check")]
    no, yes = plan.iter_rows(named=True)
    assert no["reason"].endswith("Encharge gives no subscription status (unknown); unsubscribing is safe either way")
    assert no["statusSource"] == "unknown" and no["enchargeUnsubscribed"] is None
    assert "whether they unsubscribed cannot be checked" in yes["reason"]
    given_source = enc_frame(("p2", "yes@x.org", None)).with_columns(pl.lit("unknown: unrecognised value 'maybe'")
                                                                     .alias("statusSource"))
    assert "unrecognised value 'maybe'" in consent_plan(ens, given_source).item(0, "reason")


def test_duplicate_emails_in_ens() -> None:
    ens = ens_frame((1, "same@x.org", False, "N", DAY), (2, "SAME@x.org ", False, "N", DAY + dt.timedelta(1)),
                    (3, "split@x.org", False, "N", DAY), (4, "split@x.org", False, "Y", DAY + dt.timedelta(2)),
                    (5, "supsplit@x.org", True, "Y", DAY), (6, "supsplit@x.org", False, "N", DAY))
    enc = enc_frame(("a", "same@x.org", False), ("b", "split@x.org", False), ("c", "supsplit@x.org", False))
    plan = consent_plan(ens, enc)
    assert actions(plan) == [("same@x.org", 1, "Encharge", "unsubscribe"),
                             ("supsplit@x.org", 5, "Encharge", "unsubscribe"),
                             ("split@x.org", 3, "ENS", "review"), ("split@x.org", 4, "ENS", "review")]
    review = plan.filter(pl.col("action") == "review").get_column("reason").to_list()
    assert review[0] == review[1] and "2 ENS records share this email and disagree on Marketing Optin" in review[0]
    assert "3 N (2026-03-01); 4 Y (2026-03-03)" in review[0]
    assert consent_plan(ens, enc.filter(pl.col("email") == "split@x.org").with_columns(
        pl.lit(True).alias("unsubscribed"))).filter(pl.col("email") == "split@x.org").height == 2  # still review


def test_several_opt_ins_a_no_to_any_unsubscribes_and_then_agrees() -> None:
    optins = (OPTIN, "Newsletter Optin")
    ens = ens_frame((1, "mixed@x.org", False, "N", DAY, "Y", DAY), (2, "both@x.org", False, "Y", DAY, "Y", DAY),
                    optins=optins)
    enc = enc_frame(("a", "mixed@x.org", False), ("b", "both@x.org", True, at(DAY + dt.timedelta(1))))
    plan = consent_plan(ens, enc, optins=list(optins))
    assert plan.select("email", "action", "question").rows() == [
        ("mixed@x.org", "unsubscribe", OPTIN), ("both@x.org", "opt out", OPTIN),
        ("both@x.org", "opt out", "Newsletter Optin")]
    after = enc.with_columns(pl.lit(True).alias("unsubscribed"))  # the unsubscribe done: nothing more for "mixed"
    assert consent_plan(ens, after, optins=list(optins)).filter(pl.col("email") == "mixed@x.org").height == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Y", "N", "P", None]), st.booleans(), st.integers(0, 9),
                          st.sampled_from([True, False, None]), st.one_of(st.none(), st.integers(0, 9)),
                          st.integers(0, 3)), min_size=1, max_size=12))
def test_no_plan_ever_subscribes_or_opts_in_and_every_change_has_its_evidence(rows: list[tuple[Any, ...]]) -> None:
    ens = ens_frame(*[(n + 1, f"p{email}@x.org", sup, ans, DAY + dt.timedelta(day)) for n, (ans, sup, day, _, _, email)
                      in enumerate(rows)])
    people = {}
    for _answer, _suppressed, _day, unsub, when, email in rows:
        people.setdefault(email, (f"id{email}", f"p{email}@x.org", unsub,
                                  None if when is None else at(DAY + dt.timedelta(when))))
    if all(row[0] is None for row in rows):  # an opt-in column without any answer did not come through
        with pytest.raises(ValidationError, match="Marketing Optin"):
            consent_plan(ens, enc_frame(*people.values()))
        return
    plan = consent_plan(ens, enc_frame(*people.values()))
    assert set(plan.get_column("action")) <= {"unsubscribe", "opt out", "review", "cannot check"}
    for row in plan.iter_rows(named=True):
        if row["action"] == "unsubscribe":
            assert row["system"] == "Encharge" and row["enchargeUnsubscribed"] is not True
            assert row["suppressed"] or row["ensAnswer"] == "N"
        if row["action"] == "opt out":
            assert row["system"] == "ENS" and row["enchargeUnsubscribed"] is True and row["ensAnswer"] == "Y"
            assert row["unsubscribedAt"].date() > row["ensAnswerDate"]
    assert actionable(plan).filter(pl.col("ensAnswer") == "P").height == 0  # a pending answer is never acted on


def test_frames_without_the_needed_columns_are_refused_naming_them() -> None:
    ens = ens_frame((1, "a@x.org", False, "N", DAY))
    enc = enc_frame(("p1", "a@x.org", False))
    with pytest.raises(ValidationError, match="'suppressed', 'Marketing Optin Date'") as missing:
        consent_plan(ens.drop("suppressed", "Marketing Optin Date"), enc)
    assert missing.value.argument == "supporters"
    with pytest.raises(ValidationError, match="unsubscribed") as people:
        consent_plan(ens, enc.drop("unsubscribed"))
    assert people.value.argument == "people"
    with pytest.raises(ValidationError, match="'SMS Optin', 'SMS Optin Date'"):
        consent_plan(ens, enc, optins=["SMS Optin"])
    with pytest.raises(ValidationError) as answer:
        consent_plan(ens.with_columns(pl.lit("maybe").alias(OPTIN)), enc)
    assert answer.value.value == ["maybe"]
    with pytest.raises(ValidationError, match="true/false"):
        consent_plan(ens.with_columns(pl.lit("sometimes").alias("suppressed")), enc)
    with pytest.raises(ValidationError, match="email column"):
        consent_plan(ens.drop("Email Address"), enc)
    with pytest.raises(ValidationError, match="erasedAt"):
        consent_plan(ens, enc, erasures=pl.DataFrame({"email": ["a@x.org"]}))
    for optins in ([], [""], 5, None):
        with pytest.raises(ValidationError, match="optins"):
            consent_plan(ens, enc, optins=optins)  # type: ignore[arg-type]
    text = ens.with_columns(pl.col("suppressed").cast(pl.String), pl.col("Marketing Optin Date").cast(pl.String))
    assert actions(consent_plan(text, enc)) == actions(consent_plan(ens, enc))  # text flags and dates are read


# -- hand-edited plans ------------------------------------------------------------------------------------------


EDITS = [("action", "subscribe"), ("action", "opt in"), ("action", "delete"), ("action", "resubscribe"),
         ("system", "Mailchimp"), ("system", "ENS")]


@pytest.fixture(scope="module")
def planned() -> Iterator[tuple[Sandbox, ENSClient, EnchargeClient, pl.DataFrame]]:
    """One sandbox and its plan for the edited-plan tests (they send nothing: the plan is refused first)."""
    with Sandbox(supporters=200, seed=3) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        yield sb, ens, enc, consent_plan(ens.export_supporters("All supporters"), enc.list_people())


@pytest.mark.parametrize(("column", "value"), EDITS)
def test_a_hand_edited_plan_is_refused_before_anything_is_sent(tmp_path: Path, column: str, value: str,
                                                               planned: tuple) -> None:
    sb, ens, enc, plan = planned
    unsubscribes = plan.filter(pl.col("action") == "unsubscribe")
    assert unsubscribes.height >= 4
    edited = plan.with_row_index("n").with_columns(
        pl.when(pl.col("n").is_in([1, 3])).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)).drop("n")
    saved = tmp_path / "plan.csv"
    from enstoolkit.records import export_csv

    export_csv(edited, saved)
    before = sum(sb.received.values())
    journal = Journal(tmp_path / "j.sqlite3")
    for candidate in (edited, read_plan(saved)):
        with pytest.raises(ValidationError) as refused:
            apply_plan(candidate, ens=ens, encharge=enc, journal=journal)
        assert refused.value.argument == "plan" and refused.value.value == [2, 4]
        assert "row 2 (" in str(refused.value) and "row 4 (" in str(refused.value)
    assert sum(sb.received.values()) == before  # not one request
    assert sum(sb.encharge.unsubscribes.values()) == 0 and journal.runs().height == 0
    assert read_plan(saved).drop("plannedAt").equals(edited.drop("plannedAt"))


def test_an_opt_out_of_a_question_that_is_no_opt_in_is_refused(tmp_path: Path) -> None:
    plan = pl.DataFrame({"email": ["a@x.org"], "supporterId": [100001], "personId": [None], "system": ["ENS"],
                         "action": ["opt out"], "question": ["Likelihood to Recommend"], "reason": ["edited"]})
    with Sandbox(supporters=20) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        with pytest.raises(ValidationError, match="Likelihood to Recommend"):
            apply_plan(plan, ens=ens, encharge=enc, journal=Journal(tmp_path / "j.sqlite3"))
        assert not any(method == "PUT" for method, _ in sb.received)
    with pytest.raises(ValidationError, match="plan"):
        check_plan(plan.drop("reason"))
    with pytest.raises(ValidationError, match="opt-out without a supporter id"):
        check_plan(plan.with_columns(pl.lit(None, pl.Int64).alias("supporterId")))


def test_an_old_plan_is_made_again(tmp_path: Path) -> None:
    ens = ens_frame((1, "a@x.org", False, "N", DAY))
    plan = consent_plan(ens, enc_frame(("p1", "a@x.org", False)),
                        planned_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    with pytest.raises(ValidationError, match="plan again"):
        apply_plan(plan, ens=object(), encharge=object(), journal=Journal(tmp_path / "j.sqlite3"))


# -- the Done-when loop on a sandbox ------------------------------------------------------------------------


def dated(people: pl.DataFrame) -> pl.DataFrame:
    """Half the people unsubscribed in Encharge get the day before the sandbox's as their unsubscribe's date (as a
    watch would date them from events); the others' stays unknown."""
    return people.with_columns(pl.when(pl.col("unsubscribed") & (pl.col("id") < "8"))
                               .then(pl.lit(at(dt.date(2026, 9, 30)))).alias("unsubscribedAt"))


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Plan, apply, export both lists again, plan again, on a sandbox of its own (counted at the sandbox)."""
    folder = tmp_path_factory.mktemp("loop")
    with Sandbox(supporters=1500, seed=5) as sb, ENSClient(sb.ens_api_key, sb.ens_url, retry=FAST) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url, retry=FAST) as enc:
        flags = {pid: p["unsubscribed"] for pid, p in sb.encharge.people.items()}
        answers = {sid: dict(rec.questions) for sid, rec in sb.ens.records.items()}
        supporters, people = current_lists(ens, enc)
        plan = consent_plan(supporters, dated(people))
        journal = Journal(folder / "journal.sqlite3")
        audit_before = run_audit(supporters, people)
        run = apply_plan(plan, ens=ens, encharge=enc, journal=journal, by="test analyst", progress=False)
        again_supporters, again_people = current_lists(ens, enc)
        yield {"sb": sb, "plan": plan, "run": run, "journal": journal, "flags": flags, "answers": answers,
               "again": consent_plan(again_supporters, dated(again_people)),
               "audit_before": audit_before, "audit_after": run_audit(again_supporters, again_people),
               "folder": folder}


def test_plan_apply_and_plan_again_leaves_nothing_to_do(loop: dict[str, Any]) -> None:
    plan, run, again = loop["plan"], loop["run"], loop["again"]
    counts = dict(plan_counts(plan).select("action", "rows").iter_rows())
    assert counts["unsubscribe"] > 30 and counts["opt out"] > 10 and counts["review"] > 10
    assert run.status == "completed"
    assert run.counts() == {"done": counts["unsubscribe"] + counts["opt out"],
                            "skipped": counts["review"] + counts["cannot check"]}
    assert actionable(again).height == 0
    opted_out = "opted out, subscribed in Encharge"
    assert loop["audit_before"].filter(pl.col("check") == opted_out).height > 30
    assert loop["audit_after"].filter(pl.col("check") == opted_out).height == 0
    results = plan_results(run)
    assert results.height == plan.height and set(results.get_column("status")) == {"done", "skipped"}
    assert results.filter(pl.col("status") == "skipped").get_column("error").str.starts_with("review").all()


def test_nobody_was_subscribed_or_opted_in_counted_at_the_sandbox(loop: dict[str, Any]) -> None:
    sb, plan = loop["sb"], loop["plan"]
    wanted = set(plan.filter(pl.col("action") == "unsubscribe").get_column("personId"))
    after = {pid: p["unsubscribed"] for pid, p in sb.encharge.people.items()}
    resubscribed = [pid for pid, was in loop["flags"].items() if was and not after[pid]]
    newly = {pid for pid, was in loop["flags"].items() if not was and after[pid]}
    assert resubscribed == [] and newly == wanted  # only the planned ones, every one of them
    assert set(sb.encharge.unsubscribes) == wanted and set(sb.encharge.unsubscribes.values()) == {1}
    changed: Counter[tuple[str, str]] = Counter()
    for sid, before in loop["answers"].items():
        now = sb.ens.records[sid].questions
        for qid in set(before) | set(now):
            old, new = before.get(qid, (None, 0))[0], now.get(qid, (None, 0))[0]
            if old != new:
                changed[(old or "none", new or "none")] += 1
    opt_outs = plan.filter(pl.col("action") == "opt out")
    assert changed == Counter({("Y", "N"): opt_outs.height})  # only Y -> N, exactly the planned opt-outs
    for sid in opt_outs.get_column("supporterId"):
        assert sb.ens.records[sid].questions[MARKETING][0] == "N"
    assert sb.ens.upserts == Counter() and sb.encharge.upserts == Counter()  # nothing created or overwritten


def test_the_change_log_records_each_change_made_once(loop: dict[str, Any]) -> None:
    run, plan, journal = loop["run"], loop["plan"], loop["journal"]
    changes = read_changes(journal)
    done = plan_results(run).filter(pl.col("status") == "done")
    assert changes.height == done.height == actionable(plan).height
    assert changes.select("plan_id", "row").is_unique().all() and set(changes.get_column("run_id")) == {run.run_id}
    assert set(changes.get_column("by")) == {"test analyst"}
    assert changes.get_column("changedAt").dt.date().unique().to_list() == [dt.date(2026, 10, 1)]  # the servers' day
    unsub = changes.filter(pl.col("action") == "unsubscribe").row(0, named=True)
    assert unsub["system"] == "Encharge" and unsub["reason"] and unsub["statusSource"] == "field"
    opt = changes.filter(pl.col("action") == "opt out").row(0, named=True)
    assert opt["ensAnswer"] == "Y" and opt["ensAnswerDate"] < opt["unsubscribedAt"].date() and opt["question"] == OPTIN
    path = export_changes(loop["folder"] / "changes.csv", journal, run_id=run.run_id)
    assert pl.read_csv(path).height == changes.height
    assert read_changes(journal, run_id="another").height == 0


def test_the_change_log_csv_is_formula_safe(tmp_path: Path) -> None:
    log = ChangeLog(tmp_path / "log.sqlite3")
    log.record("p", {"row": 1, "email": "=cmd@x.org", "system": "Encharge", "action": "unsubscribe",
                     "reason": "+danger", "evidence": {"ensAnswer": "N", "ensAnswerDate": "2026-03-01"}},
               by="@analyst", when=at(DAY))
    text = export_changes(tmp_path / "c.csv", log.path).read_text()
    assert "'=cmd@x.org" in text and "'+danger" in text and "'@analyst" in text
    assert log.read().item(0, "ensAnswerDate") == DAY


# -- a killed apply, resumed ------------------------------------------------------------------------------------


CHILD = """
import os, sys
import polars as pl
from enstoolkit import ENSClient, EnchargeClient, RetryPolicy
from enstoolkit.bulk import Journal
from enstoolkit.sync import apply_plan
fast = RetryPolicy(backoff=0.005)
ens = ENSClient(os.environ["ENS_API_KEY"], os.environ["ENS_BASE_URL"], retry=fast)
enc = EnchargeClient(os.environ["ENCHARGE_API_KEY"], os.environ["ENCHARGE_BASE_URL"], retry=fast)
apply_plan(pl.read_parquet(sys.argv[2]), ens=ens, encharge=enc, journal=Journal(sys.argv[1]), by="child",
           progress=False)
"""


@pytest.mark.slow
def test_an_apply_killed_midway_resumes_without_doing_anything_twice(tmp_path: Path) -> None:
    faults = Faults(latency=0.01, error_rate=0.05, drop_before_rate=0.03, seed=9,
                    routes=("/v1/people/unsubscribe", "/ens/service/supporter/"), methods=("POST", "PUT"))
    with Sandbox(supporters=2000, seed=8, faults=faults) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        supporters, people = current_lists(ens, enc)
        plan = consent_plan(supporters, dated(people))
        todo = actionable(plan)
        assert {"unsubscribe", "opt out"} <= set(todo.get_column("action"))
        plan.write_parquet(tmp_path / "plan.parquet")
        path = tmp_path / "journal.sqlite3"
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(tmp_path / "plan.parquet")],
                                 env={**os.environ, **sb.environment()})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if path.exists():
                runs = Journal(path).runs()
                if runs.height and (runs.item(0, "done") or 0) >= todo.height // 3:
                    break
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        journal = Journal(path)
        run_id = journal.runs().item(0, "run_id")
        at_kill = journal.counts(run_id)
        assert child.returncode == -signal.SIGKILL and 0 < at_kill.get("done", 0) < todo.height
        ens.retry = enc.retry = FAST
        run = resume(run_id, ens=ens, encharge=enc, journal=journal, progress=False)
        assert isinstance(run, BulkRun) and run.status == "completed"
        assert run.counts() == {"done": todo.height, "skipped": plan.height - todo.height}
        changes = read_changes(journal)
        assert changes.height == todo.height and changes.select("plan_id", "row").is_unique().all()
        assert set(changes.get_column("by")) == {"child"}
        wanted = set(todo.filter(pl.col("action") == "unsubscribe").get_column("personId"))
        acted = sb.encharge.unsubscribes
        assert set(acted) == wanted and all(sb.encharge.people[p]["unsubscribed"] for p in wanted)
        repeats = sum(acted.values()) - len(acted)
        puts = Counter({path: n for (method, path), n in sb.received.items() if method == "PUT"})
        opt_outs = todo.filter(pl.col("action") == "opt out")
        assert len(puts) == opt_outs.height
        assert all(sb.ens.records[s].questions[MARKETING][0] == "N" for s in opt_outs.get_column("supporterId"))
        # at most the one request in flight at the kill went twice (it is idempotent), plus those whose
        # connection the faults dropped before the request was acted on (not acted on: not counted)
        assert repeats + sum(puts.values()) - len(puts) <= 1 + faults.counts["error"] + faults.counts["drop_before"]
        print(f"killed at {at_kill}; resumed to {run.counts()}; Encharge unsubscribes acted on {sum(acted.values())} "
              f"for {len(acted)} people; ENS opt-outs {len(puts)}; faults {dict(faults.counts)}")


def test_the_ens_budget_is_checked_before_anything_is_journalled(tmp_path: Path) -> None:
    ens_rows = ens_frame(*[(100001 + n, f"p{n}@x.org", False, "Y", DAY) for n in range(10)])
    people = enc_frame(*[(f"id{n}", f"p{n}@x.org", True, at(DAY + dt.timedelta(3))) for n in range(10)])
    plan = consent_plan(ens_rows, people)
    with Sandbox(supporters=20) as sb, ENSClient(sb.ens_api_key, sb.ens_url, hourly_limit=12) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        journal = Journal(tmp_path / "j.sqlite3")
        with pytest.raises(BudgetExceeded):
            apply_plan(plan, ens=ens, encharge=enc, journal=journal)
        assert journal.runs().height == 0 and not any(m == "PUT" for m, _ in sb.received)


# -- the watch, from webhooks ----------------------------------------------------------------------------------


@pytest.mark.slow  # watch rounds over a sandbox and a listener
def test_the_watch_dates_an_unsubscribe_from_a_webhook_and_opts_out_in_ens(tmp_path: Path) -> None:
    with watched(tmp_path) as w:
        sb, ens, enc, hooks, journal, watch = w.sb, w.ens, w.enc, w.hooks, w.journal, w.watch
        first = watch.round()
        assert first.actionable > 0 and first.applied == {"done": first.actionable}
        hooks.wait_for(first.applied["done"])  # the watch's own unsubscribes come back as webhooks
        assert watch.round().actionable == 0  # ... and are not taken for the people's own
        supporters, people = current_lists(ens, enc)
        both = supporters.join(people, left_on=pl.col("Email Address").str.to_lowercase(), right_on="email")
        person = both.filter((pl.col(OPTIN) == "Y") & ~pl.col("unsubscribed") & ~pl.col("suppressed")).row(
            0, named=True)
        sb.advance(days=1)
        enc.unsubscribe(person["id"])  # the person's own unsubscribe, a day after the plan
        hooks.wait_for(first.applied["done"] + 1)
        third = watch.round()
        assert third.unsubscribes == 1 and third.counts["opt out"] == 1 and third.applied == {"done": 1}
        assert sb.ens.records[person["supporterId"]].questions[MARKETING][0] == "N"
        change = read_changes(journal).filter(pl.col("action") == "opt out").row(0, named=True)
        assert change["supporterId"] == person["supporterId"] and change["unsubscribedAt"] is not None


@pytest.mark.slow  # watch rounds over a sandbox and a listener
def test_a_status_that_was_unknown_and_is_known_again_is_never_dated(tmp_path: Path) -> None:
    # One failed read of the "Unsubscribed" segment leaves the statuses unknown for one poll; when they are
    # known again, people unsubscribed all along must not look like new unsubscribes dated at that poll.
    with Sandbox(supporters=300, seed=1, variant="encharge-no-status") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        segment = enc.get_segments().filter(pl.col("name") == "Unsubscribed").item(0, "id")
        watch = ConsentWatch(ens, enc, snapshot=tmp_path / "people.parquet", journal=Journal(tmp_path / "j.sqlite3"))
        sb.fail_next(1, status=404, path=f"/v1/segments/{segment}/people")
        first = watch.round()
        assert first.counts.get("cannot check", 0) > 0  # the statuses were unknown at this poll
        answers = {sid: dict(record.questions) for sid, record in sb.ens.records.items()}
        sb.advance(days=1)
        second = watch.round()  # nobody changed anything
        assert second.unsubscribes == 0 and second.counts["opt out"] == 0 and second.applied == {}
        assert second.counts.get("review", 0) > 0  # the unsubscribed opted-in people are left for review
        assert {sid: dict(record.questions) for sid, record in sb.ens.records.items()} == answers
        # once known on both sides, a person's own unsubscribe is an event again
        supporters, people = current_lists(ens, enc)
        both = supporters.join(enc.status_from_segment(people), left_on=pl.col("Email Address").str.to_lowercase(),
                               right_on="email")
        person = both.filter((pl.col(OPTIN) == "Y") & (pl.col("unsubscribed") == False)  # noqa: E712
                             & ~pl.col("suppressed")).row(0, named=True)
        sb.advance(days=1)
        enc.unsubscribe(person["id"])
        third = watch.round()
        assert third.unsubscribes == 1 and third.counts["opt out"] == 1 and third.applied == {"done": 1}
        assert sb.ens.records[person["supporterId"]].questions[MARKETING][0] == "N"


# -- variants ----------------------------------------------------------------------------------------------------


def test_on_an_account_without_statuses_the_plan_says_what_it_cannot_check() -> None:
    with Sandbox(supporters=400, seed=2, variant="encharge-no-status") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        supporters = ens.export_supporters("All supporters")
        people = enc.list_people()
        plan = consent_plan(supporters, people)
        counts = dict(plan_counts(plan).select("action", "rows").iter_rows())
        assert counts["cannot check"] > 50 and counts["opt out"] == 0 and counts["review"] == 0
        assert plan.filter(pl.col("action") == "unsubscribe").get_column("reason").str.ends_with(
            "unsubscribing is safe either way").all()
        known = consent_plan(supporters, known_statuses(enc, people))  # the "Unsubscribed" segment says
        assert plan_counts(known).filter(pl.col("action") == "cannot check").item(0, "rows") == 0
        assert set(known.get_column("statusSource")) == {"the account's Unsubscribed segment"}


def test_pending_opt_ins_on_the_account_are_left_alone() -> None:
    double = "Email Opt-in (double)"
    with Sandbox(supporters=600, seed=2, variant="pending-optins") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        supporters, people = current_lists(ens, enc)
        pending = set(supporters.filter(pl.col(double) == "P").get_column("supporterId"))
        assert len(pending) > 10
        alone = consent_plan(supporters, people, optins=double)
        acted = alone.filter(pl.col("supporterId").is_in(pending))
        assert acted.get_column("suppressed").all() and acted.get_column("question").is_null().all()  # suppression
        assert alone.filter(pl.col("ensAnswer") == "P").height == 0
        assert alone.filter(pl.col("action") == "unsubscribe").height > 0  # the "N" answers are acted on
        both = consent_plan(supporters, people, optins=[OPTIN, double])
        assert both.filter(pl.col("ensAnswer") == "P").height == 0
        assert both.filter(pl.col("supporterId").is_in(pending)).height > 0  # their Marketing Optin answers count


def test_results_of_a_row_the_api_refuses(tmp_path: Path) -> None:
    plan = pl.DataFrame({"email": ["nobody@example.org", "nobody@example.org"], "supporterId": [None, None],
                         "personId": [None, None], "system": ["Encharge", "Encharge"],
                         "action": ["unsubscribe", "unsubscribe"], "question": [None, None], "reason": ["a", "b"]})
    with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        run = apply_plan(plan, ens=ens, encharge=enc, journal=Journal(tmp_path / "j.sqlite3"))
    results = plan_results(run)
    assert results.select("status", "error").rows() == [("not found", "Person not found."),
                                                        ("skipped", "the same change as row 1; not sent again")]
    assert read_changes(tmp_path / "consent-changes.sqlite3").height == 0  # nothing changed: nothing logged
    assert json.loads(run.items().item(0, "payload"))["kind"] == "email"


@pytest.mark.slow  # watch rounds over a sandbox and a listener
def test_the_watch_dates_every_person_of_one_webhook_delivery(tmp_path: Path) -> None:
    # "endUserData is an array of people who performed the event": each of them is dated, not just the first
    import httpx

    with Sandbox(supporters=300, seed=12) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc, Listener(tmp_path / "hooks.sqlite3") as hooks:
        journal = Journal(tmp_path / "j.sqlite3")
        watch = ConsentWatch(ens, enc, snapshot=tmp_path / "people.parquet", listener=hooks, journal=journal)
        watch.round()  # what was already due
        supporters, people = current_lists(ens, enc)
        both = supporters.join(people, left_on=pl.col("Email Address").str.to_lowercase(), right_on="email")
        chosen = both.filter((pl.col(OPTIN) == "Y") & ~pl.col("unsubscribed") & ~pl.col("suppressed")).head(3)
        assert chosen.height == 3
        sb.advance(days=1)
        for pid in chosen["id"]:
            enc.unsubscribe(pid)  # no subscription: the one delivery below tells of all three
        body = {"eventType": "unsubscribedUser", "eventPayload": {},
                "endUserData": [{"id": row["id"], "email": row["email"]} for row in chosen.iter_rows(named=True)]}
        assert httpx.post(hooks.url, json=body).json()["people"] == 3
        second = watch.round()
        assert second.events == 3 and second.unsubscribes == 3
        assert second.counts["opt out"] == 3 and second.applied == {"done": 3}
        assert set(watch.unsubscribed_at) >= set(chosen["id"])
        for supporter in chosen["supporterId"]:
            assert sb.ens.records[supporter].questions[MARKETING][0] == "N"
