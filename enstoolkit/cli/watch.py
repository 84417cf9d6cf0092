"""``enstoolkit watch``: poll Encharge every N minutes and append what changed to a file (no public URL needed)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from .common import EXIT_FAILED, EXIT_OK, may_poll_again, shown

__all__ = ["append_events", "register", "run_watch"]


def register(sub: Any) -> None:
    """Add the ``watch`` command."""
    text = "poll Encharge every N minutes and append the changes (as webhook-like events) to a CSV or Parquet file"
    p = sub.add_parser("watch", help=text, description=text + ". Uses ENCHARGE_API_KEY (and ENCHARGE_BASE_URL) when "
                       "set, else the sandbox. The first poll only records the snapshot. Ctrl-C stops it (exit 0). "
                       "With --once: 0 when the poll worked, 1 when it failed (network, 5xx, rate limit) or an "
                       "error stopped it.")
    p.add_argument("--out", type=Path, default=Path("encharge-events.csv"),
                   help="the file events are appended to: .csv or .parquet (default: encharge-events.csv)")
    p.add_argument("--snapshot", type=Path, default=None,
                   help="the people snapshot (.parquet; default: encharge-people.parquet beside --out)")
    p.add_argument("--every", type=float, default=5.0, metavar="MINUTES", help="minutes between polls (default 5)")
    p.add_argument("--once", action="store_true", help="poll once and exit")
    p.add_argument("--supporters", type=int, default=5000, help="sandbox size (with no credentials)")
    p.add_argument("--variant", action="append", default=[], metavar="PRESET|NAME=VALUE",
                   help="the sandbox's account shapes, e.g. encharge-no-status (repeatable)")
    p.set_defaults(handler=run_watch)


def append_events(events: Any, out: Path) -> int:
    """Append an events frame to ``out`` (.csv: spreadsheet-safe text, a header only when the file is new;
    .parquet: rewritten with the new rows after the old). Returns how many rows were added.

    A file written by an earlier version, without a column events have now (``personIndex``), is first
    given that column, empty on its rows (a CSV even when ``events`` is empty); a CSV whose header names
    columns events do not have is refused (:class:`~enstoolkit.errors.ValidationError`) rather than
    appended to out of line.
    """
    import csv
    import os

    import polars as pl

    from ..errors import ValidationError
    from ..records.exports import neutralise

    temporary = out.with_name(f".{out.name}.tmp")
    if out.suffix.lower() == ".parquet":
        if not events.height:
            return 0
        out.parent.mkdir(parents=True, exist_ok=True)
        frame = events
        if out.exists():
            frame = pl.concat([pl.read_parquet(out), events], how="diagonal_relaxed")
            frame = frame.select(*events.columns, *[c for c in frame.columns if c not in events.columns])
        frame.write_parquet(temporary)
        os.replace(temporary, out)
        return int(events.height)
    rows = neutralise(events)
    new = not out.exists() or out.stat().st_size == 0
    if not new:
        with out.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
        if header != rows.columns:
            unknown = [c for c in header if c not in rows.columns]
            if unknown or len(set(header)) != len(header):
                raise ValidationError("out", str(out), "a CSV of events (columns " + ", ".join(rows.columns) + ")",
                                      "its header has " + ", ".join(unknown or header))
            earlier = pl.read_csv(out, infer_schema=False)  # an earlier version's file: every cell kept as text
            earlier.with_columns(pl.lit(None, pl.String).alias(c) for c in rows.columns if c not in header).select(
                rows.columns).write_csv(temporary)
            os.replace(temporary, out)
    if not events.height:
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8", newline="") as handle:
        rows.write_csv(handle, include_header=new)
    return int(events.height)


def run_watch(args: argparse.Namespace) -> int:
    """``enstoolkit watch``: poll until Ctrl-C or SIGTERM (or once with ``--once``)."""
    import datetime as dt
    import logging
    from collections import Counter

    from ..config.connect import connect
    from ..encharge import SnapshotError, poll_events, snapshot_info
    from ..errors import APIError, TransportError, ValidationError
    from ..schemas.encharge import EVENT
    from ..schemas.frames import empty_frame

    out: Path = args.out
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise SystemExit(f"--out {out}: expected a .csv or .parquet file")
    try:
        append_events(empty_frame(EVENT), out)  # before any poll: a file that cannot take the events stops here
    except ValidationError as exc:
        raise SystemExit(f"--out {out}: {shown(exc)}") from None
    if args.every <= 0:
        raise SystemExit(f"--every {args.every}: expected a number of minutes above 0")
    snapshot: Path = args.snapshot or out.with_name("encharge-people.parquet")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    conn = connect(supporters=args.supporters, variant=",".join(args.variant) or None)
    where = "your Encharge account" if conn.encharge_real else "the enstoolkit sandbox (synthetic data)"
    print(f"enstoolkit watch on {where}: snapshot {snapshot}, events appended to {out}, "
          + ("one poll" if args.once else f"every {args.every:g} min; Ctrl-C stops"), flush=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    failed = False
    try:
        while True:
            try:
                first = snapshot_info(snapshot) is None
                events = poll_events(conn.encharge, snapshot)
                info = snapshot_info(snapshot) or {}
            except (SnapshotError, APIError, TransportError) as exc:
                if not may_poll_again(exc, "this poll failed"):  # else: tried again at the next poll
                    return EXIT_FAILED
                failed = True
            else:
                added = append_events(events, out)
                kinds = Counter(events.get_column("eventType").to_list())
                when = dt.datetime.fromtimestamp(int(info.get("takenAt", 0)) / 1000, dt.UTC)
                if first:
                    line = f"snapshot recorded ({info.get('people', 0):,} people); changes from the next poll on"
                else:
                    line = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "no changes"
                    line += f" ({added} rows appended)" if added else ""
                print(f"{when:%Y-%m-%d %H:%M:%S} UTC: {line}", flush=True)
                failed = False
            if args.once:
                return EXIT_FAILED if failed else EXIT_OK  # e.g. from cron: a failed poll is not a success
            if stop.wait(args.every * 60):
                return EXIT_OK  # stopped from outside: failed polls were printed as they happened
    except KeyboardInterrupt:
        print("watch stopped", flush=True)
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)
        conn.close()
