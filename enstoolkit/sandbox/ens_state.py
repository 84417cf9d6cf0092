"""The ENS half of the sandbox, its state: the account's supporters, pages, tokens, rate limit and jobs,
and the parsing of what clients send.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import uuid
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._json import JSONResponse
from .account import Account
from .clock import SandboxClock
from .data import (
    CLIENT_ID,
    FIELD_NAMES,
    Page,
    SupporterRecord,
    generate_supporters,
    make_pages,
    make_transactions,
    transaction_for,
)
from .truth import DuplicateTruth, seed_labelled
from .variants import Variant

__all__ = ["API_USERNAME", "BROADCASTS", "DECLINED_CARDS", "ENSState", "error"]

API_USERNAME = "apiuser@example.org"

MSG_INVALID_KEY = "Invalid api key [{key}]"
MSG_NO_USER = "A user was not found for api key[{key}]. Please contact support"
MSG_SOURCE = "Authentication call is being made from an unregistered source address for this ENS api key"
MSG_INACTIVE = "The user specified by api key [{key}] is not active or does not have access to EN services"
MSG_LIMIT = "The user with username [{user}] has exceeded its api limit."
MSG_TOKEN = "Invalid ens-auth-token"

DECLINED_CARDS = frozenset({"4000000000000002", "4000000000009995"})
#: Broadcast campaigns whose emails appear in supporters' histories as EMAIL transactions (names may end in
#: spaces: the export keeps them).
BROADCASTS = ((20_001, "Monthly Newsletter"), (20_002, "Rivers Campaign Update"), (20_003, "Spring Appeal Email "))


def error(status: int, message: str, message_id: int, developer: str | None = None) -> JSONResponse:
    """An ENS error body, keys in the live service's order: ``{messageId, message[, developerMessage]}``."""
    body: dict[str, Any] = {"messageId": message_id, "message": message}
    if developer is not None:
        body["developerMessage"] = developer
    return JSONResponse(body, status_code=status)


class ENSState:
    """Everything the emulated ENS account holds; writes persist for the life of the server."""

    def __init__(
        self,
        *,
        supporters: int,
        seed: int,
        clock: SandboxClock,
        variant: Variant | None = None,
        hourly_limit: int = 5000,
        token_ttl: float = 3600.0,
        allowed_sources: tuple[str, ...] = ("127.0.0.1", "::1"),
        export_delay: float = 0.2,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.variant = variant or Variant()
        self.account = Account(self.variant, seed)
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
        made = generate_supporters(supporters, seed, start)
        #: the labelled duplicates of the ``duplicates="labelled"`` variant (:mod:`enstoolkit.sandbox.truth`)
        self.duplicate_truth: DuplicateTruth | None = None
        if self.variant.duplicates == "labelled":
            self.duplicate_truth = seed_labelled(made, seed, start, per_kind=max(2, supporters // 400))
        self.records: dict[int, SupporterRecord] = {r.supporter_id: r for r in made}
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
        self.optins_set: Counter[str] = Counter()  # a question answered "Y" that was not, per lowercased email
        self.bulk_suppressions: Counter[tuple[str, str]] = Counter()  # PUT /supporter/bulk, per (email, Y/N)
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
        """The supporter's transactions as the sandbox keeps them (made on first use; see :meth:`transaction_view`)."""
        if rec.transactions is None:
            rec.transactions = self.history(rec)
        return rec.transactions

    def history(self, rec: SupporterRecord) -> list[dict[str, Any]]:
        """The supporter's transactions: those held, else made afresh (deterministically) without keeping them.

        An export of every supporter's history uses this, so it does not hold them all in memory.
        """
        if rec.transactions is not None:
            return rec.transactions
        made = make_transactions(rec, self.seed, self.pages, self.clock.start)
        made.extend(self._broadcasts(rec))
        made.sort(key=lambda t: (t["createdDate"], t["id"]))
        return made

    def _broadcasts(self, rec: SupporterRecord) -> list[dict[str, Any]]:
        """EMAIL transactions (broadcasts received), from their own random stream: live histories carry them."""
        rng = random.Random(f"email-{self.seed}-{rec.supporter_id}")
        out = []
        created = int(rec.created.timestamp() * 1000)
        span = int(self.clock.start.timestamp() * 1000) - created
        for n in range(rng.choice((0, 0, 1, 2, 3))):
            campaign, name = rng.choice(BROADCASTS)
            out.append({"campaignId": campaign, "type": "EMAIL", "name": name,
                        "id": 8_000_000_000 + rec.supporter_id * 10 + n, "broadcastId": campaign - 19_500,
                        "createdDate": created + int(span * rng.random())})
        return out

    def recurring(self, rec: SupporterRecord) -> list[dict[str, Any]]:
        """The supporter's recurring schedules: one per recurring gift page given to, and, for about one
        donor in six, a monthly schedule of their own stream (ACTIVE, or SUSPENDED for a third of them).
        """
        out: list[dict[str, Any]] = []
        gifts = [t for t in self.history(rec) if t.get("type") == "nd"]
        for tx in gifts:
            if tx.get("recurringPayment") == "Y":
                out.append(self._schedule(tx, "ACTIVE"))
        rng = random.Random(f"recurring-{self.seed}-{rec.supporter_id}")
        if gifts and not out and rng.random() < 0.17:
            out.append(self._schedule(gifts[0], "SUSPENDED" if rng.random() < 0.34 else "ACTIVE"))
        return out

    def _schedule(self, tx: Mapping[str, Any], status: str) -> dict[str, Any]:
        start = dt.datetime.fromtimestamp(tx["createdDate"] / 1000, dt.UTC).date()
        return {"amount": f"{float(tx.get('amount') or 10):.2f}", "paymentDay": start.day,
                "campaignId": tx["campaignId"], "currency": tx.get("currency") or "GBP", "id": tx["id"] + 1,
                "transactionId": f"sub_{tx['id']}", "startDate": start.isoformat(), "status": status,
                "frequency": "MONTHLY"}

    def transaction_view(self, tx: dict[str, Any]) -> dict[str, Any]:
        """A transaction as the live service lists it.

        Donations carry ``createdDate`` (epoch ms) only: no ``createdOn``, no ``amount``, no
        ``currency``, ``recurringPayment`` as "Y"/"N" (observed on a live account). Other types
        but EMAIL carry ``createdOn`` too, in the account's date order.
        """
        out = {k: v for k, v in tx.items() if k != "createdOn"}
        if tx.get("type") == "nd":
            out.pop("amount", None)
            out.pop("currency", None)
        elif tx.get("type") != "EMAIL":
            moment = dt.datetime.fromtimestamp(int(tx["createdDate"]) / 1000, dt.UTC)
            out["createdOn"] = self.account.date(moment.date())
        return out

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

    def _membership_view(self, membership: dict[str, Any]) -> dict[str, Any]:
        """A membership as the account shows it: with its ``history`` where the account keeps one."""
        if not self.variant.membership_history:
            return membership
        term = {k: membership[k] for k in ("termEndDate", "termStartDate", "membershipCost", "id", "membershipPaid",
                                           "membershipName")}
        return {**membership, "history": [{**term, "createdOn": int(membership["termStartDate"]) + 43_000_000}]}

    def answers(self, rec: SupporterRecord) -> dict[int, tuple[str, int]]:
        """The supporter's question answers as the account shows them (pending and range answers per variant)."""
        return self.account.answers(rec.supporter_id, rec.questions, int(rec.created.timestamp() * 1000))

    def answer_history(self, rec: SupporterRecord) -> list[tuple[int, str, int]]:
        """Every answer the supporter gave, oldest first: ``(questionId, answer, epoch ms)``.

        What the transaction export writes as question rows (QCB, CQS, QMR): the answers the
        latest one replaced, then the latest (as :meth:`answers` shows it in the variant).
        """
        out = [(qid, answer, when) for qid, earlier in rec.earlier_answers.items() for answer, when in earlier]
        out += [(qid, answer, when) for qid, (answer, when) in self.answers(rec).items()]
        return sorted(out, key=lambda a: (a[2], a[0]))

    def supporter_body(self, rec: SupporterRecord, questions: bool, memberships: bool) -> dict[str, Any]:
        """GET /supporter's flat object: ids, then fields by the account's names (empty ones left out)."""
        text = self.variant.supporter_values == "text"
        body: dict[str, Any] = {"supporterId": str(rec.supporter_id) if text else rec.supporter_id,
                                "suppressed": str(rec.suppressed).lower() if text else rec.suppressed}
        for name in FIELD_NAMES:
            value = rec.fields.get(name, "")
            if value != "":
                body[self.account.display(name)] = value
        if questions:
            by_id = self.account.question_by_id
            body["questions"] = [
                {"id": qid, "componentId": 0, "name": self.account.record_name(by_id[qid]),
                 "type": by_id[qid].response_type,
                 "response": response, "modifiedOn": when, "netdonorLogId": 0}
                for qid, (response, when) in sorted(self.answers(rec).items())
            ]
        if memberships:
            body["memberships"] = [self._membership_view(m) for m in self.memberships(rec)]
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
            if response == "Y" and rec.questions.get(qid, ("", 0))[0] != "Y":
                self.optins_set[rec.email.strip().lower()] += 1
            if qid in rec.questions:  # the answer it replaces stays in the history of answers
                rec.earlier_answers.setdefault(qid, []).append(rec.questions[qid])
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

    # -- what clients send -------------------------------------------------------------------
    def parse_fields(self, data: Mapping[str, Any], *, standard: bool) -> tuple[dict[str, str], list[str]]:
        """A supporter object's keys as canonical field names (the account's names, or properties); and the unknown."""
        fields: dict[str, str] = {}
        unknown: list[str] = []
        for key, value in data.items():
            if key == "questions":
                continue
            name = self.account.canonical(str(key), standard=standard)
            if name is None:
                unknown.append(str(key))
                continue
            fields[name] = "" if value is None else str(value)
        return fields, unknown

    def parse_questions(self, data: Any) -> tuple[dict[int, str], list[str]]:
        """A ``questions`` object (names or ``question.{id}`` keys) as questionId -> answer; and the refused."""
        answers: dict[int, str] = {}
        unknown: list[str] = []
        if data is None:
            return answers, unknown
        if not isinstance(data, Mapping):
            return answers, ["questions"]
        for key, value in data.items():
            text = str(key)
            if text.lower().startswith("question.") and text[9:].isdigit():
                question = self.account.question_by_id.get(int(text[9:]))
            else:
                question = self.account.question_by_name.get(text.lower())
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

    def add_transaction(self, email: str, page_id: int, created_ms: int) -> int:
        """Record a transaction on a page for a supporter (made if new), dated ``created_ms`` as given (epoch ms):
        a gift or signature made outside the toolkit, for tests; returns its id.
        """
        page = self.pages[page_id]
        rec = self.find_email(email) or self.create({"Email Address": email})
        tx = transaction_for(page, dt.datetime.fromtimestamp(created_ms / 1000, dt.UTC), None,
                             self.next_transaction_id(), amount=10.0 if page.type == "nd" else None)
        tx["createdDate"] = int(created_ms)
        self.transactions(rec).append(tx)
        return int(tx["id"])

    def next_transaction_id(self) -> int:
        """A fresh transaction id."""
        self.next_tx_id += 1
        return self.next_tx_id


def not_present(unknown: list[str]) -> JSONResponse:
    """ENS's 400 answer to a request naming fields or questions the account does not have."""
    return error(400, "The following fields are not present in the account, please review: "
                 + ", ".join(unknown), 10000005)


async def supporter_write(state: ENSState, request: Request) -> tuple[dict[str, str], dict[int, str]] | Response:
    """The fields and question answers of a POST/PUT /supporter body, or the error to answer."""
    data = await json_body(request)
    if not isinstance(data, dict):
        return error(400, "The request body must be a JSON object of supporter fields", 10000011)
    fields, unknown = state.parse_fields(data, standard=False)
    answers, bad_questions = state.parse_questions(data.get("questions"))
    if unknown or bad_questions:
        return not_present(unknown + bad_questions)
    return fields, answers


def bool_param(request: Request, name: str) -> bool:
    """Whether the query parameter ``name`` is set to true (``true``, ``1`` or ``yes``)."""
    return request.query_params.get(name, "false").lower() in ("true", "1", "yes")


async def json_body(request: Request) -> Any:
    """The request's JSON body: None when it is empty, ``...`` (Ellipsis) when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return ...


