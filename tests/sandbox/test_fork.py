"""The sandbox's export files made quickly: the same bytes whichever way they are made.

The supporter and transaction files are formatted by polars over whole columns, and at 20,000
supporters or more each half of a file's rows is made by a forked child process. These tests
pin that the file is the same made by one process or by two, that values needing quotes are
quoted as the csv module quotes them, and that a child that fails stops the export loudly.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import threading
from collections.abc import Callable

import pytest

from enstoolkit.sandbox import Sandbox, _fork
from enstoolkit.sandbox.ens_export import export_csv, export_transactions_csv


@pytest.mark.parametrize("variant", ["default", "dashboard-headers,us-account,pending-optins",
                                     "user-data-transactions", "renamed-export-columns"])
def test_a_file_is_the_same_made_by_one_process_or_two(monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    sandbox = Sandbox(supporters=300, variant=variant)
    one = (export_csv(sandbox.ens, "All supporters", None), export_transactions_csv(sandbox.ens, "All supporters"),
           export_transactions_csv(sandbox.ens, "Marketing opted in"))
    children: list[object] = []
    fork = _fork.forked

    def counted(work: Callable[[], object]) -> Callable[[], object]:
        children.append(work)
        return fork(work)

    monkeypatch.setattr(_fork, "MIN_SUPPORTERS", 2)  # split even this small file
    monkeypatch.setattr(_fork, "forked", counted)
    two = (export_csv(sandbox.ens, "All supporters", None), export_transactions_csv(sandbox.ens, "All supporters"),
           export_transactions_csv(sandbox.ens, "Marketing opted in"))
    assert len(children) == 6  # each file was made by two children
    assert two == one
    assert len(one[1].splitlines()) > 300


def test_a_value_holding_the_separator_a_child_packs_with_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    # a child hands its text columns back joined by NUL; a value with a NUL in it is sent as it is
    sandbox = Sandbox(supporters=40)
    state = sandbox.ens
    rec = state.records[min(state.records)]
    history = state.history(rec)
    history[0] = {**history[0], "name": "Odd\x00name"}
    rec.transactions = history
    one = export_transactions_csv(state, "All supporters")
    monkeypatch.setattr(_fork, "MIN_SUPPORTERS", 2)
    assert export_transactions_csv(state, "All supporters") == one
    assert one.count(b"Odd\x00name") == 1 and len(one.splitlines()) > 40


def test_values_that_need_quotes_are_quoted_as_the_csv_module_quotes_them() -> None:
    sandbox = Sandbox(supporters=5)
    rec = sandbox.ens.records[100001]
    rec.fields["First Name"] = 'Jo, "JJ"'
    rec.fields["Last Name"] = ""
    rec.fields["City"] = "Line\nbreak"
    supporters = export_csv(sandbox.ens, "All supporters", None).decode()
    transactions = export_transactions_csv(sandbox.ens, "All supporters").decode()
    for text in (supporters, transactions):
        rows = list(csv.reader(io.StringIO(text)))
        header, first = rows[0], rows[1]
        assert first[header.index("First Name")] == 'Jo, "JJ"'
        assert first[header.index("Last Name")] == ""
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(first)
        assert line.getvalue() in text  # written exactly as the csv module writes the same values
    assert '"Jo, ""JJ"""' in transactions


def test_a_child_that_fails_stops_the_work_naming_the_error() -> None:
    later = _fork.forked(lambda: 1 // 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        later()
    assert _fork.forked(lambda: [1, "a"])() == [1, "a"]


def test_a_forked_worker_hands_back_its_result_and_small_work_stays_here() -> None:
    later = _fork.forked(lambda: sum(range(10)))
    assert later() == 45
    assert _fork.worth_forking(10) is False
    two_cores_on_linux = hasattr(os, "fork") and sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1
    assert _fork.worth_forking(_fork.MIN_SUPPORTERS) is two_cores_on_linux


def test_the_collector_is_paused_only_inside_the_block() -> None:
    import gc

    from enstoolkit.sandbox._gc import paused_gc

    with paused_gc():
        assert gc.isenabled() is False
    assert gc.isenabled() is True


def test_halves_splits_work_between_two_children_or_does_it_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def work(part: object, first: int) -> tuple[list[int], int, int]:
        return list(part), first, os.getpid()  # type: ignore[call-overload]

    [here] = _fork.halves(work, [1, 2, 3])
    assert here() == ([1, 2, 3], 0, os.getpid())
    monkeypatch.setattr(_fork, "MIN_SUPPORTERS", 2)
    if _fork.worth_forking(4):
        first, second = (part() for part in _fork.halves(work, [1, 2, 3, 4]))
        assert (first[:2], second[:2]) == (([1, 2], 0), ([3, 4], 2))
        assert os.getpid() not in (first[2], second[2]) and first[2] != second[2]


def test_in_background_hands_back_the_result_or_the_error() -> None:
    """in_background: the work's result, in a thread of the given name, or its error where it is asked for."""
    assert _fork.in_background(lambda: b"a,b\n").result(timeout=10) == b"a,b\n"
    assert _fork.in_background(lambda: threading.current_thread().name, name="x-work").result(timeout=10) == "x-work"

    def broken() -> bytes:
        raise ValueError("no file")

    with pytest.raises(ValueError, match="no file"):
        _fork.in_background(broken).result(timeout=10)
