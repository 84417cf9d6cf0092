"""The behaviour of :mod:`enstoolkit.sandbox.faults` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.faults import DroppedConnection, Faults, parse_faults


def test_module() -> None:
    """enstoolkit.sandbox.faults: faults apply to the routes they name only."""
    faults = Faults(error_rate=0.1, routes=("/ens/service/page",))
    assert (faults.applies("/ens/service/page/100/process"), faults.applies("/v1/tags")) == (True, False)


def test_dropped_connection() -> None:
    """DroppedConnection: Raised inside the ASGI app after the response started: the server closes the socket."""
    assert str(DroppedConnection("connection dropped by fault injection")) == "connection dropped by fault injection"


def test_faults() -> None:
    """Faults: What can go wrong, and how often (each rate is a share of the matching requests)."""
    faults = Faults(drop_after_rate=0.05, methods=("POST",), seed=1)
    path = "/ens/service/page/100/process"
    assert (faults.applies(path, "POST"), faults.applies(path, "GET")) == (True, False)


def test_faults_applies() -> None:
    """Faults.applies: Whether this request is subject to the faults."""
    faults = Faults(error_rate=0.5, routes=("/v1/people",))
    assert (faults.applies("/v1/people/all"), faults.applies("/v1/tags-management")) == (True, False)


def test_faults_draw() -> None:
    """Faults.draw: Decide the faults of one request."""
    faults = Faults(error_rate=1.0, error_statuses=(503,), latency=0.01)
    plan = faults.draw()
    assert (plan["error"], plan["delay"], plan["drop_after"], dict(faults.counts)) == (
        503,
        0.01,
        False,
        {"error": 1, "requests": 1},
    )


def test_parse_faults() -> None:
    """parse_faults: ``name=value`` settings from the command line, e.g. ``error_rate=0.1``."""
    assert parse_faults(["error_rate=0.1", "latency=0.025"]) == {"error_rate": 0.1, "latency": 0.025}


def test_fault_middleware() -> None:
    """FaultMiddleware: ASGI middleware applying :class:`Faults` (and a fixed latency) to matching requests."""
    import httpx

    from enstoolkit.sandbox import Sandbox

    faults = Faults(error_rate=1.0, error_statuses=(503,), routes=("/v1/accounts",))
    with Sandbox(supporters=5, faults=faults) as sb:
        assert (
            httpx.get(sb.encharge_url + "/accounts/info").status_code,
            sb.received[("GET", "/v1/accounts/info")],
        ) == (503, 1)
