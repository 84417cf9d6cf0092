"""The behaviour of :mod:`enstoolkit.sandbox.data` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import random

from enstoolkit.sandbox.data import (
    DEFAULT_NOW,
    QUESTIONS,
    SupporterRecord,
    _Random,
    generate_supporters,
    make_pages,
    make_transactions,
    transaction_for,
)


def test_module() -> None:
    """enstoolkit.sandbox.data: Seeded, deterministic synthetic data for the sandbox: an ENS account shaped like a
    charity's.
    """
    from enstoolkit.sandbox.data import DEFAULT_NOW, generate_supporters

    a = generate_supporters(100, seed=1, now=DEFAULT_NOW)
    b = generate_supporters(100, seed=1, now=DEFAULT_NOW)
    assert a[0] == b[0]


def test_question() -> None:
    """Question: A supporter question of the account."""
    question = QUESTIONS[0]
    assert (question.name, question.type, question.question_id, question.values) == (
        "Marketing Optin",
        "OPT",
        4512,
        ("Y",),
    )


def test_question_response_type() -> None:
    """Question.response_type: The type as a supporter's question responses name it."""
    assert (QUESTIONS[0].response_type, QUESTIONS[3].response_type) == ("OPTIN", "CONFIRMATION")


def test_page() -> None:
    """Page: A page of the account."""
    page = make_pages(DEFAULT_NOW)[0]
    assert (page.id, page.type, page.sub_type, page.name, page.status) == (
        100,
        "dc",
        "DCF",
        "Newsletter Sign Up",
        "live",
    )


def test_page_campaign_id() -> None:
    """Page.campaign_id: The campaign id ENS uses in transactions."""
    assert make_pages(DEFAULT_NOW)[0].campaign_id == 10100


def test_make_pages() -> None:
    """make_pages: The account's pages (ids from 100; page 100 is the sign-up form of the overview's examples)."""
    assert make_pages(DEFAULT_NOW)[0].name == "Newsletter Sign Up"


def test_random() -> None:
    """_Random: ``random.Random`` with quicker ``randint`` and ``choice``: the same values from the same seed, fewer
    calls.
    """
    a, b = random.Random(3), _Random(3)
    assert [a.randint(1, 999) for _ in range(5)] == [b.randint(1, 999) for _ in range(5)]
    assert a.choice("ABCDEFG") == b.choice("ABCDEFG")


def test_supporter_record() -> None:
    """SupporterRecord: One supporter as the sandbox stores it."""
    rec = generate_supporters(1, seed=0, now=DEFAULT_NOW)[0]
    assert (rec.supporter_id, rec.fields["First Name"], rec.questions[4512][0]) == (100001, "Ana", "N")


def test_supporter_record_email() -> None:
    """SupporterRecord.email: The primary email address as stored (may carry case or spaces)."""
    assert (
        SupporterRecord(100001, {"Email Address": " Jo@Example.org"}, DEFAULT_NOW, DEFAULT_NOW).email
        == " Jo@Example.org"
    )


def test_generate_supporters() -> None:
    """generate_supporters: Make ``count`` supporters, deterministic for ``seed`` and ``now``."""
    people = generate_supporters(10, seed=0, now=DEFAULT_NOW)
    assert people[0].supporter_id == 100001


def test_make_transactions() -> None:
    """make_transactions: A supporter's transaction history, made deterministically on first use."""
    pages = {p.id: p for p in make_pages(DEFAULT_NOW)}
    rec = generate_supporters(1, 0, DEFAULT_NOW)[0]
    assert make_transactions(rec, 0, pages, DEFAULT_NOW)[0]["campaignId"] == 10_000 + rec.source_page


def test_transaction_for() -> None:
    """transaction_for: A transaction list item in the spec's shape for a page of any type."""
    page = make_pages(DEFAULT_NOW)[0]
    assert transaction_for(page, DEFAULT_NOW, None, 1)["subtype"] == "DCF"


def test_weighted_draws_what_choices_draws() -> None:
    import random

    from enstoolkit.sandbox.data import _Random

    for seed in range(20):
        a, b = random.Random(seed), _Random(seed)
        assert [a.choices("xyz", cum_weights=[1, 3, 6])[0] for _ in range(50)] == \
            [b.weighted("xyz", [1, 3, 6]) for _ in range(50)]
