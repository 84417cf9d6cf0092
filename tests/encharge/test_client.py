"""EnchargeClient against the sandbox over loopback: every operation, its schema and its errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import polars as pl
import pytest

from enstoolkit import EnchargeClient, RetryPolicy, schemas
from enstoolkit.bulk import Journal, tag_people
from enstoolkit.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    RateLimitExceeded,
    ServerError,
    ValidationError,
)
from enstoolkit.sandbox import Sandbox

from ..conftest import RecordingTransport


def some_people(sandbox: Sandbox, n: int, **where: object) -> list[dict]:
    found = [p for p in sandbox.encharge.people.values()
             if not p["archived"] and all(p.get(k) == v for k, v in where.items())]
    return found[:n]


# -- construction ---------------------------------------------------------------------------


def test_environment_and_defaults(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    monkeypatch.setenv("ENCHARGE_API_KEY", sandbox.encharge_api_key)
    monkeypatch.setenv("ENCHARGE_BASE_URL", sandbox.encharge_url)
    with EnchargeClient() as enc:
        assert enc.get_account().item(0, "peopleCount") == sandbox.encharge_people_count()
    monkeypatch.delenv("ENCHARGE_BASE_URL")
    assert EnchargeClient("k" * 10).base_url == "https://api.encharge.io/v1"
    monkeypatch.delenv("ENCHARGE_API_KEY")
    with pytest.raises(ConfigurationError, match="ENCHARGE_API_KEY"):
        EnchargeClient()
    with pytest.raises(ValidationError, match=r"api\.encharge\.io"):
        EnchargeClient("k" * 10, "https://api.example.org/v1")


def test_token_header_and_secret_kept_out(enc: EnchargeClient, recorder: RecordingTransport,
                                          sandbox: Sandbox) -> None:
    enc.get_account()
    assert recorder.exchanges[0][0].headers["x-encharge-token"] == sandbox.encharge_api_key
    assert sandbox.encharge_api_key not in repr(enc)


def test_bad_key_is_an_authentication_error_with_enchagre_message(sandbox: Sandbox) -> None:
    with EnchargeClient("wrong-key-123456", sandbox.encharge_url) as enc, pytest.raises(AuthenticationError) as info:
        enc.get_tags()
    assert info.value.status_code == 401
    assert info.value.message == "Token without payload (should be JWT token)."  # as published (w6w-apps)
    assert info.value.message_id == 10082
    assert "wrong-key-123456" not in str(info.value)


def test_errors_follow_the_published_ones(enc: EnchargeClient, sandbox: Sandbox) -> None:
    # segevsh/w6w-apps probed the live API: these bodies and messages, and Express's HTML for unknown routes.
    no_token = httpx.get(f"{sandbox.encharge_url}/accounts/info")
    assert no_token.status_code == 401
    error = no_token.json()["error"]
    assert error["message"] == "User not logged in: Unauthorized request: no authentication given"
    assert error["markdown"] == f"<p>{error['message']}</p>" and "errorCode" not in error
    unknown = httpx.get(f"{sandbox.encharge_url}/no-such-thing", headers={"X-Encharge-Token": "x"})
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert "<pre>Cannot GET /v1/no-such-thing</pre>" in unknown.text
    wrong_method = httpx.put(f"{sandbox.encharge_url}/people")
    assert wrong_method.status_code == 404 and "<pre>Cannot PUT /v1/people</pre>" in wrong_method.text
    with pytest.raises(NotFoundError) as info:  # the client's error ladder reads the page's message
        enc.request("GET", "/no-such-thing")
    assert info.value.message == "Cannot GET /v1/no-such-thing"


# -- 429, Retry-After and 403 ----------------------------------------------------------------


def test_429_is_waited_out_as_retry_after_says(enc: EnchargeClient, sandbox: Sandbox,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="enstoolkit")
    sandbox.fail_next(2, status=429, method="GET", path="/v1/tags-management", retry_after=0.05)
    assert enc.get_tags().height > 0
    assert sandbox.received[("GET", "/v1/tags-management")] == 3  # two refusals, then the answer
    assert caplog.text.count("answered 429; retry") == 2 and "in 0.05s" in caplog.text
    caplog.clear()
    # An HTTP date, counted from the answer's own Date (the sandbox clock is months from the real one).
    sandbox.fail_next(1, status=429, method="GET", path="/v1/fields", retry_after="date:1")
    assert enc.get_fields().height > 0
    assert sandbox.received[("GET", "/v1/fields")] == 2
    assert "answered 429; retry 1 in 1.00s" in caplog.text
    # The tagging path (POST /tags, safe to repeat) waits too; the sandbox acted once.
    person = some_people(sandbox, 1)[0]
    sandbox.fail_next(1, status=429, method="POST", path="/v1/tags", retry_after=0)
    assert enc.add_tags([person["email"]], "patient").item(0, "status") == "done"
    assert sandbox.received[("POST", "/v1/tags")] == 2
    assert sandbox.encharge.tag_requests[(person["id"], "patient", "POST")] == 1


def test_429_beyond_the_bound_or_not_repeatable_is_raised(enc: EnchargeClient, sandbox: Sandbox) -> None:
    enc.retry = RetryPolicy(backoff=0.01, max_wait=30)
    sandbox.fail_next(1, status=429, method="GET", path="/v1/segments", retry_after=120)
    with pytest.raises(RateLimitExceeded) as info:
        enc.get_segments()
    assert info.value.retry_after == 120 and info.value.status_code == 429
    assert sandbox.received[("GET", "/v1/segments")] == 1  # not waited out: more than max_wait
    sandbox.fail_next(1, status=429, method="POST", path="/v1/event-subscriptions", retry_after=0)
    with pytest.raises(RateLimitExceeded):
        enc.create_subscription("newUser", "http://127.0.0.1:9/hook")  # not safe to repeat: raised at once
    assert sandbox.received[("POST", "/v1/event-subscriptions")] == 1
    assert not sandbox.encharge.subscriptions


def test_403_on_one_item_fails_that_item_not_the_run(enc: EnchargeClient, sandbox: Sandbox, tmp_path: Path) -> None:
    people = some_people(sandbox, 4)
    sandbox.fail_next(1, status=403, method="POST", path="/v1/tags")
    run = tag_people(enc, [p["email"] for p in people], "allowed", journal=Journal(tmp_path / "j.sqlite3"),
                     progress=False)
    items = run.items()
    assert run.counts() == {"done": 3, "failed": 1}
    failed = items.filter(pl.col("state") == "failed")
    assert failed.item(0, "error") == "Forbidden"
    assert sandbox.received[("POST", "/v1/tags")] == 4
    tagged = [p["id"] for p in people if "allowed" in p["tags"]]
    assert len(tagged) == 3


# -- people ----------------------------------------------------------------------------------


def test_upsert_people_batched_with_tags(enc: EnchargeClient, recorder: RecordingTransport,
                                         sandbox: Sandbox) -> None:
    records = [{"email": f"Person{i}@Example.org", "firstName": f"P{i}", "tags": ["spring", "vip"],
                "leadScore": i} for i in range(25)]
    df = enc.upsert_people(records, batch_size=10)
    assert df.height == 25
    posts = recorder.calls("POST", "/v1/people")
    assert [len(json.loads(rq.content)) for rq, _ in posts] == [10, 10, 5]
    first = json.loads(posts[0][0].content)[0]
    assert first["email"] == "person0@example.org" and first["tags"] == "spring,vip"
    assert df.schema["tags"] == pl.List(pl.String) and df.schema["leadScore"] == pl.Float64
    assert df.row(0, named=True)["tags"] == ["spring", "vip"]
    assert df.columns[:len(schemas.encharge.PERSON)] == list(schemas.encharge.PERSON)
    again = enc.upsert_people(pl.DataFrame({"email": ["person0@example.org"], "lastName": ["Zed"]}))
    assert again.item(0, "id") == df.item(0, "id") and again.item(0, "name") == "P0 Zed"


def test_upsert_bad_input_sends_nothing(enc: EnchargeClient, recorder: RecordingTransport) -> None:
    for bad, argument in [
        ([{"firstName": "No Id"}], "records[0]"),
        ([{"email": "not-an-email"}], "records[0]['email']"),
        ([{"email": "a@example.org", "tags": ["a,b"]}], "tags"),
        ([{"email": "a@example.org", "tags": [" "]}], "tags"),
        ([], "records"),
        ([1, 2], "records"),
    ]:
        with pytest.raises(ValidationError) as info:
            enc.upsert_people(bad)
        assert info.value.argument == argument
    assert recorder.exchanges == []


def test_single_object_upsert_answers_user(enc: EnchargeClient) -> None:
    body = enc.request("POST", "/people", json={"email": "single@example.org", "firstName": "Single"})
    assert body["user"]["email"] == "single@example.org"
    body = enc.request("POST", "/people", json=[{"email": "array@example.org"}])
    assert body["users"][0]["email"] == "array@example.org"


def test_update_person_including_email(enc: EnchargeClient, sandbox: Sandbox) -> None:
    person = some_people(sandbox, 1)[0]
    updated = enc.update_person(person["id"], {"email": "changed@example.org", "city": "York"})
    assert updated.select("id", "email", "city").row(0) == (person["id"], "changed@example.org", "York")
    assert enc.get_people(emails=["changed@example.org"]).item(0, "id") == person["id"]
    by_email = enc.update_person("changed@example.org", {"leadScore": 77})
    assert by_email.item(0, "leadScore") == 77.0
    from enstoolkit.errors import NotFoundError

    with pytest.raises(NotFoundError):
        enc.update_person("nobody@example.org", {"leadScore": 1})
    with pytest.raises(ValidationError, match="an email address, an Encharge id"):
        enc.update_person({"email": "a@example.org", "id": "x"}, {"leadScore": 1})


def test_get_people_in_chunks(enc: EnchargeClient, recorder: RecordingTransport, sandbox: Sandbox) -> None:
    people = some_people(sandbox, 30)
    emails = [p["email"].upper() for p in people[:20]]
    ids = [p["id"] for p in people[20:]]
    df = enc.get_people(emails=[*emails, "nobody@example.org"], ids=ids, chunk_size=8)
    assert df.height == 30
    assert set(df.get_column("id")) == {p["id"] for p in people}
    gets = recorder.calls("GET", "/v1/people")
    assert len(gets) == 4  # 31 identifiers in chunks of 8
    firsts = {rq.url.params.get("people[0][email]") for rq, _ in gets}  # chunks go out in parallel
    assert emails[0].lower() in firsts
    narrow = enc.get_people(user_ids=[people[0]["userId"]], attributes=["country"])
    assert narrow.item(0, "country") == people[0]["country"]
    with pytest.raises(ValidationError):
        enc.get_people()


def test_list_people_pages_until_a_short_page(enc: EnchargeClient, recorder: RecordingTransport,
                                              sandbox: Sandbox) -> None:
    df = enc.list_people(limit=40)
    total = sandbox.encharge_people_count()
    assert df.height == total and df.get_column("id").is_unique().all()
    pages = total // 40 + 1
    # up to 4 pages in flight: at most 3 requests beyond the short last page
    assert pages <= len(recorder.calls("GET", "/people/all")) <= pages + 3
    newest = enc.list_people(sort="createdAt", order="desc", max_people=3)
    assert newest.height == 3 and newest.get_column("createdAt").is_sorted(descending=True)
    with pytest.raises(ValidationError, match="asc"):
        enc.list_people(order="newest")


def test_archive_and_erase(enc: EnchargeClient, sandbox: Sandbox) -> None:
    a, b = some_people(sandbox, 2)
    archived = enc.delete_people(emails=[a["email"], "nobody@example.org"])
    assert archived.select("email", "action", "status").rows() == [
        (a["email"], "archive", "done"), ("nobody@example.org", "archive", "not found")]
    assert sandbox.encharge.people[a["id"]]["archived"] is True
    assert enc.get_people(emails=[a["email"]]).height == 0
    assert enc.get_people(emails=[a["email"]], include_archived=True).height == 1
    erased = enc.delete_people(pl.DataFrame({"id": [b["id"]]}), force=True)
    assert erased.select("id", "action", "status").row(0) == (b["id"], "erase", "done")
    assert b["id"] not in sandbox.encharge.people
    assert sandbox.encharge.erased[-1]["email"] == b["email"]
    from enstoolkit.records import read_erasures

    mine = read_erasures(account_id=sandbox.encharge.account_id)
    assert b["email"] in mine.get_column("email").to_list()
    assert read_erasures(account_id=sandbox.encharge.account_id + 1).filter(
        pl.col("email") == b["email"]).height == 0  # another account's audit never sees this erasure


def test_an_erasure_whose_answer_was_lost_is_done_not_an_error(tmp_path: Path) -> None:
    from enstoolkit.sandbox import Faults

    faults = Faults(drop_after_rate=0.5, seed=0, routes=("/v1/people",), methods=("DELETE",))  # the first, not the 2nd
    with Sandbox(supporters=50, seed=3, faults=faults) as sb, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url, retry=RetryPolicy(backoff=0.01)) as enc:
        person = some_people(sb, 1)[0]
        erased = enc.delete_people(emails=[person["email"]], force=True)  # acted on, answer lost, repeated: 404
        assert faults.counts["drop_after"] == 1
        assert erased.select("status", "http_status").row(0) == ("done", 404)
        assert person["id"] not in sb.encharge.people


def test_unsubscribe_by_query_parameters(enc: EnchargeClient, recorder: RecordingTransport,
                                         sandbox: Sandbox) -> None:
    person = some_people(sandbox, 1, unsubscribed=False)[0]
    assert enc.unsubscribe(person["email"]) == [person["id"]]  # an email: everyone holding it, each by id
    request = recorder.calls("POST", "/people/unsubscribe")[0][0]
    assert request.url.params["id"] == person["id"] and request.content == b""
    assert enc.get_people(emails=[person["email"]]).item(0, "unsubscribed") is True
    with pytest.raises(ValidationError, match="an email address, an Encharge id"):
        enc.unsubscribe({"email": "a@example.org", "id": "p1"})


# -- tags ------------------------------------------------------------------------------------


def test_add_and_remove_tags_report_per_person(enc: EnchargeClient, recorder: RecordingTransport,
                                               sandbox: Sandbox) -> None:
    people = some_people(sandbox, 3)
    frame = pl.DataFrame({"Email Address": [p["email"] for p in people] + ["stranger@example.org"]})
    added = enc.add_tags(frame, ["spring-appeal", "vip"])
    assert added.get_column("status").to_list() == ["done", "done", "done", "not found"]
    assert added.item(3, "error") == "Person not found."
    body = json.loads(recorder.calls("POST", "/v1/tags")[0][0].content)
    assert body == {"tag": "spring-appeal,vip", "email": people[0]["email"]}
    assert all({"spring-appeal", "vip"} <= set(sandbox.encharge.people[p["id"]]["tags"]) for p in people)
    removed = enc.remove_tags([p["email"] for p in people], "spring-appeal")
    assert set(removed.get_column("http_status")) == {204}
    assert all("spring-appeal" not in sandbox.encharge.people[p["id"]]["tags"] for p in people)
    assert recorder.calls("DELETE", "/v1/tags")[0][0].content  # DELETE carries the same JSON body
    tags = enc.get_tags()
    assert tags.filter(pl.col("tag") == "spring-appeal").item(0, "count") == 0
    assert tags.schema["createdAt"] == pl.Datetime("ms", "UTC")


def test_tag_validation(enc: EnchargeClient, recorder: RecordingTransport) -> None:
    with pytest.raises(ValidationError, match="without commas"):
        enc.add_tags(["a@example.org"], "donor,vip")
    with pytest.raises(ValidationError, match="at least one tag"):
        enc.add_tags(["a@example.org"], [])
    with pytest.raises(ValidationError, match="people"):
        enc.add_tags([], "donor")
    with pytest.raises(ValidationError, match="email"):
        enc.add_tags(["not an email"], "donor")
    assert recorder.exchanges == []


# -- account metadata --------------------------------------------------------------------------


def test_fields_segments_account(shared_enc: EnchargeClient, shared_sandbox: Sandbox) -> None:
    fields = shared_enc.get_fields()
    assert fields.filter(pl.col("name") == "createdAt").row(0, named=True)["readOnly"] is True
    segments = shared_enc.get_segments()
    assert segments.get_column("id").to_list() == [101, 102, 103, 104]
    assert json.loads(segments.item(0, "conditions"))["conditions"][0] == {
        "type": "tag", "value": "donor", "condition": "has"}
    uk = shared_enc.get_segment_people(103, limit=50)
    assert uk.height == sum(1 for p in shared_sandbox.encharge.people.values()
                            if p["country"] == "GB" and not p["archived"])
    account = shared_enc.get_account()
    assert account.select("status", "name").row(0) == ("active", "Sandbox Charity")


# -- subscriptions and raw calls -----------------------------------------------------------------


def test_subscriptions(enc: EnchargeClient) -> None:
    first = enc.create_subscription("added-tag-donor", "http://127.0.0.1:9/hooks")
    second = enc.create_subscription("unsubscribedUser", "http://localhost:9/hooks")
    listed = enc.list_subscriptions()
    assert listed.get_column("id").to_list() == [first, second]
    enc.delete_subscription(first)
    assert enc.list_subscriptions().get_column("eventType").to_list() == ["unsubscribedUser"]
    with pytest.raises(BadRequestError, match="loopback"):
        enc.create_subscription("newUser", "https://hooks.example.org/x")
    with pytest.raises(ValidationError, match="added-tag"):
        enc.create_subscription("taggedUser", "http://127.0.0.1:9/")
    with pytest.raises(ValidationError, match="url"):
        enc.create_subscription("newUser", "ftp://127.0.0.1/")


def test_retries_only_where_idempotent(enc: EnchargeClient, sandbox: Sandbox, recorder: RecordingTransport) -> None:
    sandbox.fail_next(2, status=502, method="GET", path="/v1/tags-management")
    assert enc.get_tags().height > 0
    assert [rs.status_code for _, rs in recorder.calls("GET", "/tags-management")] == [502, 502, 200]
    sandbox.fail_next(1, status=503, method="POST", path="/v1/event-subscriptions")
    with pytest.raises(ServerError):
        enc.create_subscription("newUser", "http://127.0.0.1:9/")
    assert len(recorder.calls("POST", "/event-subscriptions")) == 1


def test_raw_request(enc: EnchargeClient, sandbox: Sandbox) -> None:
    person = some_people(sandbox, 1)[0]
    body = enc.request("GET", "/people", params=[("people[0][email]", person["email"])])
    assert body["users"][0]["id"] == person["id"]
    assert enc.request("POST", "/people/unsubscribe", params={"id": person["id"]}) is None
    with pytest.raises(ValidationError):
        enc.request("GET", "https://api.encharge.io/v1/people")


# -- the seeded overlap with ENS ----------------------------------------------------------------


def test_seeded_people_overlap_ens_with_discrepancies(shared_sandbox: Sandbox) -> None:
    ens = shared_sandbox.ens
    enc = shared_sandbox.encharge
    ens_emails: dict = {}
    for sid in sorted(ens.records):  # the first of duplicate supporters is the one Encharge knows
        ens_emails.setdefault(ens.records[sid].email.strip().lower(), ens.records[sid])
    people = list(enc.people.values())
    shared = [p for p in people if p["email"] in ens_emails]
    only_encharge = [p for p in people if p["email"] not in ens_emails]
    only_ens = set(ens_emails) - {p["email"] for p in people}
    assert 0.75 < len(shared) / len(ens_emails) < 0.95
    assert only_encharge and only_ens
    assert all(p["userId"] == str(ens_emails[p["email"]].supporter_id) for p in shared)

    def optin(p: dict) -> str:
        return ens_emails[p["email"]].questions.get(4512, ("",))[0]

    assert any(p["unsubscribed"] and optin(p) == "Y" for p in shared)
    assert any(not p["unsubscribed"] and optin(p) == "N" for p in shared)
    assert any(p["archived"] for p in people)


class _CappedPages(httpx.BaseTransport):
    """Real HTTP to the sandbox, with /people/all pages capped at ``cap`` people whatever the limit asked."""

    def __init__(self, cap: int) -> None:
        self.inner, self.cap = httpx.HTTPTransport(), cap

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/people/all"):
            params = dict(request.url.params)
            params["limit"] = str(min(int(params.get("limit", 100)), self.cap))
            request = httpx.Request(request.method, request.url.copy_with(params=params), headers=request.headers)
        response = self.inner.handle_request(request)
        response.read()
        return response


def test_pages_capped_below_the_limit_are_an_error_not_a_short_list(shared_sandbox: Sandbox) -> None:
    from enstoolkit.errors import APIError

    enc = EnchargeClient(shared_sandbox.encharge_api_key, shared_sandbox.encharge_url, transport=_CappedPages(50))
    with pytest.raises(APIError, match="pass limit=50"):
        enc.list_people(limit=100)
    assert enc.list_people(limit=50).height == shared_sandbox.encharge_people_count()


def test_tag_results_keep_the_email_of_people_tagged_by_id(enc: EnchargeClient, sandbox: Sandbox) -> None:
    everyone = enc.list_people(max_people=3)
    result = enc.add_tags(everyone, ["vip"])
    assert result.select("email", "id").rows() == everyone.select(
        pl.col("email").str.to_lowercase(), "id").rows()
    assert all("vip" in sandbox.encharge.people[pid]["tags"] for pid in everyone.get_column("id"))
