"""The consent sync's plan: what to change so that ENS and Encharge agree on consent, and why.

:func:`consent_plan` compares the ENS supporter file (:meth:`ENSClient.export_supporters
<enstoolkit.ens.ENSClient.export_supporters>`: opt-in answers "Y"/"N"/"P" with their
``"<question> Date"``, and ``suppressed``) with Encharge's people (:meth:`EnchargeClient.list_people
<enstoolkit.encharge.EnchargeClient.list_people>`: ``unsubscribed`` and its ``statusSource``), matched
by email (trimmed and lowercased, the one rule of :mod:`enstoolkit.inputs.people_args`). It sends nothing.

The rules, for each email in both lists (``optins`` are the opt-in questions that govern the
email Encharge sends; Encharge's unsubscribe is from all email):

1. ENS says no (a listed opt-in answered "N", or the supporter is suppressed) but Encharge is
   subscribed: **unsubscribe** in Encharge. When Encharge gives no status for the person, the
   unsubscribe is proposed too: it is safe and idempotent (it changes nothing for someone already
   unsubscribed), and leaving a possibly subscribed person who said no is the breach to avoid.
2. Encharge unsubscribed, ENS opted in ("Y"): **opt out** in ENS (the question answered "N") only
   when Encharge's unsubscribe is known to be newer than the ENS answer: its date
   (``unsubscribedAt``, when the people frame carries one) falls on a later day than the
   ``"<question> Date"``. Otherwise **review**, with both dates: which came last cannot be told.
   Only where ENS says no for none of the email's records: an Encharge unsubscribe agrees with a
   suppression, or with an "N" to any listed opt-in, whatever else the records answered.
3. ENS opted in ("Y"), and no "N" nor suppression for the email, but Encharge gives no status:
   **cannot check** (never counted as agreeing).
4. Erased from Encharge through the toolkit but still in ENS: **review** (deleting in ENS is never
   automatic).
5. Several ENS records share the email and disagree (one "Y", another "N" to the same question):
   **review** of each, to merge them in ENS first (unless one is suppressed: rule 1).
6. With ``duplicates`` (:func:`enstoolkit.analysis.probable_duplicates`): for each pair in the "high"
   band whose two records disagree, **review** of the record that would still be mailed: an opt-out
   (or suppression, or Encharge unsubscribe) on either record wins. Only ever towards no.
7. **Never subscribe or opt anyone in**: re-consent needs the person, not a sync. A pending double
   opt-in ("P") is not an answer to act on either way; nor is no answer.
8. With ``tombstones`` (:class:`enstoolkit.protection.Tombstones`): an address erased or suppressed on
   request that is back (a form, an import) subscribed in Encharge is **unsubscribed**, and opted in
   ("Y") in ENS is **opted out**, whatever the other rules say.

Example:
    >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"],
    ...                     "suppressed": [False, False], "Marketing Optin": ["N", "Y"],
    ...                     "Marketing Optin Date": [dt.date(2026, 1, 5), dt.date(2026, 1, 5)]})
    >>> enc = pl.DataFrame({"id": ["p1", "p2"], "email": ["A@x.org", "b@x.org"], "unsubscribed": [False, True]})
    >>> consent_plan(ens, enc).select("email", "system", "action").rows()
    [('a@x.org', 'Encharge', 'unsubscribe'), ('b@x.org', 'ENS', 'review')]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from ..analysis.answers import answer
from ..errors import ValidationError
from ..inputs.arguments import blank_columns, check_frame, text_flags
from ..inputs.people_args import email_key_expr, find_email_column, listed
from ..schemas import ACTIONABLE, ConsentAction, StatusSource
from ..schemas.ens import UTC_MS
from ..schemas.frames import parse_temporal, read_frame
from ..schemas.results import CONSENT_PLAN

__all__ = ["ACTION_ORDER", "DEFAULT_OPTINS", "SYSTEMS", "UNSUBSCRIBED_AT", "actionable", "by_action",
           "change_summary", "check_optins", "consent_plan", "plan_counts", "plan_summary"]

DEFAULT_OPTINS = ("Marketing Optin",)
#: The systems a plan row acts on (or asks about).
SYSTEMS = ("ENS", "Encharge")
#: The column of a people frame holding when the person unsubscribed in Encharge (when known).
UNSUBSCRIBED_AT = "unsubscribedAt"
#: The actions in the order plans and counts show them.
ACTION_ORDER = tuple(ConsentAction)
_SHOWN = 8


def _require(argument: str, frame: Any, columns: Sequence[str], what: str) -> pl.DataFrame:
    """``frame`` as a DataFrame holding ``columns``; a ValidationError naming the missing ones otherwise."""
    frame = check_frame(argument, frame, what=what)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        shown = ", ".join(repr(c) for c in absent[:_SHOWN]) + (f" and {len(absent) - _SHOWN:,} more"
                                                                 if len(absent) > _SHOWN else "")
        raise ValidationError(argument, frame.columns[:12], f"{what} with the column(s) {shown}")
    checked: pl.DataFrame = frame
    return checked


def check_optins(optins: Any) -> list[str]:
    """The opt-in question names: one name, or a list of names (each once, in order).

    Example:
        >>> check_optins("Marketing Optin"), check_optins(["A", "B", "A"])
        (['Marketing Optin'], ['A', 'B'])
    """
    items = [optins] if isinstance(optins, str) else listed(optins, argument="optins")
    bad = [q for q in items if not isinstance(q, str) or not q.strip()]
    if bad or not items:
        raise ValidationError("optins", bad[:_SHOWN] if bad else items, "opt-in question names, such as "
                              "['Marketing Optin'] (the export's columns)")
    return list(dict.fromkeys(items))


def _flag(frame: pl.DataFrame, column: str, argument: str) -> pl.Expr:
    """A true/false column (Boolean, or text such as "true"/"false"); unknown text raises, naming it."""
    dtype = frame.schema[column]
    if dtype in (pl.Boolean, pl.Null):
        return pl.col(column).cast(pl.Boolean)
    if dtype != pl.String:
        raise ValidationError(argument, f"{column!r} of {dtype}", f"a {column!r} column of true/false values")
    return text_flags(frame, column, argument)


def _temporal(frame: pl.DataFrame, column: str, dtype: pl.DataType, argument: str) -> pl.Series:
    """A date or moment column as ``dtype`` (Date, or Datetime in UTC); text is parsed, anything else raises."""
    series = frame.get_column(column)
    if series.dtype == pl.Null:
        return pl.Series(column, [None] * frame.height, dtype=dtype)
    if isinstance(series.dtype, pl.Datetime):
        moment = series.dt.replace_time_zone("UTC") if series.dtype.time_zone is None else series
        moment = moment.dt.convert_time_zone("UTC").dt.cast_time_unit("ms")
        return moment.dt.date() if dtype == pl.Date else moment
    if series.dtype == pl.Date:
        return series if dtype == pl.Date else series.cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    if series.dtype == pl.String:
        try:
            return parse_temporal(series, dtype, column)
        except Exception as exc:  # the parser names the value it could not read
            raise ValidationError(argument, f"{column!r}: {exc}", f"dates in {column!r}") from None
    raise ValidationError(argument, f"{column!r} of {series.dtype}", f"dates in {column!r}")


def _refuse_blank(supporters: pl.DataFrame, names: Sequence[str]) -> None:
    """A ValidationError for columns without a value in any row: an empty column did not come through; taken
    as "nobody", it would propose nothing."""
    blank = blank_columns(supporters, names)
    if blank:
        raise ValidationError("supporters", blank, f"columns with values (each is empty in all {supporters.height:,} "
                                                   "rows: check the export's columns in ENS, or the column mapping)")


def _supporter_records(supporters: pl.DataFrame, optins: list[str], email_column: str | None) -> list[dict[str, Any]]:
    """One dict per ENS record with an email: key, id, suppressed, and (answer, date) per opt-in."""
    email = find_email_column(supporters.columns, preferred=email_column, argument="supporters")
    if supporters.schema[email] not in (pl.String, pl.Null):
        raise ValidationError("supporters", f"{email!r} of {supporters.schema[email]}", "an email column of text")
    try:
        ids = supporters.get_column("supporterId").cast(pl.Int64)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
        raise ValidationError("supporters", "supporterId", "supporter ids as whole numbers") from None
    frame = supporters.select(
        ids.alias("supporterId"), email_key_expr(email).alias("key"),
        _flag(supporters, "suppressed", "supporters").fill_null(False).alias("suppressed"),
        *[answer(supporters, q).alias(f"a{i}") for i, q in enumerate(optins)],
    ).with_columns([_temporal(supporters, f"{q} Date", pl.Date(), "supporters").alias(f"d{i}")
                    for i, q in enumerate(optins)])
    return frame.filter(pl.col("key").is_not_null() & (pl.col("key") != "")).to_dicts()


def _encharge_people(people: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Encharge people by email key (every one of each, in the frame's order): id, status, its source, when
    they unsubscribed."""
    if people.schema["email"] not in (pl.String, pl.Null):
        raise ValidationError("people", f"'email' of {people.schema['email']}", "an email column of text")
    status = _flag(people, "unsubscribed", "people")
    source = (pl.col("statusSource").cast(pl.String) if "statusSource" in people.columns
              else pl.when(status.is_null()).then(pl.lit(str(StatusSource.UNKNOWN))).otherwise(
                  pl.lit(str(StatusSource.FIELD))))
    at = (_temporal(people, UNSUBSCRIBED_AT, UTC_MS, "people") if UNSUBSCRIBED_AT in people.columns
          else pl.Series(UNSUBSCRIBED_AT, [None] * people.height, dtype=UTC_MS))
    frame = people.select(email_key_expr("email").alias("key"), pl.col("id").cast(pl.String).alias("personId"),
                          status.alias("unsubscribed"), source.alias("statusSource")).with_columns(
        at.alias("unsubscribedAt"))
    frame = frame.filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.unique(maintain_order=True).to_dicts():
        out.setdefault(row["key"], []).append(row)
    return out


def _erased(erasures: Any) -> dict[str, dt.datetime]:
    """The latest recorded erasure per email key (pending ones, not yet confirmed, are not erasures yet)."""
    if erasures is None:
        return {}
    frame = _require("erasures", erasures, ("email", "erasedAt"), "a frame of erasures (read_erasures)")
    if "pending" in frame.columns and frame.schema["pending"] == pl.Boolean:
        frame = frame.filter(~pl.col("pending").fill_null(False))
    when = _temporal(frame, "erasedAt", UTC_MS, "erasures")
    keyed = frame.select(email_key_expr("email").alias("key")).with_columns(when.alias("erasedAt"))
    out: dict[str, dt.datetime] = {}
    for key, moment in keyed.filter(pl.col("key").is_not_null()).iter_rows():
        if moment is not None and (key not in out or moment > out[key]):
            out[key] = moment
    return out


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "date unknown"
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, dt.datetime) else value.isoformat()


def _encharge_state(person: Mapping[str, Any]) -> str:
    status, source = person["unsubscribed"], person["statusSource"] or str(StatusSource.UNKNOWN)
    note = "" if source == StatusSource.FIELD else f" (status: {source})"
    if status is None:
        return f"Encharge gives no subscription status ({source})"
    return ("Encharge unsubscribed" if status else "Encharge subscribed") + note


class _Rows:
    """The plan's rows as they are found."""

    def __init__(self, optins: list[str], erased: Mapping[str, dt.datetime], planned_at: dt.datetime) -> None:
        self.optins = optins
        self.erased = erased
        self.planned_at = planned_at
        self.rows: list[dict[str, Any]] = []

    def add(self, key: str, system: str, action: ConsentAction, reason: str, record: Mapping[str, Any] | None,
            person: Mapping[str, Any] | None, question: int | None) -> None:
        self.rows.append({
            "email": key, "supporterId": record["supporterId"] if record else None,
            "personId": person["personId"] if person else None, "system": system, "action": str(action),
            "question": self.optins[question] if question is not None else None, "reason": reason,
            "ensAnswer": record[f"a{question}"] if record and question is not None else None,
            "ensAnswerDate": record[f"d{question}"] if record and question is not None else None,
            "suppressed": record["suppressed"] if record else None,
            "enchargeUnsubscribed": person["unsubscribed"] if person else None,
            "statusSource": person["statusSource"] if person else None,
            "unsubscribedAt": person["unsubscribedAt"] if person else None,
            "erasedAt": self.erased.get(key), "plannedAt": self.planned_at,
        })


def _disagreements(records: list[dict[str, Any]], optins: list[str]) -> list[int]:
    """The opt-ins on which several records of one email disagree ("Y" on one, "N" on another)."""
    if len(records) < 2:
        return []
    return [i for i in range(len(optins)) if {"Y", "N"} <= {r[f"a{i}"] for r in records}]


def _answer_text(optin: str, record: Mapping[str, Any], i: int) -> str:
    return f"ENS {optin}: {record[f'a{i}']} ({_day(record[f'd{i}'])}) on supporter {record['supporterId']}"


def _person_rules(out: _Rows, key: str, records: list[dict[str, Any]], person: dict[str, Any], *,
                  ens_side: bool = True) -> None:
    """Rules 1, 2, 3 and 5 for one email found in both systems; ``ens_side=False`` leaves out the rows about
    the ENS records (made once per email when several Encharge people share it)."""
    optins = out.optins
    split = _disagreements(records, optins)
    suppressed = [r for r in records if r["suppressed"]]
    if split and not suppressed and ens_side:
        i = split[0]
        told = "; ".join(f"{r['supporterId']} {r[f'a{i}'] or 'no answer'} ({_day(r[f'd{i}'])})" for r in records)
        reason = (f"{len(records)} ENS records share this email and disagree on {optins[i]}: {told}; merge them in "
                  f"ENS, then plan again")
        for record in records:
            out.add(key, "ENS", ConsentAction.REVIEW, reason, record, person, i)
    noes = [(r, i) for r in records for i in range(len(optins)) if r[f"a{i}"] == "N" and i not in split]
    if suppressed or noes:  # ENS says no for this address: Encharge must not mail it
        if person["unsubscribed"] is not True:
            record, which = (suppressed[0], None) if suppressed else noes[0]
            said = (f"ENS: supporter {record['supporterId']} is suppressed" if which is None
                    else _answer_text(optins[which], record, which))
            safe = "; unsubscribing is safe either way" if person["unsubscribed"] is None else ""
            out.add(key, "Encharge", ConsentAction.UNSUBSCRIBE, f"{said}; {_encharge_state(person)}{safe}", record,
                    person, which)
        return  # an Encharge unsubscribe agrees with it, whatever else the records answered
    if not ens_side:
        return
    for record in records:
        for i, optin in enumerate(optins):
            if record[f"a{i}"] != "Y" or i in split:
                continue
            said = _answer_text(optin, record, i)
            if person["unsubscribed"] is None:
                out.add(key, "Encharge", ConsentAction.CANNOT_CHECK,
                        f"{said}; {_encharge_state(person)}: whether they unsubscribed cannot be checked", record,
                        person, i)
            elif person["unsubscribed"]:
                _unsubscribed_but_opted_in(out, key, record, person, i, said)


def _people_rules(out: _Rows, key: str, records: list[dict[str, Any]], people: list[dict[str, Any]]) -> None:
    """The rules for one email that one or more Encharge people hold.

    Every Encharge person of the email is unsubscribed where ENS says no (one row each). The ENS
    side is decided once: from the first person when they all give the same status, else, for each
    "Y" answer, a review row naming them (which of them speaks for the person cannot be told).
    """
    if len(people) == 1:
        _person_rules(out, key, records, people[0])
        return
    statuses = {person["unsubscribed"] for person in people}
    for n, person in enumerate(people):
        _person_rules(out, key, records, person, ens_side=n == 0 and len(statuses) == 1)
    if len(statuses) == 1:
        return
    split = _disagreements(records, out.optins)
    if any(r["suppressed"] for r in records) or any(r[f"a{i}"] == "N" for r in records
                                                    for i in range(len(out.optins)) if i not in split):
        return  # ENS says no: the unsubscribes above settle it
    told = ", ".join(f"{p['personId']} {_encharge_state(p).removeprefix('Encharge ')}" for p in people)
    first = next((p for p in people if p["unsubscribed"]), people[0])
    for record in records:
        for i, optin in enumerate(out.optins):
            if record[f"a{i}"] == "Y" and i not in split:
                out.add(key, "ENS", ConsentAction.REVIEW,
                        f"{_answer_text(optin, record, i)}; {len(people)} Encharge people share this email and differ: "
                        f"{told}; merge them in Encharge, then plan again", record, first, i)


def _unsubscribed_but_opted_in(out: _Rows, key: str, record: dict[str, Any], person: dict[str, Any], i: int,
                               said: str) -> None:
    """Rule 2: opt out in ENS only when Encharge's unsubscribe is known to be newer than the ENS answer."""
    at, answered = person["unsubscribedAt"], record[f"d{i}"]
    if at is not None and answered is not None and at.date() > answered:
        out.add(key, "ENS", ConsentAction.OPT_OUT,
                f"Encharge unsubscribed on {_day(at)}, after the {said}", record, person, i)
        return
    if at is None:
        why = "Encharge unsubscribed (date unknown)"
    elif answered is None:
        why = f"Encharge unsubscribed on {_day(at)}"
    else:
        why = f"Encharge unsubscribed on {_day(at)}, not after the ENS answer's day"
    out.add(key, "ENS", ConsentAction.REVIEW, f"{why}; {said}: which came last cannot be told", record, person, i)


def _tombstone_rules(out: _Rows, tombstones: Any, records: list[dict[str, Any]],
                     persons: Mapping[str, list[dict[str, Any]]]) -> None:
    """Rule 8: an erased or suppressed address back subscribed or opted in is unsubscribed and opted out."""
    keys = sorted(set(persons) | {r["key"] for r in records})
    hit = {k for k, flag in zip(keys, tombstones.hits(keys), strict=True) if flag}
    if not hit:
        return
    said = "an erased or suppressed address (tombstone) is back"
    have = {(r["personId"], r["supporterId"], r["action"], r["question"]) for r in out.rows}
    for key in sorted(hit):
        for person in persons.get(key, []):
            if person["unsubscribed"] is not True and not any(
                    p == person["personId"] and a == str(ConsentAction.UNSUBSCRIBE) for p, _, a, _ in have):
                out.add(key, "Encharge", ConsentAction.UNSUBSCRIBE, f"{said}: {_encharge_state(person)}", None,
                        person, None)
        for record in (r for r in records if r["key"] == key):
            for i, optin in enumerate(out.optins):
                if record[f"a{i}"] == "Y" and (None, record["supporterId"], str(ConsentAction.OPT_OUT), optin) \
                        not in {(None, s, a, q) for _, s, a, q in have}:
                    out.add(key, "ENS", ConsentAction.OPT_OUT, f"{said}: {_answer_text(optin, record, i)}", record,
                            None, i)


def _says_no(out: _Rows, record: Mapping[str, Any]) -> str | None:
    """Why the ENS record says no to email (suppressed, or an opt-in answered "N"), or None."""
    if record["suppressed"]:
        return f"supporter {record['supporterId']} is suppressed"
    for i, optin in enumerate(out.optins):
        if record[f"a{i}"] == "N":
            return f"supporter {record['supporterId']} answered N to {optin} ({_day(record[f'd{i}'])})"
    return None


def _duplicate_rules(out: _Rows, duplicates: pl.DataFrame, records: list[dict[str, Any]],
                     persons: Mapping[str, list[dict[str, Any]]]) -> None:
    """Rule 6: review rows for "high" duplicate pairs whose records disagree; the opt-out on either wins."""
    pairs = _require("duplicates", duplicates, ("system_1", "id_1", "system_2", "id_2", "band", "evidence"),
                     "pairs from probable_duplicates")
    by_id = {str(r["supporterId"]): r for r in records}
    people = {p["personId"]: (key, p) for key, group in persons.items() for p in group}
    for row in pairs.filter(pl.col("band") == "high").iter_rows(named=True):
        sides: list[tuple[str, Any]] = []
        for n in ("1", "2"):
            system, rid = row[f"system_{n}"], str(row[f"id_{n}"])
            found = by_id.get(rid) if system == "ENS" else people.get(rid)
            sides.append((system, found))
        if any(found is None for _, found in sides):
            continue
        evidence = row["evidence"] or ""
        for (system_a, a), (system_b, b) in (tuple(sides), tuple(reversed(sides))):
            no = _says_no(out, a) if system_a == "ENS" else (
                f"Encharge person {a[1]['personId']} is unsubscribed" if a[1]["unsubscribed"] else None)
            if no is None:
                continue
            why = f"probably the same person ({evidence}) as a record that says no: {no}; an opt-out on either wins"
            if system_b == "ENS" and _says_no(out, b) is None:
                for i, optin in enumerate(out.optins):
                    if b[f"a{i}"] == "Y":
                        out.add(b["key"], "ENS", ConsentAction.REVIEW,
                                f"{_answer_text(optin, b, i)}; {why}: opt out here once confirmed", b, None, i)
                for person in persons.get(b["key"], []):  # the same person's Encharge record, by this email
                    if person["unsubscribed"] is not True:
                        out.add(b["key"], "Encharge", ConsentAction.REVIEW,
                                f"{_encharge_state(person)}; {why}: unsubscribe here once confirmed", b, person, None)
            elif system_b == "Encharge" and b[1]["unsubscribed"] is not True:
                out.add(b[0], "Encharge", ConsentAction.REVIEW,
                        f"{_encharge_state(b[1])}; {why}: unsubscribe here once confirmed",
                        a if system_a == "ENS" else None, b[1], None)


def consent_plan(supporters: pl.DataFrame, people: pl.DataFrame, *, optins: str | Sequence[str] = DEFAULT_OPTINS,
                 erasures: pl.DataFrame | None = None, email_column: str | None = None,
                 planned_at: dt.datetime | None = None, duplicates: pl.DataFrame | None = None,
                 tombstones: Any = None) -> pl.DataFrame:
    """The changes that would bring ENS and Encharge into agreement on consent (see the module's rules).

    Args:
        supporters: the ENS supporter file (``supporterId``, an email column, ``suppressed``, and each
            opt-in with its ``"<question> Date"``), as :meth:`ENSClient.export_supporters` gives it.
        people: Encharge people (``email``, ``id``, ``unsubscribed``; ``statusSource`` and
            ``unsubscribedAt`` when known), as :meth:`EnchargeClient.list_people` gives them.
        optins: the opt-in question(s) governing the email Encharge sends.
        erasures: the toolkit's record of erasures (:func:`enstoolkit.records.erasures.read_erasures`), if any.
        email_column: the supporters' email column, when the one rule of :mod:`enstoolkit.inputs.people_args`
            does not find it.
        planned_at: the moment recorded in ``plannedAt`` (default: now, UTC).
        duplicates: probable duplicate pairs (:func:`enstoolkit.analysis.probable_duplicates`): their "high"
            pairs whose records disagree get review rows (rule 6).
        tombstones: erased and suppressed addresses (:class:`enstoolkit.protection.Tombstones`), for rule 8.

    Returns one row per proposed change (schema :data:`~enstoolkit.schemas.results.CONSENT_PLAN`),
    actionable rows first. Frames without the needed columns raise
    :class:`~enstoolkit.errors.ValidationError` naming them; so do answers or flags it cannot read.

    Example:
        >>> ens = pl.DataFrame({"supporterId": [7], "Email Address": ["c@x.org"], "suppressed": [False],
        ...                     "Marketing Optin": ["Y"], "Marketing Optin Date": [dt.date(2026, 1, 5)]})
        >>> enc = pl.DataFrame({"id": ["p7"], "email": ["c@x.org"], "unsubscribed": [True],
        ...                     "unsubscribedAt": [dt.datetime(2026, 2, 1, tzinfo=dt.UTC)]})
        >>> consent_plan(ens, enc).select("system", "action", "question").row(0)
        ('ENS', 'opt out', 'Marketing Optin')
    """
    names = check_optins(optins)
    columns = ["supporterId", "suppressed", *[c for q in names for c in (q, f"{q} Date")]]
    supporters = _require("supporters", supporters, columns, "a supporter frame (export_supporters)")
    people = _require("people", people, ("email", "id", "unsubscribed"), "a frame of Encharge people (list_people)")
    _refuse_blank(supporters, ["suppressed", *names])
    records = _supporter_records(supporters, names, email_column)
    persons = _encharge_people(people)
    erased = _erased(erasures)
    moment = planned_at or dt.datetime.now(dt.UTC)
    out = _Rows(names, erased, moment)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record["key"] in persons or record["key"] in erased:
            by_key.setdefault(record["key"], []).append(record)
    for key, group in by_key.items():
        if key in erased:
            when = erased[key]
            reason = (f"erased from Encharge through the toolkit on {_day(when)} but still in ENS: deleting in ENS is "
                      f"never automatic; delete or anonymise the supporter by hand if the erasure covers ENS too")
            holders = persons.get(key)
            for record in group:
                out.add(key, "ENS", ConsentAction.REVIEW, reason, record, holders[0] if holders else None, None)
        if key in persons:
            _people_rules(out, key, group, persons[key])
    if duplicates is not None:
        _duplicate_rules(out, duplicates, records, persons)
    if tombstones is not None:
        _tombstone_rules(out, tombstones, records, persons)
    plan = read_frame(out.rows, CONSENT_PLAN)
    order = pl.col("action").replace_strict({str(a): n for n, a in enumerate(ACTION_ORDER)}, return_dtype=pl.Int64)
    return plan.sort(order, "email", "supporterId", "question", nulls_last=True, maintain_order=True)


def actionable(plan: pl.DataFrame) -> pl.DataFrame:
    """The rows a sync carries out (unsubscribes and opt-outs); the rest are for people to look at.

    Example:
        >>> plan = pl.DataFrame({"action": ["unsubscribe", "review", "opt out"]})
        >>> actionable(plan).get_column("action").to_list()
        ['unsubscribe', 'opt out']
    """
    plan = _require("plan", plan, ("action",), "a consent plan (consent_plan)")
    return plan.filter(pl.col("action").is_in([str(a) for a in ACTIONABLE]))


def plan_counts(plan: pl.DataFrame) -> pl.DataFrame:
    """Rows per action (every action, zeros too) and the system each acts on.

    Example:
        >>> plan_counts(pl.DataFrame({"action": ["unsubscribe", "unsubscribe"]})).rows()[:2]
        [('unsubscribe', 'Encharge', 2), ('opt out', 'ENS', 0)]
    """
    plan = _require("plan", plan, ("action",), "a consent plan (consent_plan)")
    counted = dict(plan.group_by("action").len().iter_rows()) if plan.height else {}
    where = {ConsentAction.UNSUBSCRIBE: "Encharge", ConsentAction.OPT_OUT: "ENS"}
    known = [str(a) for a in ACTION_ORDER]
    rows = [(str(a), where.get(a, "ENS or Encharge"), int(counted.get(str(a), 0))) for a in ACTION_ORDER]
    rows += [(str(a), "?", int(n)) for a, n in counted.items() if a not in known]  # shown, never dropped
    return pl.DataFrame(rows, schema={"action": pl.String, "system": pl.String, "rows": pl.Int64}, orient="row")


def plan_summary(plan: pl.DataFrame) -> Iterable[str]:
    """Lines of text: the rows per action, and the system each acts on.

    Example:
        >>> list(plan_summary(pl.DataFrame({"action": ["review"], "system": ["ENS"]})))[2]
        'review               1  (ENS or Encharge)'
    """
    for action, system, rows in plan_counts(plan).iter_rows():
        yield f"{action:<16} {rows:>5,}  ({system})"


def by_action(plan: pl.DataFrame, action: str | None) -> pl.DataFrame:
    """The plan's rows with this action (None or "all": every row).

    Example:
        >>> by_action(pl.DataFrame({"action": ["review", "unsubscribe"]}), "review").height
        1
    """
    plan = _require("plan", plan, ("action",), "a consent plan (consent_plan)")
    if action is None or action == "all":
        return plan
    if action not in [str(a) for a in ACTION_ORDER]:
        raise ValidationError("action", action, "all, or one of " + ", ".join(str(a) for a in ACTION_ORDER))
    return plan.filter(pl.col("action") == action)


def change_summary(plan: pl.DataFrame) -> str:
    """What applying the plan would send, and what it leaves to people, in one sentence.

    Example:
        >>> change_summary(pl.DataFrame({"action": ["unsubscribe", "unsubscribe", "review"]}))
        '2 changes would be sent: 2 unsubscribes in Encharge and 0 opt-outs in ENS; 1 row left for review; 0 that cannot be checked.'
    """  # noqa: E501
    counts = dict(plan_counts(plan).select("action", "rows").iter_rows())
    unsub, opt = counts[str(ConsentAction.UNSUBSCRIBE)], counts[str(ConsentAction.OPT_OUT)]
    review, unknown = counts[str(ConsentAction.REVIEW)], counts[str(ConsentAction.CANNOT_CHECK)]
    return (f"{unsub + opt:,} change{'s' * (unsub + opt != 1)} would be sent: {unsub:,} unsubscribe"
            f"{'s' * (unsub != 1)} in Encharge and {opt:,} opt-out{'s' * (opt != 1)} in ENS; {review:,} "
            f"row{'s' * (review != 1)} left for review; {unknown:,} that cannot be checked.")
