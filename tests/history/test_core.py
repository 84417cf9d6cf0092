"""The history store: two audits of a sandbox changed through the API between them, and every bad input."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.analysis import run_audit
from enstoolkit.errors import ValidationError
from enstoolkit.history import (
    AccountMismatch,
    BeforeHistory,
    History,
    HistoryError,
    NoSuchRun,
    NotComparable,
    ParametersMismatch,
    StoreCorrupt,
    StoreMissing,
    account_key,
    as_of,
    diff,
    person,
    runs,
)
from enstoolkit.sandbox import Sandbox
from enstoolkit.schemas.results import FINDINGS

DAY = dt.date(2026, 10, 1)
PARAMETERS = {"QUERY_NAME": "All supporters", "OPTINS": ["Marketing Optin"], "STALE_DAYS": 730}


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[Sandbox, ENSClient, EnchargeClient]]:
    with Sandbox(supporters=400, seed=24) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        yield sb, ens, enc


def _audit(ens: ENSClient, enc: EnchargeClient) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    supporters = ens.export_supporters("All supporters")
    people = enc.list_people()
    return run_audit(supporters, people, optins=["Marketing Optin"], today=DAY), supporters, people


def test_two_audits_with_changes_made_through_the_api_between_them(account: tuple[Sandbox, ENSClient, EnchargeClient],
                                                                   tmp_path: Path) -> None:
    _, ens, enc = account
    history = History(account_key((ens, enc)), tmp_path / "history.duckdb")
    findings, supporters, people = _audit(ens, enc)
    first = history.record_audit(findings, parameters=PARAMETERS, day=DAY, supporters=supporters, people=people)

    # the changes: three people who opted out in ENS are unsubscribed in Encharge (three conflicts resolved),
    # two supporters with every field and a recent modifiedOn lose their postcode (two new "missing fields")
    conflicts = findings.filter(pl.col("check") == "opted out, subscribed in Encharge",
                                pl.col("supporterId").is_not_null())
    fixed = conflicts.get_column("email").head(3).to_list()
    assert len(fixed) == 3
    for email in fixed:
        enc.unsubscribe(email.strip())
    flagged = findings.filter(pl.col("supporterId").is_not_null()).get_column("supporterId").unique()
    clean = supporters.filter(~pl.col("supporterId").is_in(flagged.implode()))
    emptied = clean.get_column("supporterId").head(2).to_list()
    for sid in emptied:
        ens.update_supporter(sid, {"Postcode": ""})

    findings2, supporters2, people2 = _audit(ens, enc)
    second = history.record_audit(findings2, parameters=PARAMETERS, day=DAY + dt.timedelta(days=1),
                                  supporters=supporters2, people=people2)
    table = history.diff()
    assert table.get_column("before").unique().to_list() == [first]
    assert table.get_column("after").unique().to_list() == [second]
    counts = {c: (n, r, s) for c, n, r, s in table.select("check", "new", "resolved", "still_open").iter_rows()}
    still_conflicting = conflicts.height - 3
    assert counts["opted out, subscribed in Encharge"] == (0, 3, still_conflicting)
    assert counts["missing fields"][:2] == (2, 0)
    moved = {c: v for c, v in counts.items() if c not in ("opted out, subscribed in Encharge", "missing fields")}
    assert all(n == 0 and r == 0 for n, r, _ in moved.values()), moved
    rows = history.diff(rows=True)
    assert sorted(rows.filter(pl.col("status") == "new").get_column("supporterId").to_list()) == sorted(emptied)

    # one person across both systems: the ENS record unchanged, the Encharge one unsubscribed on the second day
    versions = history.person(fixed[0])
    assert set(versions.get_column("system")) == {"ens", "encharge"}
    enc_versions = versions.filter(pl.col("system") == "encharge")
    assert enc_versions.get_column("changes").to_list()[0] == "first seen"
    assert "unsubscribed: False -> True" in enc_versions.get_column("changes").to_list()[1]
    assert enc_versions.get_column("seen_by").to_list() == [first, second]
    then = history.as_of(DAY, "encharge", email=fixed[0])
    now = history.as_of(DAY + dt.timedelta(days=1), "encharge", email=fixed[0])
    assert then.get_column("unsubscribed").to_list() == [False] and now.get_column("unsubscribed").to_list() == [True]
    # the whole list as of the first day is what the first audit read
    assert history.as_of(DAY, "ens").equals(supporters.select(sorted(supporters.columns)).sort("supporterId"))
    trend = history.trend().filter(pl.col("check") == "opted out, subscribed in Encharge")
    assert trend.get_column("findings").to_list() == [conflicts.height, conflicts.height - 3]


def _findings(ids: list[int], check: str = "invalid email") -> pl.DataFrame:
    return pl.DataFrame({"supporterId": ids, "email": [f"p{i}@x.org" for i in ids], "check": [check] * len(ids),
                         "severity": ["high"] * len(ids), "detail": ["x"] * len(ids)},
                        schema_overrides={"supporterId": pl.Int64})


def test_two_accounts_never_diff_together(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    one, two = History("account one", path), History("account two", path)
    a1 = one.record_audit(_findings([1, 2]), parameters={}, day=DAY)
    b1 = two.record_audit(_findings([1]), parameters={}, day=DAY)
    with pytest.raises(NotComparable):  # each account has one run: nothing to compare, not the other's run
        one.diff()
    with pytest.raises(AccountMismatch, match="different accounts"):
        one.diff(a1, b1)
    with pytest.raises(AccountMismatch):
        two.diff(b1, a1)
    assert one.runs().get_column("run_id").to_list() == [a1]
    with pytest.raises(HistoryError, match="several accounts"):
        runs(path=path)
    assert runs(path=path, account="account two").get_column("run_id").to_list() == [b1]
    one.record_audit(_findings([2, 3]), parameters={}, day=DAY)
    assert one.diff().select("new", "resolved", "still_open").row(0) == (1, 1, 1)
    with pytest.raises(NoSuchRun):
        one.diff("nope", a1)


def test_runs_made_with_other_parameters_are_not_compared(tmp_path: Path) -> None:
    history = History("acct", tmp_path / "h.duckdb")
    history.record_audit(_findings([1]), parameters={"STALE_DAYS": 730, "OUT_DIR": "a"}, day=DAY)
    history.record_audit(_findings([1]), parameters={"STALE_DAYS": 365, "OUT_DIR": "b"}, day=DAY)
    with pytest.raises(ParametersMismatch, match="STALE_DAYS: 730 then 365") as caught:
        history.diff()
    assert set(caught.value.differences) == {"STALE_DAYS"}  # where the reports went does not matter
    assert "not compared" in history.summary_line()


def test_a_check_that_could_not_run_is_not_compared(tmp_path: Path) -> None:
    history = History("acct", tmp_path / "h.duckdb")
    history.record_audit(_findings([1, 2], "stale record"), parameters={}, day=DAY)
    unable = pl.DataFrame([{"supporterId": None, "email": None, "check": "stale record", "severity": "low",
                            "detail": "cannot check: no modifiedOn column"}], schema=FINDINGS)
    history.record_audit(unable, parameters={}, day=DAY)
    row = history.diff().row(0, named=True)
    assert row["new"] is None and row["resolved"] is None and "could not run in the after run" in row["note"]
    assert history.trend().get_column("findings").to_list() == [2, None]


def test_missing_and_corrupt_stores_say_so(tmp_path: Path) -> None:
    with pytest.raises(StoreMissing, match="no history store"):
        History("acct", tmp_path / "none.duckdb").runs()
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreCorrupt):
        History("acct", garbage).runs()
    assert garbage.read_bytes() == b"this is not a database" * 100  # left as it was
    import duckdb

    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as db:
        db.execute("CREATE TABLE t (x INT)")
    with pytest.raises(StoreCorrupt, match=r"tables .* are missing"):
        History("acct", other).runs()
    with pytest.raises(StoreCorrupt):
        History("acct", other).record_audit(_findings([1]), parameters={}, day=DAY)


def test_days_before_history_and_unknown_people_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    history = History("acct", path)
    people = pl.DataFrame({"id": ["p1", "p2"], "email": ["a@x.org", "b@x.org"], "unsubscribed": [False, False]})
    history.record_snapshot("encharge", people, DAY)
    with pytest.raises(BeforeHistory, match="no history before 2026-10-01"):
        history.as_of(DAY - dt.timedelta(days=1))
    with pytest.raises(HistoryError, match="no ens snapshot"):
        history.as_of(DAY, "ens")
    with pytest.raises(HistoryError, match="no record with the email"):
        person("nobody@x.org", path=path)
    with pytest.raises(ValidationError, match="day"):
        history.record_snapshot("encharge", people, DAY - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="system"):
        history.record_snapshot("mailchimp", people, DAY)
    with pytest.raises(ValidationError, match="repeated"):
        history.record_snapshot("encharge", people.vstack(people.with_columns(email=pl.lit("c@x.org"))), DAY)
    with pytest.raises(ValidationError, match="email"):
        history.person("not an email")
    assert as_of(DAY, path=path)["encharge"].height == 2


def test_as_of_gives_back_every_day_exactly(tmp_path: Path) -> None:
    history = History("acct", tmp_path / "h.duckdb")
    rng = random.Random(5)
    frame = pl.DataFrame({"supporterId": list(range(1, 51)), "Email Address": [f"p{i}@x.org" for i in range(1, 51)],
                          "City": ["X"] * 50, "Marketing Optin": ["Y"] * 50,
                          "modifiedOn": [DAY] * 50}, schema_overrides={"supporterId": pl.Int64})
    kept = {}
    next_id = 100
    for n in range(12):
        day = DAY + dt.timedelta(days=n)
        if n:
            changed = rng.sample(range(frame.height), 4)
            frame = frame.with_row_index("i").with_columns(
                pl.when(pl.col("i").is_in(changed)).then(pl.lit(f"C{n}")).otherwise(pl.col("City")).alias("City"),
            ).drop("i")
            frame = frame.filter(pl.col("supporterId") != frame.item(rng.randrange(frame.height), "supporterId"))
            frame = frame.vstack(pl.DataFrame({"supporterId": [next_id], "Email Address": [f"n{next_id}@x.org"],
                                               "City": ["N"], "Marketing Optin": ["N"], "modifiedOn": [day]},
                                              schema=frame.schema))
            next_id += 1
        history.record_snapshot("ens", frame, day)
        kept[day] = frame.select(sorted(frame.columns)).sort("supporterId")
    history.record_snapshot("ens", frame, DAY + dt.timedelta(days=11))  # the same day again changes nothing
    for day, expected in kept.items():
        assert history.as_of(day, "ens").equals(expected), day
    left = kept[DAY].join(kept[DAY + dt.timedelta(days=11)], on="supporterId", how="anti")
    gone = str(left.item(0, "Email Address"))
    versions = history.person(gone)
    assert versions.item(-1, "valid_to") is not None  # it left: its last version is closed


def test_the_run_marker_names_account_and_run_without_secrets(account: tuple[Sandbox, ENSClient, EnchargeClient],
                                                               tmp_path: Path) -> None:
    sb, ens, enc = account
    history = History(account_key((ens, enc)), tmp_path / "h.duckdb")
    run = history.record_audit(_findings([1]), parameters={}, day=DAY)
    marker = history.write_marker(run, tmp_path / "report")
    text = marker.read_text()
    assert sb.ens_api_key not in text and sb.encharge_api_key not in text
    again, run_id = History.from_marker(tmp_path / "report")
    assert (again.account, run_id) == (history.account, run)
    assert json.loads(text)["account"].startswith("ENS sandbox API user")


def test_module_functions_use_the_only_account(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    history = History("acct", path)
    history.record_audit(_findings([1, 2]), parameters={}, day=DAY)
    history.record_audit(_findings([2]), parameters={}, day=DAY)
    assert diff(path=path).select("new", "resolved", "still_open").row(0) == (0, 1, 1)


def test_a_store_busy_in_another_process_is_waited_for(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    path = tmp_path / "h.duckdb"
    History("acct", path).record_audit(_findings([1]), parameters={}, day=DAY)
    from enstoolkit.history.database import close_stores

    close_stores()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; db = duckdb.connect({str(path)!r}); "
                               "print('held', flush=True); time.sleep(3); db.close()"], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        History("acct", path).record_audit(_findings([1, 2]), parameters={}, day=DAY)
        assert time.monotonic() - started > 1  # it waited for the other process, then wrote
    finally:
        holder.wait(timeout=30)
    assert History("acct", path).diff().select("new", "still_open").row(0) == (1, 1)
