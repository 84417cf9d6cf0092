"""The Encharge half of the sandbox, its state: people, tags, subscriptions and deliveries.

People overlap the ENS supporters realistically: most share an email (and carry the
ENS supporter id as ``userId``), some exist in one system only, and consent disagrees
for a few (unsubscribed here but opted in in ENS, and the reverse).

How a person record looks follows the account's :class:`~enstoolkit.sandbox.variants.Variant`
(see :meth:`EnchargeState.public`): whether it carries ``unsubscribed`` (on everyone, only
once set, or never: the published records carry none), ``userId``, an empty ``tags`` key,
and whether custom fields sit at the top level or under ``data``. The state underneath is
the same in every variant: a person unsubscribed is unsubscribed, shown or not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ._json import JSONResponse
from .ens_state import ENSState
from .validate import accepts_email
from .variants import Variant

__all__ = ["ACCOUNT_ID", "READ_ONLY_FIELDS", "STANDARD_FIELDS", "EnchargeState", "Seedlings", "api_key_for",
           "encharge_error", "error_body", "iso", "parse_people_query", "seedlings_of", "split_tags"]

ACCOUNT_ID = 48213
TAG_COLORS = ("#2E86DE", "#10AC84", "#EE5253", "#F368E0", "#FF9F43", "#5F27CD", "#01A3A4", "#8395A7")
SOURCE_TAGS = {
    100: ["newsletter"], 101: ["newsletter", "volunteer"], 102: ["newsletter"], 110: ["petition-rivers"],
    111: ["petition-bees"], 112: ["petition-clean-air"], 130: ["donor"], 131: ["donor", "regular-giver"],
    140: ["member"],
}
WRITABLE_FIELDS = ("email", "userId", "firstName", "lastName", "name", "leadScore", "unsubscribed",
                   "country", "city", "phone", "company", "lastActivity")
READ_ONLY_FIELDS = frozenset({"id", "createdAt", "updatedAt", "validationResult", "validationConfidence",
                              "isEmailDisposable", "isEmailRole"})
#: Encharge's own person fields; anything else is a custom field (under ``data`` in some variants).
STANDARD_FIELDS = frozenset({"id", "email", "userId", "firstName", "lastName", "name", "createdAt", "updatedAt",
                             "lastActivity", "leadScore", "tags", "unsubscribed", "validationResult",
                             "validationConfidence", "isEmailDisposable", "isEmailRole", "title",
                             "CommunicationCategories"})
_DATES = ("createdAt", "updatedAt", "lastActivity")
#: Person keys the sandbox keeps for itself and never shows.
_INTERNAL = ("archived", "statusSet")
_PEOPLE_KEY = re.compile(r"^people\[(\d+)\]\[(\w+)\]$")
_FIRST = ("Alex", "Sam", "Jordan", "Robin", "Casey", "Morgan", "Jamie", "Taylor", "Charlie", "Riley")
_LAST = ("Fox", "Reed", "Hart", "Lane", "Stone", "Wells", "Park", "Shaw", "Cole", "Ford")


def iso(ms: int) -> str:
    """Epoch milliseconds as Encharge writes dates: ``2025-11-20T19:05:09.385Z``."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00"


def error_body(message: str, code: int | None = None) -> dict[str, Any]:
    """Encharge's error envelope, as observed on the wire (segevsh/w6w-apps ``tests/_helpers.ts``):
    ``{"error": {"message", "errorCode"?, "markdown", "traceId"?}}``.
    """
    body: dict[str, Any] = {"message": message}
    if code is not None:
        body["errorCode"] = code
    body["markdown"] = f"<p>{message}</p>"
    body["traceId"] = str(uuid.uuid4())
    return {"error": body}


def encharge_error(status: int, message: str, code: int | None = None) -> JSONResponse:
    """Encharge's error envelope (:func:`error_body`) as a response."""
    return JSONResponse(error_body(message, code), status_code=status)


def api_key_for(seed: int) -> str:
    """The demo API key of the account generated from ``seed`` (known before the account is made)."""
    return _key(random.Random(f"encharge-{seed}"))


def _key(rng: random.Random) -> str:
    """The demo API key: the account's stream's first draw."""
    return "enc_" + uuid.UUID(int=rng.getrandbits(128), version=4).hex


class Seedlings(NamedTuple):
    """What the Encharge account is generated from, taken from the ENS account at one moment.

    ``supporters`` holds, per supporter in id order, ``(id, email, marketing opt-in answer, source page,
    created (epoch ms), first name, last name, country, city)``; ``cross`` the people who are a
    supporter under another email (the labelled duplicates).
    """

    supporters: list[tuple[int, str, str, int, int, str, str, str, str]]
    cross: list[dict[str, Any]]


def seedlings_of(ens: ENSState) -> Seedlings:
    """The :class:`Seedlings` of the ENS account as it is now."""
    supporters = []
    for sid in sorted(ens.records):
        rec = ens.records[sid]
        fields = rec.fields
        supporters.append((sid, rec.email, rec.questions.get(4512, ("", 0))[0], rec.source_page,
                           int(rec.created.timestamp() * 1000), fields.get("First Name", ""),
                           fields.get("Last Name", ""), fields.get("Country", ""), fields.get("City", "")))
    return Seedlings(supporters, [dict(c) for c in (ens.duplicate_truth.encharge if ens.duplicate_truth else ())])


class EnchargeState:
    """The emulated Encharge account."""

    def __init__(self, ens: ENSState, seed: int, *, webhook_retries: int = 4, variant: Variant | None = None,
                 seedlings: Seedlings | None = None) -> None:
        """The account generated from ``ens`` as it is (or as ``seedlings``, taken from it earlier, saw it)."""
        self.variant = variant or ens.variant
        self.sandbox_clock = ens.clock
        self.start_ms = int(ens.clock.start.timestamp() * 1000)  # the account is generated as of the start
        self._last_write = 0
        self.lock = threading.RLock()
        self.webhook_retries = webhook_retries
        rng = random.Random(f"encharge-{seed}")
        self.api_key = _key(rng)  # api_key_for(seed)
        self.account_id = ACCOUNT_ID + abs(seed) % 1_000_000  # another seed is another account
        self.people: dict[str, dict[str, Any]] = {}
        self.by_email: dict[str, str] = {}
        self.by_user_id: dict[str, str] = {}
        self.tags: dict[str, dict[str, Any]] = {}
        self.erased: list[dict[str, Any]] = []  # forced deletions, for tests and audits
        self.subscriptions: dict[int, dict[str, Any]] = {}
        self.next_subscription_id = 700
        self.deliveries: list[dict[str, Any]] = []  # webhook delivery attempts
        # What the emulated account acted on, for tests that compare it with the intent:
        self.tag_requests: Counter[tuple[str, str, str]] = Counter()  # (person id, tag, method) acted on
        self.upserts: Counter[str] = Counter()  # people upserted (POST /people items), per id/userId/email
        self.created: Counter[str] = Counter()  # people created, per lowercased email
        self.unsubscribes: Counter[str] = Counter()  # POST /people/unsubscribe acted on, per person id
        self.resubscribes: Counter[str] = Counter()  # people whose unsubscribed went true -> false, per email
        self._tasks: set[asyncio.Task[None]] = set()
        self._seed(seedlings if seedlings is not None else seedlings_of(ens), rng)

    # -- seeding ------------------------------------------------------------------------
    def _uuid(self, rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _seed(self, seedlings: Seedlings, rng: random.Random) -> None:
        for tag in ("newsletter", "volunteer", "petition-rivers", "petition-bees", "petition-clean-air",
                    "donor", "regular-giver", "member", "vip", "event-2026"):
            self._register_tag(tag, self.start_ms - rng.randint(200, 900) * 86_400_000)
        seen: set[str] = set()
        for sid, email, optin, source_page, created_ms, first, last, country, city in seedlings.supporters:
            email = email.strip().lower()
            if not accepts_email(email) or email in seen:
                continue
            seen.add(email)
            if rng.random() >= 0.88:
                continue  # in ENS only
            unsub_p = 0.05 if optin == "Y" else (0.88 if optin == "N" else 0.3)
            tags = list(SOURCE_TAGS.get(source_page, []))
            if rng.random() < 0.03:
                tags.append("vip")
            if rng.random() < 0.08:
                tags.append("event-2026")
            created = created_ms + rng.randint(1_000, 600_000)
            person = self._new_person(
                self._uuid(rng), email, str(sid) if self.variant.user_id else None, first, last, created, tags,
                unsubscribed=rng.random() < unsub_p, lead_score=rng.randint(0, 100), country=country, city=city,
            )
            person["archived"] = rng.random() < 0.015
            self._index(person)
        for cross in seedlings.cross:  # a supporter under another email
            person = self._new_person(self._uuid(rng), cross["email"], None, cross["firstName"], cross["lastName"],
                                      self.start_ms - rng.randint(1, 400) * 86_400_000, ["newsletter"],
                                      unsubscribed=rng.random() < 0.2, lead_score=rng.randint(0, 60),
                                      country=cross["country"], city=cross["city"])
            person["phone"] = cross["phone"]
            self._index(person)
        extra = max(1, len(seedlings.supporters) // 20)  # in Encharge only
        for i in range(extra):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            email = f"{first}.{last}{i}@example.net".lower()
            created = self.start_ms - rng.randint(1, 900) * 86_400_000
            person = self._new_person(self._uuid(rng), email, None, first, last, created,
                                      [rng.choice(("newsletter", "event-2026"))],
                                      unsubscribed=rng.random() < 0.2, lead_score=rng.randint(0, 60),
                                      country=rng.choice(("GB", "US", "IE")), city="")
            self._index(person)

    def _new_person(self, pid: str, email: str, user_id: str | None, first: str, last: str, created: int,
                    tags: list[str], *, unsubscribed: bool, lead_score: float, country: str, city: str
                    ) -> dict[str, Any]:
        role = email.split("@")[0] in ("info", "admin", "office", "contact")
        return {
            "id": pid, "email": email, "userId": user_id, "firstName": first, "lastName": last,
            "name": f"{first} {last}".strip(), "createdAt": created, "updatedAt": created,
            "lastActivity": created, "leadScore": lead_score, "tags": tags, "unsubscribed": unsubscribed,
            "validationResult": "valid", "validationConfidence": 95, "isEmailDisposable": False,
            "isEmailRole": role, "country": country, "city": city, "phone": "", "company": "",
            "archived": False, "statusSet": unsubscribed,
        }

    def _register_tag(self, tag: str, created: int) -> None:
        if tag not in self.tags:
            color = TAG_COLORS[len(self.tags) % len(TAG_COLORS)]
            self.tags[tag] = {"tag": tag, "color": color, "createdAt": iso(created), "description": ""}

    def _index(self, person: dict[str, Any]) -> None:
        self.people[person["id"]] = person
        if person.get("email"):
            self.by_email[person["email"].lower()] = person["id"]
        if person.get("userId"):
            self.by_user_id[str(person["userId"])] = person["id"]

    def add_person(self, email: str, *, first: str = "", last: str = "", user_id: str | None = None,
                   unsubscribed: bool = False, tags: Iterable[str] = ()) -> dict[str, Any]:
        """Put a person into the account with ``email`` exactly as given (its case kept), for tests.

        Encharge can hold two people whose emails differ only in case; the API's upsert finds the
        existing one instead, so a test seeds such a twin here. A lookup by email keeps finding
        whoever held the address first; listing everyone shows both.
        """
        with self.lock:
            when = self.clock()
            person = self._new_person(str(uuid.uuid4()), email, user_id, first, last, when, list(tags),
                                      unsubscribed=unsubscribed, lead_score=0, country="", city="")
            for tag in person["tags"]:
                self._register_tag(tag, when)
            self.people[person["id"]] = person
            self.by_email.setdefault(email.strip().lower(), person["id"])
            if user_id:
                self.by_user_id.setdefault(str(user_id), person["id"])
            return person

    def forget(self, person: Mapping[str, Any]) -> None:
        """Take a person out of the indexes by email and userId (only where they point to this person)."""
        email, user_id = person.get("email"), person.get("userId")
        if email and self.by_email.get(str(email).strip().lower()) == person["id"]:
            del self.by_email[str(email).strip().lower()]
            twin = next((p for p in self.people.values() if p["id"] != person["id"] and p.get("email")
                         and str(p["email"]).strip().lower() == str(email).strip().lower()), None)
            if twin is not None:  # another person holds the address in another case: found by it from now on
                self.by_email[str(email).strip().lower()] = twin["id"]
        if user_id and self.by_user_id.get(str(user_id)) == person["id"]:
            del self.by_user_id[str(user_id)]

    # -- helpers ------------------------------------------------------------------------
    def clock(self) -> int:
        """The sandbox clock in epoch milliseconds, at least one more than the last write's, so writes stay ordered."""
        self._last_write = max(self.sandbox_clock.now_ms(), self._last_write + 1)
        return self._last_write

    def find(self, ident: Mapping[str, Any], *, archived: bool = True) -> dict[str, Any] | None:
        """A person by id, userId or email (in that order)."""
        pid = None
        if ident.get("id"):
            pid = str(ident["id"]) if str(ident["id"]) in self.people else None
        elif ident.get("userId"):
            pid = self.by_user_id.get(str(ident["userId"]))
        elif ident.get("email"):
            pid = self.by_email.get(str(ident["email"]).strip().lower())
        person = self.people.get(pid) if pid else None
        if person is not None and person["archived"] and not archived:
            return None
        return person

    def public(self, person: Mapping[str, Any], attributes: Iterable[str] | None = None) -> dict[str, Any]:
        """A person as the API shows it, in the account's variant: tags as one comma-separated
        string, ISO dates, the subscription status, ``userId``, empty tags and custom fields
        shown as the variant says.
        """
        variant = self.variant
        out: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for key, value in person.items():
            if key in _INTERNAL or value is None:
                continue
            if key == "tags":
                if value or variant.empty_tags == "empty":
                    out[key] = ",".join(value)
            elif key in _DATES:
                out[key] = iso(int(value))
            elif key == "unsubscribed":
                if variant.person_status == "field" or (variant.person_status == "when-set" and
                                                        (value or person.get("statusSet"))):
                    out[key] = value
            elif key in STANDARD_FIELDS or variant.custom_fields == "top":
                out[key] = value
            elif value != "":  # under data, empty custom fields are left out (as the API leaves empty fields out)
                custom[key] = value
        if attributes:
            keep = {"id", "email", "userId", "name", "firstName", "lastName", *attributes}
            out = {k: v for k, v in out.items() if k in keep}
            custom = {k: v for k, v in custom.items() if k in keep}
        if custom:
            out["data"] = custom
        return out

    def tag_counts(self) -> dict[str, int]:
        """How many (unarchived) people carry each tag."""
        counts = dict.fromkeys(self.tags, 0)
        for person in self.people.values():
            if not person["archived"]:
                for tag in person["tags"]:
                    counts[tag] = counts.get(tag, 0) + 1
        return counts


def parse_people_query(params: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The people a query string names (``people[0][email]=...``), in index order; other parameters are left out."""
    found: dict[int, dict[str, str]] = {}
    for key, value in params:
        match = _PEOPLE_KEY.match(key)
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [found[i] for i in sorted(found)]


def split_tags(value: Any) -> list[str]:
    """Tags from a list or a comma-separated string, trimmed, empty ones left out; anything else gives none."""
    if isinstance(value, list):
        parts = [str(v) for v in value]
    elif isinstance(value, str):
        parts = value.split(",")
    else:
        return []
    return [p.strip() for p in parts if p.strip()]

