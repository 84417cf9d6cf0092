"""``enstoolkit doctor``: read-only, at most 25 ENS requests, the settings the notebooks need, shapes without values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.config import Connection
from enstoolkit.config.doctor import ENS_REQUEST_LIMIT, diagnose
from enstoolkit.errors import BudgetExceeded
from enstoolkit.sandbox import Sandbox


def run(variant: str, query: str | None = "All supporters") -> tuple:
    sb = Sandbox(supporters=400, seed=5, variant=variant).start()
    ens, enc = ENSClient(sb.ens_api_key, sb.ens_url), EnchargeClient(sb.encharge_api_key, sb.encharge_url)
    people_before = {k: dict(v) for k, v in sb.encharge.people.items()}
    report = diagnose(Connection(ens, enc, sb, False, False), query=query)
    return sb, report, people_before


@pytest.mark.parametrize("variant,email,postcode,style", [
    ("default", "Email Address", "Postcode", "api"),
    ("dashboard-headers,us-account", "Email", "ZIP or Postal Code", "dashboard"),
])
def test_doctor_finds_the_accounts_settings(variant: str, email: str, postcode: str, style: str) -> None:
    sb, report, people_before = run(variant)
    try:
        assert report.settings == {"QUERY_NAME": "All supporters", "OPTINS": ["Marketing Optin"],
                                   "REQUIRED_FIELDS": ["First Name", "Last Name", postcode], "EMAIL_FIELD": email}
        assert 0 < report.ens_requests <= ENS_REQUEST_LIMIT
        found = dict((section, text) for section, text, _ in report.lines)
        assert f"{style} style" in found["export header"]
        assert "Marketing Optin" in found["opt-in questions"]
        assert report.problems == []
        # read-only: nothing written in either account (export jobs aside, which change no supporter)
        assert sb.ens.processed == [] and sum(sb.ens.upserts.values()) == 0 and not sb.ens.created
        assert {k: dict(v) for k, v in sb.encharge.people.items()} == people_before
        assert f"--required {postcode!r}" in report.command()
    finally:
        sb.stop()


def test_doctor_without_a_query_says_what_to_set() -> None:
    sb, report, *_ = run("default", query=None)
    sb.stop()
    assert report.problems and report.problems[0].startswith("QUERY_NAME")
    assert report.settings["QUERY_NAME"] is None


def test_doctor_refuses_to_start_without_budget() -> None:
    with Sandbox(supporters=10) as sb:
        ens = ENSClient(sb.ens_api_key, sb.ens_url, hourly_limit=20)
        enc = EnchargeClient(sb.encharge_api_key, sb.encharge_url)
        with pytest.raises(BudgetExceeded, match="enstoolkit doctor needs 25"):
            diagnose(Connection(ens, enc, sb, False, False))


def test_recorded_shapes_hold_keys_and_types_never_values(tmp_path: Path) -> None:
    sb, report, *_ = run("default")
    try:
        written = report.record(tmp_path / "shapes")
        names = {p.name for p in written}
        assert {"ens_supporter.json", "ens_transactions.json", "ens_export_header.json",
                "encharge_people.json"} <= names
        supporter = json.loads((tmp_path / "shapes" / "ens_supporter.json").read_text())
        assert supporter["supporterId"] == "int" and supporter["Email Address"] == "str"
        text = " ".join(p.read_text() for p in written)
        for rec in list(sb.ens.records.values())[:400]:  # no email address, and no key, in any file
            assert rec.email.strip().lower() not in text.lower()
        assert sb.ens_api_key not in text and sb.encharge_api_key not in text
    finally:
        sb.stop()


@pytest.mark.slow
def test_doctor_command_on_the_sandbox(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "enstoolkit.cli", "doctor", "--sandbox", "--supporters", "300",
                           "--query", "All supporters", "--variant", "us-account", "--record", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EMAIL_FIELD = 'Email'" in done.stdout and "enstoolkit audit --query 'All supporters'" in done.stdout
    assert any(tmp_path.glob("*.json"))
