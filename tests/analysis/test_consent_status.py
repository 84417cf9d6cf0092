"""Consent status that can be unknown: where each person's status came from, and audits that say "cannot check"."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pytest

from enstoolkit import EnchargeClient
from enstoolkit.analysis import CANNOT_CHECK, cannot_check_rows, optin_state_conflicts, run_audit
from enstoolkit.errors import NotFoundError
from enstoolkit.sandbox import Sandbox
from enstoolkit.schemas import StatusSource

ABSENT = str(StatusSource.ABSENT_MEANS_SUBSCRIBED)


@pytest.fixture(params=["default", "encharge-status-when-set", "encharge-no-status"])
def variant_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(supporters=300, seed=4, variant=request.param) as sb:
        yield sb


def truth(sandbox: Sandbox) -> dict[str, bool]:
    return {p["id"]: p["unsubscribed"] for p in sandbox.encharge.people.values() if not p["archived"]}


def test_each_status_says_where_it_came_from(variant_sandbox: Sandbox) -> None:
    sb = variant_sandbox
    with EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        people = enc.list_people()
        raw = enc.request("GET", "/people/all", params={"limit": 1000})["people"]
    known = dict(zip(people["id"], people["unsubscribed"], strict=True))
    sources = dict(zip(people["id"], people["statusSource"], strict=True))
    status = sb.variant.person_status
    if status == "field":
        assert set(sources.values()) == {"field"} and known == truth(sb)
        assert all("unsubscribed" in p and "userId" in p for p in raw if p["email"].endswith(".org"))
    elif status == "when-set":
        assert known == truth(sb)  # nothing assumed that is not so
        assert {sources[pid] for pid, unsub in truth(sb).items() if unsub} == {"field"}
        assert {sources[pid] for pid, unsub in truth(sb).items() if not unsub} == {ABSENT}
        assert all("unsubscribed" not in p for p in raw if not known[p["id"]])
    else:
        assert set(sources.values()) == {"unknown"} and set(known.values()) == {None}
        assert not any("unsubscribed" in p or "userId" in p for p in raw)  # as the published records
        assert all(isinstance(p["data"], dict) and "country" not in p for p in raw if "data" in p)
        assert people.filter(pl.col("country").is_not_null()).height > 0  # custom fields brought up from data
    person = raw[0]
    with EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        enc.remove_tags([person["email"]], person["tags"].split(","))
        untagged = enc.request("GET", "/people", params={"people[0][id]": person["id"]})["users"][0]
        assert enc.get_people(ids=[person["id"]]).item(0, "tags").to_list() == []
    if sb.variant.empty_tags == "absent":
        assert "tags" not in untagged
    else:
        assert untagged["tags"] == ""


def test_a_status_not_returned_is_unknown(shared_enc: EnchargeClient, shared_sandbox: Sandbox) -> None:
    only_country = shared_enc.list_people(attributes=["country"], max_people=50)  # the field was not asked for
    assert set(only_country["statusSource"]) == {"unknown"} and only_country["unsubscribed"].null_count() == 50
    with Sandbox(supporters=100, seed=2, variant="encharge-status-when-set") as sb, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        subscribed = [p["email"] for p in sb.encharge.people.values() if not p["unsubscribed"]][:5]
        few = enc.get_people(emails=subscribed)  # none of these carries the field: nothing to go by
        assert set(few["statusSource"]) == {"unknown"}


def test_statuses_from_the_unsubscribed_segment() -> None:
    with Sandbox(supporters=300, seed=4, variant="encharge-no-status") as sb, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        people = enc.list_people()
        filled = enc.status_from_segment(people)
        assert dict(zip(filled["id"], filled["unsubscribed"], strict=True)) == truth(sb)
        assert set(filled["statusSource"]) == {str(StatusSource.SEGMENT)}
        with pytest.raises(NotFoundError, match="stay unknown"):
            enc.status_from_segment(people, segment="Opted out")
        field = enc.list_people()
    assert field.equals(people)  # nothing changed in the account


class _Bodies(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_webhook_bodies_as_published_in_the_no_status_variant() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bodies)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    _Bodies.bodies = []
    try:
        with Sandbox(supporters=50, seed=1, variant="encharge-no-status") as sb, \
                EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            for event in ("newUser", "updatedUser", "unsubscribedUser", "removed-tag-vip"):
                enc.create_subscription(event, url)
            enc.upsert_people([{"email": "pub@example.org", "firstName": "Pub", "city": "Bath", "tags": "vip"}])
            enc.update_person("pub@example.org", {"firstName": "Publ"})
            enc.unsubscribe("pub@example.org")
            enc.remove_tags(["pub@example.org"], "vip")
            deadline = threading.Event()
            for _ in range(100):
                if len(_Bodies.bodies) >= 4:
                    break
                deadline.wait(0.05)
    finally:
        server.shutdown()
    bodies = {b["eventType"]: b for b in _Bodies.bodies}
    assert set(bodies) == {"newUser", "updatedUser", "unsubscribedUser", "removed-tag-vip"}
    for body in bodies.values():
        assert set(body) == {"eventType", "eventPayload", "endUserData"}
    new = bodies["newUser"]["endUserData"][0]
    assert bodies["newUser"]["eventPayload"] == {}
    assert new["data"] == {"city": "Bath"} and "unsubscribed" not in new and "userId" not in new
    assert new["createdAt"].endswith("Z") and new["tags"] == "vip"
    update = bodies["updatedUser"]
    assert update["eventPayload"]["source"] == "api" and update["endUserData"][0]["firstName"] == "Pub"
    assert update["eventPayload"]["changedFields"]["firstName"] == {"newValue": "Publ", "oldValue": "Pub"}
    assert "unsubscribed" not in bodies["unsubscribedUser"]["endUserData"][0]
    assert bodies["removed-tag-vip"] == {"eventType": "removed-tag-vip", "eventPayload": {"tag": "vip"},
                                         "endUserData": [{"id": new["id"]}]}


# -- the consent checks ----------------------------------------------------------------------


ENS = pl.DataFrame({
    "supporterId": [1, 2, 3, 4, 5],
    "Email Address": ["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"],
    "Marketing Optin": [True, False, False, True, False],
})


def test_unknown_statuses_are_reported_never_counted_as_agreeing() -> None:
    unknown = pl.DataFrame({"id": ["p1", "p2", "p3"], "email": ["a@x.org", "b@x.org", "c@x.org"],
                            "unsubscribed": [None, None, None], "statusSource": ["unknown"] * 3},
                           schema_overrides={"unsubscribed": pl.Boolean})
    found = optin_state_conflicts(ENS, unknown)
    assert found.select("check", "severity", "supporterId").rows() == [
        ("opted in, unsubscribed in Encharge", "medium", None), ("opted out, subscribed in Encharge", "high", None)]
    assert found["detail"].to_list() == [
        "cannot check: Encharge records carry no subscription status (none of the 1 opted in in ENS, found in "
        "Encharge by email)",
        "cannot check: Encharge records carry no subscription status (none of the 2 opted out in ENS, found in "
        "Encharge by email)"]
    no_column = optin_state_conflicts(ENS, unknown.drop("unsubscribed", "statusSource"))
    assert no_column.equals(found)


def test_partly_known_statuses_are_checked_and_the_rest_reported() -> None:
    partly = pl.DataFrame({"id": ["p1", "p2", "p3", "p4", "p5"], "email": ENS["Email Address"],
                           "unsubscribed": [True, False, None, None, None],
                           "statusSource": ["field", ABSENT, "unknown", "unknown", "unknown: unrecognised value 'x'"]})
    found = optin_state_conflicts(ENS, partly)
    checked = found.filter(pl.col("supporterId").is_not_null())
    assert checked.select("supporterId", "check").rows() == [(1, "opted in, unsubscribed in Encharge"),
                                                             (2, "opted out, subscribed in Encharge")]
    assert checked.item(1, "detail").endswith(f"; status: {ABSENT})")
    assert cannot_check_rows(found)["detail"].to_list() == [
        "cannot check: Encharge records carry no subscription status (1 of the 2 opted in in ENS, found in "
        "Encharge by email)",
        "cannot check: Encharge records carry no subscription status (2 of the 3 opted out in ENS, found in "
        "Encharge by email)"]
    known = partly.with_columns(pl.lit(False).alias("unsubscribed"), pl.lit("field").alias("statusSource"))
    assert cannot_check_rows(optin_state_conflicts(ENS, known)).height == 0
    audit = run_audit(ENS.with_columns(pl.lit("A").alias("First Name"), pl.lit("B").alias("Last Name"),
                                       pl.lit("C").alias("Postcode")), partly)
    unable = cannot_check_rows(audit)
    consent = unable.filter(pl.col("detail").str.contains("subscription status"))
    assert sorted(consent["check"].to_list()) == ["opted in, unsubscribed in Encharge",
                                                  "opted out, subscribed in Encharge"]
    # the ENS frame here has no suppressed or modifiedOn column: those checks say so too
    assert sorted(unable.filter(~pl.col("detail").str.contains("subscription status"))["check"].to_list()) == [
        "stale record", "suppressed with opt-in"]


@pytest.mark.slow
def test_the_audit_notebook_reads_statuses_from_the_segment_on_the_no_status_variant(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from enstoolkit.notebooks import execute, notebook_path

    for name in ("ENS_API_KEY", "ENS_BASE_URL", "ENCHARGE_API_KEY", "ENCHARGE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    execute(notebook_path("supporter_audit.ipynb"), cwd=tmp_path, save=False,
            parameters={"SANDBOX_VARIANT": "encharge-no-status", "SUPPORTERS": 1000, "OUT_DIR": str(tmp_path)})
    findings = pl.read_csv(tmp_path / "audit_findings.csv")
    consent = findings.filter(pl.col("check") == "opted out, subscribed in Encharge")
    assert consent.height > 1  # the real conflicts, found through the account's "Unsubscribed" segment
    assert consent.get_column("detail").str.contains("status: the account's Unsubscribed segment").all()
    assert not findings.get_column("detail").str.starts_with(CANNOT_CHECK).any()
    summary = pl.read_csv(tmp_path / "audit_summary.csv")
    assert summary.get_column("note").null_count() == summary.height
