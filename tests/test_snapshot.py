"""The incremental snapshot: only what changed is fetched, and the result equals a full pull."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import ENSClient
from enstoolkit.sandbox import Sandbox
from enstoolkit.snapshot import last_sync, sync_supporters

from .conftest import RecordingTransport


def test_incremental_refresh_matches_a_full_export(sandbox: Sandbox, tmp_path: Path) -> None:
    recorder = RecordingTransport()
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url, transport=recorder)
    path = tmp_path / "supporters.parquet"
    first = sync_supporters(ens, path)
    assert last_sync(path)["mode"] == "full" and first.height == len(sandbox.ens.records)

    sid = sandbox.ens.first_supporter_id()
    ens.update_supporter(sid, {"City": "Leeds", "questions": {"SMS Optin": "N"}})
    someone = sandbox.ens.records[sorted(sandbox.ens.records)[5]]
    ens.process_page(100, {"Email Address": someone.email.strip()}, questions={"Newsletter Optin": "Y"})
    new_id = ens.upsert_supporter({"Email Address": "snapshot.new@example.org", "First Name": "Snap",
                                   "questions": {"Marketing Optin": "Y", "Interested Emails": "weekly digest"}})
    recorder.exchanges.clear()
    refreshed = sync_supporters(ens, path)
    report = last_sync(path)
    assert report["mode"] == "incremental" and report["changed"] >= 3
    assert len(recorder.exchanges) < 20  # a query page and one lookup per changed supporter, not a full pull
    assert not recorder.calls("POST", "/exportjob")

    fresh = ens.export_supporters("All supporters")
    assert refreshed.schema == fresh.schema
    assert refreshed.sort("supporterId").equals(fresh.sort("supporterId"))
    row = refreshed.filter(pl.col("supporterId") == new_id).row(0, named=True)
    assert (row["First Name"], row["Marketing Optin"], row["Interested Emails"]) == ("Snap", "Y", "weekly digest")
    assert pl.read_parquet(path).height == fresh.height


def test_old_snapshots_are_pulled_again(sandbox: Sandbox, tmp_path: Path) -> None:
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url)
    path = tmp_path / "s.parquet"
    sync_supporters(ens, path, today=dt.date(2026, 1, 1))
    sync_supporters(ens, path, today=dt.date(2026, 3, 1))  # older than ENS's 32-day window
    assert last_sync(path)["mode"] == "full"
    sync_supporters(ens, path, today=dt.date(2026, 3, 5))
    assert last_sync(path)["mode"] == "incremental"
    sync_supporters(ens, path, today=dt.date(2026, 3, 5), full=True)
    assert last_sync(path)["mode"] == "full"


def test_columns_lookups_cannot_give_mean_the_whole_file_again(sandbox: Sandbox, tmp_path: Path) -> None:
    recorder = RecordingTransport()
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url, transport=recorder)
    path = tmp_path / "supporters.parquet"
    sync_supporters(ens, path)
    # a file with a column no supporter lookup gives (an export group's field, say)
    pl.read_parquet(path).with_columns(pl.lit("A").alias("Region of Interest")).write_parquet(path)
    ens.update_supporter(sandbox.ens.first_supporter_id(), {"City": "York"})
    recorder.exchanges.clear()
    refreshed = sync_supporters(ens, path)
    assert last_sync(path)["mode"].startswith("full")
    assert recorder.calls("POST", "/exportjob")  # pulled again, not left with an empty column for the changed
    assert refreshed.filter(pl.col("supporterId") == sandbox.ens.first_supporter_id()).item(0, "City") == "York"


def test_snapshot_arguments_are_checked(sandbox: Sandbox, tmp_path: Path) -> None:
    from enstoolkit.errors import ValidationError

    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url)
    for kwargs in ({"path": tmp_path / "s.csv"}, {"path": tmp_path / "s.parquet", "today": "2026-10-01"}):
        with pytest.raises(ValidationError):
            sync_supporters(ens, **kwargs)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
