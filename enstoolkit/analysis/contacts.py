"""Contact quality: email domains with typos, role and disposable addresses, Encharge's verdicts, phones, postcodes.

:func:`contact_quality` returns audit findings (:data:`~enstoolkit.schemas.results.FINDINGS` plus
``suggestion``, the fix to make), one per problem found; :func:`worklist_csv` writes them (or any
findings) as a CSV a person or an ENS import can act on. The normalisers (:func:`normalise_email`,
:func:`domain_suggestion`, :func:`phone_e164`, :func:`uk_postcode`) are what duplicate detection
compares too.

Needs the ``duplicates`` extra (``pip install enstoolkit[duplicates]``) for the phone numbers
(``phonenumbers``), edit distances (``rapidfuzz``) and the disposable-domain list
(``disposable-email-domains``).

Example:
    >>> normalise_email(" J.Smith+news@GoogleMail.com")
    'jsmith@gmail.com'
    >>> domain_suggestion("gmial.com")
    'gmail.com'
    >>> uk_postcode("sw1a1aa"), phone_e164("07700 900123", "GB")
    ('SW1A 1AA', '+447700900123')
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import MissingExtra, ValidationError
from ..inputs.arguments import check_frame
from ..inputs.people_args import email_key_expr, find_email_column
from ..schemas.results import FINDINGS

__all__ = ["COMMON_DOMAINS", "ROLE_LOCALS", "contact_quality", "domain_suggestion", "is_disposable", "is_role",
           "normalise_email", "phone_e164", "require_extra", "suggest_domain", "uk_postcode", "worklist_csv"]

#: Consumer mail domains typos are checked against (the popular-domain list of Mailcheck, the widely used
#: sign-up form library, with the UK's own), besides the account's own common domains.
COMMON_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "hotmail.co.uk", "outlook.com",
    "live.com", "live.co.uk", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "btinternet.com",
    "sky.com", "virginmedia.com", "talktalk.net", "ntlworld.com", "blueyonder.co.uk", "protonmail.com",
    "proton.me", "mail.com", "gmx.com", "gmx.de", "web.de", "ymail.com", "comcast.net", "verizon.net",
    "att.net", "sbcglobal.net", "bigpond.com", "eircom.net", "orange.fr", "free.fr", "wanadoo.fr",
)
#: Local parts of role addresses (a team's inbox, not a person).
ROLE_LOCALS = frozenset({"info", "admin", "office", "contact", "enquiries", "enquiry", "hello", "sales", "support",
                         "team", "mail", "accounts", "finance", "reception", "webmaster", "postmaster", "noreply",
                         "no-reply", "marketing", "hr", "jobs", "help", "abuse", "billing", "press"})
_GMAIL = frozenset({"gmail.com", "googlemail.com"})
_UK_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
EXTRA = "duplicates"


def require_extra(module: str) -> Any:
    """Import one of the ``duplicates`` extra's libraries, or say which extra to install.

    Example:
        >>> require_extra("rapidfuzz").__name__
        'rapidfuzz'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtra(EXTRA, f"probable duplicates and contact quality ({module.split('.')[0]})") from e


def normalise_email(value: Any) -> str | None:
    """An email as one mailbox: trimmed, lowercased, a ``+tag`` dropped, and for Gmail its dots dropped and
    googlemail.com read as gmail.com. None for no address.

    Example:
        >>> normalise_email("Jo.Bloggs+petition@gmail.com"), normalise_email("jo+x@example.org")
        ('jobloggs@gmail.com', 'jo@example.org')
    """
    text = str(value or "").strip().lower()
    if "@" not in text:
        return text or None
    local, _, domain = text.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def domain_suggestion(domain: Any, known: Iterable[str] = ()) -> str | None:
    """The domain the address probably meant (one or two edits from a common domain or one of ``known``), or None.

    Example:
        >>> domain_suggestion("hotmial.co.uk"), domain_suggestion("example.org"), domain_suggestion("gmail.com")
        ('hotmail.co.uk', None, None)
    """
    text = str(domain or "").strip().lower()
    if not text:
        return None
    return suggest_domain(text, tuple(sorted(set(known))))


@lru_cache(maxsize=65_536)
def suggest_domain(domain: str, known: tuple[str, ...]) -> str | None:
    """:func:`domain_suggestion` for a domain already lower-cased and stripped, ``known`` a tuple (cached).

    Example:
        >>> suggest_domain("gmial.com", ())
        'gmail.com'
    """
    distance = require_extra("rapidfuzz.distance").DamerauLevenshtein.distance
    candidates = [*COMMON_DOMAINS, *known]
    if domain in candidates:
        return None
    best, score = None, 3
    for candidate in candidates:
        limit = 1 if len(candidate) < 8 else 2
        d = distance(domain, candidate, score_cutoff=limit)
        if d <= limit and d < score:
            best, score = candidate, d
    return best


def is_role(email: Any) -> bool:
    """A role address (``info@``, ``office@``, ...).

    Example:
        >>> is_role("Info@charity.org"), is_role("jo@charity.org")
        (True, False)
    """
    return str(email or "").strip().lower().partition("@")[0] in ROLE_LOCALS


def is_disposable(email: Any) -> bool:
    """An address at a disposable mail service (the maintained ``disposable-email-domains`` list).

    Example:
        >>> is_disposable("x@mailinator.com"), is_disposable("x@gmail.com")
        (True, False)
    """
    blocklist = require_extra("disposable_email_domains").blocklist
    return str(email or "").strip().lower().rpartition("@")[2] in blocklist


def phone_e164(value: Any, region: Any = "GB") -> str | None:
    """A phone number in E.164 (``+447700900123``), read in ``region`` (an ISO country code) when it has no
    ``+``; None when it is not a possible number.

    Example:
        >>> phone_e164("(020) 7946 0958"), phone_e164("12", "GB"), phone_e164("+1 206 555 0100", "GB")
        ('+442079460958', None, '+12065550100')
    """
    text = str(value or "").strip()
    if not text:
        return None
    phonenumbers = require_extra("phonenumbers")
    try:
        number = phonenumbers.parse(text, str(region or "GB").upper() or "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def uk_postcode(value: Any) -> str | None:
    """A UK postcode in its written form (upper case, one space before the last three characters), or None
    when the text is not shaped like one.

    Example:
        >>> uk_postcode(" ec1a1bb "), uk_postcode("12345")
        ('EC1A 1BB', None)
    """
    text = re.sub(r"\s+", "", str(value or "")).upper()
    match = _UK_POSTCODE.match(text)
    return f"{match.group(1)} {match.group(2)}" if match else None


# -- the audit ---------------------------------------------------------------------------------------------

QUALITY = {**FINDINGS, "suggestion": pl.String()}
_PHONES = ("Phone Number", "phoneNumber", "Mobile Phone", "Phone", "phone")
_POSTCODES = ("Postcode", "postcode", "ZIP or Postal Code", "Postal Code", "Supporter Postcode")
_COUNTRIES = ("Country", "country")


def _first(columns: Iterable[str], names: Iterable[str]) -> str | None:
    present = set(columns)
    return next((n for n in names if n in present), None)


def _row(sid: Any, email: Any, check: str, severity: str, detail: str, suggestion: str | None) -> dict[str, Any]:
    return {"supporterId": sid, "email": email, "check": check, "severity": severity, "detail": detail,
            "suggestion": suggestion}


def contact_quality(supporters: pl.DataFrame, people: pl.DataFrame | None = None, *, region: str = "GB",
                    common_domain_share: float = 0.002) -> pl.DataFrame:
    """Contact-quality findings for the ENS supporter file, each with its suggested fix.

    Checks: "email domain typo" (did you mean, against :data:`COMMON_DOMAINS` and the account's own
    domains held by at least ``common_domain_share`` of its addresses), "role address", "disposable
    address", "Encharge verdict" (``validationResult`` other than valid, ``isEmailDisposable``,
    ``isEmailRole`` of the Encharge person with the supporter's email, when ``people`` is given),
    "phone not E.164" (with the E.164 form, or that it is not a possible number) and "postcode not
    normalised" (UK supporters: the written form). A check whose column is missing, or empty in
    every row, gives one "cannot check: ..." row instead.

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["jo@gmial.com", "info@charity.org"],
        ...                     "Phone Number": ["07700 900123", ""], "Postcode": ["sw1a1aa", ""],
        ...                     "Country": ["GB", "GB"]})
        >>> contact_quality(ens).select("check", "suggestion").rows()  # gmial.com is a listed disposable domain too
        [('email domain typo', 'jo@gmail.com'), ('disposable address', None), ('role address', None), ('phone not E.164', '+447700900123'), ('postcode not normalised', 'SW1A 1AA')]
    """  # noqa: E501
    supporters = check_frame("supporters", supporters, ("supporterId",), what="a supporter frame (export_supporters)")
    email = find_email_column(supporters.columns, argument="supporters")
    if not 0 <= common_domain_share <= 1:
        raise ValidationError("common_domain_share", common_domain_share, "a share from 0 to 1")
    rows: list[dict[str, Any]] = []
    frame = supporters.with_columns(email_key_expr(email).alias("__k"))
    domains = frame.select(pl.col("__k").str.split("@").list.last().alias("d")).filter(
        pl.col("d").is_not_null() & (pl.col("d") != ""))
    counts = domains.group_by("d").len()
    own = counts.filter(pl.col("len") >= max(2, common_domain_share * max(domains.height, 1))).get_column("d")
    known = tuple(sorted(own.to_list()))
    suggestions = {d: suggest_domain(d, known) for d in counts.get_column("d").to_list()}
    country = _first(frame.columns, _COUNTRIES)
    sel = [pl.col("supporterId"), pl.col(email).cast(pl.String).alias("__e"), pl.col("__k")]
    for sid, shown, key in frame.select(sel).iter_rows():
        if not key or "@" not in key:
            continue
        local, _, domain = key.rpartition("@")
        fix = suggestions.get(domain)
        if fix:
            rows.append(_row(sid, shown, "email domain typo", "medium", f"did you mean {local}@{fix}?",
                             f"{local}@{fix}"))
        if local in ROLE_LOCALS:
            rows.append(_row(sid, shown, "role address", "low", f"{local}@ is a team's inbox, not a person's", None))
        if is_disposable(key):
            rows.append(_row(sid, shown, "disposable address", "medium", f"{domain} is a disposable mail service",
                             None))
    if people is not None:
        rows += _encharge_verdicts(frame, email, people)
    phone = _first(frame.columns, _PHONES)
    if phone is None or frame.get_column(phone).cast(pl.String).fill_null("").str.strip_chars().eq("").all():
        why = "no phone column" if phone is None else f"the {phone!r} column is empty in every row"
        rows.append(_row(None, None, "phone not E.164", "low", f"cannot check: {why}", None))
    else:
        cols = [pl.col("supporterId"), pl.col(email).cast(pl.String), pl.col(phone).cast(pl.String),
                pl.col(country).cast(pl.String) if country else pl.lit(region)]
        for sid, shown, number, where in frame.select(cols).iter_rows():
            if not number or not number.strip():
                continue
            fixed = phone_e164(number, where or region)
            if fixed is None:
                rows.append(_row(sid, shown, "phone not E.164", "low", f"{number!r} is not a possible phone number "
                                 f"in {where or region}", None))
            elif fixed != number:
                rows.append(_row(sid, shown, "phone not E.164", "low", f"{number!r} written as {fixed}", fixed))
    post = _first(frame.columns, _POSTCODES)
    if post is None or frame.get_column(post).cast(pl.String).fill_null("").str.strip_chars().eq("").all():
        why = "no postcode column" if post is None else f"the {post!r} column is empty in every row"
        rows.append(_row(None, None, "postcode not normalised", "low", f"cannot check: {why}", None))
    else:
        uk = pl.col(country).cast(pl.String).fill_null("").str.to_uppercase().is_in(["GB", "UK", ""]) if country \
            else pl.lit(True)
        cols = [pl.col("supporterId"), pl.col(email).cast(pl.String), pl.col(post).cast(pl.String)]
        for sid, shown, code in frame.filter(uk).select(cols).iter_rows():
            if not code or not code.strip():
                continue
            fixed = uk_postcode(code)
            if fixed is None:
                rows.append(_row(sid, shown, "postcode not normalised", "low", f"{code!r} is not a UK postcode", None))
            elif fixed != code:
                rows.append(_row(sid, shown, "postcode not normalised", "low", f"{code!r} written as {fixed}", fixed))
    return pl.DataFrame(rows, schema=QUALITY, orient="row") if rows else pl.DataFrame([], schema=QUALITY)


def _encharge_verdicts(frame: pl.DataFrame, email: str, people: pl.DataFrame) -> list[dict[str, Any]]:
    people = check_frame("people", people, ("email",), what="a frame of Encharge people (list_people)")
    wanted = [c for c in ("validationResult", "isEmailDisposable", "isEmailRole") if c in people.columns]
    if not wanted or all(people.get_column(c).null_count() == people.height for c in wanted):
        why = ("the people frame has no validationResult, isEmailDisposable or isEmailRole column" if not wanted
               else "Encharge gives no validation verdict for any person")
        return [_row(None, None, "Encharge verdict", "medium", f"cannot check: {why}", None)]
    verdicts = people.select(email_key_expr("email").alias("__k"), *wanted).unique("__k", keep="first")
    joined = frame.select("supporterId", pl.col(email).cast(pl.String).alias("__e"), "__k").join(
        verdicts, on="__k", how="inner", maintain_order="left")
    rows = []
    for row in joined.iter_rows(named=True):
        said = []
        result = row.get("validationResult")
        if result and str(result).lower() not in ("valid", "unknown"):
            said.append(f"validationResult {result}")
        if row.get("isEmailDisposable"):
            said.append("disposable")
        if row.get("isEmailRole"):
            said.append("role address")
        if said:
            fix = "suppress in ENS, or ask the supporter for another address" if result and str(
                result).lower() == "invalid" else None
            rows.append(_row(row["supporterId"], row["__e"], "Encharge verdict", "medium",
                             "Encharge says: " + ", ".join(said), fix))
    return rows


def worklist_csv(findings: pl.DataFrame, path: str | Path) -> Path:
    """Write findings (with their ``suggestion`` when they have one) as a CSV worklist: one row per finding,
    supporter first, for a person to work through or an ENS import (``Supporter ID``, ``Email Address``,
    the check, what was found and the suggested fix).

    Example:
        >>> f = pl.DataFrame({"supporterId": [1], "email": ["jo@gmial.com"], "check": ["email domain typo"],
        ...                   "severity": ["medium"], "detail": ["did you mean jo@gmail.com?"],
        ...                   "suggestion": ["jo@gmail.com"]})
        >>> out = worklist_csv(f, folder / "w.csv")
        >>> out.read_text().splitlines()[0]
        'Supporter ID,Email Address,Check,Severity,Found,Suggested fix'
    """
    findings = check_frame("findings", findings, ("supporterId", "email", "check", "severity", "detail"))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suggestion = "suggestion" if "suggestion" in findings.columns else None
    with target.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Supporter ID", "Email Address", "Check", "Severity", "Found", "Suggested fix"])
        for row in findings.iter_rows(named=True):
            out.writerow([row["supporterId"] if row["supporterId"] is not None else "", row["email"] or "",
                          row["check"], row["severity"], row["detail"], (row[suggestion] or "") if suggestion else ""])
    return target
