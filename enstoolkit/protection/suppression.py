"""Meeting suppression requests: matched to both systems, suppressed per channel in one journalled run.

:func:`suppress` keeps every request (:class:`~enstoolkit.protection.requests.RequestStore`),
tombstones the addresses of email (and "all") requests, matched or not (a person not found is
kept on the suppression list, as the FPS requires), matches them
(:func:`~enstoolkit.protection.matching.match_requests`), and sends, as one run of the
``"suppress"`` bulk operation (resumable with :func:`enstoolkit.bulk.resume`, nothing done twice):

========== ====================================================== ============================
channel    ENS                                                    Encharge
========== ====================================================== ============================
email      ``PUT /supporter/bulk`` suppressed=Y (or, with          unsubscribe (by id)
           ``ens_method="opt-out"``, the email questions "N")
sms, phone the channel's questions answered "N"                   (not an Encharge channel)
post
all        suppressed=Y and every mapped question "N"             unsubscribe (by id)
========== ====================================================== ============================

Nothing here ever subscribes anyone: the only requests sent are a suppression, an answer "N" and
an unsubscribe. Exact matches are acted on; ``review`` matches (the fuzzy band, an email naming
several people) only once approved (``approved=[(request_id, system, id), ...]``). A channel the
ENS account has no question for is reported, not guessed: that request stays pending.

Example:
    >>> import io
    >>> from enstoolkit.bulk import Journal
    >>> from enstoolkit.protection.requests import load_requests
    >>> email = "no.contact@example.org"
    >>> _ = ens.upsert_supporter({"Email Address": email}), encharge.upsert_people([{"email": email}])
    >>> text = f"email,channel,received\\n{email},email,2026-10-01\\nnobody@example.org,email,2026-10-01\\n"
    >>> requests = load_requests(io.BytesIO(text.encode()), source="fps", today=dt.date(2026, 10, 2))
    >>> done = suppress(requests, ens=ens, encharge=encharge, folder=folder, journal=Journal(folder / "j.sqlite3"),
    ...                 today=dt.date(2026, 10, 2))
    >>> done.figures()["matched"], done.figures()["deadlines"]
    ({'exact': 1, 'review': 0, 'not found': 1}, {'met': 2, 'pending': 0, 'overdue': 0})
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..bulk import BulkRun, Journal, start
from ..bulk.operations import ItemOutcome, register
from ..errors import MissingExtra, ValidationError
from ..schemas import ItemState
from .matching import Fuzzy, fuzzy_band, match_requests, scorer_band, system_records
from .requests import RequestStore, request_report
from .tombstones import Tombstones, scope_of

if TYPE_CHECKING:
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = ["CHANNEL_WORDS", "Suppression", "channel_questions", "suppress"]

#: Words in an ENS question's name that say which channel it governs.
CHANNEL_WORDS = {"email": ("email", "newsletter", "marketing", "e-mail"), "sms": ("sms", "text message"),
                 "phone": ("phone", "telephone", "call"), "post": ("post", "postal", "direct mail", "mail pack")}


def channel_questions(questions: Sequence[str]) -> dict[str, list[str]]:
    """The account's opt-in questions per channel, read from their names (see :data:`CHANNEL_WORDS`).

    Example:
        >>> channel_questions(["Marketing Optin", "SMS Optin", "Email Opt-in (double)"])
        {'email': ['Marketing Optin', 'Email Opt-in (double)'], 'sms': ['SMS Optin'], 'phone': [], 'post': []}
    """
    out: dict[str, list[str]] = {c: [] for c in CHANNEL_WORDS}
    for name in questions:
        low = name.lower()
        for channel in ("sms", "phone", "post", "email"):  # a "text message" question is not an email one
            if any(word in low for word in CHANNEL_WORDS[channel]):
                out[channel].append(name)
                break
    return out


@register("suppress", "both", idempotent=True)
def _suppress(clients: Any, params: Mapping[str, Any], payloads: list[dict[str, Any]],
              card: Any) -> list[ItemOutcome]:
    """One suppression: ENS suppressed=Y or questions "N", or an Encharge unsubscribe; never a subscribe."""
    item = payloads[0]
    action = item["action"]
    if action == "suppress":
        affected = clients.ens.suppress_supporters([item["email"]])
        if not affected:
            return [(ItemState.NOT_FOUND, None, "not found: ENS holds no supporter with this email now")]
        held = clients.ens.get_supporter(int(item["id"]))  # by email: did it reach this record?
        if held.height and bool(held.item(0, "suppressed")):
            return [(ItemState.DONE, {"affected": affected}, None)]
        if not held.height:
            return [(ItemState.NOT_FOUND, None, f"not found: ENS holds no supporter {item['id']} now")]
        if item.get("fallback"):  # another record holds the address: this one's email opt-ins answered "N"
            clients.ens.update_supporter(int(item["id"]), {"questions": dict.fromkeys(item["fallback"], "N")})
            return [(ItemState.DONE, {"questions": item["fallback"]},
                     "the suppression reached another record holding this address; this one's email opt-ins "
                     "were answered N")]
        return [(ItemState.FAILED, None, f"the suppression reached another record holding this address, not "
                 f"supporter {item['id']}, and the account has no email opt-in question to answer N")]
    if action == "opt-out":
        clients.ens.update_supporter(int(item["id"]), {"questions": dict.fromkeys(item["questions"], "N")})
        return [(ItemState.DONE, {"questions": item["questions"]}, None)]
    if action == "unsubscribe":
        return [(ItemState.DONE, {"ids": clients.encharge.unsubscribe(str(item["id"]))}, None)]
    return [(ItemState.SKIPPED, None, f"{action}: not sent")]


def _approved(approved: Any) -> set[tuple[str, str, str]]:
    if approved is None:
        return set()
    if isinstance(approved, pl.DataFrame):
        missing = [c for c in ("request_id", "system", "id") if c not in approved.columns]
        if missing:
            raise ValidationError("approved", approved.columns, "rows with request_id, system and id (the review "
                                  "rows of a match frame you approve)")
        return {(str(a), str(b), str(c)) for a, b, c in approved.select("request_id", "system", "id").iter_rows()}
    out = set()
    for entry in approved:
        if not isinstance(entry, Sequence) or len(entry) != 3:
            raise ValidationError("approved", entry, "(request_id, system, id) triples")
        out.add((str(entry[0]), str(entry[1]), str(entry[2])))
    return out


def _with_holders(matches: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """An ENS match also names the Encharge people holding its email (Encharge has no postcode to match on)."""
    enc = records.filter(pl.col("system") == "Encharge").select("id", "email")
    ens = matches.filter((pl.col("system") == "ENS") & pl.col("email").is_not_null())
    extra = ens.join(enc, on="email", suffix="_enc").select(
        "request_id", pl.lit("Encharge").alias("system"), pl.col("id_enc").alias("id"), "email", "band", "score",
        (pl.col("evidence") + pl.lit(" (the Encharge person holding the ENS record's email)")).alias("evidence"))
    out = pl.concat([matches, extra.select(matches.columns)])
    return out.unique(["request_id", "system", "id"], keep="first", maintain_order=True)


def _items(requests: pl.DataFrame, matches: pl.DataFrame, approved: set[tuple[str, str, str]],
           questions: Mapping[str, list[str]], ens_method: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The run's items, and per request what keeps it pending (no item can meet it)."""
    channel = dict(requests.select("request_id", "channel").iter_rows())
    items: list[dict[str, Any]] = []
    waiting: dict[str, str] = {}
    linked = {(r["request_id"], r["id"]): r["evidence"] for r in matches.iter_rows(named=True)
              if r["system"] == "Encharge" and r["evidence"].endswith("holding the ENS record's email)")}
    ens_ok = {(r, e) for r, s, i in approved if s == "ENS"
              for m in matches.filter((pl.col("request_id") == r) & (pl.col("id") == i)).iter_rows(named=True)
              for e in [m["email"]]}
    for m in matches.iter_rows(named=True):
        if (m["request_id"], m["id"]) in linked and (m["request_id"], m["email"]) in ens_ok:
            approved = approved | {(m["request_id"], "Encharge", m["id"])}  # approved with its ENS record
        rid = m["request_id"]
        if m["band"] == "not found":
            continue
        if m["band"] != "exact" and (rid, m["system"], m["id"]) not in approved:
            waiting[rid] = f"a {m['band']} match awaits approval ({m['system']} {m['id']}: {m['evidence']})"
            continue
        wanted = channel[rid]
        base = {"request_id": rid, "id": m["id"], "email": m["email"]}
        if m["system"] == "Encharge":
            if wanted in ("email", "all"):
                items.append({**base, "client": "encharge", "action": "unsubscribe"})
            continue
        asked = [c for c in ("email", "sms", "phone", "post") if wanted in (c, "all")]
        if wanted in ("email", "all") and ens_method == "suppress" and m["email"]:
            items.append({**base, "client": "ens", "action": "suppress", "fallback": list(questions.get("email", []))})
            asked = [c for c in asked if c != "email"]
        names = sorted({q for c in asked for q in questions.get(c, [])})
        lacking = [c for c in asked if not questions.get(c)]
        if names:
            items.append({**base, "client": "ens", "action": "opt-out", "questions": names})
        if lacking and wanted != "all":
            waiting[rid] = (f"the ENS account has no opt-in question for {', '.join(lacking)}: record it there by hand "
                            "(or pass channel_questions=)")
    return items, waiting


@dataclass
class Suppression:
    """What a suppression run did: the requests, their matches, the run, and the figures.

    Attributes:
        requests: the requests given, with ``status``, ``days_left``, ``outcome`` and ``pending_reason``.
        matches: every request's matches (:data:`~enstoolkit.protection.matching.MATCH`).
        run: the journalled run (None when there was nothing to send).
    """

    requests: pl.DataFrame
    matches: pl.DataFrame
    run: BulkRun | None

    def figures(self) -> dict[str, Any]:
        """Matched (exact / review / not found, per request), suppressed per system, deadline status.

        Example:
            >>> empty = pl.DataFrame(schema={"request_id": pl.String, "band": pl.String, "status": pl.String})
            >>> Suppression(empty, empty, None).figures()["deadlines"]
            {'met': 0, 'pending': 0, 'overdue': 0}
        """
        per_request: dict[str, str] = {}
        rank = {"exact": 0, "review": 1, "not found": 2}
        for rid, band in self.matches.select("request_id", "band").iter_rows():
            if rid not in per_request or rank[band] < rank[per_request[rid]]:
                per_request[rid] = band
        matched = {band: sum(1 for b in per_request.values() if b == band) for band in rank}
        done: dict[str, int] = {"ENS": 0, "Encharge": 0}
        if self.run is not None:
            for row in self.run.items().filter(pl.col("state") == ItemState.DONE).iter_rows(named=True):
                done["ENS" if json.loads(row["payload"])["client"] == "ens" else "Encharge"] += 1
        status = self.requests.get_column("status").to_list() if "status" in self.requests.columns else []
        return {"requests": self.requests.height, "matched": matched, "suppressed": done,
                "deadlines": {s: status.count(s) for s in ("met", "pending", "overdue")}}


def suppress(requests: pl.DataFrame, *, ens: ENSClient, encharge: EnchargeClient,
             supporters: pl.DataFrame | None = None,
             people: pl.DataFrame | None = None, approved: Any = None, fuzzy: Fuzzy | str | None = "auto",
             ens_method: str = "suppress", questions: Mapping[str, Iterable[str]] | None = None,
             journal: Journal | None = None, folder: str | Path | None = None, run: bool = True,
             progress: bool | None = None, today: dt.date | None = None) -> Suppression:
    """Meet suppression requests (a frame from :func:`~enstoolkit.protection.requests.load_requests`) in one run.

    Args:
        requests: the requests; every one is kept, whatever happens to it.
        ens: the ENS client.
        encharge: the Encharge client.
        supporters: the ENS supporter file to match against (default: the "All supporters" export, read now).
        people: Encharge's people to match against (default: the list of everyone, read now).
        approved: the ``review`` matches a person approved: ``(request_id, system, id)`` triples, or
            those rows of :attr:`Suppression.matches`.
        fuzzy: the fuzzy band: "auto" (the probable-duplicates scorer where installed, else names at the same
            postcode), "scorer", "names", a function ``(requests, records) -> matches``, or None (exact only).
        ens_method: "suppress" (``PUT /supporter/bulk``) or "opt-out" (email questions answered "N").
        questions: the ENS opt-in questions per channel (default: read from their names).
        journal: the bulk journal.
        folder: the folder of the request store and tombstones. Called
            again with the same requests after an interruption, the unfinished run is carried on
            (nothing sent twice), and the requests it meets are marked met.
        run: False records the run without sending (resume it later).
        today: the day the deadlines are judged by.
    """
    if ens_method not in ("suppress", "opt-out"):
        raise ValidationError("ens_method", ens_method, "'suppress' (PUT /supporter/bulk) or 'opt-out'")
    missing = [c for c in ("request_id", "email", "name", "postcode", "channel", "problem", "duplicate_of",
                           "source", "deadline") if c not in requests.columns]
    if missing:
        raise ValidationError("requests", requests.columns, "a frame from load_requests", detail="missing "
                              + ", ".join(missing))
    chosen = _approved(approved)
    store = RequestStore(folder)
    store.add(requests)
    stones = Tombstones(store.folder, scope=scope_of(ens))
    for (source, channel), group in requests.filter(pl.col("problem").is_null()).group_by(["source", "channel"]):
        if channel in ("email", "all"):  # kept on the suppression list, found or not
            stones.add(group.get_column("email").drop_nulls().to_list(), reason="suppressed", source=str(source),
                       channel=str(channel))
    if supporters is None:
        supporters = ens.export_supporters("All supporters")
    if people is None:
        people = encharge.list_people(progress=False)
    met = store.read().filter(pl.col("met").is_not_null()).get_column("request_id")
    actionable = requests.filter(pl.col("problem").is_null() & pl.col("duplicate_of").is_null()
                                 & ~pl.col("request_id").is_in(met.implode()))  # met before: never sent twice
    records = system_records(supporters, people)
    band = _band(fuzzy, supporters, people)
    matches = _with_holders(match_requests(actionable, records, fuzzy=band), records)
    acted = matches.filter((pl.col("band") == "exact") | pl.struct("request_id", "system", "id").map_elements(
        lambda r: (r["request_id"], r["system"], r["id"]) in chosen, return_dtype=pl.Boolean))
    for email in acted.join(
            actionable.filter(pl.col("channel").is_in(["email", "all"])).select("request_id"), on="request_id"
    ).get_column("email").drop_nulls().to_list():
        stones.add([email], reason="suppressed", source="suppression match", channel="email")
    asked = {c: list(v) for c, v in (questions or {}).items()} if questions is not None else \
        channel_questions(ens.optin_questions())
    items, waiting = _items(actionable, matches, chosen, asked, ens_method)
    bulk = None
    if items:
        keys = [f"{i['request_id']}:{i['client']}:{i['action']}:{i['id']}" for i in items]
        batch = hashlib.sha256(json.dumps(sorted(keys)).encode()).hexdigest()[:16]
        journal = journal or Journal()
        unfinished = journal.runs().filter((pl.col("kind") == "suppress") & (pl.col("status") != "completed")
                                           & (pl.col("params") == json.dumps({"batch": batch})))
        if unfinished.height:  # the same requests' run was interrupted (a killed kernel): carry it on
            bulk = BulkRun(journal, unfinished.item(0, "run_id"), ens=ens, encharge=encharge)
        else:
            bulk = start("suppress", {"batch": batch}, items, keys, journal=journal, ens=ens, encharge=encharge,
                         run=False)
        if run:
            bulk.run(progress=progress)
            if bulk.status != "completed":  # stopped by errors that may pass: a few more passes
                bulk.complete()
    outcome = _outcomes(actionable, matches, bulk, waiting)
    store.mark_met({rid: text for rid, (met, text) in outcome.items() if met}, run_id=bulk.run_id if bulk else None,
                   when=today)
    kept = request_report(store, today=today).select("request_id", "status", "days_left", "met", "outcome")
    report = requests.join(kept, on="request_id", how="left").with_columns(
        pl.col("request_id").replace_strict({k: v for k, (m, v) in outcome.items() if not m}, default=None,
                                            return_dtype=pl.String).alias("pending_reason"))
    return Suppression(report, matches, bulk)


def _band(fuzzy: Fuzzy | str | None, supporters: pl.DataFrame, people: pl.DataFrame | None) -> Fuzzy | None:
    if fuzzy is None or callable(fuzzy):
        return fuzzy
    if fuzzy == "names":
        return fuzzy_band
    if fuzzy == "scorer":
        return scorer_band(supporters, people)
    if fuzzy == "auto":
        try:
            return scorer_band(supporters, people)
        except MissingExtra:
            return fuzzy_band
    raise ValidationError("fuzzy", fuzzy, "'auto', 'scorer', 'names', a function, or None")


def _outcomes(requests: pl.DataFrame, matches: pl.DataFrame, bulk: BulkRun | None,
              waiting: Mapping[str, str]) -> dict[str, tuple[bool, str]]:
    """Per request: (met, what was done or what keeps it pending)."""
    states: dict[str, list[tuple[str, str, str | None]]] = {}
    if bulk is not None:
        for row in bulk.items().iter_rows(named=True):
            payload = json.loads(row["payload"])
            states.setdefault(payload["request_id"], []).append(
                (f"{payload['client']} {payload['action']} {payload['id']}", row["state"], row["error"]))
    bands: dict[str, set[str]] = {}
    for rid, band in matches.select("request_id", "band").iter_rows():
        bands.setdefault(rid, set()).add(band)
    out: dict[str, tuple[bool, str]] = {}
    for rid in requests.get_column("request_id").to_list():
        if rid in waiting:
            out[rid] = (False, waiting[rid])
        elif bands.get(rid) == {"not found"}:
            out[rid] = (True, "not found in either system; kept on the suppression list")
        elif rid in states:
            bad = [f"{what}: {state} ({error})" for what, state, error in states[rid] if state != ItemState.DONE]
            out[rid] = (False, "; ".join(bad)) if bad else (True, "; ".join(w for w, _, _ in states[rid]))
        else:
            out[rid] = (True, "nothing held on this channel in either system")
    return out
