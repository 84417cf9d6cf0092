"""The panels' tests: both clients to the test's own sandbox, retrying without waiting."""

from __future__ import annotations

from collections.abc import Iterator

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
