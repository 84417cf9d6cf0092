"""The core of the ENS client: configuration, the session, the hourly budget, errors, account metadata.

The resource methods (supporters, queries, pages, exports) live in the modules beside this
one and build on :class:`ENSCore`; :class:`enstoolkit.ENSClient` puts them together.

Example:
    >>> from enstoolkit import ENSClient
    >>> ENSClient("key-1234", "http://127.0.0.1:9/ens/service").budget_remaining
    5000
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import polars as pl

from ..errors import (
    APIError,
    BudgetExceeded,
    EnstoolkitError,
    InactiveUser,
    InvalidAPIKey,
    InvalidSessionToken,
    PermissionDenied,
    RateLimitExceeded,
    UnregisteredSourceAddress,
    UserNotFound,
)
from ..http import BaseClient, ErrorBody, RequestLog, RetryPolicy, json_or_none
from ..inputs.arguments import api_key_from, check_base_url, check_id, check_int
from ..records.paths import data_dir
from ..schemas.date_order import check_order
from ..schemas.ens import FIELDS, QUESTION_DETAIL, QUESTIONS
from ..schemas.frames import read_frame
from .auth import ENSAuth
from .payloads import canonical_questions, canonical_record
from .readers import reporting_zone

__all__ = ["DEFAULT_BASE_URL", "ENS_HOSTS", "ENSCore", "normalise_base_url"]

DEFAULT_BASE_URL = "https://www.e-activist.com/ens/service"
ENS_HOSTS = frozenset({
    "www.e-activist.com", "e-activist.com", "us.e-activist.com", "ca.engagingnetworks.app",
    "us.engagingnetworks.app", "us2.engagingnetworks.app", "ca-vault.engagingnetworks.app",
    "us-vault.engagingnetworks.app",
})
HOURLY_LIMIT = 5000


def normalise_base_url(base_url: str) -> str:
    """Check an ENS base URL and give it the ``/ens/service`` path.

    Accepts the ENS hosts (www./us.e-activist.com, ca/us/us2.engagingnetworks.app and
    their -vault hosts) over https, and loopback addresses (the sandbox) over http.

    Example:
        >>> normalise_base_url("https://us.engagingnetworks.app")
        'https://us.engagingnetworks.app/ens/service'
    """
    allowed = "https://<host>/ens/service with host one of " + ", ".join(sorted(ENS_HOSTS))
    allowed += ", or http://127.0.0.1:<port>/ens/service for the sandbox"
    return check_base_url(base_url, hosts=ENS_HOSTS, suffix="/ens/service", allowed=allowed)


class ENSCore(BaseClient):
    """Configuration, session, budget and account metadata of an ENS client (see :class:`enstoolkit.ENSClient`).

    Example:
        >>> core = ENSCore("key-1234", "http://127.0.0.1:9/ens/service")
        >>> core, core.hourly_limit
        (ENSClient(base_url='http://127.0.0.1:9/ens/service', session='none'), 5000)
    """

    service: ClassVar[str] = "ENS"
    _auth_errors: ClassVar[tuple[tuple[str, type[APIError]], ...]] = (
        ("invalid ens-auth-token", InvalidSessionToken),
        ("exceeded its api limit", RateLimitExceeded),
        ("invalid api key", InvalidAPIKey),
        ("user was not found", UserNotFound),
        ("unregistered source address", UnregisteredSourceAddress),
        ("is not active", InactiveUser),
        ("adequate permissions", PermissionDenied),
    )

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        hourly_limit: int = HOURLY_LIMIT,
        date_order: str | None = None,
        timezone: str | None = None,
    ) -> None:
        key = api_key_from(api_key, "ENS_API_KEY", "ENS")
        self.date_order = check_order(date_order)
        #: the zone of the export files' dates and times (``timezone``, else ``ENS_TIMEZONE``, else US/Eastern)
        self.timezone = reporting_zone(timezone)
        base = normalise_base_url(base_url or os.environ.get("ENS_BASE_URL") or DEFAULT_BASE_URL)
        self.hourly_limit = check_int("hourly_limit", hourly_limit, 1, None)
        self.auth = ENSAuth(key, base)
        self._fields: pl.DataFrame | None = None
        self._questions: pl.DataFrame | None = None
        self._export_turn = threading.Lock()  # export jobs run one after the other (see ExportMethods)
        scope = hashlib.sha256(f"{base}\n{key}".encode()).hexdigest()[:24]
        self._fingerprint = f"{base} API user {scope}"  # the request log's scope: a hash, never the key
        super().__init__(base, auth=self.auth, timeout=timeout, transport=transport,
                         headers={"Content-Type": "application/json"}, retry=retry,
                         request_log=RequestLog(path=data_dir() / "ens-requests.sqlite3", scope=scope))

    def __repr__(self) -> str:
        return f"ENSClient(base_url={self.base_url!r}, session={'active' if self.auth.token else 'none'!r})"

    def _secrets(self) -> Iterable[str | None]:
        """The API key and every session token issued (for redaction; never shown).

        Example:
            >>> "key-1234" in ENSCore("key-1234", "http://127.0.0.1:9/ens/service")._secrets()
            True
        """
        return self.auth.secrets()

    def _parse_error(self, response: httpx.Response) -> ErrorBody:
        """ENS's error body: ``{"message", "messageId", "developerMessage"}``.

        Example:
            >>> answer = httpx.Response(401, json={"messageId": 10000006, "message": "Invalid ens-auth-token"})
            >>> body = ENSCore("key-1234", "http://127.0.0.1:9/ens/service")._parse_error(answer)
            >>> body.message, body.code
            ('Invalid ens-auth-token', 10000006)
        """
        body = json_or_none(response)
        if not isinstance(body, Mapping):
            return ErrorBody()
        return ErrorBody(str(body.get("message") or body.get("error") or ""), body.get("messageId"),
                         body.get("developerMessage"))

    def _account_fingerprint(self) -> str:
        """Which account this client acts on, without a secret: the base URL and a hash of the API user's key.

        The same hash names the API user's requests in the hourly request count; the key cannot
        be read back from it. Journalled runs record it, so a run is never resumed on another
        account (see :mod:`enstoolkit.bulk`). No request is sent.

        Example:
            >>> one = ENSCore("key-1234", "http://127.0.0.1:9/ens/service")
            >>> one._account_fingerprint() == ENSCore("key-1234", "http://127.0.0.1:9/ens/service")._account_fingerprint()
            True
            >>> one._account_fingerprint() == ENSCore("key-5678", "http://127.0.0.1:9/ens/service")._account_fingerprint()
            False
            >>> "key-1234" in one._account_fingerprint(), one._account_fingerprint().startswith("http://127.0.0.1:9")
            (False, True)
        """
        return self._fingerprint

    @property
    def _live_card_host(self) -> bool:
        """Whether live card numbers may go to this host (a -vault host, or the sandbox on loopback).

        Example:
            >>> ENSCore("key-1234", "https://ca.engagingnetworks.app")._live_card_host
            False
            >>> ENSCore("key-1234", "https://ca-vault.engagingnetworks.app")._live_card_host
            True
        """
        host = urlsplit(self.base_url).hostname or ""
        return host not in ENS_HOSTS or "-vault" in host

    # -- the hourly request budget -------------------------------------------------------
    @property
    def budget_remaining(self) -> int:
        """Requests left in the rolling hour (ENS allows ``hourly_limit``, 5,000, per API user).

        Counted across sessions and processes on this machine for the same API user and host.

        Example:
            >>> from enstoolkit import ENSClient
            >>> ENSClient("key-1234", "http://127.0.0.1:9/ens/service", hourly_limit=100).budget_remaining
            100
        """
        return max(0, self.hourly_limit - self.requests_last_hour)

    def _ensure_budget(self, needed: int, what: str = "this job") -> None:
        """Refuse to start work that cannot finish within the hour's remaining requests.

        Raises :class:`~enstoolkit.errors.BudgetExceeded` saying how many are needed and left.

        Example:
            >>> from enstoolkit import ENSClient
            >>> ENSClient("key-1234", "http://127.0.0.1:9/ens/service", hourly_limit=10)._ensure_budget(5)
        """
        left = self.budget_remaining
        if needed > left:
            raise BudgetExceeded(what, needed, left, self.hourly_limit)

    # -- session -------------------------------------------------------------------------
    def _session_token(self) -> str:
        """The session token, authenticating first when there is none (never shown anywhere).

        Example:
            >>> sb.ens.token_valid(ens._session_token())
            True
        """
        with self.auth.lock:
            token = self.auth.fresh()
            if token is None:
                login = self.auth.login_request()
                response = self._send("POST", "/authenticate", content=login.content,
                                     headers={"Content-Type": "application/json"}, retry=True)
                token = self.auth.accept(response)
                assert token is not None
            return token

    def validate_session(self) -> bool:
        """Ask ENS whether the current session token is valid (GET /authenticate/{token}).

        Authenticates first when there is no session yet.

        Example:
            >>> ens.validate_session()
            True
        """
        body = self._json("GET", f"/authenticate/{self._session_token()}")
        return bool(isinstance(body, Mapping) and body.get("valid"))

    def close(self) -> None:
        """End the ENS session (DELETE /authenticate/{token}) and close connections.

        Example:
            >>> from enstoolkit import ENSClient
            >>> ens = ENSClient(sb.ens_api_key, sb.ens_url)
            >>> _ = ens.get_fields()
            >>> ens.close()
        """
        token = self.auth.fresh()
        if token:
            try:
                self._send("DELETE", f"/authenticate/{token}", ok=(200, 204), retry=False)
            except EnstoolkitError:
                pass  # the session dies with its time to live anyway
            self.auth.forget()
        super().close()

    # -- account metadata ----------------------------------------------------------------
    def get_fields(self, *, refresh: bool = False) -> pl.DataFrame:
        """The account's supporter fields (GET /supporter/fields): id, name, tag, property.

        Cached for the life of the client; ``refresh=True`` asks again.

        Example:
            >>> "Email Address" in ens.get_fields().get_column("name").to_list()
            True
        """
        if self._fields is None or refresh:
            self._fields = read_frame(self._send("GET", "/supporter/fields").content, FIELDS)
        return self._fields

    def get_questions(self, *, refresh: bool = False) -> pl.DataFrame:
        """The account's questions (GET /supporter/questions): id, questionId, name, type.

        ``type`` is OPT (opt-in), GEN (general) or CONF (confirmation). Cached like fields.

        Example:
            >>> sorted(set(ens.get_questions().get_column("type")))
            ['CONF', 'GEN', 'OPT']
        """
        if self._questions is None or refresh:
            self._questions = read_frame(self._send("GET", "/supporter/questions").content, QUESTIONS)
        return self._questions

    def get_question(self, question_id: int | str) -> pl.DataFrame:
        """One question's configuration, one row per locale (GET /supporter/questions/{id}).

        Choices are in ``content`` (a list); a range question's bounds are in ``range`` (min,
        max, step, labels) and its starting value in ``rangeValue``. An unknown id gives an
        empty frame (ENS answers ``[]`` or 204).

        Example:
            >>> qid = ens.get_questions().get_column("id")[0]
            >>> ens.get_question(qid).select("locale", "htmlFieldType").rows()
            [('en-GB', 'checkbox'), ('en-US', 'checkbox')]
        """
        qid = check_id("question_id", question_id)
        response = self._send("GET", f"/supporter/questions/{qid}", ok=(200, 204, 404))
        body = json_or_none(response) if response.status_code == 200 else []
        if not isinstance(body, list):
            raise APIError("ENS", 200, f"expected a list of question locales, got {type(body).__name__}")
        return read_frame([_question_locale(item) for item in body], QUESTION_DETAIL)

    def optin_questions(self) -> list[str]:
        """The names of the account's opt-in (and confirmation) questions.

        Example:
            >>> ens.optin_questions()[0]
            'Marketing Optin'
        """
        questions = self.get_questions()
        return questions.filter(pl.col("type").is_in(["OPT", "CONF"])).get_column("name").to_list()

    @property
    def email_field(self) -> str:
        """The name of the account's email field (the field tagged "Email Address").

        Example:
            >>> ens.email_field
            'Email Address'
        """
        fields = self.get_fields()
        tagged = fields.filter(pl.col("tag") == "Email Address").get_column("name").to_list()
        if tagged:
            return str(tagged[0])
        by_property = fields.filter(pl.col("property") == "emailAddress").get_column("name").to_list()
        return str(by_property[0]) if by_property else "Email Address"

    def _check_record(self, record: Mapping[str, Any], argument: str = "record") -> dict[str, Any]:
        """A supporter record with field names in the account's spelling and values as ENS takes them.

        Unknown field names are refused before anything is sent, listing the account's fields.

        Example:
            >>> ens._check_record({"first name": "Jo", "city": "Leeds"})
            {'First Name': 'Jo', 'City': 'Leeds'}
        """
        names = self.get_fields().get_column("name").to_list()
        return canonical_record(record, names, self.email_field, argument)

    def _check_questions(self, questions: Any, argument: str = "questions") -> dict[str, str]:
        """Question answers keyed by the account's question names, checked ("Y"/"N" for opt-ins).

        Example:
            >>> ens._check_questions({"marketing optin": True})
            {'Marketing Optin': 'Y'}
        """
        known = self.get_questions()
        return canonical_questions(questions, zip(known["name"], known["type"], strict=True), argument)



def _question_locale(item: Any) -> dict[str, Any]:
    """One locale of a question with its ``content`` unwrapped: choices as a list, a range as ``range``."""
    if not isinstance(item, Mapping):
        raise APIError("ENS", 200, f"expected question objects, got {type(item).__name__}")
    out = dict(item)
    content = out.get("content")
    if isinstance(content, Mapping):
        if "rangeData" in content:
            out["range"] = content.get("rangeData")
            out["rangeValue"] = content.get("value")
            out["content"] = None
        else:
            out["content"] = content.get("data")
    return out
