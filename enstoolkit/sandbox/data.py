"""Seeded, deterministic synthetic data for the sandbox: an ENS account shaped like a charity's.

The same seed and clock give the same account: supporters over three years, in
several countries, with opt-in responses and their dates, donations and petition
actions, pages of each type, and the defects an audit must find (duplicate emails
that differ in case or spaces, invalid emails, missing names and postcodes,
suppressed supporters who still hold an opt-in).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

DEFAULT_NOW = dt.datetime(2026, 10, 1, 9, 0, 0, tzinfo=dt.UTC)
FIRST_SUPPORTER_ID = 100_001
CLIENT_ID = 1234

# (id, name, tag, property), in the order GET /supporter/fields gives them.
FIELDS: list[tuple[int, str, str, str]] = [
    (2901, "Title", "Title", "title"),
    (2907, "First Name", "First Name", "firstName"),
    (2908, "Last Name", "Last Name", "lastName"),
    (2913, "Email Address", "Email Address", "emailAddress"),
    (2915, "Address 1", "Address 1", "address1"),
    (2916, "Address 2", "Address 2", "address2"),
    (2918, "City", "City", "city"),
    (2919, "Region", "Region", "region"),
    (2920, "Postcode", "Postcode", "postcode"),
    (2921, "Country", "Country", "country"),
    (2925, "Phone Number", "Phone Number", "phoneNumber"),
    (3244, "Date of Birth", "Supporter Birthday", "dateOfBirth"),
    (3250, "Appeal Code", "Appeal Code", "appealCode"),
    (3963, "Second Email Address", "Email Address 2", "emailAddress2"),
    (7992, "Send Offset", "Send Offset", "sendOffset"),
    (5251, "Referral Source", "Not Tagged", "NOT_TAGGED_1"),
    (5252, "Postal Code", "Not Tagged", "NOT_TAGGED_2"),
]
FIELD_NAMES = [f[1] for f in FIELDS]
PROPERTY_TO_NAME = {f[3]: f[1] for f in FIELDS}


@dataclass(frozen=True)
class Question:
    """A supporter question of the account."""

    id: int
    question_id: int
    name: str
    type: str  # OPT, GEN or CONF (GET /supporter/questions)
    label: str
    html_field_type: str = "checkbox"
    values: tuple[str, ...] = ("Y",)
    #: the name supporter records give it on an account whose records name questions otherwise (ENS's own
    #: examples call question 279 "Opt-in" in a record and "Opt-in EMAIL (single)" in the list)
    short_name: str = ""

    @property
    def response_type(self) -> str:
        """The type as a supporter's question responses name it."""
        return {"OPT": "OPTIN", "GEN": "GENERAL", "CONF": "CONFIRMATION"}[self.type]


QUESTIONS: list[Question] = [
    Question(15012, 4512, "Marketing Optin", "OPT", "Yes, keep me updated about our campaigns by email.",
             short_name="Marketing Opt-in"),
    Question(15013, 4513, "Newsletter Optin", "OPT", "Send me the monthly newsletter.", short_name="Newsletter"),
    Question(15014, 4514, "SMS Optin", "OPT", "Text me about urgent actions.", short_name="Opt-in SMS"),
    Question(15084, 784, "Email Opt-in (double)", "CONF", "I confirm my email subscription.",
             short_name="Email Opt-in"),
    Question(
        42004,
        1064,
        "Interested Emails",
        "GEN",
        "Which emails interest you?",
        "select",
        ("daily emails", "weekly digest", "monthly newsletter"),
        short_name="Interests",
    ),
]
OPTIN_QUESTIONS = [q for q in QUESTIONS if q.type in ("OPT", "CONF")]


@dataclass(frozen=True)
class Page:
    """A page of the account."""

    id: int
    query_type: str  # the GET /page?type= value that lists it
    type: str  # what ENS answers
    sub_type: str
    name: str
    status: str
    created: dt.datetime
    tracking: tuple[str, ...] = ("facebook", "email")

    @property
    def campaign_id(self) -> int:
        """The campaign id ENS uses in transactions."""
        return 10_000 + self.id


PAGE_TYPE_MAP: dict[str, tuple[str, str]] = {
    "dcf": ("dc", "DCF"),
    "pet": ("dc", "PET"),
    "ems": ("dc", "EMS"),
    "unsub": ("dc", "UNSUB"),
    "survey": ("dc", "SURVEY"),
    "mem": ("nd", "MEMBERSHIP"),
    "premium": ("nd", "PREMIUM"),
    "ecommerce": ("nd", "ECOMMERCE"),
    "et": ("et", ""),
    "nd": ("nd", ""),
    "ev": ("ev", ""),
    "ec": ("ec", ""),
    "sp": ("sp", ""),
    "ss": ("ss", ""),
    "sh": ("sh", ""),
    "cc": ("cc", ""),
    "tp": ("tp", ""),
    "leadgen": ("leadgen", ""),
}

_PAGE_DEFS: list[tuple[int, str, str, str, int]] = [
    (100, "dcf", "Newsletter Sign Up", "live", 1400),
    (101, "dcf", "Volunteer Interest", "live", 900),
    (102, "ems", "Email Sign Up - Footer", "live", 1300),
    (103, "unsub", "Unsubscribe", "live", 1400),
    (110, "pet", "Save Our Rivers", "live", 1000),
    (111, "pet", "Ban Bee-Killing Pesticides", "live", 600),
    (112, "pet", "Clean Air For Schools", "close", 1200),
    (120, "et", "Email Your MP About Rivers", "live", 700),
    (121, "et", "Write To The Minister", "tested", 40),
    (130, "nd", "Spring Appeal", "live", 800),
    (131, "nd", "Regular Giving", "live", 1100),
    (132, "nd", "Emergency Appeal", "new", 20),
    (140, "mem", "Annual Membership", "live", 1000),
]


def make_pages(now: dt.datetime) -> list[Page]:
    """The account's pages (ids from 100; page 100 is the sign-up form of the overview's examples)."""
    pages = []
    for pid, qtype, name, status, age_days in _PAGE_DEFS:
        ptype, sub = PAGE_TYPE_MAP[qtype]
        pages.append(Page(pid, qtype, ptype, sub, name, status, now - dt.timedelta(days=age_days)))
    return pages


#: Saved profiles for type=profile queries: id -> (name, rule)
PROFILES: dict[int, str] = {333: "UK supporters", 334: "Marketing opted in", 335: "Suppressed supporters"}
#: Export groups: name -> field names
EXPORT_GROUPS: dict[str, list[str]] = {
    "basic only": ["First Name", "Last Name", "Email Address"],
    "apiexport": FIELD_NAMES,
    "All fields": FIELD_NAMES,
}
#: Export job queries saved in the "dashboard".
EXPORT_QUERIES = ("All supporters", "Marketing opted in", "Suppressed supporters")

_FIRST = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Evie",
    "Emily",
    "Ella",
    "Poppy",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Leo",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Theodore",
    "Freddie",
    "Jack",
    "Charlie",
    "Finley",
    "Aoife",
    "Siobhan",
    "Niamh",
    "Ciara",
    "Liam",
    "Sean",
    "Conor",
    "Declan",
    "Priya",
    "Aisha",
    "Fatima",
    "Omar",
    "Yusuf",
    "Mohammed",
    "Chen",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Lukas",
    "Lena",
    "Emma",
    "Louis",
    "Chloe",
    "Jan",
    "Sanne",
    "Daan",
    "Maria",
    "Jose",
    "Ana",
    "Joe",
]
_LAST = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Robinson",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Murphy",
    "Kelly",
    "Byrne",
    "Ryan",
    "O'Brien",
    "Walsh",
    "Khan",
    "Ahmed",
    "Ali",
    "Singh",
    "Kaur",
    "Begum",
    "Chen",
    "Wang",
    "Li",
    "Tanaka",
    "Sato",
    "Muller",
    "Schmidt",
    "Schneider",
    "Martin",
    "Bernard",
    "Dubois",
    "DeVries",
    "Jansen",
    "Bakker",
    "Garcia",
    "Lopez",
    "Hernandez",
    "Miller",
    "Davis",
    "Anderson",
    "Moore",
]
_DOMAINS = ("example.org", "example.com", "example.net", "mail.example.org", "post.example.com")
_COUNTRIES: list[tuple[str, float, tuple[str, ...], tuple[str, ...]]] = [
    (
        "GB",
        0.55,
        ("London", "Manchester", "Bristol", "Leeds", "Glasgow", "Cardiff"),
        ("London", "Greater Manchester", "Avon", "West Yorkshire", "Scotland", "Wales"),
    ),
    ("US", 0.12, ("New York", "Boston", "Chicago", "Seattle"), ("NY", "MA", "IL", "WA")),
    ("IE", 0.08, ("Dublin", "Cork", "Galway"), ("Leinster", "Munster", "Connacht")),
    ("CA", 0.06, ("Toronto", "Vancouver", "Montreal"), ("ON", "BC", "QC")),
    ("AU", 0.05, ("Sydney", "Melbourne", "Brisbane"), ("NSW", "VIC", "QLD")),
    ("DE", 0.05, ("Berlin", "Hamburg", "Munich"), ("BE", "HH", "BY")),
    ("FR", 0.04, ("Paris", "Lyon", "Marseille"), ("IDF", "ARA", "PAC")),
    ("NL", 0.03, ("Amsterdam", "Utrecht", "Rotterdam"), ("NH", "UT", "ZH")),
    ("NZ", 0.02, ("Auckland", "Wellington"), ("AUK", "WGN")),
]
_STREETS = (
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Avenue",
    "Mill Road",
    "Victoria Street",
    "Main Street",
    "Queens Road",
    "Green Lane",
    "Riverside Walk",
)
_SOURCES = ("facebook", "email", "search", "friend", "event", "")
_APPEALS = ("SPRING26", "RIVERS25", "EOY25", "WELCOME", "")
_INVALID_EMAIL_FORMS = ("{u}@", "{u}.{d}", "{u}@@{d}", "{u}@{dn}", "{u} @{d}", "{u}@{d}.")


class _Random(random.Random):
    """``random.Random`` with quicker ``randint`` and ``choice``: the same values from the same seed, fewer calls.

    Both draw exactly as the standard library's do (``_randbelow`` by rejection on
    ``getrandbits``), so the synthetic account is the same; they skip ``randrange``'s
    argument checks, which cost more than the draw when millions are made.
    """

    def below(self, n: int) -> int:
        """A whole number in ``[0, n)``, as ``random.Random._randbelow`` draws it."""
        bits = n.bit_length()
        r = self.getrandbits(bits)
        while r >= n:
            r = self.getrandbits(bits)
        return r

    def randint(self, a: int, b: int) -> int:
        """A whole number in ``[a, b]``."""
        return a + self.below(b - a + 1)

    def choice(self, seq: Any) -> Any:
        """One item of a non-empty sequence."""
        return seq[self.below(len(seq))]

    def weighted(self, population: Any, cum_weights: list[float]) -> Any:
        """One item drawn by cumulative weights, as ``choices(population, cum_weights=...)[0]`` draws it."""
        return population[bisect.bisect(cum_weights, self.random() * (cum_weights[-1] + 0.0), 0, len(population) - 1)]


def _postcode(rng: random.Random, country: str) -> str:
    letters = "ABCDEFGHJKLMNPRSTUWXYZ"
    if country == "GB":
        return (
            f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(1, 20)} "
            f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        )
    if country == "IE":
        return f"D{rng.randint(1, 24):02d} {rng.choice(letters)}{rng.randint(100, 999)}"
    if country == "CA":
        first = f"{rng.choice(letters)}{rng.randint(0, 9)}{rng.choice(letters)}"
        return f"{first} {rng.randint(0, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"
    if country == "NL":
        return f"{rng.randint(1000, 9999)} {rng.choice(letters)}{rng.choice(letters)}"
    return f"{rng.randint(10000, 99999)}" if country in ("US", "DE", "FR") else f"{rng.randint(1000, 9999)}"


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class SupporterRecord:
    """One supporter as the sandbox stores it."""

    supporter_id: int
    fields: dict[str, str]
    created: dt.datetime
    modified: dt.datetime
    suppressed: bool = False
    suppressed_on: dt.datetime | None = None
    # questionId -> (response, modifiedOn epoch ms)
    questions: dict[int, tuple[str, int]] = field(default_factory=dict)
    source_page: int = 100
    transactions: list[dict[str, Any]] | None = None  # made on first use
    memberships: list[dict[str, Any]] | None = None
    #: questionId -> earlier answers, oldest first, that the latest one (in ``questions``) replaced
    earlier_answers: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    #: created through the API (POST /supporter): the export's first row for them is an SSC, not a page
    api_created: bool = False

    @property
    def email(self) -> str:
        """The primary email address as stored (may carry case or spaces)."""
        return self.fields.get("Email Address", "")


def generate_supporters(count: int, seed: int, now: dt.datetime) -> list[SupporterRecord]:
    """Make ``count`` supporters, deterministic for ``seed`` and ``now``.

    About 1.2% are duplicates of an earlier supporter (same person, email differing in
    case or spaces), 0.6% have an invalid email, 2% no first name, 4% no postcode, 3%
    are suppressed; these rates are the same at any size (other addresses never collide: an
    address already given gets the supporter's number added, as real people's do).
    """
    rng = _Random(seed)
    weights = list(itertools.accumulate(c[1] for c in _COUNTRIES))  # cumulative, as choices() makes them
    acquisition = [100, 100, 101, 102, 102, 110, 110, 111, 112, 130, 131, 140]
    out: list[SupporterRecord] = []
    taken: set[str] = set()
    span = 3 * 365
    for i in range(count):
        sid = FIRST_SUPPORTER_ID + i
        offset_days = span * (rng.random() ** 1.35)
        created = (now - dt.timedelta(days=offset_days, seconds=rng.randint(0, 86_399))).replace(microsecond=0)
        if created > now:
            created = now
        roll = rng.random()
        if roll < 0.08:
            modified = now - dt.timedelta(days=rng.random() * 30)
        else:
            modified = created + (now - created) * rng.random() ** 2
        modified = max(created, modified.replace(microsecond=0))
        if out and rng.random() < 0.012:
            rec = _duplicate_of(rng, rng.choice(out[-500:]), sid, created, modified)
            out.append(rec)
            continue
        country, _, cities, regions = rng.weighted(_COUNTRIES, weights)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = f"{first}.{last}".lower().replace("'", "")
        if rng.random() < 0.5:
            local += str(rng.randint(1, 999))
        domain = rng.choice(_DOMAINS)
        if f"{local}@{domain}" in taken:
            local += f".{i}"
        taken.add(f"{local}@{domain}")
        email = f"{local}@{domain}"
        if rng.random() < 0.006:
            form = rng.choice(_INVALID_EMAIL_FORMS)
            email = form.format(u=local, d=domain, dn=domain.split(".")[0])
        city_index = rng.below(len(cities))  # as randrange(len(cities)) draws it
        phone = f"07{rng.randint(100000000, 999999999)}" if rng.random() < 0.45 else ""
        birth = ""
        if rng.random() < 0.35:
            birth = dt.date(rng.randint(1940, 2006), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
        fields = {
            "Title": rng.choice(("Mr", "Ms", "Mrs", "Dr", "Mx", "")),
            "First Name": "" if rng.random() < 0.02 else first,
            "Last Name": last,
            "Email Address": email,
            "Address 1": f"{rng.randint(1, 200)} {rng.choice(_STREETS)}",
            "Address 2": "",
            "City": cities[city_index],
            "Region": regions[city_index % len(regions)],
            "Postcode": "" if rng.random() < 0.04 else _postcode(rng, country),
            "Country": country,
            "Phone Number": phone,
            "Date of Birth": birth,
            "Appeal Code": rng.choice(_APPEALS),
            "Second Email Address": "",
            "Send Offset": "+00:00" if country in ("GB", "IE") else "",
            "Referral Source": rng.choice(_SOURCES),
            "Postal Code": "",
        }
        rec = SupporterRecord(sid, fields, created, modified, source_page=rng.choice(acquisition))
        answer_questions(rng, rec, now, has_phone=bool(phone))
        if rng.random() < 0.03:
            rec.suppressed = True
            rec.suppressed_on = max(created, now - dt.timedelta(days=rng.random() * 90)).replace(microsecond=0)
            rec.modified = max(rec.modified, rec.suppressed_on)
        out.append(rec)
    return out


def _duplicate_of(
    rng: random.Random, other: SupporterRecord, sid: int, created: dt.datetime, modified: dt.datetime
) -> SupporterRecord:
    email = other.email
    variant = rng.random()
    if variant < 0.4:
        email = email.upper()
    elif variant < 0.7:
        email = email[:1].upper() + email[1:]
    else:
        email = f" {email} "
    fields = dict(other.fields)
    fields["Email Address"] = email
    if rng.random() < 0.5:
        fields["Postcode"] = ""
    rec = SupporterRecord(sid, fields, created, modified, source_page=rng.choice([100, 102, 110]))
    rec.questions = {qid: (resp, max(when, _epoch_ms(created))) for qid, (resp, when) in other.questions.items()}
    return rec


#: How much more (or less) likely people who joined through each page are to opt in.
PAGE_OPTIN_FACTOR: dict[int, float] = {
    100: 1.1, 101: 1.05, 102: 1.22, 110: 0.78, 111: 0.72, 112: 0.68, 130: 0.95, 131: 1.05, 140: 1.12,
}


#: How likely each question is answered at sign-up, and (but the phone question, of its own values) answered yes.
_ANSWERED = {4512: 0.88, 4513: 0.6, 4514: 0.8, 784: 0.45, 1064: 0.3}
_YES = {4512: 0.72, 4513: 0.65, 4514: 0.5, 784: 0.9}


def answer_questions(rng: random.Random, rec: SupporterRecord, now: dt.datetime, has_phone: bool) -> None:
    """Answer the account's questions for one generated supporter: opt-ins with their dates, and the phone
    question only for a supporter with a phone."""
    created_ms = _epoch_ms(rec.created)
    now_ms = _epoch_ms(now)
    for q in QUESTIONS:
        if q.question_id == 4514 and not has_phone:
            continue
        if rng.random() >= _ANSWERED[q.question_id]:
            continue
        when = created_ms + rng.randint(0, 120_000)
        if q.type == "GEN":
            rec.questions[q.question_id] = (rng.choice(q.values), when)
            continue
        yes_p = _YES[q.question_id]
        if q.type == "OPT":
            # people who came in through an email sign-up opt in far more than petition signers
            yes_p = min(0.95, yes_p * PAGE_OPTIN_FACTOR.get(rec.source_page, 1.0))
        response = "Y" if rng.random() < yes_p else "N"
        leaves, moment = rng.random(), rng.random()  # drawn always: the stream does not depend on answers
        if response == "Y" and leaves < 0.14:
            # opted out later: the opt-in at sign-up stays in the history of answers
            rec.earlier_answers[q.question_id] = [("Y", when)]
            response = "N"
            when = when + int((now_ms - when) * moment)
        elif q.question_id == 4513 and response == "N":
            # some who declined the newsletter at sign-up took it later and left it again: only the history
            # of answers shows it (a stream of its own, so the other answers stay as they were)
            later = random.Random(f"newsletter-{rec.supporter_id}")
            if later.random() < 0.3:
                opted, left = sorted((later.random(), later.random()))
                rec.earlier_answers[q.question_id] = [("N", when), ("Y", when + int((now_ms - when) * opted))]
                when = when + int((now_ms - when) * left)
        rec.questions[q.question_id] = (response, when)


#: How many transactions after the first a supporter has (0 to 4), as cumulative weights.
_EXTRA_TRANSACTIONS = list(itertools.accumulate((0.45, 0.25, 0.15, 0.1, 0.05)))


def make_transactions(
    rec: SupporterRecord, seed: int, pages: dict[int, Page], now: dt.datetime
) -> list[dict[str, Any]]:
    """A supporter's transaction history, made deterministically on first use.

    The first transaction is the acquisition page at the creation date; later ones are
    petition signatures, emails to targets and donations.
    """
    rng = _Random(seed * 1_000_003 + rec.supporter_id)
    txs = [transaction_for(pages[rec.source_page], rec.created, rng, 7_000_000 + rec.supporter_id * 10)]
    extra = rng.weighted((0, 1, 2, 3, 4), _EXTRA_TRANSACTIONS)
    later = [110, 111, 120, 130, 130, 131]
    span = (now - rec.created).total_seconds()
    for n in range(extra):
        when = rec.created + dt.timedelta(seconds=span * rng.random())
        page = pages[rng.choice(later)]
        if page.created > when:
            continue
        txs.append(transaction_for(page, when.replace(microsecond=0), rng, 7_000_000 + rec.supporter_id * 10 + n + 1))
    txs.sort(key=lambda t: (t["createdDate"], t["id"]))
    return txs


def transaction_for(
    page: Page,
    when: dt.datetime,
    rng: random.Random | None,
    tx_id: int,
    *,
    amount: float | None = None,
    recurring: bool = False,
    currency: str = "GBP",
    target: tuple[str, str] = ("Jane", "Member"),
) -> dict[str, Any]:
    """A transaction list item in the spec's shape for a page of any type."""
    created_on = f"{when.day:02d}/{when.month:02d}/{when.year}"  # as strftime("%d/%m/%Y") writes it, quicker
    base: dict[str, Any] = {
        "campaignId": page.campaign_id,
        "type": page.type,
        "name": page.name,
        "id": tx_id,
        "createdOn": created_on,
        "createdDate": _epoch_ms(when),
    }
    if page.type == "dc":
        base.update({"subtype": page.sub_type, "xref1": "", "xref2": ""})
    elif page.type == "et":
        base.update({"xref1": target[0], "xref2": target[1]})
    elif page.type == "nd":
        if amount is None:
            amount = float((rng or random.Random(tx_id)).choice((5, 10, 10, 20, 25, 50, 100)))
        base.update(
            {
                "exportType": "FCS",
                "txType": "CREDIT_RECURRING" if recurring else "CREDIT_SINGLE",
                "recurringPayment": "Y" if recurring else "N",
                "status": "success",
                "amount": amount,
                "currency": currency,
            }
        )
    return base
