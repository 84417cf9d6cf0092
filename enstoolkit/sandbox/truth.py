"""Ground truth for duplicate detection: labelled true duplicate pairs of each kind, and labelled look-alikes.

With the variant ``duplicates=labelled`` (preset ``"labelled-duplicates"``) the ENS account holds,
besides its synthetic supporters, pairs of records made for the purpose: the same person under two
records, one pair kind per way charities get them (:data:`TRUE_KINDS`), and people who look alike
but are not the same person (:data:`LOOK_ALIKE_KINDS`: a household, a parent and child). The
Encharge account holds, for the ``"cross-system"`` kind, a person who is an ENS supporter under
another email. The supporters the generator already makes twice (emails differing in case or
spaces) are labelled ``"email case or spaces"``.

Tests and the benchmark read the labels with :func:`labelled_pairs` (one row per labelled pair)
and :func:`same_person` (every record's person: two records are the same person exactly when
their ``person`` agrees).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from .data import SupporterRecord, answer_questions

if TYPE_CHECKING:
    from . import Sandbox

__all__ = ["LOOK_ALIKE_KINDS", "TRUE_KINDS", "DuplicateTruth", "anchor_pairs", "labelled_pairs", "same_person",
           "score_pairs", "seed_labelled"]

#: Kinds of labelled true duplicate pairs.
TRUE_KINDS = ("nickname", "first-name typo", "last-name typo", "domain typo", "gmail alias", "changed email",
              "swapped names", "cross-system", "email case or spaces")
#: Kinds of labelled pairs that look alike but are two people.
LOOK_ALIKE_KINDS = ("household", "parent and child")

_NICKS = (("Robert", "Bob"), ("William", "Bill"), ("Elizabeth", "Liz"), ("Katherine", "Kate"), ("James", "Jim"),
          ("Margaret", "Maggie"), ("Richard", "Rick"), ("Jennifer", "Jenny"), ("Thomas", "Tom"),
          ("Michael", "Mike"), ("Susan", "Sue"), ("Edward", "Ted"), ("Patricia", "Trish"), ("Daniel", "Dan"),
          ("Rebecca", "Becky"), ("Alexander", "Alex"), ("Christopher", "Chris"), ("Jonathan", "Jon"))
_FIRST = ("Harriet", "Eleanor", "Beatrice", "Matilda", "Imogen", "Florence", "Penelope", "Rupert", "Alistair",
          "Benedict", "Gareth", "Rhiannon", "Dominic", "Lucinda", "Cressida", "Fergus", "Tobias", "Ophelia",
          "Marcus", "Naomi", "Saoirse", "Anika", "Dev", "Kwame", "Ngozi", "Tomasz", "Agnieszka", "Mateus")
_LAST = ("Ashworth", "Blackwood", "Cartwright", "Donnelly", "Ellison", "Fairbairn", "Gallagher", "Hargreaves",
         "Iqbal", "Jarvis", "Kowalski", "Lockhart", "McAllister", "Nakamura", "Okonkwo", "Pemberton", "Quinlan",
         "Rutherford", "Sutherland", "Thornton", "Underwood", "Vasquez", "Whitfield", "Yilmaz", "Zielinski",
         "Abernethy", "Beaumont", "Chadwick", "Drummond", "Everett", "Fitzgerald", "Goldsmith", "Holloway")
_CONSUMER = ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com", "icloud.com")
_TYPOS = {"gmail.com": ("gmial.com", "gmail.con", "gmai.com", "gnail.com"),
          "hotmail.co.uk": ("hotmial.co.uk", "hotmail.co", "hotmal.co.uk"),
          "yahoo.co.uk": ("yaho.co.uk", "yahooo.co.uk", "yahoo.co.k"),
          "outlook.com": ("outlok.com", "outloo.com", "outlook.cm"),
          "btinternet.com": ("btinternt.com", "btinterne.com"),
          "icloud.com": ("iclod.com", "icloud.co", "icoud.com")}
_STREETS = ("Acacia Avenue", "Beech Grove", "Cedar Close", "Damson Way", "Elm Row", "Foxglove Lane",
            "Hawthorn Drive", "Larch Road", "Maple Crescent", "Orchard Place", "Rowan Gardens", "Willow Walk")
_CITIES = (("London", "London"), ("Manchester", "Greater Manchester"), ("Bristol", "Avon"),
           ("Leeds", "West Yorkshire"), ("Glasgow", "Scotland"), ("Cardiff", "Wales"))
_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass
class DuplicateTruth:
    """What the labelled variant seeded: its pairs, each record's person, and the Encharge people to add."""

    pairs: list[dict[str, Any]] = field(default_factory=list)  # system_1, id_1, system_2, id_2, kind, duplicate
    person: dict[int, str] = field(default_factory=dict)  # supporterId -> person
    encharge: list[dict[str, Any]] = field(default_factory=list)  # cross-system people: supporterId, email, ...


def _typo(rng: random.Random, name: str) -> str:
    """One edit inside the name (never its first letter): a swap of neighbours, a dropped or a doubled letter."""
    i = rng.randint(1, len(name) - 2)
    how = rng.random()
    if how < 0.4 and name[i] != name[i + 1]:
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if how < 0.7:
        return name[:i] + name[i + 1:]
    return name[:i] + name[i] + name[i:]


def _postcode(rng: random.Random) -> str:
    return (f"{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}{rng.randint(1, 29)} {rng.randint(1, 9)}"
            f"{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}")


def seed_labelled(records: list[SupporterRecord], seed: int, now: dt.datetime, per_kind: int) -> DuplicateTruth:
    """Append ``per_kind`` labelled pairs of each kind to ``records`` (new supporter ids after the last) and say
    who is who. Deterministic for ``seed`` and ``now``.
    """
    rng = random.Random(f"labelled-duplicates-{seed}")
    truth = DuplicateTruth()
    for rec in records:  # the generator's own twins share their email, after trimming and lowercasing
        truth.person[rec.supporter_id] = "e:" + rec.email.strip().lower()
    first_of: dict[str, int] = {}
    for rec in records:
        key = rec.email.strip().lower()
        if key in first_of:
            truth.pairs.append({"system_1": "ENS", "id_1": str(first_of[key]), "system_2": "ENS",
                                "id_2": str(rec.supporter_id), "kind": "email case or spaces", "duplicate": True})
        else:
            first_of[key] = rec.supporter_id
    next_id = max((r.supporter_id for r in records), default=100_000) + 1
    serial = 0

    def person(first: str, last: str, *, domain: str | None = None, phone: bool = False) -> dict[str, str]:
        nonlocal serial
        serial += 1
        city, region = rng.choice(_CITIES)
        local = f"{first}.{last}".lower() if rng.random() < 0.5 else f"{first[0]}{last}".lower()
        return {"Title": "", "First Name": first, "Last Name": last,
                "Email Address": f"{local}{serial}@{domain or rng.choice(_CONSUMER)}",
                "Address 1": f"{rng.randint(1, 300)} {rng.choice(_STREETS)}", "Address 2": "", "City": city,
                "Region": region, "Postcode": _postcode(rng), "Country": "GB",
                "Phone Number": f"07{rng.randint(100000000, 999999999)}" if phone or rng.random() < 0.4 else "",
                "Date of Birth": "", "Appeal Code": "", "Second Email Address": "", "Send Offset": "+00:00",
                "Referral Source": "", "Postal Code": ""}

    def add(fields: dict[str, str], who: str) -> int:
        nonlocal next_id
        sid = next_id
        next_id += 1
        created = (now - dt.timedelta(days=rng.random() * 900, seconds=rng.randint(0, 86_399))).replace(microsecond=0)
        modified = min(now, created + dt.timedelta(days=rng.random() * 200)).replace(microsecond=0)
        rec = SupporterRecord(sid, fields, created, modified, source_page=rng.choice((100, 102, 110, 111, 130)))
        answer_questions(rng, rec, now, has_phone=bool(fields["Phone Number"]))
        records.append(rec)
        truth.person[sid] = who
        return sid

    def pair(kind: str, a: dict[str, str], b: dict[str, str], duplicate: bool) -> None:
        who = f"p:{kind}:{serial}"
        one = add(a, who)
        two = add(b, who if duplicate else who + "b")
        truth.pairs.append({"system_1": "ENS", "id_1": str(one), "system_2": "ENS", "id_2": str(two), "kind": kind,
                            "duplicate": duplicate})

    def renamed(fields: dict[str, str], **changes: str) -> dict[str, str]:
        out = dict(fields)
        out.update({k.replace("_", " "): v for k, v in changes.items()})
        return out

    def new_email(fields: dict[str, str], first: str | None = None, last: str | None = None) -> str:
        first = first or fields["First Name"]
        last = last or fields["Last Name"]
        return f"{first[:1]}{last}.{rng.randint(10, 99)}x{serial}@{rng.choice(_CONSUMER)}".lower()

    for _ in range(per_kind):
        full, short = rng.choice(_NICKS)
        a = person(full, rng.choice(_LAST))
        pair("nickname", a, renamed(a, First_Name=short, Email_Address=new_email(a, short)), True)

        a = person(rng.choice(_FIRST), rng.choice(_LAST))
        pair("first-name typo", a, renamed(a, First_Name=_typo(rng, a["First Name"]), Email_Address=new_email(a)),
             True)

        a = person(rng.choice(_FIRST), rng.choice(_LAST))
        pair("last-name typo", a, renamed(a, Last_Name=_typo(rng, a["Last Name"]), Email_Address=new_email(a)), True)

        domain = rng.choice(list(_TYPOS))
        a = person(rng.choice(_FIRST), rng.choice(_LAST), domain=domain)
        local = a["Email Address"].split("@")[0]
        b = renamed(a, Email_Address=f"{local}@{rng.choice(_TYPOS[domain])}")
        if rng.random() < 0.5:  # signed up elsewhere, without the address
            b.update({"Postcode": "", "Address 1": ""})
        pair("domain typo", a, b, True)

        a = person(rng.choice(_FIRST), rng.choice(_LAST), domain="gmail.com")
        local = a["Email Address"].split("@")[0]
        alias = (f"{local}+{rng.choice(('petition', 'news', 'charity'))}" if "." not in local or rng.random() < 0.5
                 else local.replace(".", ""))
        b = renamed(a, Email_Address=f"{alias}@{rng.choice(('gmail.com', 'googlemail.com'))}")
        if rng.random() < 0.5:
            b.update({"Postcode": "", "Address 1": ""})
        pair("gmail alias", a, b, True)

        a = person(rng.choice(_FIRST), rng.choice(_LAST))
        pair("changed email", a, renamed(a, Email_Address=new_email(a), Phone_Number=""), True)

        a = person(rng.choice(_FIRST), rng.choice(_LAST))
        pair("swapped names", a, renamed(a, First_Name=a["Last Name"], Last_Name=a["First Name"],
                                         Email_Address=new_email(a)), True)

        a = person(rng.choice(_FIRST), rng.choice(_LAST))
        other = rng.choice([f for f in _FIRST if f[0] != a["First Name"][0]])
        pair("household", a, renamed(a, First_Name=other, Email_Address=new_email(a, other), Phone_Number="",
                                     Title=""), False)

        a = person(rng.choice(_FIRST), rng.choice(_LAST))
        if rng.random() < 0.5:
            a["Last Name"] += " Sr."
            b = renamed(a, Last_Name=a["Last Name"].replace(" Sr.", " Jr."), Email_Address=new_email(a),
                        Phone_Number="")
        else:
            a["Date of Birth"] = dt.date(rng.randint(1950, 1970), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
            b = renamed(a, Email_Address=new_email(a), Phone_Number="", Date_of_Birth=dt.date(
                rng.randint(1985, 2004), rng.randint(1, 12), rng.randint(1, 28)).isoformat())
        pair("parent and child", a, b, False)

        a = person(rng.choice(_FIRST), rng.choice(_LAST), phone=True)
        sid = add(a, f"p:cross-system:{serial}")
        truth.encharge.append({"supporterId": sid, "email": new_email(a), "firstName": a["First Name"],
                               "lastName": a["Last Name"], "phone": "+44" + a["Phone Number"][1:],
                               "city": a["City"], "country": "GB"})
    return truth


def labelled_pairs(sandbox: Sandbox) -> pl.DataFrame:
    """The labelled pairs of a sandbox made with ``variant="labelled-duplicates"``: ``system_1``, ``id_1``,
    ``system_2``, ``id_2`` (ids as text: the supporterId, or the Encharge person's id), ``kind`` and
    ``duplicate`` (true for the same person, false for a look-alike).
    """
    truth = _truth(sandbox)
    rows = list(truth.pairs)
    by_email = {p["email"]: pid for pid, p in sandbox.encharge.people.items()}
    for person in truth.encharge:
        rows.append({"system_1": "ENS", "id_1": str(person["supporterId"]), "system_2": "Encharge",
                     "id_2": by_email[person["email"]], "kind": "cross-system", "duplicate": True})
    schema = {"system_1": pl.String, "id_1": pl.String, "system_2": pl.String, "id_2": pl.String, "kind": pl.String,
              "duplicate": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row")


def same_person(sandbox: Sandbox) -> pl.DataFrame:
    """Every record of the labelled sandbox with the person it is: ``system``, ``id`` and ``person``. ENS
    supporters and Encharge people with equal emails (trimmed, lowercased) are one person, as are the
    records of each labelled true pair.
    """
    truth = _truth(sandbox)
    rows = [("ENS", str(sid), who) for sid, who in truth.person.items() if sid in sandbox.ens.records]
    by_email = {sandbox.ens.records[sid].email.strip().lower(): who for sid, who in truth.person.items()
                if sid in sandbox.ens.records}
    cross = {p["email"]: truth.person[p["supporterId"]] for p in truth.encharge}
    for pid, person in sandbox.encharge.people.items():
        email = str(person["email"]).strip().lower()
        rows.append(("Encharge", pid, cross.get(email) or by_email.get(email) or f"enc:{pid}"))
    return pl.DataFrame(rows, schema={"system": pl.String, "id": pl.String, "person": pl.String}, orient="row")


def _truth(sandbox: Sandbox) -> DuplicateTruth:
    truth = sandbox.ens.duplicate_truth
    if truth is None:
        raise ValueError("this sandbox has no labelled duplicates: start it with variant='labelled-duplicates'")
    return truth


def anchor_pairs(supporters: pl.DataFrame, people: pl.DataFrame | None = None) -> pl.DataFrame:
    """The simple anchor rule duplicate checks are measured against: last name exact, the first three letters of
    the first name, and the same email or postcode (Raiser's Edge NXT's rule, with the email). Returns
    ``system_1``, ``id_1``, ``system_2``, ``id_2`` (ENS first); ENS-Encharge pairs with the same email are left
    out, as :func:`~enstoolkit.analysis.probable_duplicates` leaves them.
    """
    def side(frame: pl.DataFrame, system: str, rid: str, email: str, first: str, last: str, post: str | None
             ) -> pl.DataFrame:
        return frame.select(
            pl.lit(system).alias("system"), pl.col(rid).cast(pl.String).alias("id"),
            pl.col(email).cast(pl.String).str.strip_chars().str.to_lowercase().alias("email"),
            pl.col(first).cast(pl.String).str.strip_chars().str.to_lowercase().str.slice(0, 3).alias("f3"),
            pl.col(last).cast(pl.String).str.strip_chars().str.to_lowercase().alias("last"),
            (pl.col(post).cast(pl.String).str.replace_all(" ", "").str.to_uppercase() if post
             else pl.lit(None, pl.String)).alias("post"),
        ).with_row_index("n")

    parts = [side(supporters, "ENS", "supporterId", "Email Address", "First Name", "Last Name", "Postcode")]
    if people is not None:
        parts.append(side(people, "Encharge", "id", "email", "firstName", "lastName", None).with_columns(
            pl.col("n") + supporters.height))
    rows = pl.concat(parts).filter(pl.col("last").is_not_null() & (pl.col("last") != "") & (pl.col("f3") != ""))
    joined = rows.join(rows, on=["last", "f3"], suffix="_2").filter(pl.col("n") < pl.col("n_2"))
    hit = joined.filter(((pl.col("email") == pl.col("email_2")) | (pl.col("post") == pl.col("post_2")))
                        & ~((pl.col("system") != pl.col("system_2")) & (pl.col("email") == pl.col("email_2")))
                        & ~((pl.col("system") == "Encharge") & (pl.col("system_2") == "Encharge")))
    return hit.select(pl.col("system").alias("system_1"), pl.col("id").alias("id_1"), "system_2", "id_2").sort(
        "system_1", "id_1", "system_2", "id_2")


def score_pairs(pairs: pl.DataFrame, labels: pl.DataFrame, persons: pl.DataFrame, *, band: str | None = "high"
                ) -> pl.DataFrame:
    """Precision and recall of ``pairs`` (``system_1``, ``id_1``, ``system_2``, ``id_2``, and ``band`` unless
    ``band`` is None) against the labels: one row per kind (recall of the labelled true pairs; for the
    look-alike kinds, how many were wrongly proposed) and an ``"all"`` row whose ``precision`` counts every
    proposed pair, labelled or not, as right only when :func:`same_person` says so.
    """
    key = ["system_1", "id_1", "system_2", "id_2"]
    chosen = pairs if band is None else pairs.filter(pl.col("band") == band)
    found = chosen.select(key)
    both = pl.concat([found, found.select(pl.col("system_2").alias("system_1"), pl.col("id_2").alias("id_1"),
                                          pl.col("system_1").alias("system_2"), pl.col("id_1").alias("id_2"))])
    both = both.unique().with_columns(pl.lit(True).alias("__found"))
    marked = labels.join(both, on=key, how="left").with_columns(pl.col("__found").fill_null(False))
    who = persons.select(pl.col("system"), pl.col("id"), pl.col("person"))
    judged = (found.join(who.rename({"system": "system_1", "id": "id_1", "person": "p1"}), on=["system_1", "id_1"],
                         how="left")
              .join(who.rename({"system": "system_2", "id": "id_2", "person": "p2"}), on=["system_2", "id_2"],
                    how="left"))
    right = judged.filter(pl.col("p1") == pl.col("p2")).height
    true = marked.filter(pl.col("duplicate"))
    Row = tuple[str, float | None, float | None, int, int, int]
    rows: list[Row] = [("all", right / found.height if found.height else 1.0,
             float(true.get_column("__found").sum()) / true.height if true.height else 1.0, true.height,
             int(true.get_column("__found").sum()), found.height - right)]
    for kind in [*TRUE_KINDS, *LOOK_ALIKE_KINDS]:
        group = marked.filter(pl.col("kind") == kind)
        hits = int(group.get_column("__found").sum())
        if kind in TRUE_KINDS:
            rows.append((kind, None, hits / group.height if group.height else None, group.height, hits, 0))
        else:
            rows.append((kind, None, None, group.height, 0, hits))
    schema = {"kind": pl.String, "precision": pl.Float64, "recall": pl.Float64, "labelled": pl.Int64,
              "found": pl.Int64, "wrong": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")
