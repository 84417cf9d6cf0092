"""The incremental snapshot: only what changed is fetched, and the result equals a full pull."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from enstoolkit import ENSClient
from enstoolkit.ens import last_sync, refresh_supporters
from enstoolkit.sandbox import Sandbox

from ..conftest import RecordingTransport


def test_incremental_refresh_matches_a_full_export(sandbox: Sandbox, tmp_path: Path) -> None:
    recorder = RecordingTransport()
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url, transport=recorder)
    path = tmp_path / "supporters.parquet"
    first = refresh_supporters(ens, path)
    assert last_sync(path)["mode"] == "full" and first.height == len(sandbox.ens.records)

    sid = sandbox.ens.first_supporter_id()
    ens.update_supporter(sid, {"City": "Leeds", "questions": {"SMS Optin": "N"}})
    someone = sandbox.ens.records[sorted(sandbox.ens.records)[5]]
    ens.process_page(100, {"Email Address": someone.email.strip()}, questions={"Newsletter Optin": "Y"})
    new_id = ens.upsert_supporter({"Email Address": "snapshot.new@example.org", "First Name": "Snap",
                                   "questions": {"Marketing Optin": "Y", "Interested Emails": "weekly digest"}})
    recorder.exchanges.clear()
    refreshed = refresh_supporters(ens, path)
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
    refresh_supporters(ens, path, today=dt.date(2026, 1, 1))
    refresh_supporters(ens, path, today=dt.date(2026, 3, 1))  # older than ENS's 32-day window
    assert last_sync(path)["mode"] == "full"
    refresh_supporters(ens, path, today=dt.date(2026, 3, 5))
    assert last_sync(path)["mode"] == "incremental"
    refresh_supporters(ens, path, today=dt.date(2026, 3, 5), full=True)
    assert last_sync(path)["mode"] == "full"


def test_columns_lookups_cannot_give_mean_the_whole_file_again(sandbox: Sandbox, tmp_path: Path) -> None:
    recorder = RecordingTransport()
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url, transport=recorder)
    path = tmp_path / "supporters.parquet"
    refresh_supporters(ens, path)
    # a file with a column no supporter lookup gives (an export group's field, say)
    pl.read_parquet(path).with_columns(pl.lit("A").alias("Region of Interest")).write_parquet(path)
    ens.update_supporter(sandbox.ens.first_supporter_id(), {"City": "York"})
    recorder.exchanges.clear()
    refreshed = refresh_supporters(ens, path)
    assert last_sync(path)["mode"].startswith("full")
    assert recorder.calls("POST", "/exportjob")  # pulled again, not left with an empty column for the changed
    assert refreshed.filter(pl.col("supporterId") == sandbox.ens.first_supporter_id()).item(0, "City") == "York"


def test_snapshot_arguments_are_checked(sandbox: Sandbox, tmp_path: Path) -> None:
    from enstoolkit.errors import ValidationError

    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url)
    for kwargs in ({"path": tmp_path / "s.csv"}, {"path": tmp_path / "s.parquet", "today": "2026-10-01"}):
        with pytest.raises(ValidationError):
            refresh_supporters(ens, **kwargs)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


# A supporter record may name its questions otherwise than /supporter/questions: ENS's own examples call
# question 279 "Opt-in" in a record, "Opt-in EMAIL (single)" in the list, "Opt-in Email" in its detail.
# The ids agree (a record's questions[].id is the list's questionId): answers are matched by id.

def test_the_spec_example_widened_by_id_keeps_its_answer() -> None:
    from enstoolkit.schemas.ens import QUESTION_STRUCT, SUPPORTER_BASE
    from enstoolkit.schemas.frames import build_frame, optins

    rec = {"supporterId": 5361945, "suppressed": False, "Email Address": "otton.v@example.com",
           "questions": [{"id": 279, "componentId": 0, "name": "Opt-in", "type": "OPTIN", "response": "N",
                          "modifiedOn": 1709816235000, "netdonorLogId": 0}]}
    df = build_frame([rec], {**SUPPORTER_BASE, "Email Address": pl.String(), "questions": pl.List(QUESTION_STRUCT)})
    listed = pl.DataFrame([{"id": 15084, "questionId": 784, "name": "Email Opt-in (double)", "type": "CONF"},
                           {"id": 1531, "questionId": 279, "name": "Opt-in EMAIL (single)", "type": "OPT"},
                           {"id": 42004, "questionId": 1064, "name": "Consultation Feedback Question", "type": "GEN"}])
    for questions in (listed, {279: "Opt-in EMAIL (single)"}):
        row = optins(df, dates=True, questions=questions).row(0, named=True)
        assert row["Opt-in EMAIL (single)"] == "N"
        assert row["Opt-in EMAIL (single) date"] == dt.datetime(2024, 3, 7, 12, 57, 15, tzinfo=dt.UTC)


def test_incremental_refresh_keeps_answers_when_records_name_questions_otherwise(tmp_path: Path) -> None:
    with Sandbox(supporters=200, seed=1, variant="short-question-names") as sb, \
            ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        sid = sb.ens.first_supporter_id()
        listed = ens.get_questions()
        record = ens.get_supporter(sid, questions=True).get_column("questions").to_list()[0]
        assert {q["id"] for q in record} <= set(listed["questionId"])  # ids in the spec's form
        assert not {q["name"] for q in record} & set(listed["name"])  # the names differ
        path = tmp_path / "supporters.parquet"
        refresh_supporters(ens, path)
        ens.update_supporter(sid, {"City": "Leeds", "questions": {"Marketing Optin": "N",
                                                                  "Interested Emails": "weekly digest"}})
        new_id = ens.upsert_supporter({"Email Address": "short.names@example.org",
                                       "questions": {"Email Opt-in (double)": "Y", "SMS Optin": "Y"}})
        refreshed = refresh_supporters(ens, path)
        assert last_sync(path)["mode"] == "incremental"
        row = refreshed.filter(pl.col("supporterId") == sid).row(0, named=True)
        assert (row["City"], row["Marketing Optin"], row["Interested Emails"]) == ("Leeds", "N", "weekly digest")
        assert row["Marketing Optin Date"] is not None
        new = refreshed.filter(pl.col("supporterId") == new_id).row(0, named=True)
        assert (new["Email Opt-in (double)"], new["SMS Optin"]) == ("Y", "Y")
        fresh = ens.export_supporters("All supporters")
        assert refreshed.sort("supporterId").equals(fresh.sort("supporterId"))


class StrayAnswers(ENSClient):
    """An account whose supporter records carry an opt-in answer its question list does not know."""

    def __init__(self, *args: Any, stray: dict[str, object], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.stray = stray

    def get_supporters(self, **kw: Any) -> pl.DataFrame:
        out = super().get_supporters(**kw)
        renamed = pl.when(pl.field("name") == "Marketing Optin")
        return out.with_columns(pl.col("questions").list.eval(pl.element().struct.with_fields(
            *[renamed.then(pl.lit(v, dtype=pl.Int64 if k == "id" else pl.String)).otherwise(pl.field(k)).alias(k)
              for k, v in self.stray.items()])))


@pytest.mark.parametrize("stray", [{"id": 9999, "name": "Opt-in EMAIL"},   # an id the list does not have
                                   {"id": None, "name": "Opt-in EMAIL"}])  # no id, and a name it does not have
def test_an_opt_in_answer_no_question_matches_means_the_whole_file_again(
        sandbox: Sandbox, tmp_path: Path, stray: dict[str, object], caplog: pytest.LogCaptureFixture) -> None:
    recorder = RecordingTransport()
    ens = StrayAnswers(sandbox.ens_api_key, sandbox.ens_url, transport=recorder, stray=stray)
    path = tmp_path / "supporters.parquet"
    refresh_supporters(ens, path)
    sid = sandbox.ens.first_supporter_id()
    ens.update_supporter(sid, {"City": "York", "questions": {"Marketing Optin": "N"}})
    recorder.exchanges.clear()
    with caplog.at_level("WARNING", logger="enstoolkit.ens.snapshot"):
        refreshed = refresh_supporters(ens, path)
    mode = last_sync(path)["mode"]
    assert mode.startswith("full (opt-in answers that match no question") and "'Opt-in EMAIL'" in mode
    assert recorder.calls("POST", "/exportjob")  # pulled again, not merged with the answer left empty
    assert any("pulling the whole file again" in r.getMessage() and "Opt-in EMAIL" in r.getMessage()
               for r in caplog.records)
    row = refreshed.filter(pl.col("supporterId") == sid).row(0, named=True)
    assert (row["City"], row["Marketing Optin"]) == ("York", "N")
