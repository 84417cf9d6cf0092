"""Every sandbox response for the Encharge operations validates against Encharge's OpenAPI spec.

Exceptions to the spec, each with its source (the spec itself documents no error bodies):

- ``GET /event-subscriptions``: the sandbox lists subscriptions; the spec has no such operation.
- An unknown route answers Express's HTML 404 page ``<pre>Cannot GET /v1/...</pre>``, not JSON
  (segevsh/w6w-apps ``apps/encharge/tests/``, probed on the live API); the spec has no such path.
- Error bodies are ``{"error": {"message", "errorCode"?, "markdown", "traceId"?}}`` with the
  published messages: no token "User not logged in: Unauthorized request: no authentication given",
  a malformed key "Token without payload (should be JWT token)." with errorCode 10082
  (segevsh/w6w-apps ``tests/_helpers.ts``, ``tests/auth/api-key.test.ts``).
- In the ``encharge-no-status`` variant person records carry no ``unsubscribed`` or ``userId`` and
  nest custom fields under ``data`` (PipedreamHQ/pipedream ``components/encharge/sources/*/test-event.mjs``;
  airbytehq/airbyte ``source-encharge/manifest.yaml``); the spec's ``EndUser`` allows that
  (``additionalProperties``, nothing required).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from enstoolkit import EnchargeClient, RetryPolicy
from enstoolkit.errors import EnstoolkitError
from enstoolkit.sandbox import Sandbox

from ..conftest import SPECS, RecordingTransport
from ..spec_validation import SpecChecker


def openapi30_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` is JSON Schema's ``type: [t, "null"]``."""
    if isinstance(node, list):
        return [openapi30_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi30_to_jsonschema(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
    return out


def exercise_everything(sb: Sandbox, enc: EnchargeClient) -> None:
    people = [p for p in sb.encharge.people.values() if not p["archived"]][:6]
    enc.get_account()
    enc.get_fields()
    enc.get_tags()
    enc.get_segments()
    enc.get_segment_people(101, limit=30)
    enc.list_people(limit=100)
    enc.list_people(limit=10, attributes=["country"], max_people=10)
    enc.get_people(emails=[p["email"] for p in people], user_ids=["no-such-user"])
    enc.upsert_people([{"email": "spec.one@example.org", "firstName": "Spec", "tags": ["a", "b"]},
                       {"email": people[0]["email"], "leadScore": 12}])
    enc.update_person("spec.one@example.org", {"city": "Bath"})
    enc.add_tags([p["email"] for p in people[:3]] + ["stranger@example.org"], ["spec-tag"])
    enc.remove_tags([p["email"] for p in people[:3]], ["spec-tag"])
    enc.unsubscribe(people[1]["email"])
    enc.delete_people(emails=[people[2]["email"]])
    enc.delete_people(ids=[people[3]["id"]], force=True)
    hook = enc.create_subscription("newUser", "http://127.0.0.1:9/hook")
    enc.list_subscriptions()
    enc.delete_subscription(hook)
    for call in (
        lambda: enc.create_subscription("newUser", "https://hooks.example.org/"),
        lambda: enc.unsubscribe("stranger@example.org"),
        lambda: enc.request("GET", "/people"),
        lambda: enc.request("POST", "/people", json=[{"firstName": "No id"}]),
        lambda: enc.get_segment_people(999),
        lambda: enc.request("GET", "/no-such-route"),
    ):
        with pytest.raises(EnstoolkitError):
            call()


@pytest.mark.parametrize("variant", ["default", "encharge-no-status"])
def test_sandbox_responses_validate_against_the_encharge_spec(variant: str) -> None:
    spec = openapi30_to_jsonschema(copy.deepcopy(yaml.safe_load((SPECS / "encharge-openapi.yml").read_text())))
    checker = SpecChecker(spec, prefix="/v1")
    recorder = RecordingTransport()
    with Sandbox(supporters=300, seed=5, variant=variant) as sb:
        enc = EnchargeClient(sb.encharge_api_key, sb.encharge_url, transport=recorder)
        enc.retry = RetryPolicy(backoff=0.01)
        exercise_everything(sb, enc)
        with EnchargeClient("bad-key-000000", sb.encharge_url, transport=recorder) as bad, \
                pytest.raises(EnstoolkitError):
            bad.get_tags()
    problems = []
    unknown_routes = 0
    for request, response in recorder.exchanges:
        if request.url.path == "/v1/event-subscriptions" and request.method == "GET":
            continue  # the sandbox's listing is not in Encharge's published spec
        if checker.template_for(request.url.path) is None:  # Express's page for an unknown route (w6w-apps)
            assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
            assert f"<pre>Cannot {request.method} {request.url.path}</pre>" in response.text
            unknown_routes += 1
            continue
        problems.extend(checker.errors(request, response))
        template = checker.template_for(request.url.path) or ""
        if checker.response_schema_pointer(request.method, template, response.status_code):
            continue
        if response.status_code >= 400:
            error = response.json()["error"]
            assert isinstance(error["message"], str) and error["message"]
        else:
            spec_statuses = spec["paths"][template][request.method.lower()]["responses"]
            assert str(response.status_code) in spec_statuses, (request.method, template, response.status_code)
            assert response.content == b""
    assert problems == [], problems[:5]
    assert unknown_routes == 1
    bad_key = [rs.json()["error"] for rq, rs in recorder.exchanges if rs.status_code == 401]
    assert bad_key == [{"message": "Token without payload (should be JWT token).", "errorCode": 10082,
                        "markdown": "<p>Token without payload (should be JWT token).</p>",
                        "traceId": bad_key[0]["traceId"]}]
    assert checker.tolerated == []
    expected = {
        ("GET", "/accounts/info", 200), ("GET", "/fields", 200), ("GET", "/tags-management", 200),
        ("GET", "/segments", 200), ("GET", "/segments/{segmentId}/people", 200), ("GET", "/people/all", 200),
        ("GET", "/people", 200), ("POST", "/people", 200), ("POST", "/event-subscriptions", 201),
    }
    assert expected <= checker.checked, sorted(expected - checker.checked)
    statuses = {(rq.method, rq.url.path, rs.status_code) for rq, rs in recorder.exchanges}
    for needed in [("POST", "/v1/tags", 201), ("DELETE", "/v1/tags", 204), ("POST", "/v1/people/unsubscribe", 204),
                   ("DELETE", "/v1/people", 204), ("DELETE", "/v1/event-subscriptions/701", 204)]:
        assert needed in statuses, needed
    print(f"validated {len(recorder.exchanges)} Encharge responses")
