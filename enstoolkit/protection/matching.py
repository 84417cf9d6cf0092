"""Matching people named in requests to the records of both systems: an exact band and a reviewed fuzzy band.

Both systems' records are put in one frame (:func:`system_records`: ``system``, ``id``,
``email``, ``name``, ``postcode``). Then:

- the **exact** band (:func:`exact_band`): the request's email equals the record's (trimmed,
  without case). Acted on without review, unless the email matches several records in one
  system that are not obviously one person (then every one of them is a ``review`` row);
- the **fuzzy** band (:func:`fuzzy_band`): a name that reads the same (rapidfuzz's
  ``token_sort_ratio`` on names normalised for case, accents, punctuation and titles) at the same
  postcode. Never acted on without a person's approval: its rows are ``review``. A request without
  a postcode has no fuzzy match: a name alone names too many people.

``match_requests(..., fuzzy=...)`` takes any function ``fuzzy(requests, records) -> frame`` with
:data:`MATCH`'s columns, so a probabilistic scorer can take the fuzzy band's place.

Example:
    >>> requests = pl.DataFrame({"request_id": ["r1", "r2"], "email": ["Ana@x.org", None],
    ...                          "name": ["Ana Miller", "Mr. Bob O'Neil"], "postcode": [None, "LS1 4AB"]})
    >>> records = pl.DataFrame({"system": ["ENS", "ENS"], "id": ["1", "2"], "email": ["ana@x.org", "b@y.org"],
    ...                         "name": ["Ana Miller", "Bob ONeil"], "postcode": ["", "ls14ab"]})
    >>> match_requests(requests, records).select("request_id", "band", "id").rows()
    [('r1', 'exact', '1'), ('r2', 'review', '2')]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import polars as pl

from ..errors import MissingExtra, ValidationError
from ..inputs.people_args import email_key

__all__ = ["MATCH", "RECORDS", "Fuzzy", "exact_band", "fuzzy_band", "match_requests", "normal_name",
           "normal_postcode", "scorer_band", "system_records"]

#: One frame of both systems' records.
RECORDS: dict[str, pl.DataType] = {"system": pl.String(), "id": pl.String(), "email": pl.String(),
                                   "name": pl.String(), "postcode": pl.String()}
#: A match of a request to a record (or a "not found" row with no record).
MATCH: dict[str, pl.DataType] = {
    "request_id": pl.String(), "system": pl.String(), "id": pl.String(), "email": pl.String(),
    "band": pl.String(), "score": pl.Float64(), "evidence": pl.String(),
}
Fuzzy = Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame]
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir", "lady", "lord", "dame"}
_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b")
#: The lowest name score (0-100) the fuzzy band proposes.
FUZZY_THRESHOLD = 88.0


def normal_name(value: Any) -> str:
    """A name as the fuzzy band compares it: no accents, titles, punctuation or case.

    Example:
        >>> normal_name("  Mrs. Zoë  O'Brien-Smith ")
        'zoe obriensmith'
    """
    text = unicodedata.normalize("NFKD", str(value or "")).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"['’.\-]", "", text)
    words = [w for w in re.split(r"[^a-z]+", text) if w and w not in _TITLES]
    return " ".join(words)


def normal_postcode(value: Any) -> str:
    """A postcode without spaces, upper case; a UK postcode inside an address is found.

    Example:
        >>> normal_postcode("12 High St, Leeds ls1 4ab"), normal_postcode(" 90210 ")
        ('LS14AB', '90210')
    """
    text = str(value or "").upper()
    found = _POSTCODE.search(text)
    if found:
        return found.group(1) + found.group(2)
    return re.sub(r"\s+", "", text)


def system_records(supporters: pl.DataFrame | None = None, people: pl.DataFrame | None = None, *,
                   email_column: str | None = None) -> pl.DataFrame:
    """Both systems' records in one frame (:data:`RECORDS`): ENS supporters and Encharge people.

    ENS names come from "First Name"/"Last Name" (or firstName/lastName), postcodes from
    "Postcode" (or postcode); Encharge's from firstName/lastName (or name) and ``postcode``
    where the account has that field.

    Example:
        >>> ens = pl.DataFrame({"supporterId": [7], "Email Address": ["A@x.org"], "First Name": ["Ana"],
        ...                     "Last Name": ["Miller"], "Postcode": ["LS1 4AB"]})
        >>> system_records(ens).row(0)
        ('ENS', '7', 'a@x.org', 'ana miller', 'LS14AB')
    """
    from ..inputs.people_args import find_email_column

    rows: list[dict[str, Any]] = []

    def pick(row: dict[str, Any], *names: str) -> Any:
        return next((row[n] for n in names if row.get(n) not in (None, "")), None)

    if supporters is not None:
        if not isinstance(supporters, pl.DataFrame) or "supporterId" not in supporters.columns:
            raise ValidationError("supporters", type(supporters).__name__, "a frame of ENS supporters with "
                                  "supporterId and an email column (export_supporters)")
        column = find_email_column(supporters.columns, preferred=email_column, argument="supporters")
        for row in supporters.iter_rows(named=True):
            name = " ".join(str(x) for x in (pick(row, "First Name", "firstName"), pick(row, "Last Name", "lastName"))
                            if x)
            rows.append({"system": "ENS", "id": str(row["supporterId"]), "email": email_key(row[column]) or None,
                         "name": normal_name(name), "postcode": normal_postcode(pick(row, "Postcode", "postcode"))})
    if people is not None:
        if not isinstance(people, pl.DataFrame) or not {"id", "email"} <= set(people.columns):
            raise ValidationError("people", type(people).__name__, "a frame of Encharge people with id and email "
                                  "(list_people)")
        for row in people.iter_rows(named=True):
            name = " ".join(str(x) for x in (row.get("firstName"), row.get("lastName")) if x) or row.get("name") or ""
            rows.append({"system": "Encharge", "id": str(row["id"]), "email": email_key(row["email"]) or None,
                         "name": normal_name(name), "postcode": normal_postcode(pick(row, "postcode", "zip"))})
    return pl.DataFrame(rows, schema=RECORDS) if rows else pl.DataFrame(schema=RECORDS)


def exact_band(requests: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Requests whose email equals a record's: ``exact``, or ``review`` when it names several records in one
    system under different names.

    Example:
        >>> requests = pl.DataFrame({"request_id": ["r1"], "email": ["a@x.org"], "name": ["Ana"]})
        >>> records = pl.DataFrame({"system": ["ENS", "ENS"], "id": ["1", "2"], "email": ["a@x.org", "a@x.org"],
        ...                         "name": ["ana", "bob"], "postcode": ["", ""]})
        >>> exact_band(requests, records).select("id", "band").rows()
        [('1', 'review'), ('2', 'review')]
    """
    out: list[dict[str, Any]] = []
    by_email: dict[str, list[dict[str, Any]]] = {}
    for rec in records.iter_rows(named=True):
        if rec["email"]:
            by_email.setdefault(rec["email"], []).append(rec)
    for req in requests.iter_rows(named=True):
        key = email_key(req.get("email"))
        found = by_email.get(key, []) if key else []
        for system in sorted({r["system"] for r in found}):
            mine = [r for r in found if r["system"] == system]
            names = {r["name"] for r in mine if r["name"]}
            several = len(mine) > 1 and len(names) > 1
            for rec in mine:
                evidence = "email equal"
                if several:
                    evidence = (f"the email matches {len(mine)} {system} records under different names: choose "
                                "which the request means")
                elif len(mine) > 1:
                    evidence = f"email equal ({len(mine)} {system} records hold it, in case variants)"
                out.append({"request_id": req["request_id"], "system": system, "id": rec["id"], "email": rec["email"],
                            "band": "review" if several else "exact", "score": 1.0, "evidence": evidence})
    return pl.DataFrame(out, schema=MATCH) if out else pl.DataFrame(schema=MATCH)


def fuzzy_band(requests: pl.DataFrame, records: pl.DataFrame, *, threshold: float = FUZZY_THRESHOLD) -> pl.DataFrame:
    """Requests whose name reads like a record's at the same postcode: ``review`` rows, scored 0-1.

    Needs the ``rapidfuzz`` package (the ``protection`` extra).

    Example:
        >>> requests = pl.DataFrame({"request_id": ["r1"], "email": [None], "name": ["Jon Smyth"],
        ...                          "postcode": ["LS1 4AB"]})
        >>> records = pl.DataFrame({"system": ["ENS"], "id": ["9"], "email": ["js@x.org"], "name": ["jon smith"],
        ...                         "postcode": ["LS14AB"]})
        >>> fuzzy_band(requests, records).select("id", "band").rows()
        [('9', 'review')]
    """
    try:
        from rapidfuzz import fuzz
    except ImportError as exc:  # pragma: no cover - the extra is part of dev
        raise MissingExtra("protection", "the fuzzy band of the suppression matcher") from exc
    by_postcode: dict[str, list[dict[str, Any]]] = {}
    for rec in records.iter_rows(named=True):
        rec = {**rec, "name": normal_name(rec["name"]), "postcode": normal_postcode(rec["postcode"])}
        if rec["postcode"] and rec["name"]:
            by_postcode.setdefault(rec["postcode"], []).append(rec)
    out: list[dict[str, Any]] = []
    for req in requests.iter_rows(named=True):
        postcode = normal_postcode(req.get("postcode") or req.get("address"))
        name = normal_name(req.get("name"))
        if not postcode or not name:
            continue
        for rec in by_postcode.get(postcode, []):
            score = fuzz.token_sort_ratio(name, rec["name"])
            if score >= threshold:
                out.append({"request_id": req["request_id"], "system": rec["system"], "id": rec["id"],
                            "email": rec["email"], "band": "review", "score": round(score / 100, 3),
                            "evidence": f"name {score:.0f}/100 ({rec['name']!r}), postcode equal"})
    return pl.DataFrame(out, schema=MATCH) if out else pl.DataFrame(schema=MATCH)


def scorer_band(supporters: pl.DataFrame, people: pl.DataFrame | None = None, **settings: Any) -> Fuzzy:
    """A fuzzy band from the toolkit's probable-duplicates scorer (``enstoolkit.analysis.probable_duplicates``).

    Each request (with a name) is scored as one more record of the ENS file against both systems'
    records: the pairs it forms with real records (either band of the scorer) are ``review`` rows,
    with the scorer's ``match_probability`` as the score and its evidence. Raises
    :class:`~enstoolkit.errors.MissingExtra` where the scorer is not installed.

    Example:
        >>> callable(scorer_band) and "supporters" in scorer_band.__code__.co_varnames
        True
    """
    try:
        import importlib

        score = importlib.import_module("enstoolkit.analysis").probable_duplicates
    except (ImportError, AttributeError) as exc:
        raise MissingExtra("protection", "the probable-duplicates band (enstoolkit.analysis.probable_duplicates)") \
            from exc
    from ..inputs.people_args import find_email_column

    column = find_email_column(supporters.columns, argument="supporters")

    def band(requests: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
        asks = [r for r in requests.iter_rows(named=True) if normal_name(r.get("name"))]
        if not asks:
            return pl.DataFrame(schema=MATCH)
        pseudo = {}
        rows = []
        for n, req in enumerate(asks, start=1):
            words = [w for w in re.split(r"\s+", str(req["name"]).strip()) if w.strip(".").lower() not in _TITLES]
            pseudo[str(-n)] = req["request_id"]
            rows.append({"supporterId": -n, column: req.get("email") or "", "First Name": words[0] if words else "",
                         "Last Name": " ".join(words[1:]), "Postcode": req.get("postcode") or "",
                         "Address 1": req.get("address") or ""})
        asked = pl.DataFrame(rows, schema={"supporterId": pl.Int64(), column: pl.String(), "First Name": pl.String(),
                                           "Last Name": pl.String(), "Postcode": pl.String(),
                                           "Address 1": pl.String()})
        frame = pl.concat([supporters.with_columns(pl.col("supporterId").cast(pl.Int64)), asked],
                          how="diagonal_relaxed")
        pairs = score(frame, people, marks=False, **settings)
        out = []
        for r in pairs.iter_rows(named=True):
            for me, other in ((1, 2), (2, 1)):
                mine = str(r[f"id_{me}"])
                if r[f"system_{me}"] == "ENS" and mine in pseudo and str(r[f"id_{other}"]) not in pseudo:
                    out.append({"request_id": pseudo[mine], "system": r[f"system_{other}"],
                                "id": str(r[f"id_{other}"]),
                                "email": email_key(r[f"email_{other}"]) or None, "band": "review",
                                "score": round(float(r["match_probability"]), 3),
                                "evidence": f"probable duplicate ({r['band']}): {r['evidence']}"})
        return pl.DataFrame(out, schema=MATCH) if out else pl.DataFrame(schema=MATCH)

    return band


def match_requests(requests: pl.DataFrame, records: pl.DataFrame, *, fuzzy: Fuzzy | None = fuzzy_band) -> pl.DataFrame:
    """Every request with its matches: ``exact``, ``review`` (fuzzy, or an email naming several people), or one
    ``not found`` row. A record the exact band matched is not proposed again by the fuzzy band.

    ``fuzzy=None`` leaves the fuzzy band out (exact only).

    Example:
        >>> requests = pl.DataFrame({"request_id": ["r1"], "email": ["nobody@x.org"], "name": ["No Body"],
        ...                          "postcode": [None]})
        >>> match_requests(requests, pl.DataFrame(schema=RECORDS)).select("band").item()
        'not found'
    """
    exact = exact_band(requests, records)
    parts = [exact]
    if fuzzy is not None:
        found = fuzzy(requests, records)
        missing = [c for c in MATCH if c not in found.columns]
        if missing:
            raise ValidationError("fuzzy", f"a frame without {', '.join(missing)}", "a function returning "
                                  "request_id, system, id, email, band, score, evidence")
        taken = exact.select("request_id", "system", "id")
        parts.append(found.select(list(MATCH)).cast(MATCH).join(taken, on=["request_id", "system", "id"],  # type: ignore[arg-type]
                                                                   how="anti"))
    matched = pl.concat(parts)
    lost = requests.filter(~pl.col("request_id").is_in(matched.get_column("request_id").implode()))
    none = pl.DataFrame({"request_id": lost.get_column("request_id")}).with_columns(
        pl.lit(None, pl.String).alias("system"), pl.lit(None, pl.String).alias("id"),
        pl.lit(None, pl.String).alias("email"), pl.lit("not found").alias("band"),
        pl.lit(None, pl.Float64).alias("score"), pl.lit("no record with this email, nor this name at this postcode")
        .alias("evidence")).select(list(MATCH))
    order = {r: n for n, r in enumerate(requests.get_column("request_id").to_list())}
    out = pl.concat([matched, none])
    return out.sort(pl.col("request_id").replace_strict(order, return_dtype=pl.Int64), "system", "id",
                    nulls_last=True, maintain_order=True)
