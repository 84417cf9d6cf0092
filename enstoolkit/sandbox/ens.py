"""The ENS half of the sandbox: account state and the Starlette routes under ``/ens/service``.

Responses follow the vendor's OpenAPI spec (see the project's spec-conformance test);
where the spec is silent the choices are documented beside the route.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import threading
import uuid
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._json import JSONResponse
from .clock import SandboxClock
from .data import (
    CLIENT_ID,
    EXPORT_GROUPS,
    EXPORT_QUERIES,
    FIELD_NAMES,
    FIELDS,
    OPTIN_QUESTIONS,
    PAGE_TYPE_MAP,
    PROFILES,
    PROPERTY_TO_NAME,
    QUESTIONS,
    Page,
    SupporterRecord,
    generate_supporters,
    make_pages,
    make_transactions,
    transaction_for,
)

API_USERNAME = "apiuser@example.org"

MSG_INVALID_KEY = "Invalid api key [{key}]"
MSG_NO_USER = "A user was not found for api key[{key}]. Please contact support"
MSG_SOURCE = "Authentication call is being made from an unregistered source address for this ENS api key"
MSG_INACTIVE = "The user specified by api key [{key}] is not active or does not have access to EN services"
MSG_LIMIT = "The user with username [{user}] has exceeded its api limit."
MSG_TOKEN = "Invalid ens-auth-token"

DECLINED_CARDS = frozenset({"4000000000000002", "4000000000009995"})
_FIELD_BY_LOWER = {name.lower(): name for name in FIELD_NAMES}
_PROPERTY_BY_LOWER = {prop.lower(): prop for prop in PROPERTY_TO_NAME}
_QUESTION_BY_NAME = {q.name.lower(): q for q in QUESTIONS}
_QUESTION_BY_ID = {**{q.question_id: q for q in QUESTIONS}, **{q.id: q for q in QUESTIONS}}


def error(status: int, message: str, message_id: int, developer: str | None = None) -> JSONResponse:
    """An ENS error body: ``{message, messageId[, developerMessage]}``."""
    body: dict[str, Any] = {"message": message, "messageId": message_id}
    if developer is not None:
        body["developerMessage"] = developer
    return JSONResponse(body, status_code=status)


class ENSState:
    """Everything the emulated ENS account holds; writes persist for the life of the server.

    Example:
        >>> from enstoolkit.sandbox.data import DEFAULT_NOW
        >>> from enstoolkit.sandbox.clock import SandboxClock
        >>> state = ENSState(supporters=10, seed=0, clock=SandboxClock(DEFAULT_NOW))
        >>> state.first_supporter_id()
        100001
    """

    def __init__(
        self,
        *,
        supporters: int,
        seed: int,
        clock: SandboxClock,
        hourly_limit: int = 5000,
        token_ttl: float = 3600.0,
        allowed_sources: tuple[str, ...] = ("127.0.0.1", "::1"),
        export_delay: float = 0.2,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.hourly_limit = hourly_limit
        self.token_ttl = token_ttl
        self.allowed_sources = tuple(allowed_sources)
        self.export_delay = export_delay
        self.lock = threading.RLock()
        rng = random.Random(f"keys-{seed}")
        self.api_key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        #: keys that exist but fail: the other "Common Authentication Errors"
        self.orphan_key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.inactive_key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.tokens: dict[str, float] = {}  # token -> monotonic deadline
        self.issued_tokens: list[str] = []  # every token ever issued (tests scan outputs for them)
        self.requests: deque[float] = deque()
        start = clock.start  # the account is generated as of the clock's start: the same seed, the same data
        self.pages: dict[int, Page] = {p.id: p for p in make_pages(start)}
        self.records: dict[int, SupporterRecord] = {
            r.supporter_id: r for r in generate_supporters(supporters, seed, start)
        }
        self.next_id = max(self.records, default=100_000) + 1
        self._email_index: dict[str, int] = {}
        for sid, rec in self.records.items():
            self._email_index.setdefault(rec.email.lower(), sid)
        self.next_tx_id = 90_000_000
        self.jobs: dict[int, dict[str, Any]] = {}
        self.next_job_id = 5000
        # What the emulated account acted on, for tests that compare it with the intent:
        self.processed: list[dict[str, Any]] = []  # every page request processed (pageId, body, at)
        self.upserts: Counter[str] = Counter()  # POST /supporter acted on, per lowercased email
        self.created: Counter[str] = Counter()  # supporters created, per lowercased email
        self.version = 0  # bumped by every write; query results are cached per version
        self._query_cache: dict[tuple[Any, ...], tuple[int, list[SupporterRecord]]] = {}

    # -- helpers for tests and the CLI -------------------------------------------------
    def first_supporter_id(self) -> int:
        """The lowest supporter id still present."""
        return min(self.records)

    def expire_tokens(self) -> int:
        """Expire every session token now (as if an hour had passed); returns how many."""
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    def reset_rate_limit(self) -> None:
        """Forget the requests counted against the hourly limit."""
        with self.lock:
            self.requests.clear()

    def find_email(self, email: str) -> SupporterRecord | None:
        """The supporter with this email (compared lowercased, as ENS does)."""
        sid = self._email_index.get(email.lower())
        return self.records.get(sid) if sid is not None else None

    @property
    def now(self) -> dt.datetime:
        """The sandbox clock's time (it starts at the account's generation time and runs)."""
        return self.clock.now()

    def now_ms(self) -> int:
        """The sandbox clock in epoch milliseconds."""
        return self.clock.now_ms()

    # -- rate limit and tokens ---------------------------------------------------------
    def count_request(self) -> bool:
        """Count one request in the rolling hour; False when the limit is used up."""
        with self.lock:
            clock = self.clock.elapsed()
            while self.requests and self.requests[0] < clock - 3600:
                self.requests.popleft()
            if len(self.requests) >= self.hourly_limit:
                return False
            self.requests.append(clock)
            return True

    def token_valid(self, token: str | None) -> bool:
        """Whether ``token`` is a live session token."""
        if not token:
            return False
        with self.lock:
            deadline = self.tokens.get(token)
            if deadline is None:
                return False
            if self.clock.elapsed() >= deadline:
                del self.tokens[token]
                return False
            return True

    # -- supporters ----------------------------------------------------------------------
    def transactions(self, rec: SupporterRecord) -> list[dict[str, Any]]:
        """The supporter's transactions (made on first use)."""
        if rec.transactions is None:
            rec.transactions = make_transactions(rec, self.seed, self.pages, self.clock.start)
        return rec.transactions

    def memberships(self, rec: SupporterRecord) -> list[dict[str, Any]]:
        """The supporter's memberships: one per membership page transaction."""
        if rec.memberships is None:
            rec.memberships = []
            for tx in self.transactions(rec):
                if tx["campaignId"] == self.pages[140].campaign_id:
                    rec.memberships.append(self._membership(rec, tx))
        return rec.memberships

    def _membership(self, rec: SupporterRecord, tx: Mapping[str, Any]) -> dict[str, Any]:
        start = int(tx["createdDate"])
        end = start + 365 * 86_400_000
        days = max(0, (end - self.now_ms()) // 86_400_000)
        return {
            "id": 2000 + len(rec.memberships or []) + rec.supporter_id % 1000,
            "clientId": CLIENT_ID,
            "membershipId": f"ENMM{rec.supporter_id}{tx['id'] % 10000:04d}",
            "membershipName": "Annual Membership (1 year)",
            "donationId": int(tx["id"]),
            "termStartDate": start,
            "termEndDate": end,
            "expireDays": int(days),
            "membershipPaid": float(tx.get("amount") or 0),
            "membershipCost": 30,
            "membershipStatus": "ACTIVE" if days > 0 else "LAPSED",
            "membershipState": "NEW" if days > 0 else "LAPSED",
            "members": [{"firstName": rec.fields.get("First Name", ""),
                         "lastName": rec.fields.get("Last Name", "")}],
        }

    def supporter_body(self, rec: SupporterRecord, questions: bool, memberships: bool) -> dict[str, Any]:
        """GET /supporter's flat object: ids, then fields by name (empty ones left out)."""
        body: dict[str, Any] = {"supporterId": rec.supporter_id, "suppressed": rec.suppressed}
        for name in FIELD_NAMES:
            value = rec.fields.get(name, "")
            if value != "":
                body[name] = value
        if questions:
            body["questions"] = [
                {
                    "id": qid,
                    "componentId": 0,
                    "name": _QUESTION_BY_ID[qid].name,
                    "type": _QUESTION_BY_ID[qid].response_type,
                    "response": response,
                    "modifiedOn": when,
                    "netdonorLogId": 0,
                }
                for qid, (response, when) in sorted(rec.questions.items())
            ]
        if memberships:
            body["memberships"] = self.memberships(rec)
        return body

    def apply_fields(self, rec: SupporterRecord, fields: Mapping[str, str]) -> None:
        """Write field values, keeping the email index right."""
        for name, value in fields.items():
            if name == "Email Address":
                old = rec.email.lower()
                if self._email_index.get(old) == rec.supporter_id:
                    del self._email_index[old]
                    for other in self.records.values():  # another record may share the address
                        if other.supporter_id != rec.supporter_id and other.email.lower() == old:
                            self._email_index[old] = other.supporter_id
                            break
                self._email_index[value.lower()] = rec.supporter_id
            rec.fields[name] = value
        rec.modified = self.now.replace(microsecond=0)

    def apply_questions(self, rec: SupporterRecord, answers: Mapping[int, str]) -> None:
        """Record question responses dated by the frozen clock."""
        for qid, response in answers.items():
            rec.questions[qid] = (response, self.now_ms())
        if answers:
            rec.modified = self.now.replace(microsecond=0).replace(microsecond=0)

    def create(self, fields: Mapping[str, str]) -> SupporterRecord:
        """A new supporter with the given fields."""
        self.created[fields.get("Email Address", "").strip().lower()] += 1
        sid = self.next_id
        self.next_id += 1
        moment = self.now.replace(microsecond=0)
        rec = SupporterRecord(sid, {n: "" for n in FIELD_NAMES}, moment, moment, transactions=[])
        self.records[sid] = rec
        self.apply_fields(rec, fields)
        return rec

    def delete(self, sid: int) -> bool:
        """Remove a supporter; False when there was none."""
        rec = self.records.pop(sid, None)
        if rec is None:
            return False
        key = rec.email.lower()
        if self._email_index.get(key) == sid:
            del self._email_index[key]
            for other in self.records.values():
                if other.email.lower() == key:
                    self._email_index[key] = other.supporter_id
                    break
        return True

    def next_transaction_id(self) -> int:
        """A fresh transaction id."""
        self.next_tx_id += 1
        return self.next_tx_id


# -- request parsing ----------------------------------------------------------------------


def parse_fields(data: Mapping[str, Any], *, standard: bool) -> tuple[dict[str, str], list[str]]:
    """Map a supporter object's keys to field names; returns (fields, unknown keys)."""
    fields: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in data.items():
        if key == "questions":
            continue
        if standard:
            prop = _PROPERTY_BY_LOWER.get(str(key).lower())
            name = PROPERTY_TO_NAME.get(prop) if prop else None
        else:
            name = _FIELD_BY_LOWER.get(str(key).lower())
        if name is None:
            unknown.append(str(key))
            continue
        fields[name] = "" if value is None else str(value)
    return fields, unknown


def parse_questions(data: Any) -> tuple[dict[int, str], list[str]]:
    """Map a ``questions`` object (names or ``question.{id}`` keys) to questionId -> response."""
    answers: dict[int, str] = {}
    unknown: list[str] = []
    if data is None:
        return answers, unknown
    if not isinstance(data, Mapping):
        return answers, ["questions"]
    for key, value in data.items():
        text = str(key)
        question = None
        if text.lower().startswith("question.") and text[9:].isdigit():
            question = _QUESTION_BY_ID.get(int(text[9:]))
        else:
            question = _QUESTION_BY_NAME.get(text.lower())
        if question is None:
            unknown.append(text)
            continue
        answer = str(value).strip()
        if question.type in ("OPT", "CONF"):
            answer = answer.upper()
            if answer not in ("Y", "N"):
                unknown.append(f"{text}={value!r}")
                continue
        answers[question.question_id] = answer
    return answers, unknown


def _not_present(unknown: list[str]) -> JSONResponse:
    return error(400, "The following fields are not present in the account, please review: "
                 + ", ".join(unknown), 10000005)


async def _supporter_write(request: Request) -> tuple[dict[str, str], dict[int, str]] | Response:
    """The fields and question answers of a POST/PUT /supporter body, or the error to answer."""
    data = await _json_body(request)
    if not isinstance(data, dict):
        return error(400, "The request body must be a JSON object of supporter fields", 10000011)
    fields, unknown = parse_fields(data, standard=False)
    answers, bad_questions = parse_questions(data.get("questions"))
    if unknown or bad_questions:
        return _not_present(unknown + bad_questions)
    return fields, answers


def _bool_param(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() in ("true", "1", "yes")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return ...


# -- the app ------------------------------------------------------------------------------


class ENSApp:
    """Starlette routes emulating ENS over an :class:`ENSState`."""

    def __init__(self, state: ENSState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        """The routes, relative to ``/ens/service``."""
        r = self._guard
        return [
            Route("/authenticate", self.authenticate, methods=["POST"]),
            Route("/authenticate/{token}", self.session, methods=["GET", "DELETE"]),
            Route("/supporter/fields", r(self.fields), methods=["GET"]),
            Route("/supporter/questions", r(self.questions), methods=["GET"]),
            Route("/supporter/questions/{qid}", r(self.question), methods=["GET"]),
            Route("/supporter/query", r(self.query), methods=["GET"]),
            Route("/supporter/{sid}/transactions", r(self.transactions), methods=["GET"]),
            Route("/supporter/{sid}", r(self.supporter_by_id), methods=["GET", "PUT", "DELETE"]),
            Route("/supporter", r(self.supporter), methods=["GET", "POST"]),
            Route("/page", r(self.list_pages), methods=["GET"]),
            Route("/page/", r(self.list_pages), methods=["GET"]),
            Route("/page/{pid}", r(self.page), methods=["GET"]),
            Route("/page/{pid}/process", r(self.process), methods=["POST"]),
            Route("/page/{pid}/process/", r(self.process), methods=["POST"]),
            Route("/exportjob", r(self.export_create), methods=["POST"]),
            Route("/exportjob/{jid}", r(self.export_status), methods=["GET"]),
            Route("/exportjob/{jid}/download", r(self.export_download), methods=["GET"]),
        ]

    def _limit_response(self) -> JSONResponse:
        return error(401, MSG_LIMIT.format(user=API_USERNAME), 10000004)

    def _guard(self, handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            if not self.state.count_request():
                return self._limit_response()
            if not self.state.token_valid(request.headers.get("ens-auth-token")):
                return JSONResponse({"message": MSG_TOKEN, "messageId": 10000006}, status_code=401)
            with self.state.lock:
                if request.method != "GET":
                    self.state.version += 1  # a write: cached query results are stale
                return await handler(request)

        return guarded

    # -- authentication ----------------------------------------------------------------
    async def authenticate(self, request: Request) -> Response:
        """POST /authenticate: the raw key as the body (a JSON-quoted key or {"ens-auth-token"} too)."""
        state = self.state
        if not state.count_request():
            return self._limit_response()
        raw = (await request.body()).decode("utf-8", "replace").strip()
        key = raw
        if raw.startswith('"') or raw.startswith("{"):
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw
            if isinstance(parsed, str):
                key = parsed
            elif isinstance(parsed, dict):
                key = str(parsed.get("ens-auth-token") or parsed.get("apiKey") or "")
        if key == state.orphan_key:
            return error(401, MSG_NO_USER.format(key=key), 10000001)
        if key == state.inactive_key:
            return error(401, MSG_INACTIVE.format(key=key), 10000003)
        if key != state.api_key:
            return error(401, MSG_INVALID_KEY.format(key=key), 10000000)
        client = request.client.host if request.client else ""
        if state.allowed_sources and client not in state.allowed_sources:
            return error(401, MSG_SOURCE, 10000002)
        token = str(uuid.uuid4())
        with state.lock:
            state.tokens[token] = state.clock.elapsed() + state.token_ttl
            state.issued_tokens.append(token)
        return JSONResponse({"ens-auth-token": token, "expires": int(state.token_ttl * 1000)})

    async def session(self, request: Request) -> Response:
        """GET validates a token ({valid, ens-auth-token}); DELETE retires it (the number 1)."""
        if not self.state.count_request():
            return self._limit_response()
        token = request.path_params["token"]
        if request.method == "GET":
            return JSONResponse({"valid": self.state.token_valid(token), "ens-auth-token": token})
        with self.state.lock:
            self.state.tokens.pop(token, None)
        return JSONResponse(1)

    # -- metadata ------------------------------------------------------------------------
    async def fields(self, request: Request) -> Response:
        return JSONResponse([{"id": i, "name": n, "tag": t, "property": p} for i, n, t, p in FIELDS])

    async def questions(self, request: Request) -> Response:
        return JSONResponse(
            [{"id": q.id, "questionId": q.question_id, "name": q.name, "type": q.type} for q in QUESTIONS]
        )

    async def question(self, request: Request) -> Response:
        """Per-locale question detail; an unknown id gives ``[]`` (as ENS does)."""
        text = request.path_params["qid"]
        q = _QUESTION_BY_ID.get(int(text)) if text.isdigit() else None
        if q is None:
            return JSONResponse([])
        content = [
            {"selected": False, "value": v, "label": q.label if q.type != "GEN" else v, "forId": "", "imageUrl": ""}
            for v in q.values
        ]
        return JSONResponse([
            {"id": q.id, "questionId": q.question_id, "name": q.name, "type": q.type, "locale": locale,
             "label": q.label, "htmlFieldType": q.html_field_type, "content": {"data": content}}
            for locale in ("en-GB", "en-US")
        ])

    # -- supporters ----------------------------------------------------------------------
    async def supporter(self, request: Request) -> Response:
        """GET /supporter?email= (204 when not found) and POST /supporter (upsert by email)."""
        state = self.state
        if request.method == "GET":
            email = request.query_params.get("email")
            if not email:
                return error(400, "Missing mandatory parameter email", 10000010)
            rec = state.find_email(email)
            if rec is None:
                return Response(status_code=204)
            return JSONResponse(state.supporter_body(
                rec, _bool_param(request, "includeQuestions"), _bool_param(request, "includeMemberships")))
        parsed = await _supporter_write(request)
        if isinstance(parsed, Response):
            return parsed
        fields, answers = parsed
        email = fields.get("Email Address", "").strip()
        if not email:
            return error(400, "An Email Address is required to add or update a supporter", 10000012)
        state.upserts[email.lower()] += 1
        rec = state.find_email(email)
        if rec is None:
            rec = state.create(fields)
        else:
            state.apply_fields(rec, {k: v for k, v in fields.items() if k != "Email Address"})
        state.apply_questions(rec, answers)
        return JSONResponse({"id": rec.supporter_id})

    async def supporter_by_id(self, request: Request) -> Response:
        """GET (204 when not found), PUT (partial update, email included) and DELETE."""
        state = self.state
        text = request.path_params["sid"]
        rec = state.records.get(int(text)) if text.isdigit() else None
        if request.method == "GET":
            if rec is None:
                return Response(status_code=204)
            return JSONResponse(state.supporter_body(
                rec, _bool_param(request, "includeQuestions"), _bool_param(request, "includeMemberships")))
        if rec is None:
            return error(404, f"Unable to find a supporter with supporterId {text}", 10000020)
        if request.method == "DELETE":
            state.delete(rec.supporter_id)
            return JSONResponse({"id": rec.supporter_id})
        parsed = await _supporter_write(request)
        if isinstance(parsed, Response):
            return parsed
        fields, answers = parsed
        new_email = fields.get("Email Address")
        if new_email is not None:
            other = state.find_email(new_email)
            if other is not None and other.supporter_id != rec.supporter_id:
                return error(400, f"The email address {new_email} is already used by another supporter",
                             10000013)
        state.apply_fields(rec, fields)
        state.apply_questions(rec, answers)
        return JSONResponse({"id": rec.supporter_id})

    async def transactions(self, request: Request) -> Response:
        text = request.path_params["sid"]
        rec = self.state.records.get(int(text)) if text.isdigit() else None
        if rec is None:
            return Response(status_code=204)
        return JSONResponse(self.state.transactions(rec))

    async def query(self, request: Request) -> Response:
        """GET /supporter/query with the ``{pagination, data, scores, summary}`` envelope.

        ``start`` is the 1-based first row (0 is read as 1); ``rows`` defaults to 20 and is
        capped at 100.
        """
        state = self.state
        q = request.query_params
        qtype = q.get("type", "")
        if qtype not in ("latestCreated", "latestModified", "suppressed", "profile", "search"):
            return error(400, f"Invalid query type {qtype!r}", 10000030)
        try:
            start = max(1, int(q.get("start", "1") or 1))
            rows = min(100, max(1, int(q.get("rows", "20") or 20)))
            days = int(q["daysBack"]) if q.get("daysBack") else None
        except ValueError:
            return error(400, "start, rows and daysBack must be numbers", 10000031)
        if qtype in ("latestCreated", "latestModified", "suppressed"):
            if days is None:
                return error(400, "Missing mandatory parameter daysBack", 10000032)
            if not 1 <= days <= 32:
                return error(400, "daysBack must be between 1 and 32", 10000033)
        group = q.get("exportGroup")
        if group is not None and group not in EXPORT_GROUPS:
            return error(400, f"Export group {group!r} does not exist", 10000034)
        since = state.now - dt.timedelta(days=days or 0)
        key = (qtype, days, q.get("profileId"), q.get("filter"), int(state.clock.elapsed() // 60))
        cached = state._query_cache.get(key)
        if cached is not None and cached[0] == state.version:
            return self._query_page(cached[1], start, rows, group)
        records = state.records.values()
        if qtype == "latestCreated":
            matched = [r for r in records if r.created >= since]
        elif qtype == "latestModified":
            matched = [r for r in records if r.modified >= since]
        elif qtype == "suppressed":
            matched = [r for r in records if r.suppressed and r.suppressed_on and r.suppressed_on >= since]
        elif qtype == "profile":
            pid = q.get("profileId", "")
            if not pid.isdigit():
                return error(400, "Missing mandatory parameter profileId", 10000035)
            if int(pid) not in PROFILES:
                return error(400, f"Profile with the specified id, {pid}, doesn't exist", 10000036)
            matched = [r for r in records if _in_profile(int(pid), r)]
        else:
            text = q.get("filter")
            if not text:
                return error(400, "Missing mandatory parameter filter", 10000037)
            terms = []
            for part in text.split("~"):
                prop, _, values = part.partition(":")
                name = PROPERTY_TO_NAME.get(_PROPERTY_BY_LOWER.get(prop.strip().lower(), ""))
                if name is None:
                    return error(400, f"Failed to map field property '{prop}'", 10000038)
                terms.append((name, {v.strip().lower() for v in values.split("||")}))
            matched = [r for r in records
                       if all(r.fields.get(n, "").strip().lower() in vals for n, vals in terms)]
        matched.sort(key=lambda r: r.supporter_id)
        if len(state._query_cache) > 32:
            state._query_cache.clear()
        state._query_cache[key] = (state.version, matched)  # the next pages are slices, as in a database
        return self._query_page(matched, start, rows, group)

    def _query_page(self, matched: list[SupporterRecord], start: int, rows: int, group: str | None) -> Response:
        page = matched[start - 1:start - 1 + rows]
        data = [self._query_row(r, group) for r in page]
        return JSONResponse({"pagination": {"start": start, "rows": rows, "total": len(matched)},
                             "data": data, "scores": [], "summary": {}})

    @staticmethod
    def _query_row(rec: SupporterRecord, group: str | None) -> dict[str, Any]:
        row: dict[str, Any] = {}
        if group is None:
            row["emailAddress"] = rec.email
        else:
            for name in EXPORT_GROUPS[group]:
                row[name] = rec.fields.get(name, "")
        row.update({"supporterId": rec.supporter_id, "modifiedOn": rec.modified.date().isoformat(),
                    "createdOn": rec.created.date().isoformat()})
        return row

    # -- pages ---------------------------------------------------------------------------
    def _page_body(self, page: Page, detail: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": page.id, "campaignId": page.campaign_id, "name": page.name, "title": page.name,
            "type": page.type, "subType": page.sub_type, "clientId": CLIENT_ID,
            "createdOn": int(page.created.timestamp() * 1000),
            "modifiedOn": int((page.created + dt.timedelta(days=3)).timestamp() * 1000),
            "campaignBaseUrl": "https://act.example.org", "campaignStatus": page.status,
            "defaultLocale": "en-GB",
        }
        if detail:
            body["trackingParameters"] = list(page.tracking)
        return body

    async def list_pages(self, request: Request) -> Response:
        """GET /page?type=&status=: a bare array; an unknown type is "Failed to get pages"."""
        qtype = request.query_params.get("type", "")
        status = request.query_params.get("status")
        if qtype not in PAGE_TYPE_MAP:
            return error(400, "Failed to get pages", -1767273746, "")
        ptype, sub = PAGE_TYPE_MAP[qtype]
        pages = [p for p in self.state.pages.values()
                 if p.type == ptype and (qtype == "nd" or p.sub_type == sub)
                 and (status in (None, "", "all") or p.status == status)]
        return JSONResponse([self._page_body(p, False) for p in sorted(pages, key=lambda p: p.id)])

    async def page(self, request: Request) -> Response:
        text = request.path_params["pid"]
        page = self.state.pages.get(int(text)) if text.isdigit() else None
        if page is None:
            return error(404, f"Unable to find an page with pageId {text}", 353979450)
        return JSONResponse(self._page_body(page, True))

    async def process(self, request: Request) -> Response:
        """POST /page/{id}/process: updates the supporter, their opt-ins and transactions.

        Failures a supporter could cause (a declined card, a missing message) answer 200
        with ``status: ERROR``; malformed requests answer 400. ``demo: true`` validates and
        answers but records nothing.
        """
        state = self.state
        text = request.path_params["pid"]
        page = state.pages.get(int(text)) if text.isdigit() else None
        if page is None:
            return error(404, f"Unable to find an page with pageId {text}", 353979450)
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("supporter"), dict):
            return error(400, "The request must contain a supporter object", 10000040)
        standard = bool(body.get("standardFieldNames"))
        demo = bool(body.get("demo"))
        fields, unknown = parse_fields(body["supporter"], standard=standard)
        answers, bad_questions = parse_questions(body["supporter"].get("questions"))
        if unknown or bad_questions:
            return _not_present(unknown + bad_questions)
        state.processed.append({"pageId": page.id, "body": body, "at": state.now_ms()})
        email = fields.get("Email Address", "").strip()
        existing = state.find_email(email) if email else None

        def failed(message: str) -> JSONResponse:
            return JSONResponse({"status": "ERROR", "id": 0, "supporterId": existing.supporter_id if existing else 0,
                                 "supporterEmailAddress": email, "error": message})

        if not email:
            return failed("An Email Address is required")
        if page.status in ("close", "delete", "block"):
            return failed(f"Page {page.id} is {page.status}d and cannot be processed"
                          if page.status != "close" else f"Page {page.id} is closed")
        transaction = body.get("transaction")
        amount = None
        recurring = False
        currency = "GBP"
        payment_type = ""
        if page.type == "nd":
            if not isinstance(transaction, dict):
                return failed("A transaction is required on a donation page")
            try:
                amount = float(str(transaction.get("donationAmt", "")).replace(",", ""))
            except ValueError:
                amount = None
            if not amount or amount <= 0:
                return failed("donationAmt must be a positive amount")
            payment_type = str(transaction.get("paymenttype") or "VISA")
            currency = str(transaction.get("paycurrency") or "GBP")
            recurring = str(transaction.get("recurrpay", "N")).upper() in ("Y", "TRUE")
            if str(transaction.get("ccnumber", "")).replace(" ", "") in DECLINED_CARDS:
                return failed("Transaction declined by the payment gateway: card declined")
        if page.type == "et":
            message = body.get("contactMessage")
            if not isinstance(message, dict) or not str(message.get("subject") or "").strip() \
                    or not str(message.get("message") or "").strip():
                return failed("A contactMessage with a subject and a message is required on this page")
        if demo:
            return JSONResponse(self._process_result(page, existing.supporter_id if existing else 0, email,
                                                     0, amount, recurring, currency, payment_type))
        if existing is None:
            rec = state.create(fields)
        else:
            rec = existing
            state.apply_fields(rec, {k: v for k, v in fields.items() if k != "Email Address" and v != ""})
        if page.sub_type == "UNSUB":
            for q in OPTIN_QUESTIONS:
                answers.setdefault(q.question_id, "N")
        state.apply_questions(rec, answers)
        tx_id = state.next_transaction_id()
        tx = transaction_for(page, state.now, None, tx_id, amount=amount, recurring=recurring, currency=currency)
        state.transactions(rec).append(tx)
        if page.sub_type == "MEMBERSHIP":
            state.memberships(rec).append(state._membership(rec, tx))
        rec.modified = state.now.replace(microsecond=0)
        return JSONResponse(self._process_result(page, rec.supporter_id, rec.email, tx_id, amount,
                                                 recurring, currency, payment_type))

    def _process_result(self, page: Page, sid: int, email: str, tx_id: int, amount: float | None,
                        recurring: bool, currency: str, payment_type: str) -> dict[str, Any]:
        result: dict[str, Any] = {"id": tx_id, "status": "SUCCESS", "supporterEmailAddress": email,
                                  "supporterId": sid, "createdOn": self.state.now_ms()}
        if page.type == "nd" and amount is not None:
            result.update({
                "type": "CREDIT_RECURRING" if recurring else "CREDIT_SINGLE",
                "currency": currency, "error": "", "recurringPayment": recurring,
                "paymentType": payment_type, "amount": amount,
                "transactionId": f"ND{page.campaign_id}T{tx_id}__A{sid}",
            })
            if recurring:
                result.update({"recurringFrequency": "MONTHLY", "recurringDay": self.state.now.day})
        return result

    # -- export jobs ---------------------------------------------------------------------
    async def export_create(self, request: Request) -> Response:
        state = self.state
        body = await _json_body(request)
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object", 10000050)
        query = body.get("queryName")
        if query not in EXPORT_QUERIES:
            return error(400, f"Query {query!r} does not exist; queries must be pre-configured in the dashboard",
                         10000051)
        group = body.get("fieldGroup")
        if group is not None and group not in EXPORT_GROUPS:
            return error(400, f"Field group {group!r} does not exist", 10000052)
        if body.get("fileType", "csv") not in ("csv", "standardcsv", "xls", "xlsx"):
            return error(400, "fileType must be one of csv, standardcsv, xls, xlsx", 10000053)
        if body.get("format", "User data") not in ("Transaction", "User data", "Hybrid"):
            return error(400, "format must be one of Transaction, User data, Hybrid", 10000054)
        state.next_job_id += 1
        job_id = state.next_job_id
        created = state.now_ms()
        state.jobs[job_id] = {"query": query, "group": group, "ready_at": state.clock.elapsed() + state.export_delay,
                              "createdOn": created, "format": body.get("format", "User data")}
        return JSONResponse({"id": job_id, "createdOn": created, "status": "pending"})

    def _job(self, request: Request) -> tuple[int, dict[str, Any] | None]:
        text = request.path_params["jid"]
        job_id = int(text) if text.isdigit() else -1
        return job_id, self.state.jobs.get(job_id)

    async def export_status(self, request: Request) -> Response:
        job_id, job = self._job(request)
        if job is None:
            return error(404, f"Export job {job_id} does not exist", 10000055)
        if self.state.clock.elapsed() < job["ready_at"]:
            return JSONResponse({"createdOn": job["createdOn"], "status": "pending"})
        return JSONResponse({"completedOn": job["createdOn"] + 2000, "createdOn": job["createdOn"],
                             "url": f"/ens/service/exportjob/{job_id}/download", "status": "completed"})

    async def export_download(self, request: Request) -> Response:
        job_id, job = self._job(request)
        if job is None:
            return error(404, f"Export job {job_id} does not exist", 10000055)
        if self.state.clock.elapsed() < job["ready_at"]:
            return error(400, f"Export job {job_id} has not completed", 10000056)
        if job["format"] == "Transaction":
            return Response(export_transactions_csv(self.state, job["query"]), media_type="text/csv")
        return Response(export_csv(self.state, job["query"], job["group"]), media_type="text/csv")


def _in_profile(profile_id: int, rec: SupporterRecord) -> bool:
    if profile_id == 333:
        return rec.fields.get("Country") == "GB"
    if profile_id == 334:
        return rec.questions.get(4512, ("", 0))[0] == "Y"
    return rec.suppressed


def _in_query(rec: SupporterRecord, query: str) -> bool:
    if query == "Marketing opted in":
        return rec.questions.get(4512, ("", 0))[0] == "Y"
    if query == "Suppressed supporters":
        return rec.suppressed
    return True


TRANSACTION_COLUMNS = ("supporterId", "id", "type", "subtype", "name", "campaignId", "createdOn", "createdDate",
                       "xref1", "xref2", "txType", "recurringPayment", "status", "amount", "currency")


def export_transactions_csv(state: ENSState, query: str) -> bytes:
    """The CSV of a "Transaction" export job: one row per transaction of the query's supporters."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRANSACTION_COLUMNS)
    for sid in sorted(state.records):
        rec = state.records[sid]
        if not _in_query(rec, query):
            continue
        for tx in state.transactions(rec):
            day, month, year = str(tx["createdOn"]).split("/")
            row = {**tx, "supporterId": sid, "createdOn": f"{year}-{month}-{day}"}
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in TRANSACTION_COLUMNS])
    return out.getvalue().encode()


def export_csv(state: ENSState, query: str, group: str | None) -> bytes:
    """The CSV of an export job: ids, fields, dates, and each question with its date."""
    names = EXPORT_GROUPS[group] if group else FIELD_NAMES
    header = ["supporterId", "suppressed", *names, "createdOn", "modifiedOn"]
    for q in QUESTIONS:
        header += [q.name, f"{q.name} Date"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for sid in sorted(state.records):
        rec = state.records[sid]
        if not _in_query(rec, query):
            continue
        row: list[Any] = [sid, "true" if rec.suppressed else "false"]
        row += [rec.fields.get(n, "") for n in names]
        row += [rec.created.date().isoformat(), rec.modified.date().isoformat()]
        for q in QUESTIONS:
            answer = rec.questions.get(q.question_id)
            if answer is None:
                row += ["", ""]
            else:
                row += [answer[0], dt.datetime.fromtimestamp(answer[1] / 1000, dt.UTC).date().isoformat()]
        writer.writerow(row)
    return out.getvalue().encode()
