"""Encharge unsubscribes dated by recorded events, for one-off plans and across watch restarts."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.bulk import Journal
from enstoolkit.cli import build_parser
from enstoolkit.cli.sync import run_sync
from enstoolkit.cli.watch import append_events
from enstoolkit.encharge import Listener, poll_events
from enstoolkit.errors import DataShapeError, ValidationError
from enstoolkit.sandbox import Sandbox
from enstoolkit.sync import (
    ConsentWatch,
    UnsubscribeDates,
    current_lists,
    plan_from_accounts,
    read_event_file,
    unsubscribe_dates,
    with_unsubscribe_dates,
)

from .conftest import watched

OPTIN = "Marketing Optin"


def opted_in_subscriber(ens: ENSClient, enc: EnchargeClient) -> dict[str, Any]:
    supporters, people = current_lists(ens, enc)
    both = supporters.join(people, left_on=pl.col("Email Address").str.to_lowercase(), right_on="email")
    return both.filter((pl.col(OPTIN) == "Y") & (pl.col("unsubscribed") == False)  # noqa: E712
                       & ~pl.col("suppressed")).row(0, named=True)


@pytest.mark.slow  # a sandbox, a listener and watch rounds
def test_a_one_off_plan_opts_out_an_unsubscribe_the_recorded_polls_dated(tmp_path: Path) -> None:
    events_file, snapshot = tmp_path / "events.csv", tmp_path / "people.parquet"
    with Sandbox(supporters=300, seed=5) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        append_events(poll_events(enc, snapshot), events_file)  # what `enstoolkit watch --out` does
        polled_before = sb.clock.now()
        person = opted_in_subscriber(ens, enc)
        sb.advance(days=1)
        enc.unsubscribe(person["id"])
        sb.advance(hours=2)
        append_events(poll_events(enc, snapshot), events_file)
        dates = unsubscribe_dates(read_event_file(events_file))
        assert dates.filter(pl.col("id") == person["id"]).height == 1
        moment = dates.filter(pl.col("id") == person["id"]).item(0, "unsubscribedAt")
        # the earliest it can have been: the poll before, not the poll that saw it
        assert abs((moment - polled_before).total_seconds()) < 5

        def row_of(plan: pl.DataFrame) -> tuple[str, str]:
            mine = plan.filter(pl.col("personId") == person["id"])
            return mine.item(0, "action"), mine.item(0, "reason")

        without = row_of(plan_from_accounts(ens, enc, optins=OPTIN, erasures=None))
        assert without[0] == "review" and "date unknown" in without[1]
        action, reason = row_of(plan_from_accounts(ens, enc, optins=OPTIN, erasures=None, unsubscribes=dates))
        assert action == "opt out" and reason.startswith(f"Encharge unsubscribed on {moment:%Y-%m-%d %H:%M} UTC")

        out = tmp_path / "plan.csv"
        args = build_parser().parse_args(["sync", "--sandbox", "--out", str(out), "--unsubscribes", str(events_file)])
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert run_sync(args) == 0  # a sandbox of its own: its people are not this one's
        assert "Encharge unsubscribes dated by events.csv" in printed.getvalue()


def test_dates_only_for_people_unsubscribed_now_and_a_given_date_stands() -> None:
    people = pl.DataFrame({"id": ["p1", "p2", "p3"], "unsubscribed": [True, False, True],
                           "unsubscribedAt": [None, None, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]})
    dates = pl.DataFrame({"id": ["p1", "p2", "p3"], "unsubscribedAt": [dt.datetime(2026, 3, 2, tzinfo=dt.UTC)] * 3})
    got = with_unsubscribe_dates(people, dates).get_column("unsubscribedAt").dt.date().to_list()
    assert got == [dt.date(2026, 3, 2), None, dt.date(2026, 1, 1)]


@pytest.mark.slow  # a sandbox, a listener and watch rounds
def test_a_restarted_watch_keeps_the_dates_of_its_account(tmp_path: Path) -> None:
    with watched(tmp_path) as w:
        sb, ens, enc, hooks, journal, watch = w.sb, w.ens, w.enc, w.hooks, w.journal, w.watch
        first = watch.round()
        hooks.wait_for(first.applied["done"])
        person = opted_in_subscriber(ens, enc)
        sb.advance(days=1)
        enc.unsubscribe(person["id"])
        hooks.wait_for(first.applied["done"] + 1)
        assert watch.round().unsubscribes == 1
        kept = watch.unsubscribed_at[person["id"]]
        store = UnsubscribeDates(tmp_path / "people.parquet.unsubscribes.sqlite3")
        assert store.load(str(enc.account_id())) == {person["id"]: kept}
        assert store.load("another account") == {}
        again = ConsentWatch(ens, enc, snapshot=tmp_path / "people.parquet", listener=hooks, journal=journal)
        resumed = again.round()
        assert resumed.events == 0 and resumed.unsubscribes == 0  # it reads on from where the first stopped ...
        assert again.unsubscribed_at == {person["id"]: kept}  # ... and keeps the date
        sb.advance(hours=1)
        enc.unsubscribe(opted_in_subscriber(ens, enc)["id"])  # a webhook while nothing watches
        hooks.wait_for(first.applied["done"] + 2)
        later = ConsentWatch(ens, enc, snapshot=tmp_path / "people.parquet", listener=hooks, journal=journal).round()
        assert later.events == 1 and later.unsubscribes == 1 and later.applied == {"done": 1}


def test_an_unsubscribe_an_earlier_version_polled_is_not_dated(caplog: Any) -> None:
    # an earlier version wrote a poll's unsubscribe with an empty payload: when it happened since the poll before
    # is unknown, so it must not be dated like a webhook (hours or days later than it may have been)
    at = dt.datetime(2026, 10, 7, 9, 30, tzinfo=dt.UTC)
    events = pl.DataFrame({"seq": [1, 2], "eventType": ["unsubscribedUser"] * 2, "personId": ["p1", "p2"],
                           "receivedAt": [at, at], "emailSource": ["snapshot", "event"],
                           "eventPayload": ["{}", "{}"]})
    with caplog.at_level("WARNING", logger="enstoolkit.sync"):
        dates = unsubscribe_dates(events)
    assert dates.get_column("id").to_list() == ["p2"]  # the webhook's, an hour before it arrived
    assert "1 unsubscribes found by polls carry no 'notBefore'" in caplog.text


@pytest.mark.slow  # a sandbox, a listener and watch rounds
def test_a_watch_reads_a_listener_file_made_again_from_its_start(tmp_path: Path) -> None:
    with Sandbox(supporters=300, seed=12) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        hooks_file = tmp_path / "hooks.sqlite3"
        journal = Journal(tmp_path / "j.sqlite3")
        with Listener(hooks_file) as hooks:
            enc.create_subscription("unsubscribedUser", hooks.url)
            watch = ConsentWatch(ens, enc, snapshot=tmp_path / "people.parquet", listener=hooks, journal=journal)
            first = watch.round()
            hooks.wait_for(first.applied["done"])
            assert watch.round().events == first.applied["done"] > 1
        for path in tmp_path.glob("hooks.sqlite3*"):
            if not path.name.endswith(".secret"):
                path.unlink()  # the events file removed, made again at the same path (the same URL)
        with Listener(hooks_file) as hooks:
            enc.create_subscription("unsubscribedUser", hooks.url)  # (a new port here: the address changed)
            person = opted_in_subscriber(ens, enc)
            sb.advance(days=1)
            enc.unsubscribe(person["id"])
            hooks.wait_for(1)
            again = ConsentWatch(ens, enc, snapshot=tmp_path / "people.parquet", listener=hooks, journal=journal)
            later = again.round()  # seq 1 of the new file is below where the old file was read to
            assert later.events == 1 and later.unsubscribes == 1 and later.applied == {"done": 1}


def test_text_statuses_and_given_dates_are_read_never_taken_for_none() -> None:
    people = pl.DataFrame({"id": ["p1", "p2", "p3"], "unsubscribed": ["True", "no", "yes"],
                           "unsubscribedAt": [None, None, "2026-01-01"]})
    dates = pl.DataFrame({"id": ["p1", "p2", "p3"], "unsubscribedAt": [dt.datetime(2026, 3, 2, tzinfo=dt.UTC)] * 3})
    got = with_unsubscribe_dates(people, dates).get_column("unsubscribedAt").dt.date().to_list()
    assert got == [dt.date(2026, 3, 2), None, dt.date(2026, 1, 1)]  # "yes" is unsubscribed; the text date kept
    with pytest.raises(DataShapeError, match="'soon' is not a date"):
        with_unsubscribe_dates(people.with_columns(pl.lit("soon").alias("unsubscribedAt")), dates)
    with pytest.raises(ValidationError, match="maybe"):
        with_unsubscribe_dates(people.with_columns(pl.lit("maybe").alias("unsubscribed")), dates)
