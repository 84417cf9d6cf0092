"""The behaviour of :mod:`enstoolkit.sandbox` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import httpx

from enstoolkit.sandbox import Sandbox


def test_module() -> None:
    """enstoolkit.sandbox: A faithful local emulator of the ENS and Encharge APIs on loopback."""
    from enstoolkit.sandbox import Sandbox

    with Sandbox(supporters=100, seed=0) as sb:
        assert sb.ens_url.startswith("http://127.0.0.1:")


def test_date_middleware() -> None:
    """DateMiddleware: ASGI middleware: every answer carries a ``Date`` header from the sandbox's clock (as real
    servers do).
    """
    import httpx

    with Sandbox(supporters=1) as sb:
        assert httpx.get(sb.url).headers["date"][
            :16
        ]  # the sandbox clock's day, not this machine's == 'Thu, 01 Oct 2026'


def test_sandbox() -> None:
    """Sandbox: The local ENS emulator: a context manager that runs a loopback HTTP server."""
    with Sandbox(supporters=10) as sb:
        assert (sb.encharge_url.endswith("/v1"), sb.ens_url.endswith("/ens/service")) == (True, True)


def test_sandbox_advance() -> None:
    """Sandbox.advance: Move the sandbox's clock forward (tokens expire, the hourly limit's window moves, windows
    close).
    """
    with Sandbox(supporters=5) as sb:
        assert sb.advance(hours=1) > sb.clock.start


def test_sandbox_fail_next() -> None:
    """Sandbox.fail_next: Answer the next ``count`` matching requests with ``status`` instead of serving them."""
    with Sandbox(supporters=5) as sb:
        sb.fail_next(2, status=502, path="/ens/service/supporter")
        sb.fail_next(status=429, path="/v1/tags-management", retry_after="date:2")
        statuses = [httpx.get(sb.ens_url + "/supporter").status_code for _ in range(3)]
        limited = httpx.get(sb.encharge_url + "/tags-management")
    assert statuses[:2] == [502, 502]
    assert statuses[2] != 502  # only the next two
    assert limited.status_code == 429
    assert "retry-after" in limited.headers


def test_sandbox_start() -> None:
    """Sandbox.start: Start serving (returns at once when the server listens)."""
    sb = Sandbox(supporters=5).start()
    assert sb.port > 0
    sb.stop()


def test_sandbox_stop() -> None:
    """Sandbox.stop: Stop serving and wait for the server thread."""
    sb = Sandbox(supporters=5).start()
    sb.stop()
    assert repr(sb).endswith("stopped)")


def test_sandbox_url() -> None:
    """Sandbox.url: The server root, e.g. ``http://127.0.0.1:8765``."""
    assert (Sandbox(supporters=1, port=8765).url, Sandbox(supporters=1, host="::1", port=8765).url) == (
        "http://127.0.0.1:8765",
        "http://[::1]:8765",
    )


def test_sandbox_ens_url() -> None:
    """Sandbox.ens_url: The ENS base URL to give :class:`~enstoolkit.ENSClient`."""
    assert Sandbox(supporters=1, port=8765).ens_url == "http://127.0.0.1:8765/ens/service"


def test_sandbox_ens_api_key() -> None:
    """Sandbox.ens_api_key: The demo account's ENS API key."""
    a, b = Sandbox(supporters=1, seed=1), Sandbox(supporters=1, seed=2)
    assert (a.ens_api_key == Sandbox(supporters=1, seed=1).ens_api_key, a.ens_api_key == b.ens_api_key) == (
        True,
        False,
    )  # by seed


def test_sandbox_encharge_url() -> None:
    """Sandbox.encharge_url: The Encharge base URL to give :class:`~enstoolkit.EnchargeClient`."""
    assert Sandbox(supporters=1, port=8765).encharge_url == "http://127.0.0.1:8765/v1"


def test_sandbox_encharge_api_key() -> None:
    """Sandbox.encharge_api_key: The demo account's Encharge API key."""
    assert Sandbox(supporters=1).encharge_api_key.startswith("enc_")


def test_sandbox_encharge_people_count() -> None:
    """Sandbox.encharge_people_count: How many people (not archived) the Encharge account holds."""
    from enstoolkit import EnchargeClient

    with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        before = sb.encharge_people_count()
        _ = enc.upsert_people([{"email": "new.person@example.org"}])
        assert (sb.encharge_people_count() - before) == 1


def test_sandbox_describe() -> None:
    """Sandbox.describe: What a user needs to connect: URLs and demo keys."""
    assert sorted(Sandbox(supporters=1).describe()) == ["encharge_api_key", "encharge_url", "ens_api_key", "ens_url"]


def test_sandbox_environment() -> None:
    """Sandbox.environment: Environment variables that point both clients at this sandbox."""
    assert sorted(Sandbox(supporters=1).environment()) == [
        "ENCHARGE_API_KEY",
        "ENCHARGE_BASE_URL",
        "ENS_API_KEY",
        "ENS_BASE_URL",
    ]
