"""The behaviour of :mod:`enstoolkit.sandbox.account` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import datetime as dt

from enstoolkit.sandbox.account import Account, Variant


def test_module() -> None:
    """enstoolkit.sandbox.account: The emulated ENS account's configuration as a variant shapes it: field names,
    questions, dates, answers.
    """
    from enstoolkit.sandbox.variants import Variant

    account = Account(Variant.of("us-account"))
    assert (account.display("Postcode"), account.email_field, account.date(dt.date(2026, 3, 1))) == (
        "ZIP or Postal Code",
        "Email",
        "03/01/2026",
    )


def test_account() -> None:
    """Account: Names, questions and formats of the emulated account under one :class:`Variant`."""
    account = Account(Variant())
    assert (account.email_field, [q.name for q in account.questions][:2]) == (
        "Email Address",
        ["Marketing Optin", "Newsletter Optin"],
    )


def test_account_email_field() -> None:
    """Account.email_field: The name the account gives its email field."""
    assert (Account(Variant()).email_field, Account(Variant(email_field="Email")).email_field) == (
        "Email Address",
        "Email",
    )


def test_account_display() -> None:
    """Account.display: The account's name for a canonical field."""
    account = Account(Variant.of("us-account"))
    assert (account.display("Region"), account.display("City")) == ("State or Province", "City")


def test_account_fields() -> None:
    """Account.fields: GET /supporter/fields: ``{id, name, tag, property}`` in the account's names."""
    assert Account(Variant.of("us-account")).fields()[3] == {
        "id": 2913,
        "name": "Email",
        "tag": "Email Address",
        "property": "emailAddress",
    }


def test_account_canonical() -> None:
    """Account.canonical: The canonical field a client's key names (by the account's name, or by property), or None."""
    account = Account(Variant.of("us-account"))
    assert (account.canonical("zip or postal code"), account.canonical("postcode", standard=True)) == (
        "Postcode",
        "Postcode",
    )
    assert account.canonical("Postcode") is None  # not this account's name for it


def test_account_record_name() -> None:
    """Account.record_name: The name a supporter record gives ``question`` (its ``id`` is always the ``questionId``)."""
    question = Account(Variant()).questions[0]
    assert (
        Account(Variant()).record_name(question),
        Account(Variant(question_names="short")).record_name(question),
    ) == ("Marketing Optin", "Marketing Opt-in")


def test_account_shown() -> None:
    """Account.shown: A supporter's canonical fields under the account's names."""
    assert Account(Variant.of("us-account")).shown({"Postcode": "02139", "City": "Boston"}) == {
        "ZIP or Postal Code": "02139",
        "City": "Boston",
    }


def test_account_date() -> None:
    """Account.date: A date as the account writes it (DD/MM/YYYY, or MM/DD/YYYY on a US-style account)."""
    day = dt.date(2026, 3, 1)
    assert (Account(Variant()).date(day), Account(Variant(date_order="mdy")).date(day)) == ("01/03/2026", "03/01/2026")


def test_account_answers() -> None:
    """Account.answers: The supporter's question answers as this account shows them."""
    stored = {4512: ("Y", 1_700_000_000_000)}
    assert Account(Variant(range_questions=False)).answers(100004, stored, 1_600_000_000_000) == {
        4512: ("Y", 1700000000000)
    }
    pending = Account(Variant(range_questions=False, optin_codes="YNP"))  # 100004 never answered 784
    assert pending.answers(100004, stored, 1_600_000_000_000)[784] == ("P", 1600000060000)


def test_account_pending() -> None:
    """Account.pending: Whether this supporter's double opt-in is pending (never confirmed), in every variant."""
    assert [sid for sid in range(100001, 100021) if Account(Variant()).pending(sid)] == [100004, 100011, 100016, 100020]


def test_draws_are_kept_and_handed_to_another_copy_of_the_account() -> None:
    account = Account(Variant())
    _ = account.answers(100001, {}, 0)
    assert list(account.draws()[0]) == [100001]
    mine, other = Account(Variant()), Account(Variant())
    _ = other.answers(100001, {}, 0)
    mine.keep_draws(other.draws())
    assert mine.answers(100001, {}, 0) == other.answers(100001, {}, 0)


def test_which_supporters_have_a_pending_double_opt_in() -> None:
    assert [sid for sid in range(100001, 100021) if Account(Variant()).pending(sid)] == [100004, 100011, 100016, 100020]
