"""FPS-style suppression request files made from a sandbox's people: exact matches, fuzzy ones, and nobody.

Each row is one request, as an FPS download or a screening file gives it: ``Email``, ``Name``,
``Address``, ``Postcode``, ``Channel``, ``Date Received``. Kinds (in the order written):

- **exact**: a supporter held in both systems, by their email (channel ``email``);
- **fuzzy**: a supporter by name and postcode only, the name written the way people write
  theirs on a letter (a title, a dropped accent, a typo), channel ``post`` or ``all``;
- **not found**: someone neither system holds.

:func:`request_file` returns the CSV bytes and, for tests, which supporter each row means.

'not found'])
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from typing import Any

__all__ = ["request_file"]


def _misspelt(name: str, rng: random.Random) -> str:
    """A name as written by hand: with a title, a letter doubled or dropped."""
    first, _, last = name.partition(" ")
    if len(last) > 4 and rng.random() < 0.5:
        i = rng.randrange(1, len(last) - 1)
        last = last[:i] + last[i] + last[i:]  # a doubled letter
    title = rng.choice(("Mr", "Mrs", "Ms", "Dr", ""))
    return " ".join(x for x in (title, first.upper() if rng.random() < 0.3 else first, last) if x)


def request_file(sandbox: Any, *, exact: int = 5, fuzzy: int = 3, not_found: int = 3, seed: int = 0,
                 received: dt.date | None = None) -> tuple[bytes, list[dict[str, Any]]]:
    """A request file over a sandbox's people, and what each row truly is (kind, supporterId, email).

    ``received`` dates every request (default: ten days before the sandbox's clock).
    """
    rng = random.Random(f"requests-{seed}")
    ens, enc = sandbox.ens, sandbox.encharge
    held = {p["email"].strip().lower() for p in enc.people.values() if p.get("email") and not p.get("archived")}
    both = [r for sid, r in sorted(ens.records.items()) if r.email.strip().lower() in held]
    placed = [r for r in both if r.fields.get("Postcode") and r.fields.get("Last Name")]
    rng.shuffle(both)
    chosen_exact = both[:exact]
    rest = [r for r in placed if r not in chosen_exact]
    rng.shuffle(rest)
    names: dict[tuple[str, str], int] = {}
    for r in ens.records.values():  # a fuzzy row names someone whose name is unique at their postcode
        key = (f"{r.fields.get('First Name', '')} {r.fields.get('Last Name', '')}".lower(), r.fields.get("Postcode"))
        names[key] = names.get(key, 0) + 1
    chosen_fuzzy = [r for r in rest if names[(f"{r.fields.get('First Name', '')} {r.fields.get('Last Name', '')}"
                                                .lower(), r.fields.get("Postcode"))] == 1][:fuzzy]
    day = received or (ens.now.date() - dt.timedelta(days=10))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Email", "Name", "Address", "Postcode", "Channel", "Date Received"])
    truth: list[dict[str, Any]] = []
    for r in chosen_exact:
        name = f"{r.fields.get('First Name', '')} {r.fields.get('Last Name', '')}".strip()
        writer.writerow([r.email, name, r.fields.get("Address 1", ""), r.fields.get("Postcode", ""), "email",
                         day.isoformat()])
        truth.append({"kind": "exact", "supporterId": r.supporter_id, "email": r.email.strip().lower()})
    for r in chosen_fuzzy:
        name = _misspelt(f"{r.fields.get('First Name', '')} {r.fields.get('Last Name', '')}", rng)
        writer.writerow(["", name, r.fields.get("Address 1", ""), r.fields.get("Postcode", "").lower(),
                         rng.choice(("post", "all")), day.strftime("%d/%m/%Y")])
        truth.append({"kind": "fuzzy", "supporterId": r.supporter_id, "email": r.email.strip().lower()})
    for n in range(not_found):
        writer.writerow([f"not.held.{seed}.{n}@example.invalid", f"Nobody Held{n}", "1 Nowhere Lane", "ZZ9 9ZZ",
                         "email", day.isoformat()])
        truth.append({"kind": "not found", "supporterId": None, "email": f"not.held.{seed}.{n}@example.invalid"})
    return out.getvalue().encode("utf-8"), truth
