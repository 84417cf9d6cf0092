"""Bulk runs never act twice on an answer they could not read, and never on another account than their own.

Everything is counted at the sandbox: what ENS recorded, what Encharge changed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient, RetryPolicy
from enstoolkit.bulk import BulkRun, Journal, process_pages, resume, review, tag_people
from enstoolkit.errors import AmbiguousDates, DataShapeError, ValidationError
from enstoolkit.sandbox import Faults, Sandbox
from enstoolkit.sync import apply_plan, plan_results
from enstoolkit.widgets import ProcessPanel, TagPanel, actions

from ..conftest import at_once

#: Seconds ENS takes before acting on a page submission, in the tests that need it to act late.
ACTS_LATE = 3.3
CARD = {"donationAmt": "1000.00", "paymenttype": "VISA", "paycurrency": "GBP", "ccnumber": "4222222222222220",
        "ccexpire": "12/2030", "ccvv": "123"}
DONOR = "big.donor@example.org"


def gifts(sb: Sandbox, email: str, page: int = 130) -> int:
    """Page submissions the sandbox's ENS acted on for this email."""
    return sum(1 for p in sb.ens.processed if p["pageId"] == page
               and p["body"]["supporter"].get("Email Address") == email)


# -- an answer that cannot be read after ENS acted ----------------------------------------------------------------


def test_a_success_answer_with_an_unreadable_amount_is_done_once_and_never_resent(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    with Sandbox(supporters=50, seed=1, variant="process_amount=text") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        run = process_pages(ens, 130, [{"Email Address": DONOR}], transaction=CARD, journal=journal)
        resume(run.run_id, ens=ens, journal=journal, transaction=CARD)
        run.complete(transaction=CARD)
        record = sb.ens.find_email(DONOR)
        assert gifts(sb, DONOR) == 1  # charged once, however often the run is resumed or completed
        assert [t.get("amount") for t in sb.ens.transactions(record) if t.get("amount") == 1000.0] == [1000.0]
    assert run.status == "completed" and run.counts() == {"done": 1}
    item = run.items().row(0, named=True)
    assert item["state"] == "done" and item["attempts"] == 1
    assert "'amount'" in item["error"] and "1000.00 GBP" in item["error"] and "SUCCESS" in item["error"]
    kept = json.loads(item["result"])
    assert kept["status"] == "SUCCESS" and kept["amount"] is None and kept["answer"]["amount"] == "1000.00 GBP"
    assert kept["supporterId"] == record.supporter_id and kept["id"]  # the transaction is claimed as evidence
    assert "4222222222222220" not in json.dumps(kept)


def test_send_process_keeps_a_success_answer_it_cannot_type(tmp_path: Path) -> None:
    with Sandbox(supporters=20, seed=2, variant="process_amount=text") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        result = ens.process_page(130, {"Email Address": "one.gift@example.org"}, transaction=CARD)
        assert gifts(sb, "one.gift@example.org") == 1
    row = result.row(0, named=True)
    assert row["status"] == "SUCCESS" and row["amount"] is None and row["supporterId"] is not None
    assert "column 'amount'" in row["warning"] and json.loads(row["answer"])["amount"] == "1000.00 GBP"
    assert sb.ens_api_key not in row["answer"]


def test_process_rows_reports_the_charged_row_done_with_its_note(tmp_path: Path) -> None:
    card = {**CARD, "donationAmt": "50.00"}
    with Sandbox(supporters=50, seed=1, variant="process_amount=text") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        form = actions.page_form(ens, 130)
        preview = actions.preview_process(pl.DataFrame({"email": ["ann@example.org"]}), {"email": "Email Address"},
                                          form)
        results = actions.process_rows(ens, form, preview, transaction=card, journal=Journal(tmp_path / "j.sqlite3"))
        assert gifts(sb, "ann@example.org") == 1
    row = results.row(0, named=True)
    assert row["status"] == "done" and row["ens_status"] == "SUCCESS" and "'amount'" in row["error"]
    text, attention = actions.outcome_summary(results, "processed")
    assert "1 done with a note" in text and "'amount'" in text and attention


def test_an_answer_that_is_not_ens_s_leaves_the_gift_unknown_then_review_finds_it(tmp_path: Path) -> None:
    # ENS acts 3.3 s after the request arrives: its transaction is dated clearly after the send moment's margin
    faults = Faults(garble_rate=1.0, latency=ACTS_LATE, routes=("/ens/service/page/130/process",), methods=("POST",))
    journal = Journal(tmp_path / "j.sqlite3")
    with Sandbox(supporters=50, seed=1, faults=faults) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        run = process_pages(ens, 130, [{"Email Address": DONOR}], transaction=CARD, journal=journal)
        item = run.items().row(0, named=True)
        assert item["state"] == "unknown" and "could not be read" in item["error"], item
        assert run.status == "needs review"
        resume(run.run_id, ens=ens, journal=journal, transaction=CARD)  # never resent blindly
        assert gifts(sb, DONOR) == 1
        sb.faults.clear()
        run.complete(transaction=CARD)  # review finds ENS's transaction: done, and nothing resent
        assert gifts(sb, DONOR) == 1
    assert run.status == "completed" and run.counts() == {"done": 1}
    assert "found in ENS" in json.loads(run.items().item(0, "result"))["review"]


def test_an_unreadable_answer_after_a_submission_is_unknown_never_retry(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    ens = ENSClient("key-1234", "http://127.0.0.1:9/ens/service")
    enc = EnchargeClient("key-1234", "http://127.0.0.1:9/v1")
    page_run = BulkRun(journal, journal.create_run("process", {"page_id": 130}, [{"supporter": {}}]), ens=ens)
    tag_run = BulkRun(journal, journal.create_run("tag-add", {"tags": ["x"]}, [{"kind": "email", "value": "a@x.org"}]),
                      encharge=enc)
    for problem in (DataShapeError("createdOn", "03/04/2026", "a date"), AmbiguousDates("createdOn", ["03/04/2026"],
                                                                                         "date_order='dmy'")):
        state, _, error = page_run._classify(problem)
        assert state == "unknown" and "may have been sent" in (error or "") and "createdOn" in (error or "")
        assert tag_run._classify(problem)[0] == "retry"  # safe to repeat: sent again


def test_the_process_panel_settles_an_unknown_gift_by_review_and_never_resends_it(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    monkeypatch.setenv("ENSTOOLKIT_DATA_DIR", str(tmp_path / "data"))
    faults = Faults(garble_rate=1.0, latency=ACTS_LATE, routes=("/ens/service/page/130/process",), methods=("POST",))
    with Sandbox(supporters=50, seed=1, faults=faults) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        panel = ProcessPanel(ens)
        panel.page_type.value = "nd"
        panel.page.value = 130
        panel.inputs["Email Address"].value = "panel.donor@example.org"
        panel.amount.value = 40
        panel.card_number.value = "4222 2222 2222 2220"
        panel.card_expiry.value = "12/2030"
        panel.preview_button.click()
        panel.confirm.click()
        row = panel.results.row(0, named=True)
        assert row["status"] == "unknown" and "could not be read" in row["error"] and "review" in row["error"]
        assert panel.resume.button.layout.display == ""
        sb.faults.clear()
        panel.resume.button.click()
        assert gifts(sb, "panel.donor@example.org") == 1, panel.status
        assert panel.results.columns[:3] == ["run_id", "seq", "key"] and \
            panel.results.get_column("state").to_list() == ["done"], panel.status
        assert panel.resume.button.layout.display == "none"


# -- another account's client --------------------------------------------------------------------------------------


@pytest.fixture
def two_accounts() -> Iterator[tuple[Sandbox, Sandbox, EnchargeClient, EnchargeClient]]:
    with Sandbox(supporters=100, seed=1) as a, Sandbox(supporters=100, seed=2) as b, \
            EnchargeClient(a.encharge_api_key, a.encharge_url) as enc_a, \
            EnchargeClient(b.encharge_api_key, b.encharge_url) as enc_b:
        yield a, b, enc_a, enc_b


def tagged(sb: Sandbox, tag: str) -> int:
    return sum(tag in p["tags"] for p in sb.encharge.people.values())


def test_a_run_is_never_resumed_on_another_encharge_account(tmp_path: Path, two_accounts) -> None:
    a, b, enc_a, enc_b = two_accounts
    journal = Journal(tmp_path / "j.sqlite3")
    emails = enc_a.list_people(max_people=5).get_column("email").to_list()
    enc_b.upsert_people([{"email": e} for e in emails])  # the same people are in account B too
    run = tag_people(enc_a, emails, ["only-in-a"], journal=journal, run=False)
    run.run(max_items=2)
    assert journal.accounts(run.run_id) == {"encharge": f"{a.encharge_url} account {a.encharge.account_id}"}
    b_before = Counter(b.received)
    for attempt in (lambda: resume(run.run_id, encharge=enc_b, journal=journal),
                    lambda: resume(run.run_id, encharge=enc_b, journal=Journal(tmp_path / "j.sqlite3")).complete()):
        with pytest.raises(ValidationError) as info:
            attempt()
        assert info.value.argument == "encharge"
        assert f"account {a.encharge.account_id}" in str(info.value) and a.encharge_url in str(info.value)
        assert b.encharge_api_key not in str(info.value) and a.encharge_api_key not in str(info.value)
    assert tagged(b, "only-in-a") == 0 and run.counts() == {"done": 2, "pending": 3}
    assert run.status != "completed"
    sent_to_b = Counter(b.received) - b_before
    assert set(sent_to_b) <= {("GET", "/v1/accounts/info")}, sent_to_b  # at most reading B's account id
    # a new client of account A (another object, the same key) resumes it
    with EnchargeClient(a.encharge_api_key, a.encharge_url) as again:
        assert resume(run.run_id, encharge=again, journal=journal).status == "completed"
    assert tagged(a, "only-in-a") == 5 and tagged(b, "only-in-a") == 0


def test_a_page_run_and_its_review_refuse_another_ens_account(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    faults = Faults(drop_after_rate=1.0, routes=("/ens/service/page/110/process",), methods=("POST",))
    with Sandbox(supporters=20, seed=1, faults=faults) as a, Sandbox(supporters=20, seed=2) as b, \
            ENSClient(a.ens_api_key, a.ens_url) as ens_a, ENSClient(b.ens_api_key, b.ens_url) as ens_b:
        rows = [{"Email Address": f"signer{i}@example.org"} for i in range(3)]
        run = process_pages(ens_a, 110, rows, journal=journal, run=False)
        run.run(max_items=1)
        assert run.counts() == {"unknown": 1, "pending": 2}
        for attempt in (lambda: resume(run.run_id, ens=ens_b, journal=journal),
                        lambda: review(BulkRun(journal, run.run_id, ens=ens_b)),
                        lambda: BulkRun(journal, run.run_id, ens=ens_b).complete()):
            with pytest.raises(ValidationError) as info:
                attempt()
            assert info.value.argument == "ens" and a.ens_url in str(info.value)
            assert a.ens_api_key not in str(info.value) and b.ens_api_key not in str(info.value)
        assert b.ens.processed == [] and run.counts() == {"unknown": 1, "pending": 2}
        assert not any(path.startswith("/ens/service/page") or "supporter" in path for _, path in b.received)
        a.faults.clear()
        run = resume(run.run_id, ens=ENSClient(a.ens_api_key, a.ens_url), journal=journal).complete()
        assert run.counts().get("done", 0) >= 2 and set(run.counts()) <= {"done", "unknown"}  # unknown: cannot tell
        assert Counter(p["body"]["supporter"]["Email Address"] for p in a.ens.processed) == \
            Counter(r["Email Address"] for r in rows)


def test_a_consent_run_is_resumed_only_with_both_of_its_clients(tmp_path: Path, two_accounts) -> None:
    a, b, enc_a, enc_b = two_accounts
    journal = Journal(tmp_path / "j.sqlite3")
    person = next(p for p in a.encharge.people.values() if not p["unsubscribed"] and p["email"])
    enc_b.upsert_people([{"email": person["email"]}])
    plan = pl.DataFrame({"email": [person["email"]], "supporterId": [None], "personId": [person["id"]],
                         "system": ["Encharge"], "action": ["unsubscribe"], "question": [None], "reason": ["test"]})
    a.fail_next(status=503, path="/v1/people/unsubscribe")  # the run stops with the change still to make
    with ENSClient(a.ens_api_key, a.ens_url) as ens_a, ENSClient(b.ens_api_key, b.ens_url) as ens_b:
        enc_a.retry = RetryPolicy(attempts=1)
        run = apply_plan(plan, ens=ens_a, encharge=enc_a, journal=journal, progress=False)
        assert run.counts() == {"retry": 1}, run.items()
        assert set(journal.accounts(run.run_id)) == {"ens", "encharge"}
        for kwargs, wrong in (({"ens": ens_a, "encharge": enc_b}, "encharge"),
                              ({"ens": ens_b, "encharge": enc_a}, "ens")):
            with pytest.raises(ValidationError) as info:
                resume(run.run_id, journal=journal, **kwargs)
            assert info.value.argument == wrong
        b_person = next(p for p in b.encharge.people.values() if p["email"] == person["email"])
        assert not b_person["unsubscribed"]
        assert plan_results(resume(run.run_id, ens=ens_a, encharge=enc_a, journal=journal)).item(0, "status") == "done"
    assert a.encharge.people[person["id"]]["unsubscribed"] and not b_person["unsubscribed"]


def test_the_resume_button_refuses_another_account(tmp_path: Path, monkeypatch, two_accounts) -> None:
    monkeypatch.setenv("ENSTOOLKIT_DATA_DIR", str(tmp_path / "data"))
    a, b, enc_a, enc_b = two_accounts
    emails = enc_a.list_people(max_people=3).get_column("email").to_list()
    enc_b.upsert_people([{"email": e} for e in emails])
    panel = TagPanel(enc_a)
    run = tag_people(enc_a, emails, ["panel-tag"], journal=Journal(), run=False)
    run.run(max_items=1)
    panel.resume.track(run.run_id)
    panel.encharge = enc_b  # the panel now talks to another account
    panel.resume.button.click()
    assert panel.status_kind == "error" and "encharge=" in panel.status and str(a.encharge.account_id) in panel.status
    assert b.encharge_api_key not in panel.status and a.encharge_api_key not in panel.status
    assert tagged(b, "panel-tag") == 0 and run.counts() == {"done": 1, "pending": 2}
    panel.encharge = enc_a
    panel.resume.button.click()
    assert tagged(a, "panel-tag") == 3 and tagged(b, "panel-tag") == 0, panel.status


# -- journals from earlier versions -----------------------------------------------------------------------------------


OLD_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
    note TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, owner TEXT, owner_pid INTEGER);
CREATE TABLE items (run_id TEXT NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT, updated_at INTEGER NOT NULL,
    window_lo INTEGER, window_hi INTEGER, PRIMARY KEY (run_id, seq));
CREATE TABLE claims (ref TEXT PRIMARY KEY, run_id TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL);
"""

WHEN = 1_790_000_000_000  # epoch ms, in 2026


def old_journal(path: Path, emails: list[str]) -> str:
    """A journal as an earlier version wrote it: no accounts, a tagging run with its first item done."""
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO runs VALUES ('old-run', 'tag-add', ?, 'stopped', NULL, ?, ?, NULL, NULL)",
               (json.dumps({"tags": ["legacy"]}), WHEN, WHEN))
    db.executemany("INSERT INTO items (run_id, seq, key, payload, state, attempts, updated_at) VALUES (?,?,?,?,?,?,?)",
                   [("old-run", n, e, json.dumps({"kind": "email", "value": e}), "done" if n == 1 else "pending",
                     1 if n == 1 else 0, WHEN) for n, e in enumerate(emails, start=1)])
    db.commit()
    db.close()
    return "old-run"


def test_a_run_journalled_without_its_account_resumes_with_a_warning_and_is_bound(tmp_path: Path, two_accounts,
                                                                                  caplog) -> None:
    a, b, enc_a, enc_b = two_accounts
    emails = enc_a.list_people(max_people=3).get_column("email").to_list()
    path = tmp_path / "old.sqlite3"
    run_id = old_journal(path, emails)
    journals: list[Journal] = []
    errors = at_once(lambda: journals.append(Journal(path)), 4)  # several kernels opening the old journal together
    assert errors == [] and len(journals) == 4
    assert journals[0].accounts(run_id) == {}
    with caplog.at_level(logging.WARNING, logger="enstoolkit.bulk"):
        run = resume(run_id, encharge=enc_a, journal=journals[1])
    assert run.status == "completed" and tagged(a, "legacy") == 2  # the item done before is not sent again
    assert any("without the accounts" in r.getMessage() and run_id in r.getMessage() for r in caplog.records)
    assert a.encharge_api_key not in caplog.text
    assert journals[2].accounts(run_id) == {"encharge": enc_a._account_fingerprint()}
    journals[2].mark(run_id, [3], "pending")
    with pytest.raises(ValidationError):
        resume(run_id, encharge=enc_b, journal=journals[3])
    assert tagged(b, "legacy") == 0


def test_the_journal_never_holds_a_key(tmp_path: Path, two_accounts) -> None:
    a, _, enc_a, _ = two_accounts
    with ENSClient(a.ens_api_key, a.ens_url) as ens:
        process_pages(ens, 110, [{"Email Address": "signer@example.org"}], journal=Journal(tmp_path / "j.sqlite3"))
        tag_people(enc_a, ["nobody@example.org"], "vip", journal=Journal(tmp_path / "j.sqlite3"))
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("j.sqlite3"))
    assert a.ens_api_key.encode() not in raw and a.encharge_api_key.encode() not in raw
    assert a.ens_url.encode() in raw and a.encharge_url.encode() in raw


def test_a_lost_demo_submission_is_never_sent_again(tmp_path: Path) -> None:
    # ENS records a demo submission like a live one (a test transaction): resending it would sign twice
    faults = Faults(drop_after_rate=1.0, routes=("/ens/service/page/110/process",), methods=("POST",))
    with Sandbox(supporters=20, seed=1, faults=faults) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        rows = [{"Email Address": f"demo.signer{i}@example.org"} for i in range(3)]
        run = process_pages(ens, 110, rows, demo=True, journal=Journal(tmp_path / "j.sqlite3"))
        assert run.counts() == {"unknown": 3}
        sb.faults.clear()
        sb.advance(minutes=5)  # ENS's window on them has closed
        run.complete()
        # each settled by its transaction, or unknown when that is dated inside the send moment's margin
        assert set(run.counts()) <= {"done", "unknown"}
        assert run.items().filter(pl.col("state") == "unknown")["error"].str.contains("cannot tell").all()
        assert Counter(p["body"]["supporter"]["Email Address"] for p in sb.ens.processed) == \
            Counter(r["Email Address"] for r in rows)  # each acted on once, never twice
