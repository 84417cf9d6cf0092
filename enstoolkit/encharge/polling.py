"""Watching Encharge without a public URL: poll ``/people/all`` and report what changed, as events.

Most analysts cannot expose a URL for Encharge's webhooks. :func:`poll_events` keeps a
Parquet snapshot of everyone in the account and, on each call, compares it with a fresh
listing: what changed comes back in the columns of :meth:`Listener.events()
<enstoolkit.encharge.Listener.events>` (schema :data:`enstoolkit.schemas.encharge.EVENT`),
each event built as Encharge's own webhook body would be (naming one person: ``personIndex`` is 0)
and read by the same :func:`~enstoolkit.webhooks.event_rows`:

- ``newUser`` for a person not in the snapshot (and an ``added-tag-<tag>`` for each of their tags);
- ``updatedUser`` with ``changedFields`` (``person`` holds the values from before, as Encharge's
  own update bodies do; ``eventPayload`` holds ``changedFields: {field: {newValue, oldValue}}``);
- ``unsubscribedUser`` for a person subscribed at the last poll and unsubscribed now, its payload
  ``{"source": "poll", "notBefore": <the last poll's moment>}``, the earliest the unsubscribe can
  have been (a status that was unknown then, a failed segment read say, and is known now is no
  event: nothing says when it changed, so nothing may date it);
- ``added-tag-<tag>`` and ``removed-tag-<tag>``;
- ``deletedUser`` (not an Encharge event): a person ``/people/all`` no longer lists (archived or
  erased; Encharge sends no event for either).

``emailSource`` is "snapshot", ``redelivery`` is always false (a poll sees each change once),
``seq`` continues across calls and ``receivedAt`` is the poll's moment on Encharge's clock.
A poll sees the state, not the history: two changes between polls that cancel out (a tag
added and removed again) are not seen, and several changes to one field are one change.

Unsubscribes are seen through each person's status (``statusSource`` in the people frame).
Where the records carry none (as the published ones do not), the statuses are read from the
account's pre-made "Unsubscribed" segment (:meth:`EnchargeClient.status_from_segment`); where
that segment is missing too, a warning says that unsubscribes cannot be seen.

The snapshot's account id, format version, checksum and last ``seq`` are kept beside it
(``<snapshot>.json``). A snapshot that is corrupt, of another format or from another account
raises :class:`SnapshotError` and is left as it was.

Example:
    >>> from enstoolkit import EnchargeClient
    >>> snap = folder / "people.parquet"
    >>> first = poll_events(encharge, snap)
    >>> _ = encharge.upsert_people([{"email": "someone.new@example.org"}])
    >>> poll_events(encharge, snap).get_column("eventType").to_list()
    ['newUser']
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import APIError, EnstoolkitError, ValidationError
from ..schemas import StatusSource
from ..schemas.encharge import EVENT
from ..schemas.frames import empty_frame, read_frame
from .webhooks import event_rows

if TYPE_CHECKING:
    from .client import EnchargeClient

__all__ = ["DEFAULT_IGNORE", "FORMAT", "SnapshotError", "poll_events", "snapshot_info"]

logger = logging.getLogger("enstoolkit.watch")

#: The snapshot format this module writes and reads.
FORMAT = 1
#: Fields whose changes alone are not an update (they move with every change).
DEFAULT_IGNORE = ("updatedAt", "lastActivity")
_NOT_FIELDS = frozenset({"id", "tags", "unsubscribed", "statusSource"})
_DATES = frozenset({"createdAt", "updatedAt", "lastActivity"})


class SnapshotError(EnstoolkitError):
    """A watch snapshot that cannot be used (corrupt, another format, another account); the file is left as it was.

    Example:
        >>> str(SnapshotError("people.parquet", "it is not a Parquet file")).split(". ")[0]
        'snapshot people.parquet cannot be used: it is not a Parquet file'
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"snapshot {self.path.name} cannot be used: {reason}. It was left as it was; to start "
                         f"afresh, delete it and {_meta_path(self.path).name}")


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def snapshot_info(snapshot: str | Path) -> dict[str, Any] | None:
    """What is kept beside a snapshot (account id, format, when taken, people, last seq), or None if there is none.

    Example:
        >>> snapshot_info("/nonexistent/people.parquet") is None
        True
    """
    meta = _meta_path(Path(snapshot))
    if not meta.exists():
        return None
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError) as exc:
        raise SnapshotError(snapshot, f"its metadata ({meta.name}) cannot be read: {type(exc).__name__}") from None
    if not isinstance(info, dict):
        raise SnapshotError(snapshot, f"its metadata ({meta.name}) is not an object")
    return info


def _account_id(encharge: EnchargeClient) -> str:
    account = encharge.get_account()
    value = account.item(0, "accountId") if account.height else None
    if value is None:
        raise APIError("Encharge", 200, "the account (GET /accounts/info) has no accountId: the snapshot cannot "
                                        "be tied to an account")
    return str(value)


def _load(path: Path, account: str) -> tuple[pl.DataFrame | None, dict[str, Any]]:
    """The previous snapshot and its metadata, checked; (None, {}) when there is none yet."""
    info = snapshot_info(path)
    if info is None:
        if path.exists():
            raise SnapshotError(path, f"there is no {_meta_path(path).name} beside it (account and format unknown)")
        return None, {}
    if not path.exists():
        raise SnapshotError(path, f"the file is missing while {_meta_path(path).name} is there")
    if info.get("format") != FORMAT:
        raise SnapshotError(path, f"it has format {info.get('format')!r}; this version reads format {FORMAT}")
    if str(info.get("accountId")) != account:
        raise SnapshotError(path, f"it is of Encharge account {info.get('accountId')}, not of this one ({account})")
    if _digest(path) != info.get("sha256"):
        raise SnapshotError(path, "its contents do not match the checksum kept beside it (corrupt, or changed "
                                  "by something else)")
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several kinds for a damaged file
        raise SnapshotError(path, f"it cannot be read as Parquet ({type(exc).__name__})") from None
    if "id" not in frame.columns or frame.get_column("id").null_count() or frame.get_column("id").n_unique() \
            != frame.height:
        raise SnapshotError(path, "it does not hold one row per person id")
    return frame, info


def _write(path: Path, people: pl.DataFrame, info: Mapping[str, Any]) -> None:
    """Write the snapshot, then its metadata, each through a temporary file (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    people.write_parquet(temporary)
    meta = {**info, "format": FORMAT, "sha256": _digest(temporary), "people": people.height}
    meta_temporary = _meta_path(temporary)
    meta_temporary.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    os.replace(temporary, path)
    os.replace(meta_temporary, _meta_path(path))


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return value


def _as_encharge(row: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot row as Encharge writes a person: no empty fields, tags comma-joined, ISO dates,
    ``unsubscribed`` only where the record carried it."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or key == "statusSource":
            continue
        if key == "unsubscribed" and row.get("statusSource") != StatusSource.FIELD:
            continue
        if key == "tags":
            if value:
                out[key] = ",".join(value)
            continue
        out[key] = _iso(value) if key in _DATES else value
    return out


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], ignore: frozenset[str]) -> dict[str, dict[str, Any]]:
    keys = [k for k in dict.fromkeys([*old, *new]) if k not in _NOT_FIELDS and k not in ignore]
    return {k: {"newValue": _iso(new.get(k)), "oldValue": _iso(old.get(k))} for k in keys if old.get(k) != new.get(k)}


def _bodies(before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]],
            ignore: frozenset[str], since: Any = None) -> list[dict[str, Any]]:
    """Encharge-shaped event bodies for what differs between two snapshots, in a fixed order; an unsubscribe's
    payload holds ``notBefore``, the earlier snapshot's moment (``since``), when known."""
    found: list[tuple[int, str, str, dict[str, Any]]] = []

    def add(rank: int, pid: str, event_type: str, person: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        body = {"eventType": event_type, "eventPayload": dict(payload), "endUserData": [_as_encharge(person)]}
        found.append((rank, event_type, pid, body))

    for pid, new in after.items():
        old = before.get(pid)
        tags_new = list(new.get("tags") or [])
        if old is None:
            add(0, pid, "newUser", new, {})
            for tag in tags_new:
                add(3, pid, f"added-tag-{tag}", new, {"tag": tag})
            continue
        changed = _changes(old, new, ignore)
        was, now = old.get("unsubscribed"), new.get("unsubscribed")
        # Only a change between two known statuses is an event: a status that was unknown (no field, no
        # segment) and is now known says nothing about when it became so, and must never be dated.
        if now is True and was is False:
            add(2, pid, "unsubscribedUser", new,
                {"source": "poll"} if since is None else {"source": "poll", "notBefore": _iso(since)})
        elif now is False and was is True:  # re-subscribed: a change of the field
            changed["unsubscribed"] = {"newValue": False, "oldValue": True}
        if changed:
            add(1, pid, "updatedUser", {**old, "updatedAt": new.get("updatedAt")},
                {"changedFields": changed, "source": "poll"})
        tags_old = list(old.get("tags") or [])
        for tag in tags_new:
            if tag not in tags_old:
                add(3, pid, f"added-tag-{tag}", new, {"tag": tag})
        for tag in tags_old:
            if tag not in tags_new:
                add(4, pid, f"removed-tag-{tag}", new, {"tag": tag})
    for pid, old in before.items():
        if pid not in after:
            add(5, pid, "deletedUser", old, {})
    found.sort(key=lambda item: item[:3])
    return [body for *_, body in found]


def _by_id(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(row["id"]): row for row in frame.to_dicts()}


def _now_ms(encharge: EnchargeClient) -> int:
    bounds = encharge.server_clock.now_ms()
    return bounds[0] if bounds is not None else int(time.time() * 1000)


def poll_events(encharge: EnchargeClient, snapshot: str | Path, *, ignore: Iterable[str] = DEFAULT_IGNORE,
                status_segment: str | None = "Unsubscribed") -> pl.DataFrame:
    """What changed in the Encharge account since the last call, as events (see the module's description).

    The first call records the snapshot and returns an empty frame; so does a call that finds
    no change. ``ignore`` names fields whose changes alone are not an update.
    ``status_segment`` is the segment read for statuses the records do not carry (None: never).

    Raises :class:`SnapshotError` (and leaves the files as they were) for a snapshot that is
    corrupt, of another format or of another account.

    Example:
        >>> snap = folder / "people.parquet"
        >>> poll_events(encharge, snap).height, poll_events(encharge, snap).height
        (0, 0)
    """
    path = Path(snapshot)
    if path.suffix.lower() != ".parquet":
        raise ValidationError("snapshot", str(snapshot), "a path ending in .parquet")
    skip = frozenset(ignore) if not isinstance(ignore, str) else frozenset([ignore])
    account = _account_id(encharge)
    previous, info = _load(path, account)
    people = encharge.people_with_status(segment=status_segment)
    taken = _now_ms(encharge)
    if people.height and people.select(pl.col("statusSource").str.starts_with(str(StatusSource.UNKNOWN)).any()).item():
        logger.warning("unsubscribes cannot be seen: Encharge records carry no subscription status, and the "
                       "segment %r is not there to read them from", status_segment)
    last_seq = int(info.get("lastSeq", 0))
    if previous is None:
        _write(path, people, {"accountId": account, "takenAt": taken, "lastSeq": last_seq})
        return empty_frame(EVENT)
    before, after = _by_id(previous), _by_id(people)
    since = info.get("takenAt")
    bodies = _bodies(before, after, skip, None if since is None else
                     dt.datetime.fromtimestamp(int(since) / 1000, dt.UTC))
    newly_known = sum(1 for pid, row in after.items() if row.get("unsubscribed") is not None
                      and pid in before and before[pid].get("unsubscribed") is None)
    if newly_known:
        logger.info("%d people's subscription status is known again (it was not at the last poll): "
                    "no event for them, as nothing says when it changed", newly_known)
    rows = []
    for n, body in enumerate(bodies, start=last_seq + 1):
        for row in event_rows(body):  # one row per person, as the listener's: each body here names one
            row.update(seq=n, receivedAt=taken, bodyHash=hashlib.sha256(row["body"].encode()).hexdigest(),
                       redelivery=False, emailSource="snapshot" if row["email"] else None)
            rows.append(row)
    _write(path, people, {"accountId": account, "takenAt": taken, "lastSeq": last_seq + len(bodies)})
    return read_frame(rows, EVENT) if rows else empty_frame(EVENT)
