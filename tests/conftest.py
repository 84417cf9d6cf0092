"""Shared fixtures: sandboxes on loopback and clients that talk to them over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from enstoolkit import EnchargeClient, ENSClient, RetryPolicy
from enstoolkit.sandbox import Sandbox

SPECS = Path(__file__).parent / "specs"
#: The clients' retries in tests: as many, without the waits.
QUICK_RETRIES = RetryPolicy(backoff=0.01)


def at_once(target: Callable[[], object], times: int) -> list[BaseException]:
    """Run ``target`` in ``times`` threads side by side; what any of them raised, once all have ended."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # the caller's finding
            raised.append(exc)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return raised


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that also keeps every request and response it carried."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response

    def close(self) -> None:
        self.inner.close()

    def calls(self, method: str | None = None, contains: str = "") -> list[tuple[httpx.Request, httpx.Response]]:
        """The exchanges whose method and URL path match."""
        return [
            (rq, rs) for rq, rs in self.exchanges
            if (method is None or rq.method == method) and contains in rq.url.path
        ]


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Sandbox]:
    """A larger sandbox for read-only tests (never write to it)."""
    with Sandbox(supporters=2000, seed=0) as sb:
        yield sb


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh small sandbox per test, for tests that write."""
    with Sandbox(supporters=300, seed=7) as sb:
        yield sb


@pytest.fixture
def recorder() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def ens(sandbox: Sandbox, recorder: RecordingTransport) -> Iterator[ENSClient]:
    with ENSClient(sandbox.ens_api_key, sandbox.ens_url, transport=recorder, retry=QUICK_RETRIES) as client:
        yield client


@pytest.fixture
def shared_ens(shared_sandbox: Sandbox) -> Iterator[ENSClient]:
    with ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url) as client:
        yield client


@pytest.fixture
def enc(sandbox: Sandbox, recorder: RecordingTransport) -> Iterator[EnchargeClient]:
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url, transport=recorder,
                        retry=QUICK_RETRIES) as client:
        yield client


@pytest.fixture
def shared_enc(shared_sandbox: Sandbox) -> Iterator[EnchargeClient]:
    with EnchargeClient(shared_sandbox.encharge_api_key, shared_sandbox.encharge_url) as client:
        yield client
