"""A retention policy, read from a TOML file and evaluated on real activity dates, with a reason per person.

The policy (every key optional; these are the defaults)::

    [inactivity]
    years = 7                                 # erase after this long without activity ...
    activity = ["action", "gift", "email"]    # ... of these kinds (joining counts as activity too)

    [recurring]
    keep_active = true                        # never erase someone with an active recurring gift

    [gift_aid]
    years = 6                                 # keep anyone with a gift in the last 6 years (Gift Aid records)

Activity dates are the real ones, never ``modifiedOn`` (which any import or sync moves):
"action" is an ENS transaction of a page that is not a gift or an email (data capture,
petitions, advocacy, events; a transaction type of unknown kind counts too, so it keeps the person),
"gift" a donation (by :mod:`enstoolkit.ens.transaction_types`), "email" Encharge's ``lastActivity``
(opens, clicks, visits; an email *sent* to a person is not their activity). A person is proposed
for erasure only when every rule says so; anything that cannot be told (a recurring status not
checked, no date at all) keeps them, with the reason saying what is unknown.

Example:
    >>> policy = load_policy(text="[inactivity]\\nyears = 2\\n[gift_aid]\\nyears = 2\\n")
    >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["old@x.org", "new@x.org"],
    ...                     "createdOn": [dt.date(2020, 1, 1), dt.date(2026, 1, 1)]})
    >>> preview = retention_preview(policy, supporters=ens, today=dt.date(2026, 10, 1))
    >>> preview.select("email", "decision").rows()
    [('old@x.org', 'erase'), ('new@x.org', 'keep')]
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import ValidationError
from ..inputs.people_args import email_key, find_email_column

if TYPE_CHECKING:
    from ..ens import ENSClient

__all__ = ["ACTIVITY_KINDS", "PREVIEW", "Policy", "load_policy", "retention_counts", "retention_preview"]

ACTIVITY_KINDS = ("action", "gift", "email")
#: The columns of a retention preview.
PREVIEW: dict[str, pl.DataType] = {
    "email": pl.String(), "supporterId": pl.Int64(), "personId": pl.String(), "joined": pl.Date(),
    "lastAction": pl.Date(), "lastGift": pl.Date(), "lastEmail": pl.Date(), "activeRecurring": pl.Boolean(),
    "decision": pl.String(), "reason": pl.String(),
}
_GIFT_KINDS = ("donation", "peer-to-peer donation")


@dataclass(frozen=True)
class Policy:
    """A retention policy (see the module's description for the file).

    Example:
        >>> Policy().inactivity_years, Policy().gift_aid_years
        (7, 6)
    """

    inactivity_years: int = 7
    activity: tuple[str, ...] = ACTIVITY_KINDS
    keep_active_recurring: bool = True
    gift_aid_years: int | None = 6
    source: str = "defaults"


def _years(section: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
        raise ValidationError(f"[{section}] years", value, "a whole number of years from 1 to 100")
    return value


def load_policy(path: str | Path | None = None, *, text: str | None = None) -> Policy:
    """Read a policy file (TOML); unknown sections or keys are refused, naming them.

    Example:
        >>> load_policy(text="[inactivity]\\nyears = 5\\nactivity = ['gift']\\n").activity
        ('gift',)
    """
    if (path is None) == (text is None):
        raise ValidationError("path/text", (path, text), "exactly one of a policy file's path or its text")
    try:
        data = tomllib.loads(text if text is not None else Path(path).read_text(encoding="utf-8"))  # type: ignore[arg-type]
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("policy", str(path or "text"), "a TOML file", detail=str(exc)) from exc
    known = {"inactivity": {"years", "activity"}, "recurring": {"keep_active"}, "gift_aid": {"years"}}
    for section, body in data.items():
        if section not in known or not isinstance(body, Mapping):
            raise ValidationError("policy", section, "sections " + ", ".join(f"[{s}]" for s in known))
        extra = sorted(set(body) - known[section])
        if extra:
            raise ValidationError(f"[{section}]", extra, "keys " + ", ".join(sorted(known[section])))
    inactivity = data.get("inactivity", {})
    activity = tuple(inactivity.get("activity", ACTIVITY_KINDS))
    bad = [a for a in activity if a not in ACTIVITY_KINDS]
    if bad or not activity:
        raise ValidationError("[inactivity] activity", list(activity), "some of " + ", ".join(ACTIVITY_KINDS))
    keep = data.get("recurring", {}).get("keep_active", True)
    if not isinstance(keep, bool):
        raise ValidationError("[recurring] keep_active", keep, "true or false")
    gift_aid = data.get("gift_aid", {})
    return Policy(inactivity_years=_years("inactivity", inactivity.get("years", 7)) or 7, activity=activity,
                  keep_active_recurring=keep,
                  gift_aid_years=_years("gift_aid", gift_aid.get("years", 6), allow_none=True),
                  source=str(path) if path is not None else "text")


def _ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _latest(transactions: pl.DataFrame | None, gifts: bool) -> dict[int, dt.date]:
    if transactions is None or transactions.height == 0:
        return {}
    for column in ("supporterId", "type", "createdDate"):
        if column not in transactions.columns:
            raise ValidationError("transactions", transactions.columns, "a transaction export (export_transactions) "
                                  "with supporterId, type and createdDate")
    from ..ens.transaction_types import is_page_submission, type_kind

    codes = transactions.get_column("type").drop_nulls().unique().to_list()
    gift_codes = [c for c in codes if type_kind(c) in _GIFT_KINDS]
    # an action: a page submission that is not a gift; a code of unknown kind counts too (it keeps the person)
    action_codes = [c for c in codes if c not in gift_codes and is_page_submission(c) is not False]
    kind = pl.col("type").is_in(gift_codes if gifts else action_codes)
    frame = (transactions.filter(kind & pl.col("createdDate").is_not_null())
             .group_by("supporterId").agg(pl.col("createdDate").max().dt.date().alias("last")))
    return dict(frame.iter_rows())


def retention_preview(policy: Policy, *, supporters: pl.DataFrame | None = None,
                      transactions: pl.DataFrame | None = None, people: pl.DataFrame | None = None,
                      ens: ENSClient | None = None, today: dt.date | None = None) -> pl.DataFrame:
    """Every person with a decision (``erase`` or ``keep``) and the reason (:data:`PREVIEW`).

    Args:
        policy: from :func:`load_policy`.
        supporters: ENS supporters (``supporterId``, an email column, ``createdOn``).
        transactions: ENS transactions of those supporters (``export_transactions``).
        people: Encharge people (``id``, ``email``, ``createdAt``, ``lastActivity``).
        ens: an ENS client, to check the recurring schedules of donors proposed for erasure
            (without it, a donor's recurring status is unknown and they are kept).
        today: the day the policy is judged on (default: today, UTC).
    """
    today = today or dt.datetime.now(dt.UTC).date()
    cutoff = _ago(today, policy.inactivity_years)
    aid_cutoff = _ago(today, policy.gift_aid_years) if policy.gift_aid_years else None
    actions, gifts = _latest(transactions, gifts=False), _latest(transactions, gifts=True)
    people_by: dict[str, dict[str, Any]] = {}
    if people is not None:
        for row in people.iter_rows(named=True):
            if row.get("email"):
                people_by.setdefault(email_key(row["email"]), row)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    if supporters is not None:
        column = find_email_column(supporters.columns, argument="supporters")
        if "createdOn" not in supporters.columns:
            raise ValidationError("supporters", supporters.columns, "an ENS supporter file with createdOn")
        for rec in supporters.iter_rows(named=True):
            key = email_key(rec[column])
            person = people_by.get(key) if key else None
            seen.add(key)
            rows.append(_row(key or None, rec["supporterId"], person, rec["createdOn"], actions.get(rec["supporterId"]),
                             gifts.get(rec["supporterId"])))
    for key, person in people_by.items():
        if key not in seen:
            rows.append(_row(key, None, person, None, None, None))
    for row in rows:
        _decide(row, policy, cutoff, aid_cutoff, ens)
    return pl.DataFrame(rows, schema=PREVIEW) if rows else pl.DataFrame(schema=PREVIEW)


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _row(key: str | None, sid: Any, person: Mapping[str, Any] | None, joined: Any, action: dt.date | None,
         gift: dt.date | None) -> dict[str, Any]:
    joined_day = _day(joined)
    if person is not None and _day(person.get("createdAt")):
        created = _day(person.get("createdAt"))
        joined_day = min(d for d in (joined_day, created) if d is not None)
    return {"email": key, "supporterId": sid, "personId": person.get("id") if person else None, "joined": joined_day,
            "lastAction": action, "lastGift": gift, "lastEmail": _day(person.get("lastActivity")) if person else None,
            "activeRecurring": None, "decision": "keep", "reason": ""}


def _decide(row: dict[str, Any], policy: Policy, cutoff: dt.date, aid_cutoff: dt.date | None,
            ens: ENSClient | None) -> None:
    dated = {"action": row["lastAction"], "gift": row["lastGift"], "email": row["lastEmail"]}
    recent = {k: v for k, v in dated.items() if k in policy.activity and v is not None and v >= cutoff}
    if row["joined"] is not None and row["joined"] >= cutoff:
        recent["joined"] = row["joined"]
    if recent:
        what, when = max(recent.items(), key=lambda kv: kv[1])
        row["reason"] = f"{what} on {when.isoformat()}, within {policy.inactivity_years} years"
        return
    if row["joined"] is None and not any(dated.values()):
        row["reason"] = "no activity date at all: cannot tell how old the record is"
        return
    if aid_cutoff is not None and row["lastGift"] is not None and row["lastGift"] >= aid_cutoff:
        row["reason"] = (f"gift on {row['lastGift'].isoformat()}: Gift Aid records are kept "
                         f"{policy.gift_aid_years} years")
        return
    if policy.keep_active_recurring and row["lastGift"] is not None:
        if ens is None or row["supporterId"] is None:
            row["reason"] = "a donor whose recurring gifts were not checked (pass ens=): kept"
            return
        schedules = ens.get_recurring(row["supporterId"])
        active = schedules.filter(pl.col("status").str.to_uppercase() == "ACTIVE").height > 0
        row["activeRecurring"] = active
        if active:
            row["reason"] = "an active recurring gift"
            return
    last = max(d for d in (*dated.values(), row["joined"]) if d is not None)
    row["decision"] = "erase"
    row["reason"] = (f"no {', '.join(policy.activity)} activity since {last.isoformat()} (more than "
                     f"{policy.inactivity_years} years)" + ("; no active recurring gift"
                                                            if row["activeRecurring"] is False else ""))


def retention_counts(preview: pl.DataFrame) -> dict[str, int]:
    """How many people a preview keeps and erases, and erases per system.

    Example:
        >>> retention_counts(pl.DataFrame({"decision": ["keep", "erase"], "supporterId": [1, 2],
        ...                                "personId": [None, "p"]}))
        {'people': 2, 'keep': 1, 'erase': 1, 'erase_ens': 1, 'erase_encharge': 1}
    """
    erase = preview.filter(pl.col("decision") == "erase")
    return {"people": preview.height, "keep": preview.height - erase.height, "erase": erase.height,
            "erase_ens": erase.get_column("supporterId").drop_nulls().len(),
            "erase_encharge": erase.get_column("personId").drop_nulls().len()}
