"""Receive Encharge watch triggers (event subscriptions) and read them as a DataFrame.

The :class:`Listener` is a small HTTP receiver (Python's own threading HTTP server: no web
framework needed). Encharge documents no signature, signing secret or delivery id for its
webhooks, so the listener carries its own secret: its URL ends in ``/hooks/<secret>``
(random, generated when not given, kept beside the events file so that the URL given to
Encharge keeps working after a restart). A POST to any other path is refused and nothing is
stored; so is a body that is not a JSON object, or is larger than ``max_body``. The reason is
logged, never the secret.

**Every delivery is kept**, stored in SQLite before the answer goes back (Encharge asks for a
2xx answer within 2 seconds; storing takes milliseconds). A body's ``endUserData`` is "an array
of people who performed the event": :meth:`Listener.events` gives **one row per person**, each
with the delivery's number (``seq``) and the person's place in the array (``personIndex``,
from 0); a body that names no one is one row, ``personIndex`` empty. Two deliveries with equal
bodies are both kept: every row of the second is marked ``redelivery`` (a likely retry), and
de-duplicating is the reader's choice (``events(unique=True)``), never the receiver's: the
same tag removed twice from the same person gives two identical bodies for two real events.

The whole body is kept too (``body``): a body of another shape (a Flow's "Send Webhook" step
sends whatever the flow says, such as ``{"id": "..."}``) is stored with empty event columns
and a warning, never lost.

Custom fields under a person's ``data`` are flattened into the stored person. A person
without an email (a ``removed-tag-*`` event carries only the person's id) gets it from
Encharge by id when the listener has an ``encharge=`` client; the lookup (one request for
all the people of a delivery) runs after the answer has gone back.

Example:
    >>> from enstoolkit import EnchargeClient
    >>> from enstoolkit.sandbox import Sandbox
    >>> db = folder / "events.sqlite3"
    >>> with Sandbox(supporters=10) as sb, Listener(db) as hooks:
    ...     enc = EnchargeClient(sb.encharge_api_key, sb.encharge_url)
    ...     _ = enc.create_subscription("newUser", hooks.url)
    ...     _ = enc.upsert_people([{"email": "new.person@example.org"}])
    ...     hooks.wait_for(1).get_column("eventType").to_list()
    ['newUser']
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import secrets as secrets_module
import sqlite3
import threading
import time
import uuid
from collections.abc import Mapping
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import is_loopback
from ..records.paths import data_dir
from ..records.store import Schema, add_columns, connect, open_store
from ..schemas.encharge import EVENT
from ..schemas.frames import read_frame
from .payloads import flatten_person, read_status

if TYPE_CHECKING:
    from .client import EnchargeClient

__all__ = ["HOOK_PREFIX", "Listener", "event_row", "event_rows", "flatten_person"]

logger = logging.getLogger("enstoolkit.webhooks")
HOOK_PREFIX = "/hooks/"
MIN_SECRET = 16

_CREATE = (
    "CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL,"
    " body_hash TEXT NOT NULL, event_type TEXT, tag TEXT, person_id TEXT, email TEXT, email_source TEXT,"
    " user_id TEXT, unsubscribed INTEGER, changed_fields TEXT, person TEXT, event_payload TEXT, body TEXT)",
    "CREATE INDEX IF NOT EXISTS deliveries_hash ON deliveries (body_hash)",
    "CREATE TABLE IF NOT EXISTS delivery_people (seq INTEGER NOT NULL, person_index INTEGER NOT NULL,"
    " person_id TEXT, email TEXT, email_source TEXT, user_id TEXT, unsubscribed INTEGER, person TEXT,"
    " PRIMARY KEY (seq, person_index))",
    "CREATE TABLE IF NOT EXISTS file (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def _to_v1(db: sqlite3.Connection) -> None:
    add_columns(db, "deliveries", (("body", "TEXT"),))  # a file from before deliveries kept their body
    db.execute("INSERT OR IGNORE INTO file VALUES ('id', ?)", (uuid.uuid4().hex,))  # made once, with the file


#: The listener's events file format (see :mod:`enstoolkit.records.store`).
EVENTS_SCHEMA = Schema("listener events", 1, _CREATE, {0: _to_v1})
# One row per delivery in ``deliveries``; one per person of its endUserData in ``delivery_people``.
# ``deliveries`` keeps the first person in its own person columns, as before (an earlier version
# reads the file as it did); a delivery with no rows in ``delivery_people`` (one from an earlier
# version, or a body that names no one) is read from those columns.
_PERSON_COLUMNS = ("person_id", "email", "email_source", "user_id", "unsubscribed")


def _people(event: Mapping[str, Any]) -> list[Any]:
    found = event.get("endUserData")
    return list(found) if isinstance(found, list) else []


def event_rows(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of one event (a webhook body, or one that :mod:`enstoolkit.watch` made): one per person in its
    ``endUserData``, in order (``personIndex`` from 0), or a single row with empty person columns
    (``personIndex`` None) when it names no one.

    The event's own columns (type, tag, changed fields, payload, body) are the same on every row.
    An entry of ``endUserData`` that is not an object is a row too, its value kept in ``person``.

    Example:
        >>> rows = event_rows({"eventType": "unsubscribedUser", "eventPayload": {},
        ...                    "endUserData": [{"id": "p1", "email": "ann@example.org"}, {"id": "p2"}]})
        >>> [(r["personIndex"], r["personId"], r["email"], r["unsubscribed"]) for r in rows]
        [(0, 'p1', 'ann@example.org', True), (1, 'p2', None, True)]
        >>> [(r["personIndex"], r["eventType"]) for r in event_rows({"eventType": "newObject-company"})]
        [(None, 'newObject-company')]
    """
    raw = event.get("eventPayload")
    payload: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {}
    changed = payload.get("changedFields") if isinstance(payload.get("changedFields"), Mapping) else None
    event_type = event.get("eventType")
    tag = payload.get("tag")
    if tag is None and isinstance(event_type, str):
        for prefix in ("added-tag-", "removed-tag-"):
            if event_type.startswith(prefix):
                tag = event_type[len(prefix):]
    shared = {
        "eventType": None if event_type is None else str(event_type),
        "tag": None if tag is None else str(tag),
        "changedFields": sorted(changed) if changed is not None else None,
        "eventPayload": json.dumps(payload, sort_keys=True, default=str),
        "body": json.dumps(event, sort_keys=True, default=str),
    }
    people = _people(event)
    entries: list[tuple[int | None, Any]] = list(enumerate(people)) if people else [(None, {})]
    rows = []
    for index, entry in entries:
        person = flatten_person(entry) if isinstance(entry, Mapping) else {}
        email = person.get("email")
        unsubscribed = read_status(person.get("unsubscribed"))
        if event_type == "unsubscribedUser":
            unsubscribed = True
        rows.append({
            "personIndex": index,
            "eventType": shared["eventType"],
            "tag": shared["tag"],
            "personId": None if person.get("id") is None else str(person["id"]),
            "email": None if email is None else str(email),
            "emailSource": "event" if email else None,
            "userId": None if person.get("userId") is None else str(person["userId"]),
            "unsubscribed": unsubscribed,
            "changedFields": shared["changedFields"],
            "person": json.dumps(person if isinstance(entry, Mapping) else entry, sort_keys=True, default=str),
            "eventPayload": shared["eventPayload"],
            "body": shared["body"],
        })
    return rows


def event_row(event: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of an event that names at most one person (see :func:`event_rows` for any event).

    An event naming several people raises :class:`~enstoolkit.errors.ValidationError` rather than
    return the first of them alone.

    Example:
        >>> row = event_row({"eventType": "removed-tag-vip", "eventPayload": {"tag": "vip"},
        ...                  "endUserData": [{"id": "p1"}]})
        >>> row["eventType"], row["tag"], row["personId"], row["email"], row["personIndex"]
        ('removed-tag-vip', 'vip', 'p1', None, 0)
    """
    rows = event_rows(event)
    if len(rows) > 1:
        raise ValidationError("event", f"a body naming {len(rows)} people",
                              "a body naming at most one person (event_rows() gives one row per person)")
    return rows[0]


def _person_values(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A row's person columns, in the order of ``_PERSON_COLUMNS``, as stored."""
    unsubscribed = row["unsubscribed"]
    return (row["personId"], row["email"], row["emailSource"], row["userId"],
            None if unsubscribed is None else int(unsubscribed))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the request line holds the secret: never logged
        return

    def _answer(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, status: int, reason: str) -> None:
        logger.warning("webhook refused (%d): %s", status, reason)
        self.server.listener.refused += 1
        self._answer(status, {"error": reason})

    def do_GET(self) -> None:
        self._refuse(405, "only POST is accepted")

    def do_POST(self) -> None:
        listener = self.server.listener
        length_text = self.headers.get("Content-Length", "")
        length = int(length_text) if length_text.isdigit() else -1
        if self.path.split("?", 1)[0] != listener.path:
            self.close_connection = True
            self._refuse(404, "POST to an unknown path (the URL's secret is missing or wrong)")
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            self.close_connection = True
            self._refuse(415, "Content-Type must be application/json")
            return
        if length < 0:
            self.close_connection = True
            self._refuse(411, "a Content-Length is required")
            return
        if length > listener.max_body:
            self.close_connection = True
            self._refuse(413, f"body larger than {listener.max_body} bytes")
            return
        body = self.rfile.read(length)
        try:
            event = json.loads(body)
        except ValueError:
            self._refuse(400, "body is not valid JSON")
            return
        if not isinstance(event, dict):
            self._refuse(400, "body must be a JSON object")
            return
        seq, redelivery = listener.store(body, event)
        people = _people(event)
        if not isinstance(event.get("eventType"), str) or not isinstance(event.get("endUserData"), list):
            logger.warning("delivery %d is not an event subscription's body (keys: %s): kept as received",
                           seq, ", ".join(sorted(map(str, event))[:10]))
        elif not all(isinstance(person, dict) for person in people):
            logger.warning("delivery %d lists in endUserData something other than a person (an object): "
                           "kept as received", seq)
        self._answer(200, {"stored": seq, "redelivery": redelivery, "people": len(people)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], listener: Listener) -> None:
        self.listener = listener
        super().__init__(address, _Handler)


class Listener:
    """A receiver for Encharge webhooks that keeps every delivery in SQLite.

    Args:
        path: the SQLite file (default: ``webhooks.sqlite3`` in the user's enstoolkit data folder);
            the secret is kept beside it (``<path>.secret``).
        host: where to listen; loopback unless ``expose=True`` (for use behind a tunnel or a
            reverse proxy: see docs/webhooks.md).
        port: 0 for a free port.
        secret: the URL's secret (at least 16 characters); generated and stored when not given.
        max_body: the largest body accepted, in bytes (larger: 413).
        encharge: a client to look up, by id, the email of events that carry none.
        public_url: the address Encharge should call when the listener is behind a proxy or a
            tunnel (``https://hooks.example.org``); :attr:`url` then uses it.
        expose: allow ``host`` to be other than loopback.

    Attributes:
        url: the address to give :meth:`EnchargeClient.create_subscription` (it holds the secret:
            treat it like a password).

    Example:
        >>> with Listener(folder / "e.sqlite3") as hooks:
        ...     hooks.url.startswith("http://127.0.0.1:"), "/hooks/" in hooks.url
        (True, True)
    """

    def __init__(self, path: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 secret: str | None = None, max_body: int = 1_048_576, encharge: EnchargeClient | None = None,
                 public_url: str | None = None, expose: bool = False) -> None:
        if not is_loopback(host) and not expose:
            raise ValidationError("host", host, "a loopback address (127.0.0.1, ::1, localhost), or expose=True "
                                  "to listen elsewhere behind a tunnel or reverse proxy")
        self.path_file = Path(path) if path is not None else data_dir() / "webhooks.sqlite3"
        open_store(self.path_file, EVENTS_SCHEMA)  # a file it cannot use stops here, before the secret is written
        self.host = host
        self.port = port
        self.max_body = max_body
        self.encharge = encharge
        self.public_url = public_url.rstrip("/") if public_url else None
        self._secret = self._load_secret(secret)
        self.path = HOOK_PREFIX + self._secret
        self.refused = 0
        self._lock = threading.Lock()
        self._lookups: queue.Queue[int | None] = queue.Queue()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
    def _load_secret(self, given: str | None) -> str:
        stored = self.path_file.with_name(self.path_file.name + ".secret")
        if given is not None:
            if not isinstance(given, str) or len(given) < MIN_SECRET or not given.replace("-", "").replace(
                    "_", "").isalnum():
                raise ValidationError("secret", "[not shown]", f"at least {MIN_SECRET} letters, digits, - or _")
            value = given
        elif stored.exists():
            value = stored.read_text().strip()
        else:
            value = secrets_module.token_urlsafe(24)
        if not stored.exists() or stored.read_text().strip() != value:
            stored.write_text(value + "\n")
            stored.chmod(0o600)
        return value

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path_file, EVENTS_SCHEMA, timeout=30)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Listener:
        """Start receiving (and the background email lookups).

        Example:
            >>> hooks = Listener(folder / "e.sqlite3").start()
            >>> hooks.port > 0
            True
            >>> hooks.stop()
        """
        if self._server is not None:
            return self
        bind = "127.0.0.1" if self.host == "localhost" else self.host.strip("[]")
        self._server = _Server((bind, self.port), self)
        self.port = int(self._server.server_address[1])
        serve = threading.Thread(target=self._server.serve_forever, name="enstoolkit-webhooks", daemon=True)
        lookups = threading.Thread(target=self._lookup_worker, name="enstoolkit-webhook-lookups", daemon=True)
        self._threads = [serve, lookups]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop receiving (stored events stay in the file).

        Example:
            >>> hooks = Listener(folder / "e.sqlite3").start()
            >>> _ = hooks.store(b'{"eventType": "newUser"}', {"eventType": "newUser"})
            >>> hooks.stop()
            >>> hooks.count()
            1
        """
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._lookups.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The webhook URL, with the secret (``http://127.0.0.1:<port>/hooks/<secret>``, or under ``public_url``).

        Example:
            >>> hooks = Listener(folder / "e.sqlite3", public_url="https://hooks.example.org/")
            >>> hooks.url.startswith("https://hooks.example.org/hooks/")
            True
        """
        if self.public_url:
            return self.public_url + self.path
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    def __repr__(self) -> str:
        return f"Listener(host={self.host!r}, port={self.port}, deliveries={self.count()})"

    # -- receiving -------------------------------------------------------------------------
    def store(self, body: bytes, event: Mapping[str, Any]) -> tuple[int, bool]:
        """Keep one delivery (every person it names); returns its number and whether an earlier one had the same body.

        Example:
            >>> hooks = Listener(folder / "e.sqlite3")
            >>> body = b'{"eventType": "unsubscribedUser", "endUserData": [{"id": "p1"}, {"id": "p2"}]}'
            >>> event = {"eventType": "unsubscribedUser", "endUserData": [{"id": "p1"}, {"id": "p2"}]}
            >>> hooks.store(body, event), hooks.store(body, event)   # the second is likely a redelivery
            ((1, False), (2, True))
            >>> hooks.events().select("seq", "personIndex", "personId", "redelivery").rows()
            [(1, 0, 'p1', False), (1, 1, 'p2', False), (2, 0, 'p1', True), (2, 1, 'p2', True)]
        """
        digest = hashlib.sha256(body).hexdigest()
        rows = event_rows(event)
        first = rows[0]
        named = [row for row in rows if row["personIndex"] is not None]
        with self._lock, closing(self._connect()) as db, db:
            earlier = db.execute("SELECT 1 FROM deliveries WHERE body_hash = ? LIMIT 1", (digest,)).fetchone()
            cursor = db.execute(
                "INSERT INTO deliveries (received_at, body_hash, event_type, tag, person_id, email, email_source,"
                " user_id, unsubscribed, changed_fields, person, event_payload, body)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (int(time.time() * 1000), digest, first["eventType"], first["tag"], *_person_values(first),
                 json.dumps(first["changedFields"]) if first["changedFields"] is not None else None,
                 first["person"], first["eventPayload"], body.decode("utf-8", "replace")))
            seq = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO delivery_people (seq, person_index, person_id, email, email_source, user_id,"
                " unsubscribed, person) VALUES (?,?,?,?,?,?,?,?)",
                [(seq, row["personIndex"], *_person_values(row), row["person"]) for row in named])
        if self.encharge is not None and any(row["email"] is None and row["personId"] for row in named):
            self._lookups.put(seq)  # after the answer: Encharge wants it within 2 seconds
        return seq, earlier is not None

    def _lookup_worker(self) -> None:
        while True:
            seq = self._lookups.get()
            if seq is None:
                return
            with closing(self._connect()) as db:
                wanted = db.execute("SELECT person_index, person_id FROM delivery_people WHERE seq = ? AND email IS"
                                    " NULL AND person_id IS NOT NULL ORDER BY person_index", (seq,)).fetchall()
            if not wanted or self.encharge is None:
                continue
            try:
                found = self.encharge.get_people(ids=list(dict.fromkeys(pid for _, pid in wanted)),
                                                 include_archived=True)
            except Exception as exc:  # a failed lookup leaves the emails empty, and says so
                logger.warning("email lookup for delivery %d failed: %s", seq, exc)
                updates = [(None, "lookup failed", seq, index) for index, _ in wanted]
            else:
                emails = dict(found.select("id", "email").iter_rows()) if found.height else {}
                updates = [(emails.get(pid), "lookup" if emails.get(pid) else "not in Encharge", seq, index)
                           for index, pid in wanted]
            with self._lock, closing(self._connect()) as db, db:
                db.executemany("UPDATE delivery_people SET email = ?, email_source = ? WHERE seq = ? AND"
                               " person_index = ?", updates)
                db.executemany("UPDATE deliveries SET email = ?, email_source = ? WHERE seq = ?",  # the first person
                               [(email, source, n) for email, source, n, index in updates if index == 0])

    # -- reading ---------------------------------------------------------------------------
    @property
    def file_id(self) -> str:
        """An identity of the events file, made when the file is: a file made again at the same path (its
        ``seq`` counting from 1 again) has another, so a reader that remembers how far it read knows.

        Example:
            >>> path = folder / "e.sqlite3"
            >>> first = Listener(path).file_id
            >>> first == Listener(path).file_id, len(first)
            (True, 32)
        """
        with closing(self._connect()) as db:
            return str(db.execute("SELECT value FROM file WHERE key = 'id'").fetchone()[0])

    def count(self) -> int:
        """How many deliveries are stored.

        Example:
            >>> hooks = Listener(folder / "e.sqlite3")
            >>> _ = hooks.store(b'{"eventType": "newUser"}', {"eventType": "newUser"})
            >>> hooks.count()
            1
        """
        with closing(self._connect()) as db:
            return int(db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0])

    def events(self, event_type: str | None = None, *, unique: bool = False) -> pl.DataFrame:
        """The stored events, oldest first: one row per person of each delivery (optionally of one type).

        ``seq`` is the delivery's number and ``personIndex`` the person's place in its ``endUserData``
        (None for a body that names no one). ``redelivery`` marks every row of a body equal to an
        earlier one; ``unique=True`` leaves those out.

        Example:
            >>> Listener(folder / "e.sqlite3").events().columns[:4]
            ['seq', 'personIndex', 'receivedAt', 'eventType']
        """
        def pick(column: str) -> str:
            return f"CASE WHEN p.seq IS NULL THEN d.{column} ELSE p.{column} END"

        query = ("SELECT d.seq, CASE WHEN p.seq IS NOT NULL THEN p.person_index"
                 " WHEN d.person IS NOT NULL AND d.person <> '{}' THEN 0 END, d.received_at, d.event_type, d.tag, "
                 + ", ".join(pick(column) for column in _PERSON_COLUMNS) + ", d.changed_fields, " + pick("person")
                 + ", d.event_payload, d.body_hash,"
                 " EXISTS (SELECT 1 FROM deliveries e WHERE e.body_hash = d.body_hash AND e.seq < d.seq), d.body"
                 " FROM deliveries d LEFT JOIN delivery_people p ON p.seq = d.seq")
        args: tuple[Any, ...] = ()
        if event_type is not None:
            query += " WHERE d.event_type = ?"
            args = (event_type,)
        with closing(self._connect()) as db:  # one read: a delivery's people are all there, or none of them
            rows = db.execute(query + " ORDER BY d.seq, p.person_index", args).fetchall()
        records = []
        for row in rows:
            record = dict(zip(EVENT, row, strict=True))
            record["changedFields"] = json.loads(record["changedFields"]) if record["changedFields"] else None
            record["unsubscribed"] = None if record["unsubscribed"] is None else bool(record["unsubscribed"])
            record["redelivery"] = bool(record["redelivery"])
            records.append(record)
        frame = read_frame(records, EVENT)
        return frame.filter(~pl.col("redelivery")) if unique else frame

    def wait_for(self, count: int, *, timeout: float = 10.0, event_type: str | None = None) -> pl.DataFrame:
        """Wait until :meth:`events` has at least ``count`` rows (of ``event_type``), then return it.

        A row is one person of a delivery: a delivery naming three people is three rows.

        Raises ``TimeoutError`` naming how many arrived.

        Example:
            >>> import httpx
            >>> event = {"eventType": "unsubscribedUser", "endUserData": [{"id": "p1", "email": "jo@example.org"}]}
            >>> with Listener(folder / "e.sqlite3") as hooks:
            ...     _ = httpx.post(hooks.url, json=event)
            ...     hooks.wait_for(1).select("eventType", "email", "unsubscribed").row(0)
            ('unsubscribedUser', 'jo@example.org', True)
        """
        deadline = time.monotonic() + timeout
        while True:
            frame = self.events(event_type)
            if frame.height >= count:
                return frame
            if time.monotonic() > deadline:
                raise TimeoutError(f"{frame.height} of {count} events arrived within {timeout:.0f} s")
            time.sleep(0.05)

    def clear(self) -> None:
        """Forget every stored delivery.

        Example:
            >>> hooks = Listener(folder / "e.sqlite3")
            >>> _ = hooks.store(b'{"eventType": "newUser"}', {"eventType": "newUser"})
            >>> hooks.clear()
            >>> hooks.count()
            0
        """
        with self._lock, closing(self._connect()) as db, db:
            db.execute("DELETE FROM delivery_people")
            db.execute("DELETE FROM deliveries")
