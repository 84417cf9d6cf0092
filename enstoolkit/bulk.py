"""Bulk writes that can be stopped and resumed without doing anything twice.

Each function here records a *run* in the :class:`~enstoolkit.journal.Journal` (every item
``pending``), then works through it, writing the intent before each request and the
outcome after. Whatever stops it (an exception, the hourly limit, a kernel restart, a
killed process), :func:`resume` carries on with what is left:

- items never sent, or refused before being acted on, are sent;
- idempotent requests (upserts, tags, unsubscribes, deletions) whose answer was lost are
  sent again, which is harmless;
- a page submission whose answer was lost is ``unknown`` and is never resent blindly:
  :func:`review` looks the supporter up in ENS and marks it done (a transaction on that
  page exists) or pending (nothing arrived), and only then may it be sent.

ENS jobs check the hourly request budget before starting and stop cleanly when it runs out.

Example:
    >>> import tempfile, pathlib
    >>> from enstoolkit import EnchargeClient
    >>> from enstoolkit.journal import Journal
    >>> from enstoolkit.sandbox import Sandbox
    >>> journal = Journal(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite3")
    >>> with Sandbox(supporters=30) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
    ...     emails = enc.list_people(max_people=3).get_column("email").to_list()
    ...     run = tag_people(enc, emails, ["vip"], journal=journal)
    ...     run.counts()
    {'done': 3}
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl

from .encharge import EnchargeClient, _people_identifiers, check_tags
from .ens import ENSClient
from .errors import (
    APIError,
    AuthenticationError,
    EnstoolkitError,
    NotFoundError,
    PageProcessingError,
    RateLimitExceeded,
    ServerError,
    TransportError,
    ValidationError,
)
from .journal import Journal

__all__ = [
    "KINDS",
    "BulkRun",
    "RunInProgress",
    "delete_people",
    "process_pages",
    "resume",
    "review",
    "tag_people",
    "unsubscribe_people",
    "upsert_people",
    "upsert_supporters",
]

Progress = Callable[[int, int], None]
#: kind -> (which client, idempotent, items per request)
KINDS: dict[str, tuple[str, bool, int]] = {
    "tag-add": ("encharge", True, 1),
    "tag-remove": ("encharge", True, 1),
    "upsert-people": ("encharge", True, 100),
    "unsubscribe": ("encharge", True, 1),
    "archive": ("encharge", True, 1),
    "erase": ("encharge", True, 1),
    "upsert-supporters": ("ens", True, 1),
    "process": ("ens", False, 1),
}
NOT_STORED = "[not stored]"


class Stop(Exception):
    """Stop the run cleanly (the item goes back to pending)."""


class RunInProgress(EnstoolkitError):
    """Another worker (another kernel, thread or process) is working on this run right now."""

    def __init__(self, run_id: str, pid: int) -> None:
        self.run_id = run_id
        self.pid = pid
        super().__init__(f"run {run_id} is being worked on by process {pid}; wait for it to finish, then resume")


class BulkRun:
    """One journalled bulk run: work through it, look at it, resume it.

    Attributes:
        run_id, kind, journal.
    """

    def __init__(self, journal: Journal, run_id: str, *, ens: ENSClient | None = None,
                 encharge: EnchargeClient | None = None) -> None:
        self.journal = journal
        self.run_id = run_id
        info = journal.run(run_id)
        self.kind: str = info["kind"]
        self.params: dict[str, Any] = info["params"]
        self.ens = ens
        self.encharge = encharge
        which, self.idempotent, self.batch = KINDS[self.kind]
        if which == "ens" and ens is None:
            raise ValidationError("ens", None, f"an ENSClient to run a {self.kind!r} run")
        if which == "encharge" and encharge is None:
            raise ValidationError("encharge", None, f"an EnchargeClient to run a {self.kind!r} run")

    def __repr__(self) -> str:
        return f"BulkRun({self.run_id!r}, kind={self.kind!r}, {self.counts()})"

    @property
    def status(self) -> str:
        """The run's status: created, running, stopped, needs review, completed."""
        return str(self.journal.run(self.run_id)["status"])

    @property
    def note(self) -> str | None:
        """Why the run stopped, if it did."""
        return self.journal.run(self.run_id)["note"]

    def counts(self) -> dict[str, int]:
        """Items by state."""
        return self.journal.counts(self.run_id)

    def items(self) -> pl.DataFrame:
        """Every item with its state, attempts, result and error."""
        return self.journal.items(self.run_id)

    # -- running ---------------------------------------------------------------------------
    def run(self, *, progress: bool | None = None, on_progress: Progress | None = None,
            transaction: Mapping[str, Any] | None = None, max_items: int | None = None) -> BulkRun:
        """Work through the pending (and retryable) items; stop cleanly on the hourly limit.

        ``transaction`` re-supplies card details for a donation run being resumed (they are
        never journalled). ``max_items`` stops after that many (for a run in slices).
        """
        journal = self.journal
        token = uuid.uuid4().hex
        busy = journal.acquire(self.run_id, token)
        if busy is not None:
            raise RunInProgress(self.run_id, busy)
        try:
            return self._run(token, progress=progress, on_progress=on_progress, transaction=transaction,
                             max_items=max_items)
        finally:
            journal.release(self.run_id, token)

    def _run(self, token: str, *, progress: bool | None, on_progress: Progress | None,
             transaction: Mapping[str, Any] | None, max_items: int | None) -> BulkRun:
        journal = self.journal
        # This worker owns the run: an item left "sending" was interrupted between intent and outcome.
        interrupted = [seq for seq, _ in journal.pending(self.run_id, ("sending",))]
        if interrupted:
            journal.mark(self.run_id, interrupted, "retry" if self.idempotent else "unknown",
                         error="interrupted after the request was sent")
        todo = journal.pending(self.run_id)
        if max_items is not None:
            todo = todo[:max_items]
        total = sum(self.counts().values())
        done_before = total - len(journal.pending(self.run_id)) - self.counts().get("unknown", 0)
        if self.ens is not None and KINDS[self.kind][0] == "ens" and todo:
            self.ens.ensure_budget(len(todo) + 5, f"{self.kind} of {len(todo):,} items")
        card = self._card(transaction) if self.kind == "process" else None
        journal.set_status(self.run_id, "running")
        bar = None
        if progress or (progress is None and len(todo) > 50):
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=done_before, desc=f"{self.kind} ({self.run_id})", unit="item")
        finished = done_before
        try:
            for start in range(0, len(todo), self.batch):
                chunk = todo[start:start + self.batch]
                seqs = [seq for seq, _ in chunk]
                if self.ens is not None and KINDS[self.kind][0] == "ens" and self.ens.budget_remaining <= 0:
                    raise Stop(f"the hourly ENS budget ({self.ens.hourly_limit:,} requests) is used up; "
                               "resume within the hour")
                seqs = journal.claim(self.run_id, seqs)  # intent, before the request
                chunk = [(seq, payload) for seq, payload in chunk if seq in seqs]
                if not chunk:
                    continue
                try:
                    outcomes = self._execute([payload for _, payload in chunk], card)
                except Stop:
                    journal.mark(self.run_id, seqs, "pending", error=None)
                    raise
                for seq, (state, result, error) in zip(seqs, outcomes, strict=True):
                    journal.mark(self.run_id, [seq], state, result=result, error=error)
                finished += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
                if on_progress:
                    on_progress(finished, total)
        except Stop as stop:
            journal.set_status(self.run_id, "stopped", str(stop))
            return self
        finally:
            if bar is not None:
                bar.close()
        counts = self.counts()
        left = counts.get("pending", 0) + counts.get("retry", 0)
        if counts.get("unknown"):
            journal.set_status(self.run_id, "needs review",
                               f"{counts['unknown']:,} items may or may not have happened: review() them")
        elif left:
            journal.set_status(self.run_id, "stopped", f"{left:,} items left to send: resume()")
        else:
            journal.set_status(self.run_id, "completed", None)
        return self

    def complete(self, *, passes: int = 5, transaction: Mapping[str, Any] | None = None) -> BulkRun:
        """Run, review what is unknown, and run again, until nothing is left (at most ``passes`` times)."""
        for _ in range(passes):
            self.run(transaction=transaction)
            if self.counts().get("unknown"):
                review(self)
            counts = self.counts()
            if not (counts.get("pending") or counts.get("retry") or counts.get("unknown")):
                break
            if self.status == "stopped" and "budget" in (self.note or ""):
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

    def _classify(self, exc: Exception) -> tuple[str, Any, str]:
        """An exception as an item outcome, or a Stop for the whole run."""
        if isinstance(exc, RateLimitExceeded):
            raise Stop(f"the hourly limit was reached: {exc.message}") from exc
        if isinstance(exc, AuthenticationError):
            raise Stop(f"{exc.service} refused the credentials: {exc.message}") from exc
        if isinstance(exc, (PageProcessingError, NotFoundError, ValidationError)):
            return ("failed", None, str(exc.message if isinstance(exc, APIError) else exc))
        if isinstance(exc, ServerError):
            if self.idempotent or exc.status_code == 503:
                return ("retry", None, exc.message)
            return ("unknown", None, f"{exc.service} answered {exc.status_code}: it may have been processed")
        if isinstance(exc, TransportError):
            if self.idempotent or exc.reason.startswith("ConnectError"):
                return ("retry", None, exc.reason)
            return ("unknown", None, f"{exc.reason}: it may have been processed")
        if isinstance(exc, APIError):
            return ("failed", None, exc.message)
        return ("retry", None, str(exc))

    def _execute(self, payloads: list[dict[str, Any]], card: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
        try:
            return self._dispatch(payloads, card)
        except EnstoolkitError as exc:
            outcome = self._classify(exc)
            return [outcome] * len(payloads)

    def _dispatch(self, payloads: list[dict[str, Any]], card: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
        p = self.params
        enc, ens = self.encharge, self.ens
        if self.kind in ("tag-add", "tag-remove"):
            item = payloads[0]
            assert enc is not None
            status = enc.tag_person(self.kind[4:], item["kind"], item["value"], p["tags"])
            return [("done", {"http_status": status}, None)]
        if self.kind == "upsert-people":
            assert enc is not None
            people = enc.upsert_people(payloads, batch_size=len(payloads), progress=False)
            ids = people.get_column("id").to_list()
            return [("done", {"id": ids[i] if i < len(ids) else None}, None) for i in range(len(payloads))]
        if self.kind == "unsubscribe":
            assert enc is not None
            item = payloads[0]
            enc.unsubscribe(**{{"email": "email", "id": "id", "userId": "user_id"}[item["kind"]]: item["value"]})
            return [("done", None, None)]
        if self.kind in ("archive", "erase"):
            assert enc is not None
            item = payloads[0]
            who = [item["value"]]
            kind = item["kind"]
            row = enc.delete_people(emails=who if kind == "email" else None, ids=who if kind == "id" else None,
                                    user_ids=who if kind == "userId" else None,
                                    force=self.kind == "erase").row(0, named=True)
            if row["status"] == "not found":
                return [("failed", None, "not found (already gone?)")]
            return [("done", {"action": row["action"]}, None)]
        if self.kind == "upsert-supporters":
            assert ens is not None
            return [("done", {"supporterId": ens.upsert_supporter(payloads[0])}, None)]
        if self.kind == "process":
            assert ens is not None
            item = payloads[0]
            result = ens.process_page(
                p["page_id"], item["supporter"], questions=p.get("questions") or None, transaction=card,
                contact_message=p.get("contact_message"), demo=bool(p.get("demo")),
                suppress_auto_responder=bool(p.get("suppress_auto_responder")),
                tracking_id=p.get("tracking_id"), appeal_code=p.get("appeal_code"),
            ).row(0, named=True)
            keep = {k: result.get(k) for k in ("status", "supporterId", "transactionId", "amount", "id")}
            return [("done", keep, None)]
        raise ValidationError("kind", self.kind, ", ".join(KINDS))


def _supporter_records(ens: ENSClient, records: pl.DataFrame | Iterable[Mapping[str, Any]], argument: str, *,
                       with_questions: bool = False) -> list[dict[str, Any]]:
    """Records checked against the account's fields (and questions) before a run starts; email required."""
    rows = [dict(r) for r in (records.iter_rows(named=True) if isinstance(records, pl.DataFrame) else records)]
    email_field = ens._email_field()
    out = []
    for i, row in enumerate(rows):
        body = ens._canonical_record({k: v for k, v in row.items() if v is not None}, f"{argument}[{i}]")
        if email_field not in body:
            raise ValidationError(f"{argument}[{i}]", sorted(row), f"a record with {email_field!r}")
        if with_questions:
            questions = ens._canonical_questions(row.get("questions"), f"{argument}[{i}]['questions']")
            if questions:
                body["questions"] = questions
        out.append(body)
    return out


# -- starting runs -----------------------------------------------------------------------------


def _start(journal: Journal | None, kind: str, params: Mapping[str, Any], payloads: list[dict[str, Any]],
           keys: list[str], *, ens: ENSClient | None = None, encharge: EnchargeClient | None = None,
           run: bool = True, progress: bool | None = None, on_progress: Progress | None = None,
           transaction: Mapping[str, Any] | None = None) -> BulkRun:
    if not payloads:
        raise ValidationError("people", "nothing", "at least one item")
    journal = journal or Journal()
    run_id = journal.create_run(kind, params, payloads, keys=keys)
    bulk = BulkRun(journal, run_id, ens=ens, encharge=encharge)
    if run:
        bulk.run(progress=progress, on_progress=on_progress, transaction=transaction)
    return bulk


def tag_people(encharge: EnchargeClient, people: Any, tags: str | Iterable[str], action: str = "add", *,
               journal: Journal | None = None, run: bool = True, progress: bool | None = None,
               on_progress: Progress | None = None) -> BulkRun:
    """Tag (or untag) people in Encharge as a journalled, resumable run.

    Example:
        >>> import tempfile, pathlib
        >>> from enstoolkit.sandbox import Sandbox
        >>> j = Journal(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite3")
        >>> with Sandbox(supporters=10) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        ...     tag_people(enc, ["nobody@example.org"], "vip", journal=j).items().item(0, "error")
        'Person not found.'
    """
    if action not in ("add", "remove"):
        raise ValidationError("action", action, "'add' or 'remove'")
    names = check_tags(tags)
    idents = _people_identifiers(people)
    payloads = [{"kind": kind, "value": value} for kind, value in idents]
    return _start(journal, f"tag-{action}", {"tags": names}, payloads, [v for _, v in idents],
                  encharge=encharge, run=run, progress=progress, on_progress=on_progress)


def upsert_people(encharge: EnchargeClient, records: Any, *, journal: Journal | None = None, run: bool = True,
                  progress: bool | None = None, on_progress: Progress | None = None) -> BulkRun:
    """Create or update people in Encharge (batches of 100) as a journalled run."""
    from .encharge import _person_payload, _records

    rows = [_person_payload(r, f"records[{i}]") for i, r in enumerate(_records(records, "records"))]
    keys = [str(r.get("email") or r.get("userId") or r.get("id")) for r in rows]
    return _start(journal, "upsert-people", {}, rows, keys, encharge=encharge, run=run, progress=progress,
                  on_progress=on_progress)


def unsubscribe_people(encharge: EnchargeClient, people: Any, *, journal: Journal | None = None, run: bool = True,
                       progress: bool | None = None, on_progress: Progress | None = None) -> BulkRun:
    """Unsubscribe people in Encharge as a journalled run."""
    idents = _people_identifiers(people)
    payloads = [{"kind": kind, "value": value} for kind, value in idents]
    return _start(journal, "unsubscribe", {}, payloads, [v for _, v in idents], encharge=encharge, run=run,
                  progress=progress, on_progress=on_progress)


def delete_people(encharge: EnchargeClient, people: Any, *, force: bool = False, journal: Journal | None = None,
                  run: bool = True, progress: bool | None = None, on_progress: Progress | None = None) -> BulkRun:
    """Archive people (or with ``force=True`` erase them, GDPR) as a journalled run."""
    idents = _people_identifiers(people)
    payloads = [{"kind": kind, "value": value} for kind, value in idents]
    return _start(journal, "erase" if force else "archive", {}, payloads, [v for _, v in idents],
                  encharge=encharge, run=run, progress=progress, on_progress=on_progress)


def upsert_supporters(ens: ENSClient, records: pl.DataFrame | Iterable[Mapping[str, Any]], *,
                      journal: Journal | None = None, run: bool = True, progress: bool | None = None,
                      on_progress: Progress | None = None) -> BulkRun:
    """Add or update ENS supporters (POST /supporter, by email) as a journalled run.

    Records are checked against the account's fields before the run starts.
    """
    payloads = _supporter_records(ens, records, "records", with_questions=True)
    email_field = ens._email_field()
    keys = [str(p[email_field]).strip().lower() for p in payloads]
    return _start(journal, "upsert-supporters", {}, payloads, keys, ens=ens, run=run, progress=progress,
                  on_progress=on_progress)


def process_pages(ens: ENSClient, page_id: int, supporters: pl.DataFrame | Iterable[Mapping[str, Any]], *,
                  questions: Mapping[str, Any] | None = None, transaction: Mapping[str, Any] | None = None,
                  contact_message: Mapping[str, str] | None = None, demo: bool = False,
                  suppress_auto_responder: bool = False, tracking_id: str | None = None,
                  appeal_code: str | None = None, journal: Journal | None = None, run: bool = True,
                  progress: bool | None = None, on_progress: Progress | None = None) -> BulkRun:
    """Submit a page for many supporters as a journalled run; a lost answer is never resent blindly.

    Card details (``transaction``) are used but never journalled: resuming a donation run
    needs them again.
    """
    email_field = ens._email_field()
    payloads = [{"supporter": body} for body in _supporter_records(ens, supporters, "supporters")]
    params = {"page_id": int(page_id), "questions": dict(questions or {}), "transaction": dict(transaction or {}),
              "contact_message": dict(contact_message) if contact_message else None, "demo": demo,
              "suppress_auto_responder": suppress_auto_responder, "tracking_id": tracking_id,
              "appeal_code": appeal_code}
    keys = [str(p["supporter"][email_field]).strip().lower() for p in payloads]
    return _start(journal, "process", params, payloads, keys, ens=ens, run=run, progress=progress,
                  on_progress=on_progress, transaction=transaction)


# -- after an interruption ---------------------------------------------------------------------


def resume(run_id: str, *, ens: ENSClient | None = None, encharge: EnchargeClient | None = None,
           journal: Journal | None = None, transaction: Mapping[str, Any] | None = None,
           progress: bool | None = None, on_progress: Progress | None = None) -> BulkRun:
    """Carry on with a run: only what is left is sent (see the module's description).

    Example:
        >>> import tempfile, pathlib
        >>> from enstoolkit.sandbox import Sandbox
        >>> j = Journal(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite3")
        >>> with Sandbox(supporters=10) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        ...     started = tag_people(enc, ["nobody@example.org"], "vip", journal=j, run=False)
        ...     resume(started.run_id, encharge=enc, journal=j).status
        'completed'
    """
    bulk = BulkRun(journal or Journal(), run_id, ens=ens, encharge=encharge)
    return bulk.run(transaction=transaction, progress=progress, on_progress=on_progress)


def review(run: BulkRun) -> pl.DataFrame:
    """Settle the ``unknown`` items of a page-processing run by looking in ENS.

    For each, the supporter is looked up by email: with a transaction on the run's page it
    is marked done (found in ENS); with none (or no such supporter) it goes back to pending,
    to be sent by :func:`resume`. A supporter who had already submitted the same page before
    counts as done, so a review never causes a second submission. Returns the reviewed
    items with the evidence.
    """
    if run.kind != "process":
        unknown = [seq for seq, _ in run.journal.pending(run.run_id, ("unknown",))]
        run.journal.mark(run.run_id, unknown, "retry", error="resent: the request is idempotent")
        return run.items().filter(pl.col("seq").is_in(unknown))
    assert run.ens is not None
    ens = run.ens
    campaign = ens.get_page(run.params["page_id"]).item(0, "campaignId")
    email_field = ens._email_field()
    reviewed = []
    for seq, payload in run.journal.pending(run.run_id, ("unknown",)):
        email = str(payload["supporter"][email_field])
        supporter = ens.get_supporter(email=email)
        evidence = "no such supporter in ENS"
        state = "pending"
        if supporter.height:
            sid = supporter.item(0, "supporterId")
            tx = ens.get_transactions(sid).filter(pl.col("campaignId") == campaign)
            if tx.height:
                state, evidence = "done", f"found in ENS: transaction {tx.item(-1, 'id')} on page {campaign}"
            else:
                evidence = f"supporter {sid} has no transaction on page {campaign}"
        run.journal.mark(run.run_id, [seq], state, result={"review": evidence},
                         error=None if state == "done" else f"reviewed: {evidence}")
        reviewed.append(seq)
    if reviewed:
        counts = run.counts()
        waiting = sum(counts.get(state, 0) for state in ("pending", "retry", "sending", "unknown"))
        note = f"reviewed {len(reviewed):,} unknown items"
        if waiting:
            run.journal.set_status(run.run_id, "stopped", f"{note}; {waiting:,} items left to send: resume()")
        else:
            run.journal.set_status(run.run_id, "completed", note)
    return run.items().filter(pl.col("seq").is_in(reviewed))
