"""The ``enstoolkit`` command: the sandbox, the demo, and the headless audit.

Example:
    >>> from enstoolkit.cli import build_parser
    >>> build_parser().parse_args(["sandbox", "--port", "8765"]).port
    8765
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from .sandbox import Sandbox

CREDENTIALS = ("ENS_API_KEY", "ENS_BASE_URL", "ENCHARGE_API_KEY", "ENCHARGE_BASE_URL")
AUDIT_NOTEBOOKS = ("supporter_audit.ipynb", "optin_analysis.ipynb")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``enstoolkit`` command.

    Example:
        >>> build_parser().parse_args(["audit", "--sandbox"]).sandbox
        True
    """
    parser = argparse.ArgumentParser(prog="enstoolkit", description="Engaging Networks and Encharge for analysts.")
    parser.add_argument("--version", action="version", version=f"enstoolkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("sandbox", "run the local ENS and Encharge emulator on 127.0.0.1 until Ctrl-C"),
        ("demo", "start the sandbox and JupyterLab on the ready-made notebooks, until Ctrl-C"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--port", type=int, default=8765 if name == "demo" else 0,
                       help="sandbox port on 127.0.0.1 (0: a free one)")
        p.add_argument("--supporters", type=int, default=5000, help="synthetic supporters to seed")
        p.add_argument("--seed", type=int, default=0, help="random seed of the synthetic account")
        p.add_argument("--hourly-limit", type=int, default=5000, help="ENS requests allowed per rolling hour")
        p.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
        p.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE",
                       help="inject faults, e.g. error_rate=0.1, drop_after_rate=0.02, timeout_rate=0.01, "
                            "spike_rate=0.05, spike=2, token_expiry_rate=0.001 (repeatable)")
        p.add_argument("--fault-route", action="append", default=[], metavar="PREFIX",
                       help="apply the faults only to URL paths starting with PREFIX (repeatable)")
        if name == "demo":
            p.add_argument("--lab-port", type=int, default=8888, help="JupyterLab port (0: a free one)")
            p.add_argument("--no-lab", action="store_true", help="start only the sandbox")
    audit = sub.add_parser("audit", help="run the audit and opt-in notebooks headless; HTML reports and CSVs",
                           description="Run supporter_audit and optin_analysis headless, write the executed "
                                       "notebooks as HTML and the findings as CSV into --out, print a summary.")
    audit.add_argument("--out", type=Path, default=Path("audit-report"), help="output folder (default: audit-report)")
    audit.add_argument("--sandbox", action="store_true",
                       help="use the sandbox even when ENS_API_KEY / ENCHARGE_API_KEY are set")
    audit.add_argument("--supporters", type=int, default=5000, help="sandbox size (with no credentials or --sandbox)")
    audit.add_argument("--timeout", type=int, default=1800, help="seconds allowed per notebook cell")
    return parser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_stop() -> None:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


SANDBOX_BANNER = """enstoolkit sandbox (synthetic data, loopback only) at {url}
  ENS base URL      : {ens_url}
  ENS API key       : {ens_api_key}
  Encharge base URL : {encharge_url}
  Encharge API key  : {encharge_api_key}
Press Ctrl-C to stop."""

DEMO_BANNER = """enstoolkit demo: a synthetic charity account (ENS and Encharge) is running at {url}

Connect from Python:
    from enstoolkit import ENSClient, EnchargeClient
    ens = ENSClient("{ens_api_key}", "{ens_url}")
    enc = EnchargeClient("{encharge_api_key}", "{encharge_url}")

or set the environment:
    export ENS_BASE_URL={ens_url}
    export ENS_API_KEY={ens_api_key}
    export ENCHARGE_BASE_URL={encharge_url}
    export ENCHARGE_API_KEY={encharge_api_key}"""


def _sandbox(args: argparse.Namespace) -> Sandbox:
    from .sandbox import Sandbox

    port = args.port
    if port:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                print(f"port {port} is in use; using a free one", flush=True)
                port = 0
    faults = None
    if args.fault:
        from .sandbox.faults import Faults, parse_faults

        try:
            settings = parse_faults(args.fault)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        faults = Faults(**settings, routes=tuple(args.fault_route))  # type: ignore[arg-type]
    return Sandbox(supporters=args.supporters, seed=args.seed, port=port,
                   hourly_limit=args.hourly_limit, latency=args.latency, faults=faults)


def run_sandbox(args: argparse.Namespace) -> int:
    """``enstoolkit sandbox``: serve until Ctrl-C or SIGTERM."""
    sandbox = _sandbox(args).start()
    try:
        print(SANDBOX_BANNER.format(**sandbox.describe(), url=sandbox.url), flush=True)
        _wait_for_stop()
    finally:
        sandbox.stop()
        print("sandbox stopped", flush=True)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``enstoolkit demo``: the sandbox, and JupyterLab on notebooks/ pointed at it."""
    from .notebooks import NOTEBOOK_DIR

    sandbox = _sandbox(args).start()
    lab: subprocess.Popen[bytes] | None = None
    try:
        print(DEMO_BANNER.format(**sandbox.describe(), url=sandbox.url), flush=True)
        if not args.no_lab:
            if not NOTEBOOK_DIR.is_dir():
                print(f"no notebooks at {NOTEBOOK_DIR}: run the demo from a clone of the repository", flush=True)
                return 2
            lab, url = _start_lab(args, sandbox)
            print(f"\nJupyterLab with the notebooks (they use this sandbox): open\n    {url}\n", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        _wait_for_stop()
    finally:
        if lab is not None:
            lab.send_signal(signal.SIGTERM)
            try:
                lab.wait(timeout=20)
            except subprocess.TimeoutExpired:
                lab.kill()
        sandbox.stop()
        print("demo stopped", flush=True)
    return 0


def _start_lab(args: argparse.Namespace, sandbox: Sandbox) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    from .notebooks import NOTEBOOK_DIR

    port = args.lab_port or _free_port()
    token = secrets.token_urlsafe(24)
    env = {**os.environ, **sandbox.environment()}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={NOTEBOOK_DIR}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    lab = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while True:
        if lab.poll() is not None:
            raise SystemExit(f"JupyterLab did not start (port {port} in use? try --lab-port 0)")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"},
                         timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            lab.kill()
            raise SystemExit("JupyterLab did not start within 90 s")
        time.sleep(0.5)
    return lab, f"http://127.0.0.1:{port}/lab/tree/supporter_audit.ipynb?token={token}"


def run_audit(args: argparse.Namespace) -> int:
    """``enstoolkit audit``: execute the audit notebooks headless; HTML and CSVs into ``--out``."""
    import polars as pl
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    from .notebooks import NOTEBOOK_DIR, execute

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.sandbox:
        for name in CREDENTIALS:
            os.environ.pop(name, None)
    using = "your accounts" if os.environ.get("ENS_API_KEY") and os.environ.get("ENCHARGE_API_KEY") else "the sandbox"
    print(f"enstoolkit audit on {using}; reports go to {out}", flush=True)
    failed = []
    exporter = HTMLExporter()
    for name in AUDIT_NOTEBOOKS:
        source = NOTEBOOK_DIR / name
        if not source.exists():
            print(f"  {name}: missing at {source}", flush=True)
            failed.append(name)
            continue
        started = time.perf_counter()
        try:
            nb = execute(source, cwd=out, timeout=args.timeout, save=False,
                         parameters={"OUT_DIR": str(out), "SUPPORTERS": args.supporters})
        except CellExecutionError as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            print(f"  {name}: FAILED: {first}", flush=True)
            failed.append(name)
            continue
        html, _ = exporter.from_notebook_node(nb)
        target = out / name.replace(".ipynb", ".html")
        target.write_text(html, encoding="utf-8")
        print(f"  {name}: ok in {time.perf_counter() - started:.0f} s -> {target.name}", flush=True)
    summary = out / "audit_summary.csv"
    if summary.exists():
        print("\nAudit findings:")
        for check, severity, count in pl.read_csv(summary).select("check", "severity", "findings").iter_rows():
            print(f"  {severity:<6}  {count:>7,}  {check}")
    rates = out / "optin_rates.csv"
    if rates.exists():
        print("\nOpt-in rates:")
        for question, rate in pl.read_csv(rates).select("question", "rate").iter_rows():
            print(f"  {question:<24} {rate:.1%}")
    csvs = sorted(p.name for p in out.glob("*.csv"))
    print(f"\n{len(csvs)} CSV files and {len(AUDIT_NOTEBOOKS) - len(failed)} HTML reports in {out}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", flush=True)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    ``enstoolkit sandbox`` and ``enstoolkit demo`` serve until Ctrl-C (or SIGTERM);
    ``enstoolkit audit`` exits non-zero when a notebook fails.

    Example:
        >>> build_parser().parse_args(["demo"]).port  # the demo's fixed port
        8765
    """
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":
        return run_sandbox(args)
    if args.command == "demo":
        return run_demo(args)
    return run_audit(args)


if __name__ == "__main__":
    sys.exit(main())
