"""The shapes behind the speed, checked without timing anything (the times are in ``benchmarks/run.py``).

- The sandbox's paged routes slice one kept order: the order is built once for every page, and a
  write drops it, so the next page request sees the write and the order stays the same across pages.
- The synthetic account's defect rates do not depend on its size.
- ``enstoolkit audit`` runs both notebooks against one sandbox that it starts itself.
- Encharge pages are typed into frames in batches while paging, with the columns one frame of every
  record would have.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.analysis import run_audit
from enstoolkit.cli import build_parser
from enstoolkit.cli.audit import run_notebooks, shared_sandbox
from enstoolkit.encharge.payloads import people_frame
from enstoolkit.sandbox import Sandbox
from enstoolkit.sandbox.clock import SandboxClock
from enstoolkit.sandbox.data import DEFAULT_NOW
from enstoolkit.sandbox.encharge_routes import EnchargeApp
from enstoolkit.sandbox.encharge_state import EnchargeState
from enstoolkit.sandbox.ens_state import ENSState
from enstoolkit.sandbox.server import ServerThread


@pytest.fixture
def encharge_app() -> Iterator[tuple[EnchargeApp, EnchargeClient]]:
    """Encharge's half of the sandbox on its own loopback server, so the test can read its kept orders."""
    state = EnchargeState(ENSState(supporters=1500, seed=3, clock=SandboxClock(DEFAULT_NOW)), seed=3)
    app = EnchargeApp(state)
    server = ServerThread(Starlette(routes=[Mount("/v1", routes=app.routes())]), "127.0.0.1", 0).start()
    try:
        with EnchargeClient(state.api_key, f"{server.url}/v1") as client:
            yield app, client
    finally:
        server.stop()


def _page(client: EnchargeClient, offset: int, **params: Any) -> list[dict[str, Any]]:
    body = client.request("GET", "/people/all", params={"limit": 100, "offset": offset, **params})
    return list(body["people"])


def test_encharge_pages_are_slices_of_one_order_until_a_write(
        encharge_app: tuple[EnchargeApp, EnchargeClient]) -> None:
    app, client = encharge_app
    people = [p for p in app.state.people.values() if not p["archived"]]
    expected = [p["id"] for p in sorted(people, key=lambda p: (str(p["createdAt"]), p["id"]))]
    first = [p["id"] for offset in range(0, 500, 100) for p in _page(client, offset)]
    assert first == expected[:500]
    assert app.orders.builds == 1  # five pages, one sort

    # a write (a new first name for someone on a later page) is seen by the very next page request
    target = expected[730]
    client.upsert_people([{"id": target, "firstName": "Renamed"}])
    page = _page(client, 700)
    assert [p["id"] for p in page] == expected[700:800]  # the order did not move: createdAt is unchanged
    assert next(p for p in page if p["id"] == target)["firstName"] == "Renamed"
    assert app.orders.builds == 2

    # someone new (created now) comes last; someone archived is gone from the next page
    client.upsert_people([{"email": "newest.person@example.org", "firstName": "New"}])
    client.delete_people(ids=[expected[801]])
    rest = [p["id"] for offset in range(800, len(expected) + 100, 100) for p in _page(client, offset)]
    assert rest[:-1] == [pid for pid in expected[800:] if pid != expected[801]]
    assert app.state.people[rest[-1]]["email"] == "newest.person@example.org"
    assert app.orders.builds == 3  # once after the writes, at whatever offset the next page is


def test_encharge_orders_are_kept_per_sort_and_direction(encharge_app: tuple[EnchargeApp, EnchargeClient]) -> None:
    app, client = encharge_app
    newest = [p["id"] for offset in (0, 100) for p in _page(client, offset, sort="createdAt", order="desc")]
    oldest = [p["id"] for p in _page(client, 0)]
    people = sorted((p for p in app.state.people.values() if not p["archived"]),
                    key=lambda p: (str(p["createdAt"]), p["id"]))
    assert newest == [p["id"] for p in reversed(people)][:200]
    assert oldest == [p["id"] for p in people][:100]
    for _ in range(3):
        _page(client, 100, sort="createdAt", order="desc")
        _page(client, 200)
    assert app.orders.builds == 2 and app.orders.kept() == 2
    donors = client.get_segment_people(101, limit=70)
    assert donors.height == sum(1 for p in people if "donor" in p["tags"])
    assert app.orders.builds == 3


def test_list_people_types_pages_in_batches_with_the_columns_of_one_frame() -> None:
    with Sandbox(supporters=7_000, seed=3) as sb, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as client:
        late = [p for p in sb.encharge.people.values() if not p["archived"]][-5]
        client.upsert_people([{"id": late["id"], "favouriteColour": "green"}])  # a custom field in the last batch
        listed = client.list_people(limit=250)
        raw = [p for offset in range(0, 8_000, 1_000) for p in client.request(
            "GET", "/people/all", params={"limit": 1_000, "offset": offset})["people"]]
    whole = people_frame(raw)
    assert whole.height > 6_000  # more than one batch of 5,000
    assert listed.columns == whole.columns and listed.columns[-1] == "favouriteColour"
    assert listed.equals(whole)
    assert listed.filter(pl.col("favouriteColour") == "green").get_column("id").to_list() == [late["id"]]


def test_list_people_stops_at_max_people(encharge_app: tuple[EnchargeApp, EnchargeClient]) -> None:
    _, client = encharge_app
    raw = client.request("GET", "/people/all", params={"limit": 1_000})["people"]
    assert client.list_people(limit=90, max_people=200).equals(people_frame(raw[:200]))
    assert client.list_people(limit=90, max_people=180).height == 180


def test_ens_query_pages_see_writes_and_keep_their_order() -> None:
    with Sandbox(supporters=800, seed=7) as sandbox, ENSClient(sandbox.ens_api_key, sandbox.ens_url) as ens:
        def page(start: int) -> dict[str, Any]:
            result = ens.request("GET", "/supporter/query", params={"type": "search", "filter": "country:IE",
                                                                    "rows": 10, "start": start})
            assert isinstance(result, dict)
            return result

        first = page(1)
        total = first["pagination"]["total"]
        expected = sorted(r.supporter_id for r in sandbox.ens.records.values() if r.fields["Country"] == "IE")
        assert total == len(expected) > 30
        ids = [row["supporterId"] for row in first["data"]] + [row["supporterId"] for row in page(11)["data"]]
        assert ids == expected[:20]
        # a supporter moves to Ireland between two page requests: the next page sees it, in its place
        mover = next(r for r in sandbox.ens.records.values()
                     if r.fields["Country"] == "GB" and r.supporter_id > expected[25])
        ens.update_supporter(mover.supporter_id, {"Country": "IE"})
        later = page(21)
        assert later["pagination"]["total"] == total + 1
        moved = sorted([*expected, mover.supporter_id])
        assert [row["supporterId"] for row in later["data"]] == moved[20:30]
        frame = ens.query_supporters("search", filter={"country": "IE"}, rows=10)
        assert frame.get_column("supporterId").to_list() == moved


def _rates(supporters: int) -> dict[str, float]:
    with Sandbox(supporters=supporters, seed=0) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        findings = run_audit(ens.export_supporters("All supporters"), enc.list_people(),
                             today=dt.date(2026, 10, 1))
    counts = dict(findings.group_by("check").len().iter_rows())
    return {check: count / supporters for check, count in counts.items()}


@pytest.mark.slow
def test_defect_rates_do_not_depend_on_the_size_of_the_account() -> None:
    small, large = _rates(2_000), _rates(20_000)
    checks = {"duplicate email", "invalid email", "missing fields", "suppressed with opt-in",
              "opted in, unsubscribed in Encharge", "opted out, subscribed in Encharge", "only in ENS",
              "only in Encharge", "stale record"}
    assert checks <= set(small) and checks <= set(large)
    for check in checks:
        p = (small[check] * 2_000 + large[check] * 20_000) / 22_000
        # four standard errors of the difference of two sample rates: the same rate, drawn twice
        tolerance = 4 * math.sqrt(p * (1 - p) * (1 / 2_000 + 1 / 20_000))
        assert abs(small[check] - large[check]) <= tolerance, (check, small[check], large[check], tolerance)
    # and they are a real file's few percent, not half the file
    assert 0.01 < large["duplicate email"] < 0.04
    assert 0.002 < large["invalid email"] < 0.01


@pytest.mark.slow
def test_the_audit_runs_both_notebooks_against_one_sandbox(tmp_path: Path) -> None:
    args = build_parser().parse_args(["audit", "--sandbox", "--supporters", "300", "--out", str(tmp_path)])
    with shared_sandbox(args) as sandbox:
        assert sandbox is not None
        failed = run_notebooks(tmp_path, {"OUT_DIR": str(tmp_path)}, timeout=300)
        jobs = [job["query"] for job in sandbox.ens.jobs.values()]
    assert failed == []
    # the audit's supporters and transactions (staleness by activity), then the opt-in analysis's: all from
    # this sandbox
    assert jobs == ["All supporters"] * 4
    assert sorted(job["format"] for job in sandbox.ens.jobs.values()) == ["Transaction", "Transaction", "User data",
                                                                          "User data"]
    assert (tmp_path / "audit_summary.csv").exists() and (tmp_path / "optin_rates.csv").exists()
