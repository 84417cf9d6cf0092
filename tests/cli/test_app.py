"""The behaviour of :mod:`enstoolkit.cli.app` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from enstoolkit.cli.app import app_notebook, redact, register, run_app, voila_command, voila_environment


def test_module() -> None:
    """enstoolkit.cli.app: ``enstoolkit app``: Search, Tag, Process and Consent as a web page (Voilà), for colleagues
    who do not write code.
    """
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["app", "--sandbox", "--port", "0", "--no-browser"])
    assert (args.sandbox, args.port, args.no_browser, args.ip) == (True, 0, True, "127.0.0.1")


def test_register() -> None:
    """register: Add the ``app`` command."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["app", "--sandbox", "--no-browser"])
    assert (args.port, args.exports, args.handler is run_app) == (8866, "exports", True)


def test_app_notebook() -> None:
    """app_notebook: The app's notebook (package data)."""
    assert app_notebook().name == "app.ipynb"


def test_voila_command() -> None:
    """voila_command: The Voilà command line serving ``notebook``: one notebook, this address, a token, idle kernels
    culled.
    """
    cmd = voila_command(Path("app.ipynb"), port=8866, ip="127.0.0.1")
    assert (
        cmd[1:4],
        "--Voila.auto_token=True" in cmd,
        any("token=" in c.lower() and "auto" not in c for c in cmd),
    ) == (["-m", "voila", "app.ipynb"], True, False)


def test_voila_environment() -> None:
    """voila_environment: The environment of the Voilà process: ``env`` with the access token in ``JUPYTER_TOKEN``."""
    child = voila_environment({"PATH": "/bin", "JUPYTER_TOKEN_FILE": "/tmp/t"}, "s3cr3t")
    assert (child["JUPYTER_TOKEN"], "JUPYTER_TOKEN_FILE" in child) == ("s3cr3t", False)
    assert (Path(child["JUPYTER_PATH"].split(os.pathsep)[0]) / "voila/templates/enstoolkit/conf.json").exists()


def test_redact() -> None:
    """redact: ``line`` with every secret (token, API keys) blanked out."""
    assert redact("GET /?token=abc123 (127.0.0.1)", ["abc123"]) == "GET /?token=*** (127.0.0.1)"


def test_run_app() -> None:
    """run_app: ``enstoolkit app``: serve the page until Ctrl-C or SIGTERM."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["app", "--sandbox", "--port", "0"]).handler is run_app
