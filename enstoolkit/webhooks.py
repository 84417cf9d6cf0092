"""Receive Encharge watch triggers (event subscriptions) and read them as a DataFrame.

The :class:`Listener` is a small HTTP receiver on loopback. It stores every event in
SQLite *before* acknowledging it, ignores duplicates (a redelivery of the same event),
refuses bodies that are not JSON or are too large, and hands the events back as a frame.

Example:
    >>> from enstoolkit import EnchargeClient
    >>> from enstoolkit.sandbox import Sandbox
    >>> from enstoolkit.webhooks import Listener
    >>> import tempfile, pathlib
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "events.sqlite3"
    >>> with Sandbox(supporters=10) as sb, Listener(db) as hooks:
    ...     enc = EnchargeClient(sb.encharge_api_key, sb.encharge_url)
    ...     _ = enc.subscribe("newUser", hooks.url)
    ...     _ = enc.upsert_people([{"email": "new.person@example.org"}])
    ...     hooks.wait_for(1).get_column("eventType").to_list()
    ['newUser']
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._paths import data_dir
from ._server import ServerThread

__all__ = ["EVENT_SCHEMA", "Listener"]

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "receivedAt": pl.Datetime("ms", "UTC"),
    "eventType": pl.String(),
    "tag": pl.String(),
    "personId": pl.String(),
    "email": pl.String(),
    "userId": pl.String(),
    "changedFields": pl.List(pl.String),
    "person": pl.String(),
    "eventPayload": pl.String(),
    "deliveryKey": pl.String(),
}

_CREATE = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_key TEXT NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,
    event_type TEXT,
    tag TEXT,
    person_id TEXT,
    email TEXT,
    user_id TEXT,
    changed_fields TEXT,
    person TEXT,
    event_payload TEXT
)
"""


class Listener:
    """A loopback receiver for Encharge webhooks that keeps events in SQLite.

    Args:
        path: the SQLite file (default: ``webhooks.sqlite3`` in the user's enstoolkit data folder).
        host: a loopback address; anything else is refused.
        port: 0 for a free port.
        max_body: the largest body accepted, in bytes (larger: 413).

    Attributes:
        url: the address to give :meth:`EnchargeClient.subscribe`.

    Example:
        >>> import tempfile, pathlib
        >>> with Listener(pathlib.Path(tempfile.mkdtemp()) / "e.sqlite3") as hooks:
        ...     hooks.url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(self, path: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 max_body: int = 1_048_576) -> None:
        self.path = Path(path) if path is not None else data_dir() / "webhooks.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_body = max_body
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_CREATE)
        app = Starlette(routes=[Route("/{rest:path}", self._receive, methods=["POST"])])
        self._server = ServerThread(app, host, port, name="enstoolkit-webhooks")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Listener:
        """Start receiving."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop receiving (stored events stay in the file)."""
        self._server.stop()

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The webhook URL: ``http://127.0.0.1:<port>/encharge``."""
        return f"{self._server.url}/encharge"

    def __repr__(self) -> str:
        return f"Listener(url={self.url!r}, events={self.count()})"

    # -- receiving -------------------------------------------------------------------------
    async def _receive(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            return JSONResponse({"error": "Content-Type must be application/json"}, status_code=415)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            return JSONResponse({"error": f"body larger than {self.max_body} bytes"}, status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body:
                return JSONResponse({"error": f"body larger than {self.max_body} bytes"}, status_code=413)
        try:
            event = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not valid JSON"}, status_code=400)
        if not isinstance(event, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        key = request.headers.get("x-encharge-delivery") or hashlib.sha256(body).hexdigest()
        stored = self._store(key, event)
        return JSONResponse({"stored": stored, "duplicate": not stored})

    def _store(self, key: str, event: dict[str, Any]) -> bool:
        found = event.get("endUserData")
        people: list[Any] = found if isinstance(found, list) else []
        person: dict[str, Any] = people[0] if people and isinstance(people[0], dict) else {}
        raw = event.get("eventPayload")
        payload: dict[str, Any] = raw if isinstance(raw, dict) else {}
        changed = payload.get("changedFields") if isinstance(payload.get("changedFields"), dict) else None
        row = (
            key, int(time.time() * 1000), _text(event.get("eventType")), _text(payload.get("tag")),
            _text(person.get("id")), _text(person.get("email")), _text(person.get("userId")),
            json.dumps(sorted(changed)) if changed is not None else None,
            json.dumps(person, sort_keys=True), json.dumps(payload, sort_keys=True),
        )
        with self._lock, self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO events (delivery_key, received_at, event_type, tag, person_id, email,"
                " user_id, changed_fields, person, event_payload) VALUES (?,?,?,?,?,?,?,?,?,?)", row)
            return cursor.rowcount == 1

    # -- reading ---------------------------------------------------------------------------
    def count(self) -> int:
        """How many distinct events are stored."""
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def events(self, event_type: str | None = None) -> pl.DataFrame:
        """The stored events, oldest first, optionally of one type.

        Example:
            >>> import tempfile, pathlib
            >>> Listener(pathlib.Path(tempfile.mkdtemp()) / "e.sqlite3").events().columns[:3]
            ['receivedAt', 'eventType', 'tag']
        """
        query = ("SELECT received_at, event_type, tag, person_id, email, user_id, changed_fields, person,"
                 " event_payload, delivery_key FROM events")
        args: tuple[Any, ...] = ()
        if event_type is not None:
            query += " WHERE event_type = ?"
            args = (event_type,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY seq", args).fetchall()
        columns = list(EVENT_SCHEMA)
        records = []
        for row in rows:
            record = dict(zip(columns, row, strict=True))
            record["changedFields"] = json.loads(record["changedFields"]) if record["changedFields"] else None
            records.append(record)
        from .frames import build_frame

        return build_frame(records, EVENT_SCHEMA)

    def wait_for(self, count: int, *, timeout: float = 10.0, event_type: str | None = None) -> pl.DataFrame:
        """Wait until at least ``count`` events (of ``event_type``) are stored, then return them.

        Raises ``TimeoutError`` naming how many arrived.
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
        """Forget every stored event."""
        with self._lock, self._connect() as db:
            db.execute("DELETE FROM events")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
