"""The behaviour of :mod:`enstoolkit.sandbox.encharge_state` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.encharge_state import (
    EnchargeState,
    Variant,
    encharge_error,
    error_body,
    iso,
    parse_people_query,
    split_tags,
)


def test_module() -> None:
    """enstoolkit.sandbox.encharge_state: The Encharge half of the sandbox, its state: people, tags, subscriptions and
    deliveries.
    """
    from enstoolkit.sandbox.clock import SandboxClock
    from enstoolkit.sandbox.data import DEFAULT_NOW
    from enstoolkit.sandbox.ens_state import ENSState

    ens = ENSState(supporters=50, seed=0, clock=SandboxClock(DEFAULT_NOW))
    assert 0 < len(EnchargeState(ens, seed=0).people) < 60


def test_iso() -> None:
    """iso: Epoch milliseconds as Encharge writes dates: ``2025-11-20T19:05:09.385Z``."""
    assert iso(1_763_665_509_385) == "2025-11-20T19:05:09.385Z"
    assert [iso(ms) for ms in (0, 999, 1_000, 1_763_665_509_000)] == [
        "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.999Z", "1970-01-01T00:00:01.000Z", "2025-11-20T19:05:09.000Z"]


def test_error_body() -> None:
    """error_body: Encharge's error envelope, as observed on the wire (segevsh/w6w-apps ``tests/_helpers.ts``):"""
    assert sorted(error_body("Person not found.")["error"]) == ["markdown", "message", "traceId"]


def test_encharge_error() -> None:
    """encharge_error: Encharge's error envelope (:func:`error_body`) as a response."""
    import json

    answer = encharge_error(404, "Person not found.")
    assert (answer.status_code, json.loads(answer.body)["error"]["message"]) == (404, "Person not found.")


def test_encharge_state() -> None:
    """EnchargeState: The emulated Encharge account."""
    from enstoolkit.sandbox.clock import SandboxClock
    from enstoolkit.sandbox.data import DEFAULT_NOW
    from enstoolkit.sandbox.ens_state import ENSState

    ens = ENSState(supporters=50, seed=0, clock=SandboxClock(DEFAULT_NOW))
    enc = EnchargeState(ens, seed=0)
    assert 0 < len(enc.people) < 60


def test_encharge_state_add_person() -> None:
    """EnchargeState.add_person: Put a person into the account with ``email`` exactly as given (its case kept), for
    tests.
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=20).encharge
    old = next(iter(state.people.values()))
    twin = state.add_person(old["email"].upper(), first="Jo")
    assert (twin["id"] != old["id"], state.find({"email": old["email"]}) is old) == (True, True)


def test_encharge_state_forget() -> None:
    """EnchargeState.forget: Take a person out of the indexes by email and userId (only where they point to this
    person).
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=20).encharge
    person = next(iter(state.people.values()))
    state.forget(person)
    assert state.find({"email": person["email"]}) is None


def test_encharge_state_clock() -> None:
    """EnchargeState.clock: The sandbox clock in epoch milliseconds, at least one more than the last write's, so writes
    stay ordered.
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=20).encharge
    first, second = state.clock(), state.clock()
    assert second > first  # two writes in the same millisecond still come in order


def test_encharge_state_find() -> None:
    """EnchargeState.find: A person by id, userId or email (in that order)."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=20).encharge
    person = next(iter(state.people.values()))
    assert (state.find({"email": person["email"].upper()}) is person, state.find({"id": "no-such-id"})) == (True, None)


def test_encharge_state_public() -> None:
    """EnchargeState.public: a person as the API shows them in the account's variant."""
    from enstoolkit.sandbox.clock import SandboxClock
    from enstoolkit.sandbox.data import DEFAULT_NOW
    from enstoolkit.sandbox.ens_state import ENSState

    ens = ENSState(supporters=20, seed=0, clock=SandboxClock(DEFAULT_NOW))
    state = EnchargeState(ens, seed=0, variant=Variant.of("encharge-no-status"))
    shown = state.public(next(iter(state.people.values())))
    assert ("unsubscribed" in shown, "userId" in shown, "country" in shown["data"]) == (False, False, True)


def test_encharge_state_tag_counts() -> None:
    """EnchargeState.tag_counts: How many (unarchived) people carry each tag."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=20).encharge
    counts = state.tag_counts()
    assert (sorted(counts)[:3], all(n >= 0 for n in counts.values())) == (["donor", "event-2026", "member"], True)


def test_parse_people_query() -> None:
    """parse_people_query: The people a query string names (``people[0][email]=...``), in index order; other parameters
    are left out.
    """
    assert parse_people_query([("people[1][id]", "p2"), ("people[0][email]", "a@x.org"), ("limit", "5")]) == [
        {"email": "a@x.org"},
        {"id": "p2"},
    ]


def test_split_tags() -> None:
    """split_tags: Tags from a list or a comma-separated string, trimmed, empty ones left out; anything else gives
    none.
    """
    assert (split_tags(" vip, donor ,,"), split_tags(["vip"]), split_tags(None)) == (["vip", "donor"], ["vip"], [])
