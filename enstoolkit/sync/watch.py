"""Keeping consent in step, round after round: plan from the current lists, apply only the unsubscribe
directions (Encharge unsubscribes and ENS opt-outs), journalled.

Each :meth:`ConsentWatch.round` reads what changed in Encharge, from
:func:`enstoolkit.watch.poll_events` snapshots (no public URL needed) or from a webhook
:class:`~enstoolkit.webhooks.Listener`; exports the ENS supporter file; makes the plan
(:func:`~enstoolkit.sync.consent_plan`) and applies its actionable rows
(:func:`~enstoolkit.sync.apply_plan`): never a subscribe or an opt-in, and never a ``review`` row.

The events are what dates Encharge's unsubscribes (its records carry no date): an
``unsubscribedUser`` event seen by a poll happened after the previous poll, so that moment is
taken as the unsubscribe's (the earliest it can have been: an ENS answer on the same day or later
is never taken for older); a webhook's is when it arrived, for every person its ``endUserData``
lists, less :data:`~enstoolkit.sync.dates.WEBHOOK_MARGIN` (see :mod:`enstoolkit.sync.dates`). Only
then can an ENS opt-in older than the unsubscribe become an ENS opt-out (rule 2 of
:mod:`enstoolkit.sync.plan`). The unsubscribes the watch itself made are not taken for the
person's own, and a re-subscribe forgets the date. The dates are kept in a small file beside the
snapshot (per Encharge account), with the people the watch unsubscribed itself and how far it has
read the listener's events, so a watch stopped and started again goes on where it stopped.

Example:
    >>> import tempfile, pathlib
    >>> from enstoolkit import ENSClient, EnchargeClient
    >>> from enstoolkit.bulk import Journal
    >>> from enstoolkit.sandbox import Sandbox
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with Sandbox(supporters=100) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \\
    ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
    ...     watch = ConsentWatch(ens, enc, snapshot=folder / "people.parquet", journal=Journal(folder / "j.sqlite3"))
    ...     first, second = watch.run(rounds=2, interval=0)
    >>> first.actionable > 0, second.actionable
    (True, 0)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..bulk import BulkRun, Journal
from ..errors import ValidationError
from ..schemas import ConsentAction, ItemState
from ..schemas.ens import UTC_MS
from .apply import apply_plan
from .dates import UnsubscribeDates, unsubscribe_changes
from .live import DEFAULT_QUERY
from .plan import DEFAULT_OPTINS, UNSUBSCRIBED_AT, actionable, check_optins, consent_plan, plan_counts

__all__ = ["ConsentWatch", "WatchRound"]

logger = logging.getLogger("enstoolkit.sync")


@dataclass
class WatchRound:
    """What one round of the watch saw and did.

    Attributes:
        number: the round, from 1.
        first: the first poll (it records the snapshot: changes are seen from the next one on).
        events: Encharge events read this round; ``unsubscribes``: the ``unsubscribedUser`` ones
            that dated a person's own unsubscribe.
        counts: plan rows per action; ``actionable``: the rows applied.
        run: the journalled run (None when there was nothing to apply); ``applied``: its counts.

    Example:
        >>> WatchRound(1, True, 0, 0, {"review": 2}, 0).applied
        {}
    """

    number: int
    first: bool
    events: int
    unsubscribes: int
    counts: dict[str, int]
    actionable: int
    run: BulkRun | None = None
    applied: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """One line about the round.

        Example:
            >>> WatchRound(2, False, 3, 1, {"unsubscribe": 1, "review": 4}, 1, None, {"done": 1}).describe()
            'round 2: 3 events (1 unsubscribe dated); plan: unsubscribe 1, review 4; applied: done 1'
        """
        plan = ", ".join(f"{k} {v:,}" for k, v in self.counts.items() if v) or "nothing to change"
        seen = ("snapshot recorded" if self.first
                else f"{self.events:,} events ({self.unsubscribes:,} unsubscribe dated)")
        done = ", ".join(f"{k} {v:,}" for k, v in sorted(self.applied.items())) if self.applied else "nothing applied"
        return f"round {self.number}: {seen}; plan: {plan}; applied: {done}"


class ConsentWatch:
    """A standing consent sync between ENS and Encharge (see the module's description).

    Args:
        ens: the ENS client.
        encharge: the Encharge client.
        snapshot: the Encharge people snapshot (``.parquet``) the polls compare with.
        query: the ENS export query.
        optins: the opt-ins governing Encharge's email.
        listener: a started :class:`~enstoolkit.webhooks.Listener` to read events from, instead of polling.
        journal: as :func:`~enstoolkit.sync.apply_plan` takes it.
        by: as :func:`~enstoolkit.sync.apply_plan` takes it.
        changelog: as :func:`~enstoolkit.sync.apply_plan` takes it.
        status_segment: the segment statuses are read from when the records carry none.
        dates: the file unsubscribe dates are kept in (default: ``<snapshot>.unsubscribes.sqlite3``
            beside the snapshot).

    Example:
        >>> import tempfile, pathlib
        >>> from enstoolkit import EnchargeClient, ENSClient
        >>> from enstoolkit.bulk import Journal
        >>> from enstoolkit.sandbox import Sandbox
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with Sandbox(supporters=100) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \\
        ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        ...     watch = ConsentWatch(ens, enc, snapshot=folder / "people.parquet", journal=Journal(folder / "j.db"))
        ...     first = watch.round()
        >>> first.first, first.counts.get("unsubscribe", 0) == first.actionable - first.counts.get("opt out", 0)
        (True, True)
    """

    def __init__(self, ens: Any, encharge: Any, *, snapshot: str | Path, query: str = DEFAULT_QUERY,
                 optins: str | Sequence[str] = DEFAULT_OPTINS, listener: Any = None, journal: Journal | None = None,
                 by: str | None = None, changelog: str | Path | None = None,
                 status_segment: str | None = "Unsubscribed", dates: str | Path | None = None) -> None:
        if ens is None or encharge is None:
            raise ValidationError("ens" if ens is None else "encharge", None, "both clients")
        self.ens = ens
        self.encharge = encharge
        self.snapshot = Path(snapshot)
        if self.snapshot.suffix.lower() != ".parquet":
            raise ValidationError("snapshot", str(snapshot), "a path ending in .parquet")
        if not isinstance(query, str) or not query.strip():
            raise ValidationError("query", query, "the name of an export query saved in the ENS dashboard")
        self.query = query
        self.optins = check_optins(optins)
        self.listener = listener
        self.journal = journal
        self.by = by
        self.changelog = changelog
        self.status_segment = status_segment
        self.rounds = 0
        self.dates = UnsubscribeDates(dates if dates is not None else
                                      self.snapshot.with_name(self.snapshot.name + ".unsubscribes.sqlite3"))
        self._account: str | None = None
        #: When each person (Encharge id) unsubscribed, as far as the events tell (kept in :attr:`dates`).
        self.unsubscribed_at: dict[str, dt.datetime] = {}

    def __repr__(self) -> str:
        source = "webhooks" if self.listener is not None else f"polls ({self.snapshot.name})"
        return f"ConsentWatch({source}, rounds={self.rounds})"

    def _events(self) -> tuple[pl.DataFrame, pl.DataFrame, bool]:
        """The events since the last round, the people now, and whether this was the first poll."""
        if self.listener is None:
            from ..watch import poll_events, snapshot_info

            before = snapshot_info(self.snapshot)
            events = poll_events(self.encharge, self.snapshot, status_segment=self.status_segment)
            people = pl.read_parquet(self.snapshot)
            return events, people, before is None
        # One row per person of each delivery; a delivery's rows are stored together, so reading by
        # delivery number (seq) never takes some of its people and leaves the others for later.
        # how far it was read is kept per events file: one made again at the same path counts from 1 again
        source = f"{Path(self.listener.path_file).resolve()}#{self.listener.file_id}"
        events = self.listener.events()
        events = events.filter(pl.col("seq") > self.dates.position(self._load(), source))
        if events.height:
            self.dates.set_position(self._load(), source, int(events.get_column("seq").max()))
        people = self.encharge.people_with_status(segment=self.status_segment, progress=False)
        return events, people, False

    def _load(self) -> str:
        """The Encharge account, with the dates kept for it loaded (once)."""
        if self._account is None:
            self._account = str(self.encharge.account_id())
            self.unsubscribed_at = {**self.dates.load(self._account), **self.unsubscribed_at}
        return self._account

    def _note(self, events: pl.DataFrame) -> int:
        """Date the unsubscribes the events show (not the watch's own); forget re-subscribed ones; keep both."""
        account = self._load()
        dated = 0
        for pid, moment in unsubscribe_changes(events):
            if moment is None:
                self.unsubscribed_at.pop(pid, None)
                self.dates.forget(account, pid)
            elif self.dates.take_own(account, pid):
                continue  # the watch's own unsubscribe, not the person's act
            elif pid not in self.unsubscribed_at:
                self.unsubscribed_at[pid] = moment
                self.dates.note(account, pid, moment)
                dated += 1
        return dated

    def round(self) -> WatchRound:
        """Read what changed, plan, apply the unsubscribe directions; what the round did.

        Example:
            >>> import tempfile, pathlib
            >>> from enstoolkit import EnchargeClient, ENSClient
            >>> from enstoolkit.bulk import Journal
            >>> from enstoolkit.sandbox import Sandbox
            >>> folder = pathlib.Path(tempfile.mkdtemp())
            >>> with Sandbox(supporters=100) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \\
            ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     watch = ConsentWatch(ens, enc, snapshot=folder / "people.parquet", journal=Journal(folder / "j.db"))
            ...     _ = watch.round()             # the first round applies what was already due
            ...     watch.round().actionable      # nothing has changed since
            0
        """
        self.rounds += 1
        self._load()
        events, people, first = self._events()
        dated = self._note(events)
        known = pl.DataFrame({"id": list(self.unsubscribed_at), UNSUBSCRIBED_AT: list(self.unsubscribed_at.values())},
                             schema={"id": pl.String, UNSUBSCRIBED_AT: UTC_MS})
        people = people.drop(UNSUBSCRIBED_AT, strict=False).join(known, on="id", how="left", maintain_order="left")
        supporters = self.ens.export_supporters(self.query)
        plan = consent_plan(supporters, people, optins=self.optins)
        counts = dict(plan_counts(plan).select("action", "rows").iter_rows())
        todo = actionable(plan)
        result = WatchRound(self.rounds, first, events.height, dated, counts, todo.height)
        if todo.height:
            run = apply_plan(todo, ens=self.ens, encharge=self.encharge, journal=self.journal, by=self.by,
                             changelog=self.changelog, progress=False)
            own = []
            for item in run.items().filter(pl.col("state") == ItemState.DONE).iter_rows(named=True):
                change = json.loads(item["payload"])
                if change["action"] == ConsentAction.UNSUBSCRIBE and change.get("personId"):
                    own.append(str(change["personId"]))
            self.dates.mark_own(self._load(), own)  # their unsubscribe events are not the people's own
            result.run, result.applied = run, run.counts()
        logger.info(result.describe())
        return result

    def run(self, *, rounds: int | None = None, interval: float = 300.0,
            wait: Callable[[float], bool] | None = None,
            on_round: Callable[[WatchRound], None] | None = None) -> list[WatchRound]:
        """Rounds every ``interval`` seconds: ``rounds`` of them (None: until ``wait`` says stop).

        ``wait(seconds)`` waits between rounds and returns True to stop (default: sleep). The
        rounds are returned when ``rounds`` is given (an endless watch keeps none).

        Example:
            >>> import tempfile, pathlib
            >>> from enstoolkit import EnchargeClient, ENSClient
            >>> from enstoolkit.bulk import Journal
            >>> from enstoolkit.sandbox import Sandbox
            >>> folder = pathlib.Path(tempfile.mkdtemp())
            >>> with Sandbox(supporters=100) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \\
            ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     watch = ConsentWatch(ens, enc, snapshot=folder / "people.parquet", journal=Journal(folder / "j.db"))
            ...     [r.number for r in watch.run(rounds=2, wait=lambda seconds: (sb.advance(seconds), False)[1])]
            [1, 2]
        """
        if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1):
            raise ValidationError("rounds", rounds, "a number of rounds from 1, or None")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise ValidationError("interval", interval, "seconds between rounds (0 or more)")

        def sleep(seconds: float) -> bool:
            time.sleep(seconds)
            return False

        pause = wait or sleep
        done: list[WatchRound] = []
        count = 0
        while True:
            result = self.round()
            count += 1
            if rounds is not None:
                done.append(result)
            if on_round is not None:
                on_round(result)
            if rounds is not None and count >= rounds:
                return done
            if pause(float(interval)):
                return done
