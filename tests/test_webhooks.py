"""Watch triggers end to end: the sandbox delivers, the Listener stores, nothing lost or doubled."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from enstoolkit import EnchargeClient
from enstoolkit.sandbox import Sandbox
from enstoolkit.webhooks import EVENT_SCHEMA, Listener


@pytest.fixture
def listener(tmp_path: Path):
    with Listener(tmp_path / "events.sqlite3") as hooks:
        yield hooks


def test_every_event_arrives_once(sandbox: Sandbox, listener: Listener) -> None:
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc:
        for event in ("newUser", "updatedUser", "unsubscribedUser", "added-tag-volunteer-2026",
                      "removed-tag-volunteer-2026"):
            enc.subscribe(event, listener.url)
        created = enc.upsert_people([{"email": "webhook.one@example.org", "firstName": "Web"},
                                     {"email": "webhook.two@example.org", "firstName": "Hook"}])
        enc.update_person({"lastName": "Smith"}, email="webhook.one@example.org")
        enc.add_tags(["webhook.one@example.org", "webhook.two@example.org"], "volunteer-2026")
        enc.remove_tags(["webhook.two@example.org"], "volunteer-2026")
        enc.unsubscribe(email="webhook.one@example.org")
        enc.add_tags(["webhook.one@example.org"], "volunteer-2026")  # already tagged: no event
    events = listener.wait_for(7)
    time.sleep(0.3)  # anything more would be a duplicate or a stray event
    events = listener.events()
    assert events.schema == EVENT_SCHEMA
    got = sorted(zip(events["eventType"], events["email"], strict=True))
    assert got == sorted([
        ("newUser", "webhook.one@example.org"), ("newUser", "webhook.two@example.org"),
        ("updatedUser", "webhook.one@example.org"),
        ("added-tag-volunteer-2026", "webhook.one@example.org"),
        ("added-tag-volunteer-2026", "webhook.two@example.org"),
        ("removed-tag-volunteer-2026", "webhook.two@example.org"),
        ("unsubscribedUser", "webhook.one@example.org"),
    ])
    updated = events.filter(events["eventType"] == "updatedUser").row(0, named=True)
    assert updated["changedFields"] == ["lastName", "name"]
    assert json.loads(updated["person"])["name"] == "Web Smith"
    tagged = events.filter(events["eventType"] == "added-tag-volunteer-2026")
    assert set(tagged["tag"]) == {"volunteer-2026"}
    assert set(events["personId"].drop_nulls()) == set(created["id"])
    assert events["deliveryKey"].is_unique().all()
    attempts = [d for d in sandbox.encharge.deliveries if d["status"] == 200]
    assert len(attempts) == 7


def test_duplicates_are_ignored(listener: Listener) -> None:
    body = {"eventType": "newUser", "eventPayload": {}, "endUserData": [{"id": "p1", "email": "a@example.org"}]}
    headers = {"X-Encharge-Delivery": "delivery-1"}
    first = httpx.post(listener.url, json=body, headers=headers).json()
    second = httpx.post(listener.url, json=body, headers=headers).json()
    assert first == {"stored": True, "duplicate": False} and second == {"stored": False, "duplicate": True}
    without_key = [httpx.post(listener.url, json=body).json() for _ in range(2)]  # same bytes: same event
    assert [r["duplicate"] for r in without_key] == [False, True]
    assert listener.count() == 2


def test_listener_refuses_what_is_not_json(tmp_path: Path) -> None:
    with Listener(tmp_path / "e.sqlite3", max_body=1000) as hooks:
        assert httpx.post(hooks.url, content=b"a=b", headers={"Content-Type": "text/plain"}).status_code == 415
        assert httpx.post(hooks.url, content=b"{nope", headers={"Content-Type": "application/json"}).status_code == 400
        assert httpx.post(hooks.url, json=[1, 2]).status_code == 400
        assert httpx.post(hooks.url, json={"x": "y" * 2000}).status_code == 413
        assert hooks.count() == 0
    with pytest.raises(ValueError, match="loopback"):
        Listener(tmp_path / "x.sqlite3", host="0.0.0.0")


def test_events_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "kept.sqlite3"
    with Listener(path) as hooks:
        httpx.post(hooks.url, json={"eventType": "unsubscribedUser", "endUserData": [{"email": "k@example.org"}]})
    with Listener(path) as again:
        assert again.events().get_column("email").to_list() == ["k@example.org"]


def test_sandbox_retries_failed_deliveries(sandbox: Sandbox) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc:
        enc.subscribe("newUser", f"http://127.0.0.1:{closed}/hook")
        enc.upsert_people([{"email": "nobody.listening@example.org"}])
    deadline = time.monotonic() + 10
    while len(sandbox.encharge.deliveries) < sandbox.encharge.webhook_retries and time.monotonic() < deadline:
        time.sleep(0.1)
    attempts = [d["attempt"] for d in sandbox.encharge.deliveries]
    assert attempts == list(range(1, sandbox.encharge.webhook_retries + 1))
    assert all(d["error"] == "ConnectError" for d in sandbox.encharge.deliveries)
