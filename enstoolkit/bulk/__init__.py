"""Bulk writes that can be stopped and resumed without doing anything twice.

Each function here records a *run* in the :class:`Journal` (every item ``pending``), then
works through it (:class:`BulkRun`), writing the intent before each request and the outcome
after. Whatever stops it (an exception, the hourly limit, a kernel restart, a killed
process), :func:`resume` carries on with what is left:

- items never sent, or refused before being acted on, are sent;
- idempotent requests (upserts, tags, unsubscribes, deletions) whose answer was lost are
  sent again, which is harmless;
- a page submission whose answer was lost is ``unknown`` and is never resent blindly:
  :func:`review` settles it by evidence that cannot match an earlier transaction (see
  :mod:`enstoolkit.bulk.review`), and only what did not arrive is sent again.

Every row given is accounted for: a row of people with no email (nor id, userId) is an item
journalled ``skipped``, "row n has no email"; a page submission repeating an earlier row's
person is ``skipped`` too, unless ``allow_repeats=True`` (see :func:`process_pages`).

What each kind of run sends is in one registry, :data:`OPERATIONS`. ENS jobs check the
hourly request budget before starting and stop cleanly when it runs out.

Example:
    >>> journal = Journal(folder / "j.sqlite3")
    >>> emails = [f"vip{n}@example.org" for n in range(3)]
    >>> _ = encharge.upsert_people([{"email": e} for e in emails])
    >>> run = tag_people(encharge, emails, ["vip"], journal=journal)
    >>> run.counts()
    {'done': 3}
"""

from .journal import Journal
from .operations import OPERATIONS, Operation, register
from .review import DEFAULT_GRACE, review
from .runner import BulkRun, RunInProgress, account_fingerprints, outcome
from .writes import (
    TOMBSTONE_SKIP,
    delete_people,
    process_pages,
    resume,
    start,
    tag_people,
    unsubscribe_people,
    upsert_people,
    upsert_supporters,
)

__all__ = [
    "DEFAULT_GRACE", "OPERATIONS", "TOMBSTONE_SKIP", "BulkRun", "Journal", "Operation", "RunInProgress",
    "account_fingerprints", "delete_people", "outcome", "process_pages", "register", "resume", "review",
    "start", "tag_people", "unsubscribe_people", "upsert_people", "upsert_supporters",
]
