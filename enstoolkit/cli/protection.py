"""``enstoolkit sar``, ``enstoolkit suppress`` and ``enstoolkit retention``: data protection from the command line."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from .common import CREDENTIALS, EXIT_FAILED, EXIT_OK, EXIT_PARTLY_FAILED, EXIT_REFUSED, shown

__all__ = ["register", "run_retention", "run_sar", "run_suppress"]


def _sandbox_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", action="store_true", help="use the sandbox instead of your accounts")
    p.add_argument("--supporters", type=int, default=300, help="sandbox size (with --sandbox or no credentials)")
    p.add_argument("--by", help="who is doing this (default: your user name); recorded")


def register(sub: Any) -> None:
    """Add the ``sar``, ``suppress`` and ``retention`` commands."""
    p = sub.add_parser("sar", help="subject access: everything held about one person, in one zip",
                       description="Export everything ENS, Encharge and the toolkit's own records hold about one "
                                   "address (and its case variants) into one zip: a manifest, CSV and JSON per "
                                   "source, a readable HTML page and SHA-256 digests. Card and bank fields are "
                                   "never included. The export is recorded.")
    p.add_argument("email", help="the person's email address")
    p.add_argument("--out", type=Path, help="the folder for the zip (default: 'sar' in the data folder)")
    p.add_argument("--duplicates", action="store_true",
                   help="also flag probable duplicates (reads ENS's supporter file and Encharge's list of everyone)")
    _sandbox_options(p)
    p.set_defaults(handler=run_sar)

    s = sub.add_parser("suppress", help="meet suppression requests (FPS, deceased screening, phone, post)",
                       description="Load a request file, match it to both systems, and (with --yes) suppress per "
                                   "channel in one journalled run. Never subscribes anyone. Every request is kept "
                                   "with its deadline.")
    s.add_argument("file", type=Path, nargs="?", help="the request file (CSV)")
    s.add_argument("--source", choices=("fps", "deceased", "phone", "post", "email"))
    s.add_argument("--report", type=Path, nargs="?", const=Path("-"), metavar="CSV",
                   help="print every request kept with its deadline status (met, pending with days left, overdue); "
                        "with a file name, write them there as CSV")
    s.add_argument("--encoding", default="utf-8", help="the file's encoding (e.g. cp1252)")
    s.add_argument("--channel", help="the channel of every row, when the file has no channel column")
    s.add_argument("--ens-method", default="suppress", choices=("suppress", "opt-out"))
    s.add_argument("--yes", action="store_true", help="send the suppressions (without it: a preview)")
    _sandbox_options(s)
    s.set_defaults(handler=run_suppress)

    r = sub.add_parser("retention", help="preview (and with --erase --yes, apply) a retention policy",
                       description="Evaluate a retention policy file (TOML) on real activity dates and print who "
                                   "would be erased and why; --erase --yes erases them in both systems through the "
                                   "journal, each tombstoned and logged.")
    r.add_argument("policy", type=Path, help="the policy file (TOML)")
    r.add_argument("--preview", type=Path, metavar="CSV", help="write the preview (a reason per person) here")
    r.add_argument("--erase", action="store_true", help="erase the people the policy selects")
    r.add_argument("--yes", action="store_true", help="confirm the erasure")
    _sandbox_options(r)
    r.set_defaults(handler=run_retention)


def _connect(args: argparse.Namespace) -> Any:
    from ..config.connect import connect

    environ = {k: v for k, v in os.environ.items() if not (args.sandbox and k in CREDENTIALS)}
    return connect(supporters=args.supporters, environ=environ)


def run_sar(args: argparse.Namespace) -> int:
    """Export one person's data; print the zip and its manifest's sources."""
    from ..errors import EnstoolkitError
    from ..protection.sar import subject_access

    try:
        conn = _connect(args)
        print(conn.describe(), flush=True)
        frames: dict[str, Any] = {}
        if args.duplicates:
            frames = {"supporters": conn.ens.export_supporters("All supporters"),
                      "people": conn.encharge.list_people(progress=False)}
        sar = subject_access(args.email, ens=conn.ens, encharge=conn.encharge, out=args.out, by=args.by, **frames)
    except EnstoolkitError as exc:
        print(f"sar could not finish: {shown(exc)}", flush=True)
        return EXIT_REFUSED
    print(f"wrote {sar.path}")
    print(f"requests: {json.dumps(sar.manifest['requests'])}")
    for name, source in sar.manifest["sources"].items():
        print(f"  {name}: {source['rows']} rows")
    for note in sar.manifest["notes"]:
        print(f"  note: {note}")
    return EXIT_OK


def run_suppress(args: argparse.Namespace) -> int:
    """Load, match and (with --yes) suppress; print the figures."""
    from ..errors import EnstoolkitError
    from ..protection.matching import match_requests, system_records
    from ..protection.requests import load_requests, request_report
    from ..protection.suppression import suppress

    if args.report is not None:
        report = request_report()
        print(json.dumps(dict(sorted(report.group_by("status").len().iter_rows()))))
        if str(args.report) != "-":
            report.write_csv(args.report)
            print(f"wrote {report.height} requests to {args.report}")
        else:
            for row in report.select("request_id", "source", "channel", "received", "deadline", "status",
                                     "days_left").iter_rows():
                print("  " + "  ".join("" if v is None else str(v) for v in row))
        return EXIT_OK
    if args.file is None or args.source is None:
        print("suppress needs a request FILE and --source (or --report)", flush=True)
        return EXIT_REFUSED
    try:
        conn = _connect(args)
        print(conn.describe(), flush=True)
        today = conn.today()
        requests = load_requests(args.file, source=args.source, encoding=args.encoding, channel=args.channel,
                                 today=today)
        print(f"{requests.height} requests; {requests.filter(requests['problem'].is_not_null()).height} to review")
        if not args.yes:
            records = system_records(conn.ens.export_supporters("All supporters"),
                                     conn.encharge.list_people(progress=False))
            matches = match_requests(requests.filter(requests["problem"].is_null()), records)
            print("matches:", dict(matches.group_by("band").len().sort("band").iter_rows()))
            print("nothing sent: add --yes to suppress the exact matches")
            return EXIT_REFUSED
        done = suppress(requests, ens=conn.ens, encharge=conn.encharge, ens_method=args.ens_method, today=today)
    except EnstoolkitError as exc:
        print(f"suppress could not finish: {shown(exc)}", flush=True)
        return EXIT_FAILED
    print(json.dumps(done.figures()))
    return EXIT_OK if done.figures()["deadlines"]["overdue"] == 0 else EXIT_PARTLY_FAILED


def run_retention(args: argparse.Namespace) -> int:
    """Preview a retention policy; erase with --erase --yes."""
    from ..errors import EnstoolkitError
    from ..protection.erase import erase_people
    from ..protection.retention import load_policy, retention_counts, retention_preview

    try:
        policy = load_policy(args.policy)
        conn = _connect(args)
        print(conn.describe(), flush=True)
        preview = retention_preview(policy, supporters=conn.ens.export_supporters("All supporters"),
                                    transactions=conn.ens.export_transactions("All supporters"),
                                    people=conn.encharge.list_people(progress=False), ens=conn.ens,
                                    today=conn.today())
        print(json.dumps(retention_counts(preview)))
        if args.preview:
            preview.write_csv(args.preview)
            print(f"wrote the preview to {args.preview}")
        if not args.erase:
            return EXIT_OK
        if not args.yes:
            print("nothing erased: add --yes to erase them")
            return EXIT_REFUSED
        run = erase_people(preview, ens=conn.ens, encharge=conn.encharge, by=args.by,
                           reason=f"retention policy {args.policy.name}")
    except EnstoolkitError as exc:
        print(f"retention could not finish: {shown(exc)}", flush=True)
        return EXIT_FAILED
    print(f"erasure run {run.run_id}: {run.counts()}")
    return EXIT_OK if run.status == "completed" else EXIT_PARTLY_FAILED
