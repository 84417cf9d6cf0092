"""Who an identifier names in Encharge, and archiving or erasing them by id, with the erasure record kept.

An email names every person whose address matches it without regard to case or surrounding
spaces: Encharge can hold two people whose emails differ only in case (the consent plan and the
audit treat them as two people), and a lookup by email shows one of them at most. So an archive,
an erasure or an unsubscribe given by email acts on each of them, by id (:func:`holders` finds
them: a lookup, which finds the archived too, and the list of everyone, read afresh for each
call (a bulk run reads it at most once a minute), each person it names looked up again by id).
An id or a userId
names one person.

An erasure is written to the :class:`~enstoolkit.records.erasures.ErasureLog` as pending before the
request goes out and confirmed when Encharge answers; the address is tombstoned then too
(:mod:`enstoolkit.protection.tombstones`), so no later write re-creates the person. When the answer is lost (every retry
dropped), the next attempt (e.g. resuming the run) finds the person gone, and the pending
erasure is confirmed then: reported done, never "not found".

Example:
    >>> old = sb.encharge.add_person("twin@example.org")
    >>> twin = sb.encharge.add_person("TWIN@example.org")
    >>> sorted(p["id"] for p in holders(encharge, [("email", old["email"])])[0]) == sorted([old["id"], twin["id"]])
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import APIError, NotFoundError, ServerError
from ..inputs.people_args import email_key
from ..records.erasures import ErasureLog

if TYPE_CHECKING:
    from .people import PeopleMethods

__all__ = ["LOST_ANSWER", "Removal", "holders", "remove_people"]

#: How an erasure confirmed after its answer was lost is reported.
LOST_ANSWER = "erased; its answer had been lost"


def _matches(person: Mapping[str, Any], kind: str, value: str) -> bool:
    if kind == "email":
        return bool(person.get("email")) and email_key(person["email"]) == email_key(value)
    return person.get(kind) is not None and str(person[kind]) == str(value)


def _people(frame: pl.DataFrame) -> list[dict[str, Any]]:
    columns = [c for c in ("id", "email", "userId") if c in frame.columns]
    return [{k: row.get(k) for k in ("id", "email", "userId")} for row in frame.select(columns).iter_rows(named=True)]


def holders(client: PeopleMethods, idents: Sequence[tuple[str, str]], *, include_archived: bool = True,
            chunk_size: int = 50, list_age: float = 0.0) -> list[list[dict[str, Any]]]:
    """For each ``(kind, value)`` identifier, every person it names (``id``, ``email``, ``userId``), each once.

    An email names everyone whose address matches it without case or spaces: the lookup
    (archived people too, with ``include_archived``) and the list of everyone
    (``EnchargeClient._people_by_email``: read again unless a copy at most ``list_age``
    seconds old is kept, as a bulk run allows; whoever it names is looked up again by id), so a
    second person holding the address in another case is not missed. An email thus costs a
    listing of the account; ids and userIds do not.

    Example:
        >>> from enstoolkit import EnchargeClient
        >>> holders(encharge, [("email", "nobody@example.org")])
        [[]]
    """
    known: dict[str, dict[str, Any]] = {}
    for person in _people(client._lookup(idents, include_archived=include_archived, chunk_size=chunk_size)):
        if person["id"]:
            known.setdefault(str(person["id"]), person)
    if any(kind == "email" for kind, _ in idents):
        index = client._people_by_email(max_age=list_age)  # the list of everyone: it names the other holders ...
        others = sorted({str(p["id"]) for kind, value in idents if kind == "email"
                         for p in index.get(email_key(value), []) if str(p["id"]) not in known})
        if others:  # ... each looked up by id now: nobody gone or changed since is acted on
            for person in _people(client._lookup([("id", i) for i in others], include_archived=include_archived,
                                                chunk_size=chunk_size)):
                if person["id"]:
                    known.setdefault(str(person["id"]), person)
    return [[p for p in known.values() if _matches(p, kind, value)] for kind, value in idents]


@dataclass(frozen=True)
class Removal:
    """What an archive or an erasure did for one identifier asked for.

    Attributes:
        kind, value: the identifier as asked.
        people: the people acted on now, by id (each with ``id``, ``email``, ``userId``).
        lost: people an earlier attempt erased whose answer was lost (found gone now; their
            pending erasures confirmed).
        http_status: Encharge's answer to the request (404: gone by the time it arrived).

    Example:
        >>> Removal("email", "a@example.org", [{"id": "p1"}], [], 204).found
        True
    """

    kind: str
    value: str
    people: list[dict[str, Any]] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)
    http_status: int | None = None

    @property
    def found(self) -> bool:
        """Whether anyone was archived or erased for this identifier (now, or by an attempt whose answer was lost).

        Example:
            >>> Removal("email", "nobody@example.org").found
            False
        """
        return bool(self.people or self.lost)


def _lost(client: PeopleMethods, log: ErasureLog, account: int | None, chunk: Sequence[tuple[str, str]],
          present: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Per identifier, the pending erasures of people no longer in Encharge (their answer was lost)."""
    pending = log.read(account_id=account, pending=True).filter(pl.col("pending"))
    if pending.height == 0:
        return [[] for _ in chunk]
    rows = _people(pending)
    here = {str(p["id"]) for group in present for p in group}
    candidates = [[p for p in rows if p["id"] and str(p["id"]) not in here and _matches(p, kind, value)]
                  for kind, value in chunk]
    ids = sorted({str(p["id"]) for group in candidates for p in group})
    if ids:  # still in Encharge under another address: not erased, whatever the record says
        still = set(client._lookup([("id", i) for i in ids], include_archived=True).get_column("id").to_list())
        candidates = [[p for p in group if str(p["id"]) not in still] for group in candidates]
    out: list[list[dict[str, Any]]] = []
    for group in candidates:
        unique: dict[str, dict[str, Any]] = {}
        for person in group:
            unique.setdefault(str(person["id"]), person)
        out.append(list(unique.values()))
    return out


def remove_people(client: PeopleMethods, idents: Sequence[tuple[str, str]], *, force: bool, chunk_size: int = 50,
                  list_age: float = 0.0,
                  log: ErasureLog | None = None, account_id: int | None = None) -> list[Removal]:
    """Archive (or with ``force=True`` erase) everyone each identifier names, by id; one :class:`Removal` each.

    Erasures go to ``log`` (pending before the DELETE, confirmed after; cancelled when Encharge
    refuses). A lost answer raises the client's error with the erasures left pending; the next
    call confirms them for the people it finds gone. ``list_age``: how old a kept copy of the
    list of everyone may be (see :func:`holders`; 0 reads it again). Used by
    :meth:`EnchargeClient.delete_people` and the bulk "erase" and "archive" runs.

    Example:
        >>> pid = encharge.upsert_people([{"email": "removed@example.org"}]).item(0, "id")
        >>> [r.found for r in remove_people(encharge, [("id", pid), ("email", "nobody@example.org")], force=False)]
        [True, False]
    """
    if force and log is None:
        raise ValueError("an erasure needs the erasure record (log=ErasureLog(...))")
    out: list[Removal] = []
    for start in range(0, len(idents), chunk_size):
        chunk = list(idents[start:start + chunk_size])
        present = holders(client, chunk, include_archived=True, chunk_size=chunk_size,
                          list_age=list_age if start == 0 else max(list_age, 300.0))
        lost = _lost(client, log, account_id, chunk, present) if force and log is not None else [[] for _ in chunk]
        targets: dict[str, dict[str, Any]] = {}
        for group in present:
            for person in group:
                targets.setdefault(str(person["id"]), person)
        status = None
        if targets:
            if force and log is not None:
                log.begin(targets.values(), account_id=account_id)  # before the request: never forgotten
                from ..protection.tombstones import default_tombstones  # nobody re-adds them after

                default_tombstones(client).add([p.get("email") for p in targets.values()], reason="erased",
                                         source="Encharge erasure")
            params = [(f"people[{i}][id]", pid) for i, pid in enumerate(targets)]
            params.append(("force", "true" if force else "false"))
            try:
                status = client._send("DELETE", "/people", params=params, ok=(204, 200)).status_code
            except NotFoundError:  # found a moment ago: gone now (a repeat whose first answer was lost)
                status = 404
            except APIError as exc:
                if force and log is not None and not isinstance(exc, ServerError):
                    log.cancel(targets, account_id=account_id)  # refused: nobody was erased
                raise  # a server error or a lost answer: may have been acted on, left pending
            if force and log is not None:
                log.confirm(targets, account_id=account_id)
        if force and log is not None:
            log.confirm({str(p["id"]) for group in lost for p in group}, account_id=account_id)
        out += [Removal(kind, value, group, gone, status if group else None)
                for (kind, value), group, gone in zip(chunk, present, lost, strict=True)]
    return out
