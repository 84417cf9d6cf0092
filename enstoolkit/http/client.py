"""The one send path of both API clients.

:class:`BaseClient` owns one ``httpx.Client`` (connection reuse, explicit timeouts). Every
request goes out through :meth:`BaseClient.send`, built on httpx's own layers:

- authentication is an ``httpx.Auth`` given at construction (ENS's session token flow,
  Encharge's token header);
- request counting and the server clock are ``httpx`` event hooks, so no request can bypass
  them (retries and re-authentication included);
- retries follow a :class:`~enstoolkit.http.retry.RetryPolicy` object, honour ``Retry-After``
  and apply only to requests that are safe to repeat;
- one error ladder turns a failed answer into a typed :class:`~enstoolkit.errors.APIError`,
  with a per-vendor parser for the error body; secrets are redacted from every message.

Example:
    >>> from enstoolkit import EnchargeClient
    >>> client = EnchargeClient("key-1234", "http://127.0.0.1:9/v1", retry=RetryPolicy(attempts=1))
    >>> isinstance(client, BaseClient), client.retry.attempts
    (True, 1)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx

from .._version import __version__
from ..errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDenied,
    RateLimitExceeded,
    ServerError,
    TransportError,
    ValidationError,
    redact,
)
from ..inputs.arguments import check_choice
from .budget import RequestLog
from .redact import install_redaction
from .retry import IDEMPOTENT_METHODS, RetryPolicy, retry_after
from .server_time import SENT_AT, ServerClock

__all__ = ["USER_AGENT", "BaseClient", "ErrorBody", "json_or_none"]

logger = logging.getLogger("enstoolkit")
install_redaction()

USER_AGENT = f"enstoolkit/{__version__} (+python-httpx)"
T = TypeVar("T")
R = TypeVar("R")
#: Transport errors raised before the request could reach the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class ErrorBody:
    """What a vendor's error body says: the message, its code and any developer message.

    Example:
        >>> body = ErrorBody("Invalid ens-auth-token", 10000006)
        >>> body.message, body.code, body.developer
        ('Invalid ens-auth-token', 10000006, None)
    """

    __slots__ = ("code", "developer", "message")

    def __init__(self, message: str = "", code: int | str | None = None, developer: str | None = None) -> None:
        self.message = message
        self.code = code
        self.developer = developer


def json_or_none(response: httpx.Response) -> Any:
    """The response's JSON body, or ``None`` when it is empty or not JSON.

    Example:
        >>> json_or_none(httpx.Response(204)) is None, json_or_none(httpx.Response(200, json={"a": 1}))
        (True, {'a': 1})
    """
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


class BaseClient:
    """Plumbing shared by :class:`~enstoolkit.ENSClient` and :class:`~enstoolkit.EnchargeClient`.

    Subclasses set :attr:`service`, give an ``auth`` and implement :meth:`parse_error` (and
    :meth:`secrets`). Use a client as a context manager, or call :meth:`close`.

    Example:
        >>> client = BaseClient("http://127.0.0.1:9/api/", auth=None, timeout=5.0, transport=None)
        >>> client, client.retry.attempts
        (BaseClient(base_url='http://127.0.0.1:9/api'), 4)
        >>> client.close()
    """

    service: ClassVar[str] = "API"
    #: (text in the message, error class) for 401/403 answers, checked in order.
    _auth_errors: ClassVar[tuple[tuple[str, type[APIError]], ...]] = ()

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        timeout: float,
        transport: httpx.BaseTransport | None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.request_log = request_log or RequestLog()
        self.server_clock = ServerClock()
        self._pools: dict[int, ThreadPoolExecutor] = {}
        self._pools_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            follow_redirects=False,
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )

    # -- hooks ---------------------------------------------------------------------------
    def _on_request(self, request: httpx.Request) -> None:
        request.extensions[SENT_AT] = time.time()
        self.request_log.add()

    def _on_response(self, response: httpx.Response) -> None:
        self.server_clock.observe(response)

    # -- to be provided by the API clients ---------------------------------------------
    def _secrets(self) -> Iterable[str | None]:
        """The secrets to keep out of every message (API keys, session tokens).

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> "key-1234" in EnchargeClient("key-1234", "http://127.0.0.1:9/v1")._secrets()
            True
        """
        return ()

    def _parse_error(self, response: httpx.Response) -> ErrorBody:
        """Read the vendor's error body.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> answer = httpx.Response(404, json={"error": {"message": "Person not found.", "errorCode": 404}})
            >>> body = EnchargeClient("key-1234", "http://127.0.0.1:9/v1")._parse_error(answer)
            >>> body.message, body.code
            ('Person not found.', 404)
        """
        return ErrorBody()

    # -- helpers -----------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        """``text`` with this client's secrets replaced by ``***``.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> EnchargeClient("key-1234", "http://127.0.0.1:9/v1")._redact("bad key-1234")
            'bad ***'
        """
        return redact(text, self._secrets())

    @property
    def requests_last_hour(self) -> int:
        """Requests this client (and earlier sessions of the same API user) sent in the last rolling hour.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> EnchargeClient("key-1234", "http://127.0.0.1:9/v1").requests_last_hour
            0
        """
        return self.request_log.count()

    def _error(self, response: httpx.Response, method: str, path: str) -> APIError:
        """The typed exception for a failed answer: one ladder for both APIs.

        401 is an :class:`AuthenticationError` (refined by :attr:`auth_errors`), 403
        :class:`PermissionDenied`, 429 :class:`RateLimitExceeded` (with ``retry_after``),
        404 :class:`NotFoundError`, 400/409/422 :class:`BadRequestError`, 5xx
        :class:`ServerError`; anything else :class:`APIError`.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> client = EnchargeClient("key-1234", "http://127.0.0.1:9/v1")
            >>> body = {"error": {"message": "Too many requests"}}
            >>> answer = httpx.Response(429, headers={"Retry-After": "5"}, json=body)
            >>> e = client._error(answer, "GET", "/people")
            >>> type(e).__name__, e.retry_after, str(e)
            ('RateLimitExceeded', 5.0, 'Encharge answered 429: Too many requests')
        """
        body = self._parse_error(response)
        message = self._redact(body.message or response.reason_phrase or f"HTTP {response.status_code}")
        developer = self._redact(str(body.developer)) if body.developer else None
        status = response.status_code
        cls: type[APIError] = APIError
        if status in (401, 403):
            cls = AuthenticationError if status == 401 else PermissionDenied
            lowered = message.lower()
            for needle, candidate in self._auth_errors:
                if needle in lowered:
                    cls = candidate
                    break
        elif status == 429:
            cls = RateLimitExceeded
        elif status == 404:
            cls = NotFoundError
        elif status in (400, 409, 422):
            cls = BadRequestError
        elif status >= 500:
            cls = ServerError
        kwargs: dict[str, Any] = {"message_id": body.code, "developer_message": developer, "method": method,
                                  "path": self._redact(path)}
        if cls is RateLimitExceeded:
            kwargs["retry_after"] = retry_after(response)
        return cls(self.service, status, message, **kwargs)

    # -- the one send path ---------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        content: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok: Iterable[int] = (200,),
        retry: bool | None = None,
        stream_to: Path | None = None,
        head_bytes: int | None = None,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; return the answer if its status is in ``ok``, else raise the typed error.

        ``retry`` says whether the request is safe to repeat (default: whether the method is
        idempotent); only then are transport errors and the policy's statuses retried.
        With ``stream_to``, a successful body is streamed into that file (a large export never
        sits in memory; ``head_bytes`` keeps only its start) and the returned response has no body.
        ``read_timeout`` allows this request longer than the client's timeout between bytes (a
        large export file may take the server a while to start sending).

        Example:
            >>> info, nope = encharge._send("GET", "/accounts/info"), encharge._send("GET", "/nope", ok=(404,))
            >>> info.status_code, nope.status_code
            (200, 404)
        """
        verb = method.upper()
        repeatable = verb in IDEMPOTENT_METHODS if retry is None else retry
        accepted = frozenset(ok)
        shown = self._redact(path)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                response = self._attempt(verb, path, params, json, content, headers, accepted, stream_to, head_bytes,
                                         read_timeout)
            except httpx.TransportError as exc:
                reason = self._redact(f"{type(exc).__name__}: {exc}")
                wait = self.retry.wait(attempt, None) if repeatable else None
                if wait is None:
                    failed_verb, failed_path = self._failed_request(exc, verb, path)
                    # a connection that failed while authenticating never carried this request
                    maybe_sent = not isinstance(exc, _NOT_SENT) and (failed_verb, failed_path) == (verb, path)
                    raise TransportError(self.service, failed_verb, self._redact(failed_path), reason,
                                         maybe_sent=maybe_sent) from None
                logger.warning("%s %s %s: %s; retry %d in %.2fs", self.service, verb, shown, reason, attempt + 1, wait)
                attempt += 1
                time.sleep(wait)
                continue
            logger.debug("%s %s %s -> %d in %.0f ms", self.service, verb, shown, response.status_code,
                         (time.perf_counter() - started) * 1000)
            if response.status_code in accepted:
                return response
            wait = self.retry.wait(attempt, response) if repeatable else None
            if wait is None:
                raise self._error(response, *self._failed_request(response, verb, path))
            logger.warning("%s %s %s answered %d; retry %d in %.2fs", self.service, verb, shown,
                           response.status_code, attempt + 1, wait)
            attempt += 1
            time.sleep(wait)

    def _failed_request(self, source: httpx.Response | httpx.TransportError, verb: str, path: str
                        ) -> tuple[str, str]:
        """The method and path of the request that failed: the authentication request, when that is what failed."""
        try:
            request = source.request
        except RuntimeError:  # no request attached
            return verb, path
        prefix = httpx.URL(self.base_url).path.rstrip("/")
        failed = request.url.path
        return request.method, (failed[len(prefix):] if failed.startswith(prefix) else failed) or path

    def _attempt(self, verb: str, path: str, params: Any, json: Any, content: Any, headers: Any,
                 accepted: frozenset[int], stream_to: Path | None, head_bytes: int | None = None,
                 read_timeout: float | None = None) -> httpx.Response:
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if read_timeout is not None:
            timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0), read=max(self.timeout, read_timeout))
        if stream_to is None:
            return self._http.request(verb, path, params=params, json=json, content=content, headers=headers,
                                      timeout=timeout)
        with self._http.stream(verb, path, params=params, json=json, content=content, headers=headers,
                               timeout=timeout) as response:
            if response.status_code not in accepted:
                response.read()
                return response
            written = 0
            with open(stream_to, "wb") as spool:
                for chunk in response.iter_bytes(1 << 20):
                    spool.write(chunk)
                    written += len(chunk)
                    if head_bytes is not None and written >= head_bytes:
                        break  # the start is enough; the rest is not downloaded
            return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`send`, then the decoded JSON body (``None`` for an empty one).

        Example:
            >>> encharge._json("GET", "/accounts/info")["status"]
            'active'
        """
        return json_or_none(self._send(method, path, **kwargs))

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        """An authorised call to any endpoint the client does not wrap; returns the decoded JSON (or text).

        ``path`` is relative to the base URL (``/page`` for ENS, ``/accounts/info`` for
        Encharge). It goes through the one send path: authentication, request counting, the
        retry policy (GET, PUT and DELETE are retried on failures; POST and PATCH are not) and
        the typed errors. 204 gives ``None``.

        Example:
            >>> from enstoolkit import EnchargeClient, ENSClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \\
            ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     ens.request("GET", "/page", params={"type": "pet"})[0]["subType"], \\
            ...         enc.request("GET", "/accounts/info")["status"]
            ('PET', 'active')
        """
        verb = check_choice("method", str(method).upper(), ("GET", "POST", "PUT", "PATCH", "DELETE"))
        if not isinstance(path, str) or not path.startswith("/") or "://" in path:
            raise ValidationError("path", path, "a path relative to the base URL, such as '/page'")
        response = self._send(verb, path, params=params, json=json, ok=(200, 201, 202, 204))
        if response.status_code == 204 or not response.content:
            return None
        return response.json() if "json" in response.headers.get("content-type", "") else response.text

    def _concurrently(self, fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
        """``[fn(x) for x in items]`` with up to ``workers`` requests in flight, results in order.

        Threads on the client's one connection pool (kept for the client's life): works the
        same from a script, a notebook cell or a widget callback, where an event loop is
        already running.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> EnchargeClient("key-1234", "http://127.0.0.1:9/v1")._concurrently(str.upper, ["a", "b"], 4)
            ['A', 'B']
        """
        if workers <= 1 or len(items) <= 1:
            return [fn(x) for x in items]
        with self._pools_lock:
            pool = self._pools.get(workers)
            if pool is None:
                pool = self._pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enstoolkit")
        return list(pool.map(fn, items))

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool and the worker threads (and write the request count).

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> client = EnchargeClient("key-1234", "http://127.0.0.1:9/v1")
            >>> client.close()   # or use the client in a with block, which closes it
        """
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=False)
        self._http.close()
        self.request_log.close()

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"
