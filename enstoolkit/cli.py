"""The ``enstoolkit`` command: run the sandbox, or the demo.

Example:
    >>> from enstoolkit.cli import build_parser
    >>> build_parser().parse_args(["sandbox", "--port", "8765"]).port
    8765
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from . import __version__
from .sandbox import Sandbox


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``enstoolkit`` command.

    Example:
        >>> build_parser().parse_args(["sandbox"]).supporters
        5000
    """
    parser = argparse.ArgumentParser(prog="enstoolkit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"enstoolkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("sandbox", "run the local ENS and Encharge emulator on 127.0.0.1 until Ctrl-C"),
        ("demo", "start the sandbox with the demo account and print how to connect"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--port", type=int, default=8765 if name == "demo" else 0,
                       help="port on 127.0.0.1 (0: a free one)")
        p.add_argument("--supporters", type=int, default=5000, help="synthetic supporters to seed")
        p.add_argument("--seed", type=int, default=0, help="random seed of the synthetic account")
        p.add_argument("--hourly-limit", type=int, default=5000, help="ENS requests allowed per rolling hour")
        p.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    return parser


def _serve(sandbox: Sandbox, banner: str) -> int:
    stop = threading.Event()

    def handle(signum: int, frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        sandbox.start()
        print(banner.format(**sandbox.describe(), url=sandbox.url), flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
        print("sandbox stopped", flush=True)
    return 0


SANDBOX_BANNER = """enstoolkit sandbox (synthetic data, loopback only) at {url}
  ENS base URL      : {ens_url}
  ENS API key       : {ens_api_key}
  Encharge base URL : {encharge_url}
  Encharge API key  : {encharge_api_key}
Press Ctrl-C to stop."""

DEMO_BANNER = """enstoolkit demo: the sandbox is running at {url} with a synthetic charity account.

Connect from Python or a notebook:
    from enstoolkit import ENSClient, EnchargeClient
    ens = ENSClient("{ens_api_key}", "{ens_url}")
    enc = EnchargeClient("{encharge_api_key}", "{encharge_url}")
    ens.query_supporters("latestCreated", days_back=7)

or set the environment:
    export ENS_BASE_URL={ens_url}
    export ENS_API_KEY={ens_api_key}
    export ENCHARGE_BASE_URL={encharge_url}
    export ENCHARGE_API_KEY={encharge_api_key}

Press Ctrl-C to stop."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    ``enstoolkit sandbox`` and ``enstoolkit demo`` serve until Ctrl-C (or SIGTERM).

    Example:
        >>> build_parser().parse_args(["demo"]).port  # the demo's fixed port
        8765
    """
    args = build_parser().parse_args(argv)
    sandbox = Sandbox(
        supporters=args.supporters, seed=args.seed, port=args.port,
        hourly_limit=args.hourly_limit, latency=args.latency,
    )
    if args.command == "sandbox":
        return _serve(sandbox, SANDBOX_BANNER)
    return _serve(sandbox, DEMO_BANNER)


if __name__ == "__main__":
    sys.exit(main())
