"""Account variants: the shapes real ENS and Encharge accounts may send, where the evidence is uncertain.

Where the real shape is known, the sandbox sends it always. Where it is not (no published
export file, an account's own field names, date order by datacentre, whether a person record
carries a subscription status), a :class:`Variant` chooses one plausible shape, so the toolkit
can be tested on each. A variant never changes the synthetic people: the same seed gives the
same supporters and the same answers in every variant; only the shapes differ.

Choose one with ``Sandbox(variant="us-account")``, ``Sandbox(variant=Variant(date_order="mdy"))``,
or on the command line ``enstoolkit sandbox --variant us-account --variant optin_codes=YNP``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["PRESETS", "Variant"]


@dataclass(frozen=True)
class Variant:
    """How the emulated accounts shape what they send.

    ENS:

    Attributes:
        headers: the export file's column names: ``"api"`` (``supporterId``, ``createdOn``,
            field names, each question and its ``"<question> Date"``) or ``"dashboard"``
            (``Supporter ID``, ``Supporter Email``, ``Date Created``, ..., and an unnamed last column).
        date_order: how the account writes day-first dates: ``"dmy"`` (DD/MM/YYYY, the EU
            datacentre) or ``"mdy"`` (MM/DD/YYYY).
        email_field: the name of the account's email field (tagged "Email Address").
        field_names: the account's names for the address fields: ``"uk"`` (Postcode, Region,
            Phone Number) or ``"us"`` (ZIP or Postal Code, State or Province, Mobile Phone).
        range_questions: the account has a range question (``content: {rangeData, value}``).
        membership_history: memberships carry their ``history``.
        optin_codes: the answers opt-in questions hold: ``"YN"``, or ``"YNP"`` with pending
            double opt-ins ("P").
        supporter_values: ``"typed"`` (``supporterId`` a number and ``suppressed`` a boolean, as the
            spec says) or ``"text"`` (both as strings, as another client's fixtures show).
        question_names: the names supporter records give their ``questions[]``: ``"list"`` (the names
            ``/supporter/questions`` gives) or ``"short"`` (other names, as ENS's own examples call
            question 279 "Opt-in" in a record and "Opt-in EMAIL (single)" in the list). The ids agree
            either way: a record's ``questions[].id`` is the list's ``questionId``.
        process_amount: how a donation page's process answer writes ``amount``: ``"number"`` (10.0,
            as the spec's example) or ``"text"`` (``"10.00 GBP"``, with its currency: an answer the
            toolkit cannot type, after ENS has charged the gift).
        transaction_file: the "Transaction" export file: ``"documented"`` (the vendor's documented
            layout: ``Campaign Number``, ``Campaign ID`` as the name, US/Eastern date and time, export
            type codes), ``"api"`` (this project's own older style: the transaction list's keys),
            ``"renamed"`` (the documented layout with columns an account renamed: ``Email``,
            ``Created``, ``EN Transaction ID``) or ``"user-data"`` (no ``Supporter ID``: people by
            their email only). ``headers`` shapes the supporter file only.
        duplicates: ``"none"``, or ``"labelled"``: labelled true duplicate pairs of each kind and
            look-alikes that are two people, added to the synthetic supporters (and, for the
            cross-system kind, to Encharge), read with :mod:`enstoolkit.sandbox.truth`.

    Encharge:

    Attributes:
        person_status: where a person's subscription status is: ``"field"`` (an
            ``unsubscribed`` key, true or false, on every person), ``"when-set"`` (the key only
            on people who unsubscribed: empty fields are left out) or ``"absent"`` (never on
            person records).
        user_id: person records carry ``userId``.
        empty_tags: ``"empty"`` (``"tags": ""``) or ``"absent"`` (no ``tags`` key when there are none).
        custom_fields: custom fields at the top level of a person (``"top"``) or under ``data``.
        lookup_cap: ``"none"``, or ``"20"``: a lookup (GET /people) answers the first 20 people asked
            and silently drops the rest (a published claim of 20 per request).
    """

    name: str = "default"
    headers: str = "api"
    date_order: str = "dmy"
    email_field: str = "Email Address"
    field_names: str = "uk"
    range_questions: bool = True
    membership_history: bool = True
    optin_codes: str = "YN"
    supporter_values: str = "typed"
    question_names: str = "list"
    process_amount: str = "number"
    transaction_file: str = "documented"
    duplicates: str = "none"
    person_status: str = "field"
    user_id: bool = True
    empty_tags: str = "empty"
    custom_fields: str = "top"
    lookup_cap: str = "none"

    _CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "headers": ("api", "dashboard"), "date_order": ("dmy", "mdy"), "field_names": ("uk", "us"),
        "optin_codes": ("YN", "YNP"), "supporter_values": ("typed", "text"),
        "question_names": ("list", "short"), "process_amount": ("number", "text"), "duplicates": ("none", "labelled"),
        "transaction_file": ("documented", "api", "renamed", "user-data"),
        "person_status": ("field", "when-set", "absent"), "empty_tags": ("empty", "absent"),
        "custom_fields": ("top", "data"), "lookup_cap": ("none", "20"),
    }

    def __post_init__(self) -> None:
        for name, allowed in self._CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"variant {name}={getattr(self, name)!r}: expected one of {', '.join(allowed)}")
        if not isinstance(self.email_field, str) or not self.email_field.strip():
            raise ValueError("variant email_field: expected a field name")

    @classmethod
    def of(cls, spec: str | Variant | Iterable[str] | None) -> Variant:
        """A variant from preset names and ``name=value`` settings (comma-separated, or a list)."""
        if spec is None:
            return cls()
        if isinstance(spec, Variant):
            return spec
        parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else
                                     [q for item in spec for q in item.split(",")]) if p.strip()]
        settings: dict[str, Any] = {}
        names: list[str] = []
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "name"}
        for part in parts:
            if "=" in part:
                key, _, value = part.partition("=")
                key = key.strip()
                if key not in fields:
                    raise ValueError(f"variant setting {key!r}: expected one of {', '.join(sorted(fields))}")
                settings[key] = value.strip().lower() in ("1", "true", "yes") if fields[key].type == "bool" \
                    else value.strip()
                names.append(part)
            elif part in PRESETS:
                settings.update(PRESETS[part])
                names.append(part)
            else:
                raise ValueError(f"variant {part!r}: expected a preset ({', '.join(sorted(PRESETS))}) or NAME=VALUE")
        return cls(name="+".join(names) or "default", **settings)

    def describe(self) -> str:
        """One line naming what differs from the default."""
        default = Variant()
        changed = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
                   if f.name != "name" and getattr(self, f.name) != getattr(default, f.name)]
        return f"{self.name}: " + (", ".join(changed) if changed else "the default shapes")


#: Named variants (combine them, and override single settings with NAME=VALUE).
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "api-headers": {"headers": "api", "transaction_file": "api"},
    "renamed-export-columns": {"transaction_file": "renamed"},
    "user-data-transactions": {"transaction_file": "user-data"},
    "dashboard-headers": {"headers": "dashboard"},
    "us-account": {"date_order": "mdy", "field_names": "us", "email_field": "Email"},
    "pending-optins": {"optin_codes": "YNP"},
    "text-values": {"supporter_values": "text"},
    "short-question-names": {"question_names": "short"},
    "plain-questions": {"range_questions": False, "membership_history": False},
    "encharge-no-status": {"person_status": "absent", "user_id": False, "empty_tags": "absent",
                           "custom_fields": "data"},
    "labelled-duplicates": {"duplicates": "labelled"},
    "encharge-lookup-cap-20": {"lookup_cap": "20"},
    "encharge-status-when-set": {"person_status": "when-set", "user_id": False, "empty_tags": "absent"},
}
