"""Test-wide settings: the sandbox only, and scratch folders for the toolkit's own files."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _pytest.doctest import DoctestItem

# Webhook events and the erasure record go to a scratch folder during tests, never to the
# user's data folder; the tests use the sandbox, never a real account.
os.environ["ENSTOOLKIT_DATA_DIR"] = tempfile.mkdtemp(prefix="enstoolkit-tests-")
for _name in ("ENS_API_KEY", "ENS_BASE_URL", "ENCHARGE_API_KEY", "ENCHARGE_BASE_URL"):
    os.environ.pop(_name, None)


#: Not test modules: the script that made the 0.2.0 record files (it runs only against a 0.2.0 checkout).
collect_ignore_glob = ["tests/fixtures/*"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fast loop (``pytest -m "not slow"``) leaves out the notebooks and the browser tests.

    Under xdist (``-n``) the settings' ``--dist loadfile`` keeps each file on one worker: a
    notebook's cells run in order on one kernel, as nbval needs.
    """
    for item in items:
        if item.path.suffix == ".ipynb" or "e2e" in item.path.parts:
            item.add_marker(pytest.mark.slow)
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Each notebook's kernel starts with its own empty data folder, so its figures never
    depend on what other tests recorded (erasures, webhook events)."""
    if item.path.suffix == ".ipynb" and not getattr(item.parent, "_enstoolkit_data", None):
        folder = tempfile.mkdtemp(prefix=f"enstoolkit-{item.path.stem}-")
        item.parent._enstoolkit_data = folder  # type: ignore[union-attr]
        os.environ["ENSTOOLKIT_DATA_DIR"] = folder


#: The names every docstring example of the library may use without setting them up (documented in
#: CONTRIBUTING.md, "Docstring examples"). ``sb``, ``ens`` and ``encharge`` are shared by all the examples
#: of one test session (one per xdist worker): an example that writes uses people and values it makes
#: itself, or compares before and after, and never counts what other examples may have changed.
DOCTEST_SANDBOX = {"supporters": 20, "seed": 0}


@pytest.fixture(scope="session")
def doctest_sandbox() -> Iterator[dict[str, Any]]:
    """The docstring examples' sandbox and its two clients, started once a session on first use."""
    from enstoolkit import EnchargeClient, ENSClient
    from enstoolkit.sandbox import Sandbox

    with Sandbox(**DOCTEST_SANDBOX) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as encharge:
        yield {"sb": sb, "ens": ens, "encharge": encharge}


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]) -> None:
    """Docstring examples see ``pl``, ``dt``, ``Path``, ``sb``, ``ens``, ``encharge`` and ``folder``
    (an empty folder of their own); ordinary tests start nothing here."""
    if not isinstance(request.node, DoctestItem):
        return
    doctest_namespace.update(pl=pl, dt=dt, Path=Path, folder=request.getfixturevalue("tmp_path"))
    sources = "\n".join(example.source for example in request.node.dtest.examples)
    if re.search(r"\b(sb|ens|encharge)\b", sources):
        doctest_namespace.update(request.getfixturevalue("doctest_sandbox"))


CHAOS_FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the chaos tests' figures at the end of the run (they are the point of those tests)."""
    if CHAOS_FIGURES:
        terminalreporter.section("chaos figures")
        for line in CHAOS_FIGURES:
            terminalreporter.write_line(line)
