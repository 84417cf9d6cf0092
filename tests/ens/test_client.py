"""ENSClient against the sandbox over loopback: every method, its schema and its errors."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import polars as pl
import pytest

from enstoolkit import ENSClient, schemas
from enstoolkit.errors import (
    BadRequestError,
    NotFoundError,
    PageProcessingError,
    ValidationError,
)
from enstoolkit.sandbox import Sandbox
from enstoolkit.sandbox.data import FIELD_NAMES
from enstoolkit.schemas.frames import OPTIN_ANSWERS

from ..conftest import RecordingTransport


def writes(recorder: RecordingTransport) -> list[str]:
    return [f"{rq.method} {rq.url.path}" for rq, _ in recorder.exchanges
            if rq.method != "GET" and "/authenticate" not in rq.url.path]


# -- construction ------------------------------------------------------------------------


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    monkeypatch.setenv("ENS_API_KEY", sandbox.ens_api_key)
    monkeypatch.setenv("ENS_BASE_URL", sandbox.ens_url)
    with ENSClient() as ens:
        assert ens.base_url == sandbox.ens_url
        assert ens.get_fields().height == len(FIELD_NAMES)


def test_missing_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from enstoolkit.errors import ConfigurationError

    monkeypatch.delenv("ENS_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="ENS_API_KEY"):
        ENSClient()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "https://www.e-activist.com/ens/service"),
        ("https://ca.engagingnetworks.app", "https://ca.engagingnetworks.app/ens/service"),
        ("https://us.engagingnetworks.app/ens/service/", "https://us.engagingnetworks.app/ens/service"),
        ("https://us2.engagingnetworks.app/ens/service", "https://us2.engagingnetworks.app/ens/service"),
        ("https://us-vault.engagingnetworks.app", "https://us-vault.engagingnetworks.app/ens/service"),
    ],
)
def test_base_urls(monkeypatch: pytest.MonkeyPatch, given: str | None, expected: str) -> None:
    monkeypatch.delenv("ENS_BASE_URL", raising=False)
    assert ENSClient("k" * 8, given).base_url == expected


@pytest.mark.parametrize("url", ["https://evil.example.org/ens/service", "http://us.engagingnetworks.app"])
def test_other_hosts_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url") as info:
        ENSClient("k" * 8, url)
    assert "us2.engagingnetworks.app" in str(info.value)


# -- session ------------------------------------------------------------------------------


def test_lazy_authentication_with_raw_key_body(ens: ENSClient, recorder: RecordingTransport,
                                               sandbox: Sandbox) -> None:
    assert recorder.exchanges == []
    ens.get_fields()
    auth = recorder.calls("POST", "/authenticate")
    assert len(auth) == 1
    assert auth[0][0].content == sandbox.ens_api_key.encode()  # the raw key, not JSON-quoted
    assert auth[0][0].headers["content-type"].startswith("application/json")
    token = auth[0][1].json()["ens-auth-token"]
    assert recorder.calls("GET", "/supporter/fields")[0][0].headers["ens-auth-token"] == token
    ens.get_questions()
    assert len(recorder.calls("POST", "/authenticate")) == 1  # the session is reused


def test_validate_and_close_session(ens: ENSClient, recorder: RecordingTransport, sandbox: Sandbox) -> None:
    assert ens.validate_session() is True
    token = recorder.calls("POST", "/authenticate")[0][1].json()["ens-auth-token"]
    assert sandbox.ens.token_valid(token)
    ens.close()
    assert recorder.calls("DELETE", f"/authenticate/{token}")[0][1].json() == 1
    assert not sandbox.ens.token_valid(token)


def test_reauthenticates_once_when_ens_says_token_invalid(ens: ENSClient, recorder: RecordingTransport,
                                                         sandbox: Sandbox) -> None:
    ens.get_fields()
    assert sandbox.ens.expire_tokens() == 1
    assert ens.get_questions().height == 6  # four opt-ins, a general and a range question
    statuses = [(rq.method, rq.url.path.rsplit("/", 1)[-1], rs.status_code) for rq, rs in recorder.exchanges]
    assert statuses == [
        ("POST", "authenticate", 200), ("GET", "fields", 200),
        ("GET", "questions", 401), ("POST", "authenticate", 200), ("GET", "questions", 200),
    ]


def test_reauthenticates_when_the_ttl_runs_out(recorder: RecordingTransport) -> None:
    with Sandbox(supporters=5, token_ttl=600.0) as sb, ENSClient(sb.ens_api_key, sb.ens_url,
                                                                 transport=recorder) as ens:
        ens.get_fields()
        sb.advance(minutes=11)  # the token's life is over on ENS's clock
        ens.get_questions()
        assert [rs.status_code for rq, rs in recorder.calls("GET", "/questions")] == [401, 200]
        assert len(recorder.calls("POST", "/authenticate")) == 2


# -- supporters ----------------------------------------------------------------------------


def test_get_supporter_by_id_with_questions_and_memberships(shared_ens: ENSClient,
                                                            shared_sandbox: Sandbox) -> None:
    member = next(r for r in shared_sandbox.ens.records.values()
                  if shared_sandbox.ens.memberships(r) and r.questions)
    df = shared_ens.get_supporter(member.supporter_id, questions=True, memberships=True)
    assert df.height == 1
    assert df.columns[:2] == ["supporterId", "suppressed"]
    assert df.columns[2:-2] == FIELD_NAMES
    assert df.columns[-2:] == ["questions", "memberships"]
    assert df.schema["supporterId"] == pl.Int64 and df.schema["suppressed"] == pl.Boolean
    assert all(df.schema[name] == pl.String for name in FIELD_NAMES)
    assert df.item(0, "Email Address") == member.email
    questions = df.item(0, "questions").to_list()
    assert {q["id"] for q in questions} == set(shared_sandbox.ens.answers(member))
    assert all(q["type"] in ("OPTIN", "GENERAL", "CONFIRMATION") for q in questions)
    assert isinstance(questions[0]["modifiedOn"], dt.datetime)
    membership = df.item(0, "memberships").to_list()[0]
    assert membership["membershipStatus"] in ("ACTIVE", "LAPSED")
    assert membership["members"][0]["lastName"] == member.fields["Last Name"]


def test_get_supporter_by_email_is_lowercased(shared_ens: ENSClient, shared_sandbox: Sandbox) -> None:
    rec = shared_sandbox.ens.records[shared_sandbox.ens.first_supporter_id()]
    df = shared_ens.get_supporter(email="  " + rec.email.upper() + " ")
    assert df.get_column("supporterId").to_list() == [rec.supporter_id]
    assert "questions" not in df.columns


def test_get_supporter_not_found_is_an_empty_frame(ens: ENSClient, recorder: RecordingTransport) -> None:
    by_id = ens.get_supporter(999_999_999, questions=True)
    by_email = ens.get_supporter(email="nobody@example.org")
    assert by_id.height == 0 and by_email.height == 0
    assert by_id.columns[-1] == "questions" and by_email.columns[:2] == ["supporterId", "suppressed"]
    assert [rs.status_code for rq, rs in recorder.calls("GET", "/supporter")][-2:] == [204, 204]


@pytest.mark.parametrize(
    ("args", "kwargs", "argument"),
    [
        ((), {}, "supporter_id/email"),
        ((5,), {"email": "a@example.org"}, "supporter_id/email"),
        ((), {"email": "not-an-email"}, "email"),
        (("abc",), {}, "supporter_id"),
        ((-3,), {}, "supporter_id"),
    ],
)
def test_get_supporter_bad_input(ens: ENSClient, recorder: RecordingTransport, args: tuple,
                                 kwargs: dict, argument: str) -> None:
    with pytest.raises(ValidationError) as info:
        ens.get_supporter(*args, **kwargs)
    assert info.value.argument == argument
    assert recorder.calls(contains="/supporter/") == [] or all(
        "fields" in rq.url.path for rq, _ in recorder.calls(contains="/supporter/"))


def test_upsert_creates_then_updates_by_email(ens: ENSClient, sandbox: Sandbox,
                                              recorder: RecordingTransport) -> None:
    # the overview's two example requests, as written
    sid = ens.upsert_supporter({
        "First Name": "Joe", "Last Name": "Smith", "Email Address": "joe.smith@noaddress.com",
        "Date of Birth": "1985-12-01",
        "questions": {"Marketing Optin": "Y", "Interested Emails": "daily emails"},
    })
    again = ens.upsert_supporter({"Email Address": "joe.smith@noaddress.com",
                                  "questions": {"Marketing Optin": "N"}})
    assert again == sid
    body = json.loads(recorder.calls("POST", "/supporter")[0][0].content)
    assert body["questions"] == {"Marketing Optin": "Y", "Interested Emails": "daily emails"}
    df = ens.get_supporter(sid, questions=True)
    assert df.item(0, "First Name") == "Joe" and df.item(0, "Date of Birth") == "1985-12-01"
    answers = {q["name"]: q["response"] for q in df.item(0, "questions").to_list()}
    assert answers == {"Marketing Optin": "N", "Interested Emails": "daily emails"}


def test_upsert_from_a_one_row_frame_with_case_insensitive_names(ens: ENSClient,
                                                                 recorder: RecordingTransport) -> None:
    frame = pl.DataFrame({"email address": ["ana@example.org"], "first name": ["Ana"],
                          "supporterId": [None], "Phone Number": [123]})
    sid = ens.upsert_supporter(frame)
    sent = json.loads(recorder.calls("POST", "/supporter")[0][0].content)
    assert sent == {"Email Address": "ana@example.org", "First Name": "Ana", "Phone Number": "123"}
    assert ens.get_supporter(sid).item(0, "Phone Number") == "123"


def test_upsert_bad_input_is_caught_before_any_write(ens: ENSClient, recorder: RecordingTransport) -> None:
    with pytest.raises(ValidationError, match="Favourite Colour") as info:
        ens.upsert_supporter({"Email Address": "a@example.org", "Favourite Colour": "red"})
    assert "First Name" in info.value.allowed  # the allowed names are listed
    with pytest.raises(ValidationError, match="Email Address"):
        ens.upsert_supporter({"First Name": "No Email"})
    with pytest.raises(ValidationError, match="email"):
        ens.upsert_supporter({"Email Address": "a@@example.org"})
    with pytest.raises(ValidationError, match="Y' or 'N'"):
        ens.upsert_supporter({"Email Address": "a@example.org", "questions": {"Marketing Optin": "maybe"}})
    with pytest.raises(ValidationError, match="Not A Question"):
        ens.upsert_supporter({"Email Address": "a@example.org", "questions": {"Not A Question": "Y"}})
    with pytest.raises(ValidationError, match="one-row"):
        ens.upsert_supporter(pl.DataFrame({"Email Address": ["a@example.org", "b@example.org"]}))
    assert writes(recorder) == []


def test_ens_rejects_unknown_fields_with_its_message(ens: ENSClient) -> None:
    with pytest.raises(BadRequestError) as info:
        ens.request("POST", "/supporter", json={"Email Address": "a@example.org", "Shoe Size": "9"})
    assert info.value.message_id == 10000005
    assert "Shoe Size" in info.value.message


def test_update_supporter_including_email(ens: ENSClient, sandbox: Sandbox) -> None:
    sid = sandbox.ens.first_supporter_id()
    assert ens.update_supporter(sid, {"Email Address": "joe.smith.updated@noaddress.com", "City": "Leeds"}) == sid
    df = ens.get_supporter(email="joe.smith.updated@noaddress.com")
    assert df.select("supporterId", "City").row(0) == (sid, "Leeds")
    with pytest.raises(ValidationError, match="at least one field"):
        ens.update_supporter(sid, {"supporterId": 5})
    with pytest.raises(NotFoundError):
        ens.update_supporter(999_999_999, {"City": "Leeds"})


def test_delete_supporter(ens: ENSClient, sandbox: Sandbox) -> None:
    sid = sandbox.ens.first_supporter_id()
    assert ens.delete_supporter(sid) == sid
    assert ens.get_supporter(sid).height == 0
    with pytest.raises(NotFoundError) as info:
        ens.delete_supporter(sid)
    assert str(sid) in info.value.message


def test_transactions_schema_and_dates(shared_ens: ENSClient, shared_sandbox: Sandbox) -> None:
    donor = next(r for r in shared_sandbox.ens.records.values()
                 if any(t["type"] == "nd" for t in shared_sandbox.ens.transactions(r)))
    df = shared_ens.get_transactions(donor.supporter_id)
    assert df.schema == pl.Schema(schemas.ens.TRANSACTION)
    donation = df.filter(pl.col("type") == "nd").row(0, named=True)
    # as a live account sends them: createdDate only, no amount or currency, recurringPayment "Y"/"N"
    assert donation["amount"] is None and donation["createdOn"] is None and donation["currency"] is None
    assert donation["txType"].startswith("CREDIT_") and donation["recurringPayment"] in (True, False)
    signed = df.filter(pl.col("type") == "dc").row(0, named=True)
    assert signed["createdOn"] == signed["createdDate"].date()
    assert shared_ens.get_transactions(999_999_999).schema == pl.Schema(schemas.ens.TRANSACTION)


def test_fields_questions_and_question_detail(shared_ens: ENSClient) -> None:
    fields = shared_ens.get_fields()
    assert fields.columns == ["id", "name", "tag", "property"]
    assert fields.filter(pl.col("name") == "Email Address").item(0, "property") == "emailAddress"
    questions = shared_ens.get_questions()
    assert questions.filter(pl.col("type") == "OPT").height == 3
    detail = shared_ens.get_question(15012)
    assert detail.get_column("locale").to_list() == ["en-GB", "en-US"]
    assert detail.item(0, "content").to_list()[0]["value"] == "Y"
    assert shared_ens.get_question(1).height == 0  # ENS answers [] for an unknown id


# -- queries -------------------------------------------------------------------------------


def test_query_fetches_every_page(shared_ens: ENSClient, shared_sandbox: Sandbox) -> None:
    since = shared_sandbox.ens.now - dt.timedelta(days=32)
    expected = sorted(r.supporter_id for r in shared_sandbox.ens.records.values() if r.created >= since)
    transport = RecordingTransport()
    with ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, transport=transport) as ens:
        df = ens.query_supporters("latestCreated", days_back=32, rows=7, progress=False)
    assert df.schema == pl.Schema(schemas.ens.QUERY_ROW)
    assert df.get_column("supporterId").to_list() == expected
    pages = transport.calls("GET", "/supporter/query")
    assert len(pages) == -(-len(expected) // 7)
    starts = sorted(rs.json()["pagination"]["start"] for _, rs in pages)  # fetched in parallel: any order
    assert starts == list(range(1, len(expected) + 1, 7))


@pytest.mark.parametrize("qtype", ["latestModified", "suppressed"])
def test_query_types(shared_ens: ENSClient, qtype: str) -> None:
    df = shared_ens.query_supporters(qtype, days_back=32, progress=False)
    assert df.height > 0
    assert df.get_column("supporterId").is_unique().all()


def test_query_profile_and_search_and_export_group(shared_ens: ENSClient, shared_sandbox: Sandbox) -> None:
    uk = shared_ens.query_supporters("profile", profile_id=333, days_back=10, progress=False)
    expected = sum(1 for r in shared_sandbox.ens.records.values() if r.fields["Country"] == "GB")
    assert uk.height == expected
    search = shared_ens.query_supporters("search", filter="country:IE||NZ~title:Dr",
                                         export_group="basic only", progress=False)
    assert search.columns == ["supporterId", "emailAddress", "createdOn", "modifiedOn",
                              "First Name", "Last Name", "Email Address"]
    ids = set(search.get_column("supporterId"))
    assert ids == {r.supporter_id for r in shared_sandbox.ens.records.values()
                   if r.fields["Country"] in ("IE", "NZ") and r.fields["Title"] == "Dr"}
    assert search.get_column("emailAddress").equals(search.get_column("Email Address"), check_names=False)
    as_mapping = shared_ens.query_supporters("search", filter={"country": ["IE", "NZ"], "title": "Dr"},
                                             progress=False)
    assert set(as_mapping.get_column("supporterId")) == ids


def test_query_empty_result_keeps_columns(shared_ens: ENSClient) -> None:
    df = shared_ens.query_supporters("search", filter={"country": "ZZ"})
    assert df.height == 0 and df.schema == pl.Schema(schemas.ens.QUERY_ROW)


@pytest.mark.parametrize(
    ("kwargs", "argument", "allowed"),
    [
        ({"type": "newest"}, "type", "latestCreated"),
        ({"type": "latestCreated", "days_back": 0}, "days_back", "1 to 32"),
        ({"type": "latestCreated", "days_back": 33}, "days_back", "1 to 32"),
        ({"type": "latestCreated", "rows": 101}, "rows", "1 to 100"),
        ({"type": "profile"}, "profile_id", "required"),
        ({"type": "search"}, "filter", "required"),
        ({"type": "latestCreated", "profile_id": 3}, "profile_id", "type='profile'"),
        ({"type": "search", "filter": "Donor:true"}, "filter", "emailAddress"),
        ({"type": "latestCreated", "export_group": ""}, "export_group", "100 characters"),
    ],
)
def test_query_bad_input_is_caught_before_the_query(ens: ENSClient, recorder: RecordingTransport,
                                                    kwargs: dict, argument: str, allowed: str) -> None:
    with pytest.raises(ValidationError) as info:
        ens.query_supporters(**kwargs)
    assert info.value.argument == argument
    assert allowed in info.value.allowed
    assert recorder.calls(contains="/supporter/query") == []


def test_query_errors_from_ens(ens: ENSClient) -> None:
    with pytest.raises(BadRequestError, match="Failed to map field property 'Donor'"):
        ens.request("GET", "/supporter/query", params={"type": "search", "filter": "Donor:true"})
    with pytest.raises(BadRequestError, match="Missing mandatory parameter daysBack"):
        ens.request("GET", "/supporter/query", params={"type": "suppressed"})


# -- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qtype", "type_", "sub"),
    [("dcf", "dc", "DCF"), ("pet", "dc", "PET"), ("ems", "dc", "EMS"), ("unsub", "dc", "UNSUB"),
     ("mem", "nd", "MEMBERSHIP"), ("et", "et", ""), ("nd", "nd", None)],
)
def test_pages_by_type(shared_ens: ENSClient, qtype: str, type_: str, sub: str | None) -> None:
    df = shared_ens.get_pages(qtype)
    assert df.height > 0 and df.schema == pl.Schema(schemas.ens.PAGE)
    assert set(df.get_column("type")) == {type_}
    if sub is not None:
        assert set(df.get_column("subType")) == {sub}


def test_pages_by_status_and_one_page(shared_ens: ENSClient) -> None:
    live = shared_ens.get_pages("pet", "live")
    assert set(live.get_column("campaignStatus")) == {"live"}
    assert shared_ens.get_pages("pet", "close").get_column("name").to_list() == ["Clean Air For Schools"]
    assert shared_ens.get_pages("survey").height == 0
    page = shared_ens.get_page(100)
    assert page.row(0, named=True)["trackingParameters"] == ["facebook", "email"]
    assert page.schema["createdOn"] == pl.Datetime("ms", "UTC")
    with pytest.raises(NotFoundError, match="Unable to find an page with pageId 999999") as info:
        shared_ens.get_page(999999)
    assert info.value.message_id == 353979450
    with pytest.raises(ValidationError, match="dcf"):
        shared_ens.get_pages("dc")
    with pytest.raises(ValidationError, match="tested"):
        shared_ens.get_pages("dcf", "running")


# -- page processing ----------------------------------------------------------------------


def test_process_data_capture_as_in_the_overview(ens: ENSClient, sandbox: Sandbox,
                                                 recorder: RecordingTransport) -> None:
    result = ens.process_page(
        100,
        {"First Name": "Joe", "Last Name": "Smith", "Email Address": "joe.smith@noaddress.com",
         "questions": {"Marketing Optin": "Y", "Interested Emails": "daily emails"}},
        suppress_auto_responder=True, tracking_id="fb111", appeal_code="client appeal code",
        txn=["client-ext-ref-value1", "client-ext-ref-value2"],
    )
    assert result.schema == pl.Schema(schemas.ens.PROCESS_RESULT)
    assert result.item(0, "status") == "SUCCESS"
    sent = json.loads(recorder.calls("POST", "/process")[0][0].content)
    assert sent == {
        "supporter": {"First Name": "Joe", "Last Name": "Smith", "Email Address": "joe.smith@noaddress.com",
                      "questions": {"Marketing Optin": "Y", "Interested Emails": "daily emails"}},
        "suppressAutoResponder": True, "trackingId": "fb111", "appealCode": "client appeal code",
        "txn1": "client-ext-ref-value1", "txn2": "client-ext-ref-value2",
    }
    sid = result.item(0, "supporterId")
    tx = ens.get_transactions(sid)
    assert tx.select("type", "subtype", "campaignId").row(-1) == ("dc", "DCF", 10100)
    answers = {q["name"]: q["response"] for q in ens.get_supporter(sid, questions=True).item(0, "questions")}
    assert answers["Marketing Optin"] == "Y"


def test_process_with_standard_field_names(ens: ENSClient) -> None:
    result = ens.process_page(
        100, {"firstName": "Joe", "lastName": "Smith", "emailAddress": "joe.smith@noaddress.com",
              "NOT_TAGGED_1": "a generic field response", "questions": {"question.4512": "Y"}},
        standard_field_names=True, tracking_id="fb111",
    )
    sid = result.item(0, "supporterId")
    df = ens.get_supporter(sid, questions=True)
    assert df.item(0, "Referral Source") == "a generic field response"
    assert df.item(0, "questions").to_list()[0]["response"] == "Y"
    with pytest.raises(ValidationError, match="emailAddress"):
        ens.process_page(100, {"Email Address": "x@example.org"}, standard_field_names=True)


def test_process_donation_answers_with_the_transaction(ens: ENSClient) -> None:
    result = ens.process_page(
        130, {"Email Address": "joe.smith@noaddress.com", "First Name": "Joe", "Last Name": "Smith",
              "Address 1": "111 Main St", "region": "DE", "Postcode": "23433", "Country": "USA"},
        transaction={"paymenttype": "VISA", "donationAmt": "1.00", "ccnumber": "4222222222222220",
                     "ccexpire": "12/2018"},
        tracking_id="fb111", appeal_code="client appeal code",
        txn={1: "client-ext-ref-value1", 2: "client-ext-ref-value2"},
    )
    row = result.row(0, named=True)
    assert (row["status"], row["type"], row["amount"], row["currency"], row["paymentType"]) == (
        "SUCCESS", "CREDIT_SINGLE", 1.0, "GBP", "VISA")
    assert row["transactionId"] and row["recurringPayment"] is False
    supporter = ens.get_supporter(row["supporterId"])
    assert supporter.item(0, "Region") == "DE"
    listed = ens.get_transactions(row["supporterId"]).filter(pl.col("type") == "nd").row(0, named=True)
    assert listed["id"] == row["id"] and listed["amount"] is None  # the list does not carry amounts (live)


def test_declined_card_is_a_page_processing_error(ens: ENSClient) -> None:
    with pytest.raises(PageProcessingError, match="declined") as info:
        ens.process_page(130, {"Email Address": "joe@example.org"},
                         transaction={"paymenttype": "VISA", "donationAmt": 5, "ccnumber": "4000000000000002"})
    assert info.value.result["status"] == "ERROR"


def test_process_advocacy_demo_is_recorded_as_a_test(ens: ENSClient, sandbox: Sandbox) -> None:
    before = len(sandbox.ens.records)
    result = ens.process_page(
        120, {"First Name": "Spider", "Last Name": "Man", "Email Address": "spider.man@avengers.com",
              "Address 1": "100 Main St", "Postal Code": "43031", "Country": "US"},
        demo=True,
        contact_message={"subject": "Please help",
                         "message": "{contact_data~salutation}\nMr Freeze is destroying the city!"},
    )
    assert result.item(0, "status") == "SUCCESS"
    assert len(sandbox.ens.records) == before + 1  # a recorded demo answer carries a new supporter's id
    with pytest.raises(PageProcessingError, match="contactMessage"):
        ens.process_page(120, {"Email Address": "spider.man@avengers.com"})
    with pytest.raises(ValidationError, match="subject"):
        ens.process_page(120, {"Email Address": "spider.man@avengers.com"}, contact_message={"subject": "x"})


def test_process_page_bad_input(ens: ENSClient, recorder: RecordingTransport) -> None:
    with pytest.raises(ValidationError, match="positive amount"):
        ens.process_page(130, {"Email Address": "a@example.org"}, transaction={"donationAmt": "-5"})
    with pytest.raises(ValidationError, match="txn"):
        ens.process_page(100, {"Email Address": "a@example.org"}, txn={11: "x"})
    with pytest.raises(ValidationError, match="page_id"):
        ens.process_page("page", {"Email Address": "a@example.org"})
    with pytest.raises(ValidationError, match="Email Address"):
        ens.process_page(100, {"First Name": "Jo"})
    assert recorder.calls("POST", "/process") == []
    with pytest.raises(PageProcessingError, match="closed"):
        ens.process_page(112, {"Email Address": "a@example.org"})
    with pytest.raises(NotFoundError):
        ens.process_page(999, {"Email Address": "a@example.org"})


def test_live_card_data_needs_the_vault_host() -> None:
    client = ENSClient("k" * 8, "https://ca.engagingnetworks.app")
    with pytest.raises(ValidationError, match="vault"):
        client._process_body({"Email Address": "a@example.org"},
                            transaction={"donationAmt": "5", "ccnumber": "4222222222222220"})


# -- export job ----------------------------------------------------------------------------


def test_export_supporters_reads_the_whole_file(shared_ens: ENSClient, shared_sandbox: Sandbox) -> None:
    transport = RecordingTransport()
    with ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, transport=transport) as ens:
        df = ens.export_supporters("All supporters")
    assert df.height == len(shared_sandbox.ens.records)
    assert df.schema["supporterId"] == pl.Int64 and df.schema["suppressed"] == pl.Boolean
    assert df.schema["Marketing Optin"] == OPTIN_ANSWERS and df.schema["Marketing Optin Date"] == pl.Date
    assert df.schema["createdOn"] == pl.Date and df.schema["Interested Emails"] == pl.String
    assert df.get_column("suppressed").sum() == sum(r.suppressed for r in shared_sandbox.ens.records.values())
    used = [(rq.method, rq.url.path) for rq, _ in transport.exchanges if "authenticate" not in rq.url.path]
    assert used[0] == ("POST", "/ens/service/exportjob")
    assert any(path.endswith("/download") for _, path in used)
    # authenticate, create, poll, download, fields (which column is the email), questions, retire the session:
    # a handful of requests, whatever the size
    assert len(transport.exchanges) <= 7


def test_export_jobs_take_turns_whichever_threads_ask(shared_sandbox: Sandbox) -> None:
    from concurrent.futures import ThreadPoolExecutor

    transport = RecordingTransport()
    with ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, transport=transport) as ens, \
            ThreadPoolExecutor(max_workers=2) as pool:
        asked = [pool.submit(ens.export_transactions, "All supporters", poll_interval=0.01),
                 pool.submit(ens.export_supporters, "All supporters", poll_interval=0.01)]
        transactions, supporters = (future.result() for future in asked)
    steps = ["create" if rq.method == "POST" else "download" if rq.url.path.endswith("/download") else "poll"
             for rq, _ in transport.calls(contains="/exportjob")]
    assert steps.count("create") == steps.count("download") == 2
    assert steps.index("create", 1) > steps.index("download")  # the second job is asked for once the first is in
    assert supporters.height == len(shared_sandbox.ens.records) < transactions.height


def test_export_group_and_errors(shared_ens: ENSClient) -> None:
    df = shared_ens.export_supporters("Marketing opted in", field_group="basic only", poll_interval=0.05)
    assert df.columns[:5] == ["supporterId", "suppressed", "First Name", "Last Name", "Email Address"]
    assert set(df.get_column("Marketing Optin")) == {"Y"}
    with pytest.raises(BadRequestError, match="pre-configured"):
        shared_ens.export_supporters("No Such Query")
    with pytest.raises(ValidationError, match="User data"):
        shared_ens.export_supporters("All supporters", format="Everything")


# -- raw requests ------------------------------------------------------------------------


def test_request_raw(ens: ENSClient) -> None:
    assert ens.request("GET", "/supporter/questions")[0]["name"] == "Marketing Optin"
    assert ens.request("GET", "/supporter", params={"email": "nobody@example.org"}) is None
    with pytest.raises(ValidationError, match="relative"):
        ens.request("GET", "https://www.e-activist.com/ens/service/page")
    with pytest.raises(ValidationError, match="method"):
        ens.request("FETCH", "/page")


# -- concurrency --------------------------------------------------------------------------------


def test_concurrent_pulls_work_inside_a_running_event_loop(shared_ens: ENSClient, shared_enc) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import threading

    results: list[tuple[int, int, int]] = []

    async def in_a_notebook_cell() -> None:
        asyncio.get_running_loop()  # as in Jupyter: a loop is already running in this thread
        paged = shared_ens.query_supporters("latestModified", days_back=32, rows=10, concurrency=6, progress=False)
        found = shared_ens.get_supporters(ids=paged.get_column("supporterId").head(30).to_list(), concurrency=6)
        people = shared_enc.list_people(limit=50, concurrency=4)
        results.append((paged.height, found.height, people.height))

    kernel = threading.Thread(target=lambda: asyncio.run(in_a_notebook_cell()))  # its own running loop
    kernel.start()
    kernel.join(timeout=120)
    (paged, found, people), = results
    assert paged > 10 and found == 30 and people > 50


def test_get_supporters_in_bulk(shared_ens: ENSClient, shared_sandbox: Sandbox) -> None:
    ids = sorted(shared_sandbox.ens.records)[:40]
    emails = [shared_sandbox.ens.records[i].email.strip().lower() for i in ids[40:]]
    both = shared_ens.get_supporters(ids=ids[:20], emails=[shared_sandbox.ens.records[i].email.strip().lower()
                                                       for i in ids[20:25]] + ["nobody@example.org"] + emails,
                                     questions=True)
    assert set(both.get_column("supporterId")) >= set(ids[:20])
    assert both.schema["questions"] == pl.List(fr_question_struct())
    assert shared_ens.get_supporters(ids=[]).height == 0
    tight = ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, hourly_limit=10)
    from enstoolkit.errors import BudgetExceeded

    with pytest.raises(BudgetExceeded, match="looking up 40 supporters"):
        tight.get_supporters(ids=ids)


def fr_question_struct():  # type: ignore[no-untyped-def]
    from enstoolkit.schemas.ens import QUESTION_STRUCT

    return QUESTION_STRUCT


class _ShortPages(httpx.BaseTransport):
    """Real HTTP to the sandbox, with one query page's rows taken out on the way back (a service that
    answers a page without ``data``, or counts ``start`` differently)."""

    def __init__(self, page_start: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.page_start = page_start

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        if request.url.path.endswith("/supporter/query") and request.url.params.get("start") == str(self.page_start):
            body = response.json()
            body.pop("data", None)
            return httpx.Response(200, json=body, headers={"Date": response.headers.get("Date", "")})
        return response


def test_a_query_page_without_rows_is_an_error_not_a_shorter_list(shared_sandbox: Sandbox) -> None:
    from enstoolkit.errors import APIError

    ens = ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, transport=_ShortPages(page_start=101))
    with pytest.raises(APIError, match=r"the query said [\d,]+ supporters but its pages held"):
        ens.query_supporters("latestCreated", days_back=32, rows=100)
    whole = ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url).query_supporters(
        "latestCreated", days_back=32, rows=100)
    assert whole.height > 100  # the list really has a second page


class _ExportAnswers(httpx.BaseTransport):
    """Real HTTP to the sandbox; the export job's status or download answered as a real service might."""

    def __init__(self, *, status: str | None = None, empty_download: bool = False,
                 download: bytes | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.status = status
        self.download = b"" if empty_download else download
        self.polls = self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        response = self.inner.handle_request(request)
        response.read()
        path = request.url.path
        if self.status and request.method == "GET" and "/exportjob/" in path and not path.endswith("/download"):
            self.polls += 1
            return httpx.Response(200, json={**response.json(), "status": self.status})
        if self.download is not None and path.endswith("/download"):
            return httpx.Response(200, content=self.download, headers={"Content-Type": "text/csv"})
        return response


def test_a_failed_export_job_is_said_at_once(shared_sandbox: Sandbox) -> None:
    from enstoolkit.errors import APIError

    transport = _ExportAnswers(status="FAILED")
    ens = ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, transport=transport)
    with pytest.raises(APIError, match="ended with status 'FAILED'"):
        ens.export_supporters("All supporters", poll_interval=0.01)
    assert transport.polls == 1  # not polled until the timeout


def test_an_empty_download_is_an_error_not_an_empty_list(shared_sandbox: Sandbox) -> None:
    from enstoolkit.errors import APIError

    ens = ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, transport=_ExportAnswers(empty_download=True))
    with pytest.raises(APIError, match="downloaded an empty file"):
        ens.export_supporters("All supporters", poll_interval=0.01)


@pytest.mark.parametrize("body", [b"\n\nERROR: the query could not be run\n", b"\n\r\n \n"])
def test_an_error_or_blank_lines_in_place_of_the_download_is_an_error(shared_sandbox: Sandbox, body: bytes) -> None:
    from enstoolkit.errors import APIError

    ens = ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, transport=_ExportAnswers(download=body))
    expected = "ERROR: the query could not be run" if b"ERROR" in body else "blank lines only"
    for call in (lambda: ens.export_supporters("All supporters", poll_interval=0.01),
                 lambda: ens.export_transactions("All supporters", poll_interval=0.01)):
        with pytest.raises(APIError, match=rf"export job \d+(:| downloaded) .*{expected}") as info:
            call()
        assert info.value.path.endswith("/download")


def test_export_arguments_are_checked_before_anything_is_sent(shared_sandbox: Sandbox) -> None:
    transport = _ExportAnswers()
    ens = ENSClient(shared_sandbox.ens_api_key, shared_sandbox.ens_url, transport=transport)
    for call in (lambda: ens.export_supporters("All supporters", columns="x"),  # type: ignore[arg-type]
                 lambda: ens._run_export_job("All supporters", field_group=5)):  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            call()
    assert transport.sent == 0


@pytest.mark.slow  # waits out timeouts
def test_an_export_file_slow_to_start_is_waited_for_longer_than_other_requests() -> None:
    from enstoolkit.errors import TransportError
    from enstoolkit.sandbox import Faults

    with Sandbox(supporters=50, seed=1) as sb, ENSClient(sb.ens_api_key, sb.ens_url, timeout=1.0) as ens:
        download = f"/ens/service/exportjob/{sb.ens.next_job_id + 1}/download"
        sb.faults.append(Faults(latency=2.5, routes=(download,)))  # the file takes 2.5 s to start coming
        assert ens.export_supporters("All supporters").height > 0
        assert sb.received[("GET", download)] == 1  # waited for, not timed out and asked again
        sb.faults[0] = Faults(latency=2.5, routes=("/ens/service/supporter/questions",))
        with pytest.raises(TransportError, match="ReadTimeout"):
            ens.request("GET", "/supporter/questions")  # any other request keeps the client's timeout
