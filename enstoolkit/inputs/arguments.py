"""Input checks shared by the clients; each raises :class:`ValidationError` naming the argument.

Example:
    >>> check_int("rows", 50, 1, 100)
    50
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import polars as pl

from ..errors import ValidationError

# Pragmatic address syntax: one @, no spaces, a dot in the domain, no empty labels.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def is_valid_email(value: object) -> bool:
    """Whether ``value`` is a syntactically valid email address.

    Example:
        >>> is_valid_email("jo@example.org"), is_valid_email("jo@example")
        (True, False)
    """
    if not isinstance(value, str) or len(value) > 254:
        return False
    if not _EMAIL.match(value):
        return False
    local = value.split("@", 1)[0]
    return not (local.startswith(".") or local.endswith(".") or ".." in local)


def valid_emails(values: pl.Series) -> pl.Series:
    """:func:`is_valid_email` of each value trimmed (``value.strip()``), as Booleans; null stays null.

    Values of printable ASCII without spaces (nothing to trim, no character the two regular
    expression engines could read apart) are checked by polars in one pass; any other value
    by :func:`is_valid_email` itself, so every answer is that function's.

    Example:
        >>> valid_emails(pl.Series(["jo@example.org", " jo@example.org ", "jo@example", None])).to_list()
        [True, True, False, None]
    """
    text = values.cast(pl.String)
    v = pl.col("v")
    plain = v.str.contains(r"^[!-~]*$")
    local = v.str.extract(r"^([^@]*)@", 1)
    fast = ((v.str.len_bytes() <= 254) & v.str.contains(_EMAIL.pattern)
            & ~(local.str.starts_with(".") | local.str.ends_with(".") | local.str.contains("..", literal=True)))
    frame = pl.DataFrame({"v": text})
    other = frame.filter(plain.not_()).get_column("v").unique().to_list()
    checked = pl.Series([x for x in other if is_valid_email(x.strip())], dtype=pl.String)
    valid = pl.when(v.is_null()).then(None).when(plain).then(fast.fill_null(False)).otherwise(
        v.is_in(checked.implode()))
    return frame.select(valid.alias(values.name)).to_series()


def check_email(argument: str, value: Any) -> str:
    """Validate an email address and return it trimmed and lowercased.

    Example:
        >>> check_email("email", " Jo@Example.org ")
        'jo@example.org'
    """
    if not isinstance(value, str) or not is_valid_email(value.strip()):
        raise ValidationError(argument, value, "an email address such as name@example.org")
    return value.strip().lower()


def check_choice(argument: str, value: Any, allowed: Collection[str]) -> str:
    """Validate that ``value`` is one of ``allowed``.

    Example:
        >>> check_choice("type", "dcf", ["dcf", "pet"])
        'dcf'
    """
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(argument, value, "one of " + ", ".join(sorted(allowed)))
    return value


def check_int(argument: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Validate a whole number within ``[low, high]``.

    Example:
        >>> check_int("rows", 50, 1, 100)
        50
    """
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        else:
            raise ValidationError(argument, value, _range_text(low, high))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValidationError(argument, value, _range_text(low, high))
    return int(value)


def check_id(argument: str, value: Any) -> int:
    """Validate a positive numeric identifier (an int or a string of digits).

    Example:
        >>> check_id("supporter_id", "212200")
        212200
    """
    return check_int(argument, value, 1, None)


def _range_text(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"an integer from {low} to {high}"
    if low is not None:
        return f"an integer of at least {low}"
    return "an integer"


def unknown_names(given: Iterable[str], known: Iterable[str]) -> list[str]:
    """The names in ``given`` not found in ``known`` (compared without case).

    Example:
        >>> unknown_names(["First Name", "Nope"], ["first name"])
        ['Nope']
    """
    lower = {k.lower() for k in known}
    return [g for g in given if g.lower() not in lower]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, hosts: Collection[str], suffix: str, allowed: str) -> str:
    """A base URL on one of ``hosts`` over https (or loopback, the sandbox), ending in ``suffix``.

    Example:
        >>> check_base_url("https://api.example.org", hosts={"api.example.org"}, suffix="/v1", allowed="...")
        'https://api.example.org/v1'
    """
    from urllib.parse import urlsplit

    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    if is_loopback(host):
        if parts.scheme not in ("http", "https"):
            raise ValidationError("base_url", base_url, allowed)
    elif host not in hosts or parts.scheme != "https":
        raise ValidationError("base_url", base_url, allowed)
    path = parts.path.rstrip("/")
    if not path.endswith(suffix):
        path += suffix
    return f"{parts.scheme}://{parts.netloc}{path}"


def api_key_from(api_key: str | None, variable: str, service: str) -> str:
    """The API key given, else the environment's; refused (never shown) when missing or malformed.

    Example:
        >>> api_key_from(" abc-123 ", "ENS_API_KEY", "ENS")
        'abc-123'
    """
    import os

    key = api_key if api_key is not None else os.environ.get(variable)
    if not key or not key.strip():
        from ..errors import ConfigurationError

        raise ConfigurationError(f"no {service} API key: pass api_key=... or set the {variable} environment variable")
    return check_api_key(key, variable)


def check_api_key(value: str, variable: str) -> str:
    """An API key, trimmed; refuses one with spaces or control characters inside (a bad paste).

    The message never shows the key.

    Example:
        >>> check_api_key("  abc-123 ", "ENS_API_KEY")
        'abc-123'
    """
    key = value.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        from ..errors import ConfigurationError

        raise ConfigurationError(f"the API key ({variable} or api_key=) contains spaces, line breaks or control "
                                 "characters; check how it was copied")
    return key


def check_frame(argument: str, value: Any, columns: Iterable[str] = (), *,
                what: str = "a polars DataFrame") -> pl.DataFrame:
    """Validate that ``value`` is a polars DataFrame holding ``columns``.

    Example:
        >>> check_frame("ens", pl.DataFrame({"email": ["a@example.org"]}), ["email"]).height
        1
        >>> check_frame("ens", [1, 2])
        Traceback (most recent call last):
        ...
        enstoolkit.errors.ValidationError: ens='list' is not valid: expected a polars DataFrame
    """
    if not isinstance(value, pl.DataFrame):
        raise ValidationError(argument, type(value).__name__, what)
    absent = [c for c in columns if c not in value.columns]
    if absent:
        raise ValidationError(argument, value.columns[:12], f"{what} with the column(s) " + ", ".join(absent))
    return value


#: Text a true/false column may hold (trimmed, lowercased), and what it means.
TEXT_FLAGS = {"true": True, "1": True, "y": True, "yes": True, "false": False, "0": False, "n": False, "no": False}


def text_flags(frame: pl.DataFrame, column: str, argument: str) -> pl.Expr:
    """A text column of true/false values (:data:`TEXT_FLAGS`; empty is null) as Boolean; other text raises
    :class:`ValidationError` naming ``argument``, the values and the column.

    Example:
        >>> df = pl.DataFrame({"unsubscribed": ["True", " no", None, ""]})
        >>> df.select(text_flags(df, "unsubscribed", "people")).to_series().to_list()
        [True, False, None, None]
        >>> text_flags(pl.DataFrame({"u": ["maybe"]}), "u", "people")
        Traceback (most recent call last):
        ...
        enstoolkit.errors.ValidationError: people=['maybe'] is not valid: expected true/false values in 'u'
    """
    text = pl.col(column).str.strip_chars().str.to_lowercase()
    values = frame.select(text.drop_nulls().unique()).to_series().to_list()
    unknown = [v for v in values if v and v not in TEXT_FLAGS]
    if unknown:
        raise ValidationError(argument, unknown[:5], f"true/false values in {column!r}")
    return text.replace_strict(TEXT_FLAGS, default=None, return_dtype=pl.Boolean)


def blank_columns(frame: pl.DataFrame, names: Iterable[str]) -> list[str]:
    """The named columns of ``frame`` (one with rows) without a value in any row (text that is only spaces
    counts as none): a column that did not come through, never to be read as "nobody".

    Example:
        >>> blank_columns(pl.DataFrame({"a": [" ", None], "b": ["x", None], "c": [None, None]}), ["a", "b", "c", "d"])
        ['a', 'c']
    """
    out: list[str] = []
    if frame.height == 0:
        return out
    for name in dict.fromkeys(names):
        if name not in frame.columns:
            continue
        column = frame.get_column(name)
        if column.dtype in (pl.String, pl.Categorical, pl.Enum):
            column = column.cast(pl.String).str.strip_chars().replace("", None)
        if column.null_count() == frame.height:
            out.append(name)
    return out


def check_names_map(argument: str, value: Any) -> dict[str, str] | None:
    """Validate a mapping of names to names (e.g. a file's columns to the toolkit's), or None.

    Example:
        >>> check_names_map("columns", {"Their ID": "supporterId"})
        {'Their ID': 'supporterId'}
    """
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) and k and v
                                                 for k, v in value.items()):
        raise ValidationError(argument, value, 'a dict of names to names, e.g. {"Their ID": "supporterId"}')
    return dict(value)
