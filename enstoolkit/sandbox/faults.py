"""Fault injection for the sandbox: server errors, latency and spikes, dropped connections,
timeouts and token expiry, for every route or for chosen ones.

Faults are drawn from a seeded random generator, so a chaos run can be repeated. A
dropped connection comes in two kinds: *before* the sandbox acts on the request (nothing
happened) and *after* it acted (the change happened, the answer was lost); the second is
what makes a non-idempotent request's outcome unknown to the client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class DroppedConnection(Exception):
    """Raised inside the ASGI app after the response started: the server closes the socket."""


class _QuietDrops(logging.Filter):
    """Keep uvicorn from logging a traceback for every connection dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


@dataclass
class Faults:
    """What can go wrong, and how often (each rate is a share of the matching requests).

    Attributes:
        error_rate: answered with one of ``error_statuses`` before anything is done.
        drop_before_rate: connection dropped before the request is acted on.
        drop_after_rate: the request is acted on, then the connection is dropped.
        timeout_rate: the answer is held back for ``hang`` seconds (after acting on it).
        garble_rate: the request is acted on, then answered 200 with a body that is not the API's
            (an HTML page, as a proxy in front of the service may send): the change happened, and
            the answer cannot be read.
        latency: seconds added to every matching request.
        spike_rate, spike: an extra ``spike`` seconds on that share of requests.
        token_expiry_rate: every ENS session token expires just before that share of requests.
        routes: URL path prefixes the faults apply to; empty means every route.
        methods: HTTP methods the faults apply to; empty means every method.
        seed: the random seed (the same seed gives the same faults in the same order).
    """

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    drop_before_rate: float = 0.0
    drop_after_rate: float = 0.0
    timeout_rate: float = 0.0
    garble_rate: float = 0.0
    hang: float = 30.0
    latency: float = 0.0
    spike_rate: float = 0.0
    spike: float = 1.0
    token_expiry_rate: float = 0.0
    routes: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    seed: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_before_rate", "drop_after_rate", "timeout_rate", "spike_rate",
                     "token_expiry_rate", "garble_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value!r}: expected a share from 0 to 1")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def applies(self, path: str, method: str = "GET") -> bool:
        """Whether this request is subject to the faults."""
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return not self.routes or any(path.startswith(prefix) for prefix in self.routes)

    def draw(self) -> dict[str, Any]:
        """Decide the faults of one request."""
        with self._lock:
            r = self._rng.random
            plan = {
                "expire_tokens": r() < self.token_expiry_rate,
                "error": self._rng.choice(self.error_statuses) if r() < self.error_rate else None,
                "drop_before": r() < self.drop_before_rate,
                "drop_after": r() < self.drop_after_rate,
                "timeout": r() < self.timeout_rate,
                "delay": self.latency + (self.spike if r() < self.spike_rate else 0.0),
                # drawn only when asked for: the same seed gives the same faults as before it existed
                "garble": self.garble_rate > 0 and r() < self.garble_rate,
            }
            for key in ("expire_tokens", "error", "drop_before", "drop_after", "timeout", "garble"):
                if plan[key]:
                    self.counts[key] += 1
            if self.spike and self.spike_rate and plan["delay"] != self.latency:
                self.counts["spikes"] += 1
            self.counts["requests"] += 1
            return plan


def parse_faults(specs: Iterable[str]) -> dict[str, float]:
    """``name=value`` settings from the command line, e.g. ``error_rate=0.1``."""
    out: dict[str, float] = {}
    allowed = {f for f in Faults.__dataclass_fields__ if f not in ("error_statuses", "routes", "methods", "counts")}
    for spec in specs:
        name, _, value = spec.partition("=")
        if name not in allowed or not value:
            raise ValueError(f"--fault {spec!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(allowed))}")
        out[name] = float(value)
    return out


class FaultMiddleware:
    """ASGI middleware applying :class:`Faults` (and a fixed latency) to matching requests."""

    def __init__(self, inner: Any, sandbox: Any) -> None:
        self.inner = inner
        self.sandbox = sandbox

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        sandbox = self.sandbox
        if sandbox.latency > 0:
            await asyncio.sleep(sandbox.latency)
        sandbox.received[(scope["method"], scope["path"])] += 1
        planned = sandbox._take_failure(scope["method"], scope["path"])
        if planned is not None:
            await _error(send, planned[0], scope["path"], planned[1])
            return
        active = [f for f in sandbox.faults if f.applies(scope["path"], scope["method"])]
        plans = [f.draw() for f in active]
        delay = sum(p["delay"] for p in plans)
        if delay > 0:
            await asyncio.sleep(delay)
        if any(p["expire_tokens"] for p in plans) and scope["path"].startswith("/ens/service"):
            sandbox.ens.expire_tokens()
        error = next((p["error"] for p in plans if p["error"]), None)
        if error is not None:
            await _error(send, error, scope["path"])
            return
        if any(p["drop_before"] for p in plans):
            await _drop(send)
        after = any(p["drop_after"] for p in plans)
        hang = any(p["timeout"] for p in plans)
        garble = any(p["garble"] for p in plans)
        if not after and not hang and not garble:
            await self.inner(scope, receive, send)
            return
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await self.inner(scope, receive, hold)  # acted on: the change happened
        if after:
            await _drop(send)
        if garble:
            await _garbled(send)
            return
        await asyncio.sleep(max(f.hang for f in active))
        for message in held:
            await send(message)


_MESSAGES = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 429: "Too many requests"}


async def _error(send: Any, status: int, path: str = "", extra: list[tuple[bytes, bytes]] | None = None) -> None:
    message = _MESSAGES.get(status, "The service is temporarily unavailable")
    if path.startswith("/v1"):  # Encharge's envelope
        from .encharge_state import error_body

        body = json.dumps(error_body(message)).encode()
    else:
        body = json.dumps({"message": message, "messageId": status}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers.extend(extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _garbled(send: Any) -> None:
    body = b"<html><body><h1>Request received</h1></body></html>"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Any) -> None:
    # Start a response that promises a body, then fail: uvicorn closes the connection.
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")]})
    raise DroppedConnection("connection dropped by fault injection")
