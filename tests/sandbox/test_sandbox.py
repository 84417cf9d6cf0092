"""The sandbox itself: determinism, loopback only, the defects it seeds, the CLI."""

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
