"""The behaviour of :mod:`enstoolkit.sandbox.ens_routes` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.ens_routes import ENSApp, ENSState


def test_module() -> None:
    """enstoolkit.sandbox.ens_routes: The ENS half of the sandbox, its routes: Starlette handlers under
    ``/ens/service`` over an :class:`ENSState`.
    """
    from enstoolkit.sandbox.clock import SandboxClock
    from enstoolkit.sandbox.data import DEFAULT_NOW

    assert len(ENSApp(ENSState(supporters=5, seed=0, clock=SandboxClock(DEFAULT_NOW))).routes()) > 10


def test_ensapp() -> None:
    """ENSApp: Starlette routes emulating ENS over an :class:`ENSState`."""
    import httpx

    from enstoolkit.sandbox import Sandbox

    with Sandbox(supporters=3) as sb:  # serves an ENSApp under /ens/service
        answer = httpx.post(sb.ens_url + "/authenticate", content=sb.ens_api_key)
        assert (answer.status_code, sorted(answer.json())) == (200, ["ens-auth-token", "expires"])


def test_ensapp_routes() -> None:
    """ENSApp.routes: The routes, relative to ``/ens/service``."""
    from enstoolkit.sandbox import Sandbox

    app = ENSApp(Sandbox(supporters=3).ens)
    assert [route.path for route in app.routes()][:3] == ["/authenticate", "/authenticate/{token}", "/supporter/fields"]
