"""The ENS half of the sandbox, its routes: Starlette handlers under ``/ens/service`` over an :class:`ENSState`.

Responses follow the evidence of what the real service sends (``real-world-evidence.md``), else the
vendor's OpenAPI spec (see the project's spec-conformance test); where both are silent the choice is
documented beside the route.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._fork import in_background
from ._json import JSONResponse
from .data import (
    CLIENT_ID,
    EXPORT_GROUPS,
    EXPORT_QUERIES,
    OPTIN_QUESTIONS,
    PAGE_TYPE_MAP,
    PROFILES,
    Page,
    SupporterRecord,
    transaction_for,
)
from .ens_export import start_export
from .ens_state import (
    API_USERNAME,
    DECLINED_CARDS,
    MSG_INACTIVE,
    MSG_INVALID_KEY,
    MSG_LIMIT,
    MSG_NO_USER,
    MSG_SOURCE,
    MSG_TOKEN,
    ENSState,
    bool_param,
    error,
    json_body,
    not_present,
    supporter_write,
)

__all__ = ["ENSApp"]


# -- the app ------------------------------------------------------------------------------


class ENSApp:
    """Starlette routes emulating ENS over an :class:`ENSState`."""

    def __init__(self, state: ENSState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        """The routes, relative to ``/ens/service``."""
        r = self._guard
        return [
            Route("/authenticate", self._authenticate, methods=["POST"]),
            Route("/authenticate/{token}", self._session, methods=["GET", "DELETE"]),
            Route("/supporter/fields", r(self._fields), methods=["GET"]),
            Route("/supporter/questions", r(self._questions), methods=["GET"]),
            Route("/supporter/questions/{qid}", r(self._question), methods=["GET"]),
            Route("/supporter/query", r(self._query), methods=["GET"]),
            Route("/supporter/bulk", r(self._bulk), methods=["PUT"]),
            Route("/supporter/{sid}/transactions/recurring", r(self._recurring), methods=["GET"]),
            Route("/supporter/{sid}/transactions", r(self._transactions), methods=["GET"]),
            Route("/supporter/{sid}", r(self._supporter_by_id), methods=["GET", "PUT", "DELETE"]),
            Route("/supporter", r(self._supporter), methods=["GET", "POST"]),
            Route("/page", r(self._list_pages), methods=["GET"]),
            Route("/page/", r(self._list_pages), methods=["GET"]),
            Route("/page/{pid}", r(self._page), methods=["GET"]),
            Route("/page/{pid}/process", r(self._process), methods=["POST"]),
            Route("/page/{pid}/process/", r(self._process), methods=["POST"]),
            Route("/exportjob", r(self._export_create), methods=["POST"]),
            Route("/exportjob/{jid}", r(self._export_status), methods=["GET"]),
            Route("/exportjob/{jid}/download", r(self._export_download), methods=["GET"]),
        ]

    def _limit_response(self) -> JSONResponse:
        return error(401, MSG_LIMIT.format(user=API_USERNAME), 10000004)

    def _guard(self, handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            if not self.state.count_request():
                return self._limit_response()
            if not self.state.token_valid(request.headers.get("ens-auth-token")):
                return error(401, MSG_TOKEN, 10000006)
            with self.state.lock:
                if request.method != "GET":
                    self.state.version += 1  # a write: cached query results are stale
                response: Response = await handler(request)
                return response

        return guarded

    # -- authentication ----------------------------------------------------------------
    async def _authenticate(self, request: Request) -> Response:
        """POST /authenticate: the raw key as the body (recorded), or ``{"ens-auth-token": KEY}`` (observed).

        A JSON-quoted key is refused with "Invalid api key [...]", echoing what was sent (recorded).
        """
        state = self.state
        if not state.count_request():
            return self._limit_response()
        raw = (await request.body()).decode("utf-8", "replace").strip()
        key = raw
        if raw.startswith("{"):
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                key = str(parsed.get("ens-auth-token") or "")
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
        return JSONResponse({"expires": int(state.token_ttl * 1000), "ens-auth-token": token})

    async def _session(self, request: Request) -> Response:
        """GET validates a token (``{"valid": true}`` only, as observed); DELETE retires it (the number 1)."""
        if not self.state.count_request():
            return self._limit_response()
        token = request.path_params["token"]
        if request.method == "GET":
            return JSONResponse({"valid": self.state.token_valid(token)})
        with self.state.lock:
            self.state.tokens.pop(token, None)
        return JSONResponse(1)

    # -- metadata ------------------------------------------------------------------------
    async def _fields(self, request: Request) -> Response:
        return JSONResponse(self.state.account.fields())

    async def _questions(self, request: Request) -> Response:
        return JSONResponse(
            [{"id": q.id, "questionId": q.question_id, "name": q.name, "type": q.type}
             for q in self.state.account.questions]
        )

    async def _question(self, request: Request) -> Response:
        """Per-locale question detail; an unknown id gives ``[]`` (as ENS does)."""
        text = request.path_params["qid"]
        q = self.state.account.question_by_id.get(int(text)) if text.isdigit() else None
        if q is None:
            return JSONResponse([])
        content: dict[str, Any]
        if q.html_field_type == "range":  # the spec's range question: bounds, not choices
            content = {"rangeData": {"min": q.values[0], "max": q.values[-1], "minLabel": "Min", "maxLabel": "Max",
                                     "step": "1", "showCurrent": True}, "value": q.values[0]}
        else:
            content = {"data": [{"selected": False, "value": v, "label": q.label if q.type != "GEN" else v,
                                 "forId": "", "imageUrl": ""} for v in q.values]}
        return JSONResponse([
            {"id": q.id, "questionId": q.question_id, "name": q.name, "type": q.type, "locale": locale,
             "label": q.label, "htmlFieldType": q.html_field_type, "content": content}
            for locale in ("en-GB", "en-US")
        ])

    # -- supporters ----------------------------------------------------------------------
    async def _supporter(self, request: Request) -> Response:
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
                rec, bool_param(request, "includeQuestions"), bool_param(request, "includeMemberships")))
        parsed = await supporter_write(state, request)
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
            rec.api_created = True
        else:
            state.apply_fields(rec, {k: v for k, v in fields.items() if k != "Email Address"})
        state.apply_questions(rec, answers)
        return JSONResponse({"id": rec.supporter_id})

    async def _supporter_by_id(self, request: Request) -> Response:
        """GET (204 when not found), PUT (partial update, email included) and DELETE."""
        state = self.state
        text = request.path_params["sid"]
        rec = state.records.get(int(text)) if text.isdigit() else None
        if request.method == "GET":
            if rec is None:
                return Response(status_code=204)
            return JSONResponse(state.supporter_body(
                rec, bool_param(request, "includeQuestions"), bool_param(request, "includeMemberships")))
        if rec is None:
            return error(404, f"Unable to find a supporter with supporterId {text}", 10000020)
        if request.method == "DELETE":
            state.delete(rec.supporter_id)
            return JSONResponse({"id": rec.supporter_id})
        parsed = await supporter_write(state, request)
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

    async def _transactions(self, request: Request) -> Response:
        text = request.path_params["sid"]
        rec = self.state.records.get(int(text)) if text.isdigit() else None
        if rec is None:
            return Response(status_code=204)
        return JSONResponse([self.state.transaction_view(t) for t in self.state.transactions(rec)])

    async def _recurring(self, request: Request) -> Response:
        """GET /supporter/{id}/transactions/recurring: the schedules (shape from a published live answer)."""
        text = request.path_params["sid"]
        rec = self.state.records.get(int(text)) if text.isdigit() else None
        if rec is None:
            return Response(status_code=204)
        return JSONResponse(self.state.recurring(rec))

    async def _bulk(self, request: Request) -> Response:
        """PUT /supporter/bulk: set ``suppressed`` for up to 200 supporters by email; the number affected (spec)."""
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return error(400, "The request body is not valid JSON", 10000011)
        if not isinstance(body, dict) or body.get("field") != "suppressed" or body.get("value") not in ("Y", "N"):
            return error(400, "Only the field 'suppressed' can be updated, with the value Y or N", 10000011)
        emails = body.get("campaigners")
        if not isinstance(emails, list) or not 1 <= len(emails) <= 200 or \
                not all(isinstance(e, str) for e in emails):
            return error(400, "campaigners must list 1 to 200 email addresses", 10000011)
        affected = 0
        for email in emails:
            rec = self.state.find_email(email)
            if rec is None:
                continue
            value = body["value"] == "Y"
            self.state.bulk_suppressions[(email.strip().lower(), body["value"])] += 1
            if rec.suppressed != value:
                rec.suppressed = value
                rec.suppressed_on = self.state.now.replace(microsecond=0) if value else None
                rec.modified = self.state.now.replace(microsecond=0)
            affected += 1
        return JSONResponse(affected)

    async def _query(self, request: Request) -> Response:
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
                name = state.account.canonical(prop.strip(), standard=True)
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
        data = [self._query_row(r, group) for r in page]  # rows as the account names its fields
        return JSONResponse({"pagination": {"start": start, "rows": rows, "total": len(matched)},
                             "data": data, "scores": [], "summary": {}})

    def _query_row(self, rec: SupporterRecord, group: str | None) -> dict[str, Any]:
        """A query row: ``emailAddress``, ``supporterId`` and the dates; with an export group, the group's
        fields by the account's names plus ``supporterId`` and ``createdOn`` only (the vendor's demo)."""
        if group is None:
            return {"emailAddress": rec.email, "supporterId": rec.supporter_id,
                    "modifiedOn": rec.modified.date().isoformat(), "createdOn": rec.created.date().isoformat()}
        shown = self.state.account.display
        row: dict[str, Any] = {shown(name): rec.fields.get(name, "") for name in EXPORT_GROUPS[group]}
        row.update({"supporterId": rec.supporter_id, "createdOn": rec.created.date().isoformat()})
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
            body["template"] = "Campaign Template 2024"  # observed on a live account; not in the v6 spec
        return body

    async def _list_pages(self, request: Request) -> Response:
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

    async def _page(self, request: Request) -> Response:
        text = request.path_params["pid"]
        page = self.state.pages.get(int(text)) if text.isdigit() else None
        if page is None:
            return error(404, f"Unable to find an page with pageId {text}", 353979450)
        return JSONResponse(self._page_body(page, True))

    async def _process(self, request: Request) -> Response:
        """POST /page/{id}/process: updates the supporter, their opt-ins and transactions.

        Failures a supporter could cause (a declined card, a missing message) answer 200
        with ``status: ERROR`` and five keys (recorded); malformed requests answer 400. A
        ``demo: true`` submission is recorded like a live one (supporter and transaction: a
        recorded demo answer carries a real supporter id for a new address) but no money moves:
        a donation answers ``paymentType`` "TEST: <type>" (recorded).
        """
        state = self.state
        text = request.path_params["pid"]
        page = state.pages.get(int(text)) if text.isdigit() else None
        if page is None:
            return error(404, f"Unable to find an page with pageId {text}", 353979450)
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("supporter"), dict):
            return error(400, "The request must contain a supporter object", 10000040)
        standard = bool(body.get("standardFieldNames"))
        demo = bool(body.get("demo"))
        fields, unknown = state.parse_fields(body["supporter"], standard=standard)
        answers, bad_questions = state.parse_questions(body["supporter"].get("questions"))
        if unknown or bad_questions:
            return not_present(unknown + bad_questions)
        state.processed.append({"pageId": page.id, "body": body, "at": state.now_ms()})
        email = fields.get("Email Address", "").strip()
        existing = state.find_email(email) if email else None

        def failed(message: str) -> JSONResponse:
            return JSONResponse({"error": message, "supporterId": existing.supporter_id if existing else 0,
                                 "supporterEmailAddress": email, "status": "ERROR",
                                 "id": 1_272_000_000 + len(state.processed)})

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
            payment_type = f"TEST: {payment_type}"
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
        tx["createdDate"] = state.clock.created_ms(int(tx["createdDate"]))
        state.transactions(rec).append(tx)
        if page.sub_type == "MEMBERSHIP":
            state.memberships(rec).append(state._membership(rec, tx))
        rec.modified = state.now.replace(microsecond=0)
        return JSONResponse(self._process_result(page, rec.supporter_id, rec.email, tx_id, amount,
                                                 recurring, currency, payment_type))

    def _process_result(self, page: Page, sid: int, email: str, tx_id: int, amount: float | None,
                        recurring: bool, currency: str, payment_type: str) -> dict[str, Any]:
        result: dict[str, Any] = {"createdOn": self.state.now_ms()}
        if page.type == "nd" and amount is not None:
            result.update({
                "amount": amount, "paymentType": payment_type, "recurringPayment": recurring, "error": "",
                "transactionId": f"ND{sid}T{tx_id}{page.campaign_id}",
            })
        result.update({"supporterEmailAddress": email, "supporterId": sid, "id": tx_id})
        if page.type == "nd" and amount is not None:
            result.update({"type": "CREDIT_RECURRING" if recurring else "CREDIT_SINGLE", "currency": currency})
        result["status"] = "SUCCESS"
        if page.type == "nd" and amount is not None and recurring:
            result.update({"recurringFrequency": "MONTHLY", "recurringDay": self.state.now.day})
        if page.type == "nd" and amount is not None and self.state.variant.process_amount == "text":
            result["amount"] = f"{amount:.2f} {currency}"
        return result

    # -- export jobs ---------------------------------------------------------------------
    async def _export_create(self, request: Request) -> Response:
        state = self.state
        body = await json_body(request)
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
        job = state.jobs[job_id] = {"query": query, "group": group, "createdOn": created,
                                    "ready_at": state.clock.elapsed() + state.export_delay,
                                    "format": body.get("format", "User data")}
        # the file holds the account as it is now (as a real job's holds it when the job ran); it is made
        # meanwhile, off the loop that serves the other requests
        job["file"] = in_background(start_export(state, job), name="enstoolkit-sandbox-export")
        return JSONResponse({"id": job_id, "createdOn": created, "status": "pending"})

    def _job(self, request: Request) -> tuple[int, dict[str, Any] | None]:
        text = request.path_params["jid"]
        job_id = int(text) if text.isdigit() else -1
        return job_id, self.state.jobs.get(job_id)

    async def _export_status(self, request: Request) -> Response:
        job_id, job = self._job(request)
        if job is None:
            return error(404, f"Export job {job_id} does not exist", 10000055)
        if self.state.clock.elapsed() < job["ready_at"]:
            return JSONResponse({"createdOn": job["createdOn"], "status": "pending"})
        return JSONResponse({"completedOn": job["createdOn"] + 2000, "createdOn": job["createdOn"],
                             "url": f"/ens/service/exportjob/{job_id}/download", "status": "completed"})

    async def _export_download(self, request: Request) -> Response:
        job_id, job = self._job(request)
        if job is None:
            return error(404, f"Export job {job_id} does not exist", 10000055)
        if self.state.clock.elapsed() < job["ready_at"]:
            return error(400, f"Export job {job_id} has not completed", 10000056)
        return Response(await asyncio.wrap_future(job["file"]), media_type="text/csv")



def _in_profile(profile_id: int, rec: SupporterRecord) -> bool:
    if profile_id == 333:
        return rec.fields.get("Country") == "GB"
    if profile_id == 334:
        return rec.questions.get(4512, ("", 0))[0] == "Y"
    return rec.suppressed


