"""``enstoolkit doctor``: a read-only look at the configured accounts, and the settings the notebooks need.

It reads (never writes) at most :data:`ENS_REQUEST_LIMIT` ENS requests, within the hourly
budget: the credentials and the datacentre, the fields (which is the email field, which fields
carry the First Name / Last Name / Postcode tags), the opt-in questions, the pages, one sample
supporter with questions, memberships and transactions, the export file's header for a given
query (its style and date order), and Encharge's account, fields and a few people (where their
subscription status is). It says what it found beside what the notebooks need, and the exact
parameter values to use.

With ``record=`` it writes the *shapes* it saw (keys and value types, never values) as JSON a
user can attach to a bug report.

Example:
    >>> from enstoolkit.config import connect
    >>> report = diagnose(connect(environ={}), query="All supporters")
    >>> report.settings["QUERY_NAME"], report.settings["OPTINS"]
    ('All supporters', ['Marketing Optin'])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from ..ens.readers import header_style
from ..errors import EnstoolkitError
from .connect import Connection
from .settings import REQUIRED_TAGS

__all__ = ["ENS_REQUEST_LIMIT", "Report", "diagnose", "shape_of"]

#: The most ENS requests a diagnosis may use.
ENS_REQUEST_LIMIT = 25
PAGE_TYPES_LOOKED_AT = ("dcf", "pet", "nd", "et", "mem")


def shape_of(value: Any) -> Any:
    """The shape of a value: its keys and the types of their values, never the values.

    Example:
        >>> shape_of({"supporterId": 5, "Email Address": "a@x.org", "questions": [{"response": "Y"}]})
        {'supporterId': 'int', 'Email Address': 'str', 'questions': [{'response': 'str'}]}
    """
    if isinstance(value, Mapping):
        return {str(k): shape_of(v) for k, v in value.items()}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        kinds: set[str] = set()
        for item in value:
            shape = shape_of(item)
            if isinstance(shape, dict):
                merged.update({k: v for k, v in shape.items() if k not in merged or merged[k] == "null"})
            else:
                kinds.add(str(shape))
        return [merged] if merged else sorted(kinds)
    if value is None:
        return "null"
    return type(value).__name__


@dataclass
class Report:
    """What a diagnosis found.

    Attributes:
        lines: (section, what was found, what the notebooks need or "ok") rows.
        settings: the notebook parameters to use (QUERY_NAME, OPTINS, REQUIRED_FIELDS, EMAIL_FIELD).
        shapes: the shapes seen, by name (for ``--record``).
        ens_requests: ENS requests used.
        problems: what stops the notebooks, as sentences.

    Example:
        >>> report = Report(settings={"QUERY_NAME": "All supporters"})
        >>> report.add("ENS", "the sandbox")
        >>> report.lines, report.command()
        ([('ENS', 'the sandbox', 'ok')], "enstoolkit audit --query 'All supporters'")
    """

    lines: list[tuple[str, str, str]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    shapes: dict[str, Any] = field(default_factory=dict)
    ens_requests: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, section: str, found: str, need: str = "ok") -> None:
        """Add one row.

        Example:
            >>> report = Report()
            >>> report.add("Fields", "no Postcode field", "a field tagged Postcode")
            >>> report.lines
            [('Fields', 'no Postcode field', 'a field tagged Postcode')]
        """
        self.lines.append((section, found, need))

    def command(self) -> str:
        """The ``enstoolkit audit`` command with the settings found.

        Example:
            >>> Report(settings={"QUERY_NAME": "All", "OPTINS": ["Q"], "REQUIRED_FIELDS": ["A"]}).command()
            "enstoolkit audit --query 'All' --optin 'Q' --required 'A'"
        """
        parts = ["enstoolkit audit"]
        if self.settings.get("QUERY_NAME"):
            parts.append(f"--query {self.settings['QUERY_NAME']!r}")
        parts += [f"--optin {q!r}" for q in self.settings.get("OPTINS") or []]
        parts += [f"--required {f!r}" for f in self.settings.get("REQUIRED_FIELDS") or []]
        return " ".join(parts)

    def text(self) -> str:
        """The report as the command prints it.

        Example:
            >>> report = Report(settings={"QUERY_NAME": "All supporters"}, ens_requests=3)
            >>> report.add("ENS", "the sandbox")
            >>> print(report.text())
            ENS  the sandbox
            <BLANKLINE>
            ENS requests used: 3 (at most 25)
            Notebook parameters for this account:
              QUERY_NAME = 'All supporters'
              enstoolkit audit --query 'All supporters'
        """
        width = max((len(s) for s, _, _ in self.lines), default=10)
        out = [f"{section:<{width}}  {found}" + ("" if need == "ok" else f"\n{'':<{width}}  -> {need}")
               for section, found, need in self.lines]
        out.append("")
        out.append(f"ENS requests used: {self.ens_requests} (at most {ENS_REQUEST_LIMIT})")
        out.append("Notebook parameters for this account:")
        for name, value in self.settings.items():
            out.append(f"  {name} = {value!r}")
        out.append(f"  {self.command()}")
        if self.problems:
            out.append("To fix before running the notebooks:")
            out += [f"  - {p}" for p in self.problems]
        return "\n".join(out)

    def record(self, folder: str | Path) -> list[Path]:
        """Write the shapes seen as JSON files into ``folder`` (keys and types only); returns the paths.

        Example:
            >>> import tempfile
            >>> paths = Report(shapes={"ens_fields": [{"id": "int", "name": "str"}]}).record(tempfile.mkdtemp())
            >>> [p.name for p in paths], paths[0].read_text().count("str")
            (['ens_fields.json'], 1)
        """
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for name, shape in self.shapes.items():
            path = target / f"{name}.json"
            path.write_text(json.dumps(shape, indent=2, sort_keys=True) + "\n")
            written.append(path)
        return written


def _ens_part(conn: Connection, report: Report, query: str | None, before: int) -> None:
    ens = conn.ens
    host = urlsplit(ens.base_url).hostname or ""
    region = {"ca.engagingnetworks.app": "Canada/Europe datacentre", "us.engagingnetworks.app": "US (Dallas)",
              "us2.engagingnetworks.app": "US 2", "www.e-activist.com": "legacy host (e-activist.com)"}.get(
        host, "the sandbox" if not conn.ens_real else host)
    report.add("ENS", f"{ens.base_url} ({region}); session valid: {ens.validate_session()}")
    fields = ens.get_fields()
    report.shapes["ens_fields"] = shape_of(fields.head(3).to_dicts())
    email = ens.email_field
    report.add("email field", f"{email!r} (the field tagged Email Address)")
    zone = ens.timezone
    said = ", the default: ENS writes US/Eastern" if zone == "US/Eastern" else ""
    report.add("export time zone", f"{zone} (ENS_TIMEZONE{said}): the transaction file's Campaign Date/Time are "
                                   "read in it, then turned into UTC")
    tagged = dict(zip(fields["tag"], fields["name"], strict=True))
    required = [tagged[t] for t in REQUIRED_TAGS if t in tagged]
    missing_tags = [t for t in REQUIRED_TAGS if t not in tagged]
    report.add("required fields", ", ".join(required) or "none",
               "ok" if not missing_tags else
               f"no field is tagged {', '.join(missing_tags)}: name yours in REQUIRED_FIELDS")
    questions = ens.get_questions()
    optins = ens.optin_questions()
    report.add("opt-in questions", ", ".join(optins) or "none",
               "choose the one(s) Encharge's email subscription must agree with (OPTINS)" if optins else
               "the account has no opt-in question: the consent checks cannot run")
    general = questions.filter(pl.col("type") == "GEN").get_column("name").to_list()
    report.add("other questions", ", ".join(general) or "none")
    counts = []
    for kind in PAGE_TYPES_LOOKED_AT:
        try:
            counts.append(f"{kind} {ens.get_pages(kind).height}")
        except EnstoolkitError as exc:
            counts.append(f"{kind} ({exc})")
    report.add("pages", ", ".join(counts))
    sample = ens.query_supporters("latestModified", days_back=32, rows=1, limit=1, progress=False)
    if sample.height:
        sid = int(sample.item(0, "supporterId"))
        response = ens._send("GET", f"/supporter/{sid}", params={"includeQuestions": "true",
                                                                "includeMemberships": "true"}, ok=(200, 204, 404))
        body = response.json() if response.status_code == 200 and response.content else {}
        report.shapes["ens_supporter"] = shape_of(body)
        answers = sorted({str(q.get("response")) for q in body.get("questions") or [] if q.get("type") != "GENERAL"})
        report.add("sample supporter", f"{len(body)} keys, ids as {type(body.get('supporterId')).__name__}; "
                                       f"opt-in answers seen: {', '.join(answers) or 'none'}")
        tx = ens._send("GET", f"/supporter/{sid}/transactions", ok=(200, 204, 404))
        items = tx.json() if tx.status_code == 200 and tx.content else []
        report.shapes["ens_transactions"] = shape_of(items)
        kinds = sorted({str(t.get("type")) for t in items})
        dated = "createdDate" if any("createdDate" in t for t in items) else "no createdDate"
        report.add("sample transactions", f"{len(items)} ({', '.join(kinds) or 'none'}; {dated})")
    else:
        report.add("sample supporter", "none modified in the last 32 days", "nothing to look at: the rest still holds")
    if query is None:
        report.add("export query", "not given", "run again with --query NAME (a query saved in your ENS dashboard)")
        report.problems.append("QUERY_NAME: name the export query (enstoolkit doctor --query NAME checks it)")
    else:
        budget = ENS_REQUEST_LIMIT - 3 - (ens.requests_last_hour - before)
        header = ens.export_columns(query, max_polls=max(1, min(10, budget)))
        style = header_style(header)
        report.shapes["ens_export_header"] = header
        need = "ok"
        if style is None:
            need = ("neither known header style: map your columns with export_supporters(columns={...}); "
                    "attach the --record files to a bug report")
            report.problems.append(f"the export of {query!r} has neither known header style")
        absent = [q for q in optins if q not in header]
        if absent and style is not None:
            need = f"the opt-ins {', '.join(absent)} are not in this query's export: add them to the query"
        report.add("export header", f"{len(header)} columns, {style or 'unknown'} style: "
                                    f"{', '.join(repr(h) for h in header[:6])}...", need)
    from .settings import SANDBOX_DEFAULTS

    chosen = list(SANDBOX_DEFAULTS["optins"]) if not conn.ens_real else optins
    report.settings.update({"QUERY_NAME": query, "OPTINS": chosen, "REQUIRED_FIELDS": required, "EMAIL_FIELD": email})


def _encharge_part(conn: Connection, report: Report) -> None:
    enc = conn.encharge
    account = enc.get_account()
    report.add("Encharge", f"account {account.item(0, 'name')!r}, {account.item(0, 'peopleCount'):,} people, "
                           f"status {account.item(0, 'status')}")
    fields = enc.get_fields()
    report.shapes["encharge_fields"] = shape_of(fields.head(3).to_dicts())
    body = enc._json("GET", "/people/all", params={"limit": 20, "offset": 0})
    people = body.get("people", []) if isinstance(body, Mapping) else []
    report.shapes["encharge_people"] = shape_of(people)
    with_status = sum(1 for p in people if "unsubscribed" in p)
    need = "ok"
    if people and not with_status:
        need = ("no person carries 'unsubscribed': the consent checks will say 'cannot check' "
                "(see docs/consent-status.md)")
    report.add("Encharge people", f"{len(people)} sampled; 'unsubscribed' on {with_status}; "
                                  f"keys: {', '.join(sorted({k for p in people for k in p})[:10])}", need)


def diagnose(conn: Connection, *, query: str | None = None) -> Report:
    """Look at both accounts, read-only, and say what the notebooks need (see the module's description).

    Raises :class:`~enstoolkit.errors.BudgetExceeded` when the hour's ENS budget cannot cover
    :data:`ENS_REQUEST_LIMIT` requests.

    Example:
        >>> from enstoolkit.config import connect
        >>> report = diagnose(connect(environ={}))
        >>> report.problems[0].startswith("QUERY_NAME")
        True
    """
    report = Report()
    conn.ens._ensure_budget(ENS_REQUEST_LIMIT, "enstoolkit doctor")
    before = conn.ens.requests_last_hour
    try:
        _ens_part(conn, report, query, before)
    finally:
        report.ens_requests = conn.ens.requests_last_hour - before
    _encharge_part(conn, report)
    return report
