"""Probable duplicates: the same person under two records, found by probabilistic record linkage, with the evidence.

:func:`probable_duplicates` looks for pairs of records that are probably one person within the ENS
supporter file and, given Encharge's people, across ENS and Encharge (an ENS supporter and an
Encharge person with different emails). It is built on Splink (Fellegi-Sunter record linkage on
DuckDB; the comparison and blocking rules are plain Splink settings, so an organisation that
outgrows one machine can run them on Splink's Spark backend). Names are compared exactly, as
nicknames (the ``nicknames`` list: Bob~Robert), with one typo, or swapped; emails as one mailbox
(Gmail dots and ``+tags``), with a domain typo corrected, or by the same name at another domain;
postcodes, phones (E.164), towns, first address lines and birth years as well.

People who are not duplicates stay apart: a household (same address and last name, another first
name), a parent and child (a Jr./Sr., or birth years apart), and pairs an analyst marked "not the
same person" (:func:`~enstoolkit.analysis.marks.mark_pairs`) are never proposed.

Needs the ``duplicates`` extra: ``pip install 'enstoolkit[duplicates]'``.

Example:
    >>> ens = pl.DataFrame({"supporterId": [1, 2, 3], "Email Address": ["bob.s@x.org", "rsmith@y.org", "a@z.org"],
    ...                     "First Name": ["Bob", "Robert", "Ann"], "Last Name": ["Smith", "Smith", "Lee"],
    ...                     "Postcode": ["SW1A 1AA", "sw1a1aa", "EC1A 1BB"]})
    >>> pairs = probable_duplicates(ens, marks=False)
    >>> pairs.select("id_1", "id_2", "band").rows()
    [('1', '2', 'high')]
    >>> pairs.item(0, "evidence")
    'first name: nickname Bob~Robert; last name exact; email differs; postcode exact'
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import check_frame
from ..inputs.people_args import find_email_column
from .contacts import phone_e164, require_extra, suggest_domain, uk_postcode

__all__ = ["BANDS", "DEFAULT_SETTINGS", "PAIRS", "duplicates_from_accounts", "probable_duplicates"]

#: The bands of a pair, most likely first.
BANDS = ("high", "review")
#: The settings :func:`probable_duplicates` takes, with their defaults.
DEFAULT_SETTINGS: dict[str, Any] = {
    "high": 0.95,  # a pair at least this probable is "high"
    "review": 0.5,  # a pair at least this probable (and below high) is "review"; below it is not shown
    "duplicate_share": 0.03,  # the share of records expected to have a duplicate (the prior)
    "region": "GB",  # where phone numbers without a country code are read
    "marks": None,  # the analyst's marks (None: the stored ones; False: none)
    "columns": None,  # {"first": ..., "last": ..., "postcode": ..., ...} when the automatic names do not fit
    "progress": None,  # a progress bar (None: for more than 50,000 records)
}
#: The columns of :func:`probable_duplicates`'s result.
PAIRS: dict[str, pl.DataType] = {
    "system_1": pl.String(), "id_1": pl.String(), "email_1": pl.String(), "name_1": pl.String(),
    "postcode_1": pl.String(), "system_2": pl.String(), "id_2": pl.String(), "email_2": pl.String(),
    "name_2": pl.String(), "postcode_2": pl.String(), "match_probability": pl.Float64(), "band": pl.String(),
    "evidence": pl.String(), "keeper_system": pl.String(), "keeper_id": pl.String(), "keeper_reason": pl.String(),
    "mark": pl.String(),
}
_FIELDS: dict[str, tuple[str, ...]] = {
    "first": ("First Name", "firstName", "first_name", "Supporter First Name"),
    "last": ("Last Name", "lastName", "last_name", "Supporter Last Name"),
    "postcode": ("Postcode", "postcode", "ZIP or Postal Code", "Postal Code", "Supporter Postcode"),
    "phone": ("Phone Number", "phoneNumber", "Mobile Phone", "phone", "Phone"),
    "city": ("City", "city"),
    "address": ("Address 1", "address1"),
    "country": ("Country", "country"),
    "birth": ("Date of Birth", "dateOfBirth", "Supporter Birthday"),
    "activity": ("modifiedOn", "Date Modified", "lastActivity", "updatedAt"),
    "created": ("createdOn", "Date Created", "createdAt"),
}
_SUFFIXES = {"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr", "ii": "ii", "iii": "iii", "iv": "iv"}


def _columns(frame: pl.DataFrame, given: Mapping[str, str] | None, argument: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, names in _FIELDS.items():
        if given and key in given:
            if given[key] not in frame.columns:
                raise ValidationError("columns", {key: given[key]}, f"a column of {argument}: "
                                      + ", ".join(frame.columns[:20]))
            out[key] = given[key]
        else:
            out[key] = next((n for n in names if n in frame.columns), None)
    return out


def _text(frame: pl.DataFrame, column: str | None) -> pl.Expr:
    if column is None:
        return pl.lit(None, pl.String)
    expr = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(expr == "").then(None).otherwise(expr)


def _fold(value: str | None) -> str | None:
    """A name as compared: lower case, accents and punctuation dropped, a generation suffix taken off."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKD", value.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = "".join(c if c.isalnum() or c.isspace() else " " for c in text)
    words = [w for w in text.split() if w not in _SUFFIXES]
    return " ".join(words) or None


def _suffix(*values: str | None) -> str | None:
    for value in values:
        for word in "".join(c if c.isalnum() else " " for c in (value or "").lower()).split():
            if word in _SUFFIXES:
                return _SUFFIXES[word]
    return None


def _moment(frame: pl.DataFrame, column: str | None) -> pl.Expr:
    """A date or time column as a UTC moment (text in ISO form is read; what cannot be read is null)."""
    utc = pl.Datetime("us", "UTC")
    if column is None:
        return pl.lit(None, utc)
    dtype = frame.schema[column]
    if dtype == pl.Date:
        return pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if isinstance(dtype, pl.Datetime):
        expr = pl.col(column).cast(pl.Datetime("us", dtype.time_zone))
        return expr.dt.convert_time_zone("UTC") if dtype.time_zone else expr.dt.replace_time_zone("UTC")
    if dtype == pl.String:
        return pl.col(column).str.to_datetime(strict=False, time_zone="UTC")
    return pl.lit(None, utc)


def _prepare(frame: pl.DataFrame, system: str, idcol: str, email: str, cols: dict[str, str | None], region: str,
             start: int) -> pl.DataFrame:
    first, last = _text(frame, cols["first"]), _text(frame, cols["last"])
    out = frame.select(
        pl.lit(system).alias("system"), pl.col(idcol).cast(pl.String).alias("rid"),
        pl.col(email).cast(pl.String).alias("email"), first.alias("first_raw"), last.alias("last_raw"),
        _text(frame, cols["postcode"]).alias("postcode_raw"), _text(frame, cols["phone"]).alias("phone_raw"),
        _text(frame, cols["city"]).str.to_lowercase().alias("city"),
        _text(frame, cols["address"]).str.to_lowercase().alias("address"),
        _text(frame, cols["country"]).alias("country"),
        _text(frame, cols["birth"]).str.slice(0, 4).alias("birth_text") if cols["birth"] and frame.schema[
            cols["birth"]] == pl.String else (pl.col(cols["birth"]).dt.year().cast(pl.String).alias("birth_text")
                                              if cols["birth"] else pl.lit(None, pl.String).alias("birth_text")),
        _moment(frame, cols["activity"]).alias("activity"), _moment(frame, cols["created"]).alias("created"),
    ).with_row_index("unique_id", offset=start)
    return out


def _email_norm(column: str) -> pl.Expr:
    """:func:`~enstoolkit.analysis.contacts.normalise_email` as an expression (one mailbox: ``+tag`` and Gmail dots
    dropped, googlemail.com read as gmail.com)."""
    key = pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()
    domain = key.str.extract(r"@([^@]*)$", 1)
    local = key.str.extract(r"^(.*)@[^@]*$", 1).str.split("+").list.first()
    gmail = domain.is_in(["gmail.com", "googlemail.com"])
    return (pl.when(key.is_null() | (key == "")).then(pl.lit(None, pl.String))
            .when(~key.str.contains("@", literal=True)).then(key)
            .when(gmail).then(pl.concat_str(local.str.replace_all(".", "", literal=True), pl.lit("@gmail.com")))
            .otherwise(pl.concat_str(local, pl.lit("@"), domain)))


def _features(records: pl.DataFrame, region: str) -> pl.DataFrame:
    """Normalised columns the comparisons read; every mapping runs once per distinct value."""
    nick = require_extra("nicknames").NickNamer()

    def mapped(column: str, fn: Any, dtype: pl.DataType, frame: pl.DataFrame | None = None) -> pl.Expr:
        values = (records if frame is None else frame).get_column(column).drop_nulls().unique().to_list()
        table = {v: fn(v) for v in values}
        return pl.col(column).replace_strict(table, default=None, return_dtype=dtype)

    def alternatives(name: str) -> list[str]:
        first = name.split()[0] if name else name
        return sorted({first, *nick.nicknames_of(first), *nick.canonicals_of(first)})

    folded = records.with_columns(
        mapped("first_raw", _fold, pl.String()).alias("first"), mapped("last_raw", _fold, pl.String()).alias("last"),
        pl.struct("first_raw", "last_raw").map_batches(
            lambda s: pl.Series([_suffix(a, b) for a, b in zip(s.struct.field("first_raw").to_list(),
                                                                 s.struct.field("last_raw").to_list(), strict=True)],
                                dtype=pl.String), return_dtype=pl.String).alias("suffix"),
        _email_norm("email").alias("email_norm"),
        pl.col("birth_text").cast(pl.Int64, strict=False).alias("birth_year"),
    )
    domains = folded.get_column("email_norm").drop_nulls().str.split("@").list.last()
    counts = domains.value_counts()
    own = tuple(sorted(counts.filter(pl.col("count") >= max(3, 0.002 * len(domains))).get_column(
        domains.name).to_list()))
    folded = folded.with_columns(
        pl.col("email_norm").str.split("@").list.first().str.replace_all(".", "", literal=True).alias("email_local"),
        pl.col("email_norm").str.split("@").list.last().alias("email_domain"),
        mapped("first", alternatives, pl.List(pl.String()), folded).alias("first_alt"),
        pl.concat_str(pl.min_horizontal("first", "last"), pl.max_horizontal("first", "last"), separator=" ")
        .alias("name_key"),
    )
    where = pl.col("country").fill_null("").alias("__c")
    postcodes = folded.select(pl.col("postcode_raw"), where).unique().filter(pl.col("postcode_raw").is_not_null())
    phones = folded.select(pl.col("phone_raw"), where).unique().filter(pl.col("phone_raw").is_not_null())
    postcode_of = postcodes.with_columns(pl.Series("postcode", [
        (uk_postcode(p) if (c or "GB").upper() in ("GB", "UK") else None) or p.upper().replace(" ", "")
        for p, c in postcodes.iter_rows()], dtype=pl.String))
    phone_of = phones.with_columns(pl.Series("phone", [phone_e164(p, c or region) for p, c in phones.iter_rows()],
                                             dtype=pl.String))
    fixed = {d: suggest_domain(d, own) or d for d in folded.get_column("email_domain").drop_nulls().unique().to_list()}
    folded = (folded.with_columns(where)
              .join(postcode_of, on=["postcode_raw", "__c"], how="left", maintain_order="left")
              .join(phone_of, on=["phone_raw", "__c"], how="left", maintain_order="left").drop("__c"))
    return folded.with_columns(
        pl.col("email_domain").replace_strict(fixed, default=None, return_dtype=pl.String).alias("domain_fixed"),
    ).with_columns(
        pl.col("postcode").str.split(" ").list.first().alias("outward"),
        pl.concat_str("email_local", "domain_fixed", separator="@").alias("email_fixed"),
    )


def _level(sql: str, label: str, m: float, u: float) -> Any:
    cll = require_extra("splink.comparison_level_library")
    return cll.CustomLevel(sql, label).configure(m_probability=m, u_probability=u)


def _null(sql: str) -> Any:
    cll = require_extra("splink.comparison_level_library")
    return cll.CustomLevel(sql, "null").configure(is_null_level=True)


def _same_or_differs(name: str, column: str, label: str, *, same: tuple[float, float],
                     differs: tuple[float, float]) -> Any:
    """A Splink comparison with one level besides null (either side missing): ``column`` equal on both sides.

    ``same`` and ``differs`` are the (m, u) probabilities of the equal and of the other pairs.
    """
    cl = require_extra("splink.comparison_library")
    return cl.CustomComparison(output_column_name=name, comparison_levels=[
        _null(f"{column}_l IS NULL OR {column}_r IS NULL"),
        _level(f"{column}_l = {column}_r", label, *same),
        _level("ELSE", "differs", *differs),
    ])


_TYPO = ("(damerau_levenshtein({c}_l, {c}_r) <= 1 OR (jaro_winkler_similarity({c}_l, {c}_r) >= 0.93 "
         "AND length({c}_l) > 5))")


def _comparisons() -> list[Any]:
    """The Splink comparisons, each level with its m and u probabilities (how often true pairs, and random pairs,
    fall in it). They were set from what charities' files show and checked on the labelled sandbox."""
    cl = require_extra("splink.comparison_library")
    swapped = "(first_l = last_r AND last_l = first_r)"
    return [
        cl.CustomComparison(output_column_name="first", comparison_levels=[
            _null("first_l IS NULL OR first_r IS NULL"),
            _level("first_l = first_r", "exact", 0.80, 0.01),
            _level(swapped, "swapped", 0.02, 0.00001),
            _level("list_contains(first_alt_l, first_r) OR list_contains(first_alt_r, first_l)", "nickname",
                   0.08, 0.002),
            _level(_TYPO.format(c="first"), "typo", 0.08, 0.002),
            _level("ELSE", "differs", 0.02, 0.986),
        ]),
        cl.CustomComparison(output_column_name="last", comparison_levels=[
            _null("last_l IS NULL OR last_r IS NULL"),
            _level("last_l = last_r", "exact", 0.86, 0.01),
            _level(swapped, "swapped", 0.02, 0.02),
            _level(_TYPO.format(c="last"), "typo", 0.08, 0.002),
            _level("ELSE", "differs", 0.04, 0.988),
        ]),
        cl.CustomComparison(output_column_name="email", comparison_levels=[
            _null("email_norm_l IS NULL OR email_norm_r IS NULL"),
            _level("email_norm_l = email_norm_r", "same", 0.35, 0.00001),
            _level("email_fixed_l = email_fixed_r OR (email_local_l = email_local_r AND ("
                   "damerau_levenshtein(email_domain_l, email_domain_r) <= 2 OR (contains(email_domain_r, '.') AND "
                   "starts_with(email_domain_l, email_domain_r || '.')) OR (contains(email_domain_l, '.') AND "
                   "starts_with(email_domain_r, email_domain_l || '.'))))", "domain typo", 0.1, 0.000001),
            _level("email_local_l = email_local_r AND length(email_local_l) > 3", "same name at another domain",
                   0.05, 0.005),
            _level("ELSE", "differs", 0.5, 0.99499),
        ]),
        cl.CustomComparison(output_column_name="postcode", comparison_levels=[
            _null("postcode_l IS NULL OR postcode_r IS NULL"),
            _level("postcode_l = postcode_r", "exact", 0.85, 0.0001),
            _level("outward_l = outward_r", "same district", 0.05, 0.005),
            _level("ELSE", "differs", 0.10, 0.9949),
        ]),
        _same_or_differs("phone", "phone", "exact", same=(0.8, 0.00001), differs=(0.2, 0.99999)),
        _same_or_differs("address", "address", "exact", same=(0.8, 0.001), differs=(0.2, 0.999)),
        _same_or_differs("city", "city", "exact", same=(0.9, 0.1), differs=(0.1, 0.9)),
        _same_or_differs("birth", "birth_year", "same year", same=(0.95, 0.02), differs=(0.05, 0.98)),
        cl.CustomComparison(output_column_name="generation", comparison_levels=[
            _null("suffix_l IS NULL AND suffix_r IS NULL"),
            _level("suffix_l = suffix_r", "same", 0.9, 0.5),
            _level("ELSE", "differs", 0.001, 0.5),
        ]),
    ]


def _blocking() -> list[Any]:
    """Pairs are only compared when they share one of these: the cost grows with the list, not with its square."""
    block_on = require_extra("splink").block_on
    return [block_on("email_norm"), block_on("email_local", "first"), block_on("email_fixed"),
            block_on("last", "postcode"), block_on("first", "postcode"), block_on("name_key", "postcode"),
            block_on("phone"), block_on("first", "last", "city"), block_on("last", "address", "outward")]


def _predict(records: pl.DataFrame, threshold: float, prior: float) -> pl.DataFrame:
    splink = require_extra("splink")
    duckdb_api = require_extra("splink.internals.duckdb.database_api").DuckDBAPI
    keep = ["unique_id", "first", "last", "first_alt", "email_norm", "email_fixed", "email_local", "email_domain",
            "postcode",
            "outward", "phone", "address", "city", "birth_year", "suffix", "name_key"]
    settings = splink.SettingsCreator(
        link_type="dedupe_only", comparisons=_comparisons(), blocking_rules_to_generate_predictions=_blocking(),
        probability_two_random_records_match=prior, retain_matching_columns=True,
        retain_intermediate_calculation_columns=True)
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)
    api = duckdb_api()
    table = api.register(records.select(keep).to_arrow())
    linker = splink.Linker(table, settings, log_level=logging.WARNING)
    scored = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    out = pl.from_arrow(scored.as_pyarrow_table())
    assert isinstance(out, pl.DataFrame)
    return out


def _empty() -> pl.DataFrame:
    return pl.DataFrame([], schema=PAIRS)



def _evidence() -> pl.Expr:
    """Which fields agreed and how, from each comparison's level (Splink's ``gamma_`` columns)."""
    def name(part: str, label: str) -> pl.Expr:
        a, b = pl.col(f"{part}_raw_1"), pl.col(f"{part}_raw_2")
        g = pl.col(f"gamma_{part}")
        if part == "first":
            return (pl.when(g == 3).then(pl.lit("names swapped"))
                    .when(g == 2).then(pl.format("first name: nickname {}~{}", a, b))
                    .when(g == 1).then(pl.format("first name: typo {}~{}", a, b))
                    .when(g == 0).then(pl.lit("first name differs"))
                    .when(g == 4).then(pl.lit("first name exact")))
        return (pl.when(g == 2).then(None)  # said by "names swapped"
                .when(g == 1).then(pl.format("{}: typo {}~{}", pl.lit(label), a, b))
                .when(g == 0).then(pl.format("{} differs", pl.lit(label)))
                .when(g == 3).then(pl.format("{} exact", pl.lit(label))))

    def simple(part: str, labels: dict[int, str]) -> pl.Expr:
        expr: pl.Expr = pl.lit(None, pl.String)
        for level, text in labels.items():
            expr = pl.when(pl.col(f"gamma_{part}") == level).then(pl.lit(text)).otherwise(expr)
        return expr

    email: pl.Expr = (pl.when(pl.col("gamma_email") == 3).then(pl.lit("email same"))
             .when((pl.col("gamma_email") == 2) & (pl.col("email_domain_1") == pl.col("email_domain_2")))
             .then(pl.lit("email same apart from dots"))
             .when(pl.col("gamma_email") == 2).then(pl.format("email domain typo {}~{}", pl.col("email_domain_1"),
                                                               pl.col("email_domain_2")))
             .when(pl.col("gamma_email") == 1).then(pl.lit("email: same name at another domain"))
             .when(pl.col("gamma_email") == 0).then(pl.lit("email differs")))
    email = pl.when((pl.col("gamma_email") == 3) & (pl.col("email_key_1") != pl.col("email_key_2"))).then(
        pl.lit("email same mailbox (Gmail dots or +tag)")).otherwise(email)
    parts = [name("first", "first name"), name("last", "last name"), email,
             simple("postcode", {2: "postcode exact", 1: "same postcode district", 0: "postcode differs"}),
             simple("phone", {1: "phone exact", 0: "phone differs"}),
             simple("address", {1: "address exact"}), simple("birth", {1: "birth year same", 0: "birth year differs"})]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True)


def _order_key(system: str, rid: str) -> tuple[int, int, str]:
    return (0 if system == "ENS" else 1, int(rid) if rid.isdigit() else 0, rid)


def probable_duplicates(supporters: pl.DataFrame, people: pl.DataFrame | None = None, **settings: Any
                        ) -> pl.DataFrame:
    """Pairs of records that are probably one person, within the ENS file and (with ``people``) across ENS and
    Encharge, with the evidence and a suggested keeper. ENS has no merge: the result is a worklist to review.

    Args:
        supporters: the ENS supporter file (``supporterId``, an email column, ``First Name``, ``Last Name``;
            ``Postcode``, ``Phone Number``, ``City``, ``Address 1``, ``Date of Birth``, ``modifiedOn`` and
            ``createdOn`` are used when present), as :meth:`ENSClient.export_supporters` gives it.
        people: Encharge people (``id``, ``email``; ``firstName``, ``lastName``, ``phone``, ``city``,
            ``lastActivity``, ``createdAt``), as :meth:`EnchargeClient.list_people` gives them. An ENS
            supporter and an Encharge person with the same email are the sync's own match, not a duplicate.
        **settings: ``high`` (0.95) and ``review`` (0.5): the least match probability of each band;
            ``duplicate_share`` (0.03): the share of records expected to have a duplicate; ``region``
            ("GB"): where phones without a country code are; ``marks``: the analyst's marks (default the
            stored ones, :func:`~enstoolkit.analysis.marks.read_marks`; False for none); ``columns``: the
            frame's names for ``first``, ``last``, ``postcode``, ``phone``, ``city``, ``address``,
            ``birth``, ``activity``, ``created`` when the usual ones are not there; ``progress``: a
            progress bar of the steps (default: for more than 50,000 records).

    Returns one row per pair (schema :data:`PAIRS`): ``system_1``/``id_1``/``email_1`` and the same for the
    second record ("ENS" before "Encharge", ids as text), ``match_probability``, ``band`` ("high" or
    "review"), ``evidence`` ("first name: nickname Bob~Robert; last name exact; ..."), the suggested keeper
    (``keeper_system``, ``keeper_id``: the more recently active record, else the older one, and why) and
    ``mark`` (an analyst's "same person", else null), most probable first. Pairs marked "not the same
    person" are left out. A frame without name columns, or whose names are empty in every row, raises
    :class:`~enstoolkit.errors.ValidationError` naming the argument; 0 or 1 records give no pairs.

    Example:
        >>> ens = pl.DataFrame({"supporterId": [7, 9], "Email Address": ["jo.bloggs@gmail.com", "jo@x.org"],
        ...                     "First Name": ["Jo", "Jo"], "Last Name": ["Bloggs", "Bloggs"],
        ...                     "Postcode": ["N1 9GU", "N1 9GU"], "Date of Birth": ["1960-01-02", "1990-05-06"]})
        >>> probable_duplicates(ens, marks=False).height   # one record each for a parent and a child
        0
    """
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValidationError("settings", unknown, "some of " + ", ".join(DEFAULT_SETTINGS))
    options = {**DEFAULT_SETTINGS, **settings}
    high, review = options["high"], options["review"]
    if not (isinstance(high, float | int) and isinstance(review, float | int) and 0 < review <= high <= 1):
        raise ValidationError("high", (high, review), "probabilities with 0 < review <= high <= 1")
    if not (isinstance(options["duplicate_share"], float | int) and 0 < options["duplicate_share"] < 1):
        raise ValidationError("duplicate_share", options["duplicate_share"], "a share between 0 and 1")
    supporters = check_frame("supporters", supporters, ("supporterId",), what="a supporter frame (export_supporters)")
    email = find_email_column(supporters.columns, argument="supporters")
    cols = _columns(supporters, options["columns"], "supporters")
    if cols["first"] is None and cols["last"] is None:
        raise ValidationError("supporters", "no First Name or Last Name column",
                              "a supporter file with name columns (or columns={'first': ..., 'last': ...})")
    if supporters.height and all(supporters.get_column(c).drop_nulls().cast(pl.String).str.strip_chars()
                                 .eq("").all() for c in (cols["first"], cols["last"]) if c):
        raise ValidationError("supporters", "names empty in every row", "a supporter file whose First Name or "
                              "Last Name column has values (check the export's columns)")
    parts = [_prepare(supporters, "ENS", "supporterId", email, cols, options["region"], 0)]
    if people is not None:
        people = check_frame("people", people, ("id", "email"), what="a frame of Encharge people (list_people)")
        pcols = _columns(people, None, "people")
        parts.append(_prepare(people, "Encharge", "id", "email", pcols, options["region"], supporters.height))
    records = pl.concat(parts)
    if records.height < 2:
        return _empty()
    from .marks import read_marks

    marks = options["marks"]
    marks = read_marks() if marks is None else (None if marks is False else marks)
    show = options["progress"] if options["progress"] is not None else records.height > 50_000
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=3, desc="probable duplicates", unit="step")
        bar.set_postfix_str("normalising names, emails, phones, postcodes")
    records = _features(records, options["region"]).with_columns(
        pl.col("email").str.strip_chars().str.to_lowercase().alias("email_key"))
    prior = min(0.5, options["duplicate_share"] / max(records.height, 2))
    if bar is not None:
        bar.update(1)
        bar.set_postfix_str("blocking and scoring (Splink)")
    scored = _predict(records, review, prior)
    if bar is not None:
        bar.update(1)
        bar.set_postfix_str("evidence and keepers")
    try:
        return _finish(scored, records, high, review, marks)
    finally:
        if bar is not None:
            bar.update(1)
            bar.close()


def _finish(scored: pl.DataFrame, records: pl.DataFrame, high: float, review: float,
            marks: pl.DataFrame | None) -> pl.DataFrame:
    side = records.select("unique_id", "system", "rid", "email", "email_key", "first_raw", "last_raw",
                          "postcode", "email_domain", "activity", "created")
    pairs = (scored.rename({"unique_id_l": "unique_id_1", "unique_id_r": "unique_id_2"})
             .join(side.rename(lambda c: f"{c}_1"), on="unique_id_1")
             .join(side.rename(lambda c: f"{c}_2"), on="unique_id_2"))
    same_email = pl.col("email_key_1") == pl.col("email_key_2")
    ens_only = (pl.col("system_1") == "ENS") & (pl.col("system_2") == "ENS")
    cross = pl.col("system_1") != pl.col("system_2")
    household = pl.col("gamma_first") == 0  # another first name (not a nickname, a typo or a swap): two people
    generation = pl.col("gamma_generation") == 0  # Jr. and Sr.
    born_apart = pl.col("gamma_birth") == 0
    pairs = pairs.filter((ens_only | (cross & ~same_email)) & ~household & ~generation & ~born_apart)
    # ENS first, then by id, so a pair always reads the same way round
    flip = (pl.col("system_1") == "Encharge") & (pl.col("system_2") == "ENS") | (
        (pl.col("system_1") == pl.col("system_2")) & (
            pl.col("rid_1").cast(pl.Int64, strict=False).fill_null(0) > pl.col("rid_2").cast(pl.Int64, strict=False)
            .fill_null(0)))
    names = ["system", "rid", "email", "email_key", "first_raw", "last_raw", "postcode", "email_domain", "activity",
             "created"]
    pairs = pairs.with_columns(
        *[pl.when(flip).then(pl.col(f"{n}_2")).otherwise(pl.col(f"{n}_1")).alias(f"{n}_1") for n in names],
        *[pl.when(flip).then(pl.col(f"{n}_1")).otherwise(pl.col(f"{n}_2")).alias(f"{n}_2") for n in names],
    )
    newer = pl.col("activity_2").is_not_null() & (pl.col("activity_1").is_null()
                                                  | (pl.col("activity_2") > pl.col("activity_1")))
    same_activity = pl.col("activity_1").is_null() & pl.col("activity_2").is_null() | (
        pl.col("activity_1") == pl.col("activity_2"))
    older = pl.col("created_2").is_not_null() & pl.col("created_1").is_not_null() & (
        pl.col("created_2") < pl.col("created_1"))
    second = pl.when(same_activity).then(older).otherwise(newer)
    reason = (pl.when(~same_activity).then(pl.lit("more recent activity"))
              .when(pl.col("created_1").is_not_null() & pl.col("created_2").is_not_null()).then(pl.lit("older record"))
              .otherwise(pl.lit("first of the pair (no activity or creation dates)")))
    out = pairs.with_columns(
        pl.col("match_probability").clip(0.0, 1.0),
        pl.when(pl.col("match_probability") >= high).then(pl.lit("high")).otherwise(pl.lit("review")).alias("band"),
        _evidence().alias("evidence"),
        pl.when(second).then(pl.col("system_2")).otherwise(pl.col("system_1")).alias("keeper_system"),
        pl.when(second).then(pl.col("rid_2")).otherwise(pl.col("rid_1")).alias("keeper_id"),
        reason.alias("keeper_reason"),
        pl.concat_str("first_raw_1", "last_raw_1", separator=" ", ignore_nulls=True).alias("name_1"),
        pl.concat_str("first_raw_2", "last_raw_2", separator=" ", ignore_nulls=True).alias("name_2"),
    ).rename({"rid_1": "id_1", "rid_2": "id_2", "postcode_1": "postcode_1", "postcode_2": "postcode_2"})
    out = out.with_columns(pl.lit(None, pl.String).alias("mark"))
    if marks is not None and marks.height:
        from .marks import NOT_SAME, apply_marks

        out = apply_marks(out, marks)
        out = out.filter(pl.col("mark").is_null() | (pl.col("mark") != NOT_SAME))
    out = out.select([pl.col(c).cast(t) for c, t in PAIRS.items()])
    return out.sort(["match_probability", "system_1", "id_1", "system_2", "id_2"],
                    descending=[True, False, False, False, False])


def duplicates_from_accounts(ens: Any, encharge: Any | None = None, *, query: str = "All supporters",
                             **settings: Any) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame]:
    """The supporter file (ENS's export job ``query``), Encharge's people (when ``encharge`` is given) and
    :func:`probable_duplicates` of them, as ``(supporters, people, pairs)``. Sends no change.

    Example:
        >>> from enstoolkit.config import connect
        >>> conn = connect(supporters=300, variant="labelled-duplicates")
        >>> supporters, people, pairs = duplicates_from_accounts(conn.ens, conn.encharge, marks=False)
        >>> set(pairs.get_column("system_2")) == {"ENS", "Encharge"}
        True
    """
    supporters = ens.export_supporters(query)
    people = encharge.list_people() if encharge is not None else None
    return supporters, people, probable_duplicates(supporters, people, **settings)
