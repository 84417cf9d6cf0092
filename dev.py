#!/usr/bin/env python3
"""The project's commands, on a fresh machine with only Python 3.11+:

    python3 dev.py demo             # start the sandbox and JupyterLab on the ready-made notebooks
    python3 dev.py ci               # what CI runs: install, linters, the docs build, every test (with coverage)

and, while working:

    python3 dev.py check            # ruff and mypy
    python3 dev.py test [ARGS]      # pytest only, in parallel; ARGS pass through (-m "not slow", --lf, a path)
    python3 dev.py docs [serve]     # build the documentation site strictly (or serve it on 127.0.0.1)
    python3 dev.py modules          # rewrite docs/modules.md, the module map, from the modules' docstrings
    python3 dev.py notebooks        # re-run notebooks/ against the sandbox and save their outputs

Each creates ``.venv`` beside this file on first use and installs the project into it
(again whenever pyproject.toml changes). Nothing else needs installing by hand.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".enstoolkit-installed"


def run(*cmd: str | os.PathLike[str], env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"enstoolkit needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip") != 0:
        sys.exit("could not upgrade pip")
    if run(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]") != 0:
        sys.exit("could not install enstoolkit and its test tools")
    STAMP.write_text(digest)


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium; install it with apt-get when it is missing."""
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if not shutil.which("apt-get"):
        print("note: no Chromium and no apt-get here: the browser tests will be skipped", flush=True)
        return
    prefix: list[str] = []
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        if not shutil.which("sudo"):
            print("note: Chromium is missing and installing it needs root: the browser tests will be skipped")
            return
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("installing Debian's chromium for the browser tests ...", flush=True)
    if run(*prefix, "apt-get", "update", "-qq", env=env) != 0 or run(
        *prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-dejavu-core",
        env=env,
    ) != 0:
        sys.exit("could not install chromium with apt-get (needed for the browser tests)")


LINTERS = (("ruff", "check", "enstoolkit", "tests", "benchmarks", "dev.py", "conftest.py"),
           ("mypy", "enstoolkit"))


def wants_browser(args: list[str]) -> bool:
    """Whether these pytest arguments may select the browser tests (tests/e2e), which need Chromium."""
    text = " ".join(args)
    if "not slow" in text or "not e2e" in text:
        return False
    paths = [a for a in args if not a.startswith("-") and ("/" in a or a.endswith(".py") or "::" in a)]
    return not paths or any("e2e" in p or p.rstrip("/") in ("tests", ".") for p in paths)


def pytest_args(args: list[str], *, browser: bool = True) -> list[str]:
    """Parallel by default; ``-n``/``-p no:xdist`` given by the caller win.

    Without the browser tests, two workers per core: most tests wait on loopback HTTP, sandboxes and
    SQLite as much as they compute, so a second worker per core keeps the cores busy. With them, one
    worker per core (each browser test runs JupyterLab and Chromium of its own).
    """
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args) or "no:xdist" in args:
        return args
    workers = "auto" if browser else str(2 * (os.cpu_count() or 1))
    return ["-n", workers, *args]


def check(args: list[str]) -> int:
    ensure_env()
    for linter in LINTERS:
        code = run(PY, "-m", *linter)
        if code != 0:
            return code
    return 0


def test(args: list[str]) -> int:
    ensure_env()
    browser = wants_browser(args)
    if browser:
        ensure_chromium()
    return run(PY, "-m", "pytest", *pytest_args(args, browser=browser))


def docs(args: list[str]) -> int:
    ensure_env()
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # the theme's notice about its successor, on every build
    if args[:1] == ["serve"]:
        return run(BIN / "mkdocs", "serve", "--dev-addr", "127.0.0.1:8000", *args[1:])
    return run(BIN / "mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"), *args)


def modules(args: list[str]) -> int:
    ensure_env()
    return run(PY, "-m", "tests.module_map", "--write", *args)


def ci(args: list[str]) -> int:
    """Everything CI checks, in the order a failure is cheapest to find."""
    ensure_env()
    ensure_chromium()
    for step in (check, docs):
        code = step([])
        if code != 0:
            return code
    return run(PY, "-m", "pytest", *pytest_args(["--cov", "--cov-report=term", *args]))


def demo(args: list[str]) -> int:
    ensure_env()
    try:
        return run(BIN / "enstoolkit", "demo", *args)
    except KeyboardInterrupt:
        return 0


def notebooks(args: list[str]) -> int:
    """Re-run the notebooks in notebooks/ against the sandbox and save them with their outputs."""
    ensure_env()
    return run(PY, "-m", "enstoolkit.notebooks", *args)


def main() -> int:
    commands = {"ci": ci, "check": check, "test": test, "docs": docs, "modules": modules, "demo": demo,
                "notebooks": notebooks}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
