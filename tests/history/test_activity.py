"""Staleness by activity: the toolkit's own writes (journalled) are not activity; someone else's change is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.analysis import run_audit
from enstoolkit.bulk import Journal, tag_people
from enstoolkit.config import Connection
from enstoolkit.history import History
from enstoolkit.history.activity import kept_changes, last_activity, stale_by_activity
from enstoolkit.sandbox import Sandbox

DAY = dt.date(2026, 10, 1)


def test_own_writes_are_not_activity_and_others_changes_are(tmp_path: Path) -> None:
    with Sandbox(supporters=200, seed=5) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        journal = Journal(tmp_path / "journal.sqlite3")
        history = History.for_connection(Connection(ens, enc, None, False, False), tmp_path / "h.duckdb",
                                         journal=journal)
        supporters, people = ens.export_supporters("All supporters"), enc.list_people()
        history.record_snapshot("ens", supporters, DAY)
        history.record_snapshot("encharge", people, DAY)
        # two people in both systems, joined and last active in Encharge more than two years ago
        old = DAY - dt.timedelta(days=730)
        both = (supporters.select("supporterId", pl.col("Email Address").str.strip_chars().str.to_lowercase()
                                  .alias("key"), "createdOn")
                .join(people.select(pl.col("email").str.strip_chars().str.to_lowercase().alias("key"),
                                    pl.col("lastActivity").dt.date().alias("active")), on="key")
                .filter(pl.col("createdOn") < old, pl.col("active") < old).sort("supporterId"))
        ours, theirs = both.get_column("key").head(2).to_list()
        tag_people(enc, [ours], ["vip"], journal=journal)  # the toolkit's write, journalled
        enc.update_person(theirs, {"firstName": "Changed"})  # someone else's (not in the journal)
        later = DAY + dt.timedelta(days=1)
        people2 = enc.list_people()
        history.record_snapshot("encharge", people2, later)

    changes = kept_changes(history)
    assert changes.get_column("email_key").to_list() == [theirs]
    assert history.person(ours).filter(pl.col("system") == "encharge").get_column("by_toolkit").to_list() == [
        False, True]
    assert "tags" in history.person(ours).filter(pl.col("system") == "encharge").item(-1, "changes")

    # both people's Encharge updatedAt moved (and would read as fresh); their activity says otherwise for one
    assert people2.filter(pl.col("email").str.strip_chars().str.to_lowercase().is_in([ours, theirs])).get_column(
        "updatedAt").dt.date().to_list() == [DAY, DAY]
    today = later + dt.timedelta(days=400)
    activity = last_activity(supporters, people2, history=history)
    row = activity.filter(pl.col("email").str.strip_chars().str.to_lowercase() == theirs).row(0, named=True)
    assert (row["last_activity"], row["source"]) == (later, "change in Encharge (kept history)")
    assert row["sources_used"] == "joined ENS, Encharge lastActivity, kept history"
    stale = stale_by_activity(supporters, people2, history=history, older_than_days=450, today=today)
    flagged = set(stale.get_column("email").str.strip_chars().str.to_lowercase().to_list())
    assert ours in flagged and theirs not in flagged
    detail = stale.filter(pl.col("email").str.strip_chars().str.to_lowercase() == ours).item(0, "detail")
    assert detail.startswith("no activity for ") and "modif" not in detail
    # the audit takes them instead of its modifiedOn check
    findings = run_audit(supporters, people2, optins=["Marketing Optin"], today=today, stale=stale)
    assert findings.filter(pl.col("check") == "stale record").height == stale.height


def test_transactions_count_and_no_source_cannot_check() -> None:
    ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"],
                        "createdOn": [dt.date(2020, 1, 1)] * 2, "modifiedOn": [dt.date(2026, 9, 30)] * 2})
    tx = pl.DataFrame({"supporterId": [2, 2], "createdOn": [dt.date(2026, 5, 1), dt.date(2025, 1, 1)]})
    stale = stale_by_activity(ens, transactions=tx, older_than_days=365, today=DAY)
    assert stale.get_column("supporterId").to_list() == [1]  # a recent modifiedOn does not save supporter 1
    assert last_activity(ens, transactions=tx).filter(pl.col("supporterId") == 2).row(0)[2:4] == (
        dt.date(2026, 5, 1), "ENS transaction")
    unable = stale_by_activity(ens, today=DAY)
    assert unable.height == 1 and unable.item(0, "detail").startswith("cannot check: no source of activity")
    with pytest.raises(Exception, match="lastActivity"):
        last_activity(ens, pl.DataFrame({"id": ["p1"], "email": ["a@x.org"]}))


def test_cohorts_use_the_kept_answer_and_estimate_only_the_rest(tmp_path: Path) -> None:
    from enstoolkit.analysis import cohorts
    from enstoolkit.history.optins import cohorts_with_history, joined_answers

    history = History("acct", tmp_path / "h.duckdb")
    joined = dt.date(2026, 1, 5)
    # 1 and 2 were there before the history began; 3 joined with "N" while it was kept, later said "Y", then "N"
    day1 = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"],
                         "createdOn": [dt.date(2025, 12, 1)] * 2, "Marketing Optin": ["Y", "N"],
                         "Marketing Optin Date": [dt.date(2025, 12, 1)] * 2})
    history.record_snapshot("ens", day1, dt.date(2026, 1, 1))
    three = pl.DataFrame({"supporterId": [3], "Email Address": ["c@x.org"], "createdOn": [joined],
                          "Marketing Optin": ["N"], "Marketing Optin Date": [joined]})
    history.record_snapshot("ens", pl.concat([day1, three]), joined)
    later = pl.concat([day1, three.with_columns(pl.lit("Y").alias("Marketing Optin"),
                                                pl.lit(dt.date(2026, 2, 1)).alias("Marketing Optin Date"))])
    history.record_snapshot("ens", later, dt.date(2026, 2, 1))
    now = pl.concat([day1, three.with_columns(pl.lit(dt.date(2026, 3, 1)).alias("Marketing Optin Date"))])
    history.record_snapshot("ens", now, dt.date(2026, 3, 1))

    assert joined_answers(now, "Marketing Optin", history=history).rows() == [(3, "N", "kept history")]
    estimated = cohorts(now, "Marketing Optin").filter(pl.col("cohort") == dt.date(2026, 1, 1))
    assert estimated.item(0, "joined_opted_in") == 1  # the estimate reads the later "N" as an opt-out after joining
    kept = cohorts_with_history(now, "Marketing Optin", history=history)
    january = kept.filter(pl.col("cohort") == dt.date(2026, 1, 1)).row(0, named=True)
    assert (january["joined_opted_in"], january["estimated"], january["basis"]) == (0, 0, "kept")
    december = kept.filter(pl.col("cohort") == dt.date(2025, 12, 1)).row(0, named=True)
    assert (december["estimated"], december["basis"]) == (2, "estimate")


def test_a_supporter_who_joined_opted_out_and_opted_in_later_is_not_retained(tmp_path: Path) -> None:
    """Still opted in counts those who joined opted in and still are: never above those who joined."""
    from enstoolkit.history.optins import cohorts_with_history

    history = History("acct", tmp_path / "h.duckdb")
    joined = dt.date(2026, 1, 5)
    three = pl.DataFrame({"supporterId": [3, 4], "Email Address": ["c@x.org", "d@x.org"], "createdOn": [joined] * 2,
                          "Marketing Optin": ["N", "Y"], "Marketing Optin Date": [joined] * 2})
    history.record_snapshot("ens", three, joined)
    now = three.with_columns(pl.lit("Y").alias("Marketing Optin"), pl.lit(dt.date(2026, 2, 1)).alias(
        "Marketing Optin Date"))
    history.record_snapshot("ens", now, dt.date(2026, 2, 1))
    january = cohorts_with_history(now, "Marketing Optin", history=history).row(0, named=True)
    assert (january["signed_up"], january["joined_opted_in"], january["still_opted_in"]) == (2, 1, 1)
    assert january["retention"] == 1.0 and january["basis"] == "kept"
