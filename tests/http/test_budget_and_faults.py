"""Safety: the hourly request budget, malformed requests, exports and the fault settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import polars as pl
import pytest
from openpyxl import load_workbook

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.bulk import Journal, process_pages, resume, upsert_supporters
from enstoolkit.errors import BudgetExceeded
from enstoolkit.records import export_csv, export_excel
from enstoolkit.sandbox import Faults, Sandbox
from enstoolkit.sandbox.faults import parse_faults

from ..conftest import RecordingTransport

# -- the hourly budget ---------------------------------------------------------------------------


def test_budget_is_counted_across_clients_and_restarts(sandbox: Sandbox) -> None:
    first = ENSClient(sandbox.ens_api_key, sandbox.ens_url)
    first.get_fields()
    first.get_questions()
    used = first.requests_last_hour
    assert used >= 3  # authenticate, fields, questions
    first.close()
    second = ENSClient(sandbox.ens_api_key, sandbox.ens_url)  # a restarted kernel
    assert second.requests_last_hour >= used + 1  # the DELETE that closed the first session counts too
    assert second.budget_remaining == 5000 - second.requests_last_hour
    other = ENSClient("another-key-1234", sandbox.ens_url)
    assert other.requests_last_hour == 0  # another API user has its own allowance


def test_a_job_that_cannot_finish_is_refused_before_it_starts(sandbox: Sandbox, tmp_path: Path) -> None:
    recorder = RecordingTransport()
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url, transport=recorder, hourly_limit=30)
    records = [{"Email Address": f"budget{n}@example.org"} for n in range(40)]
    with pytest.raises(BudgetExceeded) as info:
        upsert_supporters(ens, records, journal=Journal(tmp_path / "j.sqlite3"))
    assert info.value.needed == 45 and info.value.left <= 30
    assert "needs 45 ENS requests but only" in str(info.value)
    assert recorder.calls("POST", "/ens/service/supporter") == []  # nothing written


def test_a_job_stops_cleanly_at_the_limit_and_resumes(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url, hourly_limit=5000)
    rows = [{"Email Address": f"limit{n}@example.org"} for n in range(12)]
    sandbox.ens.hourly_limit = len(sandbox.ens.requests) + 2 + 6  # authenticate and fields, then 6 pages
    run = process_pages(ens, 110, rows, journal=journal)
    counts = run.counts()
    assert run.status == "stopped" and "hourly limit" in (run.note or "")
    assert counts == {"done": 6, "pending": 6}  # stopped cleanly: the refused item is pending, not lost
    assert len([p for p in sandbox.ens.processed if p["pageId"] == 110]) == counts["done"]
    sandbox.ens.reset_rate_limit()
    sandbox.ens.hourly_limit = 5000
    resumed = resume(run.run_id, ens=ens, journal=journal)
    assert resumed.counts() == {"done": 12} and resumed.status == "completed"
    assert sorted(p["body"]["supporter"]["Email Address"] for p in sandbox.ens.processed) == sorted(
        r["Email Address"] for r in rows)


def test_the_journal_reads_back_as_frames_and_csv(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url)
    run = process_pages(ens, 130, [{"Email Address": "card@example.org"}], journal=journal,
                        transaction={"donationAmt": "5.00", "paymenttype": "VISA", "ccnumber": "4222222222222220",
                                     "ccexpire": "12/2030", "ccvv": "123"})
    assert run.counts() == {"done": 1}
    runs = journal.runs()
    assert runs.item(0, "kind") == "process" and runs.item(0, "done") == 1
    path = journal.export(run.run_id, tmp_path / "run.csv")
    text = path.read_text() + journal.path.read_bytes().decode("latin-1")
    assert "4222222222222220" not in text and '"ccvv": "123"' not in text  # card data is never journalled
    assert resume(run.run_id, ens=ens, journal=journal, transaction=None).status == "completed"  # nothing to send
    card = {"donationAmt": "5.00", "paymenttype": "VISA", "ccnumber": "4222222222222220", "ccexpire": "12/2030",
            "ccvv": "123"}
    waiting = process_pages(ens, 130, [{"Email Address": "card2@example.org"}], journal=journal, transaction=card,
                            run=False)
    before = len(sandbox.ens.processed)
    with pytest.raises(Exception, match="card details"):  # something to send: the card is needed again
        resume(waiting.run_id, ens=ens, journal=journal, transaction=None)
    assert len(sandbox.ens.processed) == before


# -- malformed requests get the vendors' error shapes ----------------------------------------------


def _token(sb: Sandbox) -> str:
    return httpx.post(sb.ens_url + "/authenticate", content=sb.ens_api_key).json()["ens-auth-token"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"", b'{"supporter": 5}'])
def test_ens_malformed_writes(sandbox: Sandbox, body: bytes) -> None:
    headers = {"ens-auth-token": _token(sandbox), "Content-Type": "application/json"}
    for method, path in [("POST", "/supporter"), ("PUT", f"/supporter/{sandbox.ens.first_supporter_id()}"),
                         ("POST", "/page/100/process"), ("POST", "/exportjob")]:
        r = httpx.request(method, sandbox.ens_url + path, content=body, headers=headers)
        assert r.status_code == 400, (method, path, body, r.text)
        error = r.json()
        assert isinstance(error["message"], str) and isinstance(error["messageId"], int)


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"text"', b"", b'{"tag": ""}', b'[{"firstName": "x"}]'])
def test_encharge_malformed_writes(sandbox: Sandbox, body: bytes) -> None:
    headers = {"X-Encharge-Token": sandbox.encharge_api_key, "Content-Type": "application/json"}
    for method, path in [("POST", "/people"), ("POST", "/tags"), ("DELETE", "/tags"),
                         ("POST", "/event-subscriptions")]:
        r = httpx.request(method, sandbox.encharge_url + path, content=body, headers=headers)
        assert r.status_code == 400, (method, path, body, r.text)
        assert isinstance(r.json()["error"]["message"], str)


def test_ens_query_parameter_errors(sandbox: Sandbox) -> None:
    headers = {"ens-auth-token": _token(sandbox)}
    for params in [{"type": "bogus"}, {"type": "latestCreated", "daysBack": "x"},
                   {"type": "latestCreated", "daysBack": "99"}, {"type": "profile"}, {"type": "search"}]:
        r = httpx.get(sandbox.ens_url + "/supporter/query", params=params, headers=headers)
        assert r.status_code == 400 and set(r.json()) == {"message", "messageId"}


# -- exports ------------------------------------------------------------------------------------


def test_csv_and_excel_exports_neutralise_formulas(tmp_path: Path) -> None:
    df = pl.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+44 20 7946", "-2+3", "@SUM(A1)", "Ann"],
                       "amount": [1.0, -2.0, 3.0, 4.0, 5.0], "tags": [["a"], ["=b"], [], None, ["c"]]})
    csv_text = export_csv(df, tmp_path / "out.csv").read_text()
    assert "\n=HY" not in csv_text and "'=HYPERLINK" in csv_text and "'+44 20 7946" in csv_text
    assert "-2.0" in csv_text  # numbers stay numbers
    sheet = load_workbook(export_excel(df, tmp_path / "out.xlsx")).active
    values = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values == ["'=HYPERLINK(\"http://x\")", "'+44 20 7946", "'-2+3", "'@SUM(A1)", "Ann"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [1, -2, 3, 4, 5]


# -- fault settings ------------------------------------------------------------------------------


def test_fault_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_faults(["explode=1"])


def test_faults_per_route_and_latency_spikes(sandbox: Sandbox) -> None:
    faults = Faults(spike_rate=1.0, spike=0.05, routes=("/v1/accounts",))
    sandbox.faults.append(faults)
    enc = EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url)
    enc.get_account()
    enc.get_tags()
    enc.get_account()
    # counted at the sandbox: only the route named was subject to the faults, and each of its requests spiked
    assert faults.counts["requests"] == 2 and faults.counts["spikes"] == 2


def test_sandbox_command_takes_fault_flags() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "enstoolkit.cli", "sandbox", "--supporters", "10",
                             "--fault", "error_rate=1", "--fault-route", "/v1/accounts"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        url = lines[3].split(":", 1)[1].strip()
        key = lines[4].split(":", 1)[1].strip()
        headers = {"X-Encharge-Token": key}
        assert httpx.get(url + "/accounts/info", headers=headers).status_code in (500, 502, 503)
        assert httpx.get(url + "/tags-management", headers=headers).status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
