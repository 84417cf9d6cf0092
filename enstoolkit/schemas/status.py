"""The status vocabularies of the toolkit's own frames, as string enums.

- :class:`Outcome`: what happened to one row of an action (tagging, processing, deleting, syncing).
- :class:`ItemState`: where one item of a journalled bulk run is.
- :class:`RunStatus`: where a whole bulk run is.
- :class:`Severity`: how urgent an audit finding is.
- :class:`StatusSource`: where an Encharge person's subscription status came from, or that it is unknown.
- :class:`ConsentAction`: what a consent sync plan proposes for one person.

They are ``StrEnum``s, so they compare equal to their text and are stored as text in frames.

Example:
    >>> Outcome.DONE == "done", str(ItemState.UNKNOWN)
    (True, 'unknown')
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIONABLE", "ConsentAction", "ItemState", "Outcome", "RunStatus", "Severity", "StatusSource"]


class Outcome(StrEnum):
    """The result of one row of an action, in every result frame.

    Example:
        >>> Outcome.NOT_FOUND, Outcome.NOT_FOUND.value
        (<Outcome.NOT_FOUND: 'not found'>, 'not found')
    """

    DONE = "done"
    FAILED = "failed"  # the API refused it (its message is in ``error``)
    NOT_FOUND = "not found"  # the person or supporter does not exist
    SKIPPED = "skipped"  # deliberately not sent (the reason is in ``error``)
    INVALID = "invalid"  # bad input found before sending
    UNKNOWN = "unknown"  # the answer was lost: it may or may not have happened
    NOT_ATTEMPTED = "not attempted"  # the run stopped first; resume it


class ItemState(StrEnum):
    """An item of a journalled bulk run.

    Example:
        >>> ItemState.UNKNOWN.value, ItemState("retry") is ItemState.RETRY
        ('unknown', True)
    """

    PENDING = "pending"
    SENDING = "sending"  # the intent is recorded; the request is (being) sent
    DONE = "done"
    FAILED = "failed"
    NOT_FOUND = "not found"  # the person or supporter does not exist (a fact the API gave, never read from text)
    RETRY = "retry"  # not carried out, safe to send again
    UNKNOWN = "unknown"  # a non-idempotent request whose answer was lost
    SKIPPED = "skipped"


class RunStatus(StrEnum):
    """A journalled bulk run.

    Example:
        >>> RunStatus.NEEDS_REVIEW.value, RunStatus.COMPLETED == "completed"
        ('needs review', True)
    """

    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    NEEDS_REVIEW = "needs review"
    COMPLETED = "completed"


class Severity(StrEnum):
    """An audit finding's severity, most urgent first.

    Example:
        >>> [s.value for s in Severity]
        ['high', 'medium', 'low']
    """

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class StatusSource(StrEnum):
    """Where an Encharge person's subscription status (``unsubscribed``) came from.

    Encharge documents a default field "Unsubscribed" that is empty for subscribed people,
    and the API leaves empty fields out: so a record without the key is subscribed only if
    the same answer shows the key for others (the account does return it); otherwise the
    status is unknown. See docs/consent-status.md.

    Example:
        >>> StatusSource.FIELD.value, StatusSource("unknown") is StatusSource.UNKNOWN
        ('field', True)
    """

    FIELD = "field"  # the record carries ``unsubscribed``
    ABSENT_MEANS_SUBSCRIBED = "absent means subscribed (the account shows the field for others)"
    SEGMENT = "the account's Unsubscribed segment"  # read from the pre-made segment's members
    UNKNOWN = "unknown"  # no record in the answer carries the field: nothing can be said


class ConsentAction(StrEnum):
    """What a consent sync plan (:func:`enstoolkit.sync.consent_plan`) proposes for one row.

    Only the first two change anything, and both only ever take consent away: a sync never
    subscribes or opts anyone in (re-consent needs the person).

    Example:
        >>> ConsentAction("opt out") is ConsentAction.OPT_OUT, [str(a) for a in ACTIONABLE]
        (True, ['unsubscribe', 'opt out'])
    """

    UNSUBSCRIBE = "unsubscribe"  # in Encharge (POST /people/unsubscribe)
    OPT_OUT = "opt out"  # in ENS: the opt-in question answered "N"
    REVIEW = "review"  # a person has to decide (the reason says why, with the dates)
    CANNOT_CHECK = "cannot check"  # the status needed to compare is unknown (the reason says which)


#: The actions a sync carries out (the rest are reported, never sent).
ACTIONABLE = (ConsentAction.UNSUBSCRIBE, ConsentAction.OPT_OUT)
