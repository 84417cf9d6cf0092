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
from enstoolkit.encharge import Listener
from enstoolkit.errors import ValidationError
from enstoolkit.sandbox import Sandbox
from enstoolkit.schemas.encharge import EVENT


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


# -- several people in one delivery ("endUserData is an array of people who performed the event") --------------

THREE = {"eventType": "unsubscribedUser", "eventPayload": {},
         "endUserData": [{"id": "p1", "email": "ann@example.org"}, {"id": "p2", "email": "bob@example.org"},
                         {"id": "p3", "email": "cy@example.org", "unsubscribed": False}]}


def test_a_delivery_naming_three_people_is_three_rows(listener: Listener) -> None:
    answer = httpx.post(listener.url, json=THREE).json()
    assert answer == {"stored": 1, "redelivery": False, "people": 3}
    events = listener.events()
    assert events.schema == pl.Schema(EVENT)
    assert events.select("seq", "personIndex", "eventType", "personId", "email", "emailSource", "unsubscribed",
                         "redelivery").rows() == [
        (1, 0, "unsubscribedUser", "p1", "ann@example.org", "event", True, False),
        (1, 1, "unsubscribedUser", "p2", "bob@example.org", "event", True, False),
        (1, 2, "unsubscribedUser", "p3", "cy@example.org", "event", True, False),  # the event says unsubscribed
    ]
    assert json.loads(events.item(2, "person")) == {"id": "p3", "email": "cy@example.org", "unsubscribed": False}
    assert events["bodyHash"].n_unique() == 1 and json.loads(events.item(1, "body")) == THREE  # the delivery's own
    assert listener.count() == 1  # deliveries
    assert listener.events("unsubscribedUser").height == 3 and listener.events("newUser").height == 0


def test_a_redelivered_body_of_three_people_is_six_rows_and_three_unique(listener: Listener) -> None:
    answers = [httpx.post(listener.url, json=THREE).json() for _ in range(2)]
    assert answers == [{"stored": 1, "redelivery": False, "people": 3}, {"stored": 2, "redelivery": True, "people": 3}]
    events = listener.events()
    assert events.select("seq", "personIndex", "redelivery").rows() == [
        (1, 0, False), (1, 1, False), (1, 2, False), (2, 0, True), (2, 1, True), (2, 2, True)]
    unique = listener.events(unique=True)
    assert unique.select("seq", "personId").rows() == [(1, "p1"), (1, "p2"), (1, "p3")]
    assert listener.count() == 2


def test_each_person_named_by_id_only_gets_an_email_by_lookup(sandbox: Sandbox, tmp_path: Path) -> None:
    known = [p for p in sandbox.encharge.people.values() if not p["archived"]][:2]
    body = {"eventType": "removed-tag-vip", "eventPayload": {"tag": "vip"},
            "endUserData": [{"id": known[0]["id"]}, {"id": "no-such-person"}, {"id": known[1]["id"]},
                            {"id": "p4", "email": "given@example.org"}]}
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc, \
            Listener(tmp_path / "e.sqlite3", encharge=enc) as hooks:
        before = sandbox.received[("GET", "/v1/people")]
        assert httpx.post(hooks.url, json=body).json()["people"] == 4
        events = _settled(hooks, 4)
        # one lookup for the delivery's people, and the one it did not answer asked again alone: an answer short of
        # what was asked may be a silent cap, not an absence
        assert sandbox.received[("GET", "/v1/people")] - before == 2
    assert events.select("personIndex", "personId", "email", "emailSource", "tag").rows() == [
        (0, known[0]["id"], known[0]["email"], "lookup", "vip"),
        (1, "no-such-person", None, "not in Encharge", "vip"),
        (2, known[1]["id"], known[1]["email"], "lookup", "vip"),
        (3, "p4", "given@example.org", "event", "vip"),
    ]


def test_a_body_naming_no_one_is_still_one_row(listener: Listener) -> None:
    bodies = [{"eventType": "unsubscribedUser", "endUserData": []}, {"eventType": "newObject-company"},
              {"eventType": "newUser", "endUserData": "p1"}]
    answers = [httpx.post(listener.url, json=body).json() for body in bodies]
    assert [a["people"] for a in answers] == [0, 0, 0]
    events = listener.events()
    assert events.select("seq", "personIndex", "eventType", "personId", "unsubscribed", "person").rows() == [
        (1, None, "unsubscribedUser", None, True, "{}"), (2, None, "newObject-company", None, None, "{}"),
        (3, None, "newUser", None, None, "{}")]
    assert json.loads(events.item(2, "body")) == bodies[2]  # kept whole


def test_an_entry_that_is_not_a_person_is_a_row_of_its_own(listener: Listener,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    body = {"eventType": "newUser", "endUserData": [{"id": "p1"}, "p2"]}
    assert httpx.post(listener.url, json=body).json()["people"] == 2
    assert listener.events().select("personIndex", "personId", "person").rows() == [
        (0, "p1", '{"id": "p1"}'), (1, None, '"p2"')]
    assert "something other than a person" in caplog.text


def test_event_row_refuses_a_body_of_several_people() -> None:
    from enstoolkit.encharge import event_row, event_rows

    with pytest.raises(ValidationError, match="3 people"):
        event_row(THREE)
    assert [row["personId"] for row in event_rows(THREE)] == ["p1", "p2", "p3"]


def test_a_file_from_before_several_people_keeps_its_rows_and_takes_new_ones(tmp_path: Path) -> None:
    import hashlib
    import sqlite3

    body = json.dumps(THREE).encode()
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # as the earlier version wrote it: the first person only
        db.execute("CREATE TABLE deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL,"
                   " body_hash TEXT NOT NULL, event_type TEXT, tag TEXT, person_id TEXT, email TEXT, email_source TEXT,"
                   " user_id TEXT, unsubscribed INTEGER, changed_fields TEXT, person TEXT, event_payload TEXT,"
                   " body TEXT)")
        db.execute("INSERT INTO deliveries (received_at, body_hash, event_type, person_id, email, email_source,"
                   " unsubscribed, person, event_payload) VALUES (1700000000000, ?, 'unsubscribedUser', 'p1',"
                   " 'ann@example.org', 'event', 1, '{\"email\": \"ann@example.org\", \"id\": \"p1\"}', '{}')",
                   (hashlib.sha256(body).hexdigest(),))
        db.execute("INSERT INTO deliveries (received_at, body_hash, event_type, person, event_payload)"
                   " VALUES (1700000000001, 'h2', 'newObject-company', '{}', '{}')")
    with Listener(path) as hooks:
        answer = httpx.post(hooks.url, content=body, headers={"Content-Type": "application/json"}).json()
        events = hooks.events()
    assert answer == {"stored": 3, "redelivery": True, "people": 3}  # the same body as the earlier version's
    assert events.select("seq", "personIndex", "personId", "email", "unsubscribed", "redelivery").rows() == [
        (1, 0, "p1", "ann@example.org", True, False), (2, None, None, None, None, False),
        (3, 0, "p1", "ann@example.org", True, True), (3, 1, "p2", "bob@example.org", True, True),
        (3, 2, "p3", "cy@example.org", True, True)]
    with sqlite3.connect(path) as db:  # the earlier version's columns still hold the first person
        assert db.execute("SELECT person_id, email FROM deliveries WHERE seq = 3").fetchone() == (
            "p1", "ann@example.org")


def test_the_listen_command_prints_each_person_of_a_delivery(tmp_path: Path) -> None:
    import io
    import threading

    from enstoolkit.cli.listen import serve

    listener = Listener(tmp_path / "cli.sqlite3")
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(listener, stop), kwargs={"show_secret": False, "out": out})
    thread.start()
    deadline = time.monotonic() + 10
    while "Ctrl-C stops" not in out.getvalue():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    httpx.post(listener.url, json=THREE)
    while "cy@example.org" not in out.getvalue():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=10)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("#")]
    assert lines == ["#1 unsubscribedUser ann@example.org (person 1 of 3)",
                     "#1 unsubscribedUser bob@example.org (person 2 of 3)",
                     "#1 unsubscribedUser cy@example.org (person 3 of 3)"]
