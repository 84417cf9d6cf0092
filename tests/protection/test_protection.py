"""Data protection: tombstones refused on every write path, subject access zips, suppression requests and
retention, each figure counted at the sandbox (what the emulated accounts acted on)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.bulk import Journal, process_pages, upsert_people, upsert_supporters
from enstoolkit.errors import ValidationError
from enstoolkit.protection import Tombstoned, Tombstones
from enstoolkit.protection.erase import erase_people, erasure_log
from enstoolkit.protection.requests import load_requests, request_report
from enstoolkit.protection.retention import load_policy, retention_counts, retention_preview
from enstoolkit.protection.sar import MAX_REQUESTS, export_log, subject_access
from enstoolkit.protection.suppression import suppress
from enstoolkit.protection.tombstones import default_tombstones
from enstoolkit.sandbox import Sandbox
from enstoolkit.sandbox.requests_file import request_file
from enstoolkit.sync.apply import apply_plan
from enstoolkit.widgets.actions import TOMBSTONE_PROBLEM, PageForm, preview_process, process_rows

from ..conftest import RecordingTransport


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of its own: its tombstones, salt, journal and request store."""
    monkeypatch.setenv("ENSTOOLKIT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "enstoolkit"


def _both(sb: Sandbox) -> dict:
    """A supporter held in both systems (one Encharge person)."""
    held = {p["email"].strip().lower(): p for p in sb.encharge.people.values() if not p["archived"]}
    for rec in sorted(sb.ens.records.values(), key=lambda r: r.supporter_id):
        if rec.email.strip().lower() in held:
            return {"email": rec.email.strip().lower(), "supporterId": rec.supporter_id,
                    "personId": held[rec.email.strip().lower()]["id"]}
    raise AssertionError("no shared person")


# -- tombstones -------------------------------------------------------------------------------------


def test_tombstones_hold_no_plain_address_and_a_salt_per_data_folder(tmp_path: Path) -> None:
    one, two = Tombstones(tmp_path / "a"), Tombstones(tmp_path / "b")
    one.add(["Someone@Example.org"], reason="erased", source="test")
    two.add(["someone@example.org"], reason="erased", source="test")
    assert one.contains(" SOMEONE@example.org ") and not one.contains("other@example.org")
    assert one.read().item(0, "hash") != two.read().item(0, "hash")  # salted per folder
    for path in (one.path, tmp_path / "a" / "tombstone.salt"):
        assert b"someone@example.org" not in path.read_bytes().lower()
    assert (tmp_path / "a" / "tombstone.salt").stat().st_mode & 0o077 == 0
    with pytest.raises(ValidationError, match="override"):
        one.guard(["someone@example.org"], path="test", override="  ")


def test_every_write_path_refuses_a_tombstoned_person(folder: Path, tmp_path: Path) -> None:
    with Sandbox(supporters=120, seed=3) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        person = _both(sb)
        gone, kept = "gone.person@example.org", person["email"]
        stones = default_tombstones(ens)
        stones.add([gone, kept], reason="erased", source="test")
        journal = Journal(tmp_path / "j.sqlite3")
        optins_before = sum(sb.ens.optins_set.values())
        refusals = [
            lambda: ens.upsert_supporter({"Email Address": gone.upper()}),
            lambda: ens.update_supporter(person["supporterId"], {"questions": {"Marketing Optin": "Y"}}),
            lambda: ens.update_supporter(sb.ens.first_supporter_id() + 1, {"Email Address": gone}),
            lambda: ens.process_page(100, {"Email Address": gone}),
            lambda: ens.suppress_supporters([kept], suppressed=False),
            lambda: enc.upsert_people([{"email": "ok.person@example.org"}, {"email": gone}]),
            lambda: enc.update_person(person["personId"], {"unsubscribed": False}),
        ]
        for call in refusals:
            with pytest.raises(Tombstoned):
                call()
        bulk_ens = upsert_supporters(ens, [{"Email Address": gone}, {"Email Address": "fresh.one@example.org"}],
                                     journal=journal)
        bulk_enc = upsert_people(enc, [{"email": gone}], journal=journal)
        bulk_page = process_pages(ens, 110, [{"Email Address": gone}], journal=journal)
        form = PageForm(110, "Petition", "dc", "PET", ["Email Address"], [], False, False)
        preview = preview_process(pl.DataFrame({"email": [gone, "panel.person@example.org"]}),
                                  {"email": "Email Address"}, form, ens=ens)
        assert preview.get_column("problem").to_list() == [TOMBSTONE_PROBLEM, None]
        panel = process_rows(ens, form, preview, journal=journal)
        forged = pl.DataFrame({"email": [gone], "supporterId": [None], "personId": ["p1"], "system": ["Encharge"],
                               "action": ["subscribe"], "question": [None], "reason": ["edited by hand"]},
                              schema_overrides={"supporterId": pl.Int64})
        with pytest.raises(ValidationError, match="never proposed"):
            apply_plan(forged, ens=ens, encharge=enc, journal=journal, by="test")
        # counted at the sandbox: nothing re-created or re-subscribed
        assert sb.ens.created[gone] == 0 and sb.ens.upserts[gone] == 0 and sb.encharge.created[gone] == 0
        assert sum(sb.ens.optins_set.values()) == optins_before and sum(sb.encharge.resubscribes.values()) == 0
        assert not any(p["body"].get("supporter", {}).get("Email Address") == gone for p in sb.ens.processed
                       if isinstance(p.get("body"), dict))
        assert bulk_ens.counts() == {"done": 1, "skipped": 1} and bulk_enc.counts() == {"skipped": 1}
        assert bulk_page.counts() == {"skipped": 1}
        assert panel.get_column("status").to_list() == ["invalid", "done"]
        counts = dict(stones.refusals().select("path", "refused").iter_rows())
        assert counts == {"ENS POST /supporter": 1, "ENS PUT /supporter": 2, "ENS page submission": 1,
                          "ENS PUT /supporter/bulk": 1, "Encharge POST /people": 2, "bulk upsert-supporters": 1,
                          "bulk upsert-people": 1, "bulk process": 1, "Process panel": 1}
        # an override sends it, and is logged with its reason
        ens.upsert_supporter({"Email Address": gone}, override="asked to rejoin, letter of 2026-10-01")
        assert sb.ens.created[gone] == 1
        log = stones.refusal_log().filter(pl.col("overridden"))
        assert log.select("path", "reason").row(0) == ("ENS POST /supporter", "asked to rejoin, letter of 2026-10-01")


def test_consent_sync_unsubscribes_and_opts_out_a_tombstoned_person_who_is_back(folder: Path,
                                                                                  tmp_path: Path) -> None:
    from enstoolkit.sync.live import plan_from_accounts

    with Sandbox(supporters=200, seed=5) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        back = "back.again@example.org"
        stones = default_tombstones(ens)
        stones.add([back], reason="suppressed", source="FPS", channel="email")
        reason = "re-joined at an event, signed form kept"  # the override is logged; the sync still acts
        ens.upsert_supporter({"Email Address": back, "questions": {"Marketing Optin": "Y"}}, override=reason)
        enc.upsert_people([{"email": back}], override=reason)
        plan = plan_from_accounts(ens, enc, optins="Marketing Optin", erasures=False, tombstones=stones)
        rows = plan.filter(pl.col("email") == back).select("system", "action").rows()
        assert sorted(rows) == [("ENS", "opt out"), ("Encharge", "unsubscribe")]
        without = plan_from_accounts(ens, enc, optins="Marketing Optin", erasures=False)
        assert without.filter(pl.col("email") == back).height == 0  # rule 7 is what finds them
        run = apply_plan(plan.filter(pl.col("email") == back), ens=ens, encharge=enc,
                         journal=Journal(tmp_path / "j.sqlite3"), by="test")
        assert run.counts() == {"done": 2}
        assert sb.encharge.people[sb.encharge.by_email[back]]["unsubscribed"]
        answers = ens.get_supporter(email=back, questions=True).item(0, "questions")
        assert [q["response"] for q in answers if q["name"] == "Marketing Optin"] == ["N"]


def test_a_person_tombstoned_while_a_run_waits_is_skipped_and_the_rest_sent(folder: Path, tmp_path: Path) -> None:
    with Sandbox(supporters=30, seed=6) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        journal = Journal(tmp_path / "j.sqlite3")
        rows = [{"email": "will.be.gone@example.org"}, {"email": "stays@example.org"}]
        ens_run = upsert_supporters(ens, [{"Email Address": r["email"]} for r in rows], journal=journal, run=False)
        enc_run = upsert_people(enc, rows, journal=journal, run=False)  # one batch of two
        default_tombstones(ens).add(["will.be.gone@example.org"], reason="erased", source="test")
        for run in (ens_run.run(), enc_run.run()):
            assert run.status == "completed"
            assert run.items().get_column("state").to_list() == ["skipped", "done"]
        assert sb.ens.created["will.be.gone@example.org"] == 0 and sb.encharge.created["will.be.gone@example.org"] == 0
        assert sb.ens.created["stays@example.org"] == 1 and sb.encharge.created["stays@example.org"] == 1


def test_the_process_panel_never_submits_a_tombstoned_person(folder: Path) -> None:
    from enstoolkit.widgets import ProcessPanel

    with Sandbox(supporters=50, seed=4) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        default_tombstones(ens).add(["asked.to.stop@example.org"], reason="suppressed", source="phone", channel="all")
        panel = ProcessPanel(ens)
        panel.page_type.value = "dcf"
        panel.page.value = 100
        panel.inputs["Email Address"].value = "Asked.To.Stop@example.org"
        panel.preview_button.click()
        assert panel.preview.item(0, "problem") == TOMBSTONE_PROBLEM
        panel.confirm.click()
        assert sb.ens.find_email("asked.to.stop@example.org") is None and not sb.ens.processed
        assert dict(default_tombstones(ens).refusals().select("path", "refused").iter_rows()) == {"Process panel": 1}


# -- subject access ---------------------------------------------------------------------------------


def test_subject_access_zip_for_a_person_in_both_systems(folder: Path, tmp_path: Path) -> None:
    recorder = RecordingTransport()
    with Sandbox(supporters=300, seed=7) as sb:
        person = _both(sb)
        twin = sb.encharge.add_person(person["email"].upper())  # a case variant: a second holder
        with ENSClient(sb.ens_api_key, sb.ens_url) as setup:  # a card gift: its card must not be exported
            setup.process_page(130, {"Email Address": person["email"]},
                               transaction={"donationAmt": "10.00", "paymenttype": "VISA",
                                            "ccnumber": "4222222222222220", "ccexpire": "12/2030", "ccvv": "123"})
        journal = Journal(tmp_path / "j.sqlite3")
        with EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            upsert_people(enc, [{"email": person["email"], "leadScore": 5}], journal=journal)
        before = len(recorder.exchanges)
        with ENSClient(sb.ens_api_key, sb.ens_url, transport=recorder) as ens, \
                EnchargeClient(sb.encharge_api_key, sb.encharge_url, transport=recorder) as enc:
            sar = subject_access(person["email"].title(), ens=ens, encharge=enc, out=tmp_path / "out", by="dpo",
                                 journal=journal, history=lambda email: pl.DataFrame(
                                     {"email": [email], "system": ["encharge"], "changes": ["first seen"]}))
        made = len(recorder.exchanges) - before
        closing = len(recorder.calls("DELETE", "/authenticate/"))  # the session ended after the export
    assert 0 < made <= MAX_REQUESTS
    assert sum(sar.manifest["requests"].values()) == made - closing
    with zipfile.ZipFile(sar.path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        for name, digest in manifest["files"].items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest
        everything = b"".join(archive.read(n) for n in names)
    assert {"manifest.json", "index.html", "SHA256SUMS", "ens_supporter.csv", "ens_supporter.json",
            "encharge_person.csv", "ens_transactions.json", "ens_recurring.csv", "journal_items.json"} <= names
    rows = {name: s["rows"] for name, s in manifest["sources"].items()}
    assert rows["ens_supporter"] == 1 and rows["encharge_person"] == 2 and rows["ens_questions"] > 0
    assert rows["ens_transactions"] >= 1 and rows["journal_items"] == 1 and rows["holders"] == 3
    assert rows["history"] == 1 and "history.csv" in names  # history rows: one more source
    assert twin["id"] in sar.sources["encharge_person"].get_column("id").to_list()
    assert b"4222222222222220" not in everything and b"ccnumber" not in everything.lower()
    salt = (folder / "tombstone.salt").read_bytes()
    assert salt not in everything and salt.hex().encode() not in everything
    assert export_log().select("by", "zip").row(0) == ("dpo", sar.path.name)


# -- suppression requests ---------------------------------------------------------------------------


def test_fps_file_matched_exact_fuzzy_and_not_found_never_subscribing(folder: Path, tmp_path: Path) -> None:
    with Sandbox(supporters=300, seed=7) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        data, truth = request_file(sb, exact=5, fuzzy=3, not_found=3)
        today = sb.ens.now.date()
        requests = load_requests(data, source="fps", today=today)
        journal = Journal(tmp_path / "j.sqlite3")
        first = suppress(requests, ens=ens, encharge=enc, journal=journal, today=today)
        review = first.matches.filter(pl.col("band") == "review")
        fuzzy_ids = {str(t["supporterId"]) for t in truth if t["kind"] == "fuzzy"}
        assert set(review.filter(pl.col("system") == "ENS").get_column("id").to_list()) == fuzzy_ids
        second = suppress(requests, ens=ens, encharge=enc, journal=journal, today=today,
                          approved=review.filter(pl.col("system") == "ENS"))
        report = request_report(today=today + dt.timedelta(days=30))
        exact_emails = [t["email"] for t in truth if t["kind"] == "exact"]
        assert all(sb.ens.find_email(e).suppressed for e in exact_emails)
        assert all(p["unsubscribed"] for p in sb.encharge.people.values() if p["email"] in exact_emails)
        assert sum(sb.ens.optins_set.values()) == 0 and sum(sb.encharge.resubscribes.values()) == 0
        assert not any(value == "N" for _, value in sb.ens.bulk_suppressions)
    figures = first.figures()
    assert figures["matched"] == {"exact": 5, "review": 3, "not found": 3}
    assert figures["suppressed"] == {"ENS": 5, "Encharge": 5}
    assert report.height == 11  # every request kept, matched or not
    statuses = dict(report.group_by("status").len().iter_rows())
    post = truth[5:8]
    pending_post = sum(1 for t, c in zip(post, requests.get_column("channel").to_list()[5:8], strict=True)
                       if c == "post")
    assert statuses.get("met", 0) == 11 - pending_post and statuses.get("overdue", 0) == pending_post
    assert second.figures()["suppressed"]["ENS"] >= 3
    stones = default_tombstones(ens)
    assert all(stones.hits([t["email"] for t in truth if t["kind"] != "fuzzy"]))  # not found ones kept too


def test_bad_request_files_give_errors_or_review_rows(folder: Path) -> None:
    text = "Email,Name,Address,Channel,Date Received\nzoë@example.org,Zoë Brontë,LS1 4AB,email,2026-09-01\n"
    with pytest.raises(ValidationError, match="encoding"):
        load_requests(text.encode("cp1252"), source="fps")
    assert load_requests(text.encode("cp1252"), source="fps", encoding="cp1252").item(0, "name") == "Zoë Brontë"
    with pytest.raises(ValidationError, match="received"):
        load_requests(b"Email,Channel\na@example.org,email\n", source="fps")
    with pytest.raises(ValidationError, match="channel"):
        load_requests(b"Email,Date Received\na@example.org,2026-09-01\n", source="fps")
    rows = (b"Email,Channel,Date Received\nfuture@example.org,email,2030-01-01\nsame@example.org,email,2026-09-01\n"
            b"SAME@example.org ,email,2026-09-02\nbad,email,2026-09-01\n,email,2026-09-01\nx@example.org,fax,"
            b"2026-09-01\n")
    frame = load_requests(rows, source="fps", today=dt.date(2026, 10, 1))
    problems = frame.get_column("problem").to_list()
    assert "in the future" in problems[0] and problems[1] is None and problems[2] is None
    assert frame.item(2, "duplicate_of") == frame.item(1, "request_id")
    assert "not an address" in problems[3] and "nobody can be matched" in problems[4] and "fax" in problems[5]


def test_an_email_matching_several_records_is_a_review_row_never_a_suppression(folder: Path, tmp_path: Path) -> None:
    with Sandbox(supporters=60, seed=2) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        supporters = ens.export_supporters("All supporters")
        shared = supporters.item(0, "Email Address")
        twin = supporters.head(1).with_columns(pl.lit(999_999, pl.Int64).alias("supporterId"),
                                               pl.lit("Someone").alias("First Name"),
                                               pl.lit("Else").alias("Last Name"))
        requests = load_requests(f"email,channel,received\n{shared},email,2026-09-20\n".encode(), source="phone",
                                 today=sb.ens.now.date())
        done = suppress(requests, ens=ens, encharge=enc, supporters=pl.concat([supporters, twin]),
                        people=enc.list_people(progress=False), journal=Journal(tmp_path / "j.sqlite3"),
                        today=sb.ens.now.date())
        assert sum(sb.ens.bulk_suppressions.values()) == 0 and not sb.ens.find_email(shared).suppressed
    ens_rows = done.matches.filter(pl.col("system") == "ENS")
    assert ens_rows.get_column("band").to_list() == ["review", "review"]
    assert done.requests.item(0, "status") == "pending" and "awaits approval" in done.requests.item(0,
                                                                                                     "pending_reason")


# -- retention --------------------------------------------------------------------------------------


def test_retention_preview_and_erasure_in_both_systems(folder: Path, tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text("[inactivity]\nyears = 2\n[recurring]\nkeep_active = true\n[gift_aid]\nyears = 2\n")
    with pytest.raises(ValidationError, match="keys"):
        load_policy(text="[inactivity]\nyeers = 2\n")
    with Sandbox(supporters=300, seed=7) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        supporters = ens.export_supporters("All supporters")
        transactions = ens.export_transactions("All supporters")
        people = enc.list_people(progress=False)
        today = sb.ens.now.date()
        default = retention_preview(load_policy(text=""), supporters=supporters, transactions=transactions,
                                    people=people, ens=ens, today=today)
        preview = retention_preview(load_policy(policy_file), supporters=supporters, transactions=transactions,
                                    people=people, ens=ens, today=today)
        counts = retention_counts(preview)
        assert preview.filter(pl.col("lastGift").is_not_null()).height > 0  # gifts read from the export's codes
        assert preview.filter(pl.col("lastAction").is_not_null()).height > 0
        erase = preview.filter(pl.col("decision") == "erase")
        cutoff = today.replace(year=today.year - 2)
        for row in erase.iter_rows(named=True):  # real activity dates, never modifiedOn
            assert all(d is None or d < cutoff for d in (row["lastAction"], row["lastGift"], row["lastEmail"]))
        kept_recurring = preview.filter(pl.col("reason") == "an active recurring gift").height
        run = erase_people(erase.head(5), ens=ens, encharge=enc, reason="retention policy: 2 years inactive",
                           by="dpo", journal=Journal(tmp_path / "j.sqlite3"))
        gone = erase.head(5)
        assert all(sb.ens.records.get(sid) is None for sid in gone.get_column("supporterId").drop_nulls())
        assert not any(p["email"] in gone.get_column("email").to_list() for p in sb.encharge.people.values())
        again = upsert_supporters(ens, [{"Email Address": e} for e in gone.get_column("email").to_list()],
                                  journal=Journal(tmp_path / "j2.sqlite3"))
        assert again.counts() == {"skipped": 5} and all(sb.ens.created[e] == 0 for e in gone.get_column("email"))
    assert retention_counts(default)["erase"] == 0  # nobody in the sandbox is 7 years inactive
    assert counts["erase"] > 5 and counts["keep"] > 0 and kept_recurring >= 0
    assert run.status == "completed" and run.counts().get("done", 0) >= 5
    assert erasure_log().height == 5 and set(erasure_log().get_column("reason")) == {
        "retention policy: 2 years inactive"}
    assert all(default_tombstones(ens).hits(gone.get_column("email").to_list()))


def test_erasure_is_refused_without_a_reason(folder: Path) -> None:
    with pytest.raises(ValidationError, match="reason"):
        erase_people(["a@example.org"], ens=None, encharge=None, reason=" ")


def test_request_report_counts_overdue(folder: Path) -> None:
    frame = load_requests(io.BytesIO(b"email,channel,received\na@example.org,email,2026-09-01\n"), source="fps",
                          today=dt.date(2026, 10, 1))
    report = request_report(frame.with_columns(pl.lit(None, pl.Date).alias("met")), today=dt.date(2026, 10, 1))
    assert report.select("deadline", "status", "days_left").row(0) == (dt.date(2026, 9, 22), "overdue", -9)


# -- the commands -----------------------------------------------------------------------------------


def _command(args: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENS_", "ENCHARGE_"))}
    env["ENSTOOLKIT_DATA_DIR"] = str(data)
    return subprocess.run([sys.executable, "-m", "enstoolkit.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


@pytest.mark.slow
def test_the_commands_export_suppress_and_preview(tmp_path: Path) -> None:
    with Sandbox(supporters=300, seed=0) as sb:  # the same account as the commands' sandbox
        person = _both(sb)
        data, _ = request_file(sb, exact=3, fuzzy=0, not_found=2)
    (tmp_path / "fps.csv").write_bytes(data)
    (tmp_path / "policy.toml").write_text("[inactivity]\nyears = 2\n[gift_aid]\nyears = 2\n")
    sar = _command(["sar", person["email"], "--sandbox", "--out", str(tmp_path / "out")], tmp_path / "data")
    assert sar.returncode == 0, sar.stdout + sar.stderr
    assert "ens_supporter: 1 rows" in sar.stdout and "encharge_person: 1 rows" in sar.stdout
    assert len(list((tmp_path / "out").glob("sar-*.zip"))) == 1
    preview = _command(["suppress", str(tmp_path / "fps.csv"), "--source", "fps", "--sandbox"], tmp_path / "data")
    assert preview.returncode == 2 and "nothing sent" in preview.stdout
    done = _command(["suppress", str(tmp_path / "fps.csv"), "--source", "fps", "--sandbox", "--yes"],
                    tmp_path / "data")
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["matched"] == {"exact": 3, "review": 0, "not found": 2}
    assert figures["deadlines"] == {"met": 5, "pending": 0, "overdue": 0}
    report = _command(["suppress", "--report", str(tmp_path / "report.csv")], tmp_path / "data")
    assert json.loads(report.stdout.splitlines()[0]) == {"met": 5} and \
        pl.read_csv(tmp_path / "report.csv").height == 5
    kept = _command(["retention", str(tmp_path / "policy.toml"), "--sandbox", "--preview",
                     str(tmp_path / "preview.csv")], tmp_path / "data")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    counts = json.loads(next(line for line in kept.stdout.splitlines() if line.startswith("{")))
    assert counts["erase"] > 0 and pl.read_csv(tmp_path / "preview.csv").height == counts["people"]
    unconfirmed = _command(["retention", str(tmp_path / "policy.toml"), "--sandbox", "--erase"], tmp_path / "data")
    assert unconfirmed.returncode == 2 and "nothing erased" in unconfirmed.stdout
    erased = _command(["retention", str(tmp_path / "policy.toml"), "--sandbox", "--erase", "--yes", "--by", "DPO"],
                      tmp_path / "data")
    assert erased.returncode == 0 and "'done'" in erased.stdout, erased.stdout + erased.stderr
