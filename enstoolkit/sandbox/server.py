"""Run an ASGI app with uvicorn in a background thread, bound to loopback only.

Used by the sandbox (the webhook listener uses the standard library's server).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

import uvicorn

from ..inputs.arguments import is_loopback

#: The longest a stopping server waits for requests still being answered before it cancels them.
STOP_GRACE = 5.0


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is asked.

    uvicorn looks at ``should_exit`` every 0.1 s and then waits a fixed 0.1 s for connections to close;
    a sandbox is started and stopped for each test, so here a stop wakes the loop at once, and the
    connections (idle keep-alive ones close straight away) are waited for only as long as they are open.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def request_exit(self) -> None:
        """Ask the server to stop (from any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE
        while (self.server_state.connections or self.server_state.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.005)
        for task in list(self.server_state.tasks):
            task.cancel(msg="the sandbox stopped")
        for server in self.servers:
            await server.wait_closed()


class ServerThread:
    """An ASGI app served by uvicorn in a daemon thread on a loopback socket."""

    def __init__(self, app: Any, host: str, port: int, *, name: str = "enstoolkit-server") -> None:
        if not is_loopback(host):
            raise ValueError(f"host={host!r}: only loopback addresses are allowed (127.0.0.1, ::1, localhost)")
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._server: _PromptServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ServerThread:
        """Bind, start serving and return once the server accepts connections."""
        if self._thread is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls
        sock.bind((self.host.strip("[]") if self.host != "localhost" else "127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                timeout_keep_alive=30, date_header=False, server_header=False)
        self._server = _PromptServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
