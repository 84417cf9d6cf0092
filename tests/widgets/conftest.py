"""The panels' tests: both clients to the test's own sandbox, retrying without waiting; a refused click."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from enstoolkit import EnchargeClient, ENSClient, RetryPolicy
from enstoolkit.sandbox import Sandbox


@pytest.fixture
def clients(sandbox: Sandbox) -> Iterator[tuple[ENSClient, EnchargeClient]]:
    """An ENS and an Encharge client to the test's sandbox."""
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url)
    enc = EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url)
    ens.retry = enc.retry = RetryPolicy(backoff=0.01)
    yield ens, enc
    ens.close()
    enc.close()


def click_refused(panel: Any, button: Any, words: str) -> None:
    """Click ``button``: the panel refuses, with an error that names ``words``."""
    button.click()
    assert panel.status_kind == "error" and words in panel.status, panel.status
