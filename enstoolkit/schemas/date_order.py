"""Day-first or month-first: reading an account's slash dates without ever swapping day and month in silence.

ENS writes some dates as DD/MM/YYYY (the EU datacentre; the spec says so for transactions), and
a US account may write MM/DD/YYYY. :func:`proven_order` looks at a column's values: a first part
above 12 proves day-first, a second part above 12 proves month-first. When every value reads
both ways the order cannot be known from the data: the caller's configured order is used, or
:class:`~enstoolkit.errors.AmbiguousDates` is raised naming the parameter to set. When the
values prove both orders, or neither, that is raised too.

Example:
    >>> proven_order(["25/03/2026", "01/04/2026"])
    'dmy'
    >>> proven_order(["03/25/2026"])
    'mdy'
    >>> proven_order(["03/04/2026"]) is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import polars as pl

from ..errors import AmbiguousDates

__all__ = ["DATE_ORDERS", "FORMATS", "check_order", "order_for", "parse_slash_dates", "proven_order"]

DATE_ORDERS = ("dmy", "mdy")
FORMATS = {"dmy": "%d/%m/%Y", "mdy": "%m/%d/%Y"}
SLASH = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
PARAMETER = "date_order='dmy' or 'mdy' (ENSClient(date_order=...))"


def check_order(value: str | None) -> str | None:
    """A configured date order: "dmy", "mdy" or None (find it from the data).

    Example:
        >>> check_order("mdy")
        'mdy'
    """
    if value is not None and value not in DATE_ORDERS:
        from ..errors import ValidationError

        raise ValidationError("date_order", value, "'dmy' (DD/MM/YYYY), 'mdy' (MM/DD/YYYY) or None (from the data)")
    return value


def proven_order(values: Iterable[object], *, column: str = "date") -> str | None:
    """The order the slash dates among ``values`` prove ("dmy" or "mdy"), or None when every one reads both ways.

    Values that are not slash dates are ignored. Raises :class:`AmbiguousDates` when the values
    prove both orders (a column mixing them), or fit neither.

    Example:
        >>> try:
        ...     proven_order(["12/13/2026", "13/12/2026"])
        ... except AmbiguousDates as e:
        ...     print(e.examples)
        ['12/13/2026', '13/12/2026']
    """
    day_first = month_first = False
    proof: list[str] = []
    for value in values:
        match = SLASH.match(value) if isinstance(value, str) else None
        if match is None:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 or second > 12:
            proof.append(str(value).strip())
        if first > 12:
            day_first = True
        if second > 12:
            month_first = True
        if first > 31 or second > 31 or (first > 12 and second > 12) or first == 0 or second == 0:
            raise AmbiguousDates(column, [str(value)], PARAMETER, conflicting=True)
    if day_first and month_first:
        raise AmbiguousDates(column, proof, PARAMETER, conflicting=True)
    return "dmy" if day_first else "mdy" if month_first else None


def order_for(columns: Mapping[str, Iterable[object]], configured: str | None) -> str | None:
    """The order for a file's date columns (which share the account's order): configured, else proven by any.

    Returns None when the file has no slash dates; raises :class:`AmbiguousDates` when it has
    some, none proves an order, and none is configured, or when the columns disagree with each
    other or with the configured order.

    Example:
        >>> order_for({"a": ["01/02/2026"], "b": ["20/02/2026"]}, None)
        'dmy'
    """
    found: dict[str, str] = {}
    undecided: list[tuple[str, str]] = []
    for name, values in columns.items():
        items = list(values)
        order = proven_order(items, column=name)
        if order is not None:
            found[name] = order
        else:
            slash = next((str(v) for v in items if isinstance(v, str) and SLASH.match(v)), None)
            if slash is not None:
                undecided.append((name, slash))
    orders = set(found.values()) | ({configured} if configured else set())
    if len(orders) > 1:
        name = next(iter(found))
        raise AmbiguousDates(name, [f"{n}: {o}" for n, o in found.items()], PARAMETER, conflicting=True)
    if orders:
        return orders.pop()
    if undecided:
        raise AmbiguousDates(undecided[0][0], [v for _, v in undecided[:3]], PARAMETER)
    return None


def parse_slash_dates(series: pl.Series, order: str, name: str | None = None) -> pl.Series:
    """Slash dates in a known order as a Date column (blank -> null; anything else raises naming the column).

    Example:
        >>> parse_slash_dates(pl.Series(["03/04/2026", ""]), "mdy").to_list()
        [datetime.date(2026, 3, 4), None]
    """
    from ..errors import DataShapeError

    column = name or series.name
    text = series.cast(pl.String).str.strip_chars().replace("", None)
    four_digit_years = pl.Series(text.name, text).to_frame().select(
        pl.when(pl.first().str.contains(r"^\d{1,2}/\d{1,2}/\d{4}$")).then(pl.first())).to_series()
    parsed = four_digit_years.str.to_date(FORMATS[check_order(order) or "dmy"], strict=False)
    bad = text.filter(parsed.is_null() & text.is_not_null())
    if bad.len():
        raise DataShapeError(column, bad[0], f"a date written {'DD/MM/YYYY' if order == 'dmy' else 'MM/DD/YYYY'}")
    return parsed.alias(column)
