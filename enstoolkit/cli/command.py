"""The ``enstoolkit`` command's parser and entry point; each command is a module of :mod:`enstoolkit.cli`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .._version import __version__
from . import app, audit, doctor, history, listen, protection, serve, sync, watch

__all__ = ["COMMANDS", "build_parser", "main"]

#: The modules that add a subcommand, in the order ``--help`` lists them.
COMMANDS = (serve, audit, sync, doctor, app, watch, listen, history, protection)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``enstoolkit`` command."""
    parser = argparse.ArgumentParser(prog="enstoolkit", description="Engaging Networks and Encharge for analysts.")
    parser.add_argument("--version", action="version", version=f"enstoolkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    ``enstoolkit sandbox`` and ``enstoolkit demo`` serve until Ctrl-C (or SIGTERM);
    ``enstoolkit audit`` exits non-zero when a notebook fails.
    """
    args = build_parser().parse_args(argv)
    return int(args.handler(args))
