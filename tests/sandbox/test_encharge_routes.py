"""The behaviour of :mod:`enstoolkit.sandbox.encharge_routes` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.encharge_routes import EnchargeApp, EnchargeState, cannot_route


def test_module() -> None:
    """enstoolkit.sandbox.encharge_routes: The Encharge half of the sandbox, its routes under ``/v1``, and webhook
    delivery to loopback URLs.
    """
    from enstoolkit.sandbox.clock import SandboxClock
    from enstoolkit.sandbox.data import DEFAULT_NOW
    from enstoolkit.sandbox.ens_state import ENSState

    state = EnchargeState(ENSState(supporters=5, seed=0, clock=SandboxClock(DEFAULT_NOW)), seed=0)
    assert len(EnchargeApp(state).routes()) > 5


def test_cannot_route() -> None:
    """cannot_route: a path the emulated Encharge does not have answers 404 in HTML, as Encharge does."""
    assert b"<pre>Cannot GET /v1/nope</pre>" in cannot_route("GET", "/v1/nope").body


def test_encharge_app() -> None:
    """EnchargeApp: Starlette routes emulating Encharge over an :class:`EnchargeState`."""
    import httpx

    from enstoolkit.sandbox import Sandbox

    with Sandbox(supporters=3) as sb:  # serves an EnchargeApp under /v1
        info = httpx.get(sb.encharge_url + "/accounts/info", headers={"X-Encharge-Token": sb.encharge_api_key})
        assert (info.json()["name"], httpx.get(sb.encharge_url + "/nope").status_code) == ("Sandbox Charity", 404)


def test_encharge_app_routes() -> None:
    """EnchargeApp.routes: The routes, relative to ``/v1``."""
    from enstoolkit.sandbox import Sandbox

    app = EnchargeApp(Sandbox(supporters=3).encharge)
    assert [route.path for route in app.routes()][:3] == ["/people", "/people/all", "/people/unsubscribe"]
