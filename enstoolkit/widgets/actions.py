"""The everyday actions as plain functions: search, tag, process pages.

The notebook panels (:mod:`enstoolkit.widgets`) only wire buttons to these functions;
tests and scripts call them directly. Write actions come in two steps: a *preview* frame
that says who gets what (and flags what cannot be done), then an *apply* step that
reports, row by row, what happened.

Example:
    >>> from enstoolkit.config import connect
    >>> conn = connect(environ={})
    >>> found = search_supporters(conn.ens, "latest created", days_back=3)
    >>> found.columns[:2]
    ['supporterId', 'email']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..bulk import Journal, outcome
from ..encharge import EnchargeClient, check_tags, people_frame
from ..ens import ENSClient
from ..errors import ValidationError
from ..inputs.arguments import check_frame, check_id, is_valid_email
from ..inputs.people_args import (
    EMAIL_COLUMNS,
    email_columns,
    find_email_column,
    people_email_rows,
    people_emails,
    rows_frame,
)
from ..schemas import ItemState, Outcome
from ..schemas.frames import read_frame
from ..schemas.results import PERSON_RESULT, PROCESS_PREVIEW, PROCESS_ROW_RESULT, TAG_PREVIEW

__all__ = [
    "PAGE_KINDS",
    "SEARCH_MODES",
    "TOMBSTONE_PROBLEM",
    "PageForm",
    "apply_tags",
    "auto_mapping",
    "build_filter",
    "outcome_summary",
    "page_form",
    "preview_process",
    "preview_tags",
    "process_rows",
    "search_supporters",
    "selected_people",
    "with_encharge",
]

Progress = Callable[[int, int], None]

#: Search modes, as the panel shows them, to the query type (None: a direct lookup).
SEARCH_MODES: dict[str, str | None] = {
    "email": None,
    "supporter id": None,
    "latest created": "latestCreated",
    "latest modified": "latestModified",
    "suppressed": "suppressed",
    "profile": "profile",
    "search": "search",
}
#: Page kinds the process panel offers: the ENS page-list type and a label.
PAGE_KINDS: dict[str, str] = {
    "dcf": "Sign-up / data capture", "ems": "Email sign-up", "unsub": "Unsubscribe", "pet": "Petition",
    "et": "Email to target (advocacy)", "nd": "Donation", "mem": "Membership",
}
DONATION_FIELDS = ("donationAmt", "paymenttype", "paycurrency", "ccnumber", "ccexpire", "ccvv", "recurrpay")

# -- search -----------------------------------------------------------------------------------


def _standardise(df: pl.DataFrame) -> pl.DataFrame:
    """supporterId and email first, whatever the source called the email column."""
    if "email" not in df.columns:
        source = next((c for c in EMAIL_COLUMNS if c in df.columns), None)
        email = pl.col(source) if source else pl.lit(None, dtype=pl.String)
        df = df.with_columns(email.alias("email"))
    rest = [c for c in df.columns if c not in ("supporterId", "email", "emailAddress", "Email Address")]
    return df.select("supporterId", "email", *rest)


def build_filter(conditions: Iterable[tuple[str, str]]) -> str:
    """An ENS search filter from (field property, values) pairs; values split on commas are ORed.

    Example:
        >>> build_filter([("country", "GB, IE"), ("firstName", "Jo")])
        'country:GB||IE~firstName:Jo'
    """
    parts = []
    for prop, values in conditions:
        items = [v.strip() for v in str(values).split(",") if v.strip()]
        if not prop or not items:
            continue
        parts.append(f"{prop}:" + "||".join(items))
    if not parts:
        raise ValidationError("filter", list(conditions), "at least one field with a value")
    return "~".join(parts)


def search_supporters(
    ens: ENSClient,
    mode: str,
    *,
    value: str | int | None = None,
    days_back: int = 1,
    profile_id: int | str | None = None,
    filter: str | Mapping[str, Any] | None = None,
    progress: bool = False,
) -> pl.DataFrame:
    """Find supporters by email, by id, or with an ENS query; ``supporterId`` and ``email`` come first.

    Args:
        mode: one of :data:`SEARCH_MODES` ("email", "supporter id", "latest created", ...).
        value: the email or supporter id for the direct lookups.

    Example:
        >>> from enstoolkit.config import connect
        >>> search_supporters(connect(environ={}).ens, "email", value="nobody@example.org").height
        0
    """
    if mode not in SEARCH_MODES:
        raise ValidationError("mode", mode, "one of " + ", ".join(SEARCH_MODES))
    if mode == "email":
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("email", value, "an email address such as name@example.org")
        return _standardise(ens.get_supporter(email=value))
    if mode == "supporter id":
        return _standardise(ens.get_supporter(check_id("supporter id", value)))
    qtype = SEARCH_MODES[mode]
    assert qtype is not None
    df = ens.query_supporters(
        qtype, days_back=days_back, profile_id=profile_id if qtype == "profile" else None,
        filter=filter if qtype == "search" else None, progress=progress,
    )
    return _standardise(df)


def with_encharge(df: pl.DataFrame, encharge: EnchargeClient, *, email_column: str | None = None) -> pl.DataFrame:
    """Add each supporter's Encharge record beside their ENS one (looked up by email).

    New columns: ``in_encharge``, ``encharge_id``, ``encharge_unsubscribed``, ``encharge_tags``
    and ``encharge_status_source`` (where ``encharge_unsubscribed`` came from: null means
    Encharge gave no status, never "subscribed"). ``in_encharge`` is null for a row whose email
    could not be looked up (none, or one the toolkit does not take as an address), never False.
    Each row's email is found by the one rule of :mod:`enstoolkit.inputs.people_args` (the first non-empty
    of its email columns; ``email_column`` names one to look in first).

    Example:
        >>> from enstoolkit.config import connect
        >>> conn = connect(environ={})
        >>> df = search_supporters(conn.ens, "latest created", days_back=2)
        >>> with_encharge(df, conn.encharge).columns[-5:]
        ['in_encharge', 'encharge_id', 'encharge_unsubscribed', 'encharge_tags', 'encharge_status_source']
    """
    df = check_frame("df", df)
    find_email_column(df.columns, preferred=email_column, argument="df")  # a frame without one is refused
    columns = email_columns(df.columns, preferred=email_column)
    for column in columns:
        if df.schema[column] not in (pl.String, pl.Null):
            raise ValidationError("df", f"{column!r} of {df.schema[column]}", "an email column of text")
    # each row's email: the first non-empty of its email columns (the one rule of enstoolkit.inputs.people_args)
    cells = [pl.col(c).cast(pl.String).str.strip_chars() for c in columns]
    key = pl.coalesce([pl.when(cell != "").then(cell) for cell in cells]).str.to_lowercase()
    emails = [e for e in df.select(key).to_series().drop_nulls().unique(maintain_order=True) if is_valid_email(e)]
    found = encharge.get_people(emails=emails) if emails else people_frame([])
    found = encharge.known_statuses(found)  # statuses the records do not carry: from the "Unsubscribed" segment
    source = pl.col("statusSource") if "statusSource" in found.columns else pl.lit(None, pl.String)
    lookup = found.select(
        pl.col("email").str.to_lowercase().alias("__key"),
        pl.lit(True).alias("in_encharge"),
        pl.col("id").alias("encharge_id"),
        pl.col("unsubscribed").alias("encharge_unsubscribed"),
        pl.col("tags").alias("encharge_tags"),
        source.alias("encharge_status_source"),
    ).unique("__key", keep="first", maintain_order=True)
    out = df.with_columns(key.alias("__key")).join(lookup, on="__key", how="left", maintain_order="left")
    # False only for an email that was looked up and not found; null when it could not be looked up
    looked_up = pl.col("__key").is_in(emails)
    return out.with_columns(pl.when(looked_up).then(pl.col("in_encharge").fill_null(False))
                            .alias("in_encharge")).drop("__key")


def outcome_summary(results: pl.DataFrame, verb: str) -> tuple[str, bool]:
    """One line saying what a run did, and whether anything needs attention (any status but done or skipped).

    Every status is counted: "not found", "failed", "invalid", "unknown" and "not attempted" all
    say the run did not do what was asked for that row. A done row with a note in ``error``
    (part of the answer could not be read) is done, and also needs a look.

    Example:
        >>> df = pl.DataFrame({"status": ["done", "not found", "skipped"], "error": [None, "no person", None]})
        >>> outcome_summary(df, "tagged")
        ('Done: 1 tagged, 1 skipped, 1 not (1 not found). First problem: no person', True)
        >>> outcome_summary(pl.DataFrame({"status": ["done"], "error": ["amount unreadable"]}), "processed")
        ('Done: 1 processed, 0 skipped, 0 not. 1 done with a note: amount unreadable', True)
    """
    results = check_frame("results", results, ("status",))
    counts = dict(results.group_by("status").len().iter_rows())
    done, skipped = counts.pop(str(Outcome.DONE), 0), counts.pop(str(Outcome.SKIPPED), 0)
    problems = sum(counts.values())
    text = f"Done: {done:,} {verb}, {skipped:,} skipped, {problems:,} not"
    if problems:
        text += " (" + ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items())) + ")"
    text += "."
    if problems and "error" in results.columns:
        first = results.filter(~pl.col("status").is_in([str(Outcome.DONE), str(Outcome.SKIPPED)])
                               & pl.col("error").is_not_null()).get_column("error").head(1).to_list()
        if first:
            text += f" First problem: {first[0]}"
    noted = (results.filter((pl.col("status") == str(Outcome.DONE)) & pl.col("error").is_not_null())
             .get_column("error").to_list() if "error" in results.columns else [])
    if noted:
        text += f" {len(noted):,} done with a note: {noted[0]}"
    return text, bool(problems or noted)


# -- tags -------------------------------------------------------------------------------------


def selected_people(people: Any) -> tuple[list[str], int]:
    """The people of a selection (a search's rows, a frame, pasted emails): their emails, and how many rows had none.

    Emails are found by the one rule of :mod:`enstoolkit.inputs.people_args` (each row's first non-empty
    email column), each once; rows without an email are counted, not passed over without a
    word, so a panel can say how many of the selection it cannot act on.

    Example:
        >>> selected_people(pl.DataFrame({"Email Address": ["a@example.org", None, "B@example.org"]}))
        (['a@example.org', 'b@example.org'], 1)
    """
    rows = people_email_rows(people)
    return list(dict.fromkeys(e for e in rows if e is not None)), sum(1 for e in rows if e is None)


def preview_tags(encharge: EnchargeClient, people: Any, tags: str | Iterable[str], action: str) -> pl.DataFrame:
    """Who would get (or lose) which tags; people Encharge does not know are flagged.

    ``change`` says, per person, "add vip", "remove vip", "no change" or "skip: not in Encharge".
    Nothing is sent but lookups.

    Example:
        >>> from enstoolkit.config import connect
        >>> conn = connect(environ={})
        >>> preview_tags(conn.encharge, ["nobody@example.org"], "vip", "add").item(0, "change")
        'skip: not in Encharge'
    """
    if action not in ("add", "remove"):
        raise ValidationError("action", action, "'add' or 'remove'")
    names = check_tags(tags)
    emails = people_emails(people)
    if not emails:
        raise ValidationError("people", people, "at least one person")
    known = encharge.get_people(emails=emails)
    by_email = {row["email"].lower(): row for row in known.iter_rows(named=True) if row["email"]}
    rows = []
    for email in emails:
        person = by_email.get(email)
        current = list(person["tags"] or []) if person else []
        if person is None:
            change = "skip: not in Encharge"
        else:
            todo = [t for t in names if (t not in current) == (action == "add")]
            change = f"{action} " + ", ".join(todo) if todo else "no change"
        rows.append({"email": email, "id": person["id"] if person else None, "in_encharge": person is not None,
                     "current_tags": current, "action": action, "tags": names, "change": change})
    return read_frame(rows, TAG_PREVIEW)


def apply_tags(encharge: EnchargeClient, preview: pl.DataFrame, *, on_progress: Progress | None = None,
               journal: Journal | None = None) -> pl.DataFrame:
    """Carry out a tag preview as a journalled run: people Encharge knows are tagged (or untagged),
    the rest reported as skipped.

    Returns one row per person of the preview, with ``status`` (an :class:`~enstoolkit.schemas.Outcome`):
    "done", "skipped", "not found", "failed" or "not attempted", and the journal's ``run_id``
    (to resume an interrupted run).

    Example:
        >>> from enstoolkit.config import connect
        >>> conn = connect(environ={})
        >>> preview = preview_tags(conn.encharge, ["nobody@example.org"], "vip", "add")
        >>> apply_tags(conn.encharge, preview).item(0, "status")
        'skipped'
    """
    preview = check_frame("preview", preview, TAG_PREVIEW, what="a preview from preview_tags")
    if preview.height == 0:
        raise ValidationError("preview", "an empty preview", "a preview with at least one person")
    action = preview.item(0, "action")
    tags = list(preview.item(0, "tags"))
    targets = preview.filter(pl.col("in_encharge")).get_column("email").to_list()
    total = preview.height
    skipped = total - len(targets)
    if on_progress:
        on_progress(skipped, total)
    journalled: dict[str, dict[str, Any]] = {}
    run_id = None
    if targets:
        from ..bulk import tag_people

        def progress(done: int, _all: int) -> None:
            if on_progress:
                on_progress(skipped + done, total)

        run = tag_people(encharge, targets, tags, action, journal=journal, on_progress=progress, progress=False)
        run_id = run.run_id
        for entry in run.items().iter_rows(named=True):
            journalled[entry["key"]] = entry
    rows = []
    for person in preview.iter_rows(named=True):
        item = journalled.get(person["email"])
        row: dict[str, Any] = {"email": person["email"], "id": person["id"], "userId": None, "action": action,
                               "tags": tags, "http_status": None, "error": None, "run_id": run_id}
        if item is None:
            row.update(status=Outcome.SKIPPED, error="not in Encharge", run_id=None)
        else:
            row.update(status=outcome(item["state"]), error=item["error"] if item["state"] != ItemState.DONE else None)
            if item["state"] == ItemState.DONE:
                row["http_status"] = json.loads(item["result"] or "{}").get("http_status")
            elif row["status"] == Outcome.NOT_ATTEMPTED:
                row["error"] = "the run stopped first: resume it"
        rows.append(row)
    return read_frame(rows, {**PERSON_RESULT, "run_id": pl.String()})


# -- page processing ---------------------------------------------------------------------------


@dataclass
class PageForm:
    """What a page's form asks for, built from the page type and the account.

    Example:
        >>> from enstoolkit.config import connect
        >>> form = page_form(connect(environ={}).ens, 100)
        >>> form.name, form.kind, form.sub_type, form.donation, form.optins[0]
        ('Newsletter Sign Up', 'dc', 'DCF', False, 'Marketing Optin')
    """

    page_id: int
    name: str
    kind: str  # dc, nd, et ...
    sub_type: str
    fields: list[str]  # supporter field names, email first
    optins: list[str]  # opt-in (and confirmation) question names: checkboxes
    donation: bool
    advocacy: bool
    status: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_FORM_FIELDS = ("Email Address", "Title", "First Name", "Last Name", "Address 1", "City", "Region",
                "Postcode", "Country", "Phone Number")


def page_form(ens: ENSClient, page_id: int | str) -> PageForm:
    """The form for a page: supporter fields, opt-in checkboxes, and donation or message parts.

    Example:
        >>> from enstoolkit.config import connect
        >>> form = page_form(connect(environ={}).ens, 130)
        >>> form.donation, form.advocacy, form.fields[0]
        (True, False, 'Email Address')
    """
    page = ens.get_page(page_id).row(0, named=True)
    names = ens.get_fields().get_column("name").to_list()
    email = ens.email_field
    ordered = [email] + [n for n in _FORM_FIELDS if n in names and n != email]
    questions = ens.get_questions()
    optins = questions.filter(pl.col("type").is_in(["OPT", "CONF"])).get_column("name").to_list()
    kind = page["type"] or ""
    return PageForm(
        page_id=int(page["id"]), name=page["name"] or "", kind=kind, sub_type=page["subType"] or "",
        fields=ordered, optins=optins, donation=kind == "nd", advocacy=kind == "et",
        status=page["campaignStatus"] or "",
    )


def auto_mapping(columns: Sequence[str], fields: Sequence[str]) -> dict[str, str | None]:
    """Guess which frame column feeds which ENS field (by name, ignoring case, spaces and underscores).

    Example:
        >>> auto_mapping(["email", "first_name", "notes"], ["Email Address", "First Name"])
        {'email': 'Email Address', 'first_name': 'First Name', 'notes': None}
    """
    def norm(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    aliases = {"email": "emailaddress", "emailaddress": "emailaddress", "firstname": "firstname",
               "lastname": "lastname", "postcode": "postcode", "zip": "postcode", "postalcode": "postcode"}
    by_norm = {norm(f): f for f in fields}
    out: dict[str, str | None] = {}
    for column in columns:
        key = aliases.get(norm(column), norm(column))
        out[column] = by_norm.get(key)
    return out


def _request_for(row: Mapping[str, Any], mapping: Mapping[str, str | None]) -> dict[str, Any]:
    supporter: dict[str, Any] = {}
    for column, target in mapping.items():
        if target and row.get(column) not in (None, ""):
            supporter[target] = row[column]
    return supporter


#: The problem a preview gives a row whose address is tombstoned (erased or suppressed).
TOMBSTONE_PROBLEM = "erased or suppressed person (tombstone): not sent"


def preview_process(frame: pl.DataFrame, mapping: Mapping[str, str | None], form: PageForm, *,
                    questions: Mapping[str, bool] | None = None, allow_repeats: bool = False,
                    ens: Any = None) -> pl.DataFrame:
    """What a batch would submit: one row per input row (numbered from 1), with the supporter it would send
    and any problem.

    ``frame`` is a frame, or rows as :func:`enstoolkit.inputs.people_args.rows_frame` takes them (dicts, emails);
    ``mapping`` maps its columns to the page form's fields. A row with a problem is not sent; an
    erased or suppressed person (a tombstone of the account ``ens`` acts on) is one.
    A person is one submission: a row whose email (trimmed, ignoring case) is an earlier row's
    gets the problem "same person as row n", so one batch never charges anyone twice, unless
    ``allow_repeats=True`` (a deliberate second gift; pass it to :func:`process_rows` too).

    Example:
        >>> form = PageForm(100, "Sign up", "dc", "DCF", ["Email Address", "First Name"], [], False, False)
        >>> df = pl.DataFrame({"email": ["a@example.org", "bad", " A@example.org"], "name": ["A", "B", "C"]})
        >>> preview_process(df, {"email": "Email Address", "name": "First Name"}, form)["problem"].to_list()
        [None, "invalid email 'bad'", 'same person as row 1']
        >>> preview_process(df, {"email": "Email Address"}, form, allow_repeats=True)["problem"].to_list()
        [None, "invalid email 'bad'", None]
    """
    if not isinstance(allow_repeats, bool):
        raise ValidationError("allow_repeats", allow_repeats, "True or False")
    frame = rows_frame(frame, argument="frame")
    if not isinstance(mapping, Mapping):
        raise ValidationError("mapping", type(mapping).__name__, "a dict of column -> page field")
    absent = [c for c, t in mapping.items() if t and c not in frame.columns]
    if absent:
        raise ValidationError("mapping", absent, "columns of the frame: " + ", ".join(frame.columns[:20]))
    email_field = form.fields[0]
    if email_field not in [t for t in mapping.values() if t]:
        raise ValidationError("mapping", dict(mapping), f"a column mapped to {email_field!r}")
    unknown = [t for t in mapping.values() if t and t not in form.fields]
    if unknown:
        raise ValidationError("mapping", unknown, "fields of the page form: " + ", ".join(form.fields))
    rows = []
    first: dict[str, int] = {}  # each person's first row
    for n, row in enumerate(frame.iter_rows(named=True)):
        supporter = _request_for(row, mapping)
        email = str(supporter.get(email_field, "") or "").strip()
        problem = None
        if not email:
            problem = "no email"
        elif not is_valid_email(email):
            problem = f"invalid email {email!r}"
        elif email.lower() in first and not allow_repeats:
            problem = f"same person as row {first[email.lower()]}"
        else:
            first.setdefault(email.lower(), n + 1)
        rows.append({"row": n + 1, "email": email or None, "supporter": json.dumps(supporter, default=str),
                     "questions": json.dumps({q: "Y" if v else "N" for q, v in (questions or {}).items()}),
                     "problem": problem})
    from ..protection.tombstones import default_tombstones

    hits = default_tombstones(ens).hits([r["email"] if r["problem"] is None else None for r in rows])
    for row, hit in zip(rows, hits, strict=True):
        if hit:  # never submitted from the panel: the person was erased or asked to be suppressed
            row["problem"] = TOMBSTONE_PROBLEM
    return read_frame(rows, PROCESS_PREVIEW)


def process_rows(
    ens: ENSClient,
    form: PageForm,
    preview: pl.DataFrame,
    *,
    transaction: Mapping[str, Any] | None = None,
    contact_message: Mapping[str, str] | None = None,
    demo: bool = False,
    suppress_auto_responder: bool = False,
    on_progress: Progress | None = None,
    journal: Journal | None = None,
    allow_repeats: bool = False,
) -> pl.DataFrame:
    """Submit each previewed row to the page once, as a journalled run; report every row.

    A person is sent once: a row repeating an earlier row's email (trimmed, ignoring case)
    is "invalid", "same person as row n", unless ``allow_repeats=True`` (as given to
    :func:`preview_process` for a deliberate second gift).

    ``status`` per row (an :class:`~enstoolkit.schemas.Outcome`): "done" (``ens_status`` holds
    ENS's own, SUCCESS; ``error`` holds a note when part of ENS's answer could not be read,
    e.g. an amount written "10.00 GBP": ENS processed it, and it is never sent again),
    "failed" (ENS refused it, with its message), "invalid" (the preview found a problem, or the
    row repeats a person; not sent), "unknown" (the answer was lost or could not be read: it may
    have been processed; ``error`` says why; the run's review settles it before anything is
    resent, see :func:`enstoolkit.bulk.review`) or "not attempted" (the run stopped first, e.g.
    at the hourly limit; resume it). ``run_id`` names the journalled run.

    Example:
        >>> from enstoolkit.config import connect
        >>> ens = connect(environ={}).ens
        >>> form = page_form(ens, 110)
        >>> preview = preview_process(pl.DataFrame({"email": ["p@example.org"]}), {"email": "Email Address"}, form)
        >>> process_rows(ens, form, preview, demo=True).item(0, "status")
        'done'
    """
    preview = check_frame("preview", preview, PROCESS_PREVIEW, what="a preview from preview_process")
    from ..bulk import process_pages

    if not isinstance(allow_repeats, bool):
        raise ValidationError("allow_repeats", allow_repeats, "True or False")
    repeats: dict[int, str] = {}  # a preview's row -> why it is not sent (a preview built or edited by hand)
    if not allow_repeats:
        first: dict[str, int] = {}
        for n, email in preview.filter(pl.col("problem").is_null()).select("row", "email").iter_rows():
            key = (email or "").strip().lower()
            if key in first:
                repeats[n] = f"same person as row {first[key]}"
            first.setdefault(key, n)
    if repeats:
        problems = [repeats.get(n, problem) for n, problem in preview.select("row", "problem").iter_rows()]
        preview = preview.with_columns(pl.Series("problem", problems, dtype=pl.String))
    refused = preview.filter(pl.col("problem") == TOMBSTONE_PROBLEM).get_column("email").to_list()
    if refused:  # each refusal logged for the DPO (hashes only)
        from ..protection.tombstones import default_tombstones

        default_tombstones(ens).guard(refused, path="Process panel")
    valid = preview.filter(pl.col("problem").is_null())
    total = preview.height
    invalid = total - valid.height
    by_row: dict[int, dict[str, Any]] = {}
    run = None
    if valid.height:
        questions: dict[str, str] = {}
        for text in valid.get_column("questions").unique().to_list():
            questions.update(json.loads(text or "{}"))

        def progress(done: int, _all: int) -> None:
            if on_progress:
                on_progress(invalid + done, total)

        run = process_pages(
            ens, form.page_id, [json.loads(s) for s in valid.get_column("supporter")],
            questions=questions or None, transaction=transaction if form.donation else None,
            contact_message=contact_message if form.advocacy else None, demo=demo,
            suppress_auto_responder=suppress_auto_responder, journal=journal, on_progress=progress,
            progress=False, allow_repeats=allow_repeats, write_path="Process panel",
        )
        items = run.items().iter_rows(named=True)
        for preview_row, entry in zip(valid.get_column("row").to_list(), items, strict=True):
            by_row[preview_row] = entry
    results: list[dict[str, Any]] = []
    for row in preview.iter_rows(named=True):
        base: dict[str, Any] = {"row": row["row"], "email": row["email"], "ens_status": None, "supporterId": None,
                                "transactionId": None, "amount": None, "error": None,
                                "run_id": run.run_id if run else None}
        item = by_row.get(row["row"])
        if item is None:
            results.append({**base, "status": Outcome.INVALID, "error": row["problem"], "run_id": None})
            continue
        result = json.loads(item["result"] or "{}")
        status = outcome(item["state"])
        entry = {**base, "status": status}
        if status == Outcome.DONE:
            entry.update(ens_status=result.get("status"), supporterId=result.get("supporterId"),
                         transactionId=result.get("transactionId"), amount=result.get("amount"),
                         error=item["error"])  # done, with a note when part of ENS's answer could not be read
        elif status == Outcome.UNKNOWN:
            entry["error"] = f"{item['error']}; review before resending"
        elif status == Outcome.NOT_ATTEMPTED:
            entry["error"] = run.note if run is not None and run.note else "the run stopped first"
        else:
            entry["error"] = item["error"]
        results.append(entry)
    if on_progress:
        on_progress(total, total)
    return read_frame(results, PROCESS_ROW_RESULT)
