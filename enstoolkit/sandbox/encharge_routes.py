"""The Encharge half of the sandbox, its routes under ``/v1``, and webhook delivery to loopback URLs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..inputs.arguments import is_loopback
from ._json import JSONResponse
from .encharge_state import (
    READ_ONLY_FIELDS,
    EnchargeState,
    encharge_error,
    iso,
    parse_people_query,
    split_tags,
)
from .paging import Orders
from .validate import accepts_email

__all__ = ["EnchargeApp", "cannot_route"]

#: Every method Express answers "Cannot <METHOD> <path>" for when no route matches.
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def cannot_route(method: str, path: str) -> HTMLResponse:
    """Express's default answer for a route it does not have (404, HTML, no JSON): as Encharge answers
    an unknown path (segevsh/w6w-apps ``tests/``: ``<pre>Cannot GET /v1/x</pre>``).
    """
    from html import escape

    page = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n'
            f"<body>\n<pre>Cannot {escape(method)} {escape(path)}</pre>\n</body>\n</html>\n")
    return HTMLResponse(page, status_code=404, headers={"Content-Security-Policy": "default-src 'none'",
                                                        "X-Content-Type-Options": "nosniff"})


class EnchargeApp:
    """Starlette routes emulating Encharge over an :class:`EnchargeState`."""

    def __init__(self, state: EnchargeState | Future[EnchargeState]) -> None:
        self._state = state  # or the account still being generated: requests wait for it without blocking
        self.orders = Orders()  # the sorted people that pages are sliced from, dropped by any write

    @property
    def state(self) -> EnchargeState:
        """The account (once generated)."""
        return self._state.result() if isinstance(self._state, Future) else self._state

    def routes(self) -> list[Route]:
        """The routes, relative to ``/v1``."""
        g = self._guard
        return [
            Route("/people", g(self._people), methods=["GET", "POST", "DELETE"]),
            Route("/people/all", g(self._people_all), methods=["GET"]),
            Route("/people/unsubscribe", g(self._unsubscribe), methods=["POST"]),
            Route("/tags", g(self._tag), methods=["POST", "DELETE"]),
            Route("/tags-management", g(self._tags_management), methods=["GET"]),
            Route("/fields", g(self._fields), methods=["GET"]),
            Route("/segments", g(self._segments), methods=["GET"]),
            Route("/segments/{sid}/people", g(self._segment_people), methods=["GET"]),
            Route("/accounts/info", g(self._account), methods=["GET"]),
            Route("/event-subscriptions", g(self._subscriptions), methods=["GET", "POST"]),
            Route("/event-subscriptions/{hid}", g(self._delete_subscription), methods=["DELETE"]),
            Route("/{rest:path}", self._unknown_route, methods=_ANY_METHOD),  # last: nothing else matched
        ]

    async def _unknown_route(self, request: Request) -> Response:
        """Any other path or method: Express's HTML page, before any authentication (as Encharge answers)."""
        return cannot_route(request.method, request.url.path)

    def _guard(self, handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            if isinstance(self._state, Future) and not self._state.done():
                await asyncio.wrap_future(self._state)  # the account is still being generated
            token = request.headers.get("x-encharge-token") or request.query_params.get("token")
            # The published messages (segevsh/w6w-apps, probed on the live API): no token, and a key
            # that is not Encharge's (the sandbox does not tell a malformed key from a wrong one).
            if not token:
                return encharge_error(401, "User not logged in: Unauthorized request: no authentication given")
            if token != self.state.api_key:
                return encharge_error(401, "Token without payload (should be JWT token).", 10082)
            with self.state.lock:
                if request.method != "GET":
                    self.orders.written()  # a write: the kept orders are stale
                response: Response = await handler(request)
                return response

        return guarded

    # -- events -------------------------------------------------------------------------
    def _emit(self, event_type: str, person: Mapping[str, Any], payload: Mapping[str, Any] | None = None, *,
             shown: Mapping[str, Any] | None = None) -> None:
        """Queue a webhook for every subscription to ``event_type``.

        The body is shaped as published (Pipedream's captured bodies): ``{eventType,
        eventPayload, endUserData: [person]}``; a removed-tag event names the person by id
        only; ``shown`` is the person as the body shows them (an update's body holds the
        values from before the change, with the new ones in ``changedFields``).
        """
        state = self.state
        if event_type.startswith("removed-tag-"):
            who: dict[str, Any] = {"id": person["id"]}
        else:
            who = dict(shown) if shown is not None else state.public(person)
        body = {"eventType": event_type, "eventPayload": dict(payload or {}), "endUserData": [who]}
        for sub in state.subscriptions.values():
            if sub["eventType"] == event_type:
                task = asyncio.get_running_loop().create_task(self._deliver(sub, body))
                state._tasks.add(task)
                task.add_done_callback(state._tasks.discard)

    async def _deliver(self, sub: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        delivery_id = str(uuid.uuid4())
        content = json.dumps(body).encode()
        headers = {"Content-Type": "application/json",  # Encharge sends no delivery id and no signature
                   "User-Agent": "enstoolkit-sandbox-webhooks"}
        delay = 0.1
        async with httpx.AsyncClient(timeout=5.0) as client:
            for attempt in range(1, self.state.webhook_retries + 1):
                record = {"subscription": sub["id"], "eventType": body["eventType"], "delivery": delivery_id,
                          "attempt": attempt, "status": None, "error": None}
                try:
                    response = await client.post(sub["url"], content=content, headers=headers)
                    record["status"] = response.status_code
                except httpx.HTTPError as exc:
                    record["error"] = type(exc).__name__
                self.state.deliveries.append(record)
                if record["status"] is not None and 200 <= record["status"] < 300:
                    return
                await asyncio.sleep(delay)
                delay *= 3

    def _changed(self, person: dict[str, Any], updates: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        changed: dict[str, dict[str, Any]] = {}
        for key, value in updates.items():
            if key in READ_ONLY_FIELDS or key in ("tags", "archived"):
                continue
            if person.get(key) != value:
                changed[key] = {"newValue": value, "oldValue": person.get(key)}
                person[key] = value
        if "firstName" in changed or "lastName" in changed:
            name = f"{person.get('firstName') or ''} {person.get('lastName') or ''}".strip()
            if name != person.get("name"):
                changed["name"] = {"newValue": name, "oldValue": person.get("name")}
                person["name"] = name
        return changed

    def _add_tags(self, person: dict[str, Any], tags: list[str]) -> list[str]:
        added = []
        for tag in tags:
            if tag not in person["tags"]:
                person["tags"].append(tag)
                self.state._register_tag(tag, self.state.sandbox_clock.now_ms())
                added.append(tag)
        return added

    # -- people -------------------------------------------------------------------------
    async def _people(self, request: Request) -> Response:
        if request.method == "GET":
            return self._get_people(request)
        if request.method == "DELETE":
            return self._delete_people(request)
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return encharge_error(400, "Request body is not valid JSON.")
        single = isinstance(body, dict)
        items = [body] if single else body
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            return encharge_error(400, "Body must be a person object or a non-empty array of people.")
        problems = []
        for n, item in enumerate(items):
            if not any(item.get(k) for k in ("id", "userId", "email")):
                problems.append(f"person {n}: at least one of id/userId/email must be specified")
            elif item.get("email") is not None and not accepts_email(str(item["email"]).strip()):
                problems.append(f"person {n}: invalid email {item['email']!r}")
            elif item.get("id") and self.state.find({"id": item["id"]}) is None:
                problems.append(f"person {n}: no person with id {item['id']}")
        if problems:
            return encharge_error(400, "; ".join(problems))
        out = []
        for item in items:
            out.append(self.state.public(self._upsert(item)))
        return JSONResponse({"user": out[0]} if single else {"users": out})

    def _upsert(self, item: Mapping[str, Any]) -> dict[str, Any]:
        state = self.state
        state.upserts[str(item.get("id") or item.get("userId") or str(item.get("email", "")).strip().lower())] += 1
        person = state.find(item)
        when = state.clock()
        updates = {k: v for k, v in item.items() if k not in ("id", "tags", "archived", "statusSet", "data")}
        for group in (item.get("data"), item.get("additionalFields")):  # custom fields sent nested
            if isinstance(group, Mapping):
                for key, value in group.items():
                    if not isinstance(value, Mapping):
                        updates.setdefault(key, value)
        updates.pop("additionalFields", None)
        if "email" in updates:
            updates["email"] = str(updates["email"]).strip().lower()
        if "lastActivity" in updates:
            updates.pop("lastActivity")
        if person is None:
            email = updates.get("email", "")
            person = state._new_person(str(uuid.uuid4()), email, None, "", "", when, [], unsubscribed=False,
                                       lead_score=0, country="", city="")
            person["email"] = email or None
            self._changed(person, updates)
            person["statusSet"] = "unsubscribed" in updates
            person["name"] = person.get("name") or f"{person['firstName']} {person['lastName']}".strip()
            self._add_tags(person, split_tags(item.get("tags")))
            state._index(person)
            state.created[str(person.get("email") or "").lower()] += 1
            self._emit("newUser", person)
            for tag in person["tags"]:
                self._emit(f"added-tag-{tag}", person, {"tag": tag})
            return person
        was_unsubscribed = person["unsubscribed"]
        old_email = person.get("email")
        before = state.public(person)
        person["archived"] = False
        changed = self._changed(person, updates)
        if "unsubscribed" in updates:
            person["statusSet"] = True
        if "email" in changed and old_email:
            state.by_email.pop(old_email.lower(), None)
        added = self._add_tags(person, split_tags(item.get("tags")))
        if changed or added:
            person["updatedAt"] = when
            state._index(person)
        if changed:  # the body shows the person as they were, with the new updatedAt (as published)
            self._emit("updatedUser", person, {"changedFields": changed, "source": "api"},
                      shown={**before, "updatedAt": iso(person["updatedAt"])})
        if person["unsubscribed"] and not was_unsubscribed:
            self._emit("unsubscribedUser", person)
        if was_unsubscribed and not person["unsubscribed"]:
            state.resubscribes[str(person.get("email") or "").lower()] += 1
        for tag in added:
            self._emit(f"added-tag-{tag}", person, {"tag": tag})
        return person

    def _get_people(self, request: Request) -> Response:
        idents = parse_people_query(request.query_params.multi_items())
        if not idents:
            return encharge_error(400, "Query parameter 'people' is required, e.g. ?people[0][email]=...")
        include_archived = request.query_params.get("includeArchived", "false").lower() == "true"
        attributes = [a for a in request.query_params.get("attributes", "").split(",") if a]
        if self.state.variant.lookup_cap != "none":  # a silent cap: the rest are left out, without a word
            idents = idents[:int(self.state.variant.lookup_cap)]
        users = []
        seen = set()
        for ident in idents:
            person = self.state.find(ident, archived=include_archived)
            if person is not None and person["id"] not in seen:
                seen.add(person["id"])
                users.append(self.state.public(person, attributes or None))
        return JSONResponse({"users": users})

    def _delete_people(self, request: Request) -> Response:
        state = self.state
        idents = parse_people_query(request.query_params.multi_items())
        if not idents:
            return encharge_error(400, "Query parameter 'people' is required, e.g. ?people[0][email]=...")
        force = request.query_params.get("force", "false").lower() == "true"
        found = [p for p in (state.find(i) for i in idents) if p is not None]
        if not found:
            return encharge_error(404, "No matching people found.")
        for person in found:
            if force:
                state.people.pop(person["id"], None)
                state.forget(person)  # a twin holding the address in another case keeps it
                state.erased.append({"id": person["id"], "email": person.get("email"),
                                     "userId": person.get("userId")})
            else:
                person["archived"] = True
        return Response(status_code=204)

    def _page(self, request: Request, source: str, select: Callable[[dict[str, Any]], bool]) -> Response:
        """One page of the (unarchived) people ``select`` keeps, sliced from a kept order."""
        q = request.query_params
        try:
            limit = int(float(q.get("limit", "100")))
            offset = int(float(q.get("offset", "0")))
        except ValueError:
            return encharge_error(400, "limit and offset must be numbers.")
        if not 1 <= limit <= 1000 or offset < 0:
            return encharge_error(400, "limit must be 1 to 1000 and offset at least 0.")
        sort = q.get("sort") or "createdAt"
        reverse = q.get("order", "asc").lower() == "desc"
        named = q.get("ignoreAnonymous", "false").lower() == "true"

        def build() -> list[dict[str, Any]]:
            people = [p for p in self.state.people.values()
                      if not p["archived"] and (p.get("email") or not named) and select(p)]
            people.sort(key=lambda p: (str(p.get(sort) if p.get(sort) is not None else ""), p["id"]),
                        reverse=reverse)
            return people

        # kept between requests: every page is a slice, at any offset (len() catches direct inserts in tests)
        people = self.orders.get((source, sort, reverse, named, len(self.state.people)), build)
        attributes = [a for a in q.getlist("attributes") for a in a.split(",") if a]
        page = people[offset:offset + limit]
        return JSONResponse({"people": [self.state.public(p, attributes or None) for p in page]})

    async def _people_all(self, request: Request) -> Response:
        return self._page(request, "all", lambda p: True)

    async def _unsubscribe(self, request: Request) -> Response:
        q = request.query_params
        ident = {k: q.get(k) for k in ("id", "userId", "email") if q.get(k)}
        if not ident:
            return encharge_error(400, "At least one of id/userId/email must be specified.")
        person = self.state.find(ident, archived=False)
        if person is None:
            return encharge_error(404, "Person not found.")
        self.state.unsubscribes[person["id"]] += 1
        if not person["unsubscribed"]:
            person["unsubscribed"] = True
            person["statusSet"] = True
            person["updatedAt"] = self.state.clock()
            self._emit("unsubscribedUser", person)
        return Response(status_code=204)

    async def _tag(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return encharge_error(400, "Request body is not valid JSON.")
        if not isinstance(body, dict):
            return encharge_error(400, "Body must be an object with 'tag' and one of id/userId/email.")
        tags = split_tags(body.get("tag"))
        if not tags:
            return encharge_error(400, "'tag' is required: one tag or a comma-separated list.")
        if not any(body.get(k) for k in ("id", "userId", "email")):
            return encharge_error(400, "At least one of id/userId/email must be specified.")
        person = self.state.find(body, archived=False)
        if person is None:
            return encharge_error(404, "Person not found.")
        for tag in tags:
            self.state.tag_requests[(person["id"], tag, request.method)] += 1
        if request.method == "POST":
            for tag in self._add_tags(person, tags):
                person["updatedAt"] = self.state.clock()
                self._emit(f"added-tag-{tag}", person, {"tag": tag})
            return Response(status_code=201)
        for tag in tags:
            if tag in person["tags"]:
                person["tags"].remove(tag)
                person["updatedAt"] = self.state.clock()
                self._emit(f"removed-tag-{tag}", person, {"tag": tag})
        return Response(status_code=204)

    async def _tags_management(self, request: Request) -> Response:
        counts = self.state.tag_counts()
        return JSONResponse({"tags": [{**t, "count": counts.get(name, 0)}
                                      for name, t in sorted(self.state.tags.items())]})

    async def _fields(self, request: Request) -> Response:
        def field(name: str, title: str, type_: str, **extra: Any) -> dict[str, Any]:
            return {"name": name, "title": title, "type": type_, "readOnly": name in READ_ONLY_FIELDS,
                    "firstClassField": True, **extra}

        items = [
            field("email", "Email", "string", displayType="email"),
            field("firstName", "First Name", "string"), field("lastName", "Last Name", "string"),
            field("name", "Full Name", "string"), field("userId", "User ID", "string"),
            field("leadScore", "Lead Score", "number"), field("unsubscribed", "Unsubscribed", "boolean"),
            field("createdAt", "Date created", "string", format="date-time"),
            field("updatedAt", "Updated At", "string", format="date-time"),
            field("lastActivity", "Last activity", "string", format="date-time"),
            field("validationResult", "Email Validation Result", "string",
                  enum=["valid", "invalid", "risky", "unknown"]),
            field("validationConfidence", "Email Validation Confidence", "number"),
            field("isEmailDisposable", "Disposable Email", "boolean"),
            field("isEmailRole", "Role Email", "boolean"),
            field("country", "Country", "string"), field("city", "City", "string"),
            field("phone", "Phone", "string", displayType="phone"), field("company", "Company", "string"),
        ]
        return JSONResponse({"items": items})

    SEGMENTS: tuple[tuple[int, str, dict[str, Any]], ...] = (
        (101, "Donors", {"type": "tag", "value": "donor", "condition": "has"}),
        (102, "Newsletter subscribers", {"type": "tag", "value": "newsletter", "condition": "has"}),
        (103, "UK supporters", {"type": "field", "field": "country", "condition": "is", "value": "GB"}),
        # Every account has this pre-made segment (help.encharge.io/article/122-unsubscribed-people).
        (104, "Unsubscribed", {"type": "field", "field": "unsubscribed", "condition": "is", "value": True}),
    )

    async def _segments(self, request: Request) -> Response:
        return JSONResponse({"segments": [
            {"version": 2, "id": sid, "name": name, "objectName": "people",
             "conditions": {"type": "group", "operator": "and", "conditions": [cond]},
             "accountId": self.state.account_id, "readOnly": False, "autoSegment": False, "color": "#2E86DE",
             "templateId": ""}
            for sid, name, cond in self.SEGMENTS
        ]})

    async def _segment_people(self, request: Request) -> Response:
        text = request.path_params["sid"]
        segment = next((s for s in self.SEGMENTS if str(s[0]) == text), None)
        if segment is None:
            return encharge_error(404, f"Segment {text} not found.")
        cond = segment[2]

        def matches(p: dict[str, Any]) -> bool:
            if cond["type"] == "tag":
                return bool(cond["value"] in p["tags"])
            return bool(p.get(cond["field"]) == cond["value"])

        return self._page(request, f"segment {segment[0]}", matches)

    async def _account(self, request: Request) -> Response:
        count = sum(1 for p in self.state.people.values() if not p["archived"])
        return JSONResponse({"peopleCount": count, "status": "active", "timezone": "Europe/London",
                             "services": {}, "activeServices": ["email"], "site": "https://www.example.org",
                             "name": "Sandbox Charity", "accountId": self.state.account_id})

    # -- event subscriptions --------------------------------------------------------------
    async def _subscriptions(self, request: Request) -> Response:
        state = self.state
        if request.method == "GET":  # not in Encharge's published spec; the sandbox lists them
            return JSONResponse({"subscriptions": sorted(state.subscriptions.values(), key=lambda s: s["id"])})
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return encharge_error(400, "Request body is not valid JSON.")
        if not isinstance(body, dict) or not body.get("eventType") or not body.get("url"):
            return encharge_error(400, "'eventType' and 'url' are required.")
        url = str(body["url"])
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not is_loopback(parts.hostname or ""):
            return encharge_error(400, f"The sandbox delivers webhooks to loopback URLs only "
                                       f"(127.0.0.1, ::1, localhost); got {url!r}.")
        state.next_subscription_id += 1
        sid = state.next_subscription_id
        state.subscriptions[sid] = {"id": sid, "eventType": str(body["eventType"]), "url": url,
                                    "eventName": body.get("eventName")}
        return JSONResponse({"subscription": {"id": sid}}, status_code=201)

    async def _delete_subscription(self, request: Request) -> Response:
        text = request.path_params["hid"]
        if not text.isdigit() or int(text) not in self.state.subscriptions:
            return encharge_error(404, f"Event subscription {text} not found.")
        del self.state.subscriptions[int(text)]
        return Response(status_code=204)
