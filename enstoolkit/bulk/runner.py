"""Working through a journalled bulk run: intent before each request, outcome after, one worker at a time.

Example:
    >>> from enstoolkit.bulk import Journal
    >>> journal = Journal(folder / "j.sqlite3")
    >>> run_id = journal.create_run("tag-add", {"tags": ["vip"]}, [{"kind": "email", "value": "nobody@example.org"}])
    >>> BulkRun(journal, run_id, encharge=encharge).run().counts()
    {'not found': 1}
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import (
    APIError,
    AuthenticationError,
    EnstoolkitError,
    NotFoundError,
    PageProcessingError,
    PermissionDenied,
    RateLimitExceeded,
    ServerError,
    TransportError,
    ValidationError,
)
from ..inputs.arguments import check_int
from ..protection.tombstones import Tombstoned
from ..schemas import ItemState, Outcome, RunStatus
from .journal import Journal
from .operations import OPERATIONS, Clients, ItemOutcome, Operation, known_kinds, load

if TYPE_CHECKING:
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = ["NOT_STORED", "BulkRun", "Progress", "RunInProgress", "account_fingerprints", "outcome"]

logger = logging.getLogger("enstoolkit.bulk")
Progress = Callable[[int, int], None]
NOT_STORED = "[not stored]"
WAITING = (ItemState.PENDING, ItemState.RETRY)


class _Stop(Exception):
    """Stop the run cleanly (the item goes back to pending)."""


class RunInProgress(EnstoolkitError):
    """Another worker (another kernel, thread or process) is working on this run right now.

    Example:
        >>> str(RunInProgress("20261001-090000-1a2b3c4d", 4242))
        'run 20261001-090000-1a2b3c4d is being worked on by process 4242; wait for it to finish, then resume'
    """

    def __init__(self, run_id: str, pid: int) -> None:
        self.run_id = run_id
        self.pid = pid
        super().__init__(f"run {run_id} is being worked on by process {pid}; wait for it to finish, then resume")


def account_fingerprints(client: str, *, ens: ENSClient | None = None,
                         encharge: EnchargeClient | None = None) -> dict[str, str]:
    """The accounts the clients an operation sends through act on (``client``: "ens", "encharge" or "both").

    Each is the client's ``account_fingerprint()``: its base URL and the Encharge account id,
    or a hash of the ENS API user's key; never a key or token. A client the operation does
    not use is left out.

    Example:
        >>> from enstoolkit import ENSClient
        >>> ens = ENSClient("key-1234", "http://127.0.0.1:9/ens/service")
        >>> fingerprints = account_fingerprints("ens", ens=ens, encharge="not used")
        >>> list(fingerprints), "key-1234" in fingerprints["ens"]
        (['ens'], False)
    """
    wanted = ("ens", "encharge") if client == "both" else (client,)
    given: dict[str, ENSClient | EnchargeClient | None] = {"ens": ens, "encharge": encharge}
    return {name: str(c._account_fingerprint()) for name in wanted if (c := given[name]) is not None}


def outcome(state: str) -> Outcome:
    """A journal item's state as the outcome every result frame shows (panels, the consent sync, bulk results).

    Example:
        >>> [str(outcome(s)) for s in ("done", "not found", "failed", "pending")]
        ['done', 'not found', 'failed', 'not attempted']
    """
    return {ItemState.DONE: Outcome.DONE, ItemState.NOT_FOUND: Outcome.NOT_FOUND, ItemState.FAILED: Outcome.FAILED,
            ItemState.SKIPPED: Outcome.SKIPPED, ItemState.UNKNOWN: Outcome.UNKNOWN}.get(ItemState(state),
                                                                                       Outcome.NOT_ATTEMPTED)


class BulkRun:
    """One journalled bulk run: work through it, look at it, resume it.

    Attributes:
        run_id, kind, journal, operation (its entry in :data:`~enstoolkit.bulk.operations.OPERATIONS`).

    Example:
        >>> from enstoolkit import EnchargeClient
        >>> journal = Journal(folder / "j.sqlite3")
        >>> run_id = journal.create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])
        >>> run = BulkRun(journal, run_id, encharge=EnchargeClient("key-1234", "http://127.0.0.1:9/v1"))
        >>> run.kind, run.operation.idempotent, run.counts()
        ('unsubscribe', True, {'pending': 1})
    """

    def __init__(self, journal: Journal, run_id: str, *, ens: ENSClient | None = None,
                 encharge: EnchargeClient | None = None) -> None:
        self.journal = journal
        self.run_id = run_id
        info = journal.run(run_id)
        self.kind: str = info["kind"]
        self.params: dict[str, Any] = info["params"]
        if load(self.kind) is None:
            raise ValidationError("kind", self.kind, "one of " + ", ".join(known_kinds()))
        self.operation: Operation = OPERATIONS[self.kind]
        self.ens = ens
        self.encharge = encharge
        self._checked: tuple[Any, Any] | None = None
        if self.client is None:
            needed = {"ens": "ens=ENSClient(...)", "encharge": "encharge=EnchargeClient(...)",
                      "both": "ens=ENSClient(...) and encharge=EnchargeClient(...)"}[self.operation.client]
            raise ValidationError(self.operation.client, None, f"{needed} to run a {self.kind!r} run")

    def ens_client(self) -> ENSClient:
        """The ENS client this run sends through (a run of an ENS operation is never made without one).

        Example:
            >>> from enstoolkit import ENSClient
            >>> journal = Journal(folder / "j.sqlite3")
            >>> ens = ENSClient("key-1234", "http://127.0.0.1:9/ens/service")
            >>> run = BulkRun(journal, journal.create_run("process", {"page_id": 1}, [{"supporter": {}}]), ens=ens)
            >>> run.ens_client() is ens
            True
        """
        if self.ens is None:
            raise ValidationError("ens", None, f"an ENSClient: a {self.kind} run sends to ENS")
        return self.ens

    @property
    def client(self) -> Any:
        """The client this run's operation sends through (:class:`~enstoolkit.bulk.operations.Clients` for both).

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run_id = journal.create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])
            >>> run = BulkRun(journal, run_id, encharge=EnchargeClient("key-1234", "http://127.0.0.1:9/v1"))
            >>> run.client is run.encharge
            True
        """
        if self.operation.client == "both":
            return Clients(self.ens, self.encharge) if self.ens is not None and self.encharge is not None else None
        return self.ens if self.operation.client == "ens" else self.encharge

    def check_accounts(self) -> None:
        """Refuse clients of another account than the run's, before anything is sent (a ValidationError).

        The run's accounts are recorded when it is created (see :func:`account_fingerprints`);
        :meth:`run`, :meth:`complete` and :func:`~enstoolkit.bulk.review.review` call this
        first. A run journalled without them (by an earlier version) is bound to these
        clients' accounts, with a logged warning when it had been worked on already.

        Example:
            >>> from enstoolkit import ENSClient
            >>> journal = Journal(folder / "j.sqlite3")
            >>> mine = ENSClient("key-1234", "http://127.0.0.1:9/ens/service")
            >>> run_id = journal.create_run("upsert-supporters", {}, [{"Email Address": "a@example.org"}],
            ...                             accounts={"ens": mine._account_fingerprint()})
            >>> BulkRun(journal, run_id, ens=mine).check_accounts()   # the run's own account
            >>> other = ENSClient("key-5678", "http://127.0.0.1:9/ens/service")   # another API user
            >>> try:
            ...     BulkRun(journal, run_id, ens=other).check_accounts()
            ... except ValidationError as exc:
            ...     print(exc.argument, "key-5678" in str(exc), "acts on" in str(exc))
            ens False True
        """
        clients = (self.ens, self.encharge)
        if self._checked is not None and all(a is b for a, b in zip(self._checked, clients, strict=True)):
            return
        current = account_fingerprints(self.operation.client, ens=self.ens, encharge=self.encharge)
        recorded = self.journal.accounts(self.run_id)
        missing = {name: fp for name, fp in current.items() if name not in recorded}
        if missing:
            recorded = self.journal.bind_accounts(self.run_id, missing)
            attempted = int(self.items().get_column("attempts").sum() or 0)
            if attempted:
                logger.warning("run %s was journalled without the accounts it acts on (by an earlier version); it "
                               "is now bound to %s: check that it was started there", self.run_id,
                               ", ".join(f"{name} {fp}" for name, fp in sorted(missing.items())))
        for name, fp in current.items():
            if recorded.get(name) != fp:
                raise ValidationError(
                    name, fp, f"a client of the account run {self.run_id} acts on ({recorded.get(name)})",
                    detail="a run is resumed only on the account it was started on; nothing was sent")
        self._checked = clients

    def _ens_items(self, payloads: list[dict[str, Any]]) -> int:
        """How many of these items go to ENS (and so count against its hourly budget)."""
        if self.operation.client == "both":
            return sum(1 for payload in payloads if payload.get("client") == "ens")
        return len(payloads) if self.operation.client == "ens" else 0

    def __repr__(self) -> str:
        return f"BulkRun({self.run_id!r}, kind={self.kind!r}, {self.counts()})"

    @property
    def status(self) -> str:
        """The run's status: created, running, stopped, needs review, completed.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run_id = journal.create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])
            >>> run = BulkRun(journal, run_id, encharge=EnchargeClient("key-1234", "http://127.0.0.1:9/v1"))
            >>> run.status
            'created'
        """
        return str(self.journal.run(self.run_id)["status"])

    @property
    def note(self) -> str | None:
        """Why the run stopped, if it did.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run_id = journal.create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])
            >>> run = BulkRun(journal, run_id, encharge=EnchargeClient("key-1234", "http://127.0.0.1:9/v1"))
            >>> journal.set_status(run_id, "stopped", "the hourly limit was reached")
            >>> run.note
            'the hourly limit was reached'
        """
        note: str | None = self.journal.run(self.run_id)["note"]
        return note

    def counts(self) -> dict[str, int]:
        """Items by state.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run_id = journal.create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])
            >>> run = BulkRun(journal, run_id, encharge=EnchargeClient("key-1234", "http://127.0.0.1:9/v1"))
            >>> run.counts()
            {'pending': 1}
        """
        return self.journal.counts(self.run_id)

    def items(self) -> pl.DataFrame:
        """Every item with its state, attempts, result and error.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run_id = journal.create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])
            >>> run = BulkRun(journal, run_id, encharge=EnchargeClient("key-1234", "http://127.0.0.1:9/v1"))
            >>> run.items().select("seq", "state", "attempts").rows()
            [(1, 'pending', 0)]
        """
        return self.journal.items(self.run_id)

    # -- running ---------------------------------------------------------------------------
    def run(self, *, progress: bool | None = None, on_progress: Progress | None = None,
            transaction: Mapping[str, Any] | None = None, max_items: int | None = None) -> BulkRun:
        """Work through the pending (and retryable) items; stop cleanly on the hourly limit.

        ``transaction`` re-supplies card details for a donation run being resumed (they are
        never journalled). ``max_items`` stops after that many (for a run in slices).

        Example:
            >>> from enstoolkit.bulk import Journal, unsubscribe_people
            >>> j = Journal(folder / "j.sqlite3")
            >>> emails = [f"paused{n}@example.org" for n in range(3)]
            >>> _ = encharge.upsert_people([{"email": e} for e in emails])
            >>> run = unsubscribe_people(encharge, emails, journal=j, run=False)
            >>> run.run(max_items=2).counts()
            {'done': 2, 'pending': 1}
        """
        if max_items is not None:
            max_items = check_int("max_items", max_items, 1, None)
        self.check_accounts()
        token = uuid.uuid4().hex
        busy = self.journal.acquire(self.run_id, token)
        if busy is not None:
            raise RunInProgress(self.run_id, busy)
        try:
            return self._run(progress=progress, on_progress=on_progress, transaction=transaction,
                             max_items=max_items)
        finally:
            self.journal.release(self.run_id, token)

    def _run(self, *, progress: bool | None, on_progress: Progress | None, transaction: Mapping[str, Any] | None,
             max_items: int | None) -> BulkRun:
        journal, op = self.journal, self.operation
        # This worker owns the run: an item left "sending" was interrupted between intent and outcome.
        interrupted = [seq for seq, _ in journal.pending(self.run_id, (ItemState.SENDING,))]
        if interrupted:
            journal.mark(self.run_id, interrupted, ItemState.RETRY if self._repeatable() else ItemState.UNKNOWN,
                         error="interrupted after the request was sent")
        todo = journal.pending(self.run_id, WAITING)
        if max_items is not None:
            todo = todo[:max_items]
        total = sum(self.counts().values())
        done_before = total - len(journal.pending(self.run_id, WAITING)) - self.counts().get(ItemState.UNKNOWN, 0)
        ens_items = self._ens_items([payload for _, payload in todo])
        if ens_items:
            self.ens_client()._ensure_budget(ens_items + 5, f"{self.kind} of {ens_items:,} items")
        card = self._card(transaction) if self.kind == "process" and todo else None  # needed only to send
        if op.settle_by_evidence and todo and self.client.server_clock.now_ms() is None:
            self.client._session_token()  # one answer's Date gives the server's clock, for the windows below
        journal.set_status(self.run_id, RunStatus.RUNNING)
        bar = None
        if progress or (progress is None and len(todo) > 50):
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=done_before, desc=f"{self.kind} ({self.run_id})", unit="item")
        finished = done_before
        try:
            for start in range(0, len(todo), op.batch):
                chunk = todo[start:start + op.batch]
                if self._ens_items([payload for _, payload in chunk]) and self.ens_client().budget_remaining <= 0:
                    raise _Stop(f"the hourly ENS budget ({self.ens_client().hourly_limit:,} requests) is used up; "
                                "resume within the hour")
                window = self._window()
                seqs = journal.claim(self.run_id, [seq for seq, _ in chunk],  # the intent
                                     window=window[:2] if window else None, sent_hi=window[2] if window else None,
                                     clock=window[3] if window else None)
                chunk = [(seq, payload) for seq, payload in chunk if seq in seqs]
                if not chunk:
                    continue
                sent = time.time()
                try:
                    outcomes = self._execute([payload for _, payload in chunk], card)
                except _Stop:
                    journal.mark(self.run_id, seqs, ItemState.PENDING, error=None)
                    raise
                except Exception as exc:  # a fault of this program: the request may have gone out, and been acted on
                    journal.mark(self.run_id, seqs, ItemState.RETRY if self._repeatable() else ItemState.UNKNOWN,
                                 error=f"{type(exc).__name__}: {exc}; the request may have been sent and processed")
                    self._finish_status()
                    raise
                self._record(seqs, outcomes, sent)
                finished += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
                if on_progress:
                    on_progress(finished, total)
        except _Stop as stop:
            journal.set_status(self.run_id, RunStatus.STOPPED, str(stop))
            return self
        finally:
            if bar is not None:
                bar.close()
        self._finish_status()
        return self

    def _finish_status(self) -> None:
        counts = self.counts()
        left = counts.get(ItemState.PENDING, 0) + counts.get(ItemState.RETRY, 0)
        if counts.get(ItemState.UNKNOWN):
            self.journal.set_status(self.run_id, RunStatus.NEEDS_REVIEW,
                                    f"{counts[ItemState.UNKNOWN]:,} items may or may not have happened: review() them")
        elif left:
            self.journal.set_status(self.run_id, RunStatus.STOPPED, f"{left:,} items left to send: resume()")
        else:
            self.journal.set_status(self.run_id, RunStatus.COMPLETED, None)

    def _repeatable(self) -> bool:
        """Whether a lost answer may simply be sent again (idempotent requests; a demo submission is recorded by
        ENS like a live one, a test transaction, so it is settled by evidence too)."""
        return self.operation.idempotent

    def _window(self) -> tuple[int, int, int, str] | None:
        """For evidence-settled operations: the server-clock window in which this request can be acted on
        (lower bound, upper bound), the upper bound of the server's clock as it is sent, and which clock."""
        if not self.operation.settle_by_evidence:
            return None
        clock = self.client.server_clock
        now, basis = clock.now_ms(), clock.basis()
        if now is None or basis is None:
            return None
        return now[0], now[1] + int(self.client.timeout * 1000), now[1], basis

    def _record(self, seqs: list[int], outcomes: list[ItemOutcome], sent: float) -> None:
        journal = self.journal
        for seq, (state, result, error) in zip(seqs, outcomes, strict=True):
            journal.mark(self.run_id, [seq], state, result=result, error=error)
            if not self.operation.settle_by_evidence:
                continue
            if state == ItemState.UNKNOWN:
                stopped = self.client.server_clock.now_ms()
                went = self.client.server_clock.at_ms(sent)  # the request went out after `sent`: a later bound
                if stopped is not None:
                    journal.close_window(self.run_id, seq, stopped[1], sent_hi=went[1] if went else None)
            elif state == ItemState.DONE and isinstance(result, Mapping):
                if result.get("createdOn") is not None:  # ENS stamped it in milliseconds while we waited
                    created = result["createdOn"]
                    millis = created.timestamp() * 1000 if hasattr(created, "timestamp") else float(created)
                    self.client.server_clock.calibrate(sent, time.time(), millis)
                if result.get("id") and result.get("supporterId"):
                    journal.claim_evidence(f"ens:{result['supporterId']}:{result['id']}", self.run_id, seq)

    def complete(self, *, passes: int = 5, transaction: Mapping[str, Any] | None = None,
                 grace: float | None = None, wait: float | None = None, skew: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> BulkRun:
        """Run, review what is unknown, and run again, until nothing is left (at most ``passes`` times).

        A page submission whose answer was lost is settled by :func:`~enstoolkit.bulk.review.review`;
        when that needs ENS's window on it to close first, this waits for it (at most ``wait``
        seconds; default: the grace period plus the request timeout), with ``sleep``. ``skew``: the seconds
        ENS's ``Date`` header and its transaction clock may differ by (see the review's margin).

        Example:
            >>> from enstoolkit.bulk import unsubscribe_people
            >>> journal = Journal(folder / "j.sqlite3")
            >>> emails = [f"completed{n}@example.org" for n in range(3)]
            >>> _ = encharge.upsert_people([{"email": e} for e in emails])
            >>> run = unsubscribe_people(encharge, emails, journal=journal, run=False).complete()
            >>> run.status, run.counts()
            ('completed', {'done': 3})
        """
        from .review import DEFAULT_GRACE, DEFAULT_SKEW, review

        grace = DEFAULT_GRACE if grace is None else grace
        wait = grace + float(getattr(self.client, "timeout", 30.0)) + 5 if wait is None else wait
        for _ in range(passes):
            self.run(transaction=transaction)
            if self.counts().get(ItemState.UNKNOWN):
                review(self, grace=grace, wait=wait, skew=DEFAULT_SKEW if skew is None else skew, sleep=sleep)
            counts = self.counts()
            if not (counts.get(ItemState.PENDING) or counts.get(ItemState.RETRY)):
                break
            if self.status == RunStatus.STOPPED and "budget" in (self.note or ""):
                break
        return self

    def _card(self, transaction: Mapping[str, Any] | None) -> dict[str, Any] | None:
        journalled = self.params.get("transaction")
        if transaction is not None:
            return dict(transaction)
        if journalled and NOT_STORED in json.dumps(journalled):
            raise ValidationError("transaction", "card details", "the card details again: they are never stored "
                                  "in the journal, so resume(..., transaction=...) must supply them")
        return dict(journalled) if journalled else None

    def _classify(self, exc: Exception) -> ItemOutcome:
        """An exception as an item outcome, or a _Stop for the whole run."""
        repeatable = self._repeatable()
        if isinstance(exc, RateLimitExceeded):
            which = "the hourly limit" if exc.service == "ENS" else f"{exc.service}'s request limit"
            after = f"; try again in {exc.retry_after:.0f} s" if exc.retry_after else ""
            raise _Stop(f"{which} was reached: {exc.message}{after}") from exc
        if isinstance(exc, AuthenticationError):
            raise _Stop(f"{exc.service} refused the credentials: {exc.message}") from exc
        if isinstance(exc, Tombstoned):  # refused before anything was sent: an erased or suppressed person
            return (ItemState.SKIPPED, None, str(exc))
        if isinstance(exc, NotFoundError):
            return (ItemState.NOT_FOUND, None, exc.message)
        if isinstance(exc, (PageProcessingError, PermissionDenied, ValidationError)):
            return (ItemState.FAILED, None, str(exc.message if isinstance(exc, APIError) else exc))
        if isinstance(exc, ServerError):
            if repeatable or exc.status_code == 503:
                return (ItemState.RETRY, None, exc.message)
            return (ItemState.UNKNOWN, None, f"{exc.service} answered {exc.status_code}: it may have been processed")
        if isinstance(exc, TransportError):
            if repeatable or not exc.maybe_sent:
                return (ItemState.RETRY, None, exc.reason)
            return (ItemState.UNKNOWN, None, f"{exc.reason}: it may have been processed")
        if isinstance(exc, APIError):
            if not repeatable and 200 <= exc.status_code < 300:  # it answered success, in a shape not understood
                return (ItemState.UNKNOWN, None, f"{exc.service} answered {exc.status_code} but its answer could not "
                        f"be read ({exc.message}): it may have been processed")
            return (ItemState.FAILED, None, exc.message)
        if repeatable:
            return (ItemState.RETRY, None, str(exc))
        # not safe to repeat: the request may have been sent and acted on before this went wrong (an answer
        # that could not be read, say), so it is settled by evidence (review()), never sent again blindly
        return (ItemState.UNKNOWN, None, f"{type(exc).__name__}: {exc}; the request may have been sent and "
                "processed")

    def _execute(self, payloads: list[dict[str, Any]], card: dict[str, Any] | None) -> list[ItemOutcome]:
        try:
            return self.operation.execute(self.client, self.params, payloads, card)
        except EnstoolkitError as exc:
            return [self._classify(exc)] * len(payloads)
