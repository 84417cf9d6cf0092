"""Every sandbox response for the ENS operations validates against the vendor's OpenAPI spec, except where
published evidence shows the live service departs from it: each departure is listed below with its source
(see real-world-evidence.md), and the sandbox is checked to follow the evidence."""

from __future__ import annotations

import json

import pytest

from enstoolkit import ENSClient
from enstoolkit.errors import EnstoolkitError
from enstoolkit.sandbox import Sandbox

from ..conftest import SPECS, RecordingTransport
from ..spec_validation import SpecChecker

ERROR_SHAPE_KEYS = {"message", "messageId", "developerMessage"}


def exercise_everything(sb: Sandbox, ens: ENSClient, transport: RecordingTransport) -> None:
    """Call every wrapped ENS operation, in success and in failure."""
    E = ens.email_field
    sid = sb.ens.first_supporter_id()
    member = next(r.supporter_id for r in sb.ens.records.values() if sb.ens.memberships(r))
    ens.validate_session()
    ens.get_fields()
    ens.get_questions()
    ens.get_question(15012)
    ens.get_question(15210)  # a range question (in accounts that have one)
    ens.get_question(1)
    ens.get_supporter(sid, questions=True, memberships=True)
    ens.get_supporter(member, questions=True, memberships=True)
    ens.get_supporter(email=sb.ens.records[sid].email.strip().lower(), questions=True)
    ens.get_supporter(999_999_999)
    for r in list(sb.ens.records.values())[:40]:
        ens.get_transactions(r.supporter_id)
    for qtype in ("latestCreated", "latestModified", "suppressed"):
        ens.query_supporters(qtype, days_back=32, rows=50, progress=False)
    ens.query_supporters("profile", profile_id=334, rows=100, progress=False)
    ens.query_supporters("search", filter={"country": "IE"}, export_group="basic only", progress=False)
    for ptype in ("dcf", "pet", "ems", "unsub", "et", "nd", "mem"):
        ens.get_pages(ptype)
    ens.get_pages("pet", "live")
    ens.get_page(100)
    new_id = ens.upsert_supporter({E: "conformance@example.org", "First Name": "Con",
                                   "questions": {"Marketing Optin": "Y"}})
    ens.update_supporter(new_id, {"City": "Leeds"})
    ens.process_page(100, {E: "conformance@example.org"}, questions={"Newsletter Optin": "Y"})
    ens.process_page(110, {E: "conformance@example.org"})
    ens.process_page(130, {E: "conformance@example.org"},
                     transaction={"donationAmt": "10.00", "paymenttype": "VISA", "ccnumber": "4222222222222220"})
    ens.process_page(131, {E: "conformance@example.org"},
                     transaction={"donationAmt": 5, "paymenttype": "VISA", "recurrpay": "Y"})
    ens.process_page(140, {E: "conformance@example.org"},
                     transaction={"donationAmt": 30, "paymenttype": "VISA"})
    ens.process_page(120, {E: "conformance@example.org"},
                     contact_message={"subject": "Rivers", "message": "Please act"})
    ens.get_transactions(new_id)
    for r in list(sb.ens.records.values())[:40]:
        ens.get_recurring(r.supporter_id)
    ens.suppress_supporters([sb.ens.records[sid].email, "conformance@example.org", "nobody@example.org"])
    ens.get_supporter(new_id, questions=True, memberships=True)
    ens.delete_supporter(new_id)
    ens.export_supporters("All supporters", poll_interval=0.05)
    ens.process_page(130, {E: "demo.gift@example.org"},
                     transaction={"donationAmt": "5.00", "paymenttype": "VI"}, demo=True)
    failing = [
        lambda: ens.process_page(130, {E: "x@example.org"},
                                 transaction={"donationAmt": 5, "ccnumber": "4000000000000002"}),
        lambda: ens.get_page(999999),
        lambda: ens.delete_supporter(new_id),
        lambda: ens.request("POST", "/supporter", json={E: "x@example.org", "Nope": "1"}),
        lambda: ens.request("GET", "/page", params={"type": "dc"}),
        lambda: ens.request("GET", "/supporter/query", params={"type": "suppressed"}),
    ]
    for call in failing:
        with pytest.raises(EnstoolkitError):
            call()
    ens.close()
    with ENSClient("wrong-key-0000", sb.ens_url, transport=transport) as bad, pytest.raises(EnstoolkitError):
        bad.get_fields()
    sb.ens.hourly_limit = 0
    with ENSClient(sb.ens_api_key, sb.ens_url, transport=transport) as limited, pytest.raises(EnstoolkitError):
        limited.get_fields()


#: Where the sandbox follows published evidence of the live service rather than the spec, and the source.
EVIDENCE_DEPARTURES = {
    "GET /authenticate/{token} answers only {valid}": "orkestre-engaging-networks .audit/2026-03-25 (observed)",
    "a JSON-quoted key is refused with 'Invalid api key [...]'": "waysact/active_merchant unit test (recorded)",
    "error bodies list messageId before message": "waysact/active_merchant failed_login_response (recorded)",
    "page detail carries 'template'": "orkestre-engaging-networks .audit (observed; not in the v6.0.0 spec)",
    "donations list createdDate only: no createdOn, amount or currency": "orkestre-engaging-networks .audit",
    "histories carry EMAIL transactions": "orkestre-engaging-networks .audit (types EMAIL, nd, dc, et, SBC)",
    "a demo donation answers paymentType 'TEST: <type>' and is recorded": "waysact/active_merchant (recorded)",
    "a refused submission answers 200 with status ERROR and five keys": "waysact/active_merchant (recorded)",
    "supporterId and suppressed as strings (variant text-values)": "OpenPublicMedia tests/fixtures/getSupporter.json",
    "recurring schedules' amount as text (\"40.00\")": "real-world-evidence.md, recurring amount (observed)",
}


def follows_the_evidence(recorder: RecordingTransport) -> None:
    """The departures listed in EVIDENCE_DEPARTURES really are in what the sandbox sent."""
    by = {(rq.method, rq.url.path.split("/ens/service", 1)[1]): rs for rq, rs in recorder.exchanges}
    validate = next(rs for (m, path), rs in by.items() if m == "GET" and path.startswith("/authenticate/"))
    assert validate.json() == {"valid": True}
    assert "template" in by[("GET", "/page/100")].json()
    donations = [t for (m, path), rs in by.items() if path.endswith("/transactions") and rs.status_code == 200
                 for t in rs.json() if t.get("type") == "nd"]
    assert donations and all("createdDate" in t and "amount" not in t and "createdOn" not in t for t in donations)
    listed = [t for (m, path), rs in by.items() if path.endswith("/transactions") and rs.status_code == 200
              for t in rs.json()]
    assert any(t.get("type") == "EMAIL" for t in listed)
    refused = [rs.json() for (m, path), rs in by.items() if path.endswith("/process") and rs.json().get("status")
               == "ERROR"]
    assert refused and all(set(r) == {"error", "supporterId", "supporterEmailAddress", "status", "id"} for r in refused)
    errors = [rs.json() for _, rs in by.items() if rs.status_code >= 400 and rs.content]
    assert errors and all(list(e)[:2] == ["messageId", "message"] for e in errors)


@pytest.mark.parametrize("variant", ["default", "dashboard-headers,us-account,pending-optins,text-values"])
def test_sandbox_responses_validate_against_the_ens_spec(variant: str) -> None:
    spec = json.loads((SPECS / "ens-openapi.json").read_text())
    checker = SpecChecker(spec, prefix="/ens/service")
    recorder = RecordingTransport()
    with Sandbox(supporters=400, seed=11, variant=variant) as sb:
        ens = ENSClient(sb.ens_api_key, sb.ens_url, transport=recorder)
        exercise_everything(sb, ens, recorder)
    follows_the_evidence(recorder)
    problems = checker.all_errors(recorder.exchanges)
    # listed in EVIDENCE_DEPARTURES: a recurring schedule's amount is text on live accounts
    problems = [p for p in problems if not ("is not of type 'number'" in p and p.endswith("'amount']"))]
    if "text-values" in variant:  # listed in EVIDENCE_DEPARTURES: ids and flags as text (another client's fixture)
        as_text = ("is not of type 'integer'", "is not of type 'boolean'", "is not one of [True, False]")
        problems = [p for p in problems
                    if not (any(t in p for t in as_text) and p.endswith(("['supporterId']", "['suppressed']")))]
    assert problems == []
    # Excused only where the vendor's own examples break the same rule (the spec's
    # question-response pattern rejects "Y"; its page subType enum lacks "").
    for text in checker.tolerated:
        assert "does not match '^([^NnYyPpDd]{1})" in text or "'' is not valid under any of" in text, text
    print(f"{len(checker.tolerated)} values excused as spec defects shared with the vendor's examples")

    # Statuses the spec does not describe keep ENS's own shapes.
    for request, response in recorder.exchanges:
        template = checker.template_for(request.url.path)
        if checker.response_schema_pointer(request.method, template or "", response.status_code):
            continue
        if response.status_code == 204:
            assert response.content == b""
        elif response.status_code >= 400:
            body = response.json()
            assert isinstance(body["message"], str) and isinstance(body["messageId"], int)
            assert set(body) <= ERROR_SHAPE_KEYS
        else:
            assert request.url.path.endswith("/download")
            assert response.headers["content-type"].startswith("text/csv")

    expected = {
        ("POST", "/authenticate", 200), ("POST", "/authenticate", 401),
        ("GET", "/authenticate/{ens-auth-token}", 200), ("DELETE", "/authenticate/{ens-auth-token}", 200),
        ("GET", "/supporter/fields", 200), ("GET", "/supporter/questions", 200),
        ("GET", "/supporter/questions/{id}", 200), ("GET", "/supporter/{supporterId}", 200),
        ("GET", "/supporter", 200), ("POST", "/supporter", 200), ("POST", "/supporter", 400),
        ("PUT", "/supporter/{supporterId}", 200), ("DELETE", "/supporter/{supporterId}", 200),
        ("GET", "/supporter/{supporterId}/transactions", 200), ("GET", "/supporter/query", 200),
        ("GET", "/page", 200), ("GET", "/page/{id}", 200), ("POST", "/page/{id}/process", 200),
        ("POST", "/exportjob", 200), ("GET", "/exportjob/{id}", 200),
        ("PUT", "/supporter/bulk", 200), ("GET", "/supporter/{supporterId}/transactions/recurring", 200),
    }
    assert expected <= checker.checked, sorted(expected - checker.checked)
    print(f"validated {len(recorder.exchanges)} responses over {len(checker.checked)} operation/status pairs")
