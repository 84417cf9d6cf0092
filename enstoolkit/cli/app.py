"""``enstoolkit app``: Search, Tag, Process and Consent as a web page (Voilà), for colleagues who do not write code.

The page works on the accounts in ``ENS_API_KEY``/``ENCHARGE_API_KEY`` (and the base URLs), or with
``--sandbox`` on a synthetic account started here. It listens on 127.0.0.1 behind a token: the one
link printed (and opened) carries it. Without credentials and without ``--sandbox`` the page says
what to set. API keys are never printed; Voilà's own log lines are passed on with the token and keys
blanked out.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import webbrowser
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from .common import CREDENTIALS, free_port, sandbox_from, stop_process, wait_for_stop

__all__ = ["APP_NOTEBOOK", "app_notebook", "redact", "register", "run_app", "voila_command", "voila_environment"]

#: The app's notebook, package data beside the ready-made notebooks.
APP_NOTEBOOK = "app.ipynb"
DEFAULT_PORT = 8866


def register(sub: Any) -> None:
    """Add the ``app`` command."""
    text = ("serve Search, Tag, Process and Consent as a web page (for colleagues who do not use notebooks), "
            "until Ctrl-C")
    p = sub.add_parser("app", help=text, description=text + ". Uses the accounts in ENS_API_KEY, ENS_BASE_URL, "
                       "ENCHARGE_API_KEY, ENCHARGE_BASE_URL, or a synthetic account with --sandbox.")
    p.add_argument("--sandbox", action="store_true", help="use a local synthetic account instead of the real ones")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the page's port (default {DEFAULT_PORT}; "
                   "0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    p.add_argument("--ip", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this computer "
                   "only; anything else lets other computers with the link use the accounts)")
    p.add_argument("--exports", default="exports", help="folder for the CSV files the page exports "
                   "(default: ./exports)")
    p.add_argument("--supporters", type=int, default=5000, help="with --sandbox: synthetic supporters to seed")
    p.add_argument("--seed", type=int, default=0, help="with --sandbox: random seed of the synthetic account")
    p.add_argument("--variant", action="append", default=[], metavar="PRESET|NAME=VALUE",
                   help="with --sandbox: the account's shapes, e.g. us-account (repeatable)")
    p.set_defaults(handler=run_app)


def app_notebook() -> Path:
    """The app's notebook (package data)."""
    from importlib.resources import files

    return Path(str(files("enstoolkit.notebooks").joinpath(APP_NOTEBOOK)))


def voila_command(notebook: Path, *, port: int, ip: str) -> list[str]:
    """The Voilà command line serving ``notebook``: one notebook, this address, a token, idle kernels culled.

    The token itself is not on the command line (any local user can read a process's arguments,
    with ``ps``): Voilà is told to require one and reads it from ``JUPYTER_TOKEN`` in its
    environment (see :func:`voila_environment`), which only the same user can read.
    """
    return [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", f"--Voila.ip={ip}",
            "--Voila.port_retries=0", "--Voila.auto_token=True", "--theme=light", "--show_tracebacks=False",
            "--template=enstoolkit",  # the lab template without its CDN stylesheets (see voila_environment)
            # each page view has its own kernel: stop those of closed tabs (open pages keep theirs)
            "--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60"]


def voila_environment(env: Mapping[str, str], token: str) -> dict[str, str]:
    """The environment of the Voilà process: ``env`` with the access token in ``JUPYTER_TOKEN``.

    A ``JUPYTER_TOKEN_FILE`` of the caller's is dropped, so the page's token is this one.
    ``JUPYTER_PATH`` leads to the package's ``enstoolkit`` Voilà template: Voilà's lab template
    without the icon stylesheets it loads from a CDN, so the app works with no network.
    """
    child = {k: v for k, v in env.items() if k != "JUPYTER_TOKEN_FILE"}
    child["JUPYTER_TOKEN"] = token
    templates = str(Path(__file__).resolve().parents[1] / "widgets")
    child["JUPYTER_PATH"] = os.pathsep.join(filter(None, [templates, env.get("JUPYTER_PATH")]))
    return child


def redact(line: str, secrets_: Iterable[str]) -> str:
    """``line`` with every secret (token, API keys) blanked out."""
    for secret in secrets_:
        if secret:
            line = line.replace(secret, "***")
    return line


def _port_in_use(ip: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1" if ip in ("0.0.0.0", "") else ip, port)) == 0


def _forward(stream: IO[str], hidden: list[str], log: list[str]) -> None:
    """Pass Voilà's warnings and errors on (secrets blanked); keep every line for a failed start."""
    for raw in stream:
        line = redact(raw.rstrip("\n"), hidden)
        log.append(line)
        del log[:-200]
        if re.match(r"^\[[WEC] ", line):
            print(line, file=sys.stderr, flush=True)


def _describe(env: Mapping[str, str], sandbox: bool) -> str:
    if sandbox:
        return "a synthetic account (sandbox) on this computer; nothing real is read or changed"
    ens = env.get("ENS_BASE_URL") or "www.e-activist.com"
    enc = env.get("ENCHARGE_BASE_URL") or "api.encharge.io"
    return f"your accounts (ENS at {ens}, Encharge at {enc})"


def run_app(args: argparse.Namespace) -> int:
    """``enstoolkit app``: serve the page until Ctrl-C or SIGTERM."""
    if importlib.util.find_spec("voila") is None or importlib.util.find_spec("itables") is None:
        print("enstoolkit app needs the notebook extra: pip install 'enstoolkit[notebook]'", file=sys.stderr)
        return 2
    from ..widgets.app import EXPORTS_VARIABLE, SANDBOX_VARIABLE, missing_settings

    env = dict(os.environ)
    sandbox = None
    if args.sandbox:
        sandbox = sandbox_from(argparse.Namespace(
            port=0, supporters=args.supporters, seed=args.seed, hourly_limit=5000, latency=0.0, fault=[],
            fault_route=[], variant=args.variant)).start()
        env.update(sandbox.environment())
        env[SANDBOX_VARIABLE] = "1"
    else:
        env.pop(SANDBOX_VARIABLE, None)
    env[EXPORTS_VARIABLE] = str(Path(args.exports).expanduser().resolve())
    hidden = [env.get(name, "") for name in CREDENTIALS if name.endswith("_API_KEY")]
    token = secrets.token_urlsafe(24)
    hidden.append(token)
    port = args.port
    if port and _port_in_use(args.ip, port):
        print(f"port {port} is in use; using a free one", flush=True)
        port = 0
    port = port or free_port()
    proc: subprocess.Popen[str] | None = None
    try:
        missing = [] if args.sandbox else missing_settings(env)
        if missing:
            print(f"Not set: {', '.join(missing)}. The page will say how to set them "
                  "(or stop here and run `enstoolkit app --sandbox` to try it on a synthetic account).", flush=True)
        proc = subprocess.Popen(voila_command(app_notebook(), port=port, ip=args.ip),
                                env=voila_environment(env, token), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        log: list[str] = []
        assert proc.stdout is not None
        threading.Thread(target=_forward, args=(proc.stdout, hidden, log), daemon=True).start()
        _wait_until_listening(proc, args.ip, port, log)
        host = "127.0.0.1" if args.ip in ("127.0.0.1", "0.0.0.0", "") else args.ip
        _check_token_required(host, port)
        url = f"http://{host}:{port}/?token={token}"
        print(f"enstoolkit app: Search, Tag, Process and Consent for {_describe(env, args.sandbox)}.", flush=True)
        if args.ip not in ("127.0.0.1", "localhost", "::1"):
            print(f"WARNING: listening on {args.ip}: anyone who can reach this computer and has the link can use "
                  "the accounts.", flush=True)
        print(f"Open this link (it carries the access token: share it only with people who may use these "
              f"accounts):\n    {url}\nCSV exports go to {env[EXPORTS_VARIABLE]}\nPress Ctrl-C to stop.", flush=True)
        if not args.no_browser:
            webbrowser.open(url)
        wait_for_stop()
    finally:
        if proc is not None:
            stop_process(proc)
        if sandbox is not None:
            sandbox.stop()
        print("app stopped", flush=True)
    return 0


def _check_token_required(host: str, port: int) -> None:
    """Refuse to go on when the page answers without the token (a Voilà that did not take it up)."""
    import httpx

    bracketed = f"[{host}]" if ":" in host else host
    try:
        answer = httpx.get(f"http://{bracketed}:{port}/", follow_redirects=False, timeout=30)
    except httpx.HTTPError:
        return  # not answering at all is no open door; the link will say so
    if answer.status_code < 300:
        raise SystemExit("the app answered without its access token: stopped (is Voilà older than 0.5?)")


def _wait_until_listening(proc: subprocess.Popen[str], ip: str, port: int, log: list[str]) -> None:
    """Wait for Voilà to accept connections (a TCP check: an HTTP request would start a kernel)."""
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            time.sleep(0.2)  # let the reader thread take the last lines
            raise SystemExit("the app did not start:\n" + "\n".join(log[-20:]))
        if _port_in_use(ip, port):
            return
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the app did not start within 90 s:\n" + "\n".join(log[-20:]))
        time.sleep(0.3)
