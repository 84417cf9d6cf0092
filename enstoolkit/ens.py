"""The Engaging Networks Services (ENS) REST client.

Every read returns a polars DataFrame with an explicit schema (see
:mod:`enstoolkit.frames`). The client authenticates lazily with the API key,
keeps the session token and its time to live, and re-authenticates once,
transparently, when the token has expired or ENS answers "Invalid ens-auth-token".

Example:
    >>> from enstoolkit import ENSClient
    >>> from enstoolkit.sandbox import Sandbox
    >>> with Sandbox(supporters=100) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
    ...     ens.get_supporter(email="joe.smith@noaddress.com").height
    0
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import polars as pl

from . import frames as fr
from ._http import HTTPBase, RequestLog, json_or_none
from ._paths import data_dir
from ._validate import (
    api_key_from,
    check_base_url,
    check_choice,
    check_email,
    check_id,
    check_int,
    unknown_names,
)
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    BudgetExceeded,
    EnstoolkitError,
    InactiveUser,
    InvalidAPIKey,
    InvalidSessionToken,
    NotFoundError,
    PageProcessingError,
    PermissionDenied,
    RateLimitExceeded,
    ServerError,
    TransportError,
    UnregisteredSourceAddress,
    UserNotFound,
    ValidationError,
)

__all__ = ["DEFAULT_BASE_URL", "PAGE_STATUSES", "PAGE_TYPES", "QUERY_TYPES", "ENSClient"]

DEFAULT_BASE_URL = "https://www.e-activist.com/ens/service"
ENS_HOSTS = frozenset(
    {
        "www.e-activist.com",
        "e-activist.com",
        "us.e-activist.com",
        "ca.engagingnetworks.app",
        "us.engagingnetworks.app",
        "us2.engagingnetworks.app",
        "ca-vault.engagingnetworks.app",
        "us-vault.engagingnetworks.app",
    }
)

QUERY_TYPES = ("latestCreated", "latestModified", "suppressed", "profile", "search")
#: Page types the ENS spec lists for GET /page (the overview names dcf, mem, ems, unsub, pet, et, nd).
PAGE_TYPES = (
    "dcf", "mem", "ems", "unsub", "pet", "et", "nd", "premium", "ecommerce", "survey",
    "sp", "ss", "sh", "cc", "tp", "ev", "ec", "leadgen",
)
PAGE_STATUSES = ("new", "live", "close", "tested", "block", "delete")
EXPORT_FORMATS = ("User data", "Transaction", "Hybrid")
EXPORT_FILE_TYPES = ("csv", "standardcsv")
#: Keys that come back from GET /supporter but are not writable fields.
READ_ONLY_KEYS = frozenset({"supporterId", "suppressed", "memberships", "createdOn", "modifiedOn"})
_AUTH_MESSAGES: tuple[tuple[str, type[AuthenticationError]], ...] = (
    ("invalid ens-auth-token", InvalidSessionToken),
    ("exceeded its api limit", RateLimitExceeded),
    ("invalid api key", InvalidAPIKey),
    ("user was not found", UserNotFound),
    ("unregistered source address", UnregisteredSourceAddress),
    ("is not active", InactiveUser),
    ("adequate permissions", PermissionDenied),
)


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


class ENSClient(HTTPBase):
    """A client for the Engaging Networks Services REST API.

    Args:
        api_key: the ENS API user's key; defaults to ``ENS_API_KEY``.
        base_url: defaults to ``ENS_BASE_URL``, else ``https://www.e-activist.com/ens/service``.
            The regional hosts ``ca``/``us``/``us2.engagingnetworks.app`` are accepted.
        timeout: seconds per request.
        transport: an ``httpx`` transport (for example a recording one in tests).

    Example:
        >>> from enstoolkit.sandbox import Sandbox
        >>> with Sandbox(supporters=20) as sb:
        ...     with ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        ...         ens.get_questions().get_column("name").to_list()[0]
        'Marketing Optin'
    """

    service = "ENS"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        hourly_limit: int = 5000,
    ) -> None:
        self._api_key = api_key_from(api_key, "ENS_API_KEY", "ENS")
        url = base_url or os.environ.get("ENS_BASE_URL") or DEFAULT_BASE_URL
        self._token: str | None = None
        self._issued_tokens: set[str] = set()  # every token this client held, for redaction
        self._token_deadline = 0.0
        self._auth_lock = threading.Lock()
        self._fields: pl.DataFrame | None = None
        self._questions: pl.DataFrame | None = None
        self.hourly_limit = check_int("hourly_limit", hourly_limit, 1, None)
        base = normalise_base_url(url)
        scope = hashlib.sha256(f"{base}\n{self._api_key}".encode()).hexdigest()[:24]
        super().__init__(
            base,
            timeout=timeout,
            transport=transport,
            headers={"Content-Type": "application/json"},
            request_log=RequestLog(path=data_dir() / "ens-requests.sqlite3", scope=scope),
        )

    # -- plumbing ------------------------------------------------------------------------
    def __repr__(self) -> str:
        state = "active" if self._token else "none"
        return f"ENSClient(base_url={self.base_url!r}, session={state!r})"

    def __enter__(self) -> ENSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _secrets(self) -> Iterable[str | None]:
        return (self._api_key, *self._issued_tokens)

    def _error(self, response: httpx.Response, method: str, path: str) -> APIError:
        body = json_or_none(response)
        message = ""
        message_id = developer = None
        if isinstance(body, Mapping):
            message = str(body.get("message") or body.get("error") or "")
            message_id = body.get("messageId")
            developer = body.get("developerMessage")
        if not message:
            message = response.reason_phrase or f"HTTP {response.status_code}"
        message = self._redact(message)
        developer = self._redact(str(developer)) if developer else None
        status = response.status_code
        cls: type[APIError] = APIError
        if status == 401 or status == 403:
            cls = PermissionDenied if status == 403 else AuthenticationError
            lowered = message.lower()
            for needle, candidate in _AUTH_MESSAGES:
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
        return cls(
            "ENS", status, message, message_id=message_id, developer_message=developer,
            method=method, path=self._redact(path),
        )

    def _authenticate(self) -> str:
        """POST the raw API key to /authenticate and keep the token and its TTL."""
        response = self._send(
            "POST", "/authenticate", content=self._api_key.encode(),
            headers={"Content-Type": "application/json"}, retry=True,
        )
        if response.status_code != 200:
            raise self._error(response, "POST", "/authenticate")
        body = json_or_none(response)
        if not isinstance(body, Mapping) or not body.get("ens-auth-token"):
            raise AuthenticationError("ENS", 200, "authentication answered without a token",
                                      method="POST", path="/authenticate")
        self._token = str(body["ens-auth-token"])
        self._issued_tokens.add(self._token)
        ttl_ms = float(body.get("expires") or 3_600_000)
        margin = min(60.0, ttl_ms / 1000 * 0.1)
        self._token_deadline = time.monotonic() + ttl_ms / 1000 - margin
        return self._token

    def _session_token(self, *, renew: bool = False, failed: str | None = None) -> str:
        with self._auth_lock:
            if renew and failed is not None and self._token is not None and self._token != failed:
                return self._token  # another thread has already renewed the token that failed
            if renew or self._token is None or time.monotonic() >= self._token_deadline:
                self._token = None
                return self._authenticate()
            return self._token

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        retry: bool | None = None,
        ok: Iterable[int] = (200,),
    ) -> httpx.Response:
        """An authorised request: re-authenticates once on an expired token, raises on errors."""
        ok_statuses = set(ok)
        token = self._session_token()
        for attempt in (0, 1):
            response = self._send(
                method, path, params=params, json=json,
                headers={"ens-auth-token": token}, retry=retry,
            )
            if response.status_code in ok_statuses:
                return response
            error = self._error(response, method, path)
            if isinstance(error, InvalidSessionToken) and attempt == 0:
                # The request was refused before ENS acted on it: safe to send once more.
                token = self._session_token(renew=True, failed=token)
                continue
            raise error
        raise AssertionError("unreachable")

    # -- the hourly request budget ------------------------------------------------------------
    @property
    def budget_remaining(self) -> int:
        """Requests left in the rolling hour (ENS allows ``hourly_limit``, 5,000, per API user).

        Counted across sessions and processes on this machine for the same API user and host.

        Example:
            >>> ENSClient("key-1234", "http://127.0.0.1:9/ens/service", hourly_limit=100).budget_remaining
            100
        """
        return max(0, self.hourly_limit - self.requests_last_hour)

    def ensure_budget(self, needed: int, what: str = "this job") -> None:
        """Refuse to start work that cannot finish within the hour's remaining requests.

        Raises :class:`~enstoolkit.errors.BudgetExceeded` saying how many are needed and left.

        Example:
            >>> ENSClient("key-1234", "http://127.0.0.1:9/ens/service", hourly_limit=10).ensure_budget(5)
        """
        left = self.budget_remaining
        if needed > left:
            raise BudgetExceeded(what, needed, left, self.hourly_limit)

    # -- session -------------------------------------------------------------------------
    def validate_session(self) -> bool:
        """Ask ENS whether the current session token is valid (GET /authenticate/{token}).

        Authenticates first when there is no session yet.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.validate_session()
            True
        """
        token = self._session_token()
        response = self._send("GET", f"/authenticate/{token}", headers={"ens-auth-token": token})
        if response.status_code != 200:
            raise self._error(response, "GET", f"/authenticate/{token}")
        body = json_or_none(response)
        return bool(isinstance(body, Mapping) and body.get("valid"))

    def close(self) -> None:
        """End the ENS session (DELETE /authenticate/{token}) and close connections.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb:
            ...     ens = ENSClient(sb.ens_api_key, sb.ens_url)
            ...     _ = ens.get_fields()
            ...     ens.close()
        """
        token, self._token = self._token, None
        if token:
            try:
                self._send("DELETE", f"/authenticate/{token}",
                           headers={"ens-auth-token": token}, retry=False)
            except EnstoolkitError:
                pass  # the session dies with its TTL anyway
        super().close()

    # -- account metadata ----------------------------------------------------------------
    def get_fields(self, *, refresh: bool = False) -> pl.DataFrame:
        """The account's supporter fields (GET /supporter/fields): id, name, tag, property.

        Cached for the life of the client; ``refresh=True`` asks again.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     "Email Address" in ens.get_fields().get_column("name").to_list()
            True
        """
        if self._fields is None or refresh:
            body = self._call("GET", "/supporter/fields").json()
            self._fields = fr.build_frame(_as_list(body, "fields"), fr.FIELDS_SCHEMA)
        return self._fields

    def get_questions(self, *, refresh: bool = False) -> pl.DataFrame:
        """The account's questions (GET /supporter/questions): id, questionId, name, type.

        ``type`` is OPT (opt-in), GEN (general) or CONF (confirmation). Cached like fields.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     sorted(set(ens.get_questions().get_column("type")))
            ['CONF', 'GEN', 'OPT']
        """
        if self._questions is None or refresh:
            body = self._call("GET", "/supporter/questions").json()
            self._questions = fr.build_frame(_as_list(body, "questions"), fr.QUESTIONS_SCHEMA)
        return self._questions

    def get_question(self, question_id: int | str) -> pl.DataFrame:
        """One question's configuration, one row per locale (GET /supporter/questions/{id}).

        An unknown id gives an empty frame (ENS answers ``[]``).

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     qid = ens.get_questions().get_column("id")[0]
            ...     ens.get_question(qid).select("locale", "htmlFieldType").rows()
            [('en-GB', 'checkbox'), ('en-US', 'checkbox')]
        """
        qid = check_id("question_id", question_id)
        response = self._call("GET", f"/supporter/questions/{qid}", ok=(200, 204, 404))
        body = json_or_none(response) if response.status_code == 200 else []
        return fr.build_frame(_as_list(body or [], "question"), fr.QUESTION_DETAIL_SCHEMA)

    def _field_names(self) -> list[str]:
        return self.get_fields().get_column("name").to_list()

    def _email_field(self) -> str:
        fields = self.get_fields()
        tagged = fields.filter(pl.col("tag") == "Email Address").get_column("name").to_list()
        return tagged[0] if tagged else "Email Address"

    def _canonical_record(self, record: Mapping[str, Any], argument: str) -> dict[str, Any]:
        """Map field names to the account's spelling and values to what ENS takes."""
        names = self._field_names()
        by_lower = {n.lower(): n for n in names}
        out: dict[str, Any] = {}
        unknown: list[str] = []
        for key, value in record.items():
            if not isinstance(key, str):
                raise ValidationError(argument, key, "field names as strings")
            if key == "questions" or key in READ_ONLY_KEYS:
                continue
            canonical = by_lower.get(key.lower())
            if canonical is None:
                unknown.append(key)
                continue
            converted = _field_value(value, f"{argument}[{key!r}]")
            if converted is not None:
                out[canonical] = converted
        if unknown:
            raise ValidationError(
                argument, unknown, "field names of this account: " + ", ".join(names),
                detail="unknown: " + ", ".join(unknown),
            )
        email_field = self._email_field()
        if email_field in out:
            out[email_field] = _check_email_value(f"{argument}[{email_field!r}]", out[email_field])
        return out

    def _canonical_questions(self, questions: Any, argument: str) -> dict[str, str]:
        if questions is None:
            return {}
        if not isinstance(questions, Mapping):
            raise ValidationError(argument, questions, "a mapping of question name -> 'Y'/'N'")
        known = self.get_questions()
        by_lower = {n.lower(): (n, t) for n, t in zip(known["name"], known["type"], strict=True)}
        out: dict[str, str] = {}
        unknown = []
        for name, value in questions.items():
            if not isinstance(name, str):
                raise ValidationError(argument, name, "question names as strings")
            if name.lower().startswith("question.") and name[9:].isdigit():
                out[name] = _question_value(value, "OPT", f"{argument}[{name!r}]")
                continue
            found = by_lower.get(name.lower())
            if found is None:
                unknown.append(name)
                continue
            canonical, qtype = found
            out[canonical] = _question_value(value, qtype, f"{argument}[{name!r}]")
        if unknown:
            raise ValidationError(
                argument, unknown, "question names of this account: " + ", ".join(known["name"]),
                detail="unknown: " + ", ".join(unknown),
            )
        return out

    # -- supporters ----------------------------------------------------------------------
    def _supporter_schema(self, questions: bool, memberships: bool) -> dict[str, pl.DataType]:
        schema: dict[str, pl.DataType] = dict(fr.SUPPORTER_BASE_SCHEMA)
        for name in self._field_names():
            schema.setdefault(name, pl.String())
        if questions:
            schema["questions"] = pl.List(fr.QUESTION_STRUCT)
        if memberships:
            schema["memberships"] = pl.List(fr.MEMBERSHIP_STRUCT)
        return schema

    def get_supporter(
        self,
        supporter_id: int | str | None = None,
        *,
        email: str | None = None,
        questions: bool = False,
        memberships: bool = False,
    ) -> pl.DataFrame:
        """One supporter by id or by email, as a frame of 0 or 1 row.

        Columns: ``supporterId``, ``suppressed``, then the account's fields (String) in
        the order GET /supporter/fields gives, then ``questions`` and ``memberships``
        (lists of structs) when asked for. Not found gives an empty frame.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.get_supporter(sb.ens.first_supporter_id(), questions=True).height
            1
        """
        if (supporter_id is None) == (email is None):
            raise ValidationError(
                "supporter_id/email", (supporter_id, email), "exactly one of supporter_id or email"
            )
        params: dict[str, str] = {}
        if questions:
            params["includeQuestions"] = "true"
        if memberships:
            params["includeMemberships"] = "true"
        if supporter_id is not None:
            path = f"/supporter/{check_id('supporter_id', supporter_id)}"
        else:
            path = "/supporter"
            params["email"] = check_email("email", email)
        schema = self._supporter_schema(questions, memberships)
        response = self._call("GET", path, params=params, ok=(200, 204, 404))
        body = json_or_none(response) if response.status_code == 200 else None
        if not isinstance(body, Mapping) or not body:
            return fr.empty_frame(schema)
        record = dict(body)
        if not questions:
            record.pop("questions", None)
        if not memberships:
            record.pop("memberships", None)
        return fr.build_frame([record], schema, extra=True)

    def upsert_supporter(self, record: Mapping[str, Any] | pl.DataFrame) -> int:
        """Add a supporter, or update the one with the same email (POST /supporter).

        ``record`` is a dict (or a one-row frame) keyed by the account's field names,
        with an optional ``questions`` mapping of question name -> "Y"/"N" (True/False
        accepted). Field names are matched without case. Returns the supporter id.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     sid = ens.upsert_supporter({"Email Address": "joe.smith@noaddress.com",
            ...                                 "First Name": "Joe",
            ...                                 "questions": {"Marketing Optin": "Y"}})
            ...     ens.get_supporter(sid).item(0, "First Name")
            'Joe'
        """
        data = _one_record(record, "record")
        body = self._canonical_record(data, "record")
        email_field = self._email_field()
        if email_field not in body:
            raise ValidationError(
                "record", sorted(data), f"a record that includes {email_field!r}",
                detail="ENS matches supporters by email address",
            )
        questions = self._canonical_questions(data.get("questions"), "record['questions']")
        if questions:
            body["questions"] = questions
        response = self._call("POST", "/supporter", json=body, retry=True)
        return _id_from(response, "POST /supporter")

    def update_supporter(self, supporter_id: int | str, fields: Mapping[str, Any]) -> int:
        """Change fields of one supporter (PUT /supporter/{id}), including their email.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     sid = sb.ens.first_supporter_id()
            ...     ens.update_supporter(sid, {"Email Address": "new.address@example.org"}) == sid
            True
        """
        sid = check_id("supporter_id", supporter_id)
        data = _one_record(fields, "fields")
        body = self._canonical_record(data, "fields")
        questions = self._canonical_questions(data.get("questions"), "fields['questions']")
        if questions:
            body["questions"] = questions
        if not body:
            raise ValidationError("fields", dict(data), "at least one field to change")
        response = self._call("PUT", f"/supporter/{sid}", json=body)
        return _id_from(response, "PUT /supporter")

    def delete_supporter(self, supporter_id: int | str) -> int:
        """Delete one supporter (DELETE /supporter/{id}); returns the id.

        Raises :class:`NotFoundError` when there is no such supporter.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     sid = sb.ens.first_supporter_id()
            ...     ens.delete_supporter(sid) == sid, ens.get_supporter(sid).height
            (True, 0)
        """
        sid = check_id("supporter_id", supporter_id)
        response = self._call("DELETE", f"/supporter/{sid}", ok=(200, 204))
        return _id_from(response, "DELETE /supporter") if response.content else sid

    def get_transactions(self, supporter_id: int | str) -> pl.DataFrame:
        """A supporter's transactions (GET /supporter/{id}/transactions).

        ``createdOn`` (ENS sends DD/MM/YYYY) is a Date and ``createdDate`` (epoch) a
        Datetime(UTC); donation columns are null on other transaction types.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.get_transactions(sb.ens.first_supporter_id()).columns[:3]
            ['id', 'type', 'subtype']
        """
        sid = check_id("supporter_id", supporter_id)
        response = self._call("GET", f"/supporter/{sid}/transactions", ok=(200, 204, 404))
        body = json_or_none(response) if response.status_code == 200 else []
        return fr.build_frame(_as_list(body or [], "transactions"), fr.TRANSACTION_SCHEMA, extra=True)

    def query_supporters(
        self,
        type: str,
        *,
        days_back: int = 1,
        profile_id: int | str | None = None,
        filter: str | Mapping[str, Any] | None = None,
        export_group: str | None = None,
        rows: int = 100,
        progress: bool | None = None,
        concurrency: int = 12,
    ) -> pl.DataFrame:
        """Run GET /supporter/query and fetch every page into one frame.

        The first page tells the total; the other pages are then fetched in parallel (up to
        ``concurrency`` at a time), within the hourly request budget.

        Args:
            type: latestCreated, latestModified, suppressed, profile or search.
            days_back: 1 to 32 (ENS's limit).
            profile_id: required for ``type="profile"``.
            filter: required for ``type="search"``: ENS syntax (``country:GB||IE~firstName:Jo``)
                or a mapping of field property -> value or list of values (ANDed).
            export_group: the dashboard export group whose fields the rows carry.
            rows: page size, 1 to 100.
            progress: show a progress bar (default: when there is more than one page).

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=200) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     df = ens.query_supporters("search", filter={"country": "GB"})
            ...     df.columns
            ['supporterId', 'emailAddress', 'createdOn', 'modifiedOn']
        """
        qtype = check_choice("type", type, QUERY_TYPES)
        days = check_int("days_back", days_back, 1, 32)
        size = check_int("rows", rows, 1, 100)
        params: dict[str, Any] = {"type": qtype, "daysBack": days, "rows": size}
        if qtype == "profile":
            if profile_id is None:
                raise ValidationError("profile_id", None, "a profile id (required when type='profile')")
            params["profileId"] = check_id("profile_id", profile_id)
        elif profile_id is not None:
            raise ValidationError("profile_id", profile_id, "None unless type='profile'")
        if qtype == "search":
            if filter is None:
                raise ValidationError("filter", None, "a filter (required when type='search')")
            params["filter"] = self._search_filter(filter)
        elif filter is not None:
            raise ValidationError("filter", filter, "None unless type='search'")
        if export_group is not None:
            if not isinstance(export_group, str) or not export_group.strip() or len(export_group) > 100:
                raise ValidationError("export_group", export_group, "a non-empty name of at most 100 characters")
            params["exportGroup"] = export_group
        workers = check_int("concurrency", concurrency, 1, 32)
        first = self._call("GET", "/supporter/query", params={**params, "start": 1})
        body = first.json()
        if not isinstance(body, Mapping):
            raise APIError("ENS", 200, "query answered without a result object", method="GET", path="/supporter/query")
        total = int((body.get("pagination") or {}).get("total") or 0)
        got = len(body.get("data") or [])
        starts = list(range(1 + got, total + 1, size)) if got == size else []
        if starts:
            self.ensure_budget(len(starts), f"paging {total:,} query results")
        bar = None
        if progress if progress is not None else total > size:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=got, desc=f"ENS query {qtype}", unit="supporter")

        def fetch(start: int) -> httpx.Response:
            response = self._call("GET", "/supporter/query", params={**params, "start": start})
            if bar is not None:
                bar.update(len(response.json().get("data") or []))
            return response

        pages = [first, *self._concurrently(fetch, starts, workers)]
        if bar is not None:
            bar.close()
        if export_group is None:
            fast = _query_frame(pages)
            if fast is not None:
                return fast
        records: list[dict[str, Any]] = []
        for page in pages:
            records.extend(_as_list(page.json().get("data") or [], "data"))
        if export_group is not None:
            # Export-group rows carry the email under its field name; keep emailAddress filled.
            email_field = self._email_field()
            for row in records:
                if "emailAddress" not in row and email_field in row:
                    row["emailAddress"] = row[email_field]
        return fr.build_frame(records, fr.QUERY_SCHEMA, extra=True)

    def get_supporters(
        self,
        supporter_ids: Iterable[int | str] | None = None,
        *,
        emails: Iterable[str] | None = None,
        questions: bool = False,
        memberships: bool = False,
        concurrency: int = 16,
        progress: bool | None = None,
    ) -> pl.DataFrame:
        """Look up many supporters by id and/or email, up to ``concurrency`` requests at a time.

        ENS has no batch lookup, so this is one request per supporter, overlapped; the job
        is refused up front if the hourly budget cannot cover it. Supporters not found are
        absent from the frame (which has :meth:`get_supporter`'s columns).

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=30) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ids = sorted(sb.ens.records)[:5]
            ...     ens.get_supporters(ids, emails=["nobody@example.org"]).get_column("supporterId").to_list() == ids
            True
        """
        ids = [check_id("supporter_ids", i) for i in (supporter_ids or [])]
        mails = [check_email("emails", e) for e in (emails or [])]
        lookups: list[tuple[str, Any]] = [("id", i) for i in ids] + [("email", e) for e in mails]
        workers = check_int("concurrency", concurrency, 1, 32)
        schema = self._supporter_schema(questions, memberships)
        if not lookups:
            return fr.empty_frame(schema)
        self.ensure_budget(len(lookups), f"looking up {len(lookups):,} supporters")
        bar = None
        if progress if progress is not None else len(lookups) > 50:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(lookups), desc="ENS supporters", unit="supporter")

        params: dict[str, str] = {}
        if questions:
            params["includeQuestions"] = "true"
        if memberships:
            params["includeMemberships"] = "true"

        def one(lookup: tuple[str, Any]) -> dict[str, Any] | None:
            kind, value = lookup
            path = f"/supporter/{value}" if kind == "id" else "/supporter"
            query = params if kind == "id" else {**params, "email": value}
            response = self._call("GET", path, params=query, ok=(200, 204, 404))
            if bar is not None:
                bar.update(1)
            body = json_or_none(response) if response.status_code == 200 else None
            return dict(body) if isinstance(body, Mapping) and body else None

        records = [r for r in self._concurrently(one, lookups, workers) if r is not None]
        if bar is not None:
            bar.close()
        for record in records:
            if not questions:
                record.pop("questions", None)
            if not memberships:
                record.pop("memberships", None)
        return fr.build_frame(records, schema, extra=True)  # one frame for all: no per-row frame cost

    def _search_filter(self, value: str | Mapping[str, Any]) -> str:
        properties = self.get_fields().get_column("property").drop_nulls().to_list()
        if isinstance(value, str):
            if not value.strip() or ":" not in value:
                raise ValidationError("filter", value, "ENS filter syntax such as 'country:GB||IE~firstName:Jo'")
            terms = {part.split(":", 1)[0] for part in value.split("~")}
            text = value
        elif isinstance(value, Mapping) and value:
            parts = []
            for prop, wanted in value.items():
                values = [wanted] if isinstance(wanted, (str, int, float)) else list(wanted)
                if not values or any("~" in str(v) or "||" in str(v) for v in values):
                    raise ValidationError(f"filter[{prop!r}]", wanted, "values without '~' or '||'")
                parts.append(f"{prop}:" + "||".join(str(v) for v in values))
            terms = set(value)
            text = "~".join(parts)
        else:
            raise ValidationError("filter", value, "a filter string or a non-empty mapping")
        unknown = unknown_names(terms, properties)
        if unknown:
            raise ValidationError(
                "filter", value, "field properties of this account: " + ", ".join(properties),
                detail="unknown: " + ", ".join(sorted(unknown)),
            )
        return text

    # -- pages ---------------------------------------------------------------------------
    def get_pages(self, type: str, status: str | None = None) -> pl.DataFrame:
        """Pages of one type (GET /page), optionally of one status.

        ``type`` is the query type (dcf, mem, ems, unsub, pet, et, nd, ...); ENS answers
        with its own ``type``/``subType`` (a dcf page is type ``dc``, subType ``DCF``).

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.get_pages("dcf", "live").select("type", "subType").row(0)
            ('dc', 'DCF')
        """
        params = {"type": check_choice("type", type, PAGE_TYPES)}
        if status is not None:
            params["status"] = check_choice("status", status, PAGE_STATUSES)
        body = self._call("GET", "/page", params=params).json()
        return fr.build_frame(_as_list(body, "pages"), fr.PAGE_SCHEMA, extra=True)

    def get_page(self, page_id: int | str) -> pl.DataFrame:
        """One page's attributes (GET /page/{id}) as a one-row frame.

        Raises :class:`NotFoundError` for an unknown page.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.get_page(100).item(0, "name")
            'Newsletter Sign Up'
        """
        pid = check_id("page_id", page_id)
        body = self._call("GET", f"/page/{pid}").json()
        return fr.build_frame([body], fr.PAGE_SCHEMA, extra=True)

    def process_page(
        self,
        page_id: int | str,
        supporter: Mapping[str, Any],
        *,
        questions: Mapping[str, Any] | None = None,
        transaction: Mapping[str, Any] | None = None,
        contact_message: Mapping[str, str] | None = None,
        standard_field_names: bool = False,
        demo: bool = False,
        suppress_auto_responder: bool = False,
        tracking_id: str | None = None,
        appeal_code: str | None = None,
        txn: Mapping[int, str] | Iterable[str] | None = None,
    ) -> pl.DataFrame:
        """Submit a page as a supporter would (POST /page/{id}/process).

        Works for data capture (sign-up, opt-in, petition), donation and advocacy (email
        to target) pages. Never retried automatically: a repeat would sign a petition or
        charge a card twice. ENS's ``status: ERROR`` raises :class:`PageProcessingError`.

        Args:
            page_id: the page.
            supporter: field name -> value (property names with ``standard_field_names``).
            questions: question name -> "Y"/"N" (``question.{id}`` keys also work).
            transaction: donation fields (donationAmt, paymenttype, ccnumber, ...).
            contact_message: ``{"subject": ..., "message": ...}`` for advocacy pages.
            txn: external references txn1..txn10, as a list or a mapping of number -> value.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.process_page(100, {"Email Address": "joe.smith@noaddress.com",
            ...                            "First Name": "Joe"},
            ...                      questions={"Marketing Optin": "Y"}).item(0, "status")
            'SUCCESS'
        """
        pid = check_id("page_id", page_id)
        data = _one_record(supporter, "supporter")
        if standard_field_names:
            sup = self._standard_supporter(data)
        else:
            sup = self._canonical_record(data, "supporter")
            email_field = self._email_field()
            if email_field not in sup:
                raise ValidationError("supporter", sorted(data), f"a supporter with {email_field!r}")
        merged_questions: dict[str, Any] = {}
        if data.get("questions"):
            merged_questions.update(data["questions"])
        if questions:
            merged_questions.update(questions)
        if merged_questions:
            sup["questions"] = self._canonical_questions(merged_questions, "questions")
        body: dict[str, Any] = {"supporter": sup}
        if standard_field_names:
            body["standardFieldNames"] = True
        if demo:
            body["demo"] = True
        if suppress_auto_responder:
            body["suppressAutoResponder"] = True
        if tracking_id is not None:
            body["trackingId"] = str(tracking_id)
        if appeal_code is not None:
            body["appealCode"] = str(appeal_code)
        if transaction is not None:
            body["transaction"] = self._transaction(transaction, demo)
        if contact_message is not None:
            if not isinstance(contact_message, Mapping) or not all(
                isinstance(contact_message.get(k), str) and contact_message.get(k, "").strip()
                for k in ("subject", "message")
            ):
                raise ValidationError("contact_message", contact_message,
                                      "a mapping with non-empty 'subject' and 'message'")
            body["contactMessage"] = dict(contact_message)
        body.update(_txn_fields(txn))
        response = self._call("POST", f"/page/{pid}/process", json=body, retry=False)
        result = response.json()
        if not isinstance(result, Mapping):
            raise APIError("ENS", 200, "page processing answered without a result object",
                           method="POST", path=f"/page/{pid}/process")
        if str(result.get("status", "")).upper() == "ERROR":
            raise PageProcessingError(
                self._redact(str(result.get("error") or result.get("message") or "processing failed")),
                dict(result), method="POST", path=f"/page/{pid}/process",
            )
        return fr.build_frame([result], fr.PROCESS_RESULT_SCHEMA, extra=True)

    def _standard_supporter(self, data: Mapping[str, Any]) -> dict[str, Any]:
        properties = self.get_fields().get_column("property").drop_nulls().to_list()
        by_lower = {p.lower(): p for p in properties}
        out: dict[str, Any] = {}
        unknown = []
        for key, value in data.items():
            if key == "questions":
                continue
            canonical = by_lower.get(str(key).lower())
            if canonical is None and not str(key).upper().startswith("NOT_TAGGED_"):
                unknown.append(key)
                continue
            converted = _field_value(value, f"supporter[{key!r}]")
            if converted is not None:
                out[canonical or str(key)] = converted
        if unknown:
            raise ValidationError(
                "supporter", unknown, "field properties of this account: " + ", ".join(properties),
                detail="standard_field_names=True uses properties such as emailAddress",
            )
        if "emailAddress" not in out:
            raise ValidationError("supporter", sorted(data), "a supporter with 'emailAddress'")
        out["emailAddress"] = _check_email_value("supporter['emailAddress']", out["emailAddress"])
        return out

    def _transaction(self, transaction: Mapping[str, Any], demo: bool) -> dict[str, Any]:
        if not isinstance(transaction, Mapping) or not transaction:
            raise ValidationError("transaction", transaction, "a mapping of donation fields")
        out = {str(k): v for k, v in transaction.items() if v is not None}
        if "donationAmt" in out:
            try:
                amount = float(str(out["donationAmt"]).replace(",", ""))
            except ValueError:
                amount = -1.0
            if not amount > 0:
                raise ValidationError("transaction['donationAmt']", out["donationAmt"], "a positive amount")
            if not isinstance(out["donationAmt"], str):
                out["donationAmt"] = f"{amount:.2f}"
        host = urlsplit(self.base_url).hostname or ""
        if "ccnumber" in out and not demo and host in ENS_HOSTS and "-vault" not in host:
            raise ValidationError(
                "base_url", self.base_url,
                "a -vault host (https://ca-vault.engagingnetworks.app or us-vault) for live card data",
            )
        return out

    # -- export jobs ---------------------------------------------------------------------
    def _export_job(self, query_name: str, *, format: str, field_group: str | None, file_type: str,
                    poll_interval: float, timeout: float) -> Path:
        """POST /exportjob, poll until it completes (less often as it waits), download the file."""
        if not isinstance(query_name, str) or not query_name.strip():
            raise ValidationError("query_name", query_name, "the name of a query saved in the ENS dashboard")
        check_choice("format", format, EXPORT_FORMATS)
        check_choice("file_type", file_type, EXPORT_FILE_TYPES)
        if not poll_interval > 0 or not timeout > 0:
            raise ValidationError("poll_interval/timeout", (poll_interval, timeout), "positive seconds")
        body: dict[str, Any] = {
            "displayUserDataInTransactionExport": False,
            "applyCustomReferenceNames": False,
            "fileType": file_type,
            "queryName": query_name,
            "format": format,
        }
        if field_group is not None:
            body["fieldGroup"] = field_group
        job = self._call("POST", "/exportjob", json=body, retry=True).json()
        job_id = job.get("id") if isinstance(job, Mapping) else None
        if job_id is None:
            raise APIError("ENS", 200, "export job answered without an id", method="POST", path="/exportjob")
        job_id = int(job_id)
        deadline = time.monotonic() + timeout
        status = job
        wait = poll_interval
        while str(status.get("status")) != "completed":
            if time.monotonic() > deadline:
                raise EnstoolkitError(f"ENS export job {job_id} did not complete within {timeout:.0f} s")
            time.sleep(wait)
            wait = min(wait * 1.5, 10.0)  # each poll is a request from the hourly budget
            status = self._call("GET", f"/exportjob/{job_id}").json()
        download = f"/exportjob/{job_id}/download"
        url = str(status.get("url") or "")
        if "/ens/service/" in url:
            download = "/" + url.split("/ens/service/", 1)[1]
        return self._download(download)

    def _download(self, path: str) -> Path:
        """GET a file, streamed to a temporary file (the caller deletes it): a large export never sits in memory."""
        import tempfile

        for attempt in range(self.max_retries + 1):
            token = self._session_token()
            self.request_log.add()
            try:
                with self._http.stream("GET", path, headers={"ens-auth-token": token}) as response:
                    if response.status_code != 200:
                        response.read()
                        error = self._error(response, "GET", path)
                        if isinstance(error, InvalidSessionToken):
                            self._session_token(renew=True)
                        if isinstance(error, (InvalidSessionToken, ServerError)) and attempt < self.max_retries:
                            time.sleep(self._backoff(attempt))
                            continue
                        raise error
                    with tempfile.NamedTemporaryFile(prefix="enstoolkit-export-", suffix=".csv",
                                                     delete=False) as spool:
                        for chunk in response.iter_bytes(1 << 20):
                            spool.write(chunk)
                    return Path(spool.name)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise TransportError("ENS", "GET", path, self._redact(f"{type(exc).__name__}: {exc}")) from None
                time.sleep(self._backoff(attempt))
        raise AssertionError("unreachable")

    def export_supporters(
        self,
        query_name: str,
        *,
        field_group: str | None = None,
        format: str = "User data",
        file_type: str = "csv",
        poll_interval: float = 0.5,
        timeout: float = 600.0,
    ) -> pl.DataFrame:
        """Pull a whole supporter file through an export job, in a handful of requests.

        POST /exportjob for a query saved in the dashboard, poll GET /exportjob/{id}
        until it completes (polling less often as it waits), download the CSV and read it
        with an explicit schema: ``supporterId`` Int64, ``suppressed`` Boolean, dates as
        Date, opt-in question columns as Boolean, everything else String.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=300) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.export_supporters("All supporters").height
            300
        """
        path = self._export_job(query_name, format=format, field_group=field_group, file_type=file_type,
                                poll_interval=poll_interval, timeout=timeout)
        try:
            return self._read_export(path)
        finally:
            path.unlink(missing_ok=True)

    def export_transactions(
        self,
        query_name: str,
        *,
        file_type: str = "csv",
        poll_interval: float = 0.5,
        timeout: float = 600.0,
    ) -> pl.DataFrame:
        """Every transaction of a saved query's supporters, through a "Transaction" export job.

        One row per transaction: ``supporterId`` and the columns of :meth:`get_transactions`
        (``createdOn`` as a Date). The way to see acquisition pages for a whole file.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=50) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     tx = ens.export_transactions("All supporters")
            ...     tx.get_column("supporterId").n_unique()
            50
        """
        path = self._export_job(query_name, format="Transaction", field_group=None, file_type=file_type,
                                poll_interval=poll_interval, timeout=timeout)
        schema = {"supporterId": pl.Int64(), **fr.TRANSACTION_SCHEMA}
        try:
            if path.stat().st_size == 0:
                return fr.empty_frame(schema)
            raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
        finally:
            path.unlink(missing_ok=True)
        unknown = [c for c in raw.columns if c not in schema]
        records = raw.to_dicts()
        return fr.build_frame(records, schema, extra=bool(unknown))

    def _read_export(self, path: Path) -> pl.DataFrame:
        if path.stat().st_size == 0:
            return fr.empty_frame({"supporterId": pl.Int64()})
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
            header = next(csv.reader(handle))
        raw = pl.read_csv(path, schema={name: pl.String() for name in header}, has_header=True,
                          encoding="utf8-lossy")
        questions = self.get_questions()
        optin = set(questions.filter(pl.col("type").is_in(["OPT", "CONF"])).get_column("name"))
        dated = {f"{q} Date" for q in questions.get_column("name")}
        columns = []
        for name in header:
            col = raw.get_column(name)
            if name in ("supporterId", "Supporter ID"):
                columns.append(col.cast(pl.Int64, strict=False).alias(name))
            elif name in ("suppressed", "Suppressed") or name in optin:
                mapped = col.str.to_uppercase().replace_strict(
                    {"TRUE": True, "Y": True, "FALSE": False, "N": False, "": None},
                    default=None, return_dtype=pl.Boolean,
                )
                columns.append(mapped.alias(name))
            elif name in ("createdOn", "modifiedOn", "Created On", "Modified On") or name in dated:
                columns.append(fr.parse_temporal(col, pl.Date(), name))
            else:
                columns.append(col)
        return pl.DataFrame(columns)

    # -- anything else -------------------------------------------------------------------
    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> Any:
        """An authorised call to any ENS endpoint not wrapped here; returns the decoded JSON.

        ``path`` is relative to the base URL (``/supporter/bulk``). GET, PUT and DELETE
        are retried on failures; POST is not. 204 gives ``None``.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=10) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.request("GET", "/page", params={"type": "pet"})[0]["subType"]
            'PET'
        """
        verb = check_choice("method", str(method).upper(), ("GET", "POST", "PUT", "PATCH", "DELETE"))
        if not isinstance(path, str) or not path.startswith("/") or "://" in path:
            raise ValidationError("path", path, "a path relative to the base URL, such as '/page/100'")
        response = self._call(verb, path, params=params, json=json, ok=(200, 201, 202, 204))
        if response.status_code == 204 or not response.content:
            return None
        content_type = response.headers.get("content-type", "")
        return response.json() if "json" in content_type else response.text


# -- helpers --------------------------------------------------------------------------------


_QUERY_ROW = pl.Struct({"emailAddress": pl.String, "supporterId": pl.Int64, "modifiedOn": pl.String,
                        "createdOn": pl.String})


def _query_frame(pages: list[httpx.Response]) -> pl.DataFrame | None:
    """Query pages read straight from the response bytes (polars' JSON reader with a schema).

    Returns None when a page does not match the spec's shape exactly (for example ids sent
    as strings); the caller then takes the tolerant route through Python objects.
    """
    try:
        parts = [pl.read_json(page.content, schema={"data": pl.List(_QUERY_ROW)}) for page in pages]
        rows = pl.concat(parts).explode("data", empty_as_null=False).unnest("data")
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.InvalidOperationError):
        return None
    out = rows.select(
        "supporterId", "emailAddress",
        pl.col("createdOn").str.to_date("%Y-%m-%d", strict=False),
        pl.col("modifiedOn").str.to_date("%Y-%m-%d", strict=False),
    )
    unparsed = (out.select(pl.col("createdOn", "modifiedOn").null_count()).row(0)
                != rows.select(pl.col("createdOn", "modifiedOn").null_count()).row(0))
    if unparsed:  # another date form: parse every form
        out = out.with_columns(fr.parse_temporal(rows.get_column("createdOn"), pl.Date(), "createdOn"),
                               fr.parse_temporal(rows.get_column("modifiedOn"), pl.Date(), "modifiedOn"))
    return out


def _as_list(body: Any, what: str) -> list[Any]:
    if isinstance(body, list):
        return body
    raise APIError("ENS", 200, f"expected a list of {what}, got {type(body).__name__}")


def _one_record(record: Mapping[str, Any] | pl.DataFrame, argument: str) -> dict[str, Any]:
    if isinstance(record, pl.DataFrame):
        if record.height != 1:
            raise ValidationError(argument, f"a frame of {record.height} rows", "a dict or a one-row frame")
        return {k: v for k, v in record.row(0, named=True).items() if v is not None}
    if not isinstance(record, Mapping) or not record:
        raise ValidationError(argument, record, "a non-empty dict of field name -> value")
    return dict(record)


def _field_value(value: Any, argument: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (int, float)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, str):
        return value
    raise ValidationError(argument, value, "a text, number, boolean or date value")


def _check_email_value(argument: str, value: Any) -> str:
    check_email(argument, value)
    return str(value).strip()


def _question_value(value: Any, qtype: str, argument: str) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if qtype in ("OPT", "CONF"):
        text = str(value).strip().upper() if isinstance(value, str) else None
        if text not in ("Y", "N"):
            raise ValidationError(argument, value, "'Y' or 'N' (or True/False) for an opt-in question")
        return text
    if not isinstance(value, str):
        raise ValidationError(argument, value, "a text answer")
    return value


def _txn_fields(txn: Mapping[int, str] | Iterable[str] | None) -> dict[str, str]:
    if txn is None:
        return {}
    items = list(txn.items()) if isinstance(txn, Mapping) else list(enumerate(txn, start=1))
    out = {}
    for number, value in items:
        if isinstance(number, str) and number.lower().startswith("txn"):
            number = number[3:]
        n = check_int("txn", number, 1, 10)
        out[f"txn{n}"] = str(value)
    return out


def _id_from(response: httpx.Response, what: str) -> int:
    body = json_or_none(response)
    if isinstance(body, Mapping) and body.get("id") is not None:
        return int(body["id"])
    raise APIError("ENS", response.status_code, f"{what} answered without an id")
