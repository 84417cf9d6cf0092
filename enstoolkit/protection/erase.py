"""Erasing people in both systems through the journal, each one tombstoned and logged for the DPO.

:func:`erase_people` takes a retention preview (its ``erase`` rows) or a list of emails. Before
anything is sent, every address is tombstoned (so no import, form or sync re-creates the person,
even if the run is interrupted) and logged (:func:`erasure_log`: the salted hash, the systems and
ids, the reason, who, when, the run; never the address). Then one run of the ``"erase-person"``
bulk operation deletes each ENS supporter (``DELETE /supporter/{id}``; then any other supporter ENS
finds by the address, until none is left) and erases each Encharge
person holding the address in any case (``DELETE /people?force=true``, recorded in the erasure
record as every Encharge erasure is). Both requests are safe to repeat: a supporter already gone
is done ("gone already").

Example:
    >>> from enstoolkit.bulk import Journal
    >>> email = "forget.me@example.org"
    >>> _ = ens.upsert_supporter({"Email Address": email}), encharge.upsert_people([{"email": email}])
    >>> run = erase_people([email], ens=ens, encharge=encharge, reason="asked to be forgotten", by="dpo",
    ...                    journal=Journal(folder / "j.sqlite3"), folder=folder)
    >>> run.counts(), erasure_log(folder).select("systems", "reason").row(0)
    ({'done': 2}, ('ENS,Encharge', 'asked to be forgotten'))
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..bulk import BulkRun, Journal, start
from ..bulk.operations import OPERATIONS, ItemOutcome, register
from ..errors import NotFoundError, ValidationError
from ..inputs.people_args import email_key, listed_emails
from ..schemas import ItemState
from .tombstones import Tombstones, scope_of

if TYPE_CHECKING:
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = ["erase_people", "erasure_log"]

#: The most ENS supporters one address is expected to name.
_MAX_HOLDERS = 10
_TABLE = ("CREATE TABLE IF NOT EXISTS dpo_erasures (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER, by TEXT, "
          "subject_hash TEXT, systems TEXT, ids TEXT, reason TEXT, run_id TEXT)")


@register("erase-person", "both", idempotent=True)
def _erase_person(clients: Any, params: Mapping[str, Any], payloads: list[dict[str, Any]],
                  card: Any) -> list[ItemOutcome]:
    item = payloads[0]
    if item["client"] == "ens":  # the supporter, then anyone else ENS finds by the address (a shared email)
        ens, gone = clients.ens, []
        if item.get("id") is not None:
            try:
                gone.append(ens.delete_supporter(int(item["id"])))
            except NotFoundError:  # deleted already (a repeat whose answer was lost, or by hand)
                pass
        for _ in range(_MAX_HOLDERS):
            found = ens.get_supporter(email=item["email"])
            if not found.height:
                return [(ItemState.DONE, {"supporterIds": gone}, None)]
            try:
                gone.append(ens.delete_supporter(int(found.item(0, "supporterId"))))
            except NotFoundError:
                continue
        return [(ItemState.FAILED, {"supporterIds": gone}, f"ENS still finds a supporter with this address after "
                 f"{_MAX_HOLDERS} deletions")]
    return OPERATIONS["erase"].execute(clients.encharge, params, [{"kind": "email", "value": item["email"]}], card)


def erase_people(people: Any, *, ens: ENSClient, encharge: EnchargeClient, reason: str, by: str | None = None,
                 journal: Journal | None = None, folder: str | Path | None = None, run: bool = True,
                 progress: bool | None = None) -> BulkRun:
    """Erase people in ENS and Encharge as one journalled run; each tombstoned and logged first.

    Args:
        people: a retention preview (its ``erase`` rows are erased) or emails.
        ens: the ENS client.
        encharge: the Encharge client.
        reason: why (the policy, or the person's request); logged for the DPO.
        by: who (default: the operating system's user).
        journal: the bulk journal.
        folder: the folder of the tombstones and the DPO log.
        run: False records the run without sending (resume it with :func:`enstoolkit.bulk.resume`).
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason", reason, "why these people are erased (text; logged for the DPO)")
    from ..sync.changelog import operator

    who = operator(by)
    if isinstance(people, pl.DataFrame) and "decision" in people.columns:
        chosen = people.filter(pl.col("decision") == "erase")
        emails = [e for e in chosen.get_column("email").to_list() if e]
        known = {email_key(r["email"]): r["supporterId"] for r in chosen.iter_rows(named=True) if r["email"]}
    else:
        emails = listed_emails(people, argument="people")
        known = {}
    if not emails:
        raise ValidationError("people", "nobody", "at least one person to erase (a preview's 'erase' rows, or emails)")
    items: list[dict[str, Any]] = []
    logged: list[tuple[str, list[str], list[str]]] = []
    for email in dict.fromkeys(email_key(e) for e in emails):
        sid = known.get(email)
        if sid is None:
            found = ens.get_supporter(email=email)
            sid = found.item(0, "supporterId") if found.height else None
        systems, ids = ["Encharge"], [email]
        if sid is not None:
            items.append({"client": "ens", "id": int(sid), "email": email})
            systems, ids = ["ENS", "Encharge"], [str(sid), "by email"]
        items.append({"client": "encharge", "email": email})
        logged.append((email, systems, ids))
    stones = Tombstones(folder, scope=scope_of(ens))
    stones.add([e for e, _, _ in logged], reason="erased", source="erasure")  # before anything is sent
    keys = [f"{i['client']}:{i.get('id') or i['email']}" for i in items]
    bulk = start("erase-person", {"reason": reason.strip(), "by": who}, items, keys, journal=journal, ens=ens,
                 encharge=encharge, run=False)
    moment = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    with sqlite3.connect(stones.path) as db:
        db.execute(_TABLE)
        db.executemany("INSERT INTO dpo_erasures (at, by, subject_hash, systems, ids, reason, run_id) "
                       "VALUES (?,?,?,?,?,?,?)",
                       [(moment, who, stones.hash(e), ",".join(s), json.dumps(i), reason.strip(), bulk.run_id)
                        for e, s, i in logged])
    if run:
        bulk.run(progress=progress)
        if bulk.status != "completed":  # stopped by errors that may pass: a few more passes
            bulk.complete()
    return bulk


def erasure_log(folder: str | Path | None = None) -> pl.DataFrame:
    """The DPO's log of erasures made through the toolkit: when, who, the person as a salted hash, systems, reason.

    Example:
        >>> import tempfile
        >>> erasure_log(tempfile.mkdtemp()).columns
        ['erasedAt', 'by', 'subjectHash', 'systems', 'ids', 'reason', 'run_id']
    """
    stones = Tombstones(folder)
    with sqlite3.connect(stones.path) as db:
        db.execute(_TABLE)
        rows = db.execute("SELECT at, by, subject_hash, systems, ids, reason, run_id FROM dpo_erasures "
                          "ORDER BY seq").fetchall()
    return pl.DataFrame([(dt.datetime.fromtimestamp(r[0] / 1000, dt.UTC), *r[1:]) for r in rows], schema={
        "erasedAt": pl.Datetime("ms", "UTC"), "by": pl.String(), "subjectHash": pl.String(), "systems": pl.String(),
        "ids": pl.String(), "reason": pl.String(), "run_id": pl.String()}, orient="row")
