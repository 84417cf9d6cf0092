"""ENS's session as an ``httpx.Auth``: authenticate lazily, send the token, renew it once when ENS refuses it.

ENS authenticates by POSTing the API user's key, raw, as the body of ``/authenticate``
(not JSON-quoted: ENS refuses a quoted key); the answer's ``ens-auth-token`` goes in the
``ens-auth-token`` header of every other request, and lives ``expires`` milliseconds. When
ENS answers "Invalid ens-auth-token" (expired or retired early), the flow authenticates again,
once, under a lock (so sixteen threads meeting one expiry authenticate once), and resends
the request: ENS refused it before acting on it, so resending is safe.

Example:
    >>> auth = ENSAuth("0b4336a5-23d2-314d-a1aa-2a0a29bff157", "http://127.0.0.1:9/ens/service")
    >>> auth.login_request().url.path, auth.token is None
    ('/ens/service/authenticate', True)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Mapping

import httpx

from ..errors import AuthenticationError

__all__ = ["ENSAuth"]

INVALID_TOKEN = "invalid ens-auth-token"


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


class ENSAuth(httpx.Auth):
    """The ``httpx.Auth`` flow of an ENS API user (see the module's description).

    Attributes:
        token: the current session token (None before the first request).
        issued: every token this client held, so that they can be redacted from messages.
        logins: how many times it authenticated.

    Example:
        >>> auth = ENSAuth("k-123", "http://127.0.0.1:9/ens/service")
        >>> auth.accept(httpx.Response(200, json={"ens-auth-token": "t-1", "expires": 3_600_000}))
        't-1'
        >>> auth, auth.logins
        (ENSAuth(session='active'), 1)
    """

    def __init__(self, api_key: str, base_url: str) -> None:
        self._api_key = api_key
        self._login_url = base_url.rstrip("/") + "/authenticate"
        self.lock = threading.Lock()
        self.token: str | None = None
        self.issued: set[str] = set()
        self.logins = 0
        self._deadline = 0.0

    def __repr__(self) -> str:
        return f"ENSAuth(session={'active' if self.token else 'none'!r})"

    def secrets(self) -> tuple[str, ...]:
        """The key and every token issued (for redaction; never shown).

        Example:
            >>> auth = ENSAuth("k-123", "http://127.0.0.1:9/ens/service")
            >>> _ = auth.accept(httpx.Response(200, json={"ens-auth-token": "t-1"}))
            >>> sorted(auth.secrets())
            ['k-123', 't-1']
        """
        return (self._api_key, *self.issued)

    def login_request(self) -> httpx.Request:
        """The authentication request: the raw key as the body.

        Example:
            >>> request = ENSAuth("k-123", "http://127.0.0.1:9/ens/service").login_request()
            >>> request.method, request.url.path, request.content
            ('POST', '/ens/service/authenticate', b'k-123')
        """
        return httpx.Request("POST", self._login_url, content=self._api_key.encode(),
                             headers={"Content-Type": "application/json"})

    def accept(self, response: httpx.Response) -> str | None:
        """Keep the token of an authentication answer; None when ENS refused (the answer says why).

        Example:
            >>> auth = ENSAuth("k-123", "http://127.0.0.1:9/ens/service")
            >>> auth.accept(httpx.Response(401, json={"message": "Invalid api key [***]"})) is None
            True
            >>> auth.accept(httpx.Response(200, json={"ens-auth-token": "t-1", "expires": 3_600_000}))
            't-1'
        """
        if response.status_code != 200:
            return None
        body = _json(response)
        token = body.get("ens-auth-token") if isinstance(body, Mapping) else None
        if not token:
            raise AuthenticationError("ENS", 200, "authentication answered without a token", method="POST",
                                      path="/authenticate")
        ttl_ms = float(body.get("expires") or 3_600_000) if isinstance(body, Mapping) else 3_600_000.0
        self.token = str(token)
        self.issued.add(self.token)
        self.logins += 1
        self._deadline = time.monotonic() + ttl_ms / 1000 - min(60.0, ttl_ms / 1000 * 0.1)
        return self.token

    def fresh(self) -> str | None:
        """The token, if there is one and its time to live has not run out.

        Example:
            >>> auth = ENSAuth("k-123", "http://127.0.0.1:9/ens/service")
            >>> auth.fresh() is None
            True
            >>> _ = auth.accept(httpx.Response(200, json={"ens-auth-token": "t-1", "expires": 3_600_000}))
            >>> auth.fresh()
            't-1'
        """
        token = self.token
        return token if token is not None and time.monotonic() < self._deadline else None

    def forget(self) -> str | None:
        """Drop the token (it was retired); returns what it was.

        Example:
            >>> auth = ENSAuth("k-123", "http://127.0.0.1:9/ens/service")
            >>> _ = auth.accept(httpx.Response(200, json={"ens-auth-token": "t-1"}))
            >>> auth.forget(), auth.token
            ('t-1', None)
        """
        token, self.token = self.token, None
        return token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The flow httpx runs for each request: log in when there is no live token, send the token,
        and renew it once when ENS answers "Invalid ens-auth-token".

        Example:
            >>> auth = ENSAuth("k-123", "http://127.0.0.1:9/ens/service")
            >>> flow = auth.sync_auth_flow(httpx.Request("GET", "http://127.0.0.1:9/ens/service/supporter/fields"))
            >>> next(flow).url.path   # first the login
            '/ens/service/authenticate'
            >>> login = httpx.Response(200, json={"ens-auth-token": "t-1", "expires": 3_600_000})
            >>> flow.send(login).headers["ens-auth-token"]   # then the request, with the session token
            't-1'
        """
        if request.method == "POST" and request.url.path == httpx.URL(self._login_url).path:
            yield request  # the login itself, sent by the client
            return
        token = self.fresh()
        if token is None:
            with self.lock:
                token = self.fresh()
                if token is None:
                    login = yield self.login_request()
                    login.read()
                    token = self.accept(login)
                    if token is None:
                        return  # ENS refused the key: its answer goes back to the caller
        request.headers["ens-auth-token"] = token
        response = yield request
        if response.status_code != 401 or "/authenticate/" in request.url.path:
            return  # validating or retiring a token is never renewed
        response.read()
        body = _json(response)
        if not (isinstance(body, Mapping) and INVALID_TOKEN in str(body.get("message", "")).lower()):
            return
        with self.lock:
            if self.token in (token, None):  # nobody has renewed it meanwhile
                self.token = None
                login = yield self.login_request()
                login.read()
                if self.accept(login) is None:
                    return
            renewed = self.token
        assert renewed is not None
        request.headers["ens-auth-token"] = renewed
        yield request
