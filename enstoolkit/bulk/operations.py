"""The bulk operations, one registry: what each kind of run sends, to which API, and whether it is safe to repeat.

Each :class:`Operation` says which client it needs (``"both"``: :class:`Clients`, each payload
naming its own under ``"client"``), whether its request is idempotent (a
lost answer is simply sent again) or not (a lost answer leaves the item ``unknown``, to be
settled by evidence, see :mod:`enstoolkit.bulk.review`), how many items go in one request,
and the function that sends them. :func:`register` adds one; :data:`OPERATIONS` lists them.

Example:
    >>> sorted(known_kinds())  # doctest: +NORMALIZE_WHITESPACE
    ['archive', 'consent', 'erase', 'erase-person', 'process', 'suppress', 'tag-add', 'tag-remove', 'unsubscribe',
     'upsert-people', 'upsert-supporters']
    >>> OPERATIONS["process"].idempotent, OPERATIONS["tag-add"].client
    (False, 'encharge')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..schemas import ItemState

if TYPE_CHECKING:
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = ["CLIENTS", "ELSEWHERE", "OPERATIONS", "Clients", "ItemOutcome", "Operation", "known_kinds", "load",
           "register"]

#: What happened to one item: (state, result to keep, error message).
ItemOutcome = tuple[str, Any, str | None]
Execute = Callable[[Any, Mapping[str, Any], list[dict[str, Any]], "dict[str, Any] | None"], list[ItemOutcome]]


#: The client an operation may send through: one API, or both (then each payload names its own).
CLIENTS = ("ens", "encharge", "both")


@dataclass(frozen=True)
class Clients:
    """Both clients, for an operation that writes to ENS and Encharge (``client="both"``).

    Example:
        >>> Clients(ens="an ENSClient", encharge="an EnchargeClient").ens
        'an ENSClient'
    """

    ens: ENSClient
    encharge: EnchargeClient


@dataclass(frozen=True)
class Operation:
    """One kind of bulk run.

    Attributes:
        kind: its name in the journal.
        client: "ens", "encharge", or "both" (the execute function gets :class:`Clients`, and each
            payload says which API it goes to under ``"client"``: ENS's count against the hourly budget).
        idempotent: whether a lost answer may simply be sent again.
        batch: items per request.
        execute: ``execute(client, params, payloads, card) -> [ItemOutcome]``; raises the
            client's errors, which the runner turns into item outcomes (for an operation that is
            not idempotent, an error it cannot place before the request was sent makes the item
            ``unknown``, never ``retry``). A ``done`` outcome may carry a note in its error slot
            (e.g. part of the answer could not be read).
        settle_by_evidence: a lost answer is settled by looking for what the request created.

    Example:
        >>> op = OPERATIONS["unsubscribe"]
        >>> op.kind, op.client, op.idempotent, op.settle_by_evidence
        ('unsubscribe', 'encharge', True, False)
    """

    kind: str
    client: str
    idempotent: bool
    batch: int
    execute: Execute
    settle_by_evidence: bool = False


OPERATIONS: dict[str, Operation] = {}
#: Operations registered by other modules, loaded when a run of theirs is first met (e.g. resumed in a new process).
ELSEWHERE = {"consent": "enstoolkit.sync.apply", "suppress": "enstoolkit.protection.suppression",
             "erase-person": "enstoolkit.protection.erase"}


def load(kind: str) -> Operation | None:
    """The operation of this kind, its module imported if it registers elsewhere; None when unknown.

    Example:
        >>> load("suppress").client, load("no-such-kind")
        ('both', None)
    """
    if kind not in OPERATIONS and kind in ELSEWHERE:
        import importlib

        importlib.import_module(ELSEWHERE[kind])
    return OPERATIONS.get(kind)


def known_kinds() -> list[str]:
    """Every kind of run, those registered elsewhere included.

    Example:
        >>> "suppress" in known_kinds()
        True
    """
    return sorted(set(OPERATIONS) | set(ELSEWHERE))


def register(kind: str, client: str, *, idempotent: bool, batch: int = 1,
             settle_by_evidence: bool = False) -> Callable[[Execute], Execute]:
    """Add an operation to :data:`OPERATIONS` (a decorator on its execute function).

    Example:
        >>> @register("example-noop", "encharge", idempotent=True)
        ... def noop(client, params, payloads, card):
        ...     return [("done", None, None) for _ in payloads]
        >>> OPERATIONS.pop("example-noop").batch
        1
    """
    if client not in CLIENTS:
        raise ValueError(f"client={client!r}: expected one of {', '.join(CLIENTS)}")

    def add(execute: Execute) -> Execute:
        OPERATIONS[kind] = Operation(kind, client, idempotent, batch, execute, settle_by_evidence)
        return execute

    return add


def _done(result: Any = None) -> ItemOutcome:
    return (ItemState.DONE, result, None)


# -- Encharge ------------------------------------------------------------------------------------


def _tag(action: str) -> Execute:
    def execute(enc: EnchargeClient, params: Mapping[str, Any], payloads: list[dict[str, Any]],
                card: Any) -> list[ItemOutcome]:
        item = payloads[0]
        return [_done({"http_status": enc._tag_person(action, item["kind"], item["value"], params["tags"])})]

    return execute


register("tag-add", "encharge", idempotent=True)(_tag("add"))
register("tag-remove", "encharge", idempotent=True)(_tag("remove"))


@register("upsert-people", "encharge", idempotent=True, batch=100)
def _upsert_people(enc: EnchargeClient, params: Mapping[str, Any], payloads: list[dict[str, Any]],
                   card: Any) -> list[ItemOutcome]:
    from ..protection.tombstones import default_tombstones

    override = params.get("override")
    refused = set() if override else set(default_tombstones(enc).guard([p.get("email") for p in payloads],
                                                                    path="bulk upsert-people"))
    if refused:  # tombstoned since the run began: skipped, the rest of the batch sent
        sent = [p for i, p in enumerate(payloads) if i not in refused]
        outcomes = iter(_upsert_people(enc, params, sent, card) if sent else [])
        return [(ItemState.SKIPPED, None, "an erased or suppressed person (tombstone); not sent") if i in refused
                else next(outcomes) for i in range(len(payloads))]
    answered = enc.upsert_people(payloads, batch_size=len(payloads), progress=False, override=override)
    # each item is matched to Encharge's answer by its identifier, never by position
    by: dict[tuple[str, str], str] = {}
    for row in answered.select("id", "userId", "email").iter_rows(named=True):
        for kind in ("id", "userId", "email"):
            if row[kind]:
                by.setdefault((kind, str(row[kind]).lower() if kind == "email" else str(row[kind])), row["id"])
    out: list[ItemOutcome] = []
    for payload in payloads:
        found = next((by[(k, str(payload[k]).lower() if k == "email" else str(payload[k]))]
                      for k in ("id", "userId", "email") if payload.get(k) is not None
                      and (k, str(payload[k]).lower() if k == "email" else str(payload[k])) in by), None)
        out.append(_done({"id": found}) if found is not None else
                   (ItemState.FAILED, None, "Encharge's answer did not include this person"))
    return out


#: How old a copy of Encharge's list of everyone a bulk run by email may use to find who holds an address
#: (one listing a minute, not one per person; each holder is looked up again by id before acting).
RUN_LIST_AGE = 60.0


@register("unsubscribe", "encharge", idempotent=True)
def _unsubscribe(enc: EnchargeClient, params: Mapping[str, Any], payloads: list[dict[str, Any]],
                 card: Any) -> list[ItemOutcome]:
    item = payloads[0]
    # an email: everyone holding it, whatever its case (the list of everyone read at most once a minute)
    ids = enc.unsubscribe({item["kind"]: item["value"]}, list_age=RUN_LIST_AGE)
    return [_done({"ids": ids} if item["kind"] == "email" else None)]


def _recorded_erasures(record: Any, kind: str, value: str) -> list[tuple[str, str]]:
    """The confirmed erasures of the record an identifier names (by id, userId, or email without case):
    (person id, day)."""
    from ..inputs.people_args import email_key

    def key(held: Any) -> str:
        return email_key(held) if kind == "email" else str(held)

    found = []
    for row in record.iter_rows(named=True):
        held = row.get(kind)
        if held is not None and key(held) == key(value):
            found.append((str(row.get("id") or held), row["erasedAt"].date().isoformat() if row.get("erasedAt")
                          else "an unknown day"))
    return found


def _delete(force: bool) -> Execute:
    def execute(enc: EnchargeClient, params: Mapping[str, Any], payloads: list[dict[str, Any]],
                card: Any) -> list[ItemOutcome]:
        from ..encharge.removal import LOST_ANSWER, remove_people

        item = payloads[0]
        account = enc.account_id() if force else None  # asked before erasing: the record must not fail after
        if force and enc.erasure_log is None:
            from ..records.erasures import ErasureLog

            enc.erasure_log = ErasureLog()
        log = enc.erasure_log
        removal = remove_people(enc, [(item["kind"], item["value"])], force=force, list_age=RUN_LIST_AGE,
                                log=log, account_id=account)[0]
        if not removal.found and force and log is not None:  # erased already, as the record says (another row)
            earlier = _recorded_erasures(log.read(account_id=account), item["kind"], item["value"])
            if earlier:
                return [_done({"action": "erase", "ids": [pid for pid, _ in earlier],
                               "note": "erased already on " + ", ".join(sorted({day for _, day in earlier}))
                                       + " (the erasure record)"})]
        if not removal.found:  # never found, and no earlier attempt of ours erased anyone it names
            return [(ItemState.NOT_FOUND, None, "not found (already gone?)")]
        result: dict[str, Any] = {"action": "erase" if force else "archive",
                                  "ids": [str(p["id"]) for p in [*removal.people, *removal.lost]]}
        if removal.lost:
            result["note"] = LOST_ANSWER if not removal.people else \
                f"{', '.join(str(p['id']) for p in removal.lost)} {LOST_ANSWER}"
        return [_done(result)]

    return execute


register("archive", "encharge", idempotent=True)(_delete(False))
register("erase", "encharge", idempotent=True)(_delete(True))


# -- ENS -----------------------------------------------------------------------------------------


@register("upsert-supporters", "ens", idempotent=True)
def _upsert_supporters(ens: ENSClient, params: Mapping[str, Any], payloads: list[dict[str, Any]],
                       card: Any) -> list[ItemOutcome]:
    return [_done({"supporterId": ens.upsert_supporter(payloads[0], override=params.get("override"))})]


@register("process", "ens", idempotent=False, settle_by_evidence=True)
def _process(ens: ENSClient, params: Mapping[str, Any], payloads: list[dict[str, Any]], card: Any) -> list[ItemOutcome]:
    item = payloads[0]
    result = ens.process_page(
        params["page_id"], item["supporter"], questions=params.get("questions") or None, transaction=card,
        contact_message=params.get("contact_message"), demo=bool(params.get("demo")),
        suppress_auto_responder=bool(params.get("suppress_auto_responder")), tracking_id=params.get("tracking_id"),
        appeal_code=params.get("appeal_code"), override=params.get("override"),
    ).row(0, named=True)
    keep = {k: result.get(k) for k in ("status", "supporterId", "transactionId", "amount", "id", "createdOn")}
    if result.get("warning"):  # processed, but part of ENS's answer could not be read: done, saying which part
        keep["answer"] = json.loads(result["answer"]) if result.get("answer") else None
        return [(ItemState.DONE, keep, str(result["warning"]))]
    return [_done(keep)]


# -- both ----------------------------------------------------------------------------------------
