"""Erasures are never forgotten: a lost answer is confirmed on resume; an email is everyone holding it, in any case."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from enstoolkit import EnchargeClient, RetryPolicy
from enstoolkit.analysis import erased_still_in_ens, run_audit
from enstoolkit.bulk import Journal, delete_people, resume, unsubscribe_people
from enstoolkit.errors import BadRequestError, TransportError
from enstoolkit.records import ErasureLog, read_erasures
from enstoolkit.sandbox import Faults, Sandbox
from enstoolkit.sync import consent_plan

from ..conftest import at_once

DROP_DELETES = {"drop_after_rate": 1.0, "routes": ("/v1/people",), "methods": ("DELETE",)}


def client(sb: Sandbox, log_dir: Path) -> EnchargeClient:
    enc = EnchargeClient(sb.encharge_api_key, sb.encharge_url, retry=RetryPolicy(attempts=2, backoff=0.01))
    enc.erasure_log = ErasureLog(log_dir / "erasures.sqlite3")
    return enc


def people(sb: Sandbox, n: int) -> list[dict[str, Any]]:
    return [p for p in sb.encharge.people.values() if not p["archived"] and p["email"]][:n]


def erased_ids(sb: Sandbox) -> Counter[str]:
    return Counter(p["id"] for p in sb.encharge.erased)


# -- a lost answer --------------------------------------------------------------------------------


def test_an_erasure_whose_answer_was_lost_is_done_and_recorded_on_resume(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    with Sandbox(supporters=100, seed=1) as sb, client(sb, tmp_path) as enc:
        chosen = people(sb, 3)
        emails = [p["email"] for p in chosen]
        sb.faults.append(Faults(**DROP_DELETES))
        run = delete_people(enc, [*emails, "never.there@example.org"], force=True, journal=journal)
        assert run.counts() == {"retry": 3, "not found": 1}
        assert erased_ids(sb) == Counter(p["id"] for p in chosen)  # Encharge acted on each; no answer came back
        assert enc.erasure_log.read().height == 0  # nothing confirmed yet, but nothing forgotten either:
        pending = enc.erasure_log.read(pending=True)
        assert sorted(pending.get_column("id")) == sorted(p["id"] for p in chosen)
        assert pending.get_column("pending").to_list() == [True] * 3

        sb.faults.clear()
        run = resume(run.run_id, encharge=enc, journal=journal)
        assert run.status == "completed" and run.counts() == {"done": 3, "not found": 1}
        items = {r["key"]: r for r in run.items().iter_rows(named=True)}
        for person in chosen:
            assert items[person["email"]]["state"] == "done"
            assert '"note": "erased; its answer had been lost"' in items[person["email"]]["result"]
            assert person["id"] in items[person["email"]]["result"]
        assert items["never.there@example.org"]["error"] == "not found (already gone?)"  # never found: failed
        assert erased_ids(sb) == Counter(p["id"] for p in chosen)  # nothing erased twice, nobody else
        assert not any(sb.encharge.find({"email": e}) for e in emails)
        record = read_erasures(tmp_path / "erasures.sqlite3", account_id=sb.encharge.account_id, pending=True)
        assert sorted(record.select("email", "id", "pending").rows()) == sorted(
            (p["email"], p["id"], False) for p in chosen)


def test_a_direct_erasure_whose_answer_was_lost_is_confirmed_when_called_again(tmp_path: Path) -> None:
    with Sandbox(supporters=50, seed=2) as sb, client(sb, tmp_path) as enc:
        person = people(sb, 1)[0]
        sb.faults.append(Faults(**DROP_DELETES))
        with pytest.raises(TransportError):
            enc.delete_people(emails=[person["email"]], force=True)
        assert person["id"] not in sb.encharge.people
        assert enc.erasure_log.read(pending=True).select("id", "pending").rows() == [(person["id"], True)]
        sb.faults.clear()
        again = enc.delete_people(emails=[person["email"]], force=True)
        assert again.select("id", "status", "http_status").rows() == [(person["id"], "done", None)]
        assert enc.erasure_log.read().select("id", "pending").rows() == [(person["id"], False)]
        assert erased_ids(sb) == Counter([person["id"]])
        # called once more: nothing pending is left to confirm, so nobody is found this time
        assert enc.delete_people(emails=[person["email"]], force=True).item(0, "status") == "not found"
        assert enc.erasure_log.read(pending=True).height == 1


def test_a_refused_erasure_is_not_recorded(tmp_path: Path) -> None:
    with Sandbox(supporters=50, seed=2) as sb, client(sb, tmp_path) as enc:
        person = people(sb, 1)[0]
        sb.fail_next(status=400, method="DELETE", path="/v1/people")
        with pytest.raises(BadRequestError):
            enc.delete_people(ids=[person["id"]], force=True)
        assert person["id"] in sb.encharge.people and not sb.encharge.erased
        assert enc.erasure_log.read(pending=True).height == 0  # cancelled: it never happened
        # and a later erasure of someone else who is absent is not taken for it
        assert enc.delete_people(ids=["no-such-id"], force=True).item(0, "status") == "not found"


def test_a_pending_erasure_of_someone_still_in_encharge_under_another_email_is_not_confirmed(tmp_path: Path) -> None:
    with Sandbox(supporters=50, seed=2) as sb, client(sb, tmp_path) as enc:
        person = people(sb, 1)[0]
        account, email = sb.encharge.account_id, person["email"]
        enc.erasure_log.begin([{"email": email, "id": person["id"]}], account_id=account)
        enc.update_person(person["id"], {"email": "moved.elsewhere@example.org"})
        assert enc.delete_people(emails=[email], force=True).item(0, "status") == "not found"
        assert enc.erasure_log.read(account_id=account).height == 0
        assert person["id"] in sb.encharge.people


# -- an email held by two people ----------------------------------------------------------------------


def twin_of(sb: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    old = people(sb, 1)[0]
    twin = sb.encharge.add_person(old["email"].capitalize(), first="Jo", last="Twin")
    assert twin["email"] != old["email"] and twin["email"].lower() == old["email"]
    return old, twin


def test_an_erasure_by_email_erases_everyone_holding_it_and_records_each(tmp_path: Path) -> None:
    with Sandbox(supporters=100, seed=1) as sb, client(sb, tmp_path) as enc:
        old, twin = twin_of(sb)
        run = delete_people(enc, [" " + old["email"].upper()], force=True, journal=Journal(tmp_path / "j.sqlite3"))
        assert run.counts() == {"done": 1}
        assert sorted(pl.Series([run.items().item(0, "result")]).str.json_decode().item()["ids"]) == sorted(
            [old["id"], twin["id"]])
        assert erased_ids(sb) == Counter([old["id"], twin["id"]])  # each once
        left = enc.list_people()
        assert left.filter(pl.col("email").str.to_lowercase() == old["email"]).height == 0
        record = enc.erasure_log.read(account_id=sb.encharge.account_id)
        assert sorted(record.select("id", "email").rows()) == sorted(
            [(old["id"], old["email"]), (twin["id"], twin["email"])])


def test_a_direct_archive_by_email_archives_both_with_a_row_each(tmp_path: Path) -> None:
    with Sandbox(supporters=100, seed=1) as sb, client(sb, tmp_path) as enc:
        old, twin = twin_of(sb)
        archived = enc.delete_people(emails=[old["email"]])
        assert sorted(archived.select("id", "email", "action", "status").rows()) == sorted(
            [(old["id"], old["email"], "archive", "done"), (twin["id"], twin["email"], "archive", "done")])
        assert sb.encharge.people[old["id"]]["archived"] and sb.encharge.people[twin["id"]]["archived"]
        assert not sb.encharge.erased and enc.erasure_log.read(pending=True).height == 0


def test_an_unsubscribe_by_email_unsubscribes_everyone_holding_it(tmp_path: Path) -> None:
    with Sandbox(supporters=100, seed=1) as sb, client(sb, tmp_path) as enc:
        old, twin = twin_of(sb)
        run = unsubscribe_people(enc, [old["email"]], journal=Journal(tmp_path / "j.sqlite3"))
        assert run.counts() == {"done": 1}
        assert sorted(pl.Series([run.items().item(0, "result")]).str.json_decode().item()["ids"]) == sorted(
            [old["id"], twin["id"]])
        assert sb.encharge.unsubscribes == Counter({old["id"]: 1, twin["id"]: 1})
        assert sb.encharge.people[old["id"]]["unsubscribed"] and sb.encharge.people[twin["id"]]["unsubscribed"]


def test_erasing_a_twin_by_id_leaves_the_other_findable_by_email(tmp_path: Path) -> None:
    with Sandbox(supporters=100, seed=1) as sb, client(sb, tmp_path) as enc:
        old, twin = twin_of(sb)
        enc.delete_people(ids=[old["id"]], force=True)
        assert enc.get_people(emails=[old["email"]]).get_column("id").to_list() == [twin["id"]]


# -- the record itself, and those who read it ----------------------------------------------------------------


def test_a_record_from_an_earlier_version_opens_and_reads_as_confirmed(tmp_path: Path) -> None:
    path = tmp_path / "erasures.sqlite3"
    with sqlite3.connect(path) as db:  # as the first version wrote it: no account, no state
        db.execute("CREATE TABLE erasures (seq INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT, person_id TEXT,"
                   " user_id TEXT, erased_at INTEGER NOT NULL)")
        db.execute("INSERT INTO erasures (email, person_id, user_id, erased_at) "
                   "VALUES ('old@x.org', 'p0', NULL, 1767225600000)")
    assert at_once(lambda: ErasureLog(path), 6) == []  # any failure of a concurrent opener is the finding
    log = ErasureLog(path)
    assert log.read().select("email", "pending").rows() == [("old@x.org", False)]
    log.begin([{"email": "new@x.org", "id": "p1"}], account_id=7)
    log.begin([{"email": "new@x.org", "id": "p1"}], account_id=7)  # a repeat keeps one pending row
    assert log.read(pending=True).select("email", "pending").rows() == [("old@x.org", False), ("new@x.org", True)]


def test_the_audit_and_the_consent_plan_leave_pending_erasures_out(tmp_path: Path) -> None:
    log = ErasureLog(tmp_path / "erasures.sqlite3")
    log.record([{"email": "gone@x.org", "id": "p1"}], account_id=7)
    log.begin([{"email": "maybe@x.org", "id": "p2"}], account_id=7)
    ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["gone@x.org", "maybe@x.org"],
                        "suppressed": [False, False], "Marketing Optin": ["Y", "Y"],
                        "Marketing Optin Date": [dt.date(2026, 1, 5)] * 2})
    everything = log.read(account_id=7, pending=True)
    assert erased_still_in_ens(ens, everything).get_column("email").to_list() == ["gone@x.org"]
    assert "erased in Encharge, still in ENS" in set(run_audit(ens, pl.DataFrame(
        {"id": ["x"], "email": ["other@x.org"], "unsubscribed": [False]}), erasures=everything, required=())["check"])
    people = pl.DataFrame({"id": ["x"], "email": ["other@x.org"], "unsubscribed": [False]})
    plan = consent_plan(ens, people, erasures=everything)
    assert plan.filter(pl.col("action") == "review").get_column("email").to_list() == ["gone@x.org"]
    log.confirm(["p2"], account_id=7)
    assert sorted(consent_plan(ens, people, erasures=log.read(account_id=7)).filter(
        pl.col("action") == "review").get_column("email").to_list()) == ["gone@x.org", "maybe@x.org"]


def test_a_run_by_email_reads_the_list_of_everyone_once_not_once_per_person(tmp_path: Path) -> None:
    with Sandbox(supporters=300, seed=1) as sb, client(sb, tmp_path) as enc:
        emails = enc.list_people(max_people=30).get_column("email").to_list()
        before = sb.received[("GET", "/v1/people/all")]
        with client(sb, tmp_path) as fresh:
            fresh.list_people()
        one_listing = sb.received[("GET", "/v1/people/all")] - before
        before = sb.received[("GET", "/v1/people/all")]
        run = unsubscribe_people(enc, emails, journal=Journal(tmp_path / "j.sqlite3"))
        assert run.counts() == {"done": 30}
        assert sb.received[("GET", "/v1/people/all")] - before == one_listing  # not 30 listings
        assert sum(sb.encharge.unsubscribes.values()) == 30


def test_a_kept_list_never_acts_on_someone_gone_since(tmp_path: Path) -> None:
    with Sandbox(supporters=100, seed=1) as sb, client(sb, tmp_path) as enc:
        old, twin = twin_of(sb)
        assert len(enc._people_by_email()[old["email"].lower()]) == 2  # kept for a few minutes
        with client(sb, tmp_path) as other:
            other.delete_people(ids=[twin["id"]], force=True)  # the twin erased by someone else meanwhile
        assert enc.unsubscribe(old["email"]) == [old["id"]]
        assert sb.encharge.unsubscribes == Counter({old["id"]: 1})


def test_a_holder_who_arrives_between_two_calls_is_erased_too(tmp_path: Path) -> None:
    with Sandbox(supporters=100, seed=1) as sb, client(sb, tmp_path) as enc:
        first, target = people(sb, 2)
        enc.delete_people(emails=[first["email"]], force=True)  # reads the list of everyone
        twin = sb.encharge.add_person(target["email"].upper())  # a second holder arrives a moment later
        done = enc.delete_people(emails=[target["email"]], force=True)
        assert sorted(done.get_column("id").to_list()) == sorted([target["id"], twin["id"]])
        assert erased_ids(sb) == Counter([first["id"], target["id"], twin["id"]])


def test_an_erasure_another_row_confirmed_is_done_not_not_found(tmp_path: Path) -> None:
    # the same person twice in a run (by id and by email); the answer to the first erasure is lost
    with Sandbox(supporters=100, seed=1) as sb, client(sb, tmp_path) as enc:
        (person,) = people(sb, 1)
        sb.faults.append(Faults(**DROP_DELETES))
        journal = Journal(tmp_path / "j.sqlite3")
        run = delete_people(enc, [{"id": person["id"]}, {"email": person["email"]}], force=True, journal=journal)
        sb.faults.clear()
        run = resume(run.run_id, encharge=enc, journal=journal)
        assert run.counts() == {"done": 2}
        notes = [n for n in run.items().get_column("result").to_list() if n and "erased already" in n]
        assert erased_ids(sb) == Counter([person["id"]]) and len(notes) <= 1
