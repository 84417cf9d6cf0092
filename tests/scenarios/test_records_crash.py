"""The records under a killed process and under two processes at once. Figures are counted in the files and
at the sandbox (what it acted on), so each can fail; they are printed at the end of the run."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest

from conftest import CHAOS_FIGURES
from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.bulk import Journal, process_pages
from enstoolkit.records import ErasureLog, export_csv
from enstoolkit.sandbox import Sandbox
from enstoolkit.sync import consent_plan
from enstoolkit.sync.changelog import ChangeLog

ROOT = Path(__file__).parents[2]
BATCH = 5  # people per erasure write: one transaction, all of them or none

WRITER = """
import datetime as dt, sys
from enstoolkit.records import ErasureLog
from enstoolkit.sync.changelog import ChangeLog
erasures, changes, start = ErasureLog(sys.argv[1]), ChangeLog(sys.argv[2]), int(sys.argv[3])
when = dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC)
for n in range(start, start + 100_000):
    people = [{"email": f"gone{n}.{k}@example.org", "id": f"p{n}.{k}", "userId": f"u{n}.{k}"} for k in range(5)]
    if n % 2:
        erasures.begin(people, when, account_id=7)
        erasures.confirm([p["id"] for p in people], account_id=7)
    else:
        erasures.record(people, when, account_id=7)
    print("E", n, flush=True)
    changes.record("plan-burst", {"row": n, "email": f"c{n}@example.org", "personId": f"p{n}", "system": "Encharge",
                                  "action": "unsubscribe", "reason": "ENS Marketing Optin: N; Encharge subscribed",
                                  "evidence": {"ensOptin": "N"}}, by="burst", when=when)
    print("C", n, flush=True)
"""


def figure(line: str) -> None:
    CHAOS_FIGURES.append(line)
    print(line)


@pytest.mark.slow
def test_sigkill_during_a_burst_of_erasure_and_consent_change_writes_loses_no_completed_record(
        tmp_path: Path) -> None:
    erasures, changes = tmp_path / "erasures.sqlite3", tmp_path / "consent-changes.sqlite3"
    ErasureLog(erasures), ChangeLog(changes)
    rng = random.Random(21)
    acknowledged: dict[str, set[int]] = {"E": set(), "C": set()}
    start, kills = 0, 0
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(erasures), str(changes), str(start)],
                                 stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert child.stdout is not None
        wanted = rng.randint(20, 120)
        for seen, line in enumerate(child.stdout, start=1):  # each line: a write the toolkit returned from
            kind, n = line.split()
            acknowledged[kind].add(int(n))
            if seen >= wanted:
                break
        time.sleep(rng.random() * 0.01)  # in the middle of the next write, somewhere
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        kills += 1
        # acknowledged between the last read and the kill: whole lines only (with unbuffered output a print's
        # pieces are separate writes, and the kill may fall between them: that write was not acknowledged)
        for line in child.stdout.read().split("\n")[:-1]:
            if line.strip():
                kind, n = line.split()
                acknowledged[kind].add(int(n))
        start = max(acknowledged["E"] | acknowledged["C"]) + 10
    with closing(sqlite3.connect(erasures)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT email, person_id, user_id, erased_at, account_id, state FROM erasures").fetchall()
    with closing(sqlite3.connect(changes)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        logged = db.execute("SELECT row, changed_at, by, email, person_id, system, action, reason, evidence "
                            "FROM changes").fetchall()
    per_write = Counter(int(r[1][1:].split(".")[0]) for r in rows)
    half_rows = sum(1 for r in rows if any(v is None for v in r)) + sum(1 for r in logged if any(v is None for v in r))
    half_writes = sum(1 for n in per_write.values() if n != BATCH)
    confirmed = {int(r[1][1:].split(".")[0]) for r in rows if r[5] == "confirmed"}
    lost_erasures = acknowledged["E"] - confirmed
    lost_changes = acknowledged["C"] - {int(r[0]) for r in logged}
    readable = ErasureLog(erasures).read(account_id=7).height
    figure(f"SIGKILL during erasure and consent-change writes, {kills} kills: erasure writes acknowledged "
           f"{len(acknowledged['E'])} ({len(acknowledged['E']) * BATCH} people), in the record {len(per_write)} "
           f"({len(rows)} rows, {readable} confirmed readable), lost {len(lost_erasures)}, half-written "
           f"{half_writes}; consent changes acknowledged {len(acknowledged['C'])}, in the log {len(logged)}, "
           f"lost {len(lost_changes)}; rows with a missing value {half_rows}; integrity ok")
    assert kills == 6 and len(acknowledged["E"]) > 100
    assert not lost_erasures and not lost_changes and half_writes == 0 and half_rows == 0


RESUMER = """
import os, sys
from enstoolkit import ENSClient
from enstoolkit.bulk import Journal, RunInProgress, resume
ens = ENSClient(os.environ["ENS_API_KEY"], os.environ["ENS_BASE_URL"])
try:
    run = resume(sys.argv[2], ens=ens, journal=Journal(sys.argv[1]), progress=False)
    print("PROCEEDED", run.counts())
except RunInProgress as exc:
    print("REFUSED", exc)
"""

APPLIER = """
import os, sys
from enstoolkit import ENSClient, EnchargeClient
from enstoolkit.bulk import Journal, RunInProgress
from enstoolkit.sync import apply_plan, read_plan
ens = ENSClient(os.environ["ENS_API_KEY"], os.environ["ENS_BASE_URL"])
enc = EnchargeClient(os.environ["ENCHARGE_API_KEY"], os.environ["ENCHARGE_BASE_URL"])
try:
    run = apply_plan(read_plan(sys.argv[2]), ens=ens, encharge=enc, journal=Journal(sys.argv[1]), by="tester",
                     progress=False)
    print("PROCEEDED", run.counts())
except RunInProgress as exc:
    print("REFUSED", exc)
"""


def _two_at_once(sb: Sandbox, script: str, *args: str) -> list[str]:
    env = {**os.environ, **sb.environment()}
    children = [subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT) for _ in range(2)]
    outs = [child.communicate(timeout=300) for child in children]
    assert all(child.returncode == 0 for child in children), [err for _, err in outs]
    return sorted(out.strip().splitlines()[-1] for out, _ in outs)


@pytest.mark.slow
def test_two_processes_resuming_the_same_run_at_once_one_proceeds_nothing_twice(tmp_path: Path) -> None:
    with Sandbox(supporters=50, seed=8, latency=0.02) as sb:
        ens = ENSClient(sb.ens_api_key, sb.ens_url)
        emails = [f"together{n}@example.org" for n in range(80)]
        journal = Journal(tmp_path / "j.sqlite3")
        run = process_pages(ens, 110, [{"Email Address": e} for e in emails], journal=journal, run=False)
        outcomes = _two_at_once(sb, RESUMER, str(journal.path), run.run_id)
        made = Counter({e: sum(t["campaignId"] == 10110 for t in sb.ens.transactions(sb.ens.find_email(e)))
                        if sb.ens.find_email(e) else 0 for e in emails})
        submissions = Counter(p["body"]["supporter"]["Email Address"] for p in sb.ens.processed)
        figure(f"two processes resuming one run of 80 page submissions at once: one proceeded, the other was "
               f"refused (\"{outcomes[1][8:]}\"); at the sandbox: submissions acted on "
               f"{sum(submissions.values())}, per supporter {dict(Counter(made.values()))}, twice "
               f"{sum(n > 1 for n in submissions.values())}")
        assert outcomes[0].startswith("PROCEEDED") and outcomes[1].startswith("REFUSED")
        assert "is being worked on by process" in outcomes[1] and "then resume" in outcomes[1]
        assert all(n == 1 for n in made.values()) and sum(submissions.values()) == 80
        assert journal.counts(run.run_id) == {"done": 80}


@pytest.mark.slow
def test_two_processes_applying_the_same_consent_plan_at_once_one_proceeds_nothing_twice(tmp_path: Path) -> None:
    with Sandbox(supporters=400, seed=5, latency=0.01) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        plan = consent_plan(ens.export_supporters("All supporters"), enc.list_people())
        acts = plan.filter(pl.col("action").is_in(["unsubscribe", "opt out"]))
        assert acts.height > 20
        saved = export_csv(plan, tmp_path / "plan.csv")
        before_unsub, before_upserts = Counter(sb.encharge.unsubscribes), Counter(sb.ens.upserts)
        journal = tmp_path / "journal.sqlite3"
        outcomes = _two_at_once(sb, APPLIER, str(journal), str(saved))
        unsub = Counter(sb.encharge.unsubscribes) - before_unsub
        upserts = Counter(sb.ens.upserts) - before_upserts
        changes = ChangeLog(tmp_path / "consent-changes.sqlite3").read()
        wanted = Counter(plan.filter(pl.col("action") == "unsubscribe").get_column("personId").to_list())
        figure(f"two processes applying one consent plan ({acts.height} changes) at once: one proceeded, the other "
               f"was refused (\"{outcomes[1][8:]}\"); at the sandbox: unsubscribes {sum(unsub.values())} for "
               f"{len(wanted)} planned "
               f"(twice {sum(n > 1 for n in unsub.values())}), ENS opt-outs {sum(upserts.values())} "
               f"(twice {sum(n > 1 for n in upserts.values())}); change log rows {changes.height}")
        assert outcomes[0].startswith("PROCEEDED") and outcomes[1].startswith("REFUSED")
        assert "is being worked on by process" in outcomes[1]
        assert set(unsub) == set(wanted) and all(n == 1 for n in unsub.values())
        assert all(n == 1 for n in upserts.values()) and changes.height == acts.height
        assert json.loads(json.dumps(changes.get_column("plan_id").unique().to_list())) == \
            [changes.item(0, "plan_id")]
