"""The behaviour of :mod:`enstoolkit.cli.audit` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import pytest

from enstoolkit.cli.audit import (
    build_reports,
    environment,
    notebook_parameters,
    prepare,
    register,
    run_audit,
    run_notebooks,
    sandbox_process,
    shared_sandbox,
)


def test_module() -> None:
    """enstoolkit.cli.audit: ``enstoolkit audit``: the audit and the opt-in analysis as self-contained HTML reports,
    CSVs (and a workbook).
    """
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["audit", "--sandbox"]).sandbox


def test_register() -> None:
    """register: Add the ``audit`` command."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["audit", "--out", "reports", "--optin", "Marketing Optin"])
    assert (str(args.out), args.optin, args.timeout, args.handler is run_audit) == (
        "reports",
        ["Marketing Optin"],
        1800,
        True,
    )


def test_notebook_parameters() -> None:
    """notebook_parameters: The notebooks' parameters from the command line (the explicit options win over ``-p``)."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["audit", "--query", "Q", "--optin", "A", "-p", "STALE_DAYS", "365"])
    assert sorted(notebook_parameters(args).items())[:3] == [
        ("OPTINS", ["A"]),
        ("OUT_DIR", "audit-report"),
        ("QUERY_NAME", "Q"),
    ]


def test_environment() -> None:
    """environment: Set environment variables (for the kernels started meanwhile), and put the old values back after."""
    with environment({"ENSTOOLKIT_EXAMPLE": "1"}):
        assert os.environ["ENSTOOLKIT_EXAMPLE"] == "1"
    assert "ENSTOOLKIT_EXAMPLE" not in os.environ


def test_shared_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    """shared_sandbox: One sandbox for every notebook when no credentials are set: started here, handed over by
    environment.
    """
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["audit", "--supporters", "20"])
    with environment({"ENS_API_KEY": ""}), shared_sandbox(args) as sb:
        assert os.environ["ENS_BASE_URL"] == sb.ens_url
    assert re.fullmatch(r"  sandbox: 20 synthetic supporters ready in \S+ s\n", capsys.readouterr().out)


def test_sandbox_process(capsys: pytest.CaptureFixture[str]) -> None:
    """sandbox_process: The sandbox in a process of its own (``enstoolkit sandbox``) when no credentials are set, by
    environment.
    """
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["audit", "--supporters", "20"])
    with environment({"ENS_API_KEY": ""}), sandbox_process(args) as release:
        assert release is not None
        assert os.environ["ENS_BASE_URL"].startswith("http://127.0.0.1:")
    assert re.fullmatch(r"  sandbox: 20 synthetic supporters ready in \S+ s\n", capsys.readouterr().out)


@pytest.mark.slow
def test_run_notebooks(capsys: pytest.CaptureFixture[str]) -> None:
    """run_notebooks: Execute the audit notebooks into ``out`` (HTML beside the CSVs they write); returns the ones that
    failed.
    """
    import tempfile

    from enstoolkit.cli import build_parser

    out = Path(tempfile.mkdtemp())
    args = build_parser().parse_args(["audit", "--supporters", "100"])
    with environment({"ENS_API_KEY": "", "ENCHARGE_API_KEY": ""}), shared_sandbox(args):
        failed = run_notebooks(out, {"OUT_DIR": str(out)}, timeout=300)
    assert re.fullmatch(
        r"  sandbox: 100 synthetic supporters ready in \S+ s\n"
        r"  supporter_audit.ipynb: ok in \S+ s -> supporter_audit.html\n"
        r"  optin_analysis.ipynb: ok in \S+ s -> optin_analysis.html\n",
        capsys.readouterr().out,
    )
    assert (failed, (out / "audit_findings.csv").exists()) == ([], True)


def test_prepare() -> None:
    """prepare: What building the reports needs, loaded (and the chart renderer started) while the sandbox starts."""
    prepare()
    assert "great_tables" in sys.modules


def test_build_reports(capsys: pytest.CaptureFixture[str]) -> None:
    """build_reports: Pull the data once and write both reports into ``out`` (whole or not at all), in this process."""
    import tempfile

    from enstoolkit.cli import build_parser

    out = Path(tempfile.mkdtemp()) / "report"
    args = build_parser().parse_args(["audit", "--supporters", "200", "--excel"])
    with environment({"ENS_API_KEY": "", "ENCHARGE_API_KEY": ""}), shared_sandbox(args):
        build_reports(out, args, notebook_parameters(args))
    assert re.fullmatch(
        r"  sandbox: 200 synthetic supporters ready in \S+ s\n"
        r"  data pulled and analysed in \S+ s; .* files: reports written in \S+ s\n",
        capsys.readouterr().out,
    )
    assert (out / "supporter_audit.html").exists()
    assert (out / "audit_findings.xlsx").exists()


def test_run_audit() -> None:
    """run_audit: ``enstoolkit audit``: both reports, the CSVs (and a workbook) into ``--out``; a summary on screen."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["audit", "--sandbox", "--supporters", "500"]).handler is run_audit
