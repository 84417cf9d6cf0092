"""The bulk writes analysts call: each records a run in the journal, works through it, and can be resumed.

See :mod:`enstoolkit.bulk` for what a run guarantees; the kinds of run are in :mod:`enstoolkit.bulk.operations`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..inputs.people_args import people_records, row_identifiers
from ..schemas import ItemState
from .journal import Journal
from .operations import OPERATIONS, known_kinds, load
from .runner import BulkRun, Progress, account_fingerprints

if TYPE_CHECKING:
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = [
    "TOMBSTONE_SKIP", "delete_people", "process_pages", "resume", "start", "tag_people", "unsubscribe_people",
    "upsert_people", "upsert_supporters",
]


def start(kind: str, params: Mapping[str, Any], payloads: list[dict[str, Any]], keys: list[str], *,
          journal: Journal | None = None, ens: ENSClient | None = None, encharge: EnchargeClient | None = None,
              run: bool = True,
          progress: bool | None = None, on_progress: Progress | None = None,
          transaction: Mapping[str, Any] | None = None) -> BulkRun:
    """Record a new run of a registered operation (every item pending) and, unless ``run=False``, work through it.

    The run records which account each client acts on (:func:`account_fingerprints`): it is
    only ever resumed on those accounts.

    Example:
        >>> j = Journal(folder / "j.sqlite3")
        >>> from enstoolkit import ENSClient
        >>> client = ENSClient("key-1234", "http://127.0.0.1:9/ens/service")
        >>> run = start("upsert-supporters", {}, [{"Email Address": "a@example.org"}], ["a@example.org"],
        ...             journal=j, ens=client, run=False)
        >>> run.counts(), j.accounts(run.run_id) == {"ens": client._account_fingerprint()}
        ({'pending': 1}, True)
    """
    if load(kind) is None:
        raise ValidationError("kind", kind, "one of " + ", ".join(known_kinds()))
    if not payloads:
        raise ValidationError("people", "nothing", "at least one item")
    journal = journal or Journal()
    accounts = account_fingerprints(OPERATIONS[kind].client, ens=ens, encharge=encharge)
    run_id = journal.create_run(kind, params, payloads, keys=keys, accounts=accounts)
    bulk = BulkRun(journal, run_id, ens=ens, encharge=encharge)
    if run:
        bulk.run(progress=progress, on_progress=on_progress, transaction=transaction)
    return bulk


#: The error a row refused by a tombstone is journalled ``skipped`` with.
TOMBSTONE_SKIP = ("an erased or suppressed person (tombstone); not sent (override=\"the reason\" sends it, "
                  "logged)")


def _skip_tombstoned(bulk: BulkRun, keys: list[str | None], path: str, override: str | None, client: Any) -> None:
    """Journal the items whose address is tombstoned ``skipped`` (each refusal logged), unless overridden."""
    from ..protection.tombstones import default_tombstones

    hit = default_tombstones(client).guard(keys, path=path, override=override)
    if hit:
        bulk.journal.mark(bulk.run_id, [i + 1 for i in hit], ItemState.SKIPPED, error=TOMBSTONE_SKIP)


def _people_run(kind: str, encharge: EnchargeClient, people: Any, params: Mapping[str, Any], *, journal: Journal | None,
                run: bool, progress: bool | None, on_progress: Progress | None) -> BulkRun:
    """A run with an item per person, in the order of their rows; a row with no email is an item too, ``skipped``.

    Each person is sent once (a repeated row is the same item). A row whose email (and id,
    userId) cells are all empty is journalled ``skipped`` with "row n has no email" (rows
    numbered from 1), so the run's items account for every row; when no row has one, nothing
    is journalled and :class:`ValidationError` says so.
    """
    rows = row_identifiers(people)
    payloads: list[dict[str, Any]] = []
    keys: list[str] = []
    seen: set[tuple[str, str]] = set()
    blank: dict[str, int] = {}
    for n, ident in enumerate(rows, start=1):
        if ident is None:
            blank[f"row {n} has no email"] = len(payloads) + 1
            payloads.append({"kind": None, "value": None, "row": n})
            keys.append(f"row {n}")
        elif ident not in seen:
            seen.add(ident)
            payloads.append({"kind": ident[0], "value": ident[1]})
            keys.append(ident[1])
    if rows and not seen:
        raise ValidationError("people", f"{len(rows):,} rows, none with an email", "at least one person with an "
                              "email (or an Encharge id or userId)")
    bulk = start(kind, params, payloads, keys, journal=journal, encharge=encharge, run=False)
    for error, seq in blank.items():
        bulk.journal.mark(bulk.run_id, [seq], ItemState.SKIPPED, error=error)
    if run:
        bulk.run(progress=progress, on_progress=on_progress)
    return bulk


def tag_people(encharge: EnchargeClient, people: Any, tags: Any, action: str = "add", *, journal: Journal | None = None,
               run: bool = True, progress: bool | None = None, on_progress: Progress | None = None) -> BulkRun:
    """Tag (or untag) people in Encharge as a journalled, resumable run.

    Example:
        >>> j = Journal(folder / "j.sqlite3")
        >>> tag_people(encharge, ["nobody@example.org"], "vip", journal=j).items().item(0, "error")
        'Person not found.'
    """
    from ..encharge.payloads import check_tags

    if action not in ("add", "remove"):
        raise ValidationError("action", action, "'add' or 'remove'")
    return _people_run(f"tag-{action}", encharge, people, {"tags": check_tags(tags)}, journal=journal, run=run,
                       progress=progress, on_progress=on_progress)


def upsert_people(encharge: EnchargeClient, records: Any, *, journal: Journal | None = None, run: bool = True,
                  progress: bool | None = None, on_progress: Progress | None = None,
                  override: str | None = None) -> BulkRun:
    """Create or update people in Encharge (batches of 100) as a journalled run.

    A record whose email is tombstoned (erased or suppressed, see
    :mod:`enstoolkit.protection.tombstones`) is journalled ``skipped`` and never sent, unless
    ``override`` gives the reason (logged).

    Example:
        >>> j = Journal(folder / "j.sqlite3")
        >>> upsert_people(encharge, [{"email": "new@example.org"}], journal=j).counts()
        {'done': 1}
    """
    from ..encharge.payloads import person_payload

    rows = [person_payload(r, f"records[{i}]") for i, r in enumerate(people_records(records, argument="records"))]
    keys = [str(r.get("email") or r.get("userId") or r.get("id")) for r in rows]
    params = {"override": override} if override else {}
    bulk = start("upsert-people", params, rows, keys, journal=journal, encharge=encharge, run=False)
    _skip_tombstoned(bulk, [r.get("email") for r in rows], "bulk upsert-people", override, encharge)
    if run:
        bulk.run(progress=progress, on_progress=on_progress)
    return bulk


def unsubscribe_people(encharge: EnchargeClient, people: Any, *, journal: Journal | None = None, run: bool = True,
                       progress: bool | None = None, on_progress: Progress | None = None) -> BulkRun:
    """Unsubscribe people in Encharge as a journalled run.

    Example:
        >>> j = Journal(folder / "j.sqlite3")
        >>> unsubscribe_people(encharge, ["nobody@example.org"], journal=j).counts()
        {'not found': 1}
    """
    return _people_run("unsubscribe", encharge, people, {}, journal=journal, run=run, progress=progress,
                       on_progress=on_progress)


def delete_people(encharge: EnchargeClient, people: Any, *, force: bool = False, journal: Journal | None = None,
                  run: bool = True, progress: bool | None = None, on_progress: Progress | None = None) -> BulkRun:
    """Archive people (or with ``force=True`` erase them, GDPR) as a journalled run.

    Example:
        >>> j = Journal(folder / "j.sqlite3")
        >>> delete_people(encharge, ["nobody@example.org"], journal=j).items().item(0, "error")
        'not found (already gone?)'
    """
    if not isinstance(force, bool):
        raise ValidationError("force", force, "True or False")
    return _people_run("erase" if force else "archive", encharge, people, {}, journal=journal, run=run,
                       progress=progress, on_progress=on_progress)


def _supporter_bodies(ens: ENSClient, supporters: Any, argument: str, *, with_questions: bool) -> list[dict[str, Any]]:
    """Records checked against the account's fields (and questions) before a run starts; email required."""
    out = []
    for i, row in enumerate(people_records(supporters, argument=argument)):
        if with_questions:
            out.append(ens._supporter_body(row, f"{argument}[{i}]"))
            continue
        body = ens._check_record(row, f"{argument}[{i}]")
        if ens.email_field not in body:
            raise ValidationError(f"{argument}[{i}]", sorted(row), f"a record with {ens.email_field!r}")
        out.append(body)
    return out


def upsert_supporters(ens: ENSClient, supporters: Any, *, journal: Journal | None = None, run: bool = True,
                      progress: bool | None = None, on_progress: Progress | None = None,
                      override: str | None = None) -> BulkRun:
    """Add or update ENS supporters (POST /supporter, by email) as a journalled run.

    A supporter whose email is tombstoned (erased or suppressed) is journalled ``skipped`` and
    never sent, unless ``override`` gives the reason (logged).

    Records are checked against the account's fields before the run starts.

    Example:
        >>> j = Journal(folder / "j.sqlite3")
        >>> upsert_supporters(ens, [{"Email Address": "new@example.org"}], journal=j).counts()
        {'done': 1}
    """
    payloads = _supporter_bodies(ens, supporters, "supporters", with_questions=True)
    keys = [str(p[ens.email_field]).strip().lower() for p in payloads]
    params = {"override": override} if override else {}
    bulk = start("upsert-supporters", params, payloads, keys, journal=journal, ens=ens, run=False)
    _skip_tombstoned(bulk, list(keys), "bulk upsert-supporters", override, ens)
    if run:
        bulk.run(progress=progress, on_progress=on_progress)
    return bulk


def process_pages(ens: ENSClient, page_id: int, supporters: Any, *, questions: Mapping[str, Any] | None = None,
                  transaction: Mapping[str, Any] | None = None, contact_message: Mapping[str, str] | None = None,
                  demo: bool = False, suppress_auto_responder: bool = False, tracking_id: str | None = None,
                  appeal_code: str | None = None, journal: Journal | None = None, run: bool = True,
                  progress: bool | None = None, on_progress: Progress | None = None,
                  allow_repeats: bool = False, override: str | None = None,
                  write_path: str = "bulk process") -> BulkRun:
    """Submit a page for many supporters as a journalled run; a lost answer is never resent blindly.

    A supporter whose email is tombstoned (erased or suppressed) is journalled ``skipped`` and
    never sent, unless ``override`` gives the reason (logged under ``write_path``).

    Card details (``transaction``) are used but never journalled: resuming a donation run
    needs them again.

    A person is submitted once per run: a supporter whose email (trimmed, ignoring case) is an
    earlier one's is journalled ``skipped``, "same person as row n; not sent" (rows numbered
    from 1), so a batch holding someone twice does not charge them twice. ``allow_repeats=True``
    sends every row (a deliberate second gift).

    Example:
        >>> j = Journal(folder / "j.sqlite3")
        >>> process_pages(ens, 110, [{"Email Address": "signer@example.org"}], journal=j).counts()
        {'done': 1}
        >>> twice = process_pages(ens, 110, [{"Email Address": "jo@example.org"},
        ...                                  {"Email Address": " Jo@example.org"}], journal=j)
        >>> twice.items().select("state", "error").rows()
        [('done', None), ('skipped', 'same person as row 1; not sent (allow_repeats=True sends it)')]
    """
    from ..inputs.arguments import check_id

    pid = check_id("page_id", page_id)
    if not isinstance(allow_repeats, bool):
        raise ValidationError("allow_repeats", allow_repeats, "True or False")
    payloads = [{"supporter": body} for body in _supporter_bodies(ens, supporters, "supporters", with_questions=False)]
    if questions:
        ens._check_questions(questions, "questions")
    if transaction is not None:
        ens._process_body({ens.email_field: "check@example.org"}, transaction=transaction, demo=demo)
    params = {"page_id": pid, "questions": dict(questions or {}), "transaction": dict(transaction or {}),
              "contact_message": dict(contact_message) if contact_message else None, "demo": demo,
              "suppress_auto_responder": suppress_auto_responder, "tracking_id": tracking_id,
              "appeal_code": appeal_code, **({"override": override} if override else {})}
    keys = [str(p["supporter"][ens.email_field]).strip().lower() for p in payloads]
    first: dict[str, int] = {}
    repeats: dict[int, int] = {}  # a row -> the earlier row of the same person
    for n, key in enumerate(keys, start=1):
        if key in first and not allow_repeats:
            repeats[n] = first[key]
        first.setdefault(key, n)
    bulk = start("process", params, payloads, keys, journal=journal, ens=ens, run=False)
    for n, earlier in repeats.items():
        bulk.journal.mark(bulk.run_id, [n], ItemState.SKIPPED,
                          error=f"same person as row {earlier}; not sent (allow_repeats=True sends it)")
    _skip_tombstoned(bulk, [k if n + 1 not in repeats else None for n, k in enumerate(keys)], write_path, override,
                     ens)
    if run:
        bulk.run(progress=progress, on_progress=on_progress, transaction=transaction)
    return bulk


def resume(run_id: str, *, ens: ENSClient | None = None, encharge: EnchargeClient | None = None,
           journal: Journal | None = None,
           transaction: Mapping[str, Any] | None = None, progress: bool | None = None,
           on_progress: Progress | None = None) -> BulkRun:
    """Carry on with a run: only what is left is sent (see the module's description).

    The clients must act on the accounts the run was started on: a client of another account
    is refused with a :class:`~enstoolkit.errors.ValidationError` naming the argument and
    the run's account, before anything is sent.

    Example:
        >>> j = Journal(folder / "j.sqlite3")
        >>> started = tag_people(encharge, ["nobody@example.org"], "vip", journal=j, run=False)
        >>> resume(started.run_id, encharge=encharge, journal=j).status
        'completed'
    """
    bulk = BulkRun(journal or Journal(), run_id, ens=ens, encharge=encharge)
    return bulk.run(transaction=transaction, progress=progress, on_progress=on_progress)
