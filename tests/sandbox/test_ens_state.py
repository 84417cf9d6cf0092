"""The behaviour of :mod:`enstoolkit.sandbox.ens_state` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
from collections.abc import Coroutine
from typing import Any

from starlette.requests import Request

from enstoolkit.sandbox.ens_state import ENSState, bool_param, error, json_body, not_present, supporter_write


def _sent(data: bytes) -> Request:
    """A POST request whose body is ``data``."""

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": data}

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on a thread of its own: the caller may already be inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_module() -> None:
    """enstoolkit.sandbox.ens_state: the emulated ENS account's supporters, pages, tokens, rate limit and jobs."""
    from enstoolkit.sandbox.clock import SandboxClock
    from enstoolkit.sandbox.data import DEFAULT_NOW

    assert ENSState(supporters=10, seed=0, clock=SandboxClock(DEFAULT_NOW)).first_supporter_id() == 100001


def test_error() -> None:
    """error: An ENS error body, keys in the live service's order: ``{messageId, message[, developerMessage]}``."""
    answer = error(401, "Invalid ens-auth-token", 10000006)
    assert (answer.status_code, answer.body) == (401, b'{"messageId":10000006,"message":"Invalid ens-auth-token"}')


def test_ensstate() -> None:
    """ENSState: Everything the emulated ENS account holds; writes persist for the life of the server."""
    from enstoolkit.sandbox.clock import SandboxClock
    from enstoolkit.sandbox.data import DEFAULT_NOW

    state = ENSState(supporters=10, seed=0, clock=SandboxClock(DEFAULT_NOW))
    assert state.first_supporter_id() == 100001


def test_ensstate_first_supporter_id() -> None:
    """ENSState.first_supporter_id: The lowest supporter id still present."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    assert (state.first_supporter_id(), state.delete(100001), state.first_supporter_id()) == (100001, True, 100002)


def test_ensstate_expire_tokens() -> None:
    """ENSState.expire_tokens: Expire every session token now (as if an hour had passed); returns how many."""
    from enstoolkit import ENSClient
    from enstoolkit.sandbox import Sandbox

    with Sandbox(supporters=3) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        token = ens._session_token()
        assert (sb.ens.expire_tokens(), sb.ens.token_valid(token)) == (1, False)


def test_ensstate_reset_rate_limit() -> None:
    """ENSState.reset_rate_limit: Forget the requests counted against the hourly limit."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3, hourly_limit=1).ens
    assert (state.count_request(), state.count_request()) == (True, False)  # the second is over the limit
    state.reset_rate_limit()
    assert state.count_request()


def test_ensstate_find_email() -> None:
    """ENSState.find_email: The supporter with this email (compared lowercased, as ENS does)."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    assert (state.find_email("Ana.Miller@Mail.Example.org").supporter_id, state.find_email("nobody@example.org")) == (
        100001,
        None,
    )


def test_ensstate_now() -> None:
    """ENSState.now: The sandbox clock's time (it starts at the account's generation time and runs)."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    assert (state.now.date(), state.now >= state.clock.start) == (dt.date(2026, 10, 1), True)


def test_ensstate_now_ms() -> None:
    """ENSState.now_ms: The sandbox clock in epoch milliseconds."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    assert dt.datetime.fromtimestamp(state.now_ms() / 1000, dt.UTC).date() == dt.date(2026, 10, 1)


def test_ensstate_count_request() -> None:
    """ENSState.count_request: Count one request in the rolling hour; False when the limit is used up."""
    from enstoolkit.sandbox import Sandbox

    sb = Sandbox(supporters=3, hourly_limit=2)
    assert [sb.ens.count_request() for _ in range(3)] == [True, True, False]
    _ = sb.advance(hours=1, minutes=1)  # the rolling hour moves on
    assert sb.ens.count_request()


def test_ensstate_token_valid() -> None:
    """ENSState.token_valid: Whether ``token`` is a live session token."""
    from enstoolkit import ENSClient
    from enstoolkit.sandbox import Sandbox

    with Sandbox(supporters=3, token_ttl=60) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        token = ens._session_token()
        before = sb.ens.token_valid(token)
        _ = sb.advance(minutes=2)  # past the token's time to live
        assert (before, sb.ens.token_valid(token), sb.ens.token_valid(None)) == (True, False, False)


def test_ensstate_transactions() -> None:
    """ENSState.transactions: The supporter's transactions as the sandbox keeps them (made on first use; see
    :meth:`transaction_view`).
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    rec = state.records[100001]
    assert ([t["name"] for t in state.transactions(rec)][:1], state.transactions(rec) is rec.transactions) == (
        ["Save Our Rivers"],
        True,
    )  # kept


def test_ensstate_history() -> None:
    """ENSState.history: The supporter's transactions: those held, else made afresh (deterministically) without keeping
    them.
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    rec = state.records[100002]
    assert ([t["type"] for t in state.history(rec)][:2], rec.transactions is None) == (
        ["dc", "EMAIL"],
        True,
    )  # made, not kept


def test_ensstate_recurring() -> None:
    """ENSState.recurring: a supporter's recurring schedules, one per recurring gift page given to."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=40).ens
    assert sum(bool(state.recurring(r)) for r in state.records.values()) > 0


def test_ensstate_transaction_view() -> None:
    """ENSState.transaction_view: A transaction as the live service lists it."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3, variant="us-account").ens
    stored = state.transactions(state.records[100001])[0]
    assert state.transaction_view(stored)["createdOn"] == "05/12/2024"  # in the account's date order


def test_ensstate_memberships() -> None:
    """ENSState.memberships: The supporter's memberships: one per membership page transaction."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=50).ens
    assert [m["membershipName"] for m in state.memberships(state.records[100038])] == ["Annual Membership (1 year)"]


def test_ensstate_answers() -> None:
    """ENSState.answers: The supporter's question answers as the account shows them (pending and range answers per
    variant).
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=20, variant="optin_codes=YNP").ens
    assert state.answers(state.records[100020])[784][0] == "P"  # a double opt-in still pending


def test_ensstate_answer_history() -> None:
    """ENSState.answer_history: Every answer the supporter gave, oldest first: ``(questionId, answer, epoch ms)``."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=60).ens
    rec = next(r for r in state.records.values() if 4512 in r.earlier_answers)
    assert [answer for qid, answer, _ in state.answer_history(rec) if qid == 4512] == ["Y", "N"]


def test_ensstate_supporter_body() -> None:
    """ENSState.supporter_body: GET /supporter's flat object: ids, then fields by the account's names (empty ones left
    out).
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    body = state.supporter_body(state.records[100001], questions=True, memberships=False)
    assert (list(body)[:3], [q["name"] for q in body["questions"]]) == (
        ["supporterId", "suppressed", "Title"],
        ["Email Opt-in (double)", "Marketing Optin"],
    )


def test_ensstate_apply_fields() -> None:
    """ENSState.apply_fields: Write field values, keeping the email index right."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    rec = state.records[100001]
    state.apply_fields(rec, {"Email Address": "ana@example.org", "City": "Leeds"})
    assert (state.find_email("ana@example.org") is rec, rec.fields["City"]) == (True, "Leeds")
    assert state.find_email("ana.miller@mail.example.org") is None


def test_ensstate_apply_questions() -> None:
    """ENSState.apply_questions: Record question responses dated by the frozen clock."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    rec = state.records[100001]
    state.apply_questions(rec, {4513: "Y"})
    assert rec.questions[4513][0] == "Y"


def test_ensstate_create() -> None:
    """ENSState.create: A new supporter with the given fields."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    rec = state.create({"Email Address": "new@example.org", "First Name": "New"})
    assert (rec.supporter_id, state.find_email("new@example.org") is rec, state.created["new@example.org"]) == (
        100004,
        True,
        1,
    )


def test_ensstate_delete() -> None:
    """ENSState.delete: Remove a supporter; False when there was none."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    assert (state.delete(100001), state.delete(100001), state.find_email("ana.miller@mail.example.org")) == (
        True,
        False,
        None,
    )


def test_ensstate_parse_fields() -> None:
    """ENSState.parse_fields: A supporter object's keys as canonical field names (the account's names, or properties);
    and the unknown.
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    assert state.parse_fields({"emailAddress": "a@x.org", "shoeSize": "9"}, standard=True) == (
        {"Email Address": "a@x.org"},
        ["shoeSize"],
    )
    assert state.parse_fields({"Email Address": "a@x.org", "City": None}, standard=False) == (
        {"Email Address": "a@x.org", "City": ""},
        [],
    )


def test_ensstate_parse_questions() -> None:
    """ENSState.parse_questions: A ``questions`` object (names or ``question.{id}`` keys) as questionId -> answer; and
    the refused.
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    assert state.parse_questions({"Marketing Optin": "y", "question.4513": "N", "SMS Optin": "maybe"}) == (
        {4512: "Y", 4513: "N"},
        ["SMS Optin='maybe'"],
    )


def test_ensstate_add_transaction() -> None:
    """ENSState.add_transaction: Record a transaction on a page for a supporter (made if new), dated ``created_ms`` as
    given (epoch ms):
    """
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    state.add_transaction("new.donor@example.org", 130, 1_790_000_000_000)
    assert [t["createdDate"] for t in state.transactions(state.find_email("new.donor@example.org"))] == [1790000000000]


def test_ensstate_next_transaction_id() -> None:
    """ENSState.next_transaction_id: A fresh transaction id."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    assert (state.next_transaction_id(), state.next_transaction_id()) == (90000001, 90000002)


def test_not_present() -> None:
    """not_present: ENS's 400 answer to a request naming fields or questions the account does not have."""
    answer = not_present(["Shoe Size"])
    assert (answer.status_code, json.loads(answer.body)["message"]) == (
        400,
        "The following fields are not present in the account, please review: Shoe Size",
    )


def test_supporter_write() -> None:
    """supporter_write: The fields and question answers of a POST/PUT /supporter body, or the error to answer."""
    from enstoolkit.sandbox import Sandbox

    state = Sandbox(supporters=3).ens
    body = b'{"Email Address": "jo@x.org", "questions": {"Marketing Optin": "y"}}'
    assert _run(supporter_write(state, _sent(body))) == ({"Email Address": "jo@x.org"}, {4512: "Y"})
    assert _run(supporter_write(state, _sent(b'{"Shoe Size": "9"}'))).status_code == 400


def test_bool_param() -> None:
    """bool_param: Whether the query parameter ``name`` is set to true (``true``, ``1`` or ``yes``)."""
    request = Request({"type": "http", "query_string": b"includeQuestions=true&includeMemberships=0"})
    assert (
        bool_param(request, "includeQuestions"),
        bool_param(request, "includeMemberships"),
        bool_param(request, "x"),
    ) == (True, False, False)


def test_json_body() -> None:
    """json_body: The request's JSON body: None when it is empty, ``...`` (Ellipsis) when it is not JSON."""
    assert (_run(json_body(_sent(b'{"supporter": {}}'))), _run(json_body(_sent(b" ")))) == ({"supporter": {}}, None)
    assert _run(json_body(_sent(b"not json"))) is ...
