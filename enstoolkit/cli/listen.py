"""``enstoolkit listen``: run a webhook :class:`~enstoolkit.encharge.Listener` until Ctrl-C, printing what arrives.

The URL (with its secret) is printed once, at the start, and only to a terminal: when the
output goes to a file or a pipe, the secret is masked and the file it is kept in is named
instead. It is never logged.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..encharge import Listener

__all__ = ["DEFAULT_PORT", "listener_from", "register", "run_listen", "serve"]

#: A fixed default port, so that a tunnel or proxy set up once keeps pointing at it.
DEFAULT_PORT = 8787


def register(sub: Any) -> None:
    """Add the ``listen`` command."""
    text = "receive Encharge webhooks on a secret URL and keep every delivery, until Ctrl-C"
    p = sub.add_parser("listen", help=text, description=text + ". Loopback only, unless --expose; behind a tunnel or "
                       "reverse proxy give --public-url (see docs/webhooks.md, 'Webhooks from a real account').")
    p.add_argument("--events", type=Path, default=None,
                   help="the SQLite file deliveries are kept in (default: webhooks.sqlite3 in the enstoolkit data "
                        "folder); the URL's secret is kept beside it")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: a free one)")
    p.add_argument("--public-url", default=None, metavar="URL",
                   help="the address Encharge calls when a tunnel or proxy forwards to this listener, "
                        "e.g. https://hooks.example.org")
    p.add_argument("--expose", action="store_true", help="allow --host to be other than loopback")
    p.add_argument("--no-lookup", action="store_true",
                   help="do not look up, by id, the email of events that carry none (with ENCHARGE_API_KEY set)")
    p.set_defaults(handler=run_listen)


def listener_from(args: argparse.Namespace) -> Listener:
    """The listener the options describe (not started); with ``ENCHARGE_API_KEY`` set it looks up missing emails."""
    import os

    from ..encharge import Listener
    from ..errors import ValidationError

    encharge = None
    if not args.no_lookup and os.environ.get("ENCHARGE_API_KEY"):
        from ..encharge import EnchargeClient

        encharge = EnchargeClient()
    try:
        return Listener(args.events, host=args.host, port=args.port, public_url=args.public_url, expose=args.expose,
                        encharge=encharge)
    except ValidationError as exc:
        raise SystemExit(str(exc)) from None


def serve(listener: Listener, stop: threading.Event, *, show_secret: bool, out: TextIO | None = None) -> int:
    """Run ``listener`` until ``stop`` is set, printing its URL once and then one line per delivery and person.

    ``show_secret`` prints the URL in full (only ever to a terminal); otherwise the secret is
    masked and the file it is kept in is named.
    """
    stream = out or sys.stdout
    with listener:
        url = listener.url
        secret_file = listener.path_file.with_name(listener.path_file.name + ".secret")
        if show_secret:
            shown = f"{url}\n  (shown once: it holds the secret, treat it like a password; kept in {secret_file})"
        else:
            shown = (url.rsplit("/", 1)[0] + "/<secret>" + f"\n  (the secret is not printed because the output is "
                     f"not a terminal; it is kept in {secret_file})")
        print(f"enstoolkit listener: give Encharge this URL\n  {shown}\nDeliveries are kept in {listener.path_file}. "
              "Ctrl-C stops.", file=stream, flush=True)
        counted = listener.count()
        last = max(_after(listener, 0, "seq"), default=0)
        while not stop.wait(0.25):
            if listener.count() == counted:
                continue
            counted = listener.count()
            rows = _after(listener, last)
            people = Counter(row["seq"] for row in rows)  # a delivery's rows (its people) arrive together
            for row in rows:
                who = row["email"] or row["personId"] or "?"
                if people[row["seq"]] > 1:
                    who += f" (person {row['personIndex'] + 1} of {people[row['seq']]})"
                note = " (same body as an earlier delivery)" if row["redelivery"] else ""
                print(f"#{row['seq']} {row['eventType']} {who}{note}", file=stream, flush=True)
                last = max(last, int(row["seq"]))
    print(f"listener stopped; {listener.count():,} deliveries kept, {listener.refused:,} refused", file=stream,
          flush=True)
    return 0


def _after(listener: Listener, seq: int, column: str | None = None) -> list[Any]:
    """The events of the deliveries after number ``seq`` (or just one column of them)."""
    import polars as pl

    later = listener.events().filter(pl.col("seq") > seq)
    return later.get_column(column).to_list() if column else later.to_dicts()


def run_listen(args: argparse.Namespace) -> int:
    """``enstoolkit listen``: until Ctrl-C or SIGTERM."""
    listener = listener_from(args)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        return serve(listener, stop, show_secret=sys.stdout.isatty())
    except KeyboardInterrupt:
        stop.set()
        print("listener stopped", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
