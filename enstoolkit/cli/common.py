"""What the commands share: stopping on Ctrl-C, free ports, credentials, the sandbox from command-line options."""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sandbox import Sandbox

__all__ = ["CREDENTIALS", "EXIT_CODES_HELP", "EXIT_FAILED", "EXIT_OK", "EXIT_PARTLY_FAILED", "EXIT_REFUSED",
           "add_sandbox_options", "free_port", "may_poll_again", "sandbox_from", "shown", "stop_process",
           "wait_for_stop"]

CREDENTIALS = ("ENS_API_KEY", "ENS_BASE_URL", "ENCHARGE_API_KEY", "ENCHARGE_BASE_URL")

#: The commands' exit codes. 0: it ran, and every row sent is done (or deliberately skipped).
EXIT_OK = 0
#: An error stopped it, a run was left unfinished (resume it), a poll or round failed, a notebook failed.
EXIT_FAILED = 1
#: Nothing was done: no "yes", or a setting the account does not have.
EXIT_REFUSED = 2
#: The run finished but some rows were not carried out (failed, not found, invalid, unknown): they are listed.
EXIT_PARTLY_FAILED = 3

#: What ``--help`` says about them (the commands that send or poll).
EXIT_CODES_HELP = ("Exit codes: 0 done; 1 an error, an unfinished run or a failed poll/round; 2 refused "
                   "(no --yes, or a bad setting); 3 partly failed (some rows failed or were not found; the "
                   "first few are printed).")


def shown(exc: BaseException) -> str:
    """An error as the commands print it: any webhook URL's secret (``.../hooks/<secret>``) masked.

    The clients' errors come masked already; this keeps an error from anywhere else from
    printing a listener's secret to a log file or a pipe.
    """
    from ..encharge import mask_url_secret

    return str(mask_url_secret(str(exc)))


def may_poll_again(exc: BaseException, failed: str) -> bool:
    """Print why a round of a watching command failed; ``True`` where the next round may work.

    Network trouble, a server error (5xx) or a spent rate limit pass: ``failed`` is printed with the
    error. A snapshot that cannot be used, refused credentials or any other API error stop it.
    """
    from ..errors import RateLimitExceeded, ServerError, TransportError

    passing = isinstance(exc, (TransportError, ServerError, RateLimitExceeded))
    print(f"{failed if passing else 'stopped'}: {shown(exc)}", flush=True)
    return passing


def stop_process(proc: subprocess.Popen[Any], *, timeout: float = 20) -> None:
    """Stop a child process (a server the command started): SIGTERM, and SIGKILL after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_sandbox_options(p: argparse.ArgumentParser, *, port: int = 0) -> None:
    """The options that describe a sandbox: port, size, seed, limit, latency, faults."""
    p.add_argument("--port", type=int, default=port, help="sandbox port on 127.0.0.1 (0: a free one)")
    p.add_argument("--supporters", type=int, default=5000, help="synthetic supporters to seed")
    p.add_argument("--seed", type=int, default=0, help="random seed of the synthetic account")
    p.add_argument("--hourly-limit", type=int, default=5000, help="ENS requests allowed per rolling hour")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    p.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE",
                   help="inject faults, e.g. error_rate=0.1, drop_after_rate=0.02, timeout_rate=0.01, "
                        "spike_rate=0.05, spike=2, token_expiry_rate=0.001, garble_rate=0.01 (repeatable)")
    p.add_argument("--fault-route", action="append", default=[], metavar="PREFIX",
                   help="apply the faults only to URL paths starting with PREFIX (repeatable)")
    p.add_argument("--variant", action="append", default=[], metavar="PRESET|NAME=VALUE",
                   help="the account's shapes where real accounts differ, e.g. us-account, dashboard-headers, "
                        "pending-optins, encharge-no-status, or date_order=mdy (repeatable)")


def sandbox_from(args: argparse.Namespace, *, own_process: bool = False) -> Sandbox:
    """A sandbox as the command-line options describe it (not started); ``own_process``: the process only
    serves it (see :class:`~enstoolkit.sandbox.Sandbox`)."""
    from ..sandbox import Sandbox

    port = args.port
    if port:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                print(f"port {port} is in use; using a free one", flush=True)
                port = 0
    faults = None
    if args.fault:
        from ..sandbox.faults import Faults, parse_faults

        try:
            settings = parse_faults(args.fault)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        faults = Faults(**settings, routes=tuple(args.fault_route))  # type: ignore[arg-type]
    from ..sandbox import Variant

    try:
        variant = Variant.of(args.variant)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    return Sandbox(supporters=args.supporters, seed=args.seed, port=port, variant=variant,
                   hourly_limit=args.hourly_limit, latency=args.latency, faults=faults, own_process=own_process)


