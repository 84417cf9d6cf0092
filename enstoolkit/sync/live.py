"""The consent plan from the accounts as they are now: the ENS supporter file and Encharge's people.

Encharge's person records may carry no subscription status (see ``statusSource`` in
:meth:`EnchargeClient.list_people <enstoolkit.encharge.EnchargeClient.list_people>`); the statuses
they leave unknown are read from the account's pre-made "Unsubscribed" segment, as the watch does.
Where that segment is missing too they stay unknown, and the plan shows those people as
``cannot check`` (or proposes the safe unsubscribe), never as agreeing.

Example:
    >>> from enstoolkit.config import connect
    >>> conn = connect(environ={})
    >>> plan = plan_from_accounts(conn.ens, conn.encharge, erasures=None)
    >>> plan.columns[:5]
    ['email', 'supporterId', 'personId', 'system', 'action']
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import ValidationError
from .plan import DEFAULT_OPTINS, check_optins, consent_plan

if TYPE_CHECKING:
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = ["DEFAULT_QUERY", "Step", "current_lists", "known_statuses", "plan_from_accounts"]

logger = logging.getLogger("enstoolkit.sync")

#: The export query the sandbox has (a real account names its own, saved in the ENS dashboard).
DEFAULT_QUERY = "All supporters"
#: ``on_step(step, steps, what)``: where building a plan has got to.
Step = Callable[[int, int, str], None]


def known_statuses(encharge: EnchargeClient, people: pl.DataFrame, *,
                   segment: str | None = "Unsubscribed") -> pl.DataFrame:
    """``people`` with the statuses their records do not carry read from the "Unsubscribed" segment, when it exists.

    :meth:`EnchargeClient.known_statuses` (the one rule; :meth:`EnchargeClient.people_with_status`
    lists and reads in one step). ``segment=None`` reads nothing; a missing segment leaves the
    statuses unknown (with a warning).

    Example:
        >>> from enstoolkit.config import connect
        >>> enc = connect(environ={}).encharge
        >>> known_statuses(enc, enc.list_people(max_people=3)).get_column("statusSource").unique().to_list()
        ['field']
    """
    filled: pl.DataFrame = encharge.known_statuses(people, segment=segment)
    return filled


def current_lists(ens: ENSClient, encharge: EnchargeClient, *, query: str = DEFAULT_QUERY,
                  status_segment: str | None = "Unsubscribed",
                  on_step: Step | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both lists as they are now: the ENS supporter file (an export job) and every Encharge person.

    Example:
        >>> from enstoolkit.config import connect
        >>> conn = connect(environ={})
        >>> supporters, people = current_lists(conn.ens, conn.encharge)
        >>> supporters.height > people.height > 0
        True
    """
    def step(n: int, what: str) -> None:
        if on_step is not None:
            on_step(n, 3, what)

    step(0, "Exporting the ENS supporter file...")
    supporters = ens.export_supporters(query)
    step(1, "Exported the ENS supporter file.")
    step(2, "Reading Encharge's people and their subscription statuses...")
    people = encharge.people_with_status(segment=status_segment, progress=False)
    step(3, f"{supporters.height:,} ENS supporters and {people.height:,} Encharge people read.")
    return supporters, people


def plan_from_accounts(ens: ENSClient, encharge: EnchargeClient, *, query: str = DEFAULT_QUERY,
                       optins: str | Sequence[str] = DEFAULT_OPTINS, erasures: pl.DataFrame | bool | None = True,
                       status_segment: str | None = "Unsubscribed", on_step: Step | None = None,
                       unsubscribes: pl.DataFrame | None = None, duplicates: pl.DataFrame | bool = False,
                       tombstones: Any = None) -> pl.DataFrame:
    """The consent plan (:func:`~enstoolkit.sync.consent_plan`) for both accounts as they are now.

    ``erasures``: True (the default) reads the toolkit's own record of erasures
    (:func:`enstoolkit.records.erasures.read_erasures`); a frame is used as it is; None or False, none.
    ``unsubscribes``: when people unsubscribed in Encharge (:func:`~enstoolkit.sync.unsubscribe_dates.unsubscribe_dates`
    of recorded events), so that an ENS opt-in older than the unsubscribe can be opted out.
    ``duplicates``: True finds the probable duplicates of both lists
    (:func:`enstoolkit.analysis.probable_duplicates`, the analyst's marks applied), a frame of pairs is used
    as it is; their "high" pairs whose records disagree get review rows.
    ``tombstones``: erased and suppressed addresses (:class:`enstoolkit.protection.Tombstones`): those back
    subscribed or opted in are unsubscribed and opted out (rule 8 of :mod:`enstoolkit.sync.plan`).
    Sends no change: an export job, the people listing and, when needed, the "Unsubscribed" segment.

    Example:
        >>> from enstoolkit.config import connect
        >>> conn = connect(environ={})
        >>> plan_from_accounts(conn.ens, conn.encharge, optins="Marketing Optin").height > 0
        True
    """
    names = check_optins(optins)
    if erasures is True:
        from ..records.erasures import read_erasures

        erasures = read_erasures()
    elif erasures is False:
        erasures = None
    elif erasures is not None and not isinstance(erasures, pl.DataFrame):
        raise ValidationError("erasures", type(erasures).__name__, "True (the recorded ones), a frame, or None")
    if not isinstance(query, str) or not query.strip():
        raise ValidationError("query", query, "the name of an export query saved in the ENS dashboard")
    supporters, people = current_lists(ens, encharge, query=query, status_segment=status_segment, on_step=on_step)
    if unsubscribes is not None:
        from .unsubscribe_dates import with_unsubscribe_dates

        people = with_unsubscribe_dates(people, unsubscribes)
    pairs: pl.DataFrame | None = None
    if duplicates is True:
        from ..analysis import probable_duplicates

        pairs = probable_duplicates(supporters, people)
    elif isinstance(duplicates, pl.DataFrame):
        pairs = duplicates
    elif duplicates is not False:
        raise ValidationError("duplicates", type(duplicates).__name__, "True, False, or a frame of pairs")
    return consent_plan(supporters, people, optins=names, erasures=erasures, duplicates=pairs,
                        tombstones=tombstones)
