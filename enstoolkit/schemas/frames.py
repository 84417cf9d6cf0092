"""The one typing path: API data becomes a frame with the dtypes declared in :mod:`enstoolkit.schemas`.

:func:`read_frame` takes response bytes (or decoded records) and a schema; everything the
clients return goes through it. Nothing here infers a type. Values are coerced to the declared dtype whatever form
the API used: numbers sent as strings (and strings sent as numbers), booleans as
``"Y"``/``"N"``/``"true"``, and dates as epoch milliseconds, epoch seconds,
``YYYY-MM-DD``, ISO 8601 or slash dates (DD/MM/YYYY or MM/DD/YYYY: the order is proven by
the values or configured, never guessed). A value that cannot be coerced raises
:class:`~enstoolkit.errors.DataShapeError` naming the column.

Example:
    >>> from enstoolkit.schemas.frames import build_frame
    >>> build_frame([{"id": "7", "when": "21/03/2018"}], {"id": pl.Int64, "when": pl.Date}).row(0)
    (7, datetime.date(2018, 3, 21))
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from ..errors import AmbiguousDates, DataShapeError, ValidationError
from .date_order import FORMATS, PARAMETER, proven_order

__all__ = ["OPTIN_ANSWERS", "UTC_MS", "answers_to", "build_frame", "cast_text", "empty_frame", "optins",
           "parse_bool", "parse_temporal", "read_frame"]

UTC_MS = pl.Datetime("ms", "UTC")
#: An opt-in answer: "Y" (opted in), "N" (opted out) or "P" (a double opt-in still pending); null: never answered.
OPTIN_ANSWERS = pl.Enum(["Y", "N", "P", "D"])
_OPTIN_TEXT = {"y": "Y", "yes": "Y", "true": "Y", "1": "Y", "n": "N", "no": "N", "false": "N", "0": "N",
               "p": "P", "pending": "P", "d": "D"}

_TRUE = frozenset({"true", "y", "yes", "1", "t"})
_FALSE = frozenset({"false", "n", "no", "0", "f", ""})
_INT_RE = re.compile(r"^[+-]?\d+$")
_EPOCH_SECONDS_LIMIT = 100_000_000_000  # below: epoch seconds; above: milliseconds
# A timestamp below this (2001-09-09 in seconds) is not one ENS or Encharge sends: 20180321 is a date
# written YYYYMMDD, not 22 August 1970. Such numbers raise instead of becoming a date.
_EPOCH_FLOOR = 1_000_000_000
_SLASH_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"


def empty_frame(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A frame with no rows that keeps every column and dtype.

    Example:
        >>> empty_frame({"a": pl.Int64}).schema
        Schema([('a', Int64)])
    """
    return pl.DataFrame([], schema=dict(schema))


# -- scalar coercion ---------------------------------------------------------------------


def _to_str(value: Any, column: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


_INT64 = (-(2**63), 2**63 - 1)


def _to_int(value: Any, column: str) -> int | None:
    out = _to_int_unchecked(value, column)
    if out is not None and not _INT64[0] <= out <= _INT64[1]:
        raise DataShapeError(column, value, "a whole number that fits in 64 bits")
    return out


def _to_int_unchecked(value: Any, column: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):  # true is not the number 1: a shape we do not know, said so
        raise DataShapeError(column, value, "a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise DataShapeError(column, value, "a whole number")
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        if _INT_RE.match(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            raise DataShapeError(column, value, "a whole number") from None
        if number.is_integer():
            return int(number)
    raise DataShapeError(column, value, "a whole number")


def _to_float(value: Any, column: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise DataShapeError(column, value, "a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "") if value.count(",") and "." in value else value.strip()
        if text == "":
            return None
        try:
            number = float(text)
        except ValueError:
            raise DataShapeError(column, value, "a number") from None
        if math.isnan(number):
            return None
        return number
    raise DataShapeError(column, value, "a number")


def parse_bool(value: Any, true: frozenset[str] = _TRUE, false: frozenset[str] = _FALSE) -> bool | None:
    """A boolean as the APIs write one: a bool, 0 or 1, or a text in ``true`` or ``false``; else None.

    Example:
        >>> parse_bool("Y"), parse_bool(0), parse_bool("maybe"), parse_bool("y", frozenset({"true"}), frozenset())
        (True, False, None, None)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in true or text in false:
            return text in true
    return None


def _to_bool(value: Any, column: str) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    result = parse_bool(value)
    if result is None:
        raise DataShapeError(column, value, "a boolean (true/false, Y/N)")
    return result


def _to_datetime(value: Any, column: str, slash_format: str | None = None) -> dt.datetime | None:
    """One value of any ENS/Encharge date form as an aware UTC datetime (slash dates in ``slash_format``)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, bool):
        raise DataShapeError(column, value, "a date or timestamp")
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number) or abs(number) > 1e16:
            raise DataShapeError(column, value, "a date or timestamp")
        if abs(number) < _EPOCH_FLOOR:
            raise DataShapeError(column, value, "a date or timestamp (a number this small is neither; "
                                 "a date written YYYYMMDD must be converted first)")
        millis = number if abs(number) >= _EPOCH_SECONDS_LIMIT else number * 1000
        try:
            return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=millis)
        except OverflowError:
            raise DataShapeError(column, value, "a date or timestamp") from None
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return _to_datetime(int(text), column)
        try:
            if "/" in text and len(text) <= 10:
                if not re.match(_SLASH_DATE, text):
                    raise DataShapeError(column, value, "a date with a four-digit year (DD/MM/YYYY or MM/DD/YYYY)")
                if slash_format is None:
                    raise AmbiguousDates(column, [text], "date_order='dmy' or 'mdy'")
                return dt.datetime.strptime(text, slash_format).replace(tzinfo=dt.UTC)
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (ValueError, IndexError):
            raise DataShapeError(column, value, "a date or timestamp") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    raise DataShapeError(column, value, "a date or timestamp")


def _to_date(value: Any, column: str) -> dt.date | None:
    parsed = _to_datetime(value, column)
    return None if parsed is None else parsed.date()


def _coerce(value: Any, dtype: Any, column: str) -> Any:
    """Coerce one (possibly nested) value to ``dtype``; used for nested columns."""
    if isinstance(dtype, type):
        dtype = dtype()
    if value is None:
        return None
    if isinstance(dtype, pl.String):
        return _to_str(value, column)
    if dtype.is_integer():
        return _to_int(value, column)
    if dtype.is_float():
        return _to_float(value, column)
    if isinstance(dtype, pl.Boolean):
        return _to_bool(value, column)
    if isinstance(dtype, pl.Datetime):
        return _to_datetime(value, column)
    if isinstance(dtype, pl.Date):
        return _to_date(value, column)
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        if isinstance(inner, type):
            inner = inner()
        if isinstance(value, str):
            if isinstance(inner, pl.String):
                return [part.strip() for part in value.split(",") if part.strip()]
            raise DataShapeError(column, value, "a list")
        if isinstance(value, Mapping) and len(value) == 1:
            # ENS wraps some lists, e.g. {"data": [...]}
            (only,) = value.values()
            if isinstance(only, list):
                value = only
        if not isinstance(value, (list, tuple)):
            raise DataShapeError(column, value, "a list")
        return [_coerce(item, inner, column) for item in value]
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, Mapping):
            raise DataShapeError(column, value, "an object")
        out = {}
        for field in dtype.fields:
            item = value.get(field.name)
            if item is None and field.name == "members":
                item = value.get("member")  # the ENS spec's schema and example disagree
            out[field.name] = _coerce(item, field.dtype, f"{column}.{field.name}")
        return out
    raise DataShapeError(column, value, str(dtype))


_SCALAR = {
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
}


#: What Python's ``str.strip()`` removes (polars' own whitespace leaves out \x1c-\x1f).
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())


def _plain_column(name: str, values: list[Any], dtype: pl.DataType) -> pl.Series | None:
    """The column built by polars at once when every value already has the dtype's Python type (text for
    text, numbers for floats, booleans, comma-joined text for lists of text): the same result as one
    coercion per value, without the per-value calls. None when a value needs the tolerant route."""
    if isinstance(dtype, pl.String):
        if all(v is None or type(v) is str for v in values):
            return pl.Series(name, values, dtype=pl.String)
    elif isinstance(dtype, pl.Boolean):
        if all(v is None or type(v) is bool for v in values):
            return pl.Series(name, values, dtype=pl.Boolean)
    elif dtype.is_float():
        if all(v is None or type(v) is float or type(v) is int for v in values):
            return pl.Series(name, values, dtype=dtype, strict=False)
    elif dtype == pl.List(pl.String) and all(v is None or type(v) is str for v in values):
        text = pl.Series(name, values, dtype=pl.String)  # Encharge's tags: "a, b" -> ["a", "b"]
        parts = text.str.split(",").list.eval(pl.element().str.strip_chars(_WHITESPACE))
        return parts.list.eval(pl.element().filter(pl.element() != "")).cast(pl.List(pl.String))
    return None


def _column(name: str, values: list[Any], dtype: pl.DataType, date_order: str | None = None) -> pl.Series:
    if isinstance(dtype, type):
        dtype = dtype()
    if isinstance(dtype, (pl.Datetime, pl.Date)):
        return parse_temporal(values, dtype, name, date_order=date_order)
    if isinstance(dtype, pl.Enum) and dtype == OPTIN_ANSWERS:
        return cast_text(pl.Series(name, [_to_str(v, name) for v in values], dtype=pl.String), dtype, name)
    fast = _plain_column(name, values, dtype)
    if fast is not None:
        return fast
    if isinstance(dtype, pl.String):
        fn = _SCALAR["str"]
    elif dtype.is_integer():
        fn = _SCALAR["int"]
    elif dtype.is_float():
        fn = _SCALAR["float"]
    elif isinstance(dtype, pl.Boolean):
        fn = _SCALAR["bool"]
    else:
        return pl.Series(name, [_coerce(v, dtype, name) for v in values], dtype=dtype)
    return pl.Series(name, [fn(v, name) for v in values], dtype=dtype)


def parse_temporal(values: Sequence[Any] | pl.Series, dtype: pl.DataType = UTC_MS, name: str = "",
                   *, date_order: str | None = None) -> pl.Series:
    """Parse a column of mixed date forms into ``Date`` or ``Datetime(UTC)``.

    Epoch milliseconds, epoch seconds, ``YYYY-MM-DD``, ISO 8601 and slash dates may be
    mixed in one column. Slash dates are read in ``date_order`` ("dmy" DD/MM/YYYY or "mdy"
    MM/DD/YYYY) when given, else in the order the column's own values prove (see
    :mod:`enstoolkit.schemas.date_order`); when every slash date reads both ways and no order is given,
    :class:`~enstoolkit.errors.AmbiguousDates` is raised: day and month are never swapped in
    silence. Empty strings become null.

    Example:
        >>> parse_temporal([1487353181180, "2018-12-04", "21/03/2018", None], pl.Date).to_list()
        [datetime.date(2017, 2, 17), datetime.date(2018, 12, 4), datetime.date(2018, 3, 21), None]
        >>> parse_temporal(["01/03/2018"], pl.Date, date_order="mdy").to_list()
        [datetime.date(2018, 1, 3)]
    """
    if isinstance(dtype, type):
        dtype = dtype()
    if isinstance(values, pl.Series) and (values.dtype == pl.String or values.dtype.is_integer()):
        series = values.cast(pl.String)  # vectorised: no Python objects for a whole column
    else:
        items = values.to_list() if isinstance(values, pl.Series) else values
        series = pl.Series([None if v is None else _to_str(v, name) for v in items], dtype=pl.String)
    slash_format = None
    if series.str.contains(r"^\s*\d{1,2}/\d{1,2}/\d{4}\s*$").fill_null(False).any():
        order = date_order or proven_order(series.drop_nulls().unique().to_list(), column=name or "date")
        if order is None:
            examples = series.filter(series.str.contains("/").fill_null(False)).head(3).to_list()
            raise AmbiguousDates(name or "date", [str(e) for e in examples], PARAMETER)
        slash_format = FORMATS[order]
    frame = pl.DataFrame({"s": series})
    s = pl.col("s").str.strip_chars()
    number = s.cast(pl.Int64, strict=False)
    epoch = pl.when(s.str.contains(r"^[+-]?\d+$") & (number.abs() >= _EPOCH_FLOOR)).then(
        pl.when(number.abs() < _EPOCH_SECONDS_LIMIT).then(number * 1000).otherwise(number)
    )
    iso_datetime = pl.when(s.str.contains(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")).then(s)
    parsed = pl.coalesce(
        epoch.cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
        s.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
        pl.when(s.str.contains(_SLASH_DATE)).then(s).str.to_date(slash_format or "%d/%m/%Y", strict=False)
        .cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
        iso_datetime.str.to_datetime(strict=False, time_zone="UTC", time_unit="ms"),
    )
    out = frame.select(raw=s, parsed=parsed)
    failed = out.filter(pl.col("raw").is_not_null() & (pl.col("raw") != "") & pl.col("parsed").is_null())
    if failed.height:
        # Fall back to the per-value parser (offsets, odd ISO forms) before giving up.
        fixed = [_to_datetime(v, name, slash_format) for v in series.to_list()]
        series = pl.Series(name, fixed, dtype=UTC_MS)
    else:
        series = out.get_column("parsed").alias(name)
    if isinstance(dtype, pl.Date):
        return series.dt.date()
    if isinstance(dtype, pl.Datetime) and (dtype.time_unit != "ms" or dtype.time_zone != "UTC"):
        return series.cast(dtype)
    return series


def build_frame(
    records: Iterable[Mapping[str, Any]],
    schema: Mapping[str, pl.DataType],
    *,
    extra: bool = False,
    date_order: str | None = None,
) -> pl.DataFrame:
    """Build a frame from API records with an explicit schema.

    Args:
        records: JSON objects as the API sent them.
        schema: column name -> dtype; missing keys become nulls.
        extra: keep keys not in ``schema`` as String columns after the declared ones
            (in order of first appearance), so nothing is dropped.
        date_order: how slash dates are written ("dmy" or "mdy"), when known.

    Example:
        >>> build_frame([{"supporterId": "5", "suppressed": "false"}],
        ...             {"supporterId": pl.Int64(), "suppressed": pl.Boolean()}).row(0)
        (5, False)
    """
    rows = [r for r in records]
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DataShapeError(f"row {i}", row, "an object")
    full: dict[str, pl.DataType] = dict(schema)
    if extra:
        for row in rows:
            for key in row:
                if key not in full:
                    full[key] = pl.String()
    if not rows:
        return empty_frame(full)
    columns = [_column(name, [row.get(name) for row in rows], dtype, date_order) for name, dtype in full.items()]
    return pl.DataFrame(columns)


OPTIN_TYPES = frozenset({"OPTIN", "OPT", "CONFIRMATION", "CONF"})


def answers_to(question_id: int | None, name: str) -> pl.Expr:
    """True for the answers (``questions[]`` items, unnested) given to one question of the account.

    A supporter record's ``questions[].id`` is the ``questionId`` of ``/supporter/questions``, and
    the names may differ: ENS's own examples call question 279 "Opt-in" in a record and "Opt-in
    EMAIL (single)" in the list. So an answer is matched by id; by ``name`` only where an id is
    absent (the question's, or the answer's).

    Example:
        >>> answers = pl.DataFrame({"id": [279, None, 784], "name": ["Opt-in", "Opt-in EMAIL (single)", "Opt-in"]},
        ...                        schema={"id": pl.Int64, "name": pl.String})
        >>> answers.filter(answers_to(279, "Opt-in EMAIL (single)")).rows()
        [(279, 'Opt-in'), (None, 'Opt-in EMAIL (single)')]
        >>> answers.filter(answers_to(None, "Opt-in")).height   # no id known: by name
        2
    """
    by_name = pl.col("name") == name
    if question_id is None:
        return by_name
    return pl.when(pl.col("id").is_null()).then(by_name).otherwise(pl.col("id") == question_id).fill_null(False)


def _question_columns(questions: Sequence[str] | Mapping[int, str] | pl.DataFrame | str
                      ) -> list[tuple[int | None, str]]:
    """(questionId or None, column name) for each question asked for, checked."""
    expected = ("question names, a mapping of questionId -> column name, or the frame of "
                "ENSClient.get_questions() (questionId, name, type)")
    pairs: list[tuple[int | None, str]]
    if isinstance(questions, str):
        pairs = [(None, questions)]
    elif isinstance(questions, pl.DataFrame):
        if "name" not in questions.columns:
            raise ValidationError("questions", questions.columns[:12], expected)
        listed = questions
        if "type" in listed.columns:
            listed = listed.filter(pl.col("type").str.to_uppercase().is_in(sorted(OPTIN_TYPES)))
        ids = listed.get_column("questionId").to_list() if "questionId" in listed.columns else [None] * listed.height
        pairs = list(zip(ids, listed.get_column("name").to_list(), strict=True))
    elif isinstance(questions, Mapping):
        pairs = list(questions.items())
        if any(not isinstance(q, int) or isinstance(q, bool) for q, _ in pairs):
            raise ValidationError("questions", list(questions)[:12], expected)
    elif isinstance(questions, Sequence):
        pairs = [(None, name) for name in questions]
    else:
        raise ValidationError("questions", type(questions).__name__, expected)
    names = [name for _, name in pairs]
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad or len(set(names)) != len(names):
        raise ValidationError("questions", bad[:12] or names[:12], expected + ", each column name once")
    try:
        return [(None if q is None else int(q), str(name)) for q, name in pairs]
    except (TypeError, ValueError):
        raise ValidationError("questions", [q for q, _ in pairs][:12], expected) from None


def optins(df: pl.DataFrame, *, dates: bool = False, column: str = "questions",
           questions: Sequence[str] | Mapping[int, str] | pl.DataFrame | None = None) -> pl.DataFrame:
    """Widen the ``questions`` list column into one column per opt-in question.

    Each holds the answer as :data:`OPTIN_ANSWERS`: "Y", "N" or "P" (a pending double
    opt-in, kept as such), null where the supporter never answered; an answer outside those
    raises naming the question. General questions are left out. With ``dates=True`` a
    ``"<question> date"`` column (Datetime UTC) follows each opt-in column.

    ``questions`` fixes the columns (in that order, null where nobody answered); by default every
    opt-in question answered in ``df`` gets one, under the name the records give, sorted by name.
    It may be:

    * question names: answers are matched by name;
    * a mapping of questionId -> column name, or the frame :meth:`ENSClient.get_questions
      <enstoolkit.ens.ENSClient.get_questions>` returns (its opt-in rows, under their names):
      answers are matched by id (a record's ``questions[].id`` is the list's ``questionId``), by
      name only where an id is absent (see :func:`answers_to`). Use this on a real account: a
      supporter record may name a question otherwise than the list does.

    Example:
        >>> from enstoolkit.schemas.ens import QUESTION_STRUCT, SUPPORTER_BASE
        >>> df = build_frame(
        ...     [{"supporterId": 1, "suppressed": False,
        ...       "questions": [{"name": "Marketing Optin", "type": "OPTIN", "response": "Y"}]},
        ...      {"supporterId": 2, "suppressed": False, "questions": []}],
        ...     {**SUPPORTER_BASE, "questions": pl.List(QUESTION_STRUCT)})
        >>> optins(df).get_column("Marketing Optin").to_list()
        ['Y', None]
        >>> spec = build_frame(   # ENS's example: question 279 is "Opt-in" here, "Opt-in EMAIL (single)" in the list
        ...     [{"supporterId": 5361945, "suppressed": False,
        ...       "questions": [{"id": 279, "name": "Opt-in", "type": "OPTIN", "response": "N"}]}],
        ...     {**SUPPORTER_BASE, "questions": pl.List(QUESTION_STRUCT)})
        >>> optins(spec, questions={279: "Opt-in EMAIL (single)"}).row(0, named=True)
        {'supporterId': 5361945, 'suppressed': False, 'Opt-in EMAIL (single)': 'N'}
        >>> listed = pl.DataFrame({"id": [1531, 42004], "questionId": [279, 1064],
        ...                        "name": ["Opt-in EMAIL (single)", "Feedback"], "type": ["OPT", "GEN"]})
        >>> optins(spec, questions=listed).columns
        ['supporterId', 'suppressed', 'Opt-in EMAIL (single)']
    """
    if column not in df.columns:
        raise ValidationError(column, df.columns[:12], "a frame with this column: fetch supporters with questions=True")
    wanted = _question_columns(questions) if questions is not None else None
    indexed = df.with_row_index("__row")
    answers = indexed.select("__row", column).explode(column).drop_nulls(column).unnest(column)
    if "id" not in answers.columns:
        answers = answers.with_columns(pl.lit(None, pl.Int64).alias("id"))
    answers = (
        answers.with_columns(pl.col("id").cast(pl.Int64, strict=False))
        .filter(pl.col("type").str.to_uppercase().is_in(sorted(OPTIN_TYPES)))
        .select("__row", "id", "name", "response", pl.col("modifiedOn").alias("date"))
    )
    answers = answers.with_columns(cast_text(answers.get_column("response"), OPTIN_ANSWERS, "response").alias("value"))
    if wanted is None:
        wanted = [(None, n) for n in sorted(answers.get_column("name").unique().drop_nulls().to_list())]
    out = indexed.drop(column)
    for question_id, name in wanted:
        one = answers.filter(answers_to(question_id, name)).unique("__row", keep="last", maintain_order=True)
        picked = [pl.col("value").alias(name)]
        if dates:
            picked.append(pl.col("date").alias(f"{name} date"))
        out = out.join(one.select("__row", *picked), on="__row", how="left")
    return out.sort("__row").drop("__row")


def cast_text(series: pl.Series, dtype: pl.DataType, name: str | None = None) -> pl.Series:
    """A text column (a CSV export's) as ``dtype``, vectorised; a value that does not fit raises.

    Blank text becomes null. Booleans accept true/false, Y/N, yes/no, 1/0; dates any form
    :func:`parse_temporal` reads. A value that cannot be converted raises
    :class:`~enstoolkit.errors.DataShapeError` naming the column and the value: a column
    never turns null in silence.

    Example:
        >>> cast_text(pl.Series("n", ["1", " 2", ""]), pl.Int64()).to_list()
        [1, 2, None]
        >>> cast_text(pl.Series("ok", ["Y", "false", None]), pl.Boolean()).to_list()
        [True, False, None]
    """
    column = name or series.name
    if isinstance(dtype, type):
        dtype = dtype()
    text = series.cast(pl.String).str.strip_chars()
    text = pl.Series(column, text).replace("", None)
    if isinstance(dtype, pl.String):
        return series.cast(pl.String).alias(column)
    if isinstance(dtype, (pl.Date, pl.Datetime)):
        return parse_temporal(text, dtype, column).alias(column)
    if isinstance(dtype, pl.Enum) and dtype == OPTIN_ANSWERS:
        mapped = text.str.to_lowercase().replace_strict(_OPTIN_TEXT, default=None, return_dtype=pl.String)
        bad = text.filter(mapped.is_null() & text.is_not_null())
        if bad.len():
            raise DataShapeError(column, bad[0], "an opt-in answer: Y, N, P (pending) or D; map other codes to these "
                                 "before reading, e.g. df.with_columns(pl.col(...).replace({...}))")
        return mapped.cast(OPTIN_ANSWERS).alias(column)
    if isinstance(dtype, pl.Boolean):
        lowered = text.str.to_lowercase()
        mapped = lowered.replace_strict({t: True for t in _TRUE} | {f: False for f in _FALSE if f},
                                        default=None, return_dtype=pl.Boolean)
        bad = text.filter(mapped.is_null() & text.is_not_null())
        if bad.len():
            raise DataShapeError(column, bad[0], "a boolean (true/false, Y/N)")
        return mapped.alias(column)
    converted = text.cast(dtype, strict=False)
    bad = text.filter(converted.is_null() & text.is_not_null())
    if bad.len():
        if dtype.is_integer():  # "5.0" and thousands separators, as the per-value builder reads them
            return pl.Series(column, [_to_int(v, column) for v in text.to_list()], dtype=dtype)
        if dtype.is_float():
            return pl.Series(column, [_to_float(v, column) for v in text.to_list()], dtype=dtype)
        raise DataShapeError(column, bad[0], str(dtype))
    return converted.alias(column)


def read_frame(
    data: bytes | Iterable[Mapping[str, Any]],
    schema: Mapping[str, pl.DataType],
    *,
    key: str | None = None,
    extra: bool = False,
    date_order: str | None = None,
) -> pl.DataFrame:
    """The one typing path: API data in, a frame with exactly the declared dtypes out.

    ``data`` is a response body (JSON bytes: a list of objects, or an object holding the list
    under ``key``) or records already decoded. Bytes are read by polars' own JSON reader with
    the schema (no Python objects per value), temporal columns parsed by
    :func:`parse_temporal`; when the bytes do not fit the schema exactly (a number sent as
    text, say), or ``extra=True`` asks to keep keys the schema does not declare, the
    tolerant :func:`build_frame` route is taken instead. Either way the result is the same.
    ``date_order`` says how slash dates are written, when known (see :func:`parse_temporal`).

    Example:
        >>> read_frame(b'[{"supporterId": 5, "createdOn": "2018-03-01"}]',
        ...            {"supporterId": pl.Int64(), "createdOn": pl.Date()}).row(0)
        (5, datetime.date(2018, 3, 1))
        >>> read_frame(b'{"data": [{"id": "7", "x": 1}]}', {"id": pl.Int64()}, key="data", extra=True).row(0)
        (7, '1')
        >>> read_frame(b'[{"n": 5.7}]', {"n": pl.Int64()})
        Traceback (most recent call last):
        ...
        enstoolkit.errors.DataShapeError: column 'n': '5.7' is not a whole number
    """
    wanted = {k: (v() if isinstance(v, type) else v) for k, v in schema.items()}
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return build_frame(data, wanted, extra=extra, date_order=date_order)
    if not extra:
        # dates, numbers and booleans are read as text and converted here: polars' reader alone would turn
        # 5.7 into 5 and true into 1 in an integer column, where the conversion raises naming the column
        converted = [k for k, v in wanted.items() if isinstance(v, (pl.Date, pl.Datetime, pl.Boolean))
                     or v.is_numeric()]
        as_text = {k: (pl.String() if k in converted else v) for k, v in wanted.items()}
        try:
            if key is None:
                raw = pl.read_json(bytes(data), schema=as_text)
            else:
                wrapped = pl.read_json(bytes(data), schema={key: pl.List(pl.Struct(as_text))})
                raw = wrapped.explode(key, empty_as_null=False).unnest(key)
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.InvalidOperationError,
                pl.exceptions.ShapeError):
            raw = None
        if raw is not None:
            if converted:
                raw = raw.with_columns([
                    parse_temporal(raw.get_column(k), wanted[k], k, date_order=date_order)
                    if isinstance(wanted[k], (pl.Date, pl.Datetime)) else cast_text(raw.get_column(k), wanted[k], k)
                    for k in converted])
            return raw
    body = json.loads(bytes(data)) if len(data) else None
    if key is not None:
        if not isinstance(body, Mapping):
            raise DataShapeError(key, type(body).__name__, f"an object holding {key!r}")
        body = body.get(key)
    if body is None:
        body = []
    if not isinstance(body, list):
        raise DataShapeError(key or "body", type(body).__name__, "a list of objects")
    return build_frame(body, wanted, extra=extra, date_order=date_order)
