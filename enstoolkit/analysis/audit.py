"""Audit checks and opt-in analysis: plain functions, frames in and frames out.

Audit checks each return *findings* with the same columns (:data:`FINDINGS`):
``supporterId``, ``email``, ``check``, ``severity`` ("high", "medium", "low") and
``detail``. :func:`run_audit` runs them all and :func:`summarise` counts them.

The inputs are the frames the clients return: the ENS supporter file from
:meth:`ENSClient.export_supporters` (fields by name, opt-in questions as Boolean columns
with a ``"<question> Date"`` beside them), Encharge people from
:meth:`EnchargeClient.list_people`, and transactions from
:meth:`ENSClient.export_transactions`.

Example:
    >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["A@x.org ", "a@x.org"]})
    >>> duplicate_supporters(ens).get_column("supporterId").to_list()
    [1, 2]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import blank_columns, check_frame, check_int, text_flags, valid_emails
from ..inputs.people_args import email_key_expr, find_email_column
from ..schemas import Severity
from ..schemas.results import FINDINGS
from .answers import answer, is_yes

__all__ = [
    "CANNOT_CHECK", "SEVERITY_ORDER", "cannot_check", "cannot_check_rows", "duplicate_supporters",
    "erased_still_in_ens", "invalid_emails", "missing_fields", "one_system_only", "optin_state_conflicts", "run_audit",
    "stale_records", "summarise", "suppressed_with_optin",
]

SEVERITY_ORDER = {str(s): n for n, s in enumerate(Severity)}


def _email_column(df: pl.DataFrame, argument: str = "ens") -> str:
    """The frame's email column (the one rule of :mod:`enstoolkit.inputs.people_args`), which must hold text."""
    column = find_email_column(df.columns, argument=argument)
    if df.schema[column] not in (pl.String, pl.Null):
        raise ValidationError(argument, f"{column!r} of {df.schema[column]}", "an email column of text")
    return column


def _encharge(encharge: pl.DataFrame) -> pl.DataFrame:
    """Encharge people as :meth:`EnchargeClient.list_people` gives them (an ``email`` and an ``id``), checked."""
    frame = check_frame("encharge", encharge, ("email", "id"), what="a frame of Encharge people (list_people)")
    _email_column(frame.select("email"), "encharge")
    return frame


def _findings(df: pl.DataFrame, check: str, severity: str, detail: pl.Expr, email: str) -> pl.DataFrame:
    sid = pl.col("supporterId").cast(pl.Int64) if "supporterId" in df.columns else pl.lit(None, pl.Int64)
    return df.select(
        sid.alias("supporterId"),
        pl.col(email).cast(pl.String).alias("email"),
        pl.lit(check).alias("check"),
        pl.lit(severity).alias("severity"),
        detail.cast(pl.String).alias("detail"),
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame([], schema=FINDINGS)


#: The detail of a finding row that says a check could not run (and why).
CANNOT_CHECK = "cannot check: "


def cannot_check(check: str, severity: str, why: str) -> pl.DataFrame:
    """A finding row saying that ``check`` could not run, and why: an audit never reports "clean" when it cannot know.

    Example:
        >>> cannot_check("stale record", "low", "no modifiedOn column").item(0, "detail")
        'cannot check: no modifiedOn column'
    """
    return pl.DataFrame([{"supporterId": None, "email": None, "check": check, "severity": severity,
                          "detail": CANNOT_CHECK + why}], schema=FINDINGS)


# -- checks within ENS ------------------------------------------------------------------------


def duplicate_supporters(ens: pl.DataFrame) -> pl.DataFrame:
    """Supporters whose emails are equal after trimming and lowercasing (every record of each group).

    Example:
        >>> df = pl.DataFrame({"supporterId": [1, 2, 3], "Email Address": ["a@x.org", " A@X.org", "b@x.org"]})
        >>> duplicate_supporters(df).get_column("detail").to_list()
        ['2 records share a@x.org: 1, 2', '2 records share a@x.org: 1, 2']
    """
    ens = check_frame("ens", ens, ("supporterId",), what="a supporter frame (export_supporters)")
    email = _email_column(ens)
    keyed = ens.filter(pl.col(email).is_not_null() & (email_key_expr(email) != ""))
    keyed = keyed.with_columns(email_key_expr(email).alias("__k"))
    keyed = keyed.filter(pl.col("__k").is_duplicated())  # the groups of more than one: the others are not read
    groups = (
        keyed.group_by("__k")
        .agg(pl.len().alias("__n"), pl.col("supporterId").sort().cast(pl.String).str.join(", ").alias("__ids"))
        .filter(pl.col("__n") > 1)
    )
    dupes = keyed.join(groups, on="__k", how="inner").sort("__k", "supporterId")
    detail = pl.format("{} records share {}: {}", pl.col("__n"), pl.col("__k"), pl.col("__ids"))
    return _findings(dupes, "duplicate email", "medium", detail, email)


def encharge_duplicates(encharge: pl.DataFrame) -> pl.DataFrame:
    """Encharge people whose emails are equal after trimming and lowercasing (every person of each group).

    Each of them is checked against ENS on its own, so one that is still subscribed is not hidden
    behind another that is not.

    Example:
        >>> enc = pl.DataFrame({"id": ["p1", "p2", "p3"], "email": ["Jo@x.org", "jo@x.org", "b@x.org"]})
        >>> encharge_duplicates(enc).get_column("detail").to_list()
        ['2 Encharge people share jo@x.org: p1, p2', '2 Encharge people share jo@x.org: p1, p2']
    """
    encharge = _encharge(encharge)
    keyed = encharge.filter(pl.col("email").is_not_null() & (email_key_expr("email") != "")).with_columns(
        email_key_expr("email").alias("__k"), pl.col("id").cast(pl.String).alias("__id"))
    keyed = keyed.unique("__id", keep="first", maintain_order=True)
    keyed = keyed.filter(pl.col("__k").is_duplicated())  # the groups of more than one: the others are not read
    groups = (keyed.group_by("__k").agg(pl.len().alias("__n"), pl.col("__id").sort().str.join(", ").alias("__ids"))
              .filter(pl.col("__n") > 1))
    dupes = keyed.join(groups, on="__k", how="inner").sort("__k", "__id").with_columns(
        pl.lit(None, pl.Int64).alias("supporterId"))
    detail = pl.format("{} Encharge people share {}: {}", pl.col("__n"), pl.col("__k"), pl.col("__ids"))
    return _findings(dupes, "duplicate email in Encharge", "medium", detail, "email")


def invalid_emails(ens: pl.DataFrame) -> pl.DataFrame:
    """Supporters whose email address is not valid (after trimming); empty addresses too.

    Example:
        >>> df = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x"]})
        >>> invalid_emails(df).get_column("supporterId").to_list()
        [2]
    """
    ens = check_frame("ens", ens)
    email = _email_column(ens)
    ens = ens.with_columns(pl.col(email).cast(pl.String))
    valid = valid_emails(ens.get_column(email))
    bad = ens.filter(pl.col(email).is_null() | ~valid.fill_null(False))
    detail = pl.when(pl.col(email).is_null() | (pl.col(email).str.strip_chars() == "")).then(
        pl.lit("no email address")).otherwise(pl.format("not a valid email address: '{}'", pl.col(email)))
    return _findings(bad, "invalid email", "high", detail, email)


def missing_fields(ens: pl.DataFrame, required: Sequence[str] = ("First Name", "Last Name", "Postcode")
                   ) -> pl.DataFrame:
    """Supporters missing any of the ``required`` fields (null or blank), one finding each.

    Example:
        >>> df = pl.DataFrame({"supporterId": [1], "Email Address": ["a@x.org"], "First Name": [" "],
        ...                    "Postcode": [None]})
        >>> missing_fields(df, ["First Name", "Postcode"]).item(0, "detail")
        'missing: First Name, Postcode'
    """
    ens = check_frame("ens", ens)
    email = _email_column(ens)
    absent = [c for c in required if c not in ens.columns]
    if absent:
        raise ValidationError("required", absent, "fields that are columns of the frame: "
                              + ", ".join(ens.columns[:20]))
    if not required:
        return _empty()
    empty = [pl.col(c).is_null() | (pl.col(c).cast(pl.String).str.strip_chars() == "") for c in required]
    blanks = [pl.when(e).then(pl.lit(c)) for e, c in zip(empty, required, strict=True)]
    hit = ens.filter(pl.any_horizontal(empty)).with_columns(  # the list only for the rows missing something
        pl.concat_list(blanks).list.drop_nulls().alias("__missing"))
    detail = pl.lit("missing: ") + pl.col("__missing").list.join(", ")
    return _findings(hit, "missing fields", "low", detail, email)


def suppressed_with_optin(ens: pl.DataFrame, optins: Sequence[str]) -> pl.DataFrame:
    """Suppressed supporters who still hold an opt-in (mail to them bounces or is unwanted).

    Example:
        >>> df = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"],
        ...                    "suppressed": [True, True], "Marketing Optin": [True, False]})
        >>> suppressed_with_optin(df, ["Marketing Optin"]).item(0, "detail")
        'suppressed but opted in to: Marketing Optin'
    """
    ens = check_frame("ens", ens, ("suppressed",), what="a supporter frame (export_supporters)")
    email = _email_column(ens)
    if isinstance(optins, str):
        raise ValidationError("optins", optins, "a list of opt-in columns, e.g. [\"Marketing Optin\"]")
    absent = [q for q in optins if q not in ens.columns]
    if absent:  # a misspelt question would otherwise find nobody, in silence
        raise ValidationError("optins", absent, "opt-in columns of the frame")
    present = list(optins)
    if not present:
        return _empty()
    held = pl.concat_list([pl.when(is_yes(ens, q)).then(pl.lit(q)) for q in present]).list.drop_nulls()
    rows = ens.filter(pl.col("suppressed").fill_null(False)).with_columns(held.alias("__held")).filter(
        pl.col("__held").list.len() > 0)  # the list only for the suppressed
    detail = pl.lit("suppressed but opted in to: ") + pl.col("__held").list.join(", ")
    return _findings(rows, "suppressed with opt-in", "high", detail, email)


def stale_records(ens: pl.DataFrame, *, older_than_days: int = 730, today: dt.date | None = None,
                  column: str = "modifiedOn") -> pl.DataFrame:
    """Records not modified for more than ``older_than_days`` days (as of ``today``).

    Example:
        >>> df = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"],
        ...                    "modifiedOn": [dt.date(2020, 1, 1), dt.date(2026, 1, 1)]})
        >>> stale_records(df, older_than_days=365, today=dt.date(2026, 6, 1)).item(0, "detail")
        'not modified for 2343 days (since 2020-01-01)'
    """
    ens = check_frame("ens", ens)
    email = _email_column(ens)
    if column not in ens.columns:
        raise ValidationError("column", column, "a date column of the frame to judge staleness by")
    older_than_days = check_int("older_than_days", older_than_days, 1, None)
    if today is not None and not isinstance(today, dt.date):
        raise ValidationError("today", today, "a date")
    day = today or dt.date.today()
    age = (pl.lit(day) - pl.col(column)).dt.total_days()
    rows = ens.filter(age > older_than_days)
    detail = pl.format("not modified for {} days (since {})", age, pl.col(column).cast(pl.String))
    return _findings(rows, "stale record", "low", detail, email)


# -- across ENS and Encharge -------------------------------------------------------------------


_NO_STATUS = "Encharge records carry no subscription status"
_OPTED_IN = "opted in, unsubscribed in Encharge"
_OPTED_OUT = "opted out, subscribed in Encharge"
_PENDING = "pending in ENS, subscribed in Encharge"


def _status(encharge: pl.DataFrame) -> pl.Expr:
    """``unsubscribed`` as Boolean: true/false, or text (a frame read back from CSV: "true", "False", "1",
    "no", ""); other text raises naming the values."""
    if "unsubscribed" not in encharge.columns:
        return pl.lit(None, pl.Boolean)
    dtype = encharge.schema["unsubscribed"]
    if dtype in (pl.Boolean, pl.Null):
        return pl.col("unsubscribed").cast(pl.Boolean)
    if dtype.is_integer():
        return pl.col("unsubscribed").replace_strict({0: False, 1: True}, default=None, return_dtype=pl.Boolean)
    if dtype != pl.String:
        raise ValidationError("encharge", f"'unsubscribed' of {dtype}", "true/false values in 'unsubscribed'")
    return text_flags(encharge, "unsubscribed", "encharge")


def _joined(ens: pl.DataFrame, encharge: pl.DataFrame) -> pl.DataFrame:
    email = _email_column(ens)
    status = _status(encharge)
    source = (pl.col("statusSource").cast(pl.String) if "statusSource" in encharge.columns
              else pl.when(status.is_null()).then(pl.lit("unknown")).otherwise(pl.lit("field")))
    people = encharge.select(  # every person of an email: one finding per person who disagrees
        email_key_expr("email").alias("__k"), status.alias("__unsub"), source.alias("__source"),
        pl.col("id").alias("__enc_id"),
    ).filter(pl.col("__k").is_not_null()).unique(maintain_order=True)
    keyed = ens.with_columns(email_key_expr(email).alias("__k"))
    return keyed.join(people, on="__k", how="inner", maintain_order="left")


def _cannot_check(check: str, severity: str, unknown: int, matched: int, who: str) -> pl.DataFrame:
    """One finding saying a consent check could not be made for ``unknown`` of ``matched`` people."""
    share = f"none of the {matched:,}" if unknown == matched else f"{unknown:,} of the {matched:,}"
    detail = f"{CANNOT_CHECK}{_NO_STATUS} ({share} {who}, found in Encharge by email)"
    return pl.DataFrame({"supporterId": [None], "email": [None], "check": [check], "severity": [severity],
                         "detail": [detail]}, schema=FINDINGS)


def optin_state_conflicts(ens: pl.DataFrame, encharge: pl.DataFrame, optin: str = "Marketing Optin"
                          ) -> pl.DataFrame:
    """Consent that disagrees across systems, for the same email.

    "opted in, unsubscribed in Encharge": ENS holds the opt-in but Encharge will not mail them.
    "opted out, subscribed in Encharge": ENS says no, Encharge would still mail them (the urgent one).
    "pending in ENS, subscribed in Encharge": a double opt-in not yet confirmed ("P"), while
    Encharge would already mail them.

    Encharge's person records may carry no subscription status at all (the published ones do
    not; see ``statusSource`` in :meth:`EnchargeClient.list_people`). People whose status is
    unknown (``unsubscribed`` null, or no such column) are never counted as agreeing: each
    check whose people include some gets one finding, with no supporter, whose detail begins
    "cannot check: Encharge records carry no subscription status" and says for how many. A
    check that could not be made is a finding, not a clean result (nor an error that would
    stop the rest of the audit).

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"],
        ...                     "Marketing Optin": [True, False]})
        >>> enc = pl.DataFrame({"id": ["p1", "p2"], "email": ["a@x.org", "B@x.org"], "unsubscribed": [True, False]})
        >>> optin_state_conflicts(ens, enc).get_column("check").to_list()
        ['opted in, unsubscribed in Encharge', 'opted out, subscribed in Encharge']
        >>> unknown = enc.with_columns(pl.lit(None, pl.Boolean).alias("unsubscribed"))
        >>> print(optin_state_conflicts(ens, unknown).item(1, "detail")[:59])
        cannot check: Encharge records carry no subscription status
    """
    ens = check_frame("ens", ens)
    encharge = _encharge(encharge)
    if optin not in ens.columns:
        raise ValidationError("optin", optin, "an opt-in column of the ENS frame: one of "
                              + ", ".join(c for c in ens.columns if f"{c} Date" in ens.columns))
    email = _email_column(ens)
    both = _joined(ens, encharge)
    read = answer(both, optin)  # is_yes, is_no and is_pending of the one reading
    said_yes = both.filter((read == "Y").fill_null(False))
    said_no = both.filter((read == "N").fill_null(False))
    said_pending = both.filter((read == "P").fill_null(False))
    yes = said_yes.filter(pl.col("__unsub").fill_null(False))
    no = said_no.filter(pl.col("__unsub") == False)  # noqa: E712 (unknown excluded, and reported below)
    pending = said_pending.filter(pl.col("__unsub") == False)  # noqa: E712
    inferred = pl.when(pl.col("__source") == "field").then(pl.lit("")).otherwise(
        pl.format("; status: {}", pl.col("__source")))
    found = [
        _findings(yes, _OPTED_IN, "medium",
                  pl.format("ENS {}: Y; Encharge unsubscribed (person {}{})", pl.lit(optin), pl.col("__enc_id"),
                            inferred), email),
        _findings(no, _OPTED_OUT, "high",
                  pl.format("ENS {}: N; Encharge still subscribed (person {}{})", pl.lit(optin), pl.col("__enc_id"),
                            inferred), email),
        _findings(pending, _PENDING, "medium",
                  pl.format("ENS {}: P (double opt-in not confirmed); Encharge subscribed (person {}{})", pl.lit(optin),
                            pl.col("__enc_id"), inferred), email),
    ]
    for check, severity, group, who in ((_OPTED_IN, "medium", said_yes, "opted in in ENS"),
                                        (_OPTED_OUT, "high", said_no, "opted out in ENS"),
                                        (_PENDING, "medium", said_pending, "pending in ENS")):
        unknown = group.filter(pl.col("__unsub").is_null()).height
        if unknown:
            found.append(_cannot_check(check, severity, unknown, group.height, who))
    return pl.concat(found).sort("check", "supporterId", nulls_last=True)


def cannot_check_rows(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings that say a check could not be made (their detail begins "cannot check").

    Example:
        >>> f = pl.DataFrame({"supporterId": [None, 3], "email": [None, "c@x.org"], "check": ["a", "a"],
        ...                   "severity": ["high", "high"], "detail": ["cannot check: why", "ENS: N"]})
        >>> cannot_check_rows(f).get_column("detail").to_list()
        ['cannot check: why']
    """
    findings = check_frame("findings", findings, ("detail",))
    return findings.filter(pl.col("detail").fill_null("").str.starts_with(CANNOT_CHECK))


def one_system_only(ens: pl.DataFrame, encharge: pl.DataFrame) -> pl.DataFrame:
    """People in one system only (matched by trimmed, lowercased email).

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"]})
        >>> enc = pl.DataFrame({"id": ["p1", "p9"], "email": ["a@x.org", "z@x.org"]})
        >>> one_system_only(ens, enc).select("email", "check").rows()
        [('b@x.org', 'only in ENS'), ('z@x.org', 'only in Encharge')]
    """
    ens = check_frame("ens", ens)
    encharge = _encharge(encharge)
    email = _email_column(ens)
    ens_keys = ens.filter(pl.col(email).is_not_null()).with_columns(email_key_expr(email).alias("__k"))
    enc_keys = encharge.filter(pl.col("email").is_not_null()).with_columns(email_key_expr("email").alias("__k"))
    only_ens = ens_keys.join(enc_keys.select("__k"), on="__k", how="anti").unique("__k", keep="first",
                                                                                 maintain_order=True)
    only_enc = enc_keys.join(ens_keys.select("__k"), on="__k", how="anti")
    return pl.concat([
        _findings(only_ens, "only in ENS", "low", pl.lit("no Encharge person with this email"), email),
        _findings(only_enc.with_columns(pl.lit(None, pl.Int64).alias("supporterId")), "only in Encharge", "medium",
                  pl.format("Encharge person {} has no ENS supporter", pl.col("id")), "email"),
    ])


def erased_still_in_ens(ens: pl.DataFrame, erasures: pl.DataFrame) -> pl.DataFrame:
    """People erased (GDPR) in Encharge through the toolkit who are still in ENS.

    ``erasures`` is the toolkit's own record (:func:`enstoolkit.records.erasures.read_erasures`); rows
    still ``pending`` (sent, answer lost, not yet confirmed) are not erasures yet and are left out.

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1], "Email Address": ["a@x.org"]})
        >>> gone = pl.DataFrame({"email": ["A@x.org"], "erasedAt": [dt.datetime(2026, 1, 2)]})
        >>> erased_still_in_ens(ens, gone).item(0, "severity")
        'high'
    """
    ens = check_frame("ens", ens)
    erasures = check_frame("erasures", erasures, ("email", "erasedAt"))
    email = _email_column(ens)
    if "pending" in erasures.columns and erasures.schema["pending"] == pl.Boolean:
        erasures = erasures.filter(~pl.col("pending").fill_null(False))
    if erasures.height == 0:
        return _empty()
    gone = erasures.select(email_key_expr("email").alias("__k"), pl.col("erasedAt")).filter(pl.col("__k").is_not_null())
    gone = gone.unique("__k", keep="last", maintain_order=True)
    hit = ens.with_columns(email_key_expr(email).alias("__k")).join(gone, on="__k", how="inner")
    detail = pl.format("erased in Encharge on {} but still in ENS", pl.col("erasedAt").cast(pl.Date).cast(pl.String))
    return _findings(hit, "erased in Encharge, still in ENS", "high", detail, email)


def _blank_columns(ens: pl.DataFrame, names: Sequence[str]) -> dict[str, str]:
    """The named columns present but without a value in any row (of a frame with rows), each with why a check
    on it cannot be made: an empty column is a column that did not come through, not "nobody"."""
    return {name: f"the supporter file's {name!r} column is empty in all {ens.height:,} rows (check the export's "
                  "columns in ENS, or the column mapping)" for name in blank_columns(ens, names)}


def run_audit(
    ens: pl.DataFrame,
    encharge: pl.DataFrame | None = None,
    *,
    erasures: pl.DataFrame | None = None,
    optins: Sequence[str] = ("Marketing Optin",),
    required: Sequence[str] = ("First Name", "Last Name", "Postcode"),
    stale_days: int = 730,
    today: dt.date | None = None,
    stale: pl.DataFrame | None = None,
    contacts: bool = False,
) -> pl.DataFrame:
    """Every check, as one findings frame sorted by severity, check and supporter.

    With ``contacts=True`` the contact-quality checks are added
    (:func:`~enstoolkit.analysis.contacts.contact_quality`: domain typos, role and disposable
    addresses, Encharge's verdicts, phones and postcodes; each detail says the fix). They need the
    ``duplicates`` extra; without it, one "cannot check" row says so.

    A check that cannot run on the frames given (a required field, an opt-in, ``suppressed``
    or ``modifiedOn`` not in the supporter file, or an opt-in, ``suppressed`` or ``modifiedOn``
    column without a value in any row) adds one row whose detail starts with "cannot check:"
    and says why, instead of reporting nothing. ``stale``: "stale record" findings judged by activity
    (:func:`enstoolkit.history.activity.stale_by_activity`), used instead of the ``modifiedOn`` check.

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1], "Email Address": ["a@x"], "First Name": ["A"],
        ...                     "Last Name": ["B"], "Postcode": ["X"], "suppressed": [False],
        ...                     "Marketing Optin": [True], "modifiedOn": [dt.date(2026, 1, 1)]})
        >>> run_audit(ens, today=dt.date(2026, 2, 1)).get_column("check").to_list()
        ['invalid email']
    """
    stale_days = check_int("stale_days", stale_days, 1, None)
    ens = check_frame("ens", ens, ("supporterId",), what="a supporter frame (export_supporters)")
    if encharge is not None:
        encharge = _encharge(encharge)
    blank = _blank_columns(ens, ["suppressed", "modifiedOn", *optins])
    columns = set(ens.columns) - set(blank)
    present = [c for c in required if c in ens.columns]
    absent = [c for c in required if c not in ens.columns]
    parts = [invalid_emails(ens), duplicate_supporters(ens), missing_fields(ens, present)]
    if absent:
        parts.append(cannot_check("missing fields", "low", f"the supporter file has no {', '.join(absent)} column "
                                  "(REQUIRED_FIELDS names the account's fields)"))
    held = [q for q in optins if q in columns]
    if "suppressed" not in columns:
        parts.append(cannot_check("suppressed with opt-in", "high", blank.get(
            "suppressed", "the supporter file has no suppressed column")))
    else:
        parts.append(suppressed_with_optin(ens, held))
    if stale is not None:
        parts.append(check_frame("stale", stale, tuple(FINDINGS), what="stale record findings (stale_by_activity)"))
    elif "modifiedOn" in columns:
        parts.append(stale_records(ens, older_than_days=stale_days, today=today))
    else:
        parts.append(cannot_check("stale record", "low", blank.get(
            "modifiedOn", "the supporter file has no modifiedOn (Date Modified) column")))
    for optin in optins:
        if optin not in columns:
            why = blank.get(optin, f"the supporter file has no {optin!r} column (OPTINS names the account's "
                                   "opt-in questions)")
            parts.append(cannot_check("suppressed with opt-in", "high", why))
            if encharge is not None:
                parts.append(cannot_check("opted out, subscribed in Encharge", "high", why))
                parts.append(cannot_check("opted in, unsubscribed in Encharge", "medium", why))
                parts.append(cannot_check(_PENDING, "medium", why))
    if encharge is not None:
        for optin in held:
            parts.append(optin_state_conflicts(ens, encharge, optin))
        parts.append(one_system_only(ens, encharge))
        parts.append(encharge_duplicates(encharge))
    if erasures is not None:
        parts.append(erased_still_in_ens(ens, erasures))
    if contacts:
        from ..errors import MissingExtra
        from .contacts import contact_quality

        try:
            parts.append(contact_quality(ens, encharge).drop("suggestion"))
        except MissingExtra as exc:
            parts.append(cannot_check("contact quality", "low", str(exc)))
    found = pl.concat([p for p in parts if p.height] or [_empty()])
    order = pl.col("severity").replace_strict(SEVERITY_ORDER, default=9, return_dtype=pl.Int64)
    return found.with_columns(order.alias("__o")).sort("__o", "check", "supporterId", "email",
                                                        nulls_last=True).drop("__o")


def summarise(findings: pl.DataFrame) -> pl.DataFrame:
    """Counts of findings by check and severity (most severe first), with a ``note`` for checks that could not run.

    A check that could not be made for anyone (only "cannot check" rows) has no count (null), not
    0: nothing was checked, so nothing can be said to be clean.

    Example:
        >>> f = pl.DataFrame({"supporterId": [1, 2, 3, None], "email": ["a", "b", "c", None],
        ...                   "check": ["x", "x", "y", "z"], "severity": ["low", "low", "high", "high"],
        ...                   "detail": ["", "", "", "cannot check: no column"]})
        >>> summarise(f).rows()
        [('y', 'high', 1, None), ('z', 'high', None, 'cannot check: no column'), ('x', 'low', 2, None)]
    """
    findings = check_frame("findings", findings, ("check", "severity", "detail"))
    order = pl.col("severity").replace_strict(SEVERITY_ORDER, default=9, return_dtype=pl.Int64)
    unable = pl.col("detail").fill_null("").str.starts_with(CANNOT_CHECK)
    return (findings.group_by("check", "severity")
            .agg((~unable).sum().cast(pl.Int64).alias("findings"),
                 pl.col("detail").filter(unable).unique(maintain_order=True).str.join("; ").alias("note"))
            .with_columns(pl.when(pl.col("note") == "").then(None).otherwise(pl.col("note")).alias("note"),
                          order.alias("__o"))
            .with_columns(pl.when((pl.col("findings") == 0) & pl.col("note").is_not_null()).then(None)
                          .otherwise(pl.col("findings")).alias("findings"))
            .sort("__o", "check").drop("__o"))


