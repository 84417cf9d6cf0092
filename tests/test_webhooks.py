"""Watch triggers end to end: the sandbox delivers, the Listener keeps every delivery, refuses the rest."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import polars as pl
import pytest

from enstoolkit import EnchargeClient
from enstoolkit.errors import ValidationError
from enstoolkit.sandbox import Sandbox
from enstoolkit.schemas.encharge import EVENT
from enstoolkit.webhooks import Listener


@pytest.fixture
def listener(tmp_path: Path):
    with Listener(tmp_path / "events.sqlite3") as hooks:
        yield hooks


def _settled(listener: Listener, count: int) -> pl.DataFrame:
    """Wait for ``count`` deliveries, then for any lookup still running."""
    listener.wait_for(count)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        events = listener.events()
        if not events.filter(pl.col("personId").is_not_null() & pl.col("emailSource").is_null()).height:
            return events
        time.sleep(0.05)
    return listener.events()


def test_every_event_arrives_with_its_email(sandbox: Sandbox, tmp_path: Path) -> None:
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc, \
            Listener(tmp_path / "events.sqlite3", encharge=enc) as listener:
        for event in ("newUser", "updatedUser", "unsubscribedUser", "added-tag-volunteer-2026",
                      "removed-tag-volunteer-2026"):
            enc.create_subscription(event, listener.url)
        created = enc.upsert_people([{"email": "webhook.one@example.org", "firstName": "Web"},
                                     {"email": "webhook.two@example.org", "firstName": "Hook"}])
        enc.update_person("webhook.one@example.org", {"lastName": "Smith"})
        enc.add_tags(["webhook.one@example.org", "webhook.two@example.org"], "volunteer-2026")
        enc.remove_tags(["webhook.two@example.org"], "volunteer-2026")
        enc.unsubscribe("webhook.one@example.org")
        enc.add_tags(["webhook.one@example.org"], "volunteer-2026")  # already tagged: no event
        events = _settled(listener, 7)
    assert events.schema == pl.Schema(EVENT)
    got = sorted(zip(events["eventType"], events["email"], strict=True))
    assert got == sorted([
        ("newUser", "webhook.one@example.org"), ("newUser", "webhook.two@example.org"),
        ("updatedUser", "webhook.one@example.org"),
        ("added-tag-volunteer-2026", "webhook.one@example.org"),
        ("added-tag-volunteer-2026", "webhook.two@example.org"),
        ("removed-tag-volunteer-2026", "webhook.two@example.org"),
        ("unsubscribedUser", "webhook.one@example.org"),
    ])
    removed = events.filter(pl.col("eventType") == "removed-tag-volunteer-2026").row(0, named=True)
    assert json.loads(removed["person"]) == {"id": removed["personId"]}  # the body named the person by id only
    assert removed["emailSource"] == "lookup" and removed["tag"] == "volunteer-2026"
    updated = events.filter(pl.col("eventType") == "updatedUser").row(0, named=True)
    assert updated["changedFields"] == ["lastName", "name"]
    # As published: the body shows the person as they were; the new values are in changedFields.
    assert json.loads(updated["person"])["name"] == "Web"
    assert json.loads(updated["eventPayload"])["changedFields"]["name"] == {"newValue": "Web Smith", "oldValue": "Web"}
    assert events.filter(pl.col("eventType") == "unsubscribedUser").item(0, "unsubscribed") is True
    assert set(events["personId"].drop_nulls()) == set(created["id"])
    assert not events["redelivery"].any()
    assert len([d for d in sandbox.encharge.deliveries if d["status"] == 200]) == 7


def test_two_equal_deliveries_are_two_rows(listener: Listener) -> None:
    body = {"eventType": "removed-tag-vip", "eventPayload": {"tag": "vip"}, "endUserData": [{"id": "p1"}]}
    answers = [httpx.post(listener.url, json=body).json() for _ in range(2)]
    assert [a["redelivery"] for a in answers] == [False, True]
    events = listener.events()
    assert events.height == 2 and events["redelivery"].to_list() == [False, True]
    assert events["bodyHash"].n_unique() == 1
    assert listener.events(unique=True).height == 1  # de-duplicating is the reader's choice


def test_custom_fields_under_data_are_flattened(listener: Listener) -> None:
    body = {"eventType": "newUser", "eventPayload": {}, "endUserData": [
        {"id": "p2", "email": "d@example.org", "data": {"additionalFields": {"field01": "value 01"},
                                                         "plan": {"tier": "gold"}}}]}
    httpx.post(listener.url, json=body)
    person = json.loads(listener.events().item(0, "person"))
    assert person == {"id": "p2", "email": "d@example.org", "field01": "value 01", "plan.tier": "gold"}


def test_what_is_not_for_the_listener_is_refused_and_not_stored(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                                ) -> None:
    caplog.set_level(logging.WARNING)
    with Listener(tmp_path / "e.sqlite3", max_body=1000) as hooks:
        root = hooks.url.rsplit("/hooks/", 1)[0]
        secret = hooks.url.rsplit("/", 1)[1]
        body = {"eventType": "newUser", "endUserData": [{"id": "p1"}]}
        assert httpx.post(f"{root}/hooks/not-the-secret-at-all", json=body).status_code == 404
        assert httpx.post(f"{root}/", json=body).status_code == 404
        assert httpx.post(hooks.url, content=b"a=b", headers={"Content-Type": "text/plain"}).status_code == 415
        assert httpx.post(hooks.url, content=b"{nope", headers={"Content-Type": "application/json"}).status_code == 400
        assert httpx.post(hooks.url, json=[1, 2]).status_code == 400
        assert httpx.post(hooks.url, json={"x": "y" * 2000}).status_code == 413
        assert httpx.get(hooks.url).status_code == 405
        assert hooks.count() == 0 and hooks.refused == 7
        assert secret not in repr(hooks)
    assert "unknown path" in caplog.text and secret not in caplog.text


def test_the_url_carries_a_secret_kept_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "kept.sqlite3"
    with Listener(path) as hooks:
        url_path = hooks.path
        httpx.post(hooks.url, json={"eventType": "unsubscribedUser", "endUserData": [{"email": "k@example.org"}]})
    secret = url_path.rsplit("/", 1)[1]
    assert len(secret) >= 16 and (tmp_path / "kept.sqlite3.secret").read_text().strip() == secret
    assert oct((tmp_path / "kept.sqlite3.secret").stat().st_mode & 0o777) == "0o600"
    with Listener(path) as again:
        assert again.path == url_path  # the URL given to Encharge keeps working
        assert again.events().get_column("email").to_list() == ["k@example.org"]
    with pytest.raises(ValidationError, match="secret"):
        Listener(tmp_path / "x.sqlite3", secret="short")


def test_binding_beyond_loopback_must_be_asked_for(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="expose=True"):
        Listener(tmp_path / "x.sqlite3", host="0.0.0.0")
    hooks = Listener(tmp_path / "y.sqlite3", host="0.0.0.0", expose=True, public_url="https://hooks.example.org/")
    assert hooks.url == f"https://hooks.example.org{hooks.path}"


def test_the_answer_comes_back_before_the_lookup(sandbox: Sandbox, tmp_path: Path) -> None:
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc, \
            Listener(tmp_path / "e.sqlite3", encharge=enc) as hooks:
        person = next(p for p in sandbox.encharge.people.values() if not p["archived"])
        sandbox.latency = 0.5  # every Encharge request (the lookup) now takes half a second
        answer = httpx.post(hooks.url, json={"eventType": "removed-tag-x", "endUserData": [{"id": person["id"]}]})
        # answered and stored while the lookup is still on its way: the answer did not wait for it
        assert answer.status_code == 200 and hooks.events().item(0, "email") is None
        events = _settled(hooks, 1)
        sandbox.latency = 0.0
    assert events.item(0, "email") == person["email"] and events.item(0, "emailSource") == "lookup"


def test_sandbox_retries_failed_deliveries(sandbox: Sandbox) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc:
        enc.create_subscription("newUser", f"http://127.0.0.1:{closed}/hook")
        enc.upsert_people([{"email": "nobody.listening@example.org"}])
    deadline = time.monotonic() + 10
    while len(sandbox.encharge.deliveries) < sandbox.encharge.webhook_retries and time.monotonic() < deadline:
        time.sleep(0.1)
    attempts = [d["attempt"] for d in sandbox.encharge.deliveries]
    assert attempts == list(range(1, sandbox.encharge.webhook_retries + 1))
    assert all(d["error"] == "ConnectError" for d in sandbox.encharge.deliveries)


def test_the_listen_command_shows_the_url_once_and_each_delivery(tmp_path: Path) -> None:
    import io
    import threading

    from enstoolkit.cli import build_parser
    from enstoolkit.cli.listen import listener_from, serve

    def until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.02)

    body = {"eventType": "removed-tag-vip", "eventPayload": {"tag": "vip"}, "endUserData": [{"id": "p7"}]}
    for n, show_secret in enumerate((False, True), start=1):
        args = build_parser().parse_args(["listen", "--events", str(tmp_path / "cli.sqlite3"), "--port", "0",
                                          "--no-lookup"])
        listener = listener_from(args)
        out = io.StringIO()
        stop = threading.Event()
        thread = threading.Thread(target=serve, args=(listener, stop), kwargs={"show_secret": show_secret, "out": out})
        thread.start()
        until(lambda: "Ctrl-C stops" in out.getvalue(), "the listener did not start")  # noqa: B023
        assert httpx.post(listener.url, json=body).status_code == 200
        assert httpx.post(listener.url.rsplit("/", 1)[0] + "/wrong-secret-0000000", json=body).status_code == 404
        until(lambda: f"#{n} removed-tag-vip p7" in out.getvalue(), "the delivery was not printed")  # noqa: B023
        stop.set()
        thread.join(timeout=10)
        printed = out.getvalue()
        secret = listener.path.rsplit("/", 1)[1]
        if show_secret:  # to a terminal: the URL in full, once
            assert printed.count(listener.url) == 1
            assert "#2 removed-tag-vip p7 (same body as an earlier delivery)" in printed
        else:  # to a file or a pipe: never the secret
            assert secret not in printed and "/hooks/<secret>" in printed and "cli.sqlite3.secret" in printed
        assert f"{n:,} deliveries kept, 1 refused" in printed


def test_a_body_of_another_shape_is_kept_whole(listener: Listener, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    flow = {"id": "p9", "note": "sent by a flow's Send Webhook step"}  # user-defined (WP Fusion's docs)
    assert httpx.post(listener.url, json=flow).status_code == 200
    row = listener.events().row(0, named=True)
    assert row["eventType"] is None and json.loads(row["body"]) == flow
    assert "not an event subscription's body (keys: id, note)" in caplog.text


def test_a_file_from_before_the_body_column_still_opens(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL,"
                   " body_hash TEXT NOT NULL, event_type TEXT, tag TEXT, person_id TEXT, email TEXT, email_source TEXT,"
                   " user_id TEXT, unsubscribed INTEGER, changed_fields TEXT, person TEXT, event_payload TEXT)")
        db.execute("INSERT INTO deliveries (received_at, body_hash, event_type) VALUES (1700000000000, 'h', 'newUser')")
    events = Listener(path).events()
    assert events.select("eventType", "body").rows() == [("newUser", None)]


def test_the_url_secret_never_comes_back_from_the_client(sandbox: Sandbox, tmp_path: Path) -> None:
    from enstoolkit.errors import ValidationError

    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc, \
            Listener(tmp_path / "events.sqlite3") as hooks:
        secret = hooks.url.rsplit("/", 1)[1]
        enc.create_subscription("newUser", hooks.url)
        listed = enc.list_subscriptions()
        assert listed.height == 1 and secret not in str(listed.rows()) and listed.item(0, "url").endswith("/hooks/***")
        with pytest.raises(ValidationError) as info:
            enc.create_subscription("newUser", hooks.url.replace("http://", "ftp://"))
        assert secret not in str(info.value)
