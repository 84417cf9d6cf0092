"""JupyterLab on loopback, and headless Chromium (Debian's package) driven by pytest-playwright."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from enstoolkit.cli.common import CREDENTIALS, free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
#: The offline browser tests' counts (charts drawn, requests blocked), one entry per page looked at.
BROWSER_COUNTS = ROOT / "test-artifacts" / "report-browser-counts.json"


def record_counts(name: str, figures: dict[str, object]) -> None:
    """Keep (and print) what an offline browser test counted on one page."""
    BROWSER_COUNTS.parent.mkdir(parents=True, exist_ok=True)
    seen = json.loads(BROWSER_COUNTS.read_text()) if BROWSER_COUNTS.exists() else {}
    seen[name] = figures
    BROWSER_COUNTS.write_text(json.dumps(seen, indent=2))
    print(name, figures)
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("ENSTOOLKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: `python3 dev.py test` installs Debian's package")
        for item in items:
            if "e2e" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


class Lab:
    """A running JupyterLab server."""

    def __init__(self, url: str, root: Path) -> None:
        self.url = url
        self.root = root

    def notebook(self, source: Path) -> str:
        """Copy a notebook under a unique name (a shared server reuses kernels); return its name."""
        name = f"{source.stem}-{uuid.uuid4().hex[:8]}.ipynb"
        shutil.copy(source, self.root / name)
        return name


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("lab")
    root = base / "work"
    root.mkdir()
    settings = base / "settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    for key in CREDENTIALS:
        env.pop(key, None)  # the notebooks use the sandbox
    port = free_port()
    log = open(base / "lab.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
         "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError("JupyterLab exited:\n" + (base / "lab.log").read_text()[-3000:])
        try:
            if httpx.get(f"{url}/api/status", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("JupyterLab did not start:\n" + (base / "lab.log").read_text()[-3000:])
        time.sleep(0.5)
    try:
        yield Lab(url, root)
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest):
    """Save a screenshot named after the test (kept as an artifact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(target, suffix: str = "") -> Path:  # type: ignore[no-untyped-def]
        """A page (all of it) or one element of it (a locator: e.g. the panel, scrolled into view)."""
        path = ARTIFACTS / f"{request.node.name}{suffix}.png"
        if hasattr(target, "goto"):
            target.screenshot(path=str(path), full_page=True)
        else:  # a tall viewport, so that the element is not clipped by a scrolling parent (JupyterLab's)
            page = target.page
            size = page.viewport_size
            page.set_viewport_size({"width": size["width"], "height": 2000})
            try:
                target.scroll_into_view_if_needed()
                target.screenshot(path=str(path))
            finally:
                page.set_viewport_size(size)
        return path

    return take


class App:
    """A running ``enstoolkit app``: its URL with the token, and everything it printed."""

    def __init__(self, proc: subprocess.Popen[str], url: str, printed: list[str]) -> None:
        self.proc = proc
        self.url = url
        self.printed = printed
        self.exports: Path | None = None

    def stop(self) -> str:
        """Stop it as Ctrl-C does (SIGINT); return what it printed after the link."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        rest, _ = self.proc.communicate(timeout=60)
        self.printed.append(rest)
        return rest


def start_app(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> App:
    """Start ``enstoolkit app --no-browser --port 0 ARGS`` (no credentials but those in ``env``); wait for its link."""
    environ = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    environ.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "enstoolkit.cli", "app", "--no-browser", "--port", "0", *args],
                            env=environ, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    printed: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        printed.append(line)
        if "Press Ctrl-C to stop." in line:
            text = "".join(printed)
            found = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", text)
            assert found, text
            return App(proc, found.group(1), printed)
    proc.kill()
    raise RuntimeError("enstoolkit app did not start:\n" + "".join(printed))


@pytest.fixture(scope="session")
def sandbox_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """``enstoolkit app --sandbox`` (a small synthetic account), for the whole session."""
    work = tmp_path_factory.mktemp("app")
    app = start_app("--sandbox", "--supporters", "600", "--exports", str(work / "exports"), cwd=work)
    app.exports = work / "exports"
    try:
        yield app
    finally:
        app.stop()
