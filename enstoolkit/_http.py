"""HTTP transport shared by the ENS and Encharge clients.

One ``httpx.Client`` per API client (connection reuse), explicit timeouts,
bounded exponential backoff with jitter for idempotent requests, secrets kept
out of logs and exceptions, and a rolling count of the requests sent in the
last hour.
"""

from __future__ import annotations

import atexit
import logging
import random
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from . import __version__
from .errors import TransportError, redact

logger = logging.getLogger("enstoolkit")

_TOKEN_IN_PATH = re.compile(r"(/authenticate/)[^/\s\"'?]+")


class RedactTokenPaths(logging.Filter):
    """Take ENS session tokens out of URL paths in other libraries' log lines.

    httpx logs every request's URL at INFO; ``/authenticate/{token}`` would show the token.

    Example:
        >>> url = "http://h/ens/service/authenticate/abc"
        >>> record = logging.LogRecord("httpx", 20, "", 0, "HTTP Request: %s %s", ("GET", url), None)
        >>> RedactTokenPaths().filter(record), record.getMessage()
        (True, 'HTTP Request: GET http://h/ens/service/authenticate/***')
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_TOKEN_IN_PATH.sub(r"\1***", a) if isinstance(a, str) else
                                _TOKEN_IN_PATH.sub(r"\1***", str(a)) if "authenticate/" in str(a) else a
                                for a in args)
        if isinstance(record.msg, str) and "authenticate/" in record.msg:
            record.msg = _TOKEN_IN_PATH.sub(r"\1***", record.msg)
        return True


for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(RedactTokenPaths())

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
USER_AGENT = f"enstoolkit/{__version__} (+python-httpx)"


class RequestLog:
    """Timestamps of the requests a client sent, for a rolling one-hour count.

    With a ``path``, the timestamps are kept in SQLite under ``scope`` (a hash naming the
    API user and host, never the key), so a restarted kernel, or another process using
    the same API user, counts the same requests. Writes are batched (every
    ``flush_every`` requests or second, on :meth:`count` and at :meth:`close`), so counting
    costs next to nothing per request; a killed process can lose at most one batch.

    Example:
        >>> log = RequestLog()
        >>> log.add()
        >>> log.count()
        1
    """

    flush_every = 25

    def __init__(self, window: float = 3600.0, *, path: Path | None = None, scope: str = "") -> None:
        self.window = window
        self.path = path
        self.scope = scope
        self._times: deque[float] = deque()
        self._pending: list[float] = []
        self._flushed_at = time.monotonic()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(path, timeout=30) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS requests (scope TEXT NOT NULL, at REAL NOT NULL)")
                db.execute("CREATE INDEX IF NOT EXISTS requests_scope_at ON requests (scope, at)")
                db.execute("DELETE FROM requests WHERE at < ?", (time.time() - window,))
            self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per commit; a counter needs no more
            atexit.register(self.close)

    def _flush(self) -> None:
        """Write the batched timestamps (call with the lock held)."""
        if self._db is None or not self._pending:
            return
        try:
            self._db.executemany("INSERT INTO requests (scope, at) VALUES (?, ?)",
                                 [(self.scope, at) for at in self._pending])
            self._db.commit()
            self._pending.clear()
        except sqlite3.Error:
            pass  # counting must never break a request: keep them for the next flush
        self._flushed_at = time.monotonic()

    def add(self) -> None:
        """Record one request now."""
        now = time.time()
        with self._lock:
            self._times.append(now)
            cutoff = now - self.window
            while self._times[0] < cutoff:  # keep only the window: a long-lived client stays small
                self._times.popleft()
            if self._db is not None:
                self._pending.append(now)
                if len(self._pending) >= self.flush_every or time.monotonic() - self._flushed_at > 1.0:
                    self._flush()

    def count(self) -> int:
        """How many requests were recorded within the window (by this and earlier sessions)."""
        cutoff = time.time() - self.window
        with self._lock:
            if self._db is not None:
                self._flush()
                try:
                    row = self._db.execute("SELECT COUNT(*) FROM requests WHERE scope = ? AND at >= ?",
                                           (self.scope, cutoff)).fetchone()
                    return int(row[0]) + len(self._pending)
                except sqlite3.Error:
                    pass  # fall back to this session's own count below
            while self._times and self._times[0] < cutoff:
                self._times.popleft()
            return len(self._times)

    def close(self) -> None:
        """Write what is batched and close the file."""
        with self._lock:
            self._flush()
            if self._db is not None:
                self._db.close()
                self._db = None


class HTTPBase:
    """Plumbing for an API client: session, retries, redaction, request counting.

    Subclasses set ``service`` and implement ``_secrets()``.
    """

    service = "API"
    max_retries = 3
    backoff_base = 0.25
    backoff_cap = 4.0

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None,
        headers: Mapping[str, str] | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.request_log = request_log or RequestLog()
        self._pools: dict[int, Any] = {}  # worker pools for overlapped requests, by size
        self._pools_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            follow_redirects=False,
        )

    # -- to be provided by the API clients ---------------------------------------------
    def _secrets(self) -> Iterable[str | None]:
        return ()

    # -- helpers -----------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return redact(text, self._secrets())

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return delay * (0.5 + random.random() / 2)

    @property
    def requests_last_hour(self) -> int:
        """Requests this client sent in the last rolling hour.

        Example:
            >>> from enstoolkit import ENSClient
            >>> ENSClient("key", "http://127.0.0.1:9/ens/service").requests_last_hour
            0
        """
        return self.request_log.count()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        content: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
    ) -> httpx.Response:
        """Send one request, retrying transport errors and 5xx when ``retry`` allows.

        ``retry`` defaults to whether the method is idempotent. Returns the final response,
        whatever its status; raises :class:`TransportError` when no response came.
        """
        method = method.upper()
        if retry is None:
            retry = method in IDEMPOTENT_METHODS
        shown_path = self._redact(path)
        attempt = 0
        while True:
            started = time.perf_counter()
            self.request_log.add()
            try:
                response = self._http.request(
                    method, path, params=params, json=json, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                reason = self._redact(f"{type(exc).__name__}: {exc}")
                if retry and attempt < self.max_retries:
                    delay = self._backoff(attempt)
                    logger.warning(
                        "%s %s %s: %s; retry %d in %.2fs",
                        self.service, method, shown_path, reason, attempt + 1, delay,
                    )
                    attempt += 1
                    time.sleep(delay)
                    continue
                raise TransportError(self.service, method, shown_path, reason) from None
            elapsed = (time.perf_counter() - started) * 1000
            logger.debug(
                "%s %s %s -> %d in %.0f ms", self.service, method, shown_path,
                response.status_code, elapsed,
            )
            if response.status_code in RETRY_STATUSES and retry and attempt < self.max_retries:
                delay = self._backoff(attempt)
                logger.warning(
                    "%s %s %s answered %d; retry %d in %.2fs",
                    self.service, method, shown_path, response.status_code, attempt + 1, delay,
                )
                attempt += 1
                time.sleep(delay)
                continue
            return response

    def _concurrently(self, fn: Any, items: list[Any], workers: int) -> list[Any]:
        """``[fn(x) for x in items]`` with up to ``workers`` requests in flight, results in order.

        Threads on the client's connection pool (kept for the client's life, one pool per
        size): works the same from a script, a notebook cell or a widget callback (where an
        event loop is already running).
        """
        if workers <= 1 or len(items) <= 1:
            return [fn(x) for x in items]
        with self._pools_lock:
            pool = self._pools.get(workers)
            if pool is None:
                from concurrent.futures import ThreadPoolExecutor

                pool = self._pools[workers] = ThreadPoolExecutor(max_workers=workers,
                                                                 thread_name_prefix="enstoolkit")
        return list(pool.map(fn, items))

    def close(self) -> None:
        """Close the connection pool and the worker threads (and write the request count)."""
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=False)
        self._http.close()
        self.request_log.close()


def json_or_none(response: httpx.Response) -> Any:
    """The response's JSON body, or ``None`` when it is empty or not JSON.

    Example:
        >>> json_or_none(httpx.Response(204))
    """
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
