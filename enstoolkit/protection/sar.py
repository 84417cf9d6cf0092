"""Subject access: everything held about one person, in both systems and in the toolkit's own records, in one zip.

Neither ENS nor Encharge has an "export this person" function, so :func:`subject_access` asks
each for what it holds, by the address and its case variants:

- ENS: the supporter record (every field), their questions with the dates answered, memberships,
  transactions and recurring schedules;
- Encharge: every person holding the address in any case, with every field and tag;
- the toolkit: bulk journal items, consent changes, erasure records, suppression requests,
  whether the address is tombstoned (never the hash or the salt), earlier exports, and history
  rows when a history source is given (``history=``: a function of the email returning a frame);
- every holder of the address, and probable duplicates (other records, another address, the same
  person by name and postcode) flagged for a person to review, when frames of both systems are
  given (``supporters=``, ``people=``).

Card and bank fields are never included (columns whose names speak of cards, card numbers,
expiry, CVV, IBAN, sort codes, account numbers, banks, payment tokens); the manifest lists what
was withheld. The zip holds ``manifest.json`` (sources, row counts, requests made, each file's
SHA-256), a CSV and a JSON file per source, ``index.html`` (one readable page) and
``SHA256SUMS`` (the manifest's digest too). Each export is recorded (who, when, a salted hash of
the address, the zip's name and digest): :func:`export_log`.

A person costs 9 requests on a sandbox of 300 supporters, 15 on one of 5,000 (ENS: the session,
the fields, the supporter, transactions, recurring; Encharge: a lookup, the list of everyone's ids
and emails at 1,000 a page to find case variants (pass ``people=`` to use a list already read),
the holders by id); the manifest says how many were made, and :data:`MAX_REQUESTS` is the target.

Example:
    >>> email = "asks.for.data@example.org"
    >>> _ = ens.upsert_supporter({"Email Address": email}), encharge.upsert_people([{"email": email}])
    >>> sar = subject_access(email, ens=ens, encharge=encharge, out=folder, by="dpo")
    >>> sar.manifest["sources"]["ens_supporter"]["rows"], sar.path.suffix
    (1, '.zip')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import re
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .._version import __version__
from ..errors import ValidationError
from ..inputs.arguments import check_email
from ..inputs.people_args import email_key
from ..records.paths import data_dir
from .matching import Fuzzy, fuzzy_band, system_records
from .tombstones import Tombstones, default_tombstones

if TYPE_CHECKING:
    from ..encharge import EnchargeClient
    from ..ens import ENSClient

__all__ = ["MAX_REQUESTS", "SENSITIVE", "SubjectAccess", "export_log", "subject_access", "withheld_columns"]

#: The most requests a subject access export should make per person (both APIs together).
MAX_REQUESTS = 20
#: Column names never exported: card and bank details.
SENSITIVE = re.compile(r"(card|^cc|ccnumber|ccexp|cvv|cvc|expiry|iban|^bic$|swift|sort.?code|account.?(number|no|num)"
                       r"|bank|routing|token|payment.?type|paymenttype)", re.IGNORECASE)
_EXPORTS = ("CREATE TABLE IF NOT EXISTS exports (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER, by TEXT, "
            "subject_hash TEXT, zip TEXT, zip_sha256 TEXT, sources TEXT)")


@dataclass
class SubjectAccess:
    """One subject access export.

    Attributes:
        email: the address asked about.
        path: the zip written.
        manifest: what ``manifest.json`` holds.
        sources: each source's frame, as exported.

    Example:
        >>> SubjectAccess("a@x.org", Path("sar.zip"), {"files": {}}, {}).path.name
        'sar.zip'
    """

    email: str
    path: Path
    manifest: dict[str, Any]
    sources: dict[str, pl.DataFrame] = field(default_factory=dict)


def withheld_columns(frame: pl.DataFrame) -> list[str]:
    """The columns of a frame that hold card or bank details (never exported).

    Example:
        >>> withheld_columns(pl.DataFrame({"amount": [1], "ccnumber": ["4222"], "Bank Sort Code": ["1"],
        ...                                "expireDays": [30], "Card Expiry": ["12/30"]}))
        ['ccnumber', 'Bank Sort Code', 'Card Expiry']
    """
    return [c for c in frame.columns if SENSITIVE.search(c.replace(" ", ""))]


def _strip(value: Any) -> Any:
    """Card and bank keys removed from nested JSON-like values."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not SENSITIVE.search(str(k).replace(" ", ""))}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns as JSON text, for a CSV file."""
    out = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List | pl.Struct | pl.Array):
            out.append(pl.Series(name, [None if v is None else json.dumps(_strip(v), default=str)
                                        for v in frame.get_column(name).to_list()], dtype=pl.String))
        else:
            out.append(frame.get_column(name))
    return pl.DataFrame(out) if out else frame


def _records(raw: list[dict[str, Any]]) -> pl.DataFrame:
    """Raw API objects as a frame of text columns (every key kept; nested values as JSON)."""
    keys: list[str] = []
    for item in raw:
        keys += [k for k in item if k not in keys]
    rows = [{k: (json.dumps(_strip(item[k]), default=str) if isinstance(item.get(k), dict | list)
                 else None if item.get(k) is None else str(item[k])) for k in keys} for item in raw]
    return pl.DataFrame(rows, schema=dict.fromkeys(keys, pl.String()), orient="row") if rows else \
        pl.DataFrame(schema=dict.fromkeys(keys, pl.String()))


def _mentions(frame: pl.DataFrame, key: str, columns: list[str]) -> pl.DataFrame:
    """Rows whose text columns mention the address (without case)."""
    if frame.height == 0:
        return frame
    present = [c for c in columns if c in frame.columns]
    if not present:
        return frame.clear()
    expr = pl.any_horizontal([pl.col(c).cast(pl.String).str.to_lowercase().str.contains(key, literal=True)
                              .fill_null(False) for c in present])
    return frame.filter(expr)


def _count(client: Any) -> int:
    return int(client.requests_last_hour) if client is not None else 0


class _Sources:
    def __init__(self) -> None:
        self.frames: dict[str, pl.DataFrame] = {}
        self.withheld: dict[str, list[str]] = {}
        self.notes: list[str] = []

    def add(self, name: str, frame: pl.DataFrame) -> None:
        hidden = withheld_columns(frame)
        if hidden:
            self.withheld[name] = hidden
        self.frames[name] = frame.drop(hidden)


def _ens_part(ens: ENSClient, email: str, supporters: pl.DataFrame | None, out: _Sources) -> list[dict[str, Any]]:
    """The ENS record(s) of the address; the holders found."""
    record = ens.get_supporter(email=email, questions=True, memberships=True)
    ids = record.get_column("supporterId").to_list() if record.height else []
    if supporters is not None and "supporterId" in supporters.columns:  # other records holding a case variant
        held = system_records(supporters).filter(pl.col("email") == email_key(email))
        ids += [int(i) for i in held.get_column("id").to_list() if int(i) not in ids]
    frames = [record] if record.height else []
    for extra in ids[len(frames):]:
        one = ens.get_supporter(extra, questions=True, memberships=True)
        if one.height:
            frames.append(one)
    supporter = pl.concat(frames, how="diagonal_relaxed") if frames else record
    flat = supporter.drop([c for c in ("questions", "memberships") if c in supporter.columns])
    out.add("ens_supporter", flat)
    questions = (supporter.select("supporterId", pl.col("questions")).explode("questions").unnest("questions")
                 .filter(pl.col("name").is_not_null()) if "questions" in supporter.columns and supporter.height
                 else pl.DataFrame(schema={"supporterId": pl.Int64()}))
    out.add("ens_questions", questions)
    memberships = (supporter.select("supporterId", pl.col("memberships")).explode("memberships")
                   .unnest("memberships").filter(pl.col("id").is_not_null())
                   if "memberships" in supporter.columns and supporter.height
                   else pl.DataFrame(schema={"supporterId": pl.Int64()}))
    out.add("ens_memberships", memberships)
    transactions, recurring = [], []
    for sid in supporter.get_column("supporterId").to_list():
        transactions.append(ens.get_transactions(sid).with_columns(pl.lit(sid).alias("supporterId")))
        recurring.append(ens.get_recurring(sid).with_columns(pl.lit(sid).alias("supporterId")))
    out.add("ens_transactions", pl.concat(transactions, how="diagonal_relaxed") if transactions
            else pl.DataFrame(schema={"supporterId": pl.Int64()}))
    out.add("ens_recurring", pl.concat(recurring, how="diagonal_relaxed") if recurring
            else pl.DataFrame(schema={"supporterId": pl.Int64()}))
    email_field = ens.email_field
    return [{"system": "ENS", "id": str(row["supporterId"]), "email": row.get(email_field)}
            for row in flat.iter_rows(named=True)]


def _encharge_part(enc: EnchargeClient, email: str, people: pl.DataFrame | None, out: _Sources) -> list[dict[str, Any]]:
    """Every Encharge person holding the address in any case, with every field and tag; the holders."""
    key = email_key(email)
    found = enc._lookup([("email", email)], include_archived=True)
    ids = [str(i) for i in found.get_column("id").to_list()] if found.height else []
    if people is not None:
        listed = [str(p["id"]) for p in people.iter_rows(named=True) if email_key(p.get("email")) == key]
    else:
        everyone = enc.list_people(limit=1000, attributes=["id", "email"], progress=False)  # 1 request per 1,000
        listed = [str(i) for i, e in everyone.select("id", "email").iter_rows() if email_key(e) == key]
    ids += [i for i in listed if i not in ids]
    raw: list[dict[str, Any]] = []
    if ids:
        params = [(f"people[{n}][id]", pid) for n, pid in enumerate(ids)] + [("includeArchived", "true")]
        response = enc._send("GET", "/people", params=params, ok=(200, 404))
        body = response.json() if response.status_code == 200 else {}
        raw = [u for u in (body.get("users") or []) if isinstance(u, dict)]
    person = _records([{k: v for k, v in u.items() if k != "tags"} for u in raw])
    out.add("encharge_person", person)
    tags: list[dict[str, str]] = []
    for u in raw:
        held = u.get("tags")
        names = [str(t) for t in held] if isinstance(held, list) else str(held or "").split(",")
        tags += [{"personId": str(u.get("id")), "tag": t.strip()} for t in names if t.strip()]
    out.add("encharge_tags", pl.DataFrame(tags, schema={"personId": pl.String(), "tag": pl.String()}))
    return [{"system": "Encharge", "id": str(u.get("id")), "email": u.get("email")} for u in raw]


def _own_records(email: str, out: _Sources, *, journal: Any, changelog: Any, erasures: Any,
                 tombstones: Tombstones) -> None:
    from ..bulk import Journal
    from ..records.erasures import read_erasures
    from ..sync.changelog import read_changes

    key = email_key(email)
    journal = journal if journal is not None else Journal()
    items = []
    for run_id, kind in journal.runs().select("run_id", "kind").iter_rows():
        mine = _mentions(journal.items(run_id), key, ["key", "payload", "result"])
        if mine.height:
            items.append(mine.with_columns(pl.lit(kind).alias("kind")))
    items_frame = pl.concat(items, how="diagonal_relaxed") if items else pl.DataFrame(schema={"run_id": pl.String()})
    out.add("journal_items", items_frame)
    changes = read_changes(changelog)
    out.add("consent_changes", changes.filter(pl.col("email").map_elements(email_key, return_dtype=pl.String) == key)
            if changes.height else changes)
    erased = read_erasures(erasures, pending=True)
    out.add("erasure_records", erased.filter(pl.col("email").map_elements(email_key, return_dtype=pl.String) == key)
            if erased.height else erased)
    stones = tombstones.read().filter(pl.col("hash") == tombstones.hash(email)).drop("hash")
    out.add("tombstone", stones)
    from .requests import RequestStore

    out.add("suppression_requests", RequestStore(tombstones.folder).for_email(email))
    with sqlite3.connect(tombstones.path) as db:
        db.execute(_EXPORTS)
        rows = db.execute("SELECT at, by, zip FROM exports WHERE subject_hash = ? ORDER BY seq",
                          (tombstones.hash(email),)).fetchall()
    out.add("earlier_exports", pl.DataFrame(
        [(dt.datetime.fromtimestamp(a / 1000, dt.UTC), b, z) for a, b, z in rows],
        schema={"exportedAt": pl.Datetime("ms", "UTC"), "by": pl.String(), "zip": pl.String()}, orient="row"))


def _history(email: str, history: Callable[[str], pl.DataFrame] | None, out: _Sources) -> None:
    source = history
    if source is None:
        try:  # the toolkit's history store, where it is installed
            import importlib

            source = importlib.import_module("enstoolkit.history").person
        except (ImportError, AttributeError):
            out.notes.append("history rows: no history store in this installation (pass history=)")
            return
        try:
            frame = source(email)
        except Exception as exc:  # the store's own errors: none kept yet, or unreadable (said, never hidden)
            if not type(exc).__module__.startswith("enstoolkit.history"):
                raise
            out.notes.append(f"history rows: {exc}")
            return
    else:
        frame = source(email)
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError("history", type(frame).__name__, "a function returning a polars DataFrame")
    out.add("history", frame)


def _duplicates(email: str, holders: list[dict[str, Any]], supporters: pl.DataFrame | None,
                people: pl.DataFrame | None, fuzzy: Fuzzy | None, out: _Sources) -> None:
    schema = {"system": pl.String(), "id": pl.String(), "email": pl.String(), "score": pl.Float64(),
              "evidence": pl.String(), "band": pl.String()}
    if fuzzy is None or (supporters is None and people is None):
        out.notes.append("probable duplicates: not checked (pass supporters= and people= frames of both systems)")
        out.add("probable_duplicates", pl.DataFrame(schema=schema))
        return
    scorer = _scorer() if fuzzy is fuzzy_band and supporters is not None else None
    if scorer is not None:  # the toolkit's probable-duplicates scorer, where it is installed
        key = email_key(email)
        pairs = scorer(supporters, people)
        mine = pairs.filter((pl.col("email_1").str.strip_chars().str.to_lowercase() == key)
                            | (pl.col("email_2").str.strip_chars().str.to_lowercase() == key))
        other = [(r["system_2"], r["id_2"], r["email_2"]) if email_key(r["email_1"]) == key
                 else (r["system_1"], r["id_1"], r["email_1"]) for r in mine.iter_rows(named=True)]
        out.add("probable_duplicates", pl.DataFrame(
            [(s, str(i), e, float(r["match_probability"]), r["evidence"], "review")
             for (s, i, e), r in zip(other, mine.iter_rows(named=True), strict=True) if email_key(e) != key],
            schema=schema, orient="row"))
        return
    records = system_records(supporters, people)
    mine = records.filter(pl.col("email") == email_key(email))
    if mine.height == 0:
        out.add("probable_duplicates", pl.DataFrame(schema=schema))
        return
    asks = pl.DataFrame({"request_id": [f"{r['system']}:{r['id']}" for r in mine.iter_rows(named=True)],
                         "email": mine.get_column("email"), "name": mine.get_column("name"),
                         "postcode": mine.get_column("postcode")})
    found = fuzzy(asks, records.filter(pl.col("email") != email_key(email)))
    out.add("probable_duplicates", found.select("system", "id", "email", "score", "evidence")
            .unique(["system", "id"], keep="first", maintain_order=True)
            .with_columns(pl.lit("review").alias("band")))


def _scorer() -> Any:
    """The probable-duplicates scorer (``enstoolkit.analysis.probable_duplicates``), or None where not installed."""
    try:
        import importlib

        return importlib.import_module("enstoolkit.analysis").probable_duplicates
    except (ImportError, AttributeError):
        return None


def _html(email: str, manifest: dict[str, Any], frames: dict[str, pl.DataFrame]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Subject access: {html.escape(email)}"
             "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:90%}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head><body>",
             f"<h1>Data held about {html.escape(email)}</h1>",
             f"<p>Exported {html.escape(manifest['exported_at'])} by {html.escape(manifest['exported_by'])}.</p>"]
    if manifest["notes"]:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in manifest["notes"]) + "</ul>")
    for name, frame in frames.items():
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))} ({frame.height} rows)</h2>")
        if frame.height == 0:
            parts.append("<p>None held.</p>")
            continue
        plain = _plain(frame)
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in plain.columns) + "</tr>")
        for row in plain.iter_rows():
            parts.append("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
                         + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def subject_access(email: str, *, ens: ENSClient | None = None, encharge: EnchargeClient | None = None,
                   out: str | Path | None = None,
                   by: str | None = None, journal: Any = None, changelog: Any = None, erasures: Any = None,
                   tombstones: Tombstones | None = None, history: Callable[[str], pl.DataFrame] | None = None,
                   supporters: pl.DataFrame | None = None, people: pl.DataFrame | None = None,
                   fuzzy: Fuzzy | None = fuzzy_band) -> SubjectAccess:
    """Everything held about ``email``, written to one zip (see the module's description); the export recorded.

    Args:
        email: the person's address (its case variants are found too).
        ens: the ENS client (None: ENS is noted as not asked).
        encharge: the Encharge client (None: Encharge is noted as not asked).
        out: the folder for the zip (default: ``sar`` in the data folder).
        by: who is exporting (default: the operating system's user).
        journal: the bulk journal (default: the data folder's).
        changelog: the consent change log (default: the data folder's).
        erasures: the erasure record (default: the data folder's).
        tombstones: default: the data folder's.
        history: a function of the email returning history rows, if a history store is kept.
        supporters: the ENS supporter file, to find probable duplicates and records holding a case
            variant of the address.
        people: Encharge's people, to find probable duplicates.
        fuzzy: the function proposing duplicates (:func:`~enstoolkit.protection.matching.fuzzy_band`).
    """
    address = check_email("email", email)
    if ens is None and encharge is None:
        raise ValidationError("ens/encharge", None, "at least one client (ens=ENSClient(...), "
                              "encharge=EnchargeClient(...))")
    from ..sync.changelog import operator

    who = operator(by)
    stones = tombstones or default_tombstones(ens if ens is not None else encharge)
    sources = _Sources()
    before = {"ENS": _count(ens), "Encharge": _count(encharge)}
    holders: list[dict[str, Any]] = []
    if ens is not None:
        holders += _ens_part(ens, address, supporters, sources)
    else:
        sources.notes.append("ENS: not asked (no client given)")
    if encharge is not None:
        holders += _encharge_part(encharge, address, people, sources)
    else:
        sources.notes.append("Encharge: not asked (no client given)")
    requests = {"ENS": _count(ens) - before["ENS"], "Encharge": _count(encharge) - before["Encharge"]}
    sources.add("holders", pl.DataFrame(holders, schema={"system": pl.String(), "id": pl.String(),
                                                         "email": pl.String()}))
    _duplicates(address, holders, supporters, people, fuzzy, sources)
    _own_records(address, sources, journal=journal, changelog=changelog, erasures=erasures, tombstones=stones)
    _history(address, history, sources)
    if sum(requests.values()) > MAX_REQUESTS:
        sources.notes.append(f"{sum(requests.values())} API requests made, more than the {MAX_REQUESTS} aimed at "
                             "(a large Encharge account's list of everyone: pass people=)")
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    subject_hash = stones.hash(address)
    folder = Path(out) if out is not None else data_dir() / "sar"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sar-{subject_hash[:12]}-{moment.strftime('%Y%m%dT%H%M%SZ')}.zip"
    manifest: dict[str, Any] = {
        "subject": address, "exported_at": moment.isoformat(), "exported_by": who, "toolkit": __version__,
        "requests": requests, "sources": {}, "withheld_columns": sources.withheld, "notes": sources.notes,
        "files": {},
    }
    files: dict[str, bytes] = {}
    for name, frame in sources.frames.items():
        csv_bytes = _plain(frame).write_csv().encode("utf-8")
        json_bytes = json.dumps(_strip(frame.to_dicts()), default=str, indent=1, ensure_ascii=False).encode("utf-8")
        files[f"{name}.csv"], files[f"{name}.json"] = csv_bytes, json_bytes
        manifest["sources"][name] = {"rows": frame.height, "files": [f"{name}.csv", f"{name}.json"]}
    files["index.html"] = _html(address, manifest, sources.frames).encode("utf-8")
    manifest["files"] = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
    files["manifest.json"] = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
    sums = {**manifest["files"], "manifest.json": hashlib.sha256(files["manifest.json"]).hexdigest()}
    files["SHA256SUMS"] = "".join(f"{d}  {n}\n" for n, d in sums.items()).encode("ascii")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    path.write_bytes(buffer.getvalue())
    with sqlite3.connect(stones.path) as db:
        db.execute(_EXPORTS)
        db.execute("INSERT INTO exports (at, by, subject_hash, zip, zip_sha256, sources) VALUES (?,?,?,?,?,?)",
                   (int(moment.timestamp() * 1000), who, subject_hash, path.name,
                    hashlib.sha256(buffer.getvalue()).hexdigest(), json.dumps(sorted(sources.frames))))
    return SubjectAccess(address, path, manifest, sources.frames)


def export_log(tombstones: Tombstones | None = None) -> pl.DataFrame:
    """Every subject access export: when, by whom, the zip and its SHA-256 (the person as a salted hash only).

    Example:
        >>> import tempfile
        >>> export_log(Tombstones(tempfile.mkdtemp())).columns
        ['exportedAt', 'by', 'subjectHash', 'zip', 'zipSha256', 'sources']
    """
    stones = tombstones or default_tombstones()
    with sqlite3.connect(stones.path) as db:
        db.execute(_EXPORTS)
        rows = db.execute("SELECT at, by, subject_hash, zip, zip_sha256, sources FROM exports ORDER BY seq").fetchall()
    return pl.DataFrame([(dt.datetime.fromtimestamp(r[0] / 1000, dt.UTC), *r[1:]) for r in rows], schema={
        "exportedAt": pl.Datetime("ms", "UTC"), "by": pl.String(), "subjectHash": pl.String(), "zip": pl.String(),
        "zipSha256": pl.String(), "sources": pl.String()}, orient="row")
