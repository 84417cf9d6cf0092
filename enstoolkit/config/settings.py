"""The account's settings for the audit and the opt-in analysis: which export query, which opt-ins, which fields.

Real accounts name things their own way (a saved query, "ZIP or Postal Code", their own opt-in
questions). :func:`audit_settings` takes what the user gave (notebook parameters, or
``enstoolkit audit --query/--optin/--required``), checks every name against the account, and
fills what was left out only where the account itself says what it is:

- the required fields default to the fields *tagged* First Name, Last Name and Postcode
  (whatever the account calls them);
- on the sandbox, the query defaults to "All supporters" and the opt-in to "Marketing Optin";
  on a real account both must be given (ENS cannot list saved queries, and which opt-in governs
  email is the organisation's decision): a clear error says so, naming the account's opt-in
  questions, and ``enstoolkit doctor`` prints the values to use.

Example:
    >>> from enstoolkit.config import connect
    >>> s = audit_settings(connect(environ={}))
    >>> s.query, s.optins, s.required
    ('All supporters', ['Marketing Optin'], ['First Name', 'Last Name', 'Postcode'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from ..errors import ConfigurationError
from .connect import Connection

__all__ = ["REQUIRED_TAGS", "SANDBOX_DEFAULTS", "AuditSettings", "audit_settings"]

#: The field tags whose fields the audit requires by default.
REQUIRED_TAGS = ("First Name", "Last Name", "Postcode")
SANDBOX_DEFAULTS = {"query": "All supporters", "optins": ["Marketing Optin"]}


@dataclass
class AuditSettings:
    """What the audit and the opt-in analysis run with, every name checked against the account.

    Attributes:
        query: the ENS export query (saved in the dashboard).
        optins: the opt-in questions whose answers Encharge's subscription must agree with.
        required: the fields every supporter should have.
        email_field: the account's email field.
        optin_questions: every opt-in (and confirmation) question of the account, for the rates.
        notes: what was filled in, and from where.

    Example:
        >>> from enstoolkit.config import connect
        >>> settings = audit_settings(connect(environ={}))
        >>> settings.email_field, settings.required[0]
        ('Email Address', 'First Name')
    """

    query: str
    optins: list[str]
    required: list[str]
    email_field: str
    optin_questions: list[str]
    notes: list[str] = field(default_factory=list)


def _check(names: Sequence[str], known: Sequence[str], what: str, parameter: str) -> list[str]:
    by_lower = {k.lower(): k for k in known}
    unknown = [n for n in names if n.lower() not in by_lower]
    if unknown:
        raise ConfigurationError(f"{parameter}: {', '.join(map(repr, unknown))} not among this account's {what}: "
                                 f"{', '.join(known)}")
    return [by_lower[n.lower()] for n in names]


def audit_settings(conn: Connection, *, query: str | None = None, optins: Sequence[str] | None = None,
                   required: Sequence[str] | None = None) -> AuditSettings:
    """The settings to run the audit with: the given ones checked, the missing ones from the account.

    Raises :class:`~enstoolkit.errors.ConfigurationError` naming the parameter to set when a
    value cannot be known, or a given name is not the account's.

    Example:
        >>> from enstoolkit.config import connect
        >>> audit_settings(connect(environ={}), optins=["sms optin"]).optins
        ['SMS Optin']
    """
    ens = conn.ens
    notes: list[str] = []
    on_sandbox = not conn.ens_real
    fields = ens.get_fields()
    questions = ens.get_questions()
    optin_questions = questions.filter(pl.col("type").is_in(["OPT", "CONF"])).get_column("name").to_list()
    if query is None:
        if not on_sandbox:
            raise ConfigurationError(
                "QUERY_NAME is not set: name the export query saved in your ENS dashboard that holds the supporters "
                "to audit (enstoolkit audit --query NAME, or QUERY_NAME in the notebook's parameters); "
                "enstoolkit doctor --query NAME checks it")
        query = str(SANDBOX_DEFAULTS["query"])
        notes.append(f"query: {query!r} (the sandbox's)")
    if optins is None:
        if not on_sandbox:
            raise ConfigurationError(
                "OPTINS is not set: name the opt-in question(s) that Encharge's email subscription must agree with "
                f"(enstoolkit audit --optin NAME, or OPTINS in the notebook's parameters); this account's opt-in "
                f"questions: {', '.join(optin_questions) or 'none'}")
        optins = list(SANDBOX_DEFAULTS["optins"])
        notes.append(f"opt-ins: {optins} (the sandbox's)")
    checked_optins = _check(list(optins), optin_questions, "opt-in questions", "OPTINS")
    names = fields.get_column("name").to_list()
    if required is None:
        tagged = fields.filter(pl.col("tag").is_in(list(REQUIRED_TAGS)))
        by_tag = dict(zip(tagged.get_column("tag"), tagged.get_column("name"), strict=True))
        required = [by_tag[t] for t in REQUIRED_TAGS if t in by_tag]
        missing = [t for t in REQUIRED_TAGS if t not in by_tag]
        notes.append(f"required fields: {required} (the fields tagged {', '.join(REQUIRED_TAGS)})"
                     + (f"; no field is tagged {', '.join(missing)}" if missing else ""))
    checked_required = _check(list(required), names, "fields", "REQUIRED_FIELDS")
    return AuditSettings(query=query, optins=checked_optins, required=checked_required, email_field=ens.email_field,
                         optin_questions=optin_questions, notes=notes)
