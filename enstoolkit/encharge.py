"""The Encharge REST client: people, tags, fields, segments, account and watch triggers.

Reads return polars DataFrames with explicit schemas. Bulk writes (upserting people,
tagging, untagging, deleting) work in chunks and report what happened to each person;
nothing is silently dropped.

Example:
    >>> from enstoolkit import EnchargeClient
    >>> from enstoolkit.sandbox import Sandbox
    >>> with Sandbox(supporters=50) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
    ...     enc.get_account().item(0, "status")
    'active'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import polars as pl

from . import frames as fr
from ._http import HTTPBase, json_or_none
from ._validate import api_key_from, check_base_url, check_choice, check_email, check_id, check_int, is_valid_email
from .erasures import ErasureLog
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDenied,
    RateLimitExceeded,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = ["DEFAULT_BASE_URL", "EVENTS", "EnchargeClient"]

DEFAULT_BASE_URL = "https://api.encharge.io/v1"
ENCHARGE_HOSTS = frozenset({"api.encharge.io"})
#: Watch triggers: the fixed events, plus added-tag-{tag} and removed-tag-{tag}.
EVENTS = ("newUser", "updatedUser", "unsubscribedUser")
IDENTIFIERS = ("id", "userId", "email")

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "email": pl.String(),
    "id": pl.String(),
    "userId": pl.String(),
    "action": pl.String(),
    "tags": pl.List(pl.String),
    "status": pl.String(),
    "http_status": pl.Int64(),
    "error": pl.String(),
}
TAG_SCHEMA: dict[str, pl.DataType] = {
    "tag": pl.String(), "color": pl.String(), "count": pl.Int64(), "createdAt": fr.UTC_MS,
    "description": pl.String(),
}
FIELD_SCHEMA: dict[str, pl.DataType] = {
    "name": pl.String(), "title": pl.String(), "type": pl.String(), "format": pl.String(),
    "displayType": pl.String(), "readOnly": pl.Boolean(), "array": pl.Boolean(),
    "enum": pl.List(pl.String), "tooltip": pl.String(), "firstClassField": pl.Boolean(),
}
SEGMENT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(), "name": pl.String(), "version": pl.Int64(), "objectName": pl.String(),
    "readOnly": pl.Boolean(), "autoSegment": pl.Boolean(), "color": pl.String(), "templateId": pl.String(),
    "conditions": pl.String(),
}
ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "accountId": pl.Int64(), "name": pl.String(), "status": pl.String(), "peopleCount": pl.Int64(),
    "timezone": pl.String(), "site": pl.String(), "activeServices": pl.List(pl.String),
}
SUBSCRIPTION_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(), "eventType": pl.String(), "url": pl.String(), "eventName": pl.String(),
}


def normalise_base_url(base_url: str) -> str:
    """Check an Encharge base URL: ``https://api.encharge.io/v1`` or a loopback sandbox.

    Example:
        >>> normalise_base_url("https://api.encharge.io")
        'https://api.encharge.io/v1'
    """
    allowed = "https://api.encharge.io/v1, or http://127.0.0.1:<port>/v1 for the sandbox"
    return check_base_url(base_url, hosts=ENCHARGE_HOSTS, suffix="/v1", allowed=allowed)


def check_tag(value: Any, argument: str = "tags") -> str:
    """Validate one tag name: non-empty text without commas (Encharge splits on them).

    Example:
        >>> check_tag(" donor ")
        'donor'
    """
    if not isinstance(value, str) or not value.strip() or "," in value or len(value.strip()) > 100:
        raise ValidationError(argument, value, "non-empty tag names of at most 100 characters, without commas")
    return value.strip()


def check_tags(tags: str | Iterable[str]) -> list[str]:
    """Validate one tag or several; returns them without duplicates, in order.

    Example:
        >>> check_tags(["donor", "vip", "donor"])
        ['donor', 'vip']
    """
    items = [tags] if isinstance(tags, str) else list(tags)
    if not items:
        raise ValidationError("tags", tags, "at least one tag")
    out: list[str] = []
    for item in items:
        tag = check_tag(item)
        if tag not in out:
            out.append(tag)
    return out


def check_event(event: Any) -> str:
    """Validate a watch-trigger event name.

    Example:
        >>> check_event("added-tag-donor")
        'added-tag-donor'
    """
    if isinstance(event, str):
        if event in EVENTS:
            return event
        for prefix in ("added-tag-", "removed-tag-"):
            if event.startswith(prefix) and event[len(prefix):].strip():
                check_tag(event[len(prefix):], "event")
                return event
    raise ValidationError("event", event, "one of " + ", ".join(EVENTS) + ", added-tag-{tag}, removed-tag-{tag}")


class EnchargeClient(HTTPBase):
    """A client for the Encharge REST API.

    Args:
        api_key: the account's API key; defaults to ``ENCHARGE_API_KEY``.
        base_url: defaults to ``ENCHARGE_BASE_URL``, else ``https://api.encharge.io/v1``.
        timeout: seconds per request.
        transport: an ``httpx`` transport.

    Example:
        >>> from enstoolkit.sandbox import Sandbox
        >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        ...     "donor" in enc.get_tags().get_column("tag").to_list()
        True
    """

    service = "Encharge"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._api_key = api_key_from(api_key, "ENCHARGE_API_KEY", "Encharge")
        self._created_subscriptions: dict[int, dict[str, Any]] = {}
        self.erasure_log: ErasureLog | None = None  # opened on the first forced deletion
        url = base_url or os.environ.get("ENCHARGE_BASE_URL") or DEFAULT_BASE_URL
        super().__init__(normalise_base_url(url), timeout=timeout, transport=transport,
                         headers={"X-Encharge-Token": self._api_key})

    def __repr__(self) -> str:
        return f"EnchargeClient(base_url={self.base_url!r})"

    def __enter__(self) -> EnchargeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _secrets(self) -> Iterable[str | None]:
        return (self._api_key,)

    # -- plumbing ------------------------------------------------------------------------
    def _error(self, response: httpx.Response, method: str, path: str) -> APIError:
        body = json_or_none(response)
        message, code = "", None
        if isinstance(body, Mapping):
            inner = body.get("error")
            if isinstance(inner, Mapping):
                message = str(inner.get("message") or "")
                code = inner.get("errorCode")
            elif isinstance(inner, str):
                message = inner
            elif body.get("message"):
                message = str(body["message"])
        if not message:
            message = response.reason_phrase or f"HTTP {response.status_code}"
        message = self._redact(message)
        status = response.status_code
        kwargs: dict[str, Any] = {"message_id": code, "method": method, "path": self._redact(path)}
        if status == 401:
            return AuthenticationError("Encharge", status, message, **kwargs)
        if status == 403:
            return PermissionDenied("Encharge", status, message, **kwargs)
        if status == 429:
            retry = response.headers.get("retry-after")
            return RateLimitExceeded("Encharge", status, message,
                                     retry_after=float(retry) if retry and retry.isdigit() else None, **kwargs)
        if status == 404:
            return NotFoundError("Encharge", status, message, **kwargs)
        if status in (400, 409, 422):
            return BadRequestError("Encharge", status, message, **kwargs)
        if status >= 500:
            return ServerError("Encharge", status, message, **kwargs)
        return APIError("Encharge", status, message, **kwargs)

    def _call(self, method: str, path: str, *, params: Any = None, json: Any = None,
              ok: Iterable[int] = (200,), retry: bool | None = None) -> httpx.Response:
        response = self._send(method, path, params=params, json=json, retry=retry)
        if response.status_code not in set(ok):
            raise self._error(response, method, path)
        return response

    @staticmethod
    def people_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
        """People as a frame: the standard columns typed, custom fields as String after them.

        Example:
            >>> EnchargeClient.people_frame([{"id": "u1", "email": "a@example.org", "tags": "a,b",
            ...                               "leadScore": "7", "country": "GB"}]).row(0, named=True)["tags"]
            ['a', 'b']
        """
        return fr.build_frame(records, fr.ENCHARGE_PERSON_SCHEMA, extra=True)

    # -- people ----------------------------------------------------------------------------
    def upsert_people(
        self,
        records: pl.DataFrame | Iterable[Mapping[str, Any]],
        *,
        batch_size: int = 100,
        progress: bool | None = None,
    ) -> pl.DataFrame:
        """Create or update people (POST /people with an array), in batches.

        Each record needs one of ``id``, ``userId`` or ``email``; ``tags`` may be a list or a
        comma-separated string. Returns the people as Encharge answered them. A batch that
        fails raises the API error after the earlier batches were saved; the exception's
        ``completed`` attribute holds their people frame.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.upsert_people([{"email": "new@example.org", "firstName": "New"}]).item(0, "name")
            'New'
        """
        rows = _records(records, "records")
        if not rows:
            raise ValidationError("records", records, "at least one person")
        size = check_int("batch_size", batch_size, 1, 1000)
        cleaned = [_person_payload(row, f"records[{i}]") for i, row in enumerate(rows)]
        people: list[dict[str, Any]] = []
        bar = _bar(progress, len(cleaned), "Encharge upsert", threshold=size)
        for chunk in _chunks(cleaned, size):
            try:
                body = self._call("POST", "/people", json=chunk, retry=True).json()
            except APIError as exc:
                exc.completed = self.people_frame(people)  # type: ignore[attr-defined]
                if bar is not None:
                    bar.close()
                raise
            people.extend(_people_from(body, "users"))
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        return self.people_frame(people)

    def update_person(
        self,
        fields: Mapping[str, Any],
        *,
        email: str | None = None,
        id: str | None = None,
        user_id: str | None = None,
    ) -> pl.DataFrame:
        """Update one person, identified by exactly one of ``email``, ``id`` or ``user_id``.

        To change someone's email, identify them by ``id`` (or ``user_id``) and put the
        new address in ``fields``. Returns the person as a one-row frame.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     pid = enc.list_people(max_people=1).item(0, "id")
            ...     enc.update_person({"leadScore": 99}, id=pid).item(0, "leadScore")
            99.0
        """
        ident = _one_identifier(email=email, id=id, user_id=user_id)
        if not isinstance(fields, Mapping) or not fields:
            raise ValidationError("fields", fields, "a non-empty mapping of field -> value")
        payload = _person_payload({**fields, **ident}, "fields")
        if ident.get("id") or ident.get("userId"):
            # identify by id/userId so that an email in `fields` is a change, not a lookup
            payload = {**payload, **ident}
        if not self._lookup(list(ident.items())).height:
            raise NotFoundError("Encharge", 404, f"no person with {next(iter(ident))} {next(iter(ident.values()))!r}",
                                method="POST", path="/people")
        body = self._call("POST", "/people", json=[payload], retry=True).json()
        return self.people_frame(_people_from(body, "users"))

    def get_people(
        self,
        *,
        emails: Iterable[str] | None = None,
        ids: Iterable[str] | None = None,
        user_ids: Iterable[str] | None = None,
        attributes: Iterable[str] | None = None,
        include_archived: bool = False,
        chunk_size: int = 50,
        concurrency: int = 8,
    ) -> pl.DataFrame:
        """Look people up by email, id or userId (GET /people), in chunks, several at a time.

        People Encharge does not know are simply absent from the frame.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.get_people(emails=["nobody@example.org"]).height
            0
        """
        idents = _identifiers(emails, ids, user_ids)
        if not idents:
            raise ValidationError("emails/ids/user_ids", None, "at least one email, id or userId")
        size = check_int("chunk_size", chunk_size, 1, 100)
        extra: list[tuple[str, str]] = []
        if attributes is not None:
            extra.append(("attributes", ",".join(_names(attributes, "attributes"))))
        if include_archived:
            extra.append(("includeArchived", "true"))
        workers = check_int("concurrency", concurrency, 1, 32)

        def fetch(chunk: list[tuple[str, str]]) -> list[dict[str, Any]]:
            params = [(f"people[{i}][{kind}]", value) for i, (kind, value) in enumerate(chunk)] + extra
            response = self._call("GET", "/people", params=params, ok=(200, 404))
            return _people_from(response.json(), "users") if response.status_code == 200 else []

        people: list[dict[str, Any]] = []
        for found in self._concurrently(fetch, list(_chunks(idents, size)), workers):
            people.extend(found)
        return self.people_frame(people)

    def _lookup(self, idents: Sequence[tuple[str, str]], *, include_archived: bool = False,
                chunk_size: int = 50) -> pl.DataFrame:
        """get_people for (kind, value) identifiers."""
        split = _split_identifiers(idents)
        return self.get_people(emails=split.get("emails"), ids=split.get("ids"), user_ids=split.get("user_ids"),
                               include_archived=include_archived, chunk_size=chunk_size)

    def _paged(self, path: str, *, limit: int, attributes: Iterable[str] | None, sort: str | None,
               order: str | None, ignore_anonymous: bool | None, max_people: int | None,
               progress: bool | None, desc: str, concurrency: int = 4) -> pl.DataFrame:
        size = check_int("limit", limit, 1, 1000)
        params: dict[str, Any] = {"limit": size}
        if attributes is not None:
            params["attributes"] = ",".join(_names(attributes, "attributes"))
        if sort is not None:
            params["sort"] = _names([sort], "sort")[0]
        if order is not None:
            params["order"] = check_choice("order", order, ("asc", "desc"))
        if ignore_anonymous is not None:
            params["ignoreAnonymous"] = "true" if ignore_anonymous else "false"
        cap = None if max_people is None else check_int("max_people", max_people, 1, None)
        workers = check_int("concurrency", concurrency, 1, 32)
        people: list[dict[str, Any]] = []
        bar = _bar(progress, None, desc, threshold=0) if progress else None

        def fetch(offset: int) -> list[dict[str, Any]]:
            return _people_from(self._call("GET", path, params={**params, "offset": offset}).json(), "people")

        # No total is given: fetch pages in waves and stop at the first short page.
        offset, wave = 0, 1
        done = False
        while not done:
            offsets = [offset + k * size for k in range(wave)]
            for page in self._concurrently(fetch, offsets, workers):
                people.extend(page)
                if bar is not None:
                    bar.update(len(page))
                if len(page) < size or (cap is not None and len(people) >= cap):
                    done = True
                    break
            offset += wave * size
            wave = min(workers, wave * 2)  # start small: most lists fit in a page or two
        if bar is not None:
            bar.close()
        return self.people_frame(people[:cap] if cap is not None else people)

    def list_people(
        self,
        *,
        limit: int = 100,
        attributes: Iterable[str] | None = None,
        sort: str | None = None,
        order: str | None = None,
        ignore_anonymous: bool | None = None,
        max_people: int | None = None,
        progress: bool | None = None,
        concurrency: int = 4,
    ) -> pl.DataFrame:
        """Everyone in the account (GET /people/all), paging by limit/offset until a short page.

        Pages are fetched in growing waves of up to ``concurrency`` at a time.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.list_people(limit=5).height == sb.encharge_people_count()
            True
        """
        return self._paged("/people/all", limit=limit, attributes=attributes, sort=sort, order=order,
                           ignore_anonymous=ignore_anonymous, max_people=max_people, progress=progress,
                           desc="Encharge people", concurrency=concurrency)

    def delete_people(
        self,
        people: pl.DataFrame | Iterable[Any] | None = None,
        *,
        emails: Iterable[str] | None = None,
        ids: Iterable[str] | None = None,
        user_ids: Iterable[str] | None = None,
        force: bool = False,
        chunk_size: int = 50,
    ) -> pl.DataFrame:
        """Archive people (DELETE /people), or with ``force=True`` erase them and their data (GDPR).

        Returns one row per person asked for: ``action`` is "archive" or "erase", ``status``
        is "done" or "not found". Erasures are also written to the toolkit's own record
        (:class:`~enstoolkit.erasures.ErasureLog`), which the audit checks against ENS.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.delete_people(emails=["nobody@example.org"]).item(0, "status")
            'not found'
        """
        idents = _identifiers(emails, ids, user_ids) + (_people_identifiers(people) if people is not None else [])
        if not idents:
            raise ValidationError("people", people, "at least one person (a frame, emails, ids or user_ids)")
        if not isinstance(force, bool):
            raise ValidationError("force", force, "True or False")
        size = check_int("chunk_size", chunk_size, 1, 100)
        action = "erase" if force else "archive"
        rows: list[dict[str, Any]] = []
        for chunk in _chunks(idents, size):
            known = self._lookup(chunk, include_archived=True, chunk_size=size)
            present = _present(known, chunk)
            targets = [ident for ident, hit in zip(chunk, present, strict=True) if hit]
            status_code = None
            if targets:
                params = [(f"people[{i}][{kind}]", value) for i, (kind, value) in enumerate(targets)]
                params.append(("force", "true" if force else "false"))
                status_code = self._call("DELETE", "/people", params=params, ok=(204, 200)).status_code
                if force:
                    if self.erasure_log is None:
                        self.erasure_log = ErasureLog()
                    self.erasure_log.record(_erased(known, targets))
            for (kind, value), hit in zip(chunk, present, strict=True):
                rows.append({**_ident_columns(kind, value), "action": action, "tags": None,
                             "status": "done" if hit else "not found",
                             "http_status": status_code if hit else None, "error": None})
        return fr.build_frame(rows, RESULT_SCHEMA)

    def unsubscribe(self, *, email: str | None = None, id: str | None = None, user_id: str | None = None) -> None:
        """Unsubscribe one person from all email (POST /people/unsubscribe, identified in the query).

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     pid = enc.list_people(max_people=1).item(0, "id")
            ...     enc.unsubscribe(id=pid)
            ...     enc.get_people(ids=[pid]).item(0, "unsubscribed")
            True
        """
        ident = _one_identifier(email=email, id=id, user_id=user_id)
        self._call("POST", "/people/unsubscribe", params=ident, ok=(204, 200), retry=True)

    # -- tags --------------------------------------------------------------------------------
    def tag_person(self, action: str, kind: str, value: str, tags: Sequence[str]) -> int:
        """Add or remove tags for one person (one POST or DELETE /tags); returns the HTTP status.

        ``kind`` is "email", "id" or "userId". Raises the API's error (``NotFoundError`` for
        a person Encharge does not know). Used by the bulk runner; most code wants
        :meth:`add_tags`.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     email = enc.list_people(max_people=1).item(0, "email")
            ...     enc.tag_person("add", "email", email, ["vip"])
            201
        """
        method = {"add": "POST", "remove": "DELETE"}[check_choice("action", action, ("add", "remove"))]
        check_choice("kind", kind, IDENTIFIERS)
        names = check_tags(list(tags))
        response = self._send(method, "/tags", json={"tag": ",".join(names), kind: value}, retry=True)
        if response.status_code in (200, 201, 204):
            return response.status_code
        raise self._error(response, method, "/tags")

    def _tagging(self, action: str, people: Any, tags: str | Iterable[str], progress: bool | None) -> pl.DataFrame:
        names = check_tags(tags)
        idents = _people_identifiers(people)
        if not idents:
            raise ValidationError("people", people, "at least one person (a frame, emails, or dicts with email/id)")
        rows: list[dict[str, Any]] = []
        bar = _bar(progress, len(idents), f"Encharge {action} tags", threshold=20)
        for kind, value in idents:
            row = {**_ident_columns(kind, value), "action": action, "tags": names}
            try:
                status = self.tag_person(action, kind, value, names)
                row.update(status="done", http_status=status, error=None)
            except AuthenticationError:
                raise  # nothing else can succeed with a refused key
            except APIError as error:
                row.update(status="not found" if isinstance(error, NotFoundError) else "error",
                           http_status=error.status_code, error=error.message)
            except TransportError as error:
                row.update(status="error", http_status=None, error=error.reason)
            rows.append(row)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return fr.build_frame(rows, RESULT_SCHEMA)

    def add_tags(self, people: Any, tags: str | Iterable[str], *, progress: bool | None = None) -> pl.DataFrame:
        """Tag people (POST /tags, one request per person with the tags comma-joined).

        ``people`` is a frame with an ``email``/``id``/``userId`` column (or ENS's ``Email
        Address``/``emailAddress``), a list of emails, or a list of dicts. Returns one row per
        person: ``status`` "done", "not found" or "error" with Encharge's message.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     email = enc.list_people(max_people=1).item(0, "email")
            ...     enc.add_tags([email], ["spring-2026"]).item(0, "status")
            'done'
        """
        return self._tagging("add", people, tags, progress)

    def remove_tags(self, people: Any, tags: str | Iterable[str], *, progress: bool | None = None) -> pl.DataFrame:
        """Untag people (DELETE /tags with the same body as adding); one result row per person.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     email = enc.list_people(max_people=1).item(0, "email")
            ...     enc.remove_tags([email], "newsletter").item(0, "action")
            'remove'
        """
        return self._tagging("remove", people, tags, progress)

    def get_tags(self) -> pl.DataFrame:
        """The account's tags with their counts (GET /tags-management).

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.get_tags().columns
            ['tag', 'color', 'count', 'createdAt', 'description']
        """
        body = self._call("GET", "/tags-management").json()
        return fr.build_frame(_list_in(body, "tags"), TAG_SCHEMA)

    def get_fields(self) -> pl.DataFrame:
        """The person fields of the account (GET /fields).

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     "email" in enc.get_fields().get_column("name").to_list()
            True
        """
        body = self._call("GET", "/fields").json()
        return fr.build_frame(_list_in(body, "items"), FIELD_SCHEMA, extra=True)

    def get_segments(self) -> pl.DataFrame:
        """The account's segments (GET /segments); ``conditions`` as JSON text.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.get_segments().get_column("name").to_list()[0]
            'Donors'
        """
        body = self._call("GET", "/segments").json()
        return fr.build_frame(_list_in(body, "segments"), SEGMENT_SCHEMA)

    def get_segment_people(
        self, segment_id: int | str, *, limit: int = 100, attributes: Iterable[str] | None = None,
        sort: str | None = None, order: str | None = None, max_people: int | None = None,
        progress: bool | None = None,
    ) -> pl.DataFrame:
        """The people in one segment (GET /segments/{id}/people), every page.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=50) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     donors = enc.get_segment_people(101)
            ...     all("donor" in tags for tags in donors.get_column("tags"))
            True
        """
        sid = check_id("segment_id", segment_id)
        return self._paged(f"/segments/{sid}/people", limit=limit, attributes=attributes, sort=sort, order=order,
                           ignore_anonymous=None, max_people=max_people, progress=progress,
                           desc=f"Encharge segment {sid}")

    def get_account(self) -> pl.DataFrame:
        """The account (GET /accounts/info) as a one-row frame.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.get_account().item(0, "name")
            'Sandbox Charity'
        """
        body = self._call("GET", "/accounts/info").json()
        return fr.build_frame([body], ACCOUNT_SCHEMA)

    # -- watch triggers ----------------------------------------------------------------------
    def subscribe(self, event: str, url: str, *, name: str | None = None) -> int:
        """Subscribe a URL to an event (POST /event-subscriptions); returns the subscription id.

        Events: newUser, updatedUser, unsubscribedUser, added-tag-{tag}, removed-tag-{tag}.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.subscribe("newUser", "http://127.0.0.1:9/hook") > 0
            True
        """
        event = check_event(event)
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("url", url, "an http(s) URL that can receive POST requests")
        body: dict[str, Any] = {"eventType": event, "url": url}
        if name is not None:
            body["eventName"] = str(name)
        result = self._call("POST", "/event-subscriptions", json=body, ok=(200, 201), retry=False).json()
        sid = int(result["subscription"]["id"])
        self._created_subscriptions[sid] = {"id": sid, "eventType": event, "url": url, "eventName": name}
        return sid

    def list_subscriptions(self) -> pl.DataFrame:
        """The account's event subscriptions.

        Encharge documents no list endpoint; where the API answers 404 the frame holds the
        subscriptions made through this client.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     _ = enc.subscribe("unsubscribedUser", "http://127.0.0.1:9/hook")
            ...     enc.list_subscriptions().get_column("eventType").to_list()
            ['unsubscribedUser']
        """
        response = self._call("GET", "/event-subscriptions", ok=(200, 404))
        if response.status_code == 404:
            records = list(self._created_subscriptions.values())
        else:
            records = _list_in(response.json(), "subscriptions")
        return fr.build_frame(records, SUBSCRIPTION_SCHEMA)

    def unsubscribe_hook(self, subscription_id: int | str) -> None:
        """Delete an event subscription (DELETE /event-subscriptions/{id}).

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.unsubscribe_hook(enc.subscribe("newUser", "http://127.0.0.1:9/hook"))
            ...     enc.list_subscriptions().height
            0
        """
        sid = check_id("subscription_id", subscription_id)
        self._call("DELETE", f"/event-subscriptions/{sid}", ok=(204, 200))
        self._created_subscriptions.pop(sid, None)

    # -- anything else -------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
                json: Any = None) -> Any:
        """An authorised call to any Encharge endpoint ("Make an API call"); returns decoded JSON.

        ``path`` is relative to the base URL (``/people?people[0][email]=...`` or with
        ``params``). GET, PUT and DELETE are retried on failures; POST and PATCH are not.

        Example:
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.request("GET", "/accounts/info")["status"]
            'active'
        """
        verb = check_choice("method", str(method).upper(), ("GET", "POST", "PUT", "PATCH", "DELETE"))
        if not isinstance(path, str) or not path.startswith("/") or "://" in path:
            raise ValidationError("path", path, "a path relative to the base URL, such as '/accounts/info'")
        response = self._call(verb, path, params=params, json=json, ok=(200, 201, 202, 204))
        if response.status_code == 204 or not response.content:
            return None
        return response.json() if "json" in response.headers.get("content-type", "") else response.text


# -- helpers ----------------------------------------------------------------------------------

_KW = {"email": "emails", "id": "ids", "userId": "user_ids"}


def _bar(progress: bool | None, total: int | None, desc: str, *, threshold: int) -> Any:
    show = progress if progress is not None else (total is not None and total > threshold)
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="person")


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _records(records: Any, argument: str) -> list[dict[str, Any]]:
    if isinstance(records, pl.DataFrame):
        return [{k: v for k, v in row.items() if v is not None} for row in records.iter_rows(named=True)]
    if isinstance(records, Mapping):
        return [dict(records)]
    try:
        rows = list(records)
    except TypeError:
        raise ValidationError(argument, records, "a frame, a dict or a list of dicts") from None
    if not all(isinstance(r, Mapping) for r in rows):
        raise ValidationError(argument, records, "a frame, a dict or a list of dicts")
    return [dict(r) for r in rows]


def _person_payload(row: Mapping[str, Any], argument: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(argument, key, "field names as text")
        if value is None:
            continue
        if key == "tags":
            value = ",".join(check_tags(value if not isinstance(value, str) else value.split(",")))
        elif key == "email":
            value = check_email(f"{argument}['email']", value)
        elif key in ("id", "userId"):
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[key] = value
    if not any(out.get(k) for k in IDENTIFIERS):
        raise ValidationError(argument, dict(row), "a person with one of id, userId or email")
    return out


def _one_identifier(*, email: str | None, id: str | None, user_id: str | None) -> dict[str, str]:
    given = {k: v for k, v in (("email", email), ("id", id), ("userId", user_id)) if v is not None}
    if len(given) != 1:
        raise ValidationError("email/id/user_id", given or None, "exactly one of email, id or user_id")
    kind, value = next(iter(given.items()))
    if kind == "email":
        return {"email": check_email("email", value)}
    if not isinstance(value, (str, int)) or not str(value).strip():
        raise ValidationError(kind, value, "a non-empty identifier")
    return {kind: str(value).strip()}


def _identifiers(emails: Iterable[str] | None, ids: Iterable[str] | None,
                 user_ids: Iterable[str] | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for kind, values in (("email", emails), ("id", ids), ("userId", user_ids)):
        if values is None:
            continue
        if isinstance(values, str):
            values = [values]
        for value in values:
            if kind == "email":
                out.append((kind, check_email("emails", value)))
            elif value is None or not str(value).strip():
                raise ValidationError(_KW[kind], value, "non-empty identifiers")
            else:
                out.append((kind, str(value).strip()))
    return out


def _split_identifiers(idents: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, value in idents:
        out.setdefault(_KW[kind], []).append(value)
    return out


_EMAIL_COLUMNS = ("email", "Email Address", "emailAddress", "Email")


def _people_identifiers(people: Any) -> list[tuple[str, str]]:
    """Identifiers from a frame, a list of emails or a list of dicts, in order, without repeats."""
    if people is None:
        return []
    if isinstance(people, str):
        people = [people]
    rows: list[Any] = list(people.iter_rows(named=True)) if isinstance(people, pl.DataFrame) else list(people)
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for n, row in enumerate(rows):
        ident: tuple[str, str] | None = None
        if isinstance(row, str):
            ident = ("email", check_email(f"people[{n}]", row))
        elif isinstance(row, Mapping):
            if row.get("id"):
                ident = ("id", str(row["id"]))
            elif row.get("userId"):
                ident = ("userId", str(row["userId"]))
            else:
                for column in _EMAIL_COLUMNS:
                    if row.get(column):
                        ident = ("email", check_email(f"people[{n}][{column!r}]", row[column]))
                        break
        if ident is None:
            raise ValidationError(f"people[{n}]", row, "an email, or a row with an id, userId or email column")
        if ident not in seen:
            seen.add(ident)
            out.append(ident)
    return out


def _present(known: pl.DataFrame, idents: Sequence[tuple[str, str]]) -> list[bool]:
    ids = set(known.get_column("id").drop_nulls()) if known.height else set()
    user_ids = set(known.get_column("userId").drop_nulls()) if known.height else set()
    emails = {e.lower() for e in known.get_column("email").drop_nulls()} if known.height else set()
    lookup = {"id": ids, "userId": user_ids, "email": emails}
    return [(value.lower() if kind == "email" else value) in lookup[kind] for kind, value in idents]


def _erased(known: pl.DataFrame, targets: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """The full identifiers (email, id, userId) of the people erased."""
    out = []
    rows = list(known.iter_rows(named=True)) if known.height else []
    for kind, value in targets:
        match = next((r for r in rows if (str(r.get(kind) or "").lower() if kind == "email" else r.get(kind))
                      == (value.lower() if kind == "email" else value)), None)
        out.append({k: (match or {}).get(k) or (value if k == kind else None) for k in ("email", "id", "userId")})
    return out


def _ident_columns(kind: str, value: str) -> dict[str, Any]:
    return {"email": value if kind == "email" else None, "id": value if kind == "id" else None,
            "userId": value if kind == "userId" else None}


def _list_in(body: Any, key: str) -> list[Any]:
    if isinstance(body, Mapping) and isinstance(body.get(key), list):
        return list(body[key])
    raise APIError("Encharge", 200, f"expected {{{key!r}: [...]}} in the response")


def _people_from(body: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(body, Mapping):
        if isinstance(body.get(key), list):
            return list(body[key])
        if isinstance(body.get("user"), Mapping):  # a single-object upsert answers {"user": {...}}
            return [dict(body["user"])]
    raise APIError("Encharge", 200, f"expected {{{key!r}: [...]}} in the response")


def _names(values: Iterable[str], argument: str) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    out = []
    for value in items:
        if not isinstance(value, str) or not value.strip() or "," in value:
            raise ValidationError(argument, value, "field names without commas")
        out.append(value.strip())
    return out


def is_email(value: Any) -> bool:
    """Whether ``value`` looks like an email address (re-exported for panels).

    Example:
        >>> is_email("a@example.org")
        True
    """
    return is_valid_email(value)
