"""The behaviour of :mod:`enstoolkit.cli.serve` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import argparse

from enstoolkit.cli.serve import register, run_demo, run_sandbox


def test_module() -> None:
    """enstoolkit.cli.serve: ``enstoolkit sandbox`` and ``enstoolkit demo``: the local sandbox, and the sandbox with
    JupyterLab on the notebooks.
    """
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["demo"]).lab_port == 8888


def test_register() -> None:
    """register: Add the ``sandbox`` and ``demo`` commands."""
    from enstoolkit.cli import build_parser

    sandbox = build_parser().parse_args(["sandbox", "--supporters", "200"])
    demo = build_parser().parse_args(["demo", "--no-lab"])
    assert (sandbox.port, sandbox.handler is run_sandbox, demo.port, demo.no_lab, demo.handler is run_demo) == (
        0,
        True,
        8765,
        True,
        True,
    )


def test_run_sandbox() -> None:
    """run_sandbox: ``enstoolkit sandbox``: serve until Ctrl-C or SIGTERM."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["sandbox", "--fault", "error_rate=0.1"]).handler is run_sandbox


def test_run_demo() -> None:
    """run_demo: ``enstoolkit demo``: the sandbox, and JupyterLab on the ready-made notebooks pointed at it."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["demo", "--lab-port", "0"]).handler is run_demo
