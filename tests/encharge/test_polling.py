"""Watching without a public URL: poll_events against the sandbox, compared with what the webhooks said."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient
from enstoolkit.encharge import Listener, SnapshotError, poll_events, snapshot_info
from enstoolkit.errors import ValidationError
from enstoolkit.sandbox import Sandbox
from enstoolkit.schemas.encharge import EVENT


def people(sandbox: Sandbox, n: int, skip: int = 0) -> list[dict]:
    found = [p for p in sandbox.encharge.people.values() if not p["archived"] and not p["unsubscribed"]]
    return found[skip:skip + n]


def scripted_changes(enc: EnchargeClient, sandbox: Sandbox) -> dict[str, str]:
    """One change of each kind, to different people; returns the person id behind each."""
    a, b, c, d, e = people(sandbox, 5)
    new = enc.upsert_people([{"email": "watched.new@example.org", "firstName": "New", "tags": ["watch-a"]}])
    enc.update_person(a["id"], {"firstName": "Renamed"})
    enc.unsubscribe(b["id"])
    enc.add_tags([c["email"]], "watch-b")
    enc.add_tags([d["email"]], "watch-c")
    enc.remove_tags([d["email"]], "watch-c")  # added and removed between polls: a poll cannot see it
    tag = e["tags"][0]
    enc.remove_tags([e["email"]], tag)
    return {"new": new.item(0, "id"), "updated": a["id"], "unsubscribed": b["id"], "tagged": c["id"],
            "untagged": e["id"], "removed_tag": tag}


def test_poll_reports_each_change_once(sandbox: Sandbox, tmp_path: Path) -> None:
    snap = tmp_path / "people.parquet"
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc:
        first = poll_events(enc, snap)
        assert first.height == 0 and first.schema == pl.Schema(EVENT)
        info = snapshot_info(snap)
        assert info is not None and info["people"] == sandbox.encharge_people_count()
        assert info["accountId"] == str(sandbox.encharge.account_id) and info["format"] == 1
        assert poll_events(enc, snap).height == 0  # nothing changed
        who = scripted_changes(enc, sandbox)
        archived = people(sandbox, 1, skip=5)[0]
        enc.delete_people(ids=[archived["id"]])
        events = poll_events(enc, snap)
        again = poll_events(enc, snap)
    assert events.schema == pl.Schema(EVENT) and again.height == 0
    counts = Counter(events["eventType"])
    assert counts == {"newUser": 1, "added-tag-watch-a": 1, "updatedUser": 1, "unsubscribedUser": 1,
                      "added-tag-watch-b": 1, f"removed-tag-{who['removed_tag']}": 1, "deletedUser": 1}
    by_type = {row["eventType"]: row for row in events.iter_rows(named=True)}
    assert by_type["newUser"]["personId"] == who["new"] and by_type["newUser"]["email"] == "watched.new@example.org"
    updated = by_type["updatedUser"]
    assert updated["personId"] == who["updated"] and updated["changedFields"] == ["firstName", "name"]
    assert json.loads(updated["eventPayload"])["changedFields"]["firstName"]["newValue"] == "Renamed"
    assert json.loads(updated["person"])["firstName"] != "Renamed"  # the values from before, as Encharge sends
    assert by_type["unsubscribedUser"]["personId"] == who["unsubscribed"]
    assert by_type["unsubscribedUser"]["unsubscribed"] is True
    assert by_type["added-tag-watch-b"]["tag"] == "watch-b"
    removed = by_type[f"removed-tag-{who['removed_tag']}"]
    assert removed["personId"] == who["untagged"] and removed["email"] and removed["emailSource"] == "snapshot"
    assert by_type["deletedUser"]["personId"] == archived["id"]
    assert events["seq"].to_list() == list(range(1, events.height + 1)) and not events["redelivery"].any()
    assert events["emailSource"].to_list() == ["snapshot"] * events.height
    assert events["receivedAt"].dt.date().unique().to_list() == [sandbox.clock.now().date()]  # Encharge's clock
    assert snapshot_info(snap)["lastSeq"] == events.height  # type: ignore[index]


def test_poll_and_webhooks_agree(sandbox: Sandbox, tmp_path: Path) -> None:
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc, \
            Listener(tmp_path / "events.sqlite3") as hooks:
        snap = tmp_path / "people.parquet"
        poll_events(enc, snap)
        removed = [f"removed-tag-{tag}" for tag in sandbox.encharge.tags]
        for event in ("newUser", "updatedUser", "unsubscribedUser", "added-tag-watch-a", "added-tag-watch-b",
                      *removed):
            enc.create_subscription(event, hooks.url)
        scripted_changes(enc, sandbox)
        polled = poll_events(enc, snap)
        heard = hooks.wait_for(6)
    assert heard.columns == polled.columns
    assert set(zip(polled["eventType"], polled["personId"], strict=True)) == \
        set(zip(heard["eventType"], heard["personId"], strict=True))
    for frame in (polled, heard):
        update = frame.filter(pl.col("eventType") == "updatedUser").row(0, named=True)
        assert update["changedFields"] == ["firstName", "name"]


def test_unsubscribes_seen_where_records_carry_no_status(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    snap = tmp_path / "people.parquet"
    with Sandbox(supporters=200, seed=3, variant="encharge-no-status") as sb, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        poll_events(enc, snap)
        person = people(sb, 1)[0]
        enc.unsubscribe(person["id"])
        events = poll_events(enc, snap)
        assert events.select("eventType", "personId").rows() == [("unsubscribedUser", person["id"])]
        caplog.set_level(logging.WARNING, logger="enstoolkit.watch")
        blind = tmp_path / "blind.parquet"
        poll_events(enc, blind, status_segment="No such segment")
        enc.unsubscribe(people(sb, 1, skip=1)[0]["id"])
        assert poll_events(enc, blind, status_segment="No such segment").height == 0
    assert "unsubscribes cannot be seen" in caplog.text


def test_a_snapshot_that_cannot_be_used_is_refused_and_left_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    snap = tmp_path / "people.parquet"
    meta = tmp_path / "people.parquet.json"
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc:
        poll_events(enc, snap)
        good, good_meta = snap.read_bytes(), meta.read_text()
        with Sandbox(supporters=50, seed=8) as other, EnchargeClient(other.encharge_api_key, other.encharge_url) as o, \
                pytest.raises(SnapshotError, match=f"of Encharge account {sandbox.encharge.account_id}, not of"):
            poll_events(o, snap)
        assert snap.read_bytes() == good and meta.read_text() == good_meta
        snap.write_bytes(b"PAR1 this is not parquet")
        with pytest.raises(SnapshotError, match="checksum"):
            poll_events(enc, snap)
        assert snap.read_bytes() == b"PAR1 this is not parquet" and meta.read_text() == good_meta
        snap.write_bytes(good)
        meta.write_text(good_meta.replace('"format": 1', '"format": 99'))
        with pytest.raises(SnapshotError, match="format 99"):
            poll_events(enc, snap)
        meta.write_text("{not json")
        with pytest.raises(SnapshotError, match="metadata"):
            poll_events(enc, snap)
        meta.unlink()
        with pytest.raises(SnapshotError, match=r"no people\.parquet\.json"):
            poll_events(enc, snap)
        assert snap.read_bytes() == good
        with pytest.raises(ValidationError, match="parquet"):
            poll_events(enc, tmp_path / "people.csv")
        meta.write_text(good_meta)  # the snapshot is usable again as it was
        assert poll_events(enc, snap).height == 0


def test_the_watch_command_appends_each_poll(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from enstoolkit.cli import main

    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    for out in (tmp_path / "events.csv", tmp_path / "parquet" / "events.parquet"):
        assert main(["watch", "--out", str(out), "--once"]) == 0
        assert "snapshot recorded" in capsys.readouterr().out and not out.exists()
        person = people(sandbox, 1)[0]
        with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc:
            enc.add_tags([person["email"]], f"cli-{out.suffix[1:]}")
            enc.update_person(person["id"], {"city": f"Cli {out.suffix}"})
        assert main(["watch", "--out", str(out), "--once"]) == 0
        printed = capsys.readouterr().out
        assert f"1 added-tag-cli-{out.suffix[1:]}, 1 updatedUser (2 rows appended)" in printed
        assert main(["watch", "--out", str(out), "--once"]) == 0
        assert "no changes" in capsys.readouterr().out
        written = pl.read_csv(out) if out.suffix == ".csv" else pl.read_parquet(out)
        assert written.columns == list(EVENT) and written.height == 2
        assert set(written["personId"]) == {person["id"]}
        assert (out.parent / "encharge-people.parquet").exists()
    assert written["seq"].to_list() == [1, 2] and written.schema == pl.Schema(EVENT)
    assert sandbox.encharge_api_key not in printed
    with pytest.raises(SystemExit, match=r"\.csv or \.parquet"):
        main(["watch", "--out", str(tmp_path / "events.txt"), "--once"])


def test_polled_events_name_one_person_each(sandbox: Sandbox, tmp_path: Path) -> None:
    snap = tmp_path / "people.parquet"
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc:
        poll_events(enc, snap)
        scripted_changes(enc, sandbox)
        events = poll_events(enc, snap)
    assert events["personIndex"].to_list() == [0] * events.height  # each body a poll makes names one person
    assert events["seq"].n_unique() == events.height


def test_an_events_file_of_an_earlier_version_takes_the_person_index(tmp_path: Path) -> None:
    from enstoolkit.cli import main
    from enstoolkit.cli.watch import append_events

    event = {"eventType": "unsubscribedUser", "eventPayload": {}, "endUserData": [{"id": "p1", "email": "=1+1"}]}
    with Listener(tmp_path / "e.sqlite3") as hooks:
        hooks.store(json.dumps(event).encode(), event)
        events = hooks.events()
    earlier = events.drop("personIndex")  # as an earlier version appended them
    for out in (tmp_path / "events.csv", tmp_path / "events.parquet"):
        append_events(earlier, out)
        if out.suffix == ".csv":  # the columns as they were, the cells as written
            earlier_csv = pl.read_csv(out, infer_schema=False)
            assert earlier_csv.columns == earlier.columns and earlier_csv.item(0, "email") == "'=1+1"
        assert append_events(events, out) == 1
        written = pl.read_csv(out, infer_schema=False) if out.suffix == ".csv" else pl.read_parquet(out)
        assert written.columns == list(EVENT)
        assert written["personIndex"].to_list() == [None, "0" if out.suffix == ".csv" else 0]
        assert written["email"].to_list() == (["'=1+1"] * 2 if out.suffix == ".csv" else ["=1+1"] * 2)
    other = tmp_path / "other.csv"
    other.write_text("name,amount\nx,1\n")
    with pytest.raises(ValidationError, match="name, amount"):
        append_events(events, other)
    with pytest.raises(SystemExit, match=r"other\.csv"):
        main(["watch", "--out", str(other), "--once"])  # refused before any poll
    assert other.read_text() == "name,amount\nx,1\n"
