"""``enstoolkit sandbox`` and ``enstoolkit demo``: the local sandbox, and the sandbox with JupyterLab on the
notebooks."""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from .common import add_sandbox_options, free_port, sandbox_from, stop_process, wait_for_stop

if TYPE_CHECKING:
    from ..sandbox import Sandbox

__all__ = ["register", "run_demo", "run_sandbox"]


def register(sub: Any) -> None:
    """Add the ``sandbox`` and ``demo`` commands."""
    text = "run the local ENS and Encharge emulator on 127.0.0.1 until Ctrl-C"
    p = sub.add_parser("sandbox", help=text, description=text)
    add_sandbox_options(p, port=0)
    p.set_defaults(handler=run_sandbox)
    text = "start the sandbox and JupyterLab on the ready-made notebooks, until Ctrl-C"
    p = sub.add_parser("demo", help=text, description=text)
    add_sandbox_options(p, port=8765)
    p.add_argument("--lab-port", type=int, default=8888, help="JupyterLab port (0: a free one)")
    p.add_argument("--no-lab", action="store_true", help="start only the sandbox")
    p.set_defaults(handler=run_demo)


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


def run_sandbox(args: argparse.Namespace) -> int:
    """``enstoolkit sandbox``: serve until Ctrl-C or SIGTERM."""
    sandbox = sandbox_from(args, own_process=True).start()
    try:
        print(SANDBOX_BANNER.format(**sandbox.describe(), url=sandbox.url), flush=True)
        wait_for_stop()
    finally:
        sandbox.stop()
        print("sandbox stopped", flush=True)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``enstoolkit demo``: the sandbox, and JupyterLab on the ready-made notebooks pointed at it."""
    sandbox = sandbox_from(args, own_process=True).start()
    lab: subprocess.Popen[bytes] | None = None
    try:
        print(DEMO_BANNER.format(**sandbox.describe(), url=sandbox.url), flush=True)
        if not args.no_lab:
            lab, url = _start_lab(args, sandbox)
            print(f"\nJupyterLab with the notebooks (they use this sandbox): open\n    {url}\n", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        wait_for_stop()
    finally:
        if lab is not None:
            stop_process(lab)
        sandbox.stop()
        print("demo stopped", flush=True)
    return 0


def _start_lab(args: argparse.Namespace, sandbox: Sandbox) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    from ..notebooks import NOTEBOOK_DIR

    port = args.lab_port or free_port()
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


