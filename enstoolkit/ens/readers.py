"""Reading what ENS sends in shapes that vary by account: export files and transaction dates.

No real supporter file has been published, so both known header styles are read:

- the ``api`` style: ``supporterId``, ``suppressed``, fields by name, ``createdOn``, ``modifiedOn``,
  each question and its ``"<question> Date"``;
- the ``dashboard`` style: ``Supporter ID``, ``Supporter Email``, fields, ``Suppressed``,
  ``Date Created``, ``Date Modified``, questions, and often an unnamed last column.

The transaction file is read in the vendor's documented layout (``Campaign Number`` the number,
``Campaign ID`` the name, ``Campaign Date``/``Campaign Time`` in the reporting time zone), renamed,
without ``Supporter ID``, or in this project's older style with the list's own keys
(:func:`read_transaction_export`).

A file in neither style raises :class:`~enstoolkit.errors.UnmappedColumns` naming the missing
columns and the ``columns=`` mapping that reads it. Every column's dtype is decided once from
the header; dates are read in the account's order (proven by the values, or configured with
``date_order=``, never guessed: :mod:`enstoolkit.schemas.date_order`); opt-in answers keep "P" (pending);
a value that does not fit its column raises naming the column. No column becomes null in silence.

Blank lines (before the header, between rows, at the end; LF or CRLF) are skipped and counted in
the log, never read as rows of nulls; a row with values but no supporter id raises naming its
line. ENS's error text in place of a file ("\\n\\nERROR: ...") raises
:class:`~enstoolkit.errors.APIError` with ENS's message, and a file of blank lines raises: neither
reads as an empty account. A file with no bytes at all reads as an empty frame.

Example:
    >>> export_layout(["Supporter ID", "Date Created", "Q", "Q Date"], optins={"Q"})
    {'Supporter ID': Int64, 'Date Created': Date, 'Q': Enum(categories=['Y', 'N', 'P', 'D']), 'Q Date': Date}
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import polars as pl

from ..errors import AmbiguousDates, APIError, DataShapeError, UnmappedColumns, ValidationError
from ..schemas.date_order import order_for, parse_slash_dates, proven_order
from ..schemas.ens import TRANSACTION
from ..schemas.frames import OPTIN_ANSWERS, UTC_MS, cast_text, empty_frame, parse_temporal
from .export_rows import blank_row, export_rows
from .transaction_types import DONATION_TYPES, RECURRING_TYPES

_log = logging.getLogger("enstoolkit.ens")

__all__ = [
    "DASHBOARD_SUPPORTER", "DEFAULT_TIMEZONE", "EXPORT_TRANSACTION", "csv_header", "export_layout", "header_style",
    "read_supporter_export", "read_transaction_export", "reporting_zone", "supporter_ids_by_email",
    "transaction_dates", "transaction_layout",
]

#: Dashboard-style supporter export headers -> the toolkit's names (the email goes to the account's email field).
DASHBOARD_SUPPORTER = {"Supporter ID": "supporterId", "Supporter Email": "email", "Suppressed": "suppressed",
                       "Date Created": "createdOn", "Date Modified": "modifiedOn"}
#: The documented transaction export's columns, and the names accounts rename them to -> the toolkit's names.
#: ``Campaign Number`` is the number and ``Campaign ID`` the reference name (see :func:`read_transaction_export`).
EXPORT_TRANSACTION = {"Account ID": "accountId", "Supporter ID": "supporterId", "Supporter Email": "email",
                      "Email": "email", "Date Created": "supporterCreated", "Created": "supporterCreated",
                      "Date Modified": "supporterModified", "Modified": "supporterModified",
                      "Campaign Number": "campaignNumber", "Campaign Type": "type", "Campaign ID": "name",
                      "Campaign Date": "campaignDate", "Campaign Time": "campaignTime", "Campaign Status": "status",
                      "EN Transaction ID": "Campaign Data 1"}
#: The reporting time zone of ENS's export files, unless ``ENS_TIMEZONE`` says otherwise.
DEFAULT_TIMEZONE = "US/Eastern"
DATE_NAMES = frozenset({"createdOn", "modifiedOn"})


def _encoding(path: Path) -> str:
    """The file's text encoding: UTF-8 (with or without a byte-order mark), else Windows-1252, said in the log.

    An export that is not UTF-8 is read as Windows-1252 (which covers Latin-1's letters), never with
    replacement characters: "Jörg" stays "Jörg".
    """
    with open(path, "rb") as handle:
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            _log.warning("the export file is not UTF-8: read as Windows-1252 (Latin-1)")
            return "cp1252"


def _ens_error(path: Path, encoding: str) -> APIError:
    """The error ENS wrote in place of an export file ("\\n\\nERROR: ..."), with ENS's own words."""
    with open(path, encoding=encoding, newline="") as handle:
        text = " ".join(handle.read(2000).split())
    return APIError("ENS", 200, f"the export file holds an error from ENS, not data: {text!r}; check the query "
                    "in the ENS dashboard and run the export again", body=text)


def _start(path: Path, encoding: str) -> tuple[list[str], int]:
    """The header row, and the number of lines up to its end (leading blank lines skipped).

    A file with no text gives ``([], 0)``. ENS's error body ("ERROR: ...") raises
    :class:`~enstoolkit.errors.APIError` with ENS's message; a file of blank lines raises
    :class:`~enstoolkit.errors.DataShapeError`.
    """
    blank = 0
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if blank_row(row):
                blank += 1
                continue
            if row[0].lstrip().startswith("ERROR:"):
                raise _ens_error(path, encoding)
            if blank:
                _log.info("export file %s: skipped %d blank line(s) before its header", path.name, blank)
            return row, reader.line_num
        if reader.line_num:
            raise DataShapeError("export file", f"{reader.line_num} blank line(s) and no header",
                                 "a CSV file with a header line: download the export again")
    return [], 0


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file: its first line that is not blank (an empty list for an empty file).

    An ENS error in place of the file ("ERROR: ..." after blank lines, as ENS's export service
    writes it) raises :class:`~enstoolkit.errors.APIError` carrying ENS's message; a file of
    blank lines only raises :class:`~enstoolkit.errors.DataShapeError`: neither reads as an
    empty account.

    Example:
        >>> path = folder / "e.csv"
        >>> _ = path.write_bytes("\\nSupporter ID,Supporter Email,J\\xf6rg\\n1,a@x.org,\\n".encode("cp1252"))
        >>> csv_header(path)
        ['Supporter ID', 'Supporter Email', 'Jörg']
        >>> _ = path.write_text("\\n\\nERROR: the query could not be run\\n")
        >>> try:
        ...     csv_header(path)
        ... except APIError as error:
        ...     print(error.body)
        ERROR: the query could not be run
    """
    return _start(path, _encoding(path))[0]


def header_style(header: Sequence[str]) -> str | None:
    """"api", "dashboard", or None for a header in neither known style.

    Example:
        >>> header_style(["Supporter ID", "Supporter Email", ""]), header_style(["ID", "Mail"])
        ('dashboard', None)
    """
    if "supporterId" in header:
        return "api"
    if "Supporter ID" in header:
        return "dashboard"
    return None


def export_layout(header: Sequence[str], *, optins: Iterable[str] = (), questions: Iterable[str] = ()
                  ) -> dict[str, pl.DataType]:
    """The dtype of each column of a supporter export (by the toolkit's names), decided once from the header.

    Supporter ids are Int64; ``suppressed`` Boolean; opt-in questions :data:`~enstoolkit.schemas.frames.OPTIN_ANSWERS`
    ("Y", "N", "P", "D"); creation and modification dates, and each question's ``"<question> Date"``,
    Date; the rest String.

    Example:
        >>> export_layout(["supporterId", "suppressed", "createdOn", "Q Date"], questions=["Q"])
        {'supporterId': Int64, 'suppressed': Boolean, 'createdOn': Date, 'Q Date': Date}
    """
    optin = set(optins)
    dated = {f"{q} Date" for q in [*questions, *optin]}
    layout: dict[str, pl.DataType] = {}
    for name in header:
        target = DASHBOARD_SUPPORTER.get(name, name)
        if target == "supporterId":
            layout[name] = pl.Int64()
        elif target == "suppressed":
            layout[name] = pl.Boolean()
        elif name in optin:
            layout[name] = OPTIN_ANSWERS
        elif target in DATE_NAMES or name in dated:
            layout[name] = pl.Date()
        else:
            layout[name] = pl.String()
    return layout


def _id_position(header: Sequence[str], style_map: Mapping[str, str], columns: Mapping[str, str] | None
                 ) -> int | None:
    """The position of the column that maps to ``supporterId`` (None when none does)."""
    mapping = {**style_map, **(columns or {})}
    return next((i for i, name in enumerate(header) if name.strip() and mapping.get(name, name) == "supporterId"),
                None)


def _targets(header: Sequence[str], style_map: Mapping[str, str], columns: Mapping[str, str] | None,
             raw: pl.DataFrame) -> list[str | None]:
    """The toolkit's name for each column by position (None: an empty unnamed column, dropped)."""
    mapping = {**style_map, **(columns or {})}
    names: list[str | None] = []
    for i, name in enumerate(header):
        if not name.strip():
            values = raw.get_column(f"c{i}").drop_nulls()
            names.append(f"(unnamed column {i + 1})" if values.str.strip_chars().str.len_chars().sum() else None)
            continue
        names.append(mapping.get(name, name))
    return names


def _date_columns(raw: pl.DataFrame, targets: Sequence[str | None], dated: Iterable[str]) -> dict[str, list[object]]:
    wanted = set(dated)
    return {t: raw.get_column(f"c{i}").drop_nulls().unique().to_list()
            for i, t in enumerate(targets) if t is not None and t in wanted}


def _each_distinct(series: pl.Series, parse: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``parse(series)``, worked out once per distinct value and joined back onto the rows.

    ``parse`` must answer each value on its own (a column-wide decision may only depend on which values
    occur). The distinct values keep the order they first appear in, so the first value that fails is
    the file's first. An export file's dates and times repeat: 763,207 transactions hold about 1,100 days.
    """
    distinct = series.unique(maintain_order=True)
    if distinct.len() * 2 > series.len():
        return parse(series)
    answers = parse(distinct)
    return (pl.DataFrame({"value": series})
            .join(pl.DataFrame({"value": distinct, "answer": answers}), on="value", how="left", nulls_equal=True,
                  maintain_order="left")
            .get_column("answer").alias(answers.name))


def _parse_dates(series: pl.Series, order: str | None, name: str) -> pl.Series:
    def parse(values: pl.Series) -> pl.Series:
        text = values.str.strip_chars().replace("", None)
        if order is not None and text.str.contains("/").fill_null(False).any():
            return parse_slash_dates(text, order, name)
        return parse_temporal(text, pl.Date(), name)

    return _each_distinct(series, parse)


def _time_of_day(text: pl.Series) -> pl.Series:
    """Times written HH:MM:SS (or HH:MM) as Durations from midnight (null where not a time), read as a date's."""
    midnight = dt.datetime(2000, 1, 1)
    day = pl.lit("2000-01-01 ")
    stamps = pl.select(pl.coalesce(
        (day + text).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="ms"),
        (day + text).str.to_datetime("%Y-%m-%d %H:%M", strict=False, time_unit="ms"))).to_series()
    return (stamps - midnight).alias(text.name)


def read_supporter_export(path: Path, *, email_field: str, optins: Iterable[str] = (), questions: Iterable[str] = (),
                          columns: Mapping[str, str] | None = None, date_order: str | None = None) -> pl.DataFrame:
    """A supporter export file as a typed frame, whatever its header style (see the module's description).

    Columns come out under the toolkit's names: ``supporterId``, ``suppressed``, the account's
    field names (the dashboard's "Supporter Email" as ``email_field``), ``createdOn``,
    ``modifiedOn``, each question and its ``"<question> Date"``. ``columns`` maps a file's own
    names to those (``{"Their ID": "supporterId"}``).

    Example:
        >>> f = folder / "x.csv"
        >>> _ = f.write_text("Supporter ID,Supporter Email,Date Created,\\n7,a@x.org,25/03/2026,\\n")
        >>> read_supporter_export(f, email_field="Email Address").row(0)
        (7, 'a@x.org', datetime.date(2026, 3, 25))
    """
    encoding = _encoding(path)
    header, start = _start(path, encoding)
    if not header:
        return empty_frame({"supporterId": pl.Int64(), email_field: pl.String()})
    style = header_style([(columns or {}).get(h, h) for h in header])
    style_map = dict(DASHBOARD_SUPPORTER) if style == "dashboard" else {}
    if style_map and email_field not in header:
        style_map["Supporter Email"] = email_field
    else:
        style_map.pop("Supporter Email", None)
    with export_rows(path, encoding, header, start, _id_position(header, style_map, columns)) as raw:
        return _supporters(raw, header, style_map, columns, email_field, optins, questions, date_order)


def _supporters(raw: pl.DataFrame, header: Sequence[str], style_map: Mapping[str, str],
                columns: Mapping[str, str] | None, email_field: str, optins: Iterable[str], questions: Iterable[str],
                date_order: str | None) -> pl.DataFrame:
    """A supporter export's cells (:func:`~enstoolkit.ens.export_rows.export_rows`) typed by their columns."""
    targets = _targets(header, style_map, columns, raw)
    present = {t for t in targets if t}
    missing = [n for n in ("supporterId", email_field) if n not in present]
    if missing:
        raise UnmappedColumns("the supporter export", missing, list(header),
                              f"export_supporters(..., columns={{'<your id column>': 'supporterId', "
                              f"'<your email column>': {email_field!r}}})")
    optin = set(optins)
    question_names = list(questions)
    dated = DATE_NAMES | {f"{q} Date" for q in [*question_names, *optin]}
    order = order_for(_date_columns(raw, targets, dated), date_order)
    out = []
    for i, target in enumerate(targets):
        if target is None:
            continue
        cells = raw.get_column(f"c{i}").alias(target)
        if target == "supporterId":
            out.append(cast_text(cells, pl.Int64(), target))
        elif target == "suppressed":
            out.append(cast_text(cells, pl.Boolean(), target))
        elif target in optin:
            out.append(cast_text(cells, OPTIN_ANSWERS, target))
        elif target in dated:
            out.append(_parse_dates(cells, order, target))
        else:
            out.append(cells)
    return pl.DataFrame(out)


def reporting_zone(name: str | None = None) -> str:
    """The account's reporting time zone: ``name``, else the ``ENS_TIMEZONE`` setting, else US/Eastern.

    ENS writes ``Campaign Date`` and ``Campaign Time`` in US/Eastern ("The reference timezone for
    this service is US/Eastern"). A name that is not a time zone raises
    :class:`~enstoolkit.errors.ValidationError` naming the setting: never a shifted time.

    Example:
        >>> reporting_zone(), reporting_zone("Europe/London")
        ('US/Eastern', 'Europe/London')
        >>> try:
        ...     reporting_zone("US/Eastren")
        ... except ValidationError as error:
        ...     print(error.argument)
        ENS_TIMEZONE (timezone=)
    """
    import os
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    zone = name if name is not None else (os.environ.get("ENS_TIMEZONE") or DEFAULT_TIMEZONE)
    try:
        if not isinstance(zone, str) or not zone.strip() or zone != zone.strip():
            raise ValueError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("ENS_TIMEZONE (timezone=)", zone, "a time zone name such as 'US/Eastern' (ENS's "
                              "reporting zone) or 'America/Chicago'") from None
    return zone


def transaction_layout(header: Sequence[str], columns: Mapping[str, str] | None = None) -> str | None:
    """"documented" (the vendor's layout, renamed columns too), "api" (the transaction list's keys), or None.

    Example:
        >>> transaction_layout(["Account ID", "Supporter ID", "Campaign Number", "Campaign Type", ""])
        'documented'
        >>> transaction_layout(["supporterId", "id", "type", "campaignId"]), transaction_layout(["ID", "Page"])
        ('api', None)
    """
    names = [(columns or {}).get(h, h) for h in header]
    if {"supporterId", "campaignId"} <= set(names) and "Campaign Type" not in names:
        return "api"
    if any(n in EXPORT_TRANSACTION for n in names if n.startswith("Campaign")):
        return "documented"
    return None


def _eastern(days: pl.Series, times: pl.Series, zone: str) -> pl.Series:
    """``Campaign Date`` (a Date) + ``Campaign Time`` (text) read in ``zone``, as UTC instants.

    A time that is not HH:MM:SS (or HH:MM) raises naming it, and so does a local time the zone
    skips (a clock change): the ``ENS_TIMEZONE`` setting is then wrong. An hour the zone has
    twice (the autumn change) is read as its first occurrence, and counted in the log.
    """
    text = times.str.strip_chars().replace("", None)
    naive = days.cast(pl.Datetime("ms")) + _each_distinct(text, _time_of_day)  # each time of day read once
    bad = text.filter(naive.is_null() & text.is_not_null() & days.is_not_null())
    if bad.len():
        raise DataShapeError("Campaign Time", bad[0], "a time written HH:MM:SS")
    local = naive.dt.replace_time_zone(zone, ambiguous="null", non_existent="null")
    skipped = naive.filter(local.is_null() & naive.is_not_null())
    if skipped.len():
        earliest = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        gap = naive.filter(earliest.is_null() & naive.is_not_null())
        if gap.len():
            raise DataShapeError("Campaign Date/Campaign Time", str(gap[0]),
                                 f"a local time in {zone} (the clocks skip it): set ENS_TIMEZONE (or timezone=) to "
                                 "the account's reporting time zone")
        _log.warning("the transaction file has %d time(s) in the hour %s has twice (e.g. %s): read as the first",
                     skipped.len(), zone, skipped[0])
        local = earliest
    return local.dt.convert_time_zone("UTC").cast(UTC_MS)


def _whole_numbers(series: pl.Series, column: str) -> pl.Series:
    """Text cells as Int64 where they are whole numbers; other text is logged (kept in its own column), never raised."""
    text = series.str.strip_chars().replace("", None)
    numbers = text.cast(pl.Int64, strict=False)
    other = text.filter(numbers.is_null() & text.is_not_null())
    if other.len():
        _log.warning("%s: %d value(s) are not numbers (e.g. %r): kept as text in campaignNumber, campaignId null",
                     column, other.len(), other[0])
    return numbers


def read_transaction_export(path: Path, *, columns: Mapping[str, str] | None = None, date_order: str | None = None,
                            timezone: str | None = None) -> pl.DataFrame:
    """A "Transaction" export file as a typed frame: ``supporterId`` and the transaction columns, then extras.

    The vendor's documented layout (``Account ID, Supporter ID, Supporter Email, Date Created, Date
    Modified, Campaign Number, Campaign Type, Campaign ID, Campaign Date, Campaign Time, Campaign
    Status, Campaign Data 1..N``, tagged supporter fields, an unnamed last column), with the
    renamings accounts make (``Email``, ``Created``, ``EN Transaction ID``), or without a
    ``Supporter ID`` (people by ``email`` only; see :func:`supporter_ids_by_email`):

    - ``Campaign Number`` -> ``campaignId`` (text there is kept in ``campaignNumber``, campaignId null);
      ``Campaign ID`` -> ``name``, exactly as written (trailing spaces kept); ``Campaign Type`` -> ``type``
      (every code kept, known or not: :mod:`enstoolkit.ens.transaction_types`); ``Campaign Status`` ->
      ``status`` (a question row's answer: Y, N, P, D);
    - ``createdOn`` is ``Campaign Date`` (the account's day) and ``createdDate`` the moment in UTC,
      ``Campaign Date`` + ``Campaign Time`` read in ``timezone`` (US/Eastern unless ``ENS_TIMEZONE``
      says otherwise: :func:`reporting_zone`);
    - donation rows get ``id`` (``Campaign Data 1``), ``amount`` (``Campaign Data 4``, Float64),
      ``currency`` (``Campaign Data 5``) and ``recurringPayment``;
    - ``isSupporter`` is False on account-level rows (``Supporter ID`` 0): kept, never dropped.

    The project's older style (the transaction list's keys) is read too. A file in neither raises
    :class:`~enstoolkit.errors.UnmappedColumns` naming the ``columns=`` mapping that reads it.

    Example:
        >>> f = folder / "t.csv"
        >>> _ = f.write_text("Supporter ID,Campaign Number,Campaign Type,Campaign ID,Campaign Date,Campaign Time,\\n"
        ...                  "7,10100,DCF,Sign up ,2024-12-01,13:53:02,\\n")
        >>> read_transaction_export(f).select("supporterId", "campaignId", "name", "createdDate").row(0)
        (7, 10100, 'Sign up ', datetime.datetime(2024, 12, 1, 18, 53, 2, tzinfo=zoneinfo.ZoneInfo(key='UTC')))
    """
    zone = reporting_zone(timezone)
    wanted = {"supporterId": pl.Int64(), **TRANSACTION}
    encoding = _encoding(path)
    header, start = _start(path, encoding)
    if not header:
        return empty_frame({**wanted, "isSupporter": pl.Boolean()})
    layout = transaction_layout(header, columns)
    if layout is None:
        raise UnmappedColumns("the transaction export", ["Campaign Number", "Campaign Type"], list(header),
                              "export_transactions(..., columns={'<your supporter id column>': 'Supporter ID', "
                              "'<your page number column>': 'Campaign Number', '<your type column>': 'Campaign Type', "
                              "'<your date column>': 'Campaign Date', '<your time column>': 'Campaign Time'})")
    if layout == "api":
        return _read_api_transactions(path, encoding, header, start, columns, date_order, wanted)
    style_map = {**EXPORT_TRANSACTION, **{k: EXPORT_TRANSACTION.get(v, v) for k, v in (columns or {}).items()}}
    with export_rows(path, encoding, header, start, _id_position(header, style_map, None)) as raw:
        return _documented_transactions(raw, header, style_map, date_order, zone, wanted)


def _documented_transactions(raw: pl.DataFrame, header: Sequence[str], style_map: Mapping[str, str],
                             date_order: str | None, zone: str, wanted: dict[str, pl.DataType]) -> pl.DataFrame:
    """A transaction file's cells in the documented layout typed (see :func:`read_transaction_export`)."""
    targets = _targets(header, style_map, None, raw)
    present = [t for t in targets if t]
    dupes = sorted({t for t in present if present.count(t) > 1})
    if dupes:
        raise DataShapeError("transaction export header", dupes, "each column once: map only one of them with "
                             "columns={...}")
    need = ["campaignNumber", "type", "campaignDate"]
    missing = [{"campaignNumber": "Campaign Number", "type": "Campaign Type", "campaignDate": "Campaign Date"}[n]
               for n in need if n not in present]
    if "supporterId" not in present and "email" not in present:
        missing.append("Supporter ID (or Supporter Email)")
    if missing:
        raise UnmappedColumns("the transaction export", missing, list(header),
                              "export_transactions(..., columns={'<your column>': '" + missing[0].split(" (")[0]
                              + "'}) (the documented names: Supporter ID, Campaign Number, Campaign Type, "
                              "Campaign ID, Campaign Date, Campaign Time)")
    cells = {t: raw.get_column(f"c{i}").alias(t) for i, t in enumerate(targets) if t is not None}
    order = order_for(_date_columns(raw, targets, {"campaignDate", "supporterCreated", "supporterModified"}),
                      date_order)
    days = _parse_dates(cells["campaignDate"], order, "Campaign Date")
    kind = cells["type"].str.strip_chars()
    number = cells["campaignNumber"].str.strip_chars().replace("", None)
    out: dict[str, pl.Series] = {}
    ids = cast_text(cells["supporterId"], pl.Int64(), "Supporter ID") if "supporterId" in cells else \
        pl.Series("supporterId", [None] * raw.height, pl.Int64())
    out["supporterId"] = ids.alias("supporterId")
    donation = kind.is_in(list(DONATION_TYPES))
    data1 = cells.get("Campaign Data 1")
    tx_ids = (data1.str.strip_chars().cast(pl.Int64, strict=False) if data1 is not None
              else pl.Series([None] * raw.height, dtype=pl.Int64()))
    out["id"] = pl.select(pl.when(donation).then(tx_ids)).to_series().alias("id")
    out["type"] = kind.alias("type")
    out["name"] = cells["name"] if "name" in cells else pl.Series("name", [None] * raw.height, pl.String())
    out["campaignId"] = _whole_numbers(number, "Campaign Number").alias("campaignId")
    out["createdOn"] = days.alias("createdOn")
    times = cells.get("campaignTime", pl.Series([None] * raw.height, dtype=pl.String()))
    out["createdDate"] = _eastern(days, times, zone).alias("createdDate")
    out["status"] = cells["status"] if "status" in cells else pl.Series("status", [None] * raw.height, pl.String())
    amount_text = cells.get("Campaign Data 4")
    if amount_text is not None:
        given = amount_text.str.strip_chars().replace("", None)
        amounts = given.cast(pl.Float64, strict=False)
        bad = given.filter(donation & amounts.is_null() & given.is_not_null())
        if bad.len():
            raise DataShapeError("Campaign Data 4 (a donation's amount)", bad[0], "an amount without currency "
                                 "symbol, such as 5.0")
        out["amount"] = pl.select(pl.when(donation).then(amounts)).to_series().alias("amount")
    currency = cells.get("Campaign Data 5")
    if currency is not None:
        out["currency"] = pl.select(pl.when(donation).then(currency.str.strip_chars())).to_series().alias("currency")
    out["recurringPayment"] = pl.select(pl.when(donation).then(kind.is_in(list(RECURRING_TYPES)))).to_series() \
        .alias("recurringPayment")
    email = cells.get("email")
    has_email = (email.str.strip_chars().fill_null("") != "") if email is not None else None
    supporter = (ids != 0) if "supporterId" in cells else has_email
    out["isSupporter"] = pl.Series("isSupporter", supporter).fill_null(False)
    for name in ("supporterCreated", "supporterModified"):
        if name in cells:
            out[name] = _parse_dates(cells[name], order, name)
    out["campaignNumber"] = number.alias("campaignNumber")
    for name, series in cells.items():
        if name not in out and name not in ("campaignDate", "campaignTime"):
            out[name] = series
    frame = pl.DataFrame(list(out.values()))
    filled = [pl.lit(None, dtype).alias(n) for n, dtype in wanted.items() if n not in frame.columns]
    extras = [n for n in frame.columns if n not in wanted]
    return frame.with_columns(filled).select(*wanted, *extras)


def _read_api_transactions(path: Path, encoding: str, header: list[str], start: int,
                           columns: Mapping[str, str] | None, date_order: str | None,
                           wanted: dict[str, pl.DataType]) -> pl.DataFrame:
    """The project's older transaction file: the transaction list's own keys, ``supporterId`` first."""
    with export_rows(path, encoding, header, start, _id_position(header, {}, columns)) as raw:
        return _api_transactions(raw, header, columns, date_order, wanted)


def _api_transactions(raw: pl.DataFrame, header: Sequence[str], columns: Mapping[str, str] | None,
                      date_order: str | None, wanted: dict[str, pl.DataType]) -> pl.DataFrame:
    """An older-style transaction file's cells typed by their keys."""
    targets = _targets(header, {}, columns, raw)
    order = order_for(_date_columns(raw, targets, {"createdOn"}), date_order)
    out: dict[str, pl.Series] = {}
    for i, name in enumerate(targets):
        if name is None:
            continue
        series = raw.get_column(f"c{i}").alias(name)
        dtype = wanted.get(name)
        if name == "createdOn":
            out[name] = _parse_dates(series, order, name)
        elif dtype is not None:
            out[name] = cast_text(series, dtype, name)
        else:
            out[name] = series
    frame = pl.DataFrame(list(out.values()))
    frame = frame.with_columns((pl.col("supporterId") != 0).fill_null(False).alias("isSupporter"))
    filled = [pl.lit(None, dtype).alias(n) for n, dtype in wanted.items() if n not in frame.columns]
    extras = [n for n in frame.columns if n not in wanted]
    return frame.with_columns(filled).select(*wanted, *extras)


def supporter_ids_by_email(transactions: pl.DataFrame, supporters: pl.DataFrame, email_field: str) -> pl.DataFrame:
    """A transaction file without ``Supporter ID`` (the "User data" format) with its people's ids, by email.

    Each row's ``email`` is matched exactly (as ENS wrote it in both files) to ``supporters``'
    ``email_field``. An email that more than one supporter holds raises
    :class:`~enstoolkit.errors.DataShapeError` naming it (which one made the transaction cannot
    be told); an email no supporter holds leaves ``supporterId`` null (not in the supporter file).
    Rows that already have a ``supporterId`` keep it (a file with every id is returned as it is).

    Example:
        >>> tx = pl.DataFrame({"supporterId": [None, None], "email": ["a@x.org", "b@x.org"]},
        ...                   schema={"supporterId": pl.Int64, "email": pl.String})
        >>> people = pl.DataFrame({"supporterId": [7], "Email Address": ["a@x.org"]})
        >>> supporter_ids_by_email(tx, people, "Email Address").get_column("supporterId").to_list()
        [7, None]
    """
    if "supporterId" in transactions.columns:
        people = transactions.filter(pl.col("isSupporter")) if "isSupporter" in transactions.columns else transactions
        if not people.get_column("supporterId").null_count():
            return transactions  # every row has its id already
    if "email" not in transactions.columns:
        raise ValidationError("transactions", transactions.columns[:12], "a transaction frame with an email column")
    if email_field not in supporters.columns:
        raise ValidationError("email_field", email_field,
                              f"a column of supporters ({', '.join(supporters.columns[:12])})")
    book = supporters.select(pl.col(email_field).alias("email"), pl.col("supporterId").alias("__id")) \
        .filter(pl.col("email").is_not_null() & (pl.col("email") != ""))
    shared = book.group_by("email").len().filter(pl.col("len") > 1).get_column("email")
    used = transactions.get_column("email").drop_nulls().unique()
    clash = shared.filter(shared.is_in(used.implode()))
    if clash.len():
        raise DataShapeError("email (transaction file without Supporter ID)", clash.sort().head(3).to_list(),
                             "an address one supporter holds: the file cannot tell these supporters apart; "
                             "export with the Supporter ID column (format 'Transaction')")
    joined = transactions.join(book.unique("email"), on="email", how="left", maintain_order="left")
    return joined.with_columns(pl.coalesce("supporterId", "__id").alias("supporterId")).drop("__id")


def transaction_dates(frame: pl.DataFrame, date_order: str | None) -> pl.DataFrame:
    """A transaction list's ``createdOn`` (text as ENS sent it) as a Date, in the account's order.

    The order is the configured one, else the one the values prove, else, value by value, the
    reading that agrees with the transaction's ``createdDate`` (a day's slack for time zones). A
    value that still reads two ways raises :class:`~enstoolkit.errors.AmbiguousDates` naming it:
    day and month are never swapped in silence.

    Example:
        >>> df = pl.DataFrame({"createdOn": ["03/04/2026"], "createdDate": [dt.datetime(2026, 3, 4, tzinfo=dt.UTC)]})
        >>> transaction_dates(df, None).item(0, "createdOn")
        datetime.date(2026, 3, 4)
    """
    text = frame.get_column("createdOn").cast(pl.String).str.strip_chars().replace("", None)
    if text.null_count() == text.len():
        return frame.with_columns(pl.lit(None, pl.Date()).alias("createdOn"))
    order = date_order or proven_order(text.drop_nulls().unique().to_list(), column="createdOn")
    if order is not None or not text.str.contains("/").fill_null(False).any():
        return frame.with_columns(_parse_dates(text, order, "createdOn"))
    dmy = text.str.to_date("%d/%m/%Y", strict=False)
    mdy = text.str.to_date("%m/%d/%Y", strict=False)
    stamped = frame.get_column("createdDate").dt.date() if "createdDate" in frame.columns else None

    def near(day: pl.Series) -> pl.Series:
        if stamped is None:
            return pl.Series([False] * len(day))
        return ((day - stamped).dt.total_days().abs() <= 1).fill_null(False)

    chosen = (pl.DataFrame({"dmy": dmy, "mdy": mdy, "a": near(dmy), "b": near(mdy)})
              .select(pl.when(pl.col("dmy") == pl.col("mdy")).then(pl.col("dmy"))
                      .when(pl.col("a") & ~pl.col("b")).then(pl.col("dmy"))
                      .when(pl.col("b") & ~pl.col("a")).then(pl.col("mdy")))
              .to_series())
    unresolved = text.filter(chosen.is_null() & text.is_not_null())
    if unresolved.len():
        raise AmbiguousDates("createdOn", unresolved.head(3).to_list(), "ENSClient(date_order='dmy' or 'mdy')")
    return frame.with_columns(chosen.alias("createdOn"))
