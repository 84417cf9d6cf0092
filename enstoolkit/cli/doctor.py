"""``enstoolkit doctor``: a read-only check of the configured accounts, and the settings to run the audit with."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .common import CREDENTIALS, shown

__all__ = ["register", "run_doctor"]


def register(sub: Any) -> None:
    """Add the ``doctor`` command."""
    p = sub.add_parser("doctor", help="a read-only check of your accounts: what the notebooks need, and the settings",
                       description="Look at the configured ENS and Encharge accounts (read-only, at most 25 ENS "
                                   "requests) and print what the notebooks need and the parameters to use.")
    p.add_argument("--query", help="an export query saved in your ENS dashboard, to check its file's columns")
    p.add_argument("--record", type=Path, metavar="DIR",
                   help="write the shapes seen (keys and value types, never values) as JSON files into DIR")
    p.add_argument("--sandbox", action="store_true", help="check the sandbox instead of your accounts")
    p.add_argument("--supporters", type=int, default=2000, help="sandbox size (with --sandbox or no credentials)")
    p.add_argument("--variant", action="append", default=[], metavar="PRESET|NAME=VALUE",
                   help="the sandbox's account shapes, e.g. us-account (repeatable)")
    p.set_defaults(handler=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    """Run the diagnosis and print it; 0 when it ran (problems are listed), 2 when it could not."""
    from ..config.connect import connect
    from ..config.doctor import diagnose
    from ..errors import EnstoolkitError

    environ = {k: v for k, v in os.environ.items() if not (args.sandbox and k in CREDENTIALS)}
    try:
        conn = connect(supporters=args.supporters, variant=",".join(args.variant) or None, environ=environ)
        print(conn.describe(), flush=True)
        report = diagnose(conn, query=args.query)
    except EnstoolkitError as exc:
        print(f"doctor could not finish: {shown(exc)}", flush=True)
        return 2
    print(report.text(), flush=True)
    if args.record:
        written = report.record(args.record)
        print(f"\nwrote {len(written)} shape files (keys and types, no values) to {args.record}", flush=True)
    return 0
