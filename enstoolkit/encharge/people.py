"""Encharge people: add or update, look up, list, delete or erase, unsubscribe, tag and untag.

Bulk methods take people in any shape :mod:`enstoolkit.inputs.people_args` accepts and report what
happened to each person; nothing is silently dropped.

Example:
    >>> encharge.get_people(emails=["nobody@example.org"]).height
    0
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import polars as pl

from ..errors import APIError, AuthenticationError, NotFoundError, RateLimitExceeded, TransportError, ValidationError
from ..inputs.arguments import check_choice, check_id, check_int
from ..inputs.people_args import (
    IDENTIFIER_KINDS,
    email_key,
    known_fields,
    listed,
    listed_emails,
    people_records,
    row_identifiers,
)
from ..protection.tombstones import check_writes
from ..records.erasures import ErasureLog
from ..schemas import Outcome, StatusSource
from ..schemas.frames import read_frame
from ..schemas.results import PERSON_RESULT
from .core import EnchargeCore
from .payloads import check_names, check_tags, people_frame, person_payload, single_identifier
from .removal import holders, remove_people

_log = logging.getLogger("enstoolkit.encharge")

__all__ = ["PeopleMethods"]

_KEYWORD = {"email": "emails", "id": "ids", "userId": "user_ids"}
_FRAME_EVERY = 5_000  # people typed into a frame at a time while paging (bounds the decoded objects held)


def _bar(progress: bool | None, total: int | None, desc: str, *, threshold: int) -> Any:
    if not (progress if progress is not None else (total is not None and total > threshold)):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="person")


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _people_in(body: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(body, Mapping):
        if isinstance(body.get(key), list):
            return list(body[key])
        if isinstance(body.get("user"), Mapping):  # a single-object upsert answers {"user": {...}}
            return [dict(body["user"])]
    raise APIError("Encharge", 200, f"expected {{{key!r}: [...]}} in the response")


def _keyword_identifiers(emails: Iterable[str] | None, ids: Iterable[str] | None,
                         user_ids: Iterable[str] | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for kind, values in (("email", emails), ("id", ids), ("userId", user_ids)):
        if values is None:
            continue
        if kind == "email":
            out += [(kind, e) for e in listed_emails(values, argument="emails")]
            continue
        for value in listed(values, argument=_KEYWORD[kind]):
            if value is None or isinstance(value, bool) or not str(value).strip():
                raise ValidationError(_KEYWORD[kind], value, "non-empty identifiers")
            else:
                out.append((kind, str(value).strip()))
    return out


def _each_once(people: Any) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """The people of a ``people`` argument, each once in row order, and a result row per row without an email.

    A row whose email (and id, userId) cells are all empty is not dropped without a word: it
    gets a ``skipped`` row saying "row n has no email" (numbered from 1).
    """
    idents: list[tuple[str, str]] = []
    blank: list[dict[str, Any]] = []
    for n, ident in enumerate(row_identifiers(people), start=1):
        if ident is None:
            blank.append({"email": None, "id": None, "userId": None, "tags": None, "status": Outcome.SKIPPED,
                          "http_status": None, "error": f"row {n} has no email"})
        elif ident not in idents:
            idents.append(ident)
    return idents, blank


def _answers(chunk: Sequence[tuple[str, str]], people: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """The identifiers of ``chunk`` that the people of one lookup's answer hold."""
    emails = {email_key(str(p.get("email") or "")) for p in people}
    ids = {str(p.get("id")) for p in people if p.get("id") is not None}
    users = {str(p.get("userId")) for p in people if p.get("userId") is not None}
    held = {"email": lambda v: email_key(v) in emails, "id": lambda v: v in ids, "userId": lambda v: v in users}
    return {(kind, value) for kind, value in chunk if kind in held and held[kind](value)}


def _asked_again(fetch: Any, chunks: Sequence[list[tuple[str, str]]], answers: Sequence[list[dict[str, Any]]],
                 known: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The people a lookup left out of answers shorter than what was asked, asked again in smaller batches.

    A lookup may answer fewer people than it was asked for because they are not in the account,
    or because the service silently caps how many it answers (a claim of 20 per request has been
    published). A batch no larger than the most people one response has held is answered in full:
    who is missing from it is absent. When a short answer leaves that in doubt, one request asks
    again for people already found, as many as a batch holds: how many come back is how many the
    service answers in full. The people missing from larger batches are then asked again in batches
    of that size, before anyone is reported absent. (When nobody at all was found there is nobody
    to ask about: the missing are reported absent, and the log says it could not be checked.)
    ``known`` is the size this client has already seen answered in full; the size now known is
    returned with the people found.
    """
    trusted = known
    short: list[tuple[int, list[tuple[str, str]]]] = []  # (the size of the batch asked, who it left out)
    present: list[tuple[str, str]] = []
    for chunk, people in zip(chunks, answers, strict=True):
        held = _answers(chunk, people)
        trusted = max(trusted, len(held))
        present += [ident for ident in chunk if ident in held]
        if len(held) < len(chunk):
            short.append((len(chunk), [ident for ident in chunk if ident not in held]))
    doubtful = [entry for entry in short if entry[0] > trusted]
    if not doubtful:
        return [], trusted
    if not present:
        _log.info("an Encharge lookup found nobody: whether the service caps its answers could not be checked")
        return [], trusted
    probe = present[:max(size for size, _ in doubtful)]
    if len(probe) > trusted:
        trusted = max(trusted, len(_answers(probe, fetch(probe))))
    found: list[dict[str, Any]] = []
    asked_again = 0
    for size, missing in doubtful:
        if size <= trusted:
            continue  # asked in a batch the service answers in full: these people are absent
        for part in _chunks(missing, max(trusted, 1)):
            found.extend(fetch(part))
            asked_again += 1
    if asked_again:
        _log.warning("Encharge answered some lookups with fewer people than asked (it answers %d per request in "
                     "full): the missing were asked again in %d smaller request(s), %d more found", trusted,
                     asked_again, len(found))
    return found, trusted


def _ident_columns(kind: str, value: str, person: Mapping[str, Any] | None = None) -> dict[str, Any]:
    found = person or {}
    return {k: (value if k == kind else found.get(k)) for k in ("email", "id", "userId")}


class PeopleMethods(EnchargeCore):
    """People methods of :class:`enstoolkit.EnchargeClient`.

    Example:
        >>> added = encharge.upsert_people([{"email": "new.person@example.org", "firstName": "New"}])
        >>> found = encharge.get_people(emails=["new.person@example.org"])
        >>> isinstance(encharge, PeopleMethods), found.item(0, "firstName")
        (True, 'New')
    """

    erasure_log: ErasureLog | None = None  # opened on the first forced deletion

    def upsert_people(self, records: Any, *, batch_size: int = 100, progress: bool | None = None,
                      override: str | None = None) -> pl.DataFrame:
        """Create or update people (POST /people with an array), in batches.

        A record whose email is an erased or suppressed address (a tombstone) is refused, with
        nothing sent (:class:`~enstoolkit.protection.Tombstoned` naming the records), unless
        ``override`` gives the reason (logged).

        Each record needs one of ``id``, ``userId`` or ``email``; ``tags`` may be a list or a
        comma-separated string. Returns the people as Encharge answered them. A batch that
        fails raises the API error after the earlier batches were saved; the exception's
        ``completed`` attribute holds their people frame.

        Example:
            >>> encharge.upsert_people([{"email": "new@example.org", "firstName": "New"}]).item(0, "name")
            'New'
        """
        rows = people_records(records, argument="records")
        if not rows:
            raise ValidationError("records", records, "at least one person")
        size = check_int("batch_size", batch_size, 1, 1000)
        cleaned = [person_payload(row, f"records[{i}]") for i, row in enumerate(rows)]
        check_writes([c.get("email") for c in cleaned], path="Encharge POST /people", override=override, client=self)
        saved: list[dict[str, Any]] = []
        bar = _bar(progress, len(cleaned), "Encharge upsert", threshold=size)
        try:
            for chunk in _chunks(cleaned, size):
                try:
                    body = self._json("POST", "/people", json=chunk, retry=True)
                except APIError as exc:
                    exc.completed = people_frame(saved)  # type: ignore[attr-defined]
                    raise
                saved.extend(_people_in(body, "users"))
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        return people_frame(saved)

    def update_person(self, person: str | Mapping[str, Any], fields: Mapping[str, Any], *,
                      override: str | None = None) -> pl.DataFrame:
        """Update one person: ``person`` is an email, an Encharge id, or ``{"userId": ...}``.

        Moving a person to an erased or suppressed address, or re-subscribing a person whose
        address is one (``unsubscribed`` false), is refused (:class:`~enstoolkit.protection.Tombstoned`)
        unless ``override`` gives the reason (logged).

        To change someone's email, identify them by id (or userId) and put the new address
        in ``fields``. Raises :class:`~enstoolkit.errors.NotFoundError` for someone Encharge
        does not know (an upsert would create them). Returns the person as a one-row frame.

        Example:
            >>> pid = encharge.upsert_people([{"email": "scored@example.org"}]).item(0, "id")
            >>> encharge.update_person(pid, {"leadScore": 99}).item(0, "leadScore")
            99.0
        """
        ident = single_identifier(person)
        if not isinstance(fields, Mapping) or not fields:
            raise ValidationError("fields", fields, "a non-empty mapping of field -> value")
        payload = person_payload({**fields, **ident}, "fields")
        if "id" in ident or "userId" in ident:
            payload = {**payload, **ident}  # identified by id, an email in `fields` is a change, not a lookup
        found = self._lookup(list(ident.items()))
        if "email" in payload:
            check_writes([payload["email"]], path="Encharge POST /people", override=override, client=self)
        if "unsubscribed" in payload and payload["unsubscribed"] in (False, "false", "False", 0) and found.height:
            check_writes(found.get_column("email").to_list(), path="Encharge POST /people", override=override,
                         client=self)
        if not found.height:
            kind, value = next(iter(ident.items()))
            raise NotFoundError("Encharge", 404, f"no person with {kind} {value!r}", method="POST", path="/people")
        return people_frame(_people_in(self._json("POST", "/people", json=[payload], retry=True), "users"))

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
            >>> encharge.get_people(emails=["nobody@example.org"]).height
            0
        """
        idents = _keyword_identifiers(emails, ids, user_ids)
        if not idents:
            raise ValidationError("emails/ids/user_ids", None, "at least one email, id or userId")
        return self._lookup(idents, attributes=attributes, include_archived=include_archived, chunk_size=chunk_size,
                           concurrency=concurrency)

    def _lookup(self, idents: Sequence[tuple[str, str]], *, attributes: Iterable[str] | None = None,
               include_archived: bool = False, chunk_size: int = 50, concurrency: int = 8) -> pl.DataFrame:
        """:meth:`get_people` for ``(kind, value)`` identifiers, as
        :func:`enstoolkit.inputs.people_args.identifiers` gives them.

        Example:
            >>> encharge._lookup([("email", "nobody@example.org")]).height
            0
        """
        size = check_int("chunk_size", chunk_size, 1, 100)
        workers = check_int("concurrency", concurrency, 1, 32)
        extra: list[tuple[str, str]] = []
        asked = None if attributes is None else check_names(attributes, "attributes")
        if asked is not None:
            extra.append(("attributes", ",".join(asked)))
        if include_archived:
            extra.append(("includeArchived", "true"))

        def fetch(chunk: list[tuple[str, str]]) -> list[dict[str, Any]]:
            params = [(f"people[{i}][{kind}]", value) for i, (kind, value) in enumerate(chunk)] + extra
            response = self._send("GET", "/people", params=params, ok=(200, 404))
            return _people_in(response.json(), "users") if response.status_code == 200 else []

        chunks = list(_chunks(list(idents), size))
        answers = self._concurrently(fetch, chunks, workers)
        found = [person for part in answers for person in part]
        again, self._answered_in_full = _asked_again(fetch, chunks, answers, getattr(self, "_answered_in_full", 0))
        return people_frame(found + again, asked=asked)

    def _paged(self, path: str, *, limit: int, attributes: Iterable[str] | None, sort: str | None,
               order: str | None, ignore_anonymous: bool | None, max_people: int | None,
               progress: bool | None, desc: str, concurrency: int = 4) -> pl.DataFrame:
        size = check_int("limit", limit, 1, 1000)
        params: dict[str, Any] = {"limit": size}
        asked = None if attributes is None else check_names(attributes, "attributes")
        if asked is not None:
            params["attributes"] = ",".join(asked)
        if sort is not None:
            params["sort"] = check_names([sort], "sort")[0]
        if order is not None:
            params["order"] = check_choice("order", order, ("asc", "desc"))
        if ignore_anonymous is not None:
            params["ignoreAnonymous"] = "true" if ignore_anonymous else "false"
        cap = None if max_people is None else check_int("max_people", max_people, 1, None)
        workers = check_int("concurrency", concurrency, 1, 32)
        frames: list[pl.DataFrame] = []
        pending: list[dict[str, Any]] = []  # decoded people not yet in a frame: a few pages' worth at most
        count = 0
        bar = _bar(progress, None, desc, threshold=0) if progress else None

        def fetch(offset: int) -> list[dict[str, Any]]:
            return _people_in(self._json("GET", path, params={**params, "offset": offset}), "people")

        # No total is given: keep up to `workers` pages in flight (a sliding window, growing from one page, as
        # most lists fit in a page or two), take them in order, and stop asking at the first short page.
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enstoolkit-pages")
        in_flight: deque[Future[list[dict[str, Any]]]] = deque()
        next_offset, window, done, pages = 0, 1, False, 0
        try:
            while not done:
                while len(in_flight) < window:
                    in_flight.append(pool.submit(fetch, next_offset))
                    next_offset += size
                page = in_flight.popleft().result()
                pages += 1
                done = len(page) < size or (cap is not None and count + len(page) >= cap)
                if pages == 1 and 0 < len(page) < size and (cap is None or len(page) < cap) and fetch(len(page)):
                    # a short first page with people after it: Encharge caps its pages below `limit`, and paging
                    # by `limit` would skip people in silence
                    raise APIError("Encharge", 200, f"asked for pages of {size} people, got {len(page)} with more "
                                   f"after them: pass limit={len(page)}", method="GET", path=path)
                if cap is not None:
                    page = page[:cap - count]
                pending.extend(page)
                count += len(page)
                if len(pending) >= _FRAME_EVERY or done:
                    # typed in batches: the decoded objects do not pile up
                    frames.append(people_frame(pending, asked=asked))
                    pending = []
                if bar is not None:
                    bar.update(len(page))
                window = min(workers, window * 2)
        finally:
            # pages still in flight lie past the end (or past max_people): not waited for
            pool.shutdown(wait=False, cancel_futures=True)
        if bar is not None:
            bar.close()
        # columns in order of first appearance, as one frame of every record would have them
        return pl.concat(frames, how="diagonal")

    def _people_by_email(self, *, max_age: float = 300.0) -> dict[str, list[dict[str, Any]]]:
        """Everyone in the account (``id``, ``email``, ``userId``) by email, trimmed and lowercased.

        Read with :meth:`list_people` and kept for ``max_age`` seconds, so that a bulk run by
        email reads the list once, not once per person. It finds the second person holding an
        address in another case (a lookup by email shows one at most); whoever it names is
        looked up by id before anything is done to them, so a copy a little old never acts on
        someone gone or changed. ``max_age=0`` reads the list again.

        Example:
            >>> email = encharge.list_people(max_people=1).item(0, "email")
            >>> [p["email"] for p in encharge._people_by_email()[email.strip().lower()]] == [email]
            True
        """
        import time

        if max_age < 0:
            raise ValidationError("max_age", max_age, "seconds, 0 or more")
        kept = self._by_email
        if kept is not None and max_age > 0 and time.monotonic() - kept[0] < max_age:
            return kept[1]
        frame = self.list_people(progress=False)
        index: dict[str, list[dict[str, Any]]] = {}
        columns = [c for c in ("id", "email", "userId") if c in frame.columns]
        for row in frame.select(columns).iter_rows(named=True):
            if row.get("id") and row.get("email"):
                index.setdefault(email_key(row["email"]), []).append(
                    {k: row.get(k) for k in ("id", "email", "userId")})
        self._by_email = (time.monotonic(), index)
        return index

    def list_people(self, *, limit: int = 100, attributes: Iterable[str] | None = None, sort: str | None = None,
                    order: str | None = None, ignore_anonymous: bool | None = None, max_people: int | None = None,
                    progress: bool | None = None, concurrency: int = 4) -> pl.DataFrame:
        """Everyone in the account (GET /people/all), paging by limit/offset until a short page.

        Up to ``concurrency`` pages are in flight at a time (starting with one: most lists fit in a
        page or two); at most ``concurrency - 1`` requests go past the short last page. When the
        first page is already short, one more request checks that nobody follows (a service that
        caps its pages below ``limit`` is an error naming the limit to use, never a short list).

        Example:
            >>> encharge.list_people(limit=5).height == sb.encharge_people_count()
            True
        """
        return self._paged("/people/all", limit=limit, attributes=attributes, sort=sort, order=order,
                           ignore_anonymous=ignore_anonymous, max_people=max_people, progress=progress,
                           desc="Encharge people", concurrency=concurrency)

    def get_segment_people(self, segment_id: int | str, *, limit: int = 100, attributes: Iterable[str] | None = None,
                           sort: str | None = None, order: str | None = None, max_people: int | None = None,
                           progress: bool | None = None) -> pl.DataFrame:
        """The people in one segment (GET /segments/{id}/people), every page.

        Example:
            >>> donors = encharge.get_segment_people(101)
            >>> all("donor" in tags for tags in donors.get_column("tags"))
            True
        """
        sid = check_id("segment_id", segment_id)
        return self._paged(f"/segments/{sid}/people", limit=limit, attributes=attributes, sort=sort, order=order,
                           ignore_anonymous=None, max_people=max_people, progress=progress,
                           desc=f"Encharge segment {sid}")

    def status_from_segment(self, people: pl.DataFrame, *, segment: str = "Unsubscribed") -> pl.DataFrame:
        """``people`` with their unknown subscription statuses read from the account's "Unsubscribed" segment.

        Encharge gives every account a pre-made segment "Unsubscribed" (its help centre), whose
        members are the people unsubscribed from all email, whatever the status field is called
        in the API. For the people whose ``statusSource`` is unknown, ``unsubscribed`` becomes
        whether they are in it, and ``statusSource`` "the account's Unsubscribed segment"; the
        others are left as they were. Raises :class:`~enstoolkit.errors.NotFoundError` when the
        account has no segment of that name (the statuses then stay unknown: nothing is assumed).
        The segment's conditions are the account's to edit: check them in Encharge if in doubt.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=50, variant="encharge-no-status") as sb, \\
            ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     people = enc.list_people()
            ...     known = enc.status_from_segment(people)
            ...     people["statusSource"].unique().to_list(), known["statusSource"].unique().to_list()
            (['unknown'], ["the account's Unsubscribed segment"])
        """
        if not isinstance(people, pl.DataFrame) or not {"id", "unsubscribed", "statusSource"} <= set(people.columns):
            raise ValidationError("people", type(people).__name__,
                                  "a people frame from this client (with id, unsubscribed and statusSource)")
        if not isinstance(segment, str) or not segment.strip():
            raise ValidationError("segment", segment, "a segment name, such as 'Unsubscribed'")
        unknown = pl.col("statusSource").str.starts_with(str(StatusSource.UNKNOWN))
        if not people.select(unknown.any()).item():
            return people
        found = self.get_segments().filter(pl.col("name") == segment.strip())
        if found.height != 1:
            raise NotFoundError("Encharge", 404, f"{'no' if not found.height else found.height} segments named "
                                f"{segment!r}: the subscription statuses stay unknown", method="GET", path="/segments")
        members = set(self.get_segment_people(found.item(0, "id")).get_column("id").to_list())
        return people.with_columns(
            pl.when(unknown).then(pl.col("id").is_in(members)).otherwise(pl.col("unsubscribed")).alias("unsubscribed"),
            pl.when(unknown).then(pl.lit(str(StatusSource.SEGMENT))).otherwise(pl.col("statusSource"))
            .alias("statusSource"),
        )

    def people_with_status(self, *, segment: str | None = "Unsubscribed", progress: bool | None = None
                           ) -> pl.DataFrame:
        """Everyone in the account with their subscription status: the one way the toolkit reads it.

        :meth:`list_people`, then :meth:`known_statuses`: the record's own field where it has one
        (``statusSource`` "field"), else the account's "Unsubscribed" segment. The audit, the consent
        plan, the panels and the watch read statuses this way.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=50, variant="encharge-no-status") as sb, \\
            ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.people_with_status()["statusSource"].unique().to_list()
            ["the account's Unsubscribed segment"]
        """
        return self.known_statuses(self.list_people(progress=progress), segment=segment)

    def known_statuses(self, people: pl.DataFrame, *, segment: str | None = "Unsubscribed") -> pl.DataFrame:
        """``people`` (from this client) with the statuses their records do not carry read from the segment.

        Only where neither exists (no field, no such segment, or ``segment=None``) does a status stay
        unknown (``unsubscribed`` null, ``statusSource`` "unknown: ..."), with a warning: the checks
        then say "cannot check", never "agrees".

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=50, variant="encharge-no-status") as sb, \\
            ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     enc.known_statuses(enc.list_people(), segment=None)["statusSource"].unique().to_list()[0][:7]
            'unknown'
        """
        if segment is None or not people.height or "statusSource" not in people.columns:
            return people
        if not people.select(pl.col("statusSource").str.starts_with(str(StatusSource.UNKNOWN)).any()).item():
            return people
        try:
            return self.status_from_segment(people, segment=segment)
        except NotFoundError as exc:
            _log.warning("Encharge statuses stay unknown: the records carry none, and %s", exc.message)
            return people

    def delete_people(self, people: Any = None, *, emails: Iterable[str] | None = None,
                      ids: Iterable[str] | None = None, user_ids: Iterable[str] | None = None, force: bool = False,
                      chunk_size: int = 50) -> pl.DataFrame:
        """Archive people (DELETE /people), or with ``force=True`` erase them and their data (GDPR).

        Returns one row per person acted on, in the order asked: ``action`` is "archive" or
        "erase", ``status`` "done", or "not found" (one row for an identifier nobody holds). An
        email names everyone whose address matches it without case or spaces (Encharge can hold
        two such people): each is acted on by id and has a row with their own id and email.
        Erasures are also written to the toolkit's own record
        (:class:`~enstoolkit.records.erasures.ErasureLog`), which the audit checks against ENS: pending
        before the request, confirmed after. If the answer is lost, the error is raised; calling
        again finds the person gone and reports them done with ``http_status`` null (the
        erasure confirmed in the record), never "not found". Then one "skipped" row ("row n has
        no email") per row of ``people`` without an email, id or userId.

        Example:
            >>> encharge.delete_people(emails=["nobody@example.org"]).item(0, "status")
            'not found'
        """
        from_people, blank = _each_once(people) if people is not None else ([], [])
        idents = list(dict.fromkeys(_keyword_identifiers(emails, ids, user_ids) + from_people))
        if not idents:
            raise ValidationError("people", people, "at least one person (a frame, emails, ids or user_ids)")
        if not isinstance(force, bool):
            raise ValidationError("force", force, "True or False")
        size = check_int("chunk_size", chunk_size, 1, 100)
        action = "erase" if force else "archive"
        account = self.account_id() if force else None  # asked before erasing: the record must not fail after
        if force and self.erasure_log is None:
            self.erasure_log = ErasureLog()
        rows: list[dict[str, Any]] = []
        for removal in remove_people(self, idents, force=force, chunk_size=size, log=self.erasure_log,
                                     account_id=account):
            for person, status in [*((p, removal.http_status) for p in removal.people),
                                   *((p, None) for p in removal.lost)]:
                rows.append({**_ident_columns(removal.kind, removal.value, person),
                             "email": person.get("email") or (removal.value if removal.kind == "email" else None),
                             "action": action, "tags": None, "status": Outcome.DONE, "http_status": status,
                             "error": None})
            if not removal.found:
                rows.append({**_ident_columns(removal.kind, removal.value), "action": action, "tags": None,
                             "status": Outcome.NOT_FOUND, "http_status": None, "error": None})
        rows += [{**row, "action": action} for row in blank]
        return read_frame(rows, PERSON_RESULT)

    def unsubscribe(self, person: str | Mapping[str, Any], *, list_age: float = 0.0) -> list[str]:
        """Unsubscribe from all email (POST /people/unsubscribe, identified in the query); who was acted on.

        ``person`` is an email, an Encharge id, or ``{"userId": ...}``. An email names everyone
        whose address matches it without case or spaces (Encharge can hold two such people):
        each is unsubscribed by id, and their ids are returned; finding them costs a listing of
        the account (:meth:`people_by_email`; a copy at most ``list_age`` seconds old is used
        when kept, as bulk runs allow). An id or a userId is sent as given and returned, in one
        request. Raises :class:`~enstoolkit.errors.NotFoundError` for someone Encharge does not know.

        Example:
            >>> pid = encharge.upsert_people([{"email": "leaving.list@example.org"}]).item(0, "id")
            >>> encharge.unsubscribe(pid) == [pid], encharge.get_people(ids=[pid]).item(0, "unsubscribed")
            (True, True)
        """
        ident = single_identifier(person)
        kind, value = next(iter(ident.items()))
        found = holders(self, [(kind, value)], include_archived=False, list_age=list_age)[0] if kind == "email" \
            else []
        if not found:  # an id or a userId, or an email nobody holds (Encharge answers for it)
            self._send("POST", "/people/unsubscribe", params=ident, ok=(204, 200), retry=True)
            return [str(value)]
        for one in found:
            self._send("POST", "/people/unsubscribe", params={"id": one["id"]}, ok=(204, 200), retry=True)
        return [str(one["id"]) for one in found]

    # -- tags --------------------------------------------------------------------------------
    def _tag_person(self, action: str, kind: str, value: str, tags: Sequence[str]) -> int:
        """Add or remove tags for one person (one POST or DELETE /tags); returns the HTTP status.

        ``kind`` is "email", "id" or "userId". Raises the API's error (``NotFoundError`` for
        a person Encharge does not know). Used by the bulk runner; most code wants
        :meth:`add_tags`.

        Example:
            >>> email = "tagged@example.org"
            >>> _ = encharge.upsert_people([{"email": email}])
            >>> encharge._tag_person("add", "email", email, ["vip"])
            201
        """
        method = {"add": "POST", "remove": "DELETE"}[check_choice("action", action, ("add", "remove"))]
        check_choice("kind", kind, IDENTIFIER_KINDS)
        names = check_tags(list(tags))
        body = {"tag": ",".join(names), kind: value}
        return self._send(method, "/tags", json=body, ok=(200, 201, 204), retry=True).status_code

    def _tagging(self, action: str, people: Any, tags: Any, progress: bool | None) -> pl.DataFrame:
        names = check_tags(tags)
        idents, blank = _each_once(people)
        if not idents:
            raise ValidationError("people", people, "at least one person (a frame, emails, or dicts with email/id)")
        rows: list[dict[str, Any]] = []
        known = known_fields(people)  # a person tagged by id still shows the email their row carried
        bar = _bar(progress, len(idents), f"Encharge {action} tags", threshold=20)
        for kind, value in idents:
            row = {**_ident_columns(kind, value, known.get((kind, value))), "action": action, "tags": names}
            try:
                status = self._tag_person(action, kind, value, names)
                row.update(status=Outcome.DONE, http_status=status, error=None)
            except (AuthenticationError, RateLimitExceeded):
                raise  # nothing else can succeed with a refused key or a used-up limit
            except APIError as error:
                row.update(status=Outcome.NOT_FOUND if isinstance(error, NotFoundError) else Outcome.FAILED,
                           http_status=error.status_code, error=error.message)
            except TransportError as error:
                row.update(status=Outcome.FAILED, http_status=None, error=error.reason)
            rows.append(row)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        rows += [{**row, "action": action, "tags": names} for row in blank]
        return read_frame(rows, PERSON_RESULT)

    def add_tags(self, people: Any, tags: Any, *, progress: bool | None = None) -> pl.DataFrame:
        """Tag people (POST /tags, one request per person with the tags comma-joined).

        ``people`` is any shape :mod:`enstoolkit.inputs.people_args` accepts (a frame with an email, id or
        userId column, a list of emails, a Series, dicts). Returns one row per person:
        ``status`` "done", "not found" or "failed" with Encharge's message; then one row per
        input row that has no email (nor id, userId): "skipped", "row n has no email".

        Example:
            >>> email = "spring@example.org"
            >>> _ = encharge.upsert_people([{"email": email}])
            >>> encharge.add_tags([email], ["spring-2026"]).item(0, "status")
            'done'
        """
        return self._tagging("add", people, tags, progress)

    def remove_tags(self, people: Any, tags: Any, *, progress: bool | None = None) -> pl.DataFrame:
        """Untag people (DELETE /tags with the same body as adding); one result row per person.

        Example:
            >>> email = "untag@example.org"
            >>> _ = encharge.upsert_people([{"email": email}])
            >>> encharge.remove_tags([email], "newsletter").item(0, "action")
            'remove'
        """
        return self._tagging("remove", people, tags, progress)
