"""The Sandbox: both emulated APIs on one loopback server, with its clock, faults and request counts.

See :mod:`enstoolkit.sandbox` for what it emulates; the routes and the state of each API are in their own modules.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
from collections import Counter
from collections.abc import Iterable
from functools import partial
from typing import Any

from ..errors import MissingExtra

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingExtra("sandbox", "the local sandbox") from exc

from ..inputs.arguments import is_loopback
from ._fork import in_background
from ._gc import freeze_heap, paused_gc
from .clock import SandboxClock
from .data import DEFAULT_NOW
from .encharge_routes import EnchargeApp
from .encharge_state import EnchargeState, Seedlings, api_key_for, seedlings_of
from .ens_routes import ENSApp
from .ens_state import ENSState
from .faults import FaultMiddleware, Faults
from .server import ServerThread
from .variants import Variant

__all__ = ["Sandbox"]


class DateMiddleware:
    """ASGI middleware: every answer carries a ``Date`` header from the sandbox's clock (as real servers do)."""

    def __init__(self, inner: Any, clock: SandboxClock) -> None:
        self.inner = inner
        self.clock = clock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return

        async def dated(message: Any) -> None:
            if message["type"] == "http.response.start" and not any(
                    name.lower() == b"date" for name, _ in message.get("headers", [])):
                stamp = email.utils.formatdate(self.clock.date_header_time(), usegmt=True).encode()
                message = {**message, "headers": [*message.get("headers", []), (b"date", stamp)]}
            await send(message)

        await self.inner(scope, receive, dated)


class Sandbox:
    """The local ENS emulator: a context manager that runs a loopback HTTP server.

    Args:
        supporters: how many synthetic supporters to seed.
        seed: the random seed; the same seed (and clock) gives the same account.
        port: a fixed port, or 0 for a free one.
        host: a loopback address (anything else is refused).
        start: when the clock starts: the account is generated as of then (the same seed and
            start give the same account); the clock then runs with real time.
        hourly_limit: ENS requests allowed per rolling hour (ENS: 5,000).
        token_ttl: seconds a session token lives (ENS: 3,600).
        allowed_sources: client addresses allowed to authenticate (the ENS API user's
            whitelist); ``()`` allows any.
        export_delay: seconds before an export job completes.
        latency: seconds added to every response (a simulated round trip).
        faults: :class:`~enstoolkit.sandbox.faults.Faults` (one, or several for different
            routes): server errors, dropped connections, timeouts, latency spikes, token expiry.
        date_skew: seconds the ``Date`` header of every answer is ahead of the clock ENS dates its
            transactions by (negative: behind); changeable later as ``sandbox.clock.date_skew``.
        round_dates: transactions' ``createdDate`` in whole seconds, rounded down ("floor") or to the
            nearest second ("nearest"), as live accounts show them; None: to the millisecond.
        variant: the account's shapes where real accounts differ
            (:class:`~enstoolkit.sandbox.variants.Variant`, or preset names such as "us-account").
        own_process: the process does nothing but serve this sandbox (``enstoolkit sandbox``, ``enstoolkit
            demo``): the account is left out of the garbage collector's walks from the moment it is made
            (``gc.freeze``), before the collector runs again (see :meth:`start`).

    Attributes:
        url: The server root.
        ens_url: The ENS base URL (``ens_api_key`` is its demo key).
        encharge_url: The Encharge base URL (``encharge_api_key`` is its demo key).
        ens: The emulated ENS account's state (:class:`~enstoolkit.sandbox.ens_state.ENSState`), for tests
            and inspection.
        encharge: The emulated Encharge account's state
            (:class:`~enstoolkit.sandbox.encharge_state.EnchargeState`).
        received: How many requests the sandbox received, per ``(method, path)`` (those failed on purpose too).

    Example:
        >>> with Sandbox(supporters=10) as sb:
        ...     sb.encharge_url.endswith("/v1"), sb.ens_url.endswith("/ens/service")
        (True, True)
    """

    def __init__(
        self,
        supporters: int = 5000,
        seed: int = 0,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        start: dt.datetime = DEFAULT_NOW,
        hourly_limit: int = 5000,
        token_ttl: float = 3600.0,
        allowed_sources: Iterable[str] = ("127.0.0.1", "::1"),
        export_delay: float = 0.2,
        latency: float = 0.0,
        faults: Faults | Iterable[Faults] | None = None,
        variant: Variant | str | Iterable[str] | None = None,
        date_skew: float = 0.0,
        round_dates: str | None = None,
        own_process: bool = False,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"host={host!r}: the sandbox binds to loopback only (127.0.0.1, ::1, localhost)")
        if supporters < 0:
            raise ValueError(f"supporters={supporters!r}: expected a count of at least 0")
        self.host = host
        self.port = port
        self.latency = latency
        if faults is None:
            self.faults: list[Faults] = []
        elif isinstance(faults, Faults):
            self.faults = [faults]
        else:
            self.faults = list(faults)
        self.clock = SandboxClock(start)
        if round_dates not in (None, "floor", "nearest"):
            raise ValueError(f"round_dates={round_dates!r}: expected None, 'floor' or 'nearest'")
        self.clock.date_skew = float(date_skew)
        self.clock.round_dates = round_dates
        self.variant = Variant.of(variant)
        with paused_gc():  # millions of small objects, no cycles among them
            self.ens = ENSState(variant=self.variant,
                supporters=supporters, seed=seed, clock=self.clock, hourly_limit=hourly_limit,
                token_ttl=token_ttl, allowed_sources=tuple(allowed_sources), export_delay=export_delay,
            )
            # Encharge's account is generated from ENS's as it is now, in a thread: ENS serves meanwhile, and
            # Encharge's requests wait for it (see the encharge property)
            seedlings = seedlings_of(self.ens)
            self._frozen = own_process
            if own_process:  # before the collector runs again: it would walk the whole new account once
                freeze_heap()
        self._encharge = in_background(partial(self._make_encharge, seedlings), name="enstoolkit-sandbox-encharge")
        self._failures: list[tuple[str, str, int, str | None]] = []  # (method, path prefix, status, Retry-After)
        #: Requests the sandbox received, per (method, path), answered or failed on purpose.
        self.received: Counter[tuple[str, str]] = Counter()
        self._failures_lock = threading.Lock()
        self.app = self._build_app()
        self._runner = ServerThread(self.app, host, port, name="enstoolkit-sandbox")

    def _make_encharge(self, seedlings: Seedlings) -> EnchargeState:
        """The Encharge account (in a thread: an error is raised again wherever the account is used)."""
        with paused_gc():
            state = EnchargeState(self.ens, self.ens.seed, variant=self.variant, seedlings=seedlings)
            frozen = self._frozen
            if frozen:  # a process of its own: the new account is frozen too, before the collector runs
                freeze_heap()
        if self._frozen and not frozen:  # started in a process of its own meanwhile
            freeze_heap()
        return state

    @property
    def encharge(self) -> EnchargeState:
        """The emulated Encharge account's state (waits the moment it takes to generate, the first time)."""
        return self._encharge.result()

    # -- app -----------------------------------------------------------------------------
    def _build_app(self) -> Starlette:
        ens = ENSApp(self.ens)
        encharge = EnchargeApp(self._encharge)

        async def root(request: Request) -> Response:
            return JSONResponse({"service": "enstoolkit sandbox", "ens": "/ens/service", "encharge": "/v1",
                                 "now": self.ens.now.isoformat(), "variant": self.variant.name})

        app = Starlette(routes=[
            Route("/", root),
            Mount("/ens/service", routes=ens.routes()),
            Mount("/v1", routes=encharge.routes()),
        ])
        app.add_middleware(FaultMiddleware, sandbox=self)
        app.add_middleware(DateMiddleware, clock=self.clock)
        return app

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0
                ) -> dt.datetime:
        """Move the sandbox's clock forward (tokens expire, the hourly limit's window moves, windows close)."""
        return self.clock.advance(seconds, minutes=minutes, hours=hours, days=days)

    def fail_next(self, count: int = 1, *, status: int = 503, method: str = "", path: str = "",
                  retry_after: float | str | None = None) -> None:
        """Answer the next ``count`` matching requests with ``status`` instead of serving them.

        ``method`` and ``path`` (a prefix of the URL path) narrow which requests fail;
        empty matches all. A failed request is not acted on. ``retry_after`` adds a
        ``Retry-After`` header: seconds (a number), or ``"date:<seconds>"`` for an HTTP date
        that many seconds after the sandbox clock's now (the answer's ``Date``). Encharge
        paths (``/v1``) answer in Encharge's error envelope, ENS paths in ENS's.
        """
        header = None
        if retry_after is not None:
            text = str(retry_after)
            seconds = text.removeprefix("date:")
            try:
                float(seconds)
            except ValueError:
                raise ValueError(f"retry_after={retry_after!r}: expected seconds or 'date:<seconds>'") from None
            header = text if text.startswith("date:") else seconds
        with self._failures_lock:
            self._failures.extend([(method.upper(), path, status, header)] * count)

    def _take_failure(self, method: str, path: str) -> tuple[int, list[tuple[bytes, bytes]]] | None:
        """The status and extra headers (``Retry-After``, and then the ``Date`` it counts from) of the first
        planned failure matching this request."""
        with self._failures_lock:
            for i, (want_method, prefix, status, header) in enumerate(self._failures):
                if (not want_method or want_method == method) and path.startswith(prefix):
                    del self._failures[i]
                    if header is None:
                        return status, []
                    if not header.startswith("date:"):
                        return status, [(b"retry-after", header.encode())]
                    now = int(self.clock.date_header_time())  # one instant for both headers: the wait is exact
                    return status, [(b"retry-after", email.utils.formatdate(now + float(header[5:]),
                                                                            usegmt=True).encode()),
                                    (b"date", email.utils.formatdate(now, usegmt=True).encode())]
        return None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, *, own_process: bool = False) -> Sandbox:
        """Start serving (returns at once when the server listens).

        ``own_process=True`` says the process does nothing but serve this sandbox (``enstoolkit
        sandbox``, ``enstoolkit demo``): the account's objects are then left out of the garbage
        collector's walks, which would otherwise stall a large sandbox for seconds at a time.
        """
        if own_process or self._frozen:  # said here, or when the sandbox was made
            self._frozen = True
            freeze_heap()
        self._runner.start()
        self.port = self._runner.port
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread."""
        self._runner.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and keys --------------------------------------------------------------
    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:8765``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def ens_url(self) -> str:
        """The ENS base URL to give :class:`~enstoolkit.ENSClient`."""
        return f"{self.url}/ens/service"

    @property
    def ens_api_key(self) -> str:
        """The demo account's ENS API key."""
        return self.ens.api_key

    @property
    def encharge_url(self) -> str:
        """The Encharge base URL to give :class:`~enstoolkit.EnchargeClient`."""
        return f"{self.url}/v1"

    @property
    def encharge_api_key(self) -> str:
        """The demo account's Encharge API key."""
        return api_key_for(self.ens.seed)

    def encharge_people_count(self) -> int:
        """How many people (not archived) the Encharge account holds."""
        return sum(1 for p in self.encharge.people.values() if not p["archived"])

    def describe(self) -> dict[str, str]:
        """What a user needs to connect: URLs and demo keys."""
        return {"ens_url": self.ens_url, "ens_api_key": self.ens_api_key,
                "encharge_url": self.encharge_url, "encharge_api_key": self.encharge_api_key}

    def environment(self) -> dict[str, str]:
        """Environment variables that point both clients at this sandbox."""
        return {"ENS_BASE_URL": self.ens_url, "ENS_API_KEY": self.ens_api_key,
                "ENCHARGE_BASE_URL": self.encharge_url, "ENCHARGE_API_KEY": self.encharge_api_key}

    def __repr__(self) -> str:
        state = "running" if self._runner.running else "stopped"
        return f"Sandbox(url={self.url!r}, supporters={len(self.ens.records)}, {state})"
