"""The sandbox itself: determinism, loopback only, the defects it seeds, the CLI.

Also: the behaviour of :mod:`enstoolkit.sandbox` (pinned here; its docstrings are prose).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import httpx
import pytest

from enstoolkit.cli import build_parser
from enstoolkit.sandbox import Sandbox
from enstoolkit.sandbox.data import DEFAULT_NOW, generate_supporters


def test_module() -> None:
    """enstoolkit.sandbox: A faithful local emulator of the ENS and Encharge APIs on loopback."""
    from enstoolkit.sandbox import Sandbox

    with Sandbox(supporters=100, seed=0) as sb:
        assert sb.ens_url.startswith("http://127.0.0.1:")


def test_date_middleware() -> None:
    """DateMiddleware: ASGI middleware: every answer carries a ``Date`` header from the sandbox's clock (as real
    servers do).
    """
    import httpx

    with Sandbox(supporters=1) as sb:
        assert httpx.get(sb.url).headers["date"][
            :16
        ]  # the sandbox clock's day, not this machine's == 'Thu, 01 Oct 2026'


def test_sandbox() -> None:
    """Sandbox: The local ENS emulator: a context manager that runs a loopback HTTP server."""
    with Sandbox(supporters=10) as sb:
        assert (sb.encharge_url.endswith("/v1"), sb.ens_url.endswith("/ens/service")) == (True, True)


def test_sandbox_advance() -> None:
    """Sandbox.advance: Move the sandbox's clock forward (tokens expire, the hourly limit's window moves, windows
    close).
    """
    with Sandbox(supporters=5) as sb:
        assert sb.advance(hours=1) > sb.clock.start


def test_sandbox_fail_next() -> None:
    """Sandbox.fail_next: Answer the next ``count`` matching requests with ``status`` instead of serving them."""
    with Sandbox(supporters=5) as sb:
        sb.fail_next(2, status=502, path="/ens/service/supporter")
        sb.fail_next(status=429, path="/v1/tags-management", retry_after="date:2")
        statuses = [httpx.get(sb.ens_url + "/supporter").status_code for _ in range(3)]
        limited = httpx.get(sb.encharge_url + "/tags-management")
    assert statuses[:2] == [502, 502]
    assert statuses[2] != 502  # only the next two
    assert limited.status_code == 429
    assert "retry-after" in limited.headers


def test_sandbox_start() -> None:
    """Sandbox.start: Start serving (returns at once when the server listens)."""
    sb = Sandbox(supporters=5).start()
    assert sb.port > 0
    sb.stop()


def test_sandbox_stop() -> None:
    """Sandbox.stop: Stop serving and wait for the server thread."""
    sb = Sandbox(supporters=5).start()
    sb.stop()
    assert repr(sb).endswith("stopped)")


def test_sandbox_url() -> None:
    """Sandbox.url: The server root, e.g. ``http://127.0.0.1:8765``."""
    assert (Sandbox(supporters=1, port=8765).url, Sandbox(supporters=1, host="::1", port=8765).url) == (
        "http://127.0.0.1:8765",
        "http://[::1]:8765",
    )


def test_sandbox_ens_url() -> None:
    """Sandbox.ens_url: The ENS base URL to give :class:`~enstoolkit.ENSClient`."""
    assert Sandbox(supporters=1, port=8765).ens_url == "http://127.0.0.1:8765/ens/service"


def test_sandbox_ens_api_key() -> None:
    """Sandbox.ens_api_key: The demo account's ENS API key."""
    a, b = Sandbox(supporters=1, seed=1), Sandbox(supporters=1, seed=2)
    assert (a.ens_api_key == Sandbox(supporters=1, seed=1).ens_api_key, a.ens_api_key == b.ens_api_key) == (
        True,
        False,
    )  # by seed


def test_sandbox_encharge_url() -> None:
    """Sandbox.encharge_url: The Encharge base URL to give :class:`~enstoolkit.EnchargeClient`."""
    assert Sandbox(supporters=1, port=8765).encharge_url == "http://127.0.0.1:8765/v1"


def test_sandbox_encharge_api_key() -> None:
    """Sandbox.encharge_api_key: The demo account's Encharge API key."""
    assert Sandbox(supporters=1).encharge_api_key.startswith("enc_")


def test_sandbox_encharge_people_count() -> None:
    """Sandbox.encharge_people_count: How many people (not archived) the Encharge account holds."""
    from enstoolkit import EnchargeClient

    with Sandbox(supporters=20) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        before = sb.encharge_people_count()
        _ = enc.upsert_people([{"email": "new.person@example.org"}])
        assert (sb.encharge_people_count() - before) == 1


def test_sandbox_describe() -> None:
    """Sandbox.describe: What a user needs to connect: URLs and demo keys."""
    assert sorted(Sandbox(supporters=1).describe()) == ["encharge_api_key", "encharge_url", "ens_api_key", "ens_url"]


def test_sandbox_environment() -> None:
    """Sandbox.environment: Environment variables that point both clients at this sandbox."""
    assert sorted(Sandbox(supporters=1).environment()) == [
        "ENCHARGE_API_KEY",
        "ENCHARGE_BASE_URL",
        "ENS_API_KEY",
        "ENS_BASE_URL",
    ]


def test_same_seed_same_account() -> None:
    a = generate_supporters(500, 3, DEFAULT_NOW)
    b = generate_supporters(500, 3, DEFAULT_NOW)
    c = generate_supporters(500, 4, DEFAULT_NOW)
    assert [(r.supporter_id, r.fields, r.questions, r.created) for r in a] == \
        [(r.supporter_id, r.fields, r.questions, r.created) for r in b]
    assert [r.fields for r in a] != [r.fields for r in c]


def test_seeded_data_has_the_defects_an_audit_must_find() -> None:
    from enstoolkit.inputs.arguments import is_valid_email

    people = generate_supporters(20_000, 0, DEFAULT_NOW)
    emails = [p.email for p in people]
    normalised = [e.strip().lower() for e in emails]
    duplicates = len(normalised) - len(set(normalised))
    assert duplicates > 100
    assert any(e != e.strip() for e in emails) and any(e != e.lower() for e in emails)
    assert 50 < sum(not is_valid_email(e.strip()) for e in emails) < 400
    assert sum(p.fields["First Name"] == "" for p in people) > 200
    assert sum(p.fields["Postcode"] == "" for p in people) > 500
    suppressed_optin = [p for p in people if p.suppressed and p.questions.get(4512, ("",))[0] == "Y"]
    assert len(suppressed_optin) > 50
    created = [p.created for p in people]
    assert min(created) >= DEFAULT_NOW - dt.timedelta(days=3 * 365 + 1) and max(created) <= DEFAULT_NOW
    assert len({p.fields["Country"] for p in people}) >= 8


@pytest.mark.slow
def test_a_hundred_thousand_supporters_generate() -> None:
    started = time.perf_counter()
    people = generate_supporters(100_000, 0, DEFAULT_NOW)
    assert len(people) == 100_000
    print(f"generated 100,000 supporters in {time.perf_counter() - started:.1f} s")


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Sandbox(supporters=1, host="0.0.0.0")
    with Sandbox(supporters=1, host="localhost") as sb:
        assert httpx.get(sb.url + "/").json()["ens"] == "/ens/service"


def test_fixed_port_and_restart() -> None:
    with Sandbox(supporters=1) as first:
        port = first.port
    with Sandbox(supporters=1, port=port) as second:
        assert second.url.endswith(f":{port}")


def test_authentication_takes_the_raw_key_or_the_object_form(sandbox: Sandbox) -> None:
    for body in (sandbox.ens_api_key, f'{{"ens-auth-token": "{sandbox.ens_api_key}"}}'):
        r = httpx.post(sandbox.ens_url + "/authenticate", content=body,
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 200 and list(r.json()) == ["expires", "ens-auth-token"]
    quoted = httpx.post(sandbox.ens_url + "/authenticate", content=f'"{sandbox.ens_api_key}"',
                        headers={"Content-Type": "application/json"})  # refused by the live service (recorded)
    assert quoted.status_code == 401 and quoted.json()["message"].startswith("Invalid api key [")


def test_query_paging_is_one_based_and_capped(sandbox: Sandbox) -> None:
    token = httpx.post(sandbox.ens_url + "/authenticate", content=sandbox.ens_api_key).json()["ens-auth-token"]

    def query(**params: object) -> dict:
        return httpx.get(sandbox.ens_url + "/supporter/query", headers={"ens-auth-token": token},
                         params={"type": "latestModified", "daysBack": 32, **params}).json()

    default = query()
    assert default["pagination"]["rows"] == 20 and default["pagination"]["start"] == 1
    assert query(start=0)["data"] == default["data"]
    assert query(rows=500)["pagination"]["rows"] == 100
    second = query(start=3, rows=2)
    assert [d["supporterId"] for d in second["data"]] == [d["supporterId"] for d in default["data"][2:4]]
    assert set(default) == {"pagination", "data", "scores", "summary"}


def test_missing_supporter_is_204_and_bad_token_is_401(sandbox: Sandbox) -> None:
    token = httpx.post(sandbox.ens_url + "/authenticate", content=sandbox.ens_api_key).json()["ens-auth-token"]
    r = httpx.get(sandbox.ens_url + "/supporter/1", headers={"ens-auth-token": token})
    assert r.status_code == 204 and r.content == b""
    r = httpx.get(sandbox.ens_url + "/supporter/1", headers={"ens-auth-token": "nope"})
    assert r.status_code == 401 and r.json()["message"] == "Invalid ens-auth-token"


def test_cli_parser_and_command() -> None:
    args = build_parser().parse_args(["sandbox", "--port", "0", "--supporters", "10", "--seed", "2"])
    assert (args.port, args.supporters, args.seed) == (0, 10, 2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "enstoolkit.cli", "sandbox", "--supporters", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        url = lines[1].split(":", 1)[1].strip()
        key = lines[2].split(":", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/ens/service")
        assert httpx.post(url + "/authenticate", content=key).status_code == 200
        enc_url = lines[3].split(":", 1)[1].strip()
        enc_key = lines[4].split(":", 1)[1].strip()
        assert httpx.get(enc_url + "/accounts/info", headers={"X-Encharge-Token": enc_key}).status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert "sandbox stopped" in out


def test_a_sandbox_in_a_process_of_its_own_leaves_its_account_out_of_the_collectors_walks() -> None:
    import gc

    sandbox = Sandbox(supporters=20)
    assert gc.get_freeze_count() == 0
    try:
        sandbox.start(own_process=True)
        assert gc.get_freeze_count() > 0  # the account's objects (and all made before) are frozen
        assert httpx.get(sandbox.url).json()["service"] == "enstoolkit sandbox"
    finally:
        sandbox.stop()
        gc.unfreeze()  # this test process is shared with others
    with Sandbox(supporters=20):
        assert gc.get_freeze_count() == 0  # a sandbox sharing its process freezes nothing
    try:  # said when it is made: frozen as it is made, before the collector walks the new account
        collections = gc.get_stats()[2]["collections"]
        sandbox = Sandbox(supporters=300, own_process=True)
        assert gc.get_freeze_count() > 0 and gc.isenabled()
        assert gc.get_stats()[2]["collections"] == collections  # no full collection walked it
        assert sandbox.encharge.people and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_encharge_is_generated_from_ens_as_it_was_made_and_its_requests_wait_for_it() -> None:
    from enstoolkit import EnchargeClient
    from enstoolkit.sandbox.encharge_state import api_key_for

    sandbox = Sandbox(supporters=300, seed=7)
    first = sandbox.ens.records[min(sandbox.ens.records)]
    first.fields["Email Address"] = "written.after.the.account@example.org"  # changed before Encharge is used
    with sandbox, EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as encharge:
        people = encharge.list_people()  # asked at once: answered when the account is ready, never refused
        assert people.height == sandbox.encharge_people_count() > 250
        assert "written.after.the.account@example.org" not in people.get_column("email").to_list()
    assert sandbox.encharge_api_key == sandbox.encharge.api_key == api_key_for(7) != api_key_for(8)
