"""Applying a consent plan: checked first, then one journalled, resumable bulk run, each change logged.

:func:`apply_plan` refuses, before anything is sent, a plan holding anything the rules never
propose (a subscribe, an opt-in, a delete, an unknown action or system, an action on the wrong
system), naming the rows. It then records the whole plan as one run of the ``"consent"``
operation in the bulk journal (:mod:`enstoolkit.bulk`: resumable with :func:`enstoolkit.bulk.resume`,
nothing done twice, ENS's hourly budget checked before starting): the unsubscribes go to Encharge
(``POST /people/unsubscribe``), the opt-outs to ENS (``PUT /supporter/{id}`` with the question
answered "N"), and the ``review`` and ``cannot check`` rows are journalled as skipped, never sent.
Each change made is written to the consent change log (:mod:`enstoolkit.sync.changelog`).

Example:
    >>> from enstoolkit.bulk import Journal
    >>> from enstoolkit.sync import consent_plan
    >>> from enstoolkit import ENSClient, EnchargeClient
    >>> from enstoolkit.sandbox import Sandbox
    >>> journal = Journal(folder / "journal.sqlite3")
    >>> with Sandbox(supporters=100) as own, ENSClient(own.ens_api_key, own.ens_url) as ens, \\
    ...         EnchargeClient(own.encharge_api_key, own.encharge_url) as encharge:   # a whole account's plan: its own
    ...     plan = consent_plan(ens.export_supporters("All supporters"), encharge.list_people())
    ...     run = apply_plan(plan, ens=ens, encharge=encharge, journal=journal, by="analyst")
    ...     run.status, sorted(run.counts())
    ('completed', ['done', 'skipped'])
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..bulk import BulkRun, Journal, outcome, register, start
from ..bulk.runner import Progress
from ..errors import ValidationError
from ..inputs.arguments import check_frame, is_valid_email
from ..schemas import ACTIONABLE, ConsentAction, ItemState, Outcome
from ..schemas.frames import read_frame
from ..schemas.results import CONSENT_EVIDENCE, CONSENT_PLAN, CONSENT_RESULT
from .changelog import ChangeLog, changelog_path, operator
from .plan import SYSTEMS

if TYPE_CHECKING:
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = ["DEFAULT_MAX_AGE", "PLAN_COLUMNS", "apply_plan", "check_plan", "execute_change", "plan_results",
           "read_plan"]

#: The columns a plan must hold to be applied.
PLAN_COLUMNS = ("email", "supporterId", "personId", "system", "action", "question", "reason")
#: How old a plan may be when applied: the lists change; an old plan is made again.
DEFAULT_MAX_AGE = dt.timedelta(hours=24)
_TARGET = {ConsentAction.UNSUBSCRIBE: "Encharge", ConsentAction.OPT_OUT: "ENS"}
_SHOWN = 10
_FORMULA = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _supporter_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _problem(row: Mapping[str, Any]) -> str | None:
    """Why a plan row is not one the rules would propose, or None."""
    action, system = row["action"], row["system"]
    actions = [str(a) for a in ConsentAction]
    if action not in actions:
        return (f"action {action!r} is never proposed (a sync only unsubscribes in Encharge, opts out in ENS, or "
                f"leaves a row for review; it never subscribes, opts in or deletes)")
    if system not in SYSTEMS:
        return f"system {system!r} is neither ENS nor Encharge"
    target = _TARGET.get(ConsentAction(action))
    if target is not None and system != target:
        return f"{action!r} is done in {target}, not in {system}"
    if action == ConsentAction.UNSUBSCRIBE and not (_text(row["personId"]) or is_valid_email(_text(row["email"]))):
        return "an unsubscribe without an Encharge id or a valid email"
    if action == ConsentAction.OPT_OUT and (_supporter_id(row["supporterId"]) is None or not _text(row["question"])):
        return "an opt-out without a supporter id and an opt-in question"
    return None


def check_plan(plan: Any) -> pl.DataFrame:
    """``plan`` if every row is one the rules propose; else a ValidationError naming the rows (counted from 1).

    Nothing is sent. Refused: actions other than unsubscribe, opt out, review and cannot check
    (a subscribe, an opt-in, a delete), systems other than ENS and Encharge, an unsubscribe not
    in Encharge or an opt-out not in ENS, and rows without the identifiers their action needs.

    Example:
        >>> plan = pl.DataFrame({"email": ["a@x.org"], "supporterId": [1], "personId": ["p1"],
        ...                      "system": ["Encharge"], "action": ["subscribe"], "question": [None],
        ...                      "reason": ["edited"]})
        >>> try:
        ...     check_plan(plan)
        ... except ValidationError as e:
        ...     print(e.value, e.detail[:53])
        [1] row 1 (a@x.org): action 'subscribe' is never proposed
    """
    plan = check_frame("plan", plan, what="a consent plan (consent_plan or read_plan)")
    absent = [c for c in PLAN_COLUMNS if c not in plan.columns]
    if absent:
        raise ValidationError("plan", plan.columns[:12], "a consent plan with the column(s) " + ", ".join(absent))
    bad: list[int] = []
    told: list[str] = []
    for n, row in enumerate(plan.select(PLAN_COLUMNS).iter_rows(named=True), start=1):
        problem = _problem(row)
        if problem is not None:
            bad.append(n)
            if len(told) < _SHOWN:
                told.append(f"row {n} ({row['email'] or row['personId'] or row['supporterId']}): {problem}")
    if bad:
        more = f"; and {len(bad) - _SHOWN:,} more rows" if len(bad) > _SHOWN else ""
        raise ValidationError("plan", bad[:50], "rows a consent plan proposes (nothing was sent)",
                              detail="; ".join(told) + more)
    checked: pl.DataFrame = plan
    return checked


def read_plan(path: str | Path) -> pl.DataFrame:
    """A plan saved as CSV (by :func:`enstoolkit.records.exports.export_csv`, perhaps edited), typed again.

    The apostrophe the export put before text a spreadsheet would run as a formula is removed.
    A file without the plan's columns raises, naming them.

    Example:
        >>> from enstoolkit.records import export_csv
        >>> plan = pl.DataFrame({c: ["x"] for c in PLAN_COLUMNS}).with_columns(pl.lit(5).alias("supporterId"))
        >>> path = export_csv(plan, folder / "plan.csv")
        >>> read_plan(path).get_column("supporterId").to_list()
        [5]
    """
    source = Path(path)
    if not source.is_file():
        raise ValidationError("path", str(path), "a plan CSV file that exists")
    raw = pl.read_csv(source, infer_schema=False)
    absent = [c for c in PLAN_COLUMNS if c not in raw.columns]
    if absent:
        raise ValidationError("path", raw.columns[:12], "a plan CSV with the column(s) " + ", ".join(absent))
    unquoted = raw.with_columns([
        pl.when(pl.col(c).str.starts_with("'") & pl.col(c).str.slice(0, 2).is_in(list(_FORMULA)))
        .then(pl.col(c).str.slice(1)).otherwise(pl.col(c)).alias(c) for c in raw.columns])
    return read_frame(unquoted.to_dicts(), {c: t for c, t in CONSENT_PLAN.items() if c in raw.columns})


def _plain(value: Any) -> Any:
    """A value as the journal keeps it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _payload(n: int, row: Mapping[str, Any]) -> dict[str, Any]:
    action = str(row["action"])
    system = str(row["system"])
    item: dict[str, Any] = {
        "client": "encharge" if system == "Encharge" else "ens", "row": n, "action": action, "system": system,
        "email": _text(row["email"]), "supporterId": _supporter_id(row["supporterId"]),
        "personId": _text(row["personId"]), "question": _text(row["question"]), "reason": row["reason"],
        "evidence": {k: _plain(row.get(k)) for k in CONSENT_EVIDENCE if row.get(k) is not None},
    }
    if action == ConsentAction.UNSUBSCRIBE:
        item["kind"], item["value"] = ("id", item["personId"]) if item["personId"] else ("email", item["email"])
    return item


def _target(item: Mapping[str, Any]) -> tuple[Any, ...]:
    if item["action"] == ConsentAction.UNSUBSCRIBE:
        return (item["action"], item["kind"], item["value"])
    return (item["action"], item["supporterId"], (item["question"] or "").lower())


def _check_age(plan: pl.DataFrame, max_age: dt.timedelta | None) -> None:
    if max_age is None or "plannedAt" not in plan.columns:
        return
    if not isinstance(max_age, dt.timedelta):
        raise ValidationError("max_age", max_age, "a datetime.timedelta, or None")
    made = plan.get_column("plannedAt").drop_nulls()
    if not made.len() or not isinstance(plan.schema["plannedAt"], pl.Datetime):
        return
    oldest = made.min()
    if isinstance(oldest, dt.datetime) and dt.datetime.now(dt.UTC) - oldest.astimezone(dt.UTC) > max_age:
        raise ValidationError("plan", f"planned at {oldest:%Y-%m-%d %H:%M} UTC",
                              f"a plan made within {max_age}: plan again (both lists may have changed since)")


def _check_questions(items: list[dict[str, Any]], ens: ENSClient) -> None:
    """Every opt-out names an opt-in question of the account (one cached lookup; nothing is changed)."""
    asked = {item["question"] for item in items if item["action"] == ConsentAction.OPT_OUT}
    if not asked:
        return
    known = {q.lower(): q for q in ens.optin_questions()}
    unknown = sorted(q for q in asked if q.lower() not in known)
    if unknown:
        rows = [item["row"] for item in items if item["action"] == ConsentAction.OPT_OUT and item["question"]
                in unknown]
        raise ValidationError("plan", rows[:50],
                              "opt-outs of the account's opt-in questions: " + ", ".join(known.values()),
                              detail="not opt-in questions of this account: " + ", ".join(unknown))
    for item in items:
        if item["action"] == ConsentAction.OPT_OUT:
            item["question"] = known[item["question"].lower()]


def apply_plan(plan: pl.DataFrame, *, ens: ENSClient, encharge: EnchargeClient, journal: Journal | None = None,
               by: str | None = None,
               progress: bool | None = None, on_progress: Progress | None = None, changelog: str | Path | None = None,
               max_age: dt.timedelta | None = DEFAULT_MAX_AGE) -> BulkRun:
    """Carry out a consent plan as one journalled run; returns the :class:`~enstoolkit.bulk.BulkRun`.

    Args:
        plan: a plan from :func:`~enstoolkit.sync.consent_plan` (or :func:`read_plan`), checked by :func:`check_plan`.
        ens: the ENS client (a plan may touch either system: give both).
        encharge: the Encharge client.
        journal: the bulk journal (default: the data folder's); resume with :func:`enstoolkit.bulk.resume`.
        by: who is making the changes, for the change log (default: the OS user).
        progress: whether to show a progress bar.
        on_progress: called as ``on_progress(done, total)``.
        changelog: the change log file (default: ``consent-changes.sqlite3`` beside the journal).
        max_age: refuse a plan older than this (by its ``plannedAt``); None: any age.

    ``review`` and ``cannot check`` rows are journalled as skipped (never sent); so is a row
    repeating an earlier row's change. :func:`plan_results` gives the outcome of every row.

    Example:
        >>> edited = pl.DataFrame({"email": ["a@x.org"], "supporterId": [1], "personId": ["p1"], "system": ["ENS"],
        ...                        "action": ["delete"], "question": [None], "reason": ["by hand"]})
        >>> before = sum(sb.received.values())
        >>> try:
        ...     apply_plan(edited, ens=ens, encharge=encharge)
        ... except ValidationError as e:
        ...     print(e.argument, e.value, sum(sb.received.values()) - before)
        plan [1] 0
    """
    plan = check_plan(plan)
    if plan.height == 0:
        raise ValidationError("plan", "no rows", "a plan with at least one row (there is nothing to apply)")
    who = operator(by)
    _check_age(plan, max_age)
    if ens is None or encharge is None:
        raise ValidationError("ens" if ens is None else "encharge", None,
                              "both clients: ens=ENSClient(...) and encharge=EnchargeClient(...)")
    items = [_payload(n, row) for n, row in enumerate(plan.iter_rows(named=True), start=1)]
    _check_questions(items, ens)
    opt_outs = sum(1 for item in items if item["action"] == ConsentAction.OPT_OUT)
    if opt_outs:  # before anything is journalled: a run that cannot finish within the hour is not started
        ens._ensure_budget(opt_outs + 5, f"a consent sync with {opt_outs:,} ENS opt-outs")
    journal = journal or Journal()
    log = ChangeLog(changelog if changelog is not None else changelog_path(journal))
    plan_id = plan_fingerprint(items, plan)
    params = {"plan_id": plan_id, "changelog": str(log.path), "by": who}
    keys = [item["email"] or str(item["supporterId"] or item["personId"]) for item in items]
    run_id, new = log.claim_plan(plan_id, lambda: start("consent", params, items, keys, journal=journal, ens=ens,
                                                        encharge=encharge, run=False).run_id)
    if not new:  # the same plan, applied already or being applied: its own run, never a second one
        if journal.run(run_id) is None:
            raise ValidationError("journal", str(journal.path), f"the journal of run {run_id}, which this plan was "
                                  f"applied as (see the change log {log.path}): resume that run with it")
        return BulkRun(journal, run_id, ens=ens, encharge=encharge).run(progress=progress, on_progress=on_progress)
    run = BulkRun(journal, run_id, ens=ens, encharge=encharge)
    skipped: dict[str, list[int]] = {}
    first: dict[tuple[Any, ...], int] = {}
    for item in items:
        if item["action"] not in ACTIONABLE:
            skipped.setdefault(f"{item['action']}: for a person to decide; not sent", []).append(item["row"])
        elif _target(item) in first:
            skipped.setdefault(f"the same change as row {first[_target(item)]}; not sent again", []).append(item["row"])
        else:
            first[_target(item)] = item["row"]
    for error, seqs in skipped.items():
        journal.mark(run.run_id, seqs, ItemState.SKIPPED, error=error)
    return run.run(progress=progress, on_progress=on_progress)


def plan_fingerprint(items: list[dict[str, Any]], plan: pl.DataFrame) -> str:
    """The plan's identity: its rows and when it was made. Applying the same plan again (or at the same
    moment, from another process) continues its one run instead of starting a second.

    Example:
        >>> plan_fingerprint([{"row": 1, "action": "unsubscribe"}], pl.DataFrame({"plannedAt": [None]}))[:12]
        'plan-9625e54'
    """
    planned = plan.get_column("plannedAt").cast(pl.String).to_list() if "plannedAt" in plan.columns else []
    text = json.dumps([items, planned], sort_keys=True, default=str)
    return "plan-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _server_now(client: Any) -> dt.datetime:
    """Now on the server's clock (its answers' Date), else this machine's; UTC."""
    bounds = client.server_clock.now_ms() if hasattr(client, "server_clock") else None
    millis = bounds[0] if bounds is not None else int(time.time() * 1000)
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


@register("consent", "both", idempotent=True)
def _consent(clients: Any, params: Mapping[str, Any], payloads: list[dict[str, Any]],
             card: Any) -> list[tuple[str, Any, str | None]]:
    """The bulk operation "consent" (registered here; :mod:`enstoolkit.bulk` loads this module for such a run)."""
    return [execute_change(clients, params, payloads[0])]


def execute_change(clients: Any, params: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[str, Any, str | None]:
    """Make one planned change (the ``"consent"`` bulk operation's step) and log it; the item's outcome.

    An unsubscribe goes to Encharge, an opt-out to ENS (the question answered "N"); anything
    else is not sent. Errors are raised for the bulk runner to classify (a lost answer is sent
    again: both requests are idempotent; the change log keeps one row per plan row).

    Example:
        >>> execute_change(None, {}, {"action": "review"})
        ('skipped', None, 'review: not sent')
    """
    action = item.get("action")
    if action == ConsentAction.UNSUBSCRIBE:
        client = clients.encharge
        client.unsubscribe({item["kind"]: item["value"]})
    elif action == ConsentAction.OPT_OUT:
        client = clients.ens
        client.update_supporter(item["supporterId"], {"questions": {item["question"]: "N"}})
    else:
        return (str(ItemState.SKIPPED), None, f"{action}: not sent")
    when = _server_now(client)
    ChangeLog(params["changelog"]).record(params["plan_id"], item, by=params["by"], when=when)
    return (str(ItemState.DONE), {"changedAt": when.isoformat()}, None)


def plan_results(run: BulkRun) -> pl.DataFrame:
    """One row per plan row of a consent run: its ``status`` (an :class:`~enstoolkit.schemas.Outcome`) and why.

    "done", "skipped" (review and cannot-check rows, and repeats; ``error`` says which),
    "failed" or "not found" (with the API's message), "not attempted" (the run stopped first:
    resume it).

    Example:
        >>> plan = pl.DataFrame({"email": ["nobody@example.org"], "supporterId": [None], "personId": [None],
        ...                      "system": ["Encharge"], "action": ["unsubscribe"], "question": [None],
        ...                      "reason": ["a test"]})
        >>> journal = Journal(folder / "journal.sqlite3")
        >>> run = apply_plan(plan, ens=ens, encharge=encharge, journal=journal)
        >>> plan_results(run).select("status", "error").row(0)
        ('not found', 'Person not found.')
    """
    if not isinstance(run, BulkRun) or run.kind != "consent":
        raise ValidationError("run", type(run).__name__, "a consent run (apply_plan's BulkRun)")
    rows = []
    for item in run.items().iter_rows(named=True):
        payload = json.loads(item["payload"])
        status = str(outcome(item["state"]))
        error = item["error"] if status != Outcome.DONE else None
        if status == Outcome.NOT_ATTEMPTED:
            error = run.note or "the run stopped first: resume it"
        rows.append({"row": payload.get("row"), "email": payload.get("email"),
                     "supporterId": payload.get("supporterId"), "personId": payload.get("personId"),
                     "system": payload.get("system"), "action": payload.get("action"),
                     "question": payload.get("question"), "status": status, "error": error,
                     "reason": payload.get("reason"), "run_id": run.run_id, "seq": item["seq"]})
    return read_frame(rows, CONSENT_RESULT)
