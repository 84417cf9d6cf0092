"""The command line: the headless audit and the demo (sandbox plus JupyterLab).

Also: the behaviour of :mod:`enstoolkit.cli` (pinned here; its docstrings are prose).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from enstoolkit.cli import build_parser
from enstoolkit.sandbox import Sandbox


def test_module() -> None:
    """enstoolkit.cli: The ``enstoolkit`` command. Each command is a module here that registers its own subcommand."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["sandbox", "--port", "8765"]).port == 8765


def test_build_parser() -> None:
    """build_parser: The argument parser of the ``enstoolkit`` command."""
    assert build_parser().parse_args(["audit", "--sandbox"]).sandbox


def test_main() -> None:
    """main: Run the command line."""
    assert build_parser().parse_args(["demo"]).port == 8765  # the demo's fixed port


CLI = [sys.executable, "-m", "enstoolkit.cli"]
pytestmark = pytest.mark.slow


def test_audit_writes_reports_and_csvs(tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = subprocess.run([*CLI, "audit", "--sandbox", "--out", str(out), "--supporters", "1500", "--excel"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "supporter_audit.html").stat().st_size > 10_000
    assert (out / "optin_analysis.html").stat().st_size > 10_000
    expected = {"audit_findings.csv", "audit_summary.csv", "optin_rates.csv", "optin_monthly.csv",
                "optin_by_country.csv", "optin_by_acquisition.csv", "optin_cohorts.csv"}
    assert expected <= {p.name for p in out.glob("*.csv")}
    summary = pl.read_csv(out / "audit_summary.csv")
    findings = pl.read_csv(out / "audit_findings.csv")
    assert summary.get_column("findings").sum() == findings.height > 0
    assert "Audit findings:" in done.stdout and "opted out, subscribed in Encharge" in done.stdout
    assert "7 CSV files and 2 HTML reports" in done.stdout
    for report in ("supporter_audit.html", "optin_analysis.html"):  # built without a kernel: no code, no CDN
        html = (out / report).read_text()
        assert "Synthetic data" in html and "<svg" in html and "<script" not in html and "https://" not in html
        assert "shape: (" not in html and "In&nbsp;[" not in html
    import openpyxl

    book = openpyxl.load_workbook(out / "audit_findings.xlsx")
    checks = summary.filter(pl.col("findings") > 0).get_column("check").to_list()
    assert book.sheetnames[0] == "summary" and len(book.sheetnames) == 1 + len(checks)
    sheet = book[book.sheetnames[1]]
    assert [c.value for c in sheet[1]][:3] == ["supporterId", "email", "detail"]  # the columns to fix first
    rows = sum(book[name].max_row - 1 for name in book.sheetnames[1:])
    assert rows == findings.filter(~pl.col("detail").str.starts_with("cannot check")).height


def test_audit_refuses_a_folder_holding_other_files_and_replaces_its_own(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "budget.xlsx").write_text("not a report")
    done = subprocess.run([*CLI, "audit", "--sandbox", "--out", str(out), "--supporters", "200"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2
    assert "holds other files (budget.xlsx)" in done.stderr
    assert [p.name for p in out.iterdir()] == ["budget.xlsx"]  # untouched
    report = tmp_path / "report"
    for _ in range(2):  # a folder an earlier run wrote is replaced whole
        done = subprocess.run([*CLI, "audit", "--sandbox", "--out", str(report), "--supporters", "200"],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (report / "supporter_audit.html").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_audit_exits_non_zero_when_a_notebook_fails(tmp_path: Path) -> None:
    with Sandbox(supporters=50) as sb:
        env = {**os.environ, **sb.environment(), "ENS_API_KEY": "not-the-key-123"}
        done = subprocess.run([*CLI, "audit", "--out", str(tmp_path)], capture_output=True, text=True,
                              timeout=600, env=env)
    assert done.returncode == 1
    assert "FAILED" in done.stdout and "Invalid api key [***]" in done.stdout
    assert "not-the-key-123" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []  # no half-written report left looking complete


def test_audit_refuses_one_real_key_without_the_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from enstoolkit.cli import main

    monkeypatch.setenv("ENS_API_KEY", "a-real-looking-key-123")
    monkeypatch.delenv("ENCHARGE_API_KEY", raising=False)
    assert main(["audit", "--out", str(tmp_path / "report")]) == 2
    assert "ENCHARGE_API_KEY is not" in capsys.readouterr().err
    assert not list((tmp_path / "report").glob("*.csv"))  # nothing ran


def test_demo_starts_sandbox_and_jupyterlab_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen([*CLI, "demo", "--port", "0", "--lab-port", "0", "--supporters", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Press Ctrl-C to stop." in line or not line:
                break
        text = "".join(lines)
        lab = re.search(r"(http://127\.0\.0\.1:\d+)/lab/tree/supporter_audit\.ipynb\?token=(\S+)", text)
        ens = re.search(r"export ENS_BASE_URL=(\S+)", text)
        assert lab and ens, text
        headers = {"Authorization": f"token {lab.group(2)}"}
        assert httpx.get(f"{lab.group(1)}/api/status", headers=headers).status_code == 200
        names = {item["name"] for item in httpx.get(f"{lab.group(1)}/api/contents", headers=headers).json()["content"]}
        assert {"quickstart.ipynb", "supporter_audit.ipynb", "optin_analysis.ipynb", "actions.ipynb"} <= names
        assert httpx.get(ens.group(1).rsplit("/ens/service", 1)[0] + "/").json()["encharge"] == "/v1"
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "demo stopped" in rest
