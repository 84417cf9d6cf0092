"""Chaos: bulk writes under server errors, dropped connections, timeouts, a token expiry and a killed
process. Every figure is counted at the sandbox (what the emulated account *acted on*) and compared
with the intent, so each one can fail: nothing may be lost, and nothing that is not idempotent done twice.

The figures are printed at the end of the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from conftest import CHAOS_FIGURES
from enstoolkit import EnchargeClient, ENSClient, RetryPolicy
from enstoolkit.bulk import BulkRun, Journal, process_pages, review, tag_people, upsert_supporters
from enstoolkit.sandbox import Faults, Sandbox

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CHAOS = dict(error_rate=0.10, drop_before_rate=0.02, drop_after_rate=0.03)
PETITION, PETITION_CAMPAIGN = 110, 10110
APPEAL, APPEAL_CAMPAIGN = 130, 10130
CARD = {"donationAmt": "12.00", "paymenttype": "VISA", "ccnumber": "4222222222222220", "ccexpire": "12/2030",
        "ccvv": "123"}
FAST = RetryPolicy(backoff=0.005)


def figure(line: str) -> None:
    CHAOS_FIGURES.append(line)
    print(line)


def advancer(sb: Sandbox) -> Callable[[float], None]:
    """Wait for a review window by moving the sandbox's clock, not by sleeping."""
    return lambda seconds: sb.advance(seconds=seconds + 1)


def settle(run: BulkRun, sb: Sandbox, *, transaction: dict | None = None) -> BulkRun:
    return run.complete(transaction=transaction, sleep=advancer(sb))


def per_supporter(sb: Sandbox, emails: list[str], campaign: int, before: dict[str, int] | None = None) -> Counter:
    """New transactions on ``campaign`` per email, counted in the sandbox's account."""
    out: Counter = Counter()
    for email in emails:
        rec = sb.ens.find_email(email)
        total = sum(t["campaignId"] == campaign for t in sb.ens.transactions(rec)) if rec else 0
        out[email] = total - (before or {}).get(email, 0)
    return out


def done_or_cannot_tell(run: BulkRun, total: int) -> int:
    """Every item done, or unknown because a transaction lies inside the margin of its send moment (said so:
    "cannot tell"; the sandbox counts decide lost and twice); returns how many are unknown."""
    counts = run.counts()
    assert set(counts) <= {"done", "unknown"} and sum(counts.values()) == total, counts
    unknown = run.items().filter(pl.col("state") == "unknown")
    assert unknown["error"].str.contains("cannot tell").all(), unknown["error"].to_list()
    return counts.get("unknown", 0)


def outcome_line(name: str, run: BulkRun, made: Counter, intended: int, extra: str = "") -> tuple[int, int]:
    lost = sum(1 for n in made.values() if n == 0)
    duplicated = sum(1 for n in made.values() if n > 1)
    found = int(run.items()["result"].str.contains('"review"').fill_null(False).sum())
    figure(f"{name}: attempted {intended:,}; new transactions per supporter: "
           f"{dict(sorted(Counter(made.values()).items()))}; lost = {lost}, duplicated = {duplicated}; "
           f"journal: {run.counts()}, settled by a transaction found in ENS's window {found}{extra}")
    return lost, duplicated


# -- idempotent writes: counted per request the sandbox acted on -------------------------------------


def test_tag_2000_people_under_chaos(tmp_path: Path) -> None:
    with Sandbox(supporters=2600, seed=21, faults=Faults(**CHAOS, seed=1)) as sb:
        enc = EnchargeClient(sb.encharge_api_key, sb.encharge_url, retry=FAST)
        people = [p for p in sb.encharge.people.values() if not p["archived"]][:2000]
        assert len(people) == 2000
        intended = {p["id"] for p in people}
        run = tag_people(enc, [p["email"] for p in people], ["chaos-2026"], journal=Journal(tmp_path / "j.sqlite3"),
                         progress=False)
        run.complete()
        acted = Counter({pid: n for (pid, tag, method), n in sb.encharge.tag_requests.items()
                         if tag == "chaos-2026" and method == "POST"})
        never = intended - set(acted)
        unintended = set(acted) - intended
        repeats = sum(acted.values()) - len(acted)
        tagged = sum("chaos-2026" in sb.encharge.people[pid]["tags"] for pid in intended)
        faults = sb.faults[0].counts
        figure(f"tag 2,000 people: intended 2,000 tag requests; acted on at the sandbox {sum(acted.values()):,} for "
               f"{len(acted):,} people: never {len(never)}, unintended {len(unintended)}, repeats {repeats} (each "
               f"after a lost answer; drops after acting injected {faults['drop_after']}); tagged {tagged:,}; "
               f"journal {run.counts()}; faults {dict(faults)}")
        assert run.counts() == {"done": 2000} and run.status == "completed"
        assert not never and not unintended and tagged == 2000
        assert 0 < repeats <= faults["drop_after"]  # a repeat only where an answer was lost after acting
        assert faults["error"] > 100 and faults["drop_after"] > 20


def test_upsert_1000_supporters_under_chaos(tmp_path: Path) -> None:
    with Sandbox(supporters=300, seed=23, faults=Faults(**CHAOS, seed=4)) as sb:
        ens = ENSClient(sb.ens_api_key, sb.ens_url, retry=FAST)
        records = [{"Email Address": f"chaos.upsert{n}@example.org", "First Name": f"Up{n}", "City": "Leeds"}
                   for n in range(1000)]
        before = len(sb.ens.records)
        fired: list[int] = []

        def expire(done: int, total: int) -> None:
            if not fired and done >= total // 2:
                fired.append(sb.ens.expire_tokens())

        run = upsert_supporters(ens, records, journal=Journal(tmp_path / "j.sqlite3"), on_progress=expire,
                                progress=False)
        run.complete()
        emails = [r["Email Address"] for r in records]
        created = Counter({e: sb.ens.created[e] for e in emails})
        acted = sum(sb.ens.upserts[e] for e in emails)
        lost = sum(1 for n in created.values() if n == 0)
        twice = sum(1 for n in created.values() if n > 1)
        figure(f"upsert 1,000 supporters: intended 1,000; POST /supporter acted on {acted:,} times "
               f"(repeats {acted - 1000} after lost answers, drops after acting injected "
               f"{sb.faults[0].counts['drop_after']}); created once {sum(1 for n in created.values() if n == 1):,}, "
               f"never {lost}, twice or more {twice}; token expired midway {fired}")
        assert run.counts() == {"done": 1000} and fired
        assert lost == 0 and twice == 0 and len(sb.ens.records) == before + 1000
        assert acted - 1000 <= sb.faults[0].counts["drop_after"]
        assert all(sb.ens.find_email(e).fields["First Name"] == r["First Name"] for e, r in zip(emails, records,
                                                                                                 strict=True))


# -- page submissions: counted per transaction the sandbox created -----------------------------------


def test_process_500_submissions_under_chaos_with_token_expiry(tmp_path: Path) -> None:
    faults = [Faults(**CHAOS, seed=2), Faults(timeout_rate=0.006, hang=2.0, seed=3, methods=("POST",),
                                              routes=("/ens/service/page/",))]
    with Sandbox(supporters=300, seed=22, faults=faults) as sb:
        ens = ENSClient(sb.ens_api_key, sb.ens_url, timeout=1.5, retry=FAST)
        emails = [f"chaos.signer{n}@example.org" for n in range(500)]
        rows = pl.DataFrame({"Email Address": emails, "First Name": [f"Signer{n}" for n in range(500)]})
        fired: list[int] = []

        def expire(done: int, total: int) -> None:
            if not fired and done >= total // 2:
                fired.append(sb.ens.expire_tokens())

        run = process_pages(ens, PETITION, rows, questions={"Marketing Optin": "Y"},
                            journal=Journal(tmp_path / "j.sqlite3"), on_progress=expire, progress=False)
        unknown = run.counts().get("unknown", 0)
        settle(run, sb)
        made = per_supporter(sb, emails, PETITION_CAMPAIGN)
        lost, duplicated = outcome_line("process 500 page submissions", run, made, 500,
                                        f"; unknown after the first pass {unknown}; token expired midway {fired}; "
                                        f"faults {dict(sb.faults[0].counts)}, timeouts "
                                        f"{sb.faults[1].counts.get('timeout', 0)}")
        assert done_or_cannot_tell(run, 500) <= sb.faults[0].counts["drop_after"] + 10 and fired
        assert lost == 0 and duplicated == 0 and unknown > 0
        assert all(sb.ens.find_email(e).questions[4512][0] == "Y" for e in emails)


def _repeat_donors(sb: Sandbox, campaign: int, count: int) -> list[str]:
    """Supporters who already have a transaction on ``campaign`` (valid, unique emails)."""
    found: list[str] = []
    seen: set[str] = set()
    for rec in sb.ens.records.values():
        email = rec.email.strip().lower()
        if email in seen or "@" not in email or " " in email or sb.ens.find_email(email) is not rec:
            continue
        seen.add(email)
        if any(t["campaignId"] == campaign for t in sb.ens.transactions(rec)):
            found.append(email)
        if len(found) == count:
            break
    return found


REPEAT_FAULTS = {
    "drops before acting": dict(drop_before_rate=0.3),
    "drops after acting": dict(drop_after_rate=0.3),
    "timeouts": dict(timeout_rate=0.3, hang=1.5),
}


@pytest.mark.parametrize("page,campaign,who", [(APPEAL, APPEAL_CAMPAIGN, "donors"),
                                               (PETITION, PETITION_CAMPAIGN, "signers")])
@pytest.mark.parametrize("kind", list(REPEAT_FAULTS))
def test_repeat_supporters_lose_nothing_and_double_nothing(tmp_path: Path, kind: str, page: int, campaign: int,
                                                           who: str) -> None:
    faults = Faults(**REPEAT_FAULTS[kind], seed=11, methods=("POST",), routes=(f"/ens/service/page/{page}",))
    with Sandbox(supporters=3000, seed=31, faults=faults) as sb:
        emails = _repeat_donors(sb, campaign, 40)
        assert len(emails) == 40
        before = {e: c for e, c in per_supporter(sb, emails, campaign).items()}  # earlier gifts or signatures
        assert all(n >= 1 for n in before.values())
        ens = ENSClient(sb.ens_api_key, sb.ens_url, timeout=1.0, retry=FAST)
        card = CARD if page == APPEAL else None
        run = process_pages(ens, page, [{"Email Address": e} for e in emails], transaction=card,
                            journal=Journal(tmp_path / "j.sqlite3"), progress=False)
        unknown = run.counts().get("unknown", 0)
        settle(run, sb, transaction=card)
        made = per_supporter(sb, emails, campaign, before)
        lost, duplicated = outcome_line(f"repeat {who}, {kind}", run, made, 40,
                                        f"; unknown after the first pass {unknown}; faults {dict(faults.counts)}")
        assert unknown > 0, "the faults must really have hidden some outcomes"
        assert lost == 0 and duplicated == 0 and done_or_cannot_tell(run, 40) < 40


CHILD = """
import os, sys, json
from enstoolkit import ENSClient, RetryPolicy
from enstoolkit.bulk import Journal, process_pages
ens = ENSClient(os.environ["ENS_API_KEY"], os.environ["ENS_BASE_URL"], retry=RetryPolicy(backoff=0.005))
page, emails, card = json.loads(sys.argv[2])
process_pages(ens, page, [{"Email Address": e} for e in emails], transaction=card, journal=Journal(sys.argv[1]),
              progress=False)
"""


def _kill_midway(sb: Sandbox, path: Path, page: int, emails: list[str], card: dict | None, done_at: int
                 ) -> tuple[Journal, str, dict[str, int], int]:
    import json

    env = {**os.environ, **sb.environment()}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), json.dumps([page, emails, card])], env=env)
    deadline = time.monotonic() + 120
    journal = None
    while time.monotonic() < deadline:
        if path.exists():
            journal = Journal(path)
            runs = journal.runs()
            if runs.height and runs.item(0, "done") and runs.item(0, "done") >= done_at:
                break
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert journal is not None
    run_id = journal.runs().item(0, "run_id")
    return journal, run_id, journal.counts(run_id), child.returncode


def test_a_run_killed_midway_resumes_without_doing_anything_twice(tmp_path: Path) -> None:
    with Sandbox(supporters=200, seed=24, latency=0.004, faults=Faults(**CHAOS, seed=5)) as sb:
        emails = [f"killed.signer{n}@example.org" for n in range(500)]
        journal, run_id, at_kill, code = _kill_midway(sb, tmp_path / "j.sqlite3", PETITION, emails, None, 200)
        ens = ENSClient(sb.ens_api_key, sb.ens_url, retry=FAST)
        run = settle(BulkRun(journal, run_id, ens=ens), sb)
        made = per_supporter(sb, emails, PETITION_CAMPAIGN)
        lost, duplicated = outcome_line("process 500, killed with SIGKILL midway", run, made, 500,
                                        f"; at the kill: {at_kill}")
        assert code == -signal.SIGKILL and 0 < at_kill.get("done", 0) < 500
        assert done_or_cannot_tell(run, 500) < 500 and lost == 0 and duplicated == 0


def test_repeat_donors_killed_midway(tmp_path: Path) -> None:
    faults = Faults(drop_after_rate=0.2, drop_before_rate=0.1, seed=12, methods=("POST",),
                    routes=(f"/ens/service/page/{APPEAL}",))
    with Sandbox(supporters=3000, seed=32, latency=0.02, faults=faults) as sb:
        emails = _repeat_donors(sb, APPEAL_CAMPAIGN, 40)
        before = dict(per_supporter(sb, emails, APPEAL_CAMPAIGN))
        journal, run_id, at_kill, code = _kill_midway(sb, tmp_path / "j.sqlite3", APPEAL, emails, CARD, 15)
        ens = ENSClient(sb.ens_api_key, sb.ens_url, retry=FAST)
        run = settle(BulkRun(journal, run_id, ens=ens), sb, transaction=CARD)
        made = per_supporter(sb, emails, APPEAL_CAMPAIGN, before)
        lost, duplicated = outcome_line("repeat donors, killed with SIGKILL midway", run, made, 40,
                                        f"; at the kill: {at_kill}")
        assert code == -signal.SIGKILL and 0 < at_kill.get("done", 0) < 40
        assert done_or_cannot_tell(run, 40) < 40 and lost == 0 and duplicated == 0


# -- faults on one API only ------------------------------------------------------------------------------


@pytest.mark.parametrize("faulty", ["ENS", "Encharge"])
def test_faults_on_one_api_leave_the_other_untouched(tmp_path: Path, faulty: str) -> None:
    route = "/ens/service" if faulty == "ENS" else "/v1"
    faults = Faults(error_rate=0.15, drop_before_rate=0.05, drop_after_rate=0.05, seed=7, routes=(route,))
    with Sandbox(supporters=600, seed=33, faults=faults) as sb:
        ens = ENSClient(sb.ens_api_key, sb.ens_url, retry=FAST)
        enc = EnchargeClient(sb.encharge_api_key, sb.encharge_url, retry=FAST)
        people = [p for p in sb.encharge.people.values() if not p["archived"]][:150]
        signers = [f"one.api{n}@example.org" for n in range(150)]
        journal = Journal(tmp_path / "j.sqlite3")
        tagging = tag_people(enc, [p["email"] for p in people], "one-api", journal=journal, progress=False)
        signing = process_pages(ens, PETITION, [{"Email Address": e} for e in signers], journal=journal,
                                progress=False)
        settle(tagging, sb)
        settle(signing, sb)
        acted = Counter({pid: n for (pid, tag, method), n in sb.encharge.tag_requests.items() if tag == "one-api"})
        made = per_supporter(sb, signers, PETITION_CAMPAIGN)
        submissions = Counter(p["body"]["supporter"]["Email Address"] for p in sb.ens.processed
                              if p["pageId"] == PETITION)
        figure(f"faults on {faulty} only: Encharge tag requests acted on {sum(acted.values())} for 150 people "
               f"(repeats {sum(acted.values()) - len(acted)}); ENS petition submissions acted on "
               f"{sum(submissions.values())} for 150 signers, new signatures per signer "
               f"{dict(Counter(made.values()))}; faults {dict(faults.counts)}")
        assert set(acted) == {p["id"] for p in people}
        assert all(n == 1 for n in made.values()) and all(submissions[e] == 1 for e in signers)
        assert tagging.counts() == {"done": 150} and done_or_cannot_tell(signing, 150) < 150
        if faulty == "ENS":
            assert sum(acted.values()) == 150  # the untouched API saw exactly the intent
        else:
            assert signing.items()["attempts"].max() == 1  # no ENS item was sent twice
        assert faults.counts["error"] > 10


def test_review_waits_for_the_window_and_never_guesses(tmp_path: Path) -> None:
    """A lost answer with no transaction yet stays unknown until ENS's window closes; then it is resent."""
    faults = Faults(drop_before_rate=1.0, methods=("POST",), routes=(f"/ens/service/page/{APPEAL}",), seed=1)
    with Sandbox(supporters=3000, seed=31, faults=[faults]) as sb:
        emails = _repeat_donors(sb, APPEAL_CAMPAIGN, 2)
        before = dict(per_supporter(sb, emails, APPEAL_CAMPAIGN))
        ens = ENSClient(sb.ens_api_key, sb.ens_url, timeout=1.0, retry=FAST)
        run = process_pages(ens, APPEAL, [{"Email Address": e} for e in emails], transaction=CARD,
                            journal=Journal(tmp_path / "j.sqlite3"), progress=False)
        assert run.counts() == {"unknown": 2}
        reviewed = review(run)  # the window is still open: nothing is decided
        assert run.counts() == {"unknown": 2} and reviewed["error"].str.contains("review after").all()
        sb.advance(minutes=2)
        review(run)
        assert run.counts() == {"pending": 2}  # no transaction in the window: it did not arrive
        sb.faults.clear()
        run.run(transaction=CARD)
        assert run.counts() == {"done": 2}
        assert dict(per_supporter(sb, emails, APPEAL_CAMPAIGN, before)) == dict.fromkeys(emails, 1)
