"""valid_emails gives is_valid_email's answer for every value, whichever engine checked it."""

from __future__ import annotations

import random

import polars as pl

from enstoolkit.inputs.arguments import is_valid_email, valid_emails


def test_valid_emails_agrees_with_is_valid_email_on_every_value() -> None:
    rng = random.Random(1)
    alphabet = "abAB09.-_@+~{}&' \t\n\x1c\x1f\u00a0\u2028\u0085é"
    values: list[str | None] = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                                for _ in range(20000)]
    for _ in range(5000):  # near-addresses: the local part, one @, dotted labels, space or controls around
        local = "".join(rng.choice("ab.-_+") for _ in range(rng.randint(0, 5)))
        domain = ".".join("".join(rng.choice("ab-9") for _ in range(rng.randint(0, 4)))
                          for _ in range(rng.randint(1, 4)))
        values.append(rng.choice(["", " ", "\n", "\x1f"]) + local + "@" + domain
                      + rng.choice(["", " ", "\n", "\x1c", "\u2028", "\u0085"]))
    values += ["a" * 248 + "@x.org", "a" * 249 + "@x.org", " " + "a" * 248 + "@x.org ", None, "a..b@x.org",
               ".a@x.org", "a.@x.org", "a@-x.org", "a@x-.org", "a@x..org", "jo@example.org", "Jo@Example.ORG "]
    got = valid_emails(pl.Series("email", values, dtype=pl.String))
    want = [None if v is None else is_valid_email(v.strip()) for v in values]
    assert got.name == "email" and got.dtype == pl.Boolean
    assert got.to_list() == want
    assert 200 < sum(bool(w) for w in want) < len(values) - 200  # both answers are well represented
