"""Regressions found by review: concurrent resumes, review status, odd keys, re-auth storms, memory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.bulk import Journal, RunInProgress, process_pages, resume, review
from enstoolkit.errors import ConfigurationError
from enstoolkit.http import RequestLog
from enstoolkit.sandbox import Faults, Sandbox

from ..conftest import RecordingTransport, at_once


def test_two_workers_never_send_a_page_twice(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Sandbox(supporters=10, latency=0.02) as sb:
        first = ENSClient(sb.ens_api_key, sb.ens_url)
        run = process_pages(first, 100, [{"Email Address": f"twice{i}@example.org"} for i in range(20)],
                            journal=Journal(path), run=False)

        def worker() -> None:  # e.g. two notebooks, or a double click
            with ENSClient(sb.ens_api_key, sb.ens_url) as ens:
                resume(run.run_id, ens=ens, journal=Journal(path))

        refused = at_once(worker, 2)
        sent = Counter(p["body"]["supporter"]["Email Address"] for p in sb.ens.processed)
        assert len(sent) == 20 and set(sent.values()) == {1}
        assert run.counts() == {"done": 20} and set(run.items()["attempts"]) == {1}
        assert len(refused) == 1 and isinstance(refused[0], RunInProgress)
        assert "is being worked on by process" in str(refused[0])
        # once the worker is gone, the run can be taken up again
        assert resume(run.run_id, ens=first, journal=Journal(path)).status == "completed"


def test_review_never_calls_a_run_complete_while_items_wait(tmp_path: Path) -> None:
    faults = Faults(error_rate=0.3, error_statuses=(503,), drop_after_rate=0.3,
                    routes=("/ens/service/page/100/process",), methods=("POST",), seed=1)
    with Sandbox(supporters=10, faults=faults) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        rows = [{"Email Address": f"waiting{i}@example.org"} for i in range(10)]
        run = process_pages(ens, 100, rows, journal=Journal(tmp_path / "j.sqlite3"))
        counts = run.counts()
        assert counts.get("retry") and counts.get("unknown")
        review(run)
        left = run.counts().get("unknown", 0)  # unknown: a transaction inside the send moment's margin
        assert run.counts().get("retry") and run.status == ("needs review" if left else "stopped")
        assert ("still unknown" if left else "left to send") in (run.note or "")
        sb.faults.clear()
        run.complete()
        counts = run.counts()
        assert run.status == ("needs review" if counts.get("unknown") else "completed")
        assert set(counts) <= {"done", "unknown"} and sum(counts.values()) == 10
        sent = Counter(p["body"]["supporter"]["Email Address"] for p in sb.ens.processed)
        assert set(sent) == {r["Email Address"] for r in rows} and set(sent.values()) == {1}


@pytest.mark.parametrize("client", [ENSClient, EnchargeClient])
def test_keys_with_line_breaks_are_refused_without_showing_them(client: type) -> None:
    key = "enc_9984\n3ee2dd1f4b9aacc19fc118fbc50f"
    with pytest.raises(ConfigurationError, match="line breaks") as info:
        client(key, "http://127.0.0.1:9/ens/service" if client is ENSClient else "http://127.0.0.1:9/v1")
    assert "9984" not in str(info.value) and "3ee2" not in str(info.value)


def test_one_token_expiry_means_one_reauthentication(sandbox: Sandbox) -> None:
    recorder = RecordingTransport()
    ens = ENSClient(sandbox.ens_api_key, sandbox.ens_url, transport=recorder)
    ens.get_fields()
    sandbox.ens.expire_tokens()
    found = ens.get_supporters(ids=sorted(sandbox.ens.records)[:64], concurrency=16, progress=False)
    assert found.height == 64
    assert len(recorder.calls("POST", "/authenticate")) == 2  # the first session, and one renewal


def test_the_request_log_keeps_only_its_window(tmp_path: Path) -> None:
    now = [1_000_000.0]
    log = RequestLog(window=3600, path=tmp_path / "r.sqlite3", scope="s", clock=lambda: now[0])
    for _ in range(50):
        log.add()
        now[0] += 1
    assert log.held == 50 and log.count() == 50
    now[0] += 3600 - 25  # the first 25 requests are now more than an hour old
    assert log.count() == 25
    now[0] += 3600
    log.add()
    assert log.held == 1 and log.count() == 1
    log.close()


def _open_journal(path: str, barrier: Any) -> None:
    from enstoolkit.bulk import Journal

    barrier.wait()
    Journal(path).create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])


@pytest.mark.slow  # 24 processes started
def test_processes_opening_one_new_journal_at_once_all_succeed(tmp_path: Path) -> None:
    # a killed run's resume opens the journal while the run's own process is still creating it
    import multiprocessing

    from enstoolkit.bulk import Journal

    context = multiprocessing.get_context("spawn")
    for n in range(6):
        path = tmp_path / f"j{n}.sqlite3"
        barrier = context.Barrier(4)
        workers = [context.Process(target=_open_journal, args=(str(path), barrier)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert [w.exitcode for w in workers] == [0, 0, 0, 0]
        assert Journal(path).runs().height == 4
