"""Request bodies for ENS, checked before anything is sent: field names to the account's spelling,
values to what ENS takes, question answers, donation and ``txn`` fields.

These are plain functions of the account's field and question lists, so they are tested
without a server; the client passes them what ``/supporter/fields`` and
``/supporter/questions`` said.

Example:
    >>> canonical_record({"first name": "Jo", "email address": " Jo@Example.org "},
    ...                  ["First Name", "Email Address"], "Email Address")
    {'First Name': 'Jo', 'Email Address': 'Jo@Example.org'}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import check_email, check_int

__all__ = [
    "READ_ONLY_KEYS", "canonical_questions", "canonical_record", "check_transaction", "field_value", "one_record",
    "question_value", "standard_supporter", "txn_fields",
]

#: Keys that come back from GET /supporter but are not writable fields.
READ_ONLY_KEYS = frozenset({"supporterId", "suppressed", "memberships", "createdOn", "modifiedOn"})
OPTIN_ANSWERS = ("Y", "N")


def one_record(record: Mapping[str, Any] | pl.DataFrame, argument: str) -> dict[str, Any]:
    """A dict from a dict or a one-row frame (nulls dropped).

    Example:
        >>> one_record(pl.DataFrame({"a": [1], "b": [None]}), "record")
        {'a': 1}
    """
    if isinstance(record, pl.DataFrame):
        if record.height != 1:
            raise ValidationError(argument, f"a frame of {record.height} rows", "a dict or a one-row frame")
        return {k: v for k, v in record.row(0, named=True).items() if v is not None}
    if not isinstance(record, Mapping) or not record:
        raise ValidationError(argument, record, "a non-empty dict of field name -> value")
    return dict(record)


def field_value(value: Any, argument: str) -> Any:
    """A field value as ENS takes it: text; booleans as Y/N, dates as YYYY-MM-DD, whole floats without .0.

    Example:
        >>> field_value(True, "x"), field_value(dt.date(2026, 1, 2), "x"), field_value(5.0, "x")
        ('Y', '2026-01-02', '5')
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (int, float)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, str):
        return value
    raise ValidationError(argument, value, "a text, number, boolean or date value")


def question_value(value: Any, qtype: str, argument: str) -> str:
    """An answer as ENS takes it: "Y"/"N" for opt-in questions (True/False accepted), text otherwise.

    Example:
        >>> question_value(True, "OPT", "q"), question_value(" n ", "OPT", "q")
        ('Y', 'N')
    """
    if isinstance(value, bool):
        return "Y" if value else "N"
    if qtype in ("OPT", "CONF"):
        text = str(value).strip().upper() if isinstance(value, str) else None
        if text not in OPTIN_ANSWERS:
            raise ValidationError(argument, value, "'Y' or 'N' (or True/False) for an opt-in question")
        return text
    if not isinstance(value, str):
        raise ValidationError(argument, value, "a text answer")
    return value


def canonical_record(record: Mapping[str, Any], names: Sequence[str], email_field: str,
                     argument: str = "record") -> dict[str, Any]:
    """Field names matched to the account's spelling (without case), values converted; unknown names refused.

    ``questions`` and the read-only keys of a fetched supporter are skipped; the email, when
    present, must be a valid address.

    Example:
        >>> try:
        ...     canonical_record({"Nope": 1}, ["First Name"], "Email Address")
        ... except ValidationError as e:
        ...     print(e.detail)
        unknown: Nope
    """
    by_lower = {n.lower(): n for n in names}
    out: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in record.items():
        if not isinstance(key, str):
            raise ValidationError(argument, key, "field names as strings")
        if key == "questions" or key in READ_ONLY_KEYS:
            continue
        canonical = by_lower.get(key.lower())
        if canonical is None:
            unknown.append(key)
            continue
        converted = field_value(value, f"{argument}[{key!r}]")
        if converted is not None:
            out[canonical] = converted
    if unknown:
        raise ValidationError(argument, unknown, "field names of this account: " + ", ".join(names),
                              detail="unknown: " + ", ".join(unknown))
    if email_field in out:
        check_email(f"{argument}[{email_field!r}]", out[email_field])
        out[email_field] = str(out[email_field]).strip()
    return out


def canonical_questions(questions: Any, known: Iterable[tuple[str, str]], argument: str) -> dict[str, str]:
    """Question answers keyed by the account's question names (or ``question.{id}``), values checked.

    ``known`` is (name, type) of each question of the account (type OPT, GEN or CONF).

    Example:
        >>> canonical_questions({"marketing optin": True}, [("Marketing Optin", "OPT")], "questions")
        {'Marketing Optin': 'Y'}
    """
    if questions is None:
        return {}
    if not isinstance(questions, Mapping):
        raise ValidationError(argument, questions, "a mapping of question name -> 'Y'/'N'")
    pairs = list(known)
    by_lower = {n.lower(): (n, t) for n, t in pairs}
    out: dict[str, str] = {}
    unknown = []
    for name, value in questions.items():
        if not isinstance(name, str):
            raise ValidationError(argument, name, "question names as strings")
        if name.lower().startswith("question.") and name[9:].isdigit():
            out[name] = question_value(value, "OPT", f"{argument}[{name!r}]")
            continue
        found = by_lower.get(name.lower())
        if found is None:
            unknown.append(name)
            continue
        canonical, qtype = found
        out[canonical] = question_value(value, qtype, f"{argument}[{name!r}]")
    if unknown:
        raise ValidationError(argument, unknown, "question names of this account: " + ", ".join(n for n, _ in pairs),
                              detail="unknown: " + ", ".join(unknown))
    return out


def standard_supporter(data: Mapping[str, Any], properties: Sequence[str]) -> dict[str, Any]:
    """A supporter keyed by field properties (``standardFieldNames``), e.g. ``emailAddress``.

    Example:
        >>> standard_supporter({"EmailAddress": "a@example.org"}, ["emailAddress"])
        {'emailAddress': 'a@example.org'}
    """
    by_lower = {p.lower(): p for p in properties}
    out: dict[str, Any] = {}
    unknown = []
    for key, value in data.items():
        if key == "questions":
            continue
        canonical = by_lower.get(str(key).lower())
        if canonical is None and not str(key).upper().startswith("NOT_TAGGED_"):
            unknown.append(key)
            continue
        converted = field_value(value, f"supporter[{key!r}]")
        if converted is not None:
            out[canonical or str(key)] = converted
    if unknown:
        raise ValidationError("supporter", unknown, "field properties of this account: " + ", ".join(properties),
                              detail="standard_field_names=True uses properties such as emailAddress")
    if "emailAddress" not in out:
        raise ValidationError("supporter", sorted(data), "a supporter with 'emailAddress'")
    check_email("supporter['emailAddress']", out["emailAddress"])
    out["emailAddress"] = str(out["emailAddress"]).strip()
    return out


def check_transaction(transaction: Mapping[str, Any], *, live_card_host: bool) -> dict[str, Any]:
    """Donation fields checked: a positive ``donationAmt``; live card numbers only to a -vault host.

    ``live_card_host`` says whether the client may send live card data (a -vault host, the
    sandbox, or demo mode).

    Example:
        >>> check_transaction({"donationAmt": 5, "paymenttype": "VISA"}, live_card_host=True)
        {'donationAmt': '5.00', 'paymenttype': 'VISA'}
    """
    if not isinstance(transaction, Mapping) or not transaction:
        raise ValidationError("transaction", transaction, "a mapping of donation fields")
    out = {str(k): v for k, v in transaction.items() if v is not None}
    if "donationAmt" in out:
        try:
            amount = float(str(out["donationAmt"]).replace(",", ""))
        except ValueError:
            amount = -1.0
        if not amount > 0:
            raise ValidationError("transaction['donationAmt']", out["donationAmt"], "a positive amount")
        if not isinstance(out["donationAmt"], str):
            out["donationAmt"] = f"{amount:.2f}"
    if "ccnumber" in out and not live_card_host:
        raise ValidationError("base_url", "a host without -vault",
                              "a -vault host (https://ca-vault.engagingnetworks.app or us-vault) for live card data")
    return out


def txn_fields(txn: Mapping[int, str] | Iterable[str] | None) -> dict[str, str]:
    """External references ``txn1``..``txn10`` from a list or a mapping of number -> value.

    Example:
        >>> txn_fields(["ref-a", "ref-b"]), txn_fields({"txn3": "x"})
        ({'txn1': 'ref-a', 'txn2': 'ref-b'}, {'txn3': 'x'})
    """
    if txn is None:
        return {}
    items = list(txn.items()) if isinstance(txn, Mapping) else list(enumerate(txn, start=1))
    out = {}
    for number, value in items:
        if isinstance(number, str) and number.lower().startswith("txn"):
            number = number[3:]
        n = check_int("txn", number, 1, 10)
        out[f"txn{n}"] = str(value)
    return out
