"""Encharge request bodies checked before anything is sent (tags, event names, person records), and
person records read back (custom fields under ``data`` flattened, the subscription status and its source).

Example:
    >>> check_tags(["donor", "vip", "donor"])
    ['donor', 'vip']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import check_email
from ..inputs.people_args import IDENTIFIER_KINDS
from ..schemas import StatusSource
from ..schemas.encharge import PERSON
from ..schemas.frames import parse_bool, read_frame

__all__ = ["EVENTS", "check_event", "check_names", "check_tag", "check_tags", "flatten_person", "mask_url_secret",
           "people_frame", "person_payload", "read_status", "single_identifier", "subscription_status"]

#: Watch triggers: the fixed events, plus added-tag-{tag} and removed-tag-{tag}.
EVENTS = ("newUser", "updatedUser", "unsubscribedUser")


def check_tag(value: Any, argument: str = "tags") -> str:
    """Validate one tag name: non-empty text without commas (Encharge splits on them), at most 100 characters.

    Example:
        >>> check_tag(" donor ")
        'donor'
    """
    if not isinstance(value, str) or not value.strip() or "," in value or len(value.strip()) > 100:
        raise ValidationError(argument, value, "non-empty tag names of at most 100 characters, without commas")
    return value.strip()


def check_tags(tags: Any, argument: str = "tags") -> list[str]:
    """Validate one tag or several (a list, a tuple, a polars Series); returns them without duplicates, in order.

    Example:
        >>> check_tags("vip")
        ['vip']
    """
    if isinstance(tags, str):
        items: list[Any] = [tags]
    elif isinstance(tags, pl.Series):
        items = tags.to_list()
    elif isinstance(tags, (list, tuple, set, frozenset)):
        items = list(tags)
    else:
        raise ValidationError(argument, tags, "a tag name or a list of tag names")
    if not items:
        raise ValidationError(argument, tags, "at least one tag")
    out: list[str] = []
    for item in items:
        tag = check_tag(item, argument)
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


def check_names(values: Iterable[str] | str, argument: str) -> list[str]:
    """Field names for ``attributes`` or ``sort``: text without commas.

    Example:
        >>> check_names("firstName", "attributes")
        ['firstName']
    """
    items = [values] if isinstance(values, str) else list(values)
    out = []
    for value in items:
        if not isinstance(value, str) or not value.strip() or "," in value:
            raise ValidationError(argument, value, "field names without commas")
        out.append(value.strip())
    return out


def person_payload(row: Mapping[str, Any], argument: str) -> dict[str, Any]:
    """A person for POST /people: tags comma-joined, the email checked, dates as ISO; an identifier required.

    Example:
        >>> person_payload({"email": " A@example.org", "tags": ["a", "b"]}, "records[0]")
        {'email': 'a@example.org', 'tags': 'a,b'}
    """
    out: dict[str, Any] = {}
    for key, value in row.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(argument, key, "field names as text")
        if value is None:
            continue
        if key == "tags":
            value = ",".join(check_tags(value.split(",") if isinstance(value, str) else value))
        elif key == "email":
            value = check_email(f"{argument}['email']", value)
        elif key in ("id", "userId"):
            if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
                raise ValidationError(f"{argument}[{key!r}]", value, "an identifier (text or a whole number)")
            value = str(value).strip()
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif not isinstance(value, (str, int, float)) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValidationError(f"{argument}[{key!r}]", value, "a single value: text, a number, true/false or a date")
        out[key] = value
    if not any(out.get(k) for k in IDENTIFIER_KINDS):
        raise ValidationError(argument, dict(row), "a person with one of id, userId or email")
    return out


def single_identifier(person: Any, argument: str = "person") -> dict[str, str]:
    """One person's identifier: an email address, an Encharge id, or a one-key mapping of email/id/userId.

    Example:
        >>> single_identifier("A@example.org"), single_identifier("0f1e-22"), single_identifier({"userId": 7})
        ({'email': 'a@example.org'}, {'id': '0f1e-22'}, {'userId': '7'})
    """
    if isinstance(person, str) and person.strip():
        if "@" in person:
            return {"email": check_email(argument, person)}
        return {"id": person.strip()}
    if isinstance(person, Mapping):
        given = {k: v for k, v in person.items() if k in IDENTIFIER_KINDS and v is not None}
        if len(given) == 1:
            kind, value = next(iter(given.items()))
            if kind == "email":
                return {"email": check_email(f"{argument}['email']", value)}
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
                return {kind: str(value).strip()}
    raise ValidationError(argument, person, "an email address, an Encharge id, or {'email'|'id'|'userId': value}")


def flatten_person(person: Mapping[str, Any]) -> dict[str, Any]:
    """A person with the custom fields under ``data`` (at any depth) brought to the top level.

    Nested keys are joined with dots, except that the group names Encharge uses around custom
    fields (``data``, ``additionalFields``) are dropped. A name already at the top level wins.

    Example:
        >>> flatten_person({"id": "p1", "data": {"additionalFields": {"field01": "a"}, "plan": {"tier": "gold"}}})
        {'id': 'p1', 'field01': 'a', 'plan.tier': 'gold'}
    """
    out: dict[str, Any] = dict(person)  # a copy: the caller's record is left as it is
    data = out.pop("data", None)

    def walk(value: Mapping[str, Any], prefix: str) -> None:
        for key, item in value.items():
            name = key if key == "additionalFields" else f"{prefix}{key}"
            if isinstance(item, Mapping):
                walk(item, "" if key == "additionalFields" else f"{name}.")
            else:
                out.setdefault(name, item)

    if isinstance(data, Mapping):
        walk(data, "")
    return out


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def read_status(value: Any) -> bool | None:
    """One ``unsubscribed`` value as Encharge may write it: true/false, "true"/"True"/"false", 1/0; else None.

    Example:
        >>> read_status(True), read_status("True"), read_status(0), read_status(None), read_status("maybe")
        (True, True, False, None, None)
    """
    return parse_bool(value, _TRUE, _FALSE)


def subscription_status(people: Iterable[Mapping[str, Any]]) -> list[tuple[bool | None, str]]:
    """Each person's subscription status and where it came from (a :class:`~enstoolkit.schemas.StatusSource`).

    Encharge's help centre: the default field "Unsubscribed" is empty for subscribed people
    and true for unsubscribed ones; the API leaves empty fields out. So a record carrying
    ``unsubscribed`` says so ("field"); a record without it is subscribed only when other
    records of the same answer carry it, showing that the account returns the field ("absent
    means subscribed ..."); when none does, the status is unknown (the published records
    carry no such key at all). A value that is not a recognisable boolean is unknown too,
    and says which value it was.

    Example:
        >>> subscription_status([{"unsubscribed": True}, {}])
        [(True, 'field'), (False, 'absent means subscribed (the account shows the field for others)')]
        >>> subscription_status([{"email": "a@example.org"}])
        [(None, 'unknown')]
    """
    records = list(people)
    values = [record.get("unsubscribed") for record in records]
    shown = any(read_status(value) is not None for value in values)
    out: list[tuple[bool | None, str]] = []
    for value in values:
        status = read_status(value)
        if status is not None:
            out.append((status, str(StatusSource.FIELD)))
        elif value is not None:
            out.append((None, f"{StatusSource.UNKNOWN}: unrecognised value {value!r}"))
        elif shown:
            out.append((False, str(StatusSource.ABSENT_MEANS_SUBSCRIBED)))
        else:
            out.append((None, str(StatusSource.UNKNOWN)))
    return out


def people_frame(records: Iterable[Mapping[str, Any]], *, asked: Iterable[str] | None = None) -> pl.DataFrame:
    """People as a frame: the standard columns typed, custom fields (also those under ``data``) as String
    after them; ``unsubscribed`` with its ``statusSource`` (see :func:`subscription_status`).

    Encharge leaves ``tags`` out (or null) when a person has none: that is an empty list,
    unless ``asked`` (the ``attributes`` the request named) left tags out, when it is unknown (null).

    Example:
        >>> people_frame([{"id": "u1", "email": "a@example.org", "tags": "a,b", "leadScore": "7",
        ...                "country": "GB"}]).row(0, named=True)["tags"]
        ['a', 'b']
        >>> frame = people_frame([{"id": "u2", "data": {"country": "IE"}}])
        >>> frame.select("unsubscribed", "statusSource", "country", "tags").row(0)
        (None, 'unknown', 'IE', [])
    """
    rows = [flatten_person(record) for record in records]
    named = None if asked is None else set(asked)
    for row, (status, source) in zip(rows, subscription_status(rows), strict=True):
        row["unsubscribed"] = status
        row["statusSource"] = source
        if row.get("tags") is None and (named is None or "tags" in named):
            row["tags"] = ""
    return read_frame(rows, PERSON, extra=True)


_HOOK_SECRET = re.compile(r"(/hooks/|\\/hooks\\/)[^/?#\s'\"<>\\]+")


def mask_url_secret(url: Any) -> Any:
    """A webhook URL with the listener's secret (the path segment after ``/hooks/``) masked; other values as they are.

    Works on any text that holds such URLs (an error message quoting one keeps the rest of its words).

    Example:
        >>> mask_url_secret("https://hooks.example.org/hooks/s3cr3t-s3cr3t-s3cr3t")
        'https://hooks.example.org/hooks/***'
        >>> mask_url_secret("got 'https://hooks.example.org/hooks/s3cr3t-s3cr3t'. Use loopback.")
        "got 'https://hooks.example.org/hooks/***'. Use loopback."
    """
    return _HOOK_SECRET.sub(r"\1***", url) if isinstance(url, str) else url
