"""The behaviour of :mod:`enstoolkit.sandbox.server` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.server import ServerThread, is_loopback


def test_is_loopback() -> None:
    """is_loopback: Whether ``host`` is a loopback name or address (the sandbox binds to nothing else)."""
    assert (is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")) == (True, True, False)


def test_server_thread() -> None:
    """ServerThread: An ASGI app served by uvicorn in a daemon thread on a loopback socket."""
    from starlette.applications import Starlette

    server = ServerThread(Starlette(), "127.0.0.1", 0).start()
    assert server.port > 0
    server.stop()


def test_server_thread_running() -> None:
    """ServerThread.running: Whether the server thread is serving."""
    from starlette.applications import Starlette

    server = ServerThread(Starlette(), "127.0.0.1", 0)
    assert (server.running, server.start().running) == (False, True)
    server.stop()
    assert not server.running


def test_server_thread_url() -> None:
    """ServerThread.url: ``http://host:port``."""
    assert (ServerThread(None, "127.0.0.1", 8080).url, ServerThread(None, "::1", 8080).url) == (
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
    )


def test_server_thread_start() -> None:
    """ServerThread.start: Bind, start serving and return once the server accepts connections."""
    import httpx
    from starlette.applications import Starlette

    server = ServerThread(Starlette(), "127.0.0.1", 0).start()
    assert httpx.get(server.url + "/nothing-here").status_code == 404  # served: an app without routes answers 404
    server.stop()


def test_server_thread_stop() -> None:
    """ServerThread.stop: Stop serving and wait for the thread."""
    from starlette.applications import Starlette

    server = ServerThread(Starlette(), "127.0.0.1", 0).start()
    server.stop()
    assert not server.running
