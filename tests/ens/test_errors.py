"""Authentication errors, the hourly limit, retries and secrets, against the sandbox."""

from __future__ import annotations

import logging
import socket

import pytest

from enstoolkit import ENSClient, RetryPolicy
from enstoolkit.errors import (
    APIError,
    AuthenticationError,
    InactiveUser,
    InvalidAPIKey,
    RateLimitExceeded,
    ServerError,
    TransportError,
    UnregisteredSourceAddress,
    UserNotFound,
)
from enstoolkit.sandbox import Sandbox

from ..conftest import RecordingTransport


def test_invalid_api_key_carries_ens_message_without_the_key(sandbox: Sandbox) -> None:
    secret = "0b4336a5-23d2-314d-a1aa-2a0a29bff157"
    with ENSClient(secret, sandbox.ens_url) as ens, pytest.raises(InvalidAPIKey) as info:
        ens.get_fields()
    error = info.value
    assert error.status_code == 401 and error.message_id == 10000000
    assert error.message == "Invalid api key [***]"
    for text in (str(error), repr(error), error.message, repr(ens)):
        assert secret not in text


@pytest.mark.parametrize(
    ("key_attr", "cls", "fragment"),
    [
        ("orphan_key", UserNotFound, "A user was not found for api key"),
        ("inactive_key", InactiveUser, "is not active or does not have access"),
    ],
)
def test_other_key_errors(sandbox: Sandbox, key_attr: str, cls: type, fragment: str) -> None:
    key = getattr(sandbox.ens, key_attr)
    with ENSClient(key, sandbox.ens_url) as ens, pytest.raises(cls) as info:
        ens.get_fields()
    assert fragment in info.value.message
    assert key not in str(info.value)
    assert isinstance(info.value, AuthenticationError)


def test_unregistered_source_address() -> None:
    with (
        Sandbox(supporters=5, allowed_sources=("192.0.2.10",)) as sb,
        ENSClient(sb.ens_api_key, sb.ens_url) as ens,
        pytest.raises(UnregisteredSourceAddress, match="unregistered source address"),
    ):
        ens.get_fields()


def test_hourly_limit_is_rate_limit_exceeded() -> None:
    with Sandbox(supporters=5, hourly_limit=4) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        ens.get_fields()  # authenticate + fields = 2
        ens.get_questions()  # 3
        ens.get_page(100)  # 4
        with pytest.raises(RateLimitExceeded) as info:
            ens.get_page(101)
        assert info.value.status_code == 401
        assert "has exceeded its api limit" in info.value.message
        assert not isinstance(info.value, AuthenticationError)  # the key is good: the limit is used up
        sb.advance(minutes=61)  # the rolling hour moves on (the sandbox's clock, no waiting)
        assert ens.get_page(101).height == 1


def test_idempotent_requests_are_retried_on_5xx(ens: ENSClient, sandbox: Sandbox,
                                                recorder: RecordingTransport) -> None:
    sandbox.fail_next(2, status=503, path="/ens/service/supporter/fields")
    assert ens.get_fields().height > 0
    assert [rs.status_code for _, rs in recorder.calls("GET", "/supporter/fields")] == [503, 503, 200]


def test_retries_are_bounded(ens: ENSClient, sandbox: Sandbox, recorder: RecordingTransport) -> None:
    sandbox.fail_next(10, status=502, path="/ens/service/page/100")
    with pytest.raises(ServerError) as info:
        ens.get_page(100)
    assert info.value.status_code == 502
    assert len(recorder.calls("GET", "/page/100")) == 1 + ens.retry.attempts - 1


def test_upsert_is_retried_but_process_page_never(ens: ENSClient, sandbox: Sandbox,
                                                  recorder: RecordingTransport) -> None:
    sandbox.fail_next(1, status=500, method="POST", path="/ens/service/supporter")
    ens.upsert_supporter({"Email Address": "retry@example.org"})
    assert [rs.status_code for _, rs in recorder.calls("POST", "/ens/service/supporter")] == [500, 200]
    sandbox.fail_next(1, status=503, method="POST", path="/ens/service/page/100/process")
    with pytest.raises(ServerError):
        ens.process_page(100, {"Email Address": "retry@example.org"})
    assert len(recorder.calls("POST", "/process")) == 1
    assert sandbox.ens.processed == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_a_transport_error() -> None:
    ens = ENSClient("secret-key-123456", f"http://127.0.0.1:{_closed_port()}/ens/service", timeout=2)
    ens.retry = RetryPolicy(backoff=0.01)
    with pytest.raises(TransportError) as info:
        ens.get_fields()
    assert "secret-key-123456" not in str(info.value)
    assert info.value.method == "POST" and info.value.path == "/authenticate"


def test_logs_never_show_key_or_token(caplog: pytest.LogCaptureFixture, sandbox: Sandbox) -> None:
    caplog.set_level(logging.DEBUG, logger="enstoolkit")
    recorder = RecordingTransport()
    with ENSClient(sandbox.ens_api_key, sandbox.ens_url, transport=recorder) as ens:
        ens.retry = RetryPolicy(backoff=0.01)
        sandbox.fail_next(1, status=503, path="/ens/service/authenticate/")
        assert ens.validate_session()
        token = recorder.calls("POST", "/authenticate")[0][1].json()["ens-auth-token"]
        with pytest.raises(APIError):
            ens.get_page(424242)
        shown = repr(ens)
    text = caplog.text + shown
    assert "/authenticate/***" in caplog.text
    assert sandbox.ens_api_key not in text and token not in text
