"""One rule for "people" arguments: which column holds the email, and which shapes are accepted.

Every public function that takes people, supporters or emails (the clients' bulk methods,
:mod:`enstoolkit.bulk`, :mod:`enstoolkit.widgets.actions`, the panels) goes through here, so all of
them accept the same shapes and refuse the rest the same way:

- a polars DataFrame with an email column (:data:`EMAIL_COLUMNS`, in that order of
  preference), or with Encharge's ``id``/``userId`` columns;
- a polars Series of emails (or of Encharge ids when the Series is named ``id``/``userId``);
- a list (or tuple, set, any iterable) of email addresses, or of dicts with an email, ``id``
  or ``userId`` key;
- one email address, or text pasted from a spreadsheet (emails separated by commas,
  semicolons, spaces or line breaks).

Anything else raises :class:`~enstoolkit.errors.ValidationError` naming the argument and the
accepted shapes, before any request is sent.

Example:
    >>> people_emails(pl.DataFrame({"Email Address": [" A@example.org", "b@example.org"]}))
    ['a@example.org', 'b@example.org']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from ..errors import ValidationError
from .arguments import is_valid_email

__all__ = [
    "ACCEPTED",
    "EMAIL_COLUMNS",
    "IDENTIFIER_KINDS",
    "email_columns",
    "email_key",
    "email_key_expr",
    "find_email_column",
    "identifiers",
    "known_fields",
    "listed",
    "listed_emails",
    "people_email_rows",
    "people_emails",
    "people_records",
    "row_email",
    "row_identifiers",
    "rows_frame",
]

#: Email column names, in order of preference: Encharge's, ENS's field name, ENS's property, ENS's export
#: header, a spreadsheet's.
EMAIL_COLUMNS = ("email", "Email Address", "emailAddress", "Supporter Email", "Email")
#: Encharge identifiers, in the order a row is matched by them.
IDENTIFIER_KINDS = ("id", "userId", "email")
ACCEPTED = ("a frame with an email column (or id/userId), a polars Series of emails, a list of emails, "
            "a list of dicts with email/id/userId, or pasted emails")
_SEPARATORS = re.compile(r"[,;\s]+")
_MAX_SHOWN = 5


def email_key(value: Any) -> str:
    """An email as people are matched by it (across rows, and between ENS and Encharge): trimmed, lowercased.

    Example:
        >>> email_key("  Jo@X.org ")
        'jo@x.org'
    """
    return str(value or "").strip().lower()


def email_key_expr(column: str) -> pl.Expr:
    """:func:`email_key` of a frame's column, as a polars expression (null stays null).

    Example:
        >>> pl.DataFrame({"email": [" Jo@X.org", None]}).select(email_key_expr("email")).to_series().to_list()
        ['jo@x.org', None]
    """
    return pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()


def find_email_column(columns: Sequence[str], *, preferred: str | None = None, argument: str = "people") -> str:
    """The email column among ``columns``: ``preferred`` when given, else the first of :data:`EMAIL_COLUMNS`.

    Raises :class:`ValidationError` naming the columns looked for (a frame without one can
    not be matched by email, and guessing would give a quiet wrong answer).

    Example:
        >>> find_email_column(["supporterId", "Email Address"])
        'Email Address'
        >>> find_email_column(["id", "E-mail"], preferred="E-mail")
        'E-mail'
    """
    names = list(columns)
    if preferred is not None:
        if preferred in names:
            return preferred
        raise ValidationError(argument, names, f"a frame with the email column {preferred!r}")
    for name in EMAIL_COLUMNS:
        if name in names:
            return name
    raise ValidationError(argument, names[:12], "a frame with an email column: one of " + ", ".join(EMAIL_COLUMNS),
                          detail="pass email_column=... to name another")


def _rows(people: Any, argument: str) -> list[Any]:
    """The items of any accepted container, as a list (frames as dicts)."""
    if isinstance(people, pl.DataFrame):
        return list(people.iter_rows(named=True))
    if isinstance(people, pl.Series):
        if people.dtype not in (pl.String, pl.Null) and not people.dtype.is_integer():
            raise ValidationError(argument, f"a Series of {people.dtype}", ACCEPTED)
        kind = people.name if people.name in ("id", "userId") else "email"
        return [{kind: v} for v in people.to_list()]
    if isinstance(people, Mapping):
        return [dict(people)]
    if isinstance(people, (str, bytes, int, float, bool)) or people is None:
        raise ValidationError(argument, people, ACCEPTED)
    try:
        return list(people)
    except TypeError:
        raise ValidationError(argument, type(people).__name__, ACCEPTED) from None


def _bad(argument: str, bad: list[Any], what: str) -> ValidationError:
    shown = bad[:_MAX_SHOWN]
    return ValidationError(argument, shown, what, detail=f"{len(bad):,} not valid" if len(bad) > 1 else None)


def _blank(value: Any) -> bool:
    """Whether a cell holds no email at all: null, or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def email_columns(names: Iterable[str], *, preferred: str | None = None) -> list[str]:
    """The email columns among ``names``, in the order a row's email is looked for in them (see :func:`row_email`).

    Example:
        >>> email_columns(["Email Address", "id", "email"])
        ['email', 'Email Address']
        >>> email_columns(["Email Address", "E-mail"], preferred="E-mail")
        ['E-mail', 'Email Address']
    """
    return _candidates(names, preferred)


def _candidates(names: Iterable[str], email_field: str | None) -> list[str]:
    present = set(names)
    order = ([email_field] if email_field else []) + [c for c in EMAIL_COLUMNS if c != email_field]
    return [c for c in order if c in present]


def row_email(row: Mapping[str, Any], *, email_field: str | None = None) -> tuple[str | None, Any]:
    """A row's email cell: the first non-empty one among its email columns, as ``(column, value)``.

    The one rule for a row, whatever its shape (a frame's row, a dict): ``email_field`` first
    when given, then :data:`EMAIL_COLUMNS` in that order; null and blank cells are passed
    over, so a frame joined from two systems (ENS's "Email Address" full, Encharge's "email"
    empty where the join found nobody) gives every row its email. ``(None, None)`` when the
    row has none. The value is returned as it is (not yet checked).

    Example:
        >>> row_email({"email": None, "Email Address": " A@example.org"})
        ('Email Address', ' A@example.org')
        >>> row_email({"email": "  ", "First Name": "Jo"})
        (None, None)
    """
    for column in _candidates(row, email_field):
        if not _blank(row[column]):
            return column, row[column]
    return None, None


def _values(people: Any, argument: str, email_field: str | None) -> list[tuple[str, Any]]:
    """Per input row, ``(argument to name, email cell or None)``; a row with no email column raises."""
    if isinstance(people, str):
        return [(argument, v) for v in _SEPARATORS.split(people) if v]
    if isinstance(people, pl.DataFrame):
        find_email_column(people.columns, preferred=email_field, argument=argument)  # a frame without one is refused
        columns = _candidates(people.columns, email_field)
        return [(argument, row_email(row, email_field=email_field)[1])
                for row in people.select(columns).iter_rows(named=True)]
    values: list[tuple[str, Any]] = []
    for n, row in enumerate(_rows(people, argument)):
        if isinstance(row, Mapping):
            if not _candidates(row, email_field) and any(v is not None for v in row.values()):
                raise ValidationError(f"{argument}[{n}]", dict(row), "a row with an email: one of "
                                      + ", ".join(EMAIL_COLUMNS))
            values.append((argument, row_email(row, email_field=email_field)[1]))
        else:
            values.append((argument, row))
    return values


def people_email_rows(people: Any, *, argument: str = "people", email_field: str | None = None) -> list[str | None]:
    """Per input row, in order, its email (trimmed, lowercased), or None for a row with no email.

    The rows :func:`people_emails` reads, before repeats are dropped and rows without an email
    passed over: callers that must account for every row (the bulk runs, the panels) count
    the Nones. Each row's email is found by :func:`row_email`; an invalid address raises
    (listing the first few).

    Example:
        >>> people_email_rows(pl.DataFrame({"Email Address": ["a@example.org", "b@example.org", None],
        ...                          "email": ["a@example.org", None, None]}))
        ['a@example.org', 'b@example.org', None]
    """
    out: list[str | None] = []
    bad: list[Any] = []
    for _, value in _values(people, argument, email_field):
        if _blank(value):
            out.append(None)
        elif not isinstance(value, str) or not is_valid_email(value.strip().lower()):
            bad.append(value)
        else:
            out.append(value.strip().lower())
    if bad:
        raise _bad(argument, bad, "valid email addresses such as name@example.org")
    return out


def people_emails(people: Any, *, argument: str = "people", email_field: str | None = None) -> list[str]:
    """Email addresses from any accepted shape: trimmed, lowercased, each once, in order.

    Each row's email is the first non-empty of its email columns (:func:`row_email`: the same
    rule for a frame and for dicts); ``email_field`` names a column to look in first when it
    is none of :data:`EMAIL_COLUMNS`. Rows without an email are passed over (see
    :func:`people_email_rows` to count them); an invalid address raises (listing the first few).

    Example:
        >>> people_emails("A@example.org; b@example.org\\nA@example.org")
        ['a@example.org', 'b@example.org']
        >>> people_emails(pl.Series(["c@example.org", None]))
        ['c@example.org']
        >>> people_emails(pl.DataFrame({"email": [None, "d@example.org"], "Email Address": ["c@example.org", None]}))
        ['c@example.org', 'd@example.org']
    """
    return list(dict.fromkeys(e for e in people_email_rows(people, argument=argument, email_field=email_field)
                              if e is not None))


def row_identifiers(people: Any, *, argument: str = "people",
                    email_field: str | None = None) -> list[tuple[str, str] | None]:
    """Per input row, in order (repeats kept), its Encharge identifier ``(kind, value)``, or None for a row with none.

    A row is identified by its ``id``, else its ``userId``, else its email (:func:`row_email`).
    A row whose identifier cells are all empty gives None, whatever the shape it came in
    (a frame, dicts, a Series, a list): callers that must report every row count them. A row
    with none of those columns at all (and something in it) raises.

    Example:
        >>> row_identifiers([{"id": "p1"}, {"email": None, "Email Address": "B@example.org"}, {"email": " "}])
        [('id', 'p1'), ('email', 'b@example.org'), None]
    """
    if isinstance(people, str) or (isinstance(people, pl.DataFrame) and not {"id", "userId"} & set(people.columns)):
        return [None if e is None else ("email", e)
                for e in people_email_rows(people, argument=argument, email_field=email_field)]
    out: list[tuple[str, str] | None] = []
    for n, row in enumerate(_rows(people, argument)):
        ident: tuple[str, str] | None = None
        if row is None or (isinstance(row, str) and not row.strip()):
            out.append(None)  # an empty cell of a Series or list: no one to act on
            continue
        if isinstance(row, str):
            found = people_emails(row, argument=f"{argument}[{n}]")
            if len(found) != 1:
                raise ValidationError(f"{argument}[{n}]", row, "one email address per item")
            ident = ("email", found[0])
        elif isinstance(row, Mapping):
            for kind in ("id", "userId"):
                value = row.get(kind)
                if value is not None and not isinstance(value, bool) and isinstance(value, (str, int)) \
                        and str(value).strip():
                    ident = (kind, str(value).strip())
                    break
            if ident is None:
                column, value = row_email(row, email_field=email_field)
                if column is not None:
                    ident = ("email", people_emails([value], argument=f"{argument}[{n}][{column!r}]")[0])
                elif all(_blank(row.get(k)) for k in ("id", "userId")) and (
                        any(k in row for k in ("id", "userId")) or _candidates(row, email_field)
                        or all(v is None for v in row.values())):
                    out.append(None)  # its identifier cells are all empty
                    continue
        if ident is None:
            raise ValidationError(f"{argument}[{n}]", row, "an email address, or a row with an email, id or userId")
        out.append(ident)
    return out


def identifiers(people: Any, *, argument: str = "people", email_field: str | None = None) -> list[tuple[str, str]]:
    """Encharge identifiers ``(kind, value)`` from any accepted shape, in order, each once.

    A row is identified by its ``id``, else its ``userId``, else its email (the first
    non-empty email column, :func:`row_email`). Emails are validated, trimmed and lowercased.
    Rows with none of them are passed over (see :func:`row_identifiers` to count them).

    Example:
        >>> identifiers([{"id": "p1"}, "B@example.org", {"userId": 7}])
        [('id', 'p1'), ('email', 'b@example.org'), ('userId', '7')]
    """
    found = row_identifiers(people, argument=argument, email_field=email_field)
    return list(dict.fromkeys(ident for ident in found if ident is not None))


def known_fields(people: Any) -> dict[tuple[str, str], dict[str, str]]:
    """For each Encharge identifier in ``people``, the other identifiers its row carries (email, id, userId).

    A result row for a person identified by id can then still show their email. Rows of any
    shape :func:`identifiers` takes; anything else gives an empty mapping.

    Example:
        >>> known_fields([{"id": "p1", "email": "A@example.org"}])[("id", "p1")]
        {'email': 'a@example.org', 'id': 'p1'}
    """
    if not isinstance(people, (pl.DataFrame, list, tuple)):
        return {}
    rows = people.iter_rows(named=True) if isinstance(people, pl.DataFrame) else people
    out: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        fields: dict[str, str] = {}
        email = next((v for c in EMAIL_COLUMNS if isinstance(v := row.get(c), str) and v.strip()), None)
        if isinstance(email, str):
            fields["email"] = email.strip().lower()
        for kind in ("id", "userId"):
            value = row.get(kind)
            if value is not None and not isinstance(value, bool) and isinstance(value, (str, int)) \
                    and str(value).strip():
                fields[kind] = str(value).strip()
        for kind, value in fields.items():
            out.setdefault((kind, value), fields)
    return out


def people_records(data: Any, *, argument: str = "records") -> list[dict[str, Any]]:
    """Records (dicts) from a frame, one dict, or an iterable of dicts; null values dropped.

    Example:
        >>> people_records(pl.DataFrame({"email": ["a@example.org"], "city": [None]}))
        [{'email': 'a@example.org'}]
    """
    accepted = "a frame, a dict, or a list of dicts"
    if isinstance(data, pl.DataFrame):
        rows: Iterable[Any] = data.iter_rows(named=True)
    elif isinstance(data, Mapping):
        rows = [data]
    elif isinstance(data, (str, bytes, int, float, bool, pl.Series)) or data is None:
        raise ValidationError(argument, data if not isinstance(data, pl.Series) else "a Series", accepted)
    else:
        try:
            rows = list(data)
        except TypeError:
            raise ValidationError(argument, type(data).__name__, accepted) from None
    out = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise ValidationError(argument, row, accepted)
        out.append({k: v for k, v in row.items() if v is not None})
    return out


def rows_frame(rows: Any, *, argument: str = "rows") -> pl.DataFrame:
    """Rows to act on (supporters to process, people to tag) as a frame: a frame as it is, anything else as text.

    A frame is returned unchanged. A dict is one row; a list of dicts is rows (each column
    text: numbers and dates written as they read, nested lists or dicts refused); a Series
    becomes its one column; emails (one, a list, or pasted text) become an ``email`` column.

    Example:
        >>> rows_frame([{"Email Address": "a@example.org", "Amount": 5}]).rows()
        [('a@example.org', '5')]
        >>> rows_frame("a@example.org, b@example.org").get_column("email").to_list()
        ['a@example.org', 'b@example.org']
    """
    if isinstance(rows, pl.DataFrame):
        return rows
    if isinstance(rows, pl.Series):
        return rows.to_frame(rows.name or "email")
    if isinstance(rows, str):
        return pl.DataFrame({"email": people_emails(rows, argument=argument)}, schema={"email": pl.String})
    accepted = "a frame, a dict, a list of dicts, or emails"
    items = _rows(rows, argument)
    if items and all(isinstance(item, str) or item is None for item in items):
        return pl.DataFrame({"email": people_emails(items, argument=argument)}, schema={"email": pl.String})
    columns: dict[str, None] = {}
    out: list[dict[str, str | None]] = []
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValidationError(f"{argument}[{n}]", item, accepted)
        row: dict[str, str | None] = {}
        for key, value in item.items():
            if not isinstance(key, str) or not key.strip():
                raise ValidationError(f"{argument}[{n}]", key, "column names that are text")
            if isinstance(value, (Mapping, list, tuple, set, bytes, pl.Series, pl.DataFrame)):
                raise ValidationError(f"{argument}[{n}][{key!r}]", value, "a single value (text, a number or a date)")
            row[key] = None if value is None else str(value)
            columns.setdefault(key)
        out.append(row)
    return pl.DataFrame(out, schema={c: pl.String for c in columns}, orient="row") if out else pl.DataFrame()


def listed(values: Any, *, argument: str) -> list[Any]:
    """The items of a list-like keyword argument (``ids=``, ``emails=``): a list, tuple, set, Series or iterable.

    A single value (text, a number), a dict or a frame is refused naming ``argument``: an
    email passed as ``emails="a@x.org"`` would otherwise be read letter by letter.

    Example:
        >>> listed(pl.Series([3, 4]), argument="ids")
        [3, 4]
        >>> listed("a@example.org", argument="emails")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        enstoolkit.errors.ValidationError: emails='a@example.org' is not valid: expected a list (emails=[...])...
    """
    if isinstance(values, pl.Series):
        return values.to_list()
    if isinstance(values, (str, bytes, int, float, bool, Mapping, pl.DataFrame)) or values is None:
        shown = "a frame" if isinstance(values, pl.DataFrame) else values
        raise ValidationError(argument, shown, f"a list ({argument}=[...]), not a single value")
    try:
        return list(values)
    except TypeError:
        raise ValidationError(argument, type(values).__name__, f"a list ({argument}=[...])") from None


def listed_emails(values: Any, *, argument: str = "emails") -> list[str]:
    """An ``emails=`` keyword argument: a list, Series or frame of emails, checked, trimmed and lowercased, each once.

    Example:
        >>> listed_emails([" A@example.org", "a@example.org"])
        ['a@example.org']
    """
    if isinstance(values, pl.DataFrame):
        return people_emails(values, argument=argument)
    items = listed(values, argument=argument)
    bad = [v for v in items if not isinstance(v, str) or not is_valid_email(v.strip().lower())]
    if bad:
        raise _bad(argument, bad, "valid email addresses such as name@example.org")
    return list(dict.fromkeys(v.strip().lower() for v in items))
