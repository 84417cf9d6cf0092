"""The core of the Encharge client: configuration, the token, errors, and the account's metadata
(tags, fields, segments, account) and webhook subscriptions.

Example:
    >>> encharge.get_account().item(0, "status")
    'active'
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Generator, Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import httpx
import polars as pl

from ..errors import APIError, ValidationError
from ..http import BaseClient, ErrorBody, RetryPolicy, json_or_none
from ..inputs.arguments import api_key_from, check_base_url, check_id
from ..schemas.encharge import ACCOUNT, FIELD, SEGMENT, SUBSCRIPTION, TAG
from ..schemas.frames import read_frame
from .payloads import check_event, mask_url_secret

__all__ = ["DEFAULT_BASE_URL", "ENCHARGE_HOSTS", "EnchargeAuth", "EnchargeCore", "html_message", "list_in",
           "normalise_base_url"]

DEFAULT_BASE_URL = "https://api.encharge.io/v1"
ENCHARGE_HOSTS = frozenset({"api.encharge.io"})
_TAGS = re.compile(r"<[^>]+>")
_PRE = re.compile(r"<pre[^>]*>(.*?)</pre>", re.IGNORECASE | re.DOTALL)
_HEAD = re.compile(r"<(head|script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)


def html_message(page: str) -> str:
    """The message of an HTML error page: its ``<pre>`` (Express: "Cannot GET /v1/x"), else its visible text.

    Example:
        >>> html_message("<html><head><title>Error</title></head><body><pre>Cannot GET /v1/x</pre></body></html>")
        'Cannot GET /v1/x'
        >>> html_message("<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>")
        '502 Bad Gateway nginx'
    """
    found = _PRE.search(page)
    text = found.group(1) if found else _HEAD.sub(" ", page)
    return " ".join(html.unescape(_TAGS.sub(" ", text)).split())[:300]


def normalise_base_url(base_url: str) -> str:
    """Check an Encharge base URL: ``https://api.encharge.io/v1`` or a loopback sandbox.

    Example:
        >>> normalise_base_url("https://api.encharge.io")
        'https://api.encharge.io/v1'
    """
    allowed = "https://api.encharge.io/v1, or http://127.0.0.1:<port>/v1 for the sandbox"
    return check_base_url(base_url, hosts=ENCHARGE_HOSTS, suffix="/v1", allowed=allowed)


def list_in(body: Any, key: str) -> list[Any]:
    """The list under ``key`` of a response body; raises naming the key when it is not there.

    Example:
        >>> list_in({"tags": [1]}, "tags")
        [1]
    """
    if isinstance(body, Mapping) and isinstance(body.get(key), list):
        return list(body[key])
    raise APIError("Encharge", 200, f"expected {{{key!r}: [...]}} in the response")


class EnchargeAuth(httpx.Auth):
    """Encharge's API key in the ``X-Encharge-Token`` header of every request.

    Example:
        >>> request = httpx.Request("GET", "https://api.encharge.io/v1/tags-management")
        >>> next(EnchargeAuth("k-123").auth_flow(request)).headers["X-Encharge-Token"]
        'k-123'
    """

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __repr__(self) -> str:
        return "EnchargeAuth()"

    def secrets(self) -> tuple[str, ...]:
        """The key (for redaction; never shown).

        Example:
            >>> EnchargeAuth("k-123").secrets()
            ('k-123',)
        """
        return (self._api_key,)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Put the key in the request's ``X-Encharge-Token`` header.

        Example:
            >>> request = httpx.Request("GET", "https://api.encharge.io/v1/accounts/info")
            >>> "X-Encharge-Token" in next(EnchargeAuth("k-123").auth_flow(request)).headers
            True
        """
        request.headers["X-Encharge-Token"] = self._api_key
        yield request


class EnchargeCore(BaseClient):
    """Configuration, errors, metadata and subscriptions of :class:`enstoolkit.EnchargeClient`.

    Example:
        >>> core = EnchargeCore("key-1234", "http://127.0.0.1:9/v1")
        >>> core, core.service
        (EnchargeCore(base_url='http://127.0.0.1:9/v1'), 'Encharge')
    """

    service: ClassVar[str] = "Encharge"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.auth = EnchargeAuth(api_key_from(api_key, "ENCHARGE_API_KEY", "Encharge"))
        self._created_subscriptions: dict[int, dict[str, Any]] = {}
        self._hook_secrets: set[str] = set()  # the secrets of webhook URLs sent: kept out of every error
        self._account_id: int | None = None
        self._by_email: tuple[float, dict[str, list[dict[str, Any]]]] | None = None  # people_by_email's copy
        url = base_url or os.environ.get("ENCHARGE_BASE_URL") or DEFAULT_BASE_URL
        super().__init__(normalise_base_url(url), auth=self.auth, timeout=timeout, transport=transport, retry=retry)

    def _secrets(self) -> Iterable[str | None]:
        """The API key and the secrets of the webhook URLs subscribed through this client (for redaction; never shown).

        Example:
            >>> "key-1234" in EnchargeCore("key-1234", "http://127.0.0.1:9/v1")._secrets()
            True
        """
        return (*self.auth.secrets(), *sorted(self._hook_secrets))

    def _redact(self, text: str) -> str:
        """``text`` with the API key, and the secret of any webhook URL (``.../hooks/<secret>``), replaced by ``***``.

        Every error this client raises goes through it: an Encharge message that echoes a
        subscribed URL does not carry the listener's secret.

        Example:
            >>> core = EnchargeCore("key-1234", "http://127.0.0.1:9/v1")
            >>> core._redact("key-1234 may not subscribe 'https://hooks.example.org/hooks/s3cr3t-s3cr3t-s3cr3t'")
            "*** may not subscribe 'https://hooks.example.org/hooks/***'"
        """
        return str(mask_url_secret(super()._redact(text)))

    def _parse_error(self, response: httpx.Response) -> ErrorBody:
        """Encharge's error body: ``{"error": {"message", "errorCode"?, ...}}``, ``{"error": "text"}``, or an
        HTML page ("Cannot GET /v1/...") for an unknown route.

        Example:
            >>> core = EnchargeCore("key-1234", "http://127.0.0.1:9/v1")
            >>> body = {"error": {"message": "Person not found.", "errorCode": 7}}
            >>> core._parse_error(httpx.Response(400, json=body)).code
            7
            >>> page = "<html><body><pre>Cannot GET /v1/x</pre></body></html>"
            >>> core._parse_error(httpx.Response(404, html=page)).message
            'Cannot GET /v1/x'
        """
        body = json_or_none(response)
        if isinstance(body, Mapping):
            inner = body.get("error")
            if isinstance(inner, Mapping):
                return ErrorBody(str(inner.get("message") or ""), inner.get("errorCode"))
            if isinstance(inner, str):
                return ErrorBody(inner)
            if body.get("message"):
                return ErrorBody(str(body["message"]))
            return ErrorBody()
        if "html" in response.headers.get("content-type", "") and response.content:
            return ErrorBody(html_message(response.text))
        return ErrorBody()

    # -- account metadata ------------------------------------------------------------------
    def get_tags(self) -> pl.DataFrame:
        """The account's tags with their counts (GET /tags-management).

        Example:
            >>> encharge.get_tags().columns
            ['tag', 'color', 'count', 'createdAt', 'description']
        """
        return read_frame(self._send("GET", "/tags-management").content, TAG, key="tags")

    def get_fields(self) -> pl.DataFrame:
        """The person fields of the account (GET /fields).

        Example:
            >>> "email" in encharge.get_fields().get_column("name").to_list()
            True
        """
        return read_frame(list_in(self._json("GET", "/fields"), "items"), FIELD, extra=True)

    def get_segments(self) -> pl.DataFrame:
        """The account's segments (GET /segments); ``conditions`` as JSON text.

        Example:
            >>> encharge.get_segments().get_column("name").to_list()[0]
            'Donors'
        """
        return read_frame(list_in(self._json("GET", "/segments"), "segments"), SEGMENT)

    def get_account(self) -> pl.DataFrame:
        """The account (GET /accounts/info) as a one-row frame.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> encharge.get_account().item(0, "name")
            'Sandbox Charity'
        """
        body = self._json("GET", "/accounts/info")
        if not isinstance(body, Mapping):
            raise APIError("Encharge", 200, "expected the account object")
        return read_frame([body], ACCOUNT)

    def account_id(self) -> int:
        """The account's id (from GET /accounts/info, asked once per client): what the toolkit's records are kept by.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5, seed=3) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.account_id() == sb.encharge.account_id
            True
        """
        if self._account_id is None:
            value = self.get_account().item(0, "accountId")
            if value is None:
                raise APIError("Encharge", 200, "the account answered without an accountId")
            self._account_id = int(value)
        return self._account_id

    def _account_fingerprint(self) -> str:
        """Which account this client acts on, without a secret: the base URL and the account's id.

        Journalled runs record it, so a run is never resumed on another account (see
        :mod:`enstoolkit.bulk`). Asks GET /accounts/info once per client (see :meth:`account_id`).

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5, seed=3) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc._account_fingerprint() == f"{sb.encharge_url} account {sb.encharge.account_id}"
            True
        """
        return f"{self.base_url} account {self.account_id()}"

    # -- webhook subscriptions ---------------------------------------------------------------
    def create_subscription(self, event: str, url: str, *, name: str | None = None) -> int:
        """Subscribe a URL to an event (POST /event-subscriptions); returns the subscription id.

        Events: newUser, updatedUser, unsubscribedUser, added-tag-{tag}, removed-tag-{tag}.

        Example:
            >>> sid = encharge.create_subscription("newUser", "http://127.0.0.1:9/hook")
            >>> sid > 0
            True
            >>> encharge.delete_subscription(sid)
        """
        event = check_event(event)
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("url", mask_url_secret(url), "an http(s) URL that can receive POST requests")
        secret = re.search(r"/hooks/([^/?#]+)", parts.path or "")
        if secret:  # an error that echoes the URL, in any form, is redacted
            self._hook_secrets.update({secret.group(1), unquote(secret.group(1))})
        body: dict[str, Any] = {"eventType": event, "url": url}
        if name is not None:
            body["eventName"] = str(name)
        result = self._json("POST", "/event-subscriptions", json=body, ok=(200, 201), retry=False)
        if not isinstance(result, Mapping) or not isinstance(result.get("subscription"), Mapping):
            raise APIError("Encharge", 200, "expected {'subscription': {'id': ...}} in the response")
        sid = int(result["subscription"]["id"])
        self._created_subscriptions[sid] = {"id": sid, "eventType": event, "url": url, "eventName": name}
        return sid

    def list_subscriptions(self) -> pl.DataFrame:
        """The account's event subscriptions (a listener's URL secret masked: ``.../hooks/***``).

        Encharge documents no list endpoint; where the API answers 404 the frame holds the
        subscriptions made through this client.

        Example:
            >>> sid = encharge.create_subscription("unsubscribedUser", "http://127.0.0.1:9/hook")
            >>> encharge.list_subscriptions().filter(pl.col("id") == sid).get_column("eventType").to_list()
            ['unsubscribedUser']
            >>> encharge.delete_subscription(sid)
        """
        response = self._send("GET", "/event-subscriptions", ok=(200, 404))
        if response.status_code == 404:
            records = list(self._created_subscriptions.values())
        else:
            records = list_in(response.json(), "subscriptions")
        records = [{**r, "url": mask_url_secret(r.get("url"))} if isinstance(r, Mapping) else r for r in records]
        return read_frame(records, SUBSCRIPTION)

    def delete_subscription(self, subscription_id: int | str) -> None:
        """Delete an event subscription (DELETE /event-subscriptions/{id}).

        Example:
            >>> sid = encharge.create_subscription("newUser", "http://127.0.0.1:9/hook")
            >>> encharge.delete_subscription(sid)
            >>> sid in encharge.list_subscriptions().get_column("id").to_list()
            False
        """
        sid = check_id("subscription_id", subscription_id)
        self._send("DELETE", f"/event-subscriptions/{sid}", ok=(204, 200))
        self._created_subscriptions.pop(sid, None)
