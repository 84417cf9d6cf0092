"""Encharge request bodies checked before anything is sent: tags, event names, person records.

Example:
    >>> check_tags(["donor", "vip", "donor"])
    ['donor', 'vip']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..frames import read_frame
from ..people import IDENTIFIER_KINDS
from ..schemas import encharge as schema
from ..validate import check_email

__all__ = ["EVENTS", "check_event", "check_names", "check_tag", "check_tags", "people_frame", "person_payload",
           "single_identifier"]

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
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
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


def people_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """People as a frame: the standard columns typed, custom fields as String after them.

    Example:
        >>> people_frame([{"id": "u1", "email": "a@example.org", "tags": "a,b", "leadScore": "7",
        ...                "country": "GB"}]).row(0, named=True)["tags"]
        ['a', 'b']
    """
    return read_frame(list(records), schema.PERSON, extra=True)
