"""The behaviour of :mod:`enstoolkit.cli.listen` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from enstoolkit.cli.listen import listener_from, register, run_listen, serve


def test_module() -> None:
    """enstoolkit.cli.listen: ``enstoolkit listen``: run a webhook :class:`~enstoolkit.encharge.Listener` until Ctrl-C,
    printing what arrives.
    """
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["listen", "--port", "9000"]).port == 9000


def test_register() -> None:
    """register: Add the ``listen`` command."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["listen", "--public-url", "https://hooks.example.org", "--no-lookup"])
    assert (args.port, args.public_url, args.no_lookup, args.handler is run_listen) == (
        8787,
        "https://hooks.example.org",
        True,
        True,
    )


def test_listener_from() -> None:
    """listener_from: The listener the options describe (not started); with ``ENCHARGE_API_KEY`` set it looks up
    missing emails.
    """
    import tempfile

    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["listen", "--events", tempfile.mkdtemp() + "/e.sqlite3", "--no-lookup"])
    assert listener_from(args).port == 8787


def test_serve() -> None:
    """serve: Run ``listener`` until ``stop`` is set, printing its URL once, then a line per delivery and person."""
    import io
    import tempfile

    from enstoolkit.encharge import Listener

    stop = threading.Event()
    stop.set()  # stop at once: the URL is printed, then what was kept
    out = io.StringIO()
    assert serve(Listener(Path(tempfile.mkdtemp()) / "e.sqlite3", port=0), stop, show_secret=False, out=out) == 0
    assert ("/hooks/<secret>" in out.getvalue(), out.getvalue().splitlines()[-1]) == (
        True,
        "listener stopped; 0 deliveries kept, 0 refused",
    )


def test_run_listen() -> None:
    """run_listen: ``enstoolkit listen``: until Ctrl-C or SIGTERM."""
    from enstoolkit.cli import build_parser

    assert build_parser().parse_args(["listen", "--port", "0"]).handler is run_listen
