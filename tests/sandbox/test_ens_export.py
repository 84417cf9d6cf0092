"""The behaviour of :mod:`enstoolkit.sandbox.ens_export` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import datetime as dt

import pytest

from enstoolkit.sandbox import _fork
from enstoolkit.sandbox.ens_export import (
    ENSState,
    SupporterRecord,
    export_csv,
    export_transactions_csv,
    in_query,
    start_export,
)


def test_module() -> None:
    """enstoolkit.sandbox.ens_export: The ENS half of the sandbox, its export files: the CSV an export job downloads,
    in the variant's style.
    """
    from enstoolkit.sandbox.clock import SandboxClock
    from enstoolkit.sandbox.data import DEFAULT_NOW

    state = ENSState(supporters=3, seed=0, clock=SandboxClock(DEFAULT_NOW))
    assert export_csv(state, "All supporters", None).splitlines()[0][:11] == b"supporterId"


def test_in_query() -> None:
    """in_query: Whether a supporter is in one of the dashboard's saved queries."""
    day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rec = SupporterRecord(100001, {}, day, day, questions={4512: ("Y", 0)})
    assert in_query(rec, "Marketing opted in")
    assert not in_query(rec, "Suppressed supporters")
    assert in_query(rec, "All supporters")


def test_export_transactions_csv() -> None:
    """export_transactions_csv: The CSV of a "Transaction" export job, in the variant's layout
    (:mod:`~enstoolkit.sandbox.ens_transactions`).
    """
    from enstoolkit.sandbox import Sandbox

    assert export_transactions_csv(Sandbox(supporters=3).ens, "All supporters").split(b",")[:3] == [
        b"Account ID",
        b"Supporter ID",
        b"Supporter Email",
    ]
    state = Sandbox(supporters=3, variant="api-headers").ens
    assert export_transactions_csv(state, "All supporters").split(b",")[:2] == [b"supporterId", b"id"]


def test_export_csv() -> None:
    """export_csv: The CSV of an export job: ids, fields (the account's names), dates, each question with its date."""
    from enstoolkit.sandbox import Sandbox

    text = export_csv(Sandbox(supporters=3).ens, "All supporters", None).decode()
    assert (len(text.splitlines()), text.split(",")[:3]) == (4, ["supporterId", "suppressed", "Title"])


@pytest.mark.parametrize("children", [False, True])
def test_start_export_holds_the_account_as_it_was_when_the_job_ran(monkeypatch: pytest.MonkeyPatch,
                                                                    children: bool) -> None:
    """start_export: a job's file holds the account as it was when the job was created, whatever is written before
    the file is asked for (made here, or by forked children)."""
    from enstoolkit.sandbox import Sandbox

    if children:
        monkeypatch.setattr(_fork, "MIN_SUPPORTERS", 2)  # even this small file is made by two children
    state = Sandbox(supporters=40).ens
    rec = state.records[min(state.records)]
    before = rec.fields["First Name"]
    finish = {kind: start_export(state, {"format": kind, "query": "All supporters", "group": None})
              for kind in ("User data", "Transaction")}
    rec.fields["First Name"] = "Written-after-the-job"
    files = {kind: work().decode() for kind, work in finish.items()}
    for kind, text in files.items():
        assert "Written-after-the-job" not in text, kind
        assert before in text, kind
    assert "Written-after-the-job" in export_csv(state, "All supporters", None).decode()  # a new job sees it
    assert "Written-after-the-job" in export_transactions_csv(state, "All supporters").decode()
