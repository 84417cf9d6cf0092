"""``enstoolkit sync``: the consent plan (counts per action, and the plan as CSV); ``--apply`` carries it out
after asking; ``--watch`` keeps consent in step, round after round.

Nothing is sent without ``--apply`` (or ``--watch``), and neither starts without a "yes": typed at
the terminal, or ``--yes``. When the input is not a terminal and ``--yes`` is not given, they refuse.
Only unsubscribes (Encharge) and opt-outs (ENS) are ever sent (see :mod:`enstoolkit.sync`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .common import EXIT_CODES_HELP, EXIT_FAILED, EXIT_OK, EXIT_PARTLY_FAILED, EXIT_REFUSED, may_poll_again, shown

if TYPE_CHECKING:
    from ..config.connect import Connection

__all__ = ["confirm", "register", "run_sync"]


def register(sub: Any) -> None:
    """Add the ``sync`` command."""
    text = "bring consent in ENS and Encharge into agreement: a plan (CSV), then --apply, or --watch"
    p = sub.add_parser("sync", help=text, description=text + ". Only unsubscribes in Encharge and opt-outs in ENS "
                       "are ever sent, never a subscribe or an opt-in. Uses ENS_API_KEY and ENCHARGE_API_KEY when set, "
                       "else the sandbox. " + EXIT_CODES_HELP + " A --watch without --rounds exits 0 when stopped "
                       "(Ctrl-C or SIGTERM); with --rounds, 1 if a round failed, 3 if rows of a round did.")
    p.add_argument("--sandbox", action="store_true", help="use the sandbox even when credentials are set")
    p.add_argument("--supporters", type=int, default=5000, help="sandbox size (with --sandbox or no credentials)")
    p.add_argument("--variant", action="append", default=[], metavar="PRESET|NAME=VALUE",
                   help="the sandbox's account shapes, e.g. encharge-no-status (repeatable)")
    p.add_argument("--query", help="the export query saved in your ENS dashboard (on the sandbox: All supporters)")
    p.add_argument("--optin", action="append", metavar="QUESTION",
                   help="an opt-in question governing the email Encharge sends (repeatable; on the sandbox: "
                        "Marketing Optin)")
    p.add_argument("--out", type=Path, default=Path("consent-plan.csv"), help="the plan CSV (default consent-plan.csv)")
    p.add_argument("--apply", action="store_true", help="carry out the plan's unsubscribes and opt-outs (asks first)")
    p.add_argument("--yes", action="store_true", help="do not ask (needed when the input is not a terminal)")
    p.add_argument("--by", default=None, help="who is making the changes, for the change log (default: the OS user)")
    p.add_argument("--journal", type=Path, default=None,
                   help="the bulk journal (default: the enstoolkit data folder's); the change log is beside it")
    p.add_argument("--changes", type=Path, default=None,
                   help="the CSV of the changes made (default: consent-changes.csv beside --out)")
    p.add_argument("--unsubscribes", type=Path, default=None, metavar="EVENTS_FILE",
                   help="date Encharge unsubscribes from recorded events (an `enstoolkit watch --out` file, or a "
                        "listener's .sqlite3), so an older ENS opt-in can be opted out")
    p.add_argument("--watch", action="store_true", help="keep consent in step: a round every --interval minutes")
    p.add_argument("--listen", action="store_true", help="with --watch: read Encharge's webhooks, not polls")
    p.add_argument("--interval", type=float, default=5.0, metavar="MINUTES", help="minutes between rounds (default 5)")
    p.add_argument("--rounds", type=int, default=None, help="stop after this many rounds (default: until Ctrl-C)")
    p.add_argument("--snapshot", type=Path, default=None,
                   help="the Encharge people snapshot the polls compare with (default: consent-people.parquet "
                        "beside --out)")
    p.add_argument("--events", type=Path, default=None, help="with --listen: the SQLite file deliveries are kept in")
    p.add_argument("--port", type=int, default=0, help="with --listen: the listener's port (default: a free one)")
    p.add_argument("--public-url", default=None, metavar="URL",
                   help="with --listen: the address Encharge calls (a tunnel or proxy to the listener)")
    p.set_defaults(handler=run_sync)


def confirm(question: str, *, yes: bool, stdin: TextIO | None = None, out: TextIO | None = None) -> bool:
    """Whether to go ahead: ``yes``, or "y" typed at a terminal; never when the input is not a terminal."""
    if yes:
        return True
    source = stdin or sys.stdin
    stream = out or sys.stdout
    if not source.isatty():
        print("refusing to go ahead without --yes: the input is not a terminal", file=stream, flush=True)
        return False
    print(f"{question} [y/N] ", end="", file=stream, flush=True)
    return source.readline().strip().lower() in ("y", "yes")


def _connect(args: argparse.Namespace) -> Connection:
    from ..config.connect import connect

    variant = ",".join(args.variant) or None
    return connect(supporters=args.supporters, variant=variant, environ={} if args.sandbox else None)


def _counts(plan: Any) -> None:
    from ..sync import plan_summary

    print(f"Plan: {plan.height:,} rows", flush=True)
    for line in plan_summary(plan):
        print(f"  {line}", flush=True)


def _failures(results: Any, limit: int = 5) -> tuple[int, list[str]]:
    """How many rows of a consent run's results were neither done nor skipped, and lines about the first few."""
    import polars as pl

    bad = results.filter(~pl.col("status").is_in(["done", "skipped"]))
    lines = []
    for row in bad.head(limit).iter_rows(named=True):
        who = row["email"] or row["personId"] or row["supporterId"] or f"row {row['row']}"
        lines.append(f"  {row['status']}: {row['action']} {who} ({row['system']}): {row['error'] or 'no message'}")
    if bad.height > limit:
        lines.append(f"  ... and {bad.height - limit:,} more")
    return int(bad.height), lines


def _apply(args: argparse.Namespace, conn: Connection, plan: Any) -> int:
    from ..bulk import Journal
    from ..records.exports import export_csv
    from ..sync import actionable, apply_plan, export_changes, plan_results

    todo = actionable(plan)
    if not todo.height:
        print("Nothing to apply: ENS and Encharge agree wherever the plan can tell.", flush=True)
        return EXIT_OK
    unsubscribes = todo.filter(todo.get_column("action") == "unsubscribe").height
    question = (f"Apply {todo.height:,} changes ({unsubscribes:,} Encharge unsubscribes, "
                f"{todo.height - unsubscribes:,} ENS opt-outs)?")
    if not confirm(question, yes=args.yes):
        print("Nothing was sent.", flush=True)
        return EXIT_REFUSED
    journal = Journal(args.journal) if args.journal else Journal()
    run = apply_plan(plan, ens=conn.ens, encharge=conn.encharge, journal=journal, by=args.by, progress=False)
    results = plan_results(run)
    counts = dict(results.group_by("status").len().sort("status").iter_rows())
    print("Applied: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f" (journal run {run.run_id}, "
          f"{run.status})", flush=True)
    changes = export_changes(args.changes or args.out.with_name("consent-changes.csv"), journal, run_id=run.run_id)
    print(f"Change log: {changes} (and {journal.path.with_name('consent-changes.sqlite3')})", flush=True)
    written = export_csv(results, changes.with_name("consent-results.csv"))
    print(f"Every row's outcome: {written}", flush=True)
    failed, lines = _failures(results)
    if failed:
        print(f"{failed:,} of {results.height:,} rows were not carried out:", flush=True)
        for line in lines:
            print(line, flush=True)
    if run.status != "completed":
        print(f"Not finished ({run.note}): enstoolkit.bulk.resume({run.run_id!r}, ens=..., encharge=...)", flush=True)
        return EXIT_FAILED
    return EXIT_PARTLY_FAILED if failed else EXIT_OK


def _listener(args: argparse.Namespace, conn: Connection) -> Any:
    """A started webhook listener; on the sandbox it is subscribed to unsubscribedUser events."""
    from ..encharge import Listener

    listener = Listener(args.events, port=args.port, public_url=args.public_url).start()
    if conn.sandbox is not None or not conn.encharge_real:
        try:
            conn.encharge.create_subscription("unsubscribedUser", listener.url)
        except BaseException:
            listener.stop()
            raise
        print("listening for the sandbox's unsubscribedUser webhooks", flush=True)
    elif sys.stdout.isatty():
        print(f"give Encharge this URL for unsubscribedUser events (it holds a secret):\n  {listener.url}", flush=True)
    else:
        print("the listener's URL holds a secret and is not printed (the output is not a terminal); it is kept "
              f"beside {listener.path_file}", flush=True)
    return listener


def _watch(args: argparse.Namespace, conn: Connection, query: str, optins: list[str],
           wait: Callable[[float], bool] | None) -> int:
    from ..bulk import Journal
    from ..encharge import SnapshotError
    from ..errors import APIError, TransportError
    from ..sync.continuous import ConsentWatch

    if args.interval < 0 or (args.rounds is not None and args.rounds < 1):
        raise SystemExit("--interval: minutes (0 or more); --rounds: 1 or more")
    every = f"every {args.interval:g} min" + (f", {args.rounds} rounds" if args.rounds else "; Ctrl-C stops")
    if not confirm(f"Keep consent in step ({every}), sending unsubscribes and opt-outs without asking again?",
                   yes=args.yes):
        print("Nothing was sent.", flush=True)
        return EXIT_REFUSED
    listener = _listener(args, conn) if args.listen else None
    snapshot = args.snapshot or args.out.with_name("consent-people.parquet")
    watch = ConsentWatch(conn.ens, conn.encharge, snapshot=snapshot, query=query, optins=optins, listener=listener,
                         journal=Journal(args.journal) if args.journal else None, by=args.by)
    stop = threading.Event()
    pause = wait or (lambda seconds: stop.wait(seconds))
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if wait is None else None
    done = 0
    worst = EXIT_OK
    try:
        while True:
            try:
                result = watch.round()
            except (SnapshotError, APIError, TransportError) as exc:
                if not may_poll_again(exc, "this round failed (tried again at the next)"):
                    return EXIT_FAILED
                worst = EXIT_FAILED
            else:
                bounds = conn.encharge.server_clock.now_ms()
                when = dt.datetime.fromtimestamp(bounds[0] / 1000, dt.UTC) if bounds else dt.datetime.now(dt.UTC)
                print(f"{when:%Y-%m-%d %H:%M:%S} UTC {result.describe()}", flush=True)
                if result.run is not None:
                    from ..sync import plan_results

                    failed, lines = _failures(plan_results(result.run), limit=3)
                    for line in lines:
                        print(line, flush=True)
                    if result.run.status != "completed":
                        print(f"  run {result.run.run_id}: {result.run.note}", flush=True)
                        worst = EXIT_FAILED
                    elif failed and worst == EXIT_OK:
                        worst = EXIT_PARTLY_FAILED
            done += 1
            if args.rounds is not None and done >= args.rounds:
                return worst  # a bounded watch tells how its rounds went
            if pause(args.interval * 60):
                return EXIT_OK  # stopped from outside: what failed was printed as it happened
    except KeyboardInterrupt:
        print("sync watch stopped", flush=True)
        return EXIT_OK
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if listener is not None:
            listener.stop()


def run_sync(args: argparse.Namespace, *, wait: Callable[[float], bool] | None = None) -> int:
    """``enstoolkit sync``: print the plan's counts, write it as CSV; ``--apply`` or ``--watch`` after a "yes".

    ``wait(seconds)`` waits between watch rounds and returns True to stop (tests move the sandbox's clock).

    Returns the exit code: 0 done (every row sent done, or deliberately skipped), 1 an error, an
    unfinished run or a failed round, 2 refused (no "yes", or a setting the account lacks), 3
    partly failed (rows failed or were not found; the first few are printed, every row's outcome
    is written to ``consent-results.csv``).
    """
    from ..config.settings import audit_settings
    from ..errors import ConfigurationError, EnstoolkitError
    from ..records.exports import export_csv
    from ..sync.live import plan_from_accounts

    conn = _connect(args)
    try:
        try:
            settings = audit_settings(conn, query=args.query, optins=args.optin)
        except ConfigurationError as exc:
            print(f"enstoolkit sync: {shown(exc)}", flush=True)
            return EXIT_REFUSED
        print(f"enstoolkit sync. {conn.describe()} Opt-ins: {', '.join(settings.optins)}.", flush=True)
        if args.watch:
            return _watch(args, conn, settings.query, settings.optins, wait)
        dates = None
        if args.unsubscribes is not None:
            from ..sync.unsubscribe_dates import read_event_file, unsubscribe_dates

            dates = unsubscribe_dates(read_event_file(args.unsubscribes))
            print(f"  {dates.height:,} Encharge unsubscribes dated by {args.unsubscribes.name}", flush=True)
        plan = plan_from_accounts(conn.ens, conn.encharge, query=settings.query, optins=settings.optins,
                                  on_step=lambda n, total, what: print(f"  {what}", flush=True), unsubscribes=dates)
        _counts(plan)
        written = export_csv(plan, args.out)
        print(f"Plan written to {written}", flush=True)
        if not args.apply:
            print("Nothing was sent (--apply carries out the unsubscribes and opt-outs).", flush=True)
            return EXIT_OK
        return _apply(args, conn, plan)
    except EnstoolkitError as exc:
        print(f"enstoolkit sync: {shown(exc)}", flush=True)
        return EXIT_FAILED
    finally:
        conn.close()
