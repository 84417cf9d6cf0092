"""The behaviour of :mod:`enstoolkit.sandbox.clock` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import datetime as dt

from enstoolkit.sandbox.clock import SandboxClock


def test_module() -> None:
    """enstoolkit.sandbox.clock: The sandbox's clock: a deterministic start, then real time, and jumps on request."""
    import datetime as dt

    clock = SandboxClock(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    before = clock.now()
    _ = clock.advance(hours=2)
    assert round((clock.now() - before).total_seconds() / 3600) == 2


def test_sandbox_clock() -> None:
    """SandboxClock: A clock that starts at ``start``, runs with real time and can be moved forward."""
    clock = SandboxClock(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    assert (clock.start.isoformat(), clock.now() >= clock.start) == ("2026-10-01T09:00:00+00:00", True)
    assert SandboxClock(dt.datetime(2026, 10, 1)).start.tzinfo == dt.UTC  # a naive start is read as UTC


def test_sandbox_clock_elapsed() -> None:
    """SandboxClock.elapsed: Seconds since the start (real time plus every jump): a monotonic reading for timeouts and
    windows.
    """
    clock = SandboxClock(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    _ = clock.advance(minutes=5)
    assert round(clock.elapsed()) == 300


def test_sandbox_clock_now() -> None:
    """SandboxClock.now: The sandbox's current time (UTC)."""
    clock = SandboxClock(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    _ = clock.advance(days=1)
    assert clock.now().date() == dt.date(2026, 10, 2)


def test_sandbox_clock_time() -> None:
    """SandboxClock.time: The sandbox's current time in seconds since the epoch (as ``time.time``)."""
    clock = SandboxClock(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    _ = clock.advance(hours=1)
    assert int(clock.time() - clock.start.timestamp()) == 3600


def test_sandbox_clock_now_ms() -> None:
    """SandboxClock.now_ms: The sandbox's current time in epoch milliseconds."""
    clock = SandboxClock(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    assert clock.now_ms() // 1000 == int(clock.start.timestamp())


def test_sandbox_clock_date_header_time() -> None:
    """SandboxClock.date_header_time: The time an answer's ``Date`` header states: this clock plus :attr:`date_skew`
    (seconds since the epoch).
    """
    clock = SandboxClock(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    clock.date_skew = -3.0
    assert round(clock.time() - clock.date_header_time()) == 3


def test_sandbox_clock_created_ms() -> None:
    """SandboxClock.created_ms: A transaction's ``createdDate`` for a moment (epoch ms), written as :attr:`round_dates`
    says.
    """
    clock = SandboxClock(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    assert (clock.created_ms(1_790_000_000_700), (setattr(clock, "round_dates", "floor"), 0)[1]) == (1790000000700, 0)
    assert (clock.created_ms(1_790_000_000_700), (setattr(clock, "round_dates", "nearest"), 0)[1]) == (1790000000000, 0)
    assert clock.created_ms(1_790_000_000_700) == 1790000001000


def test_sandbox_clock_advance() -> None:
    """SandboxClock.advance: Move the clock forward; returns the new time."""
    clock = SandboxClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert clock.advance(days=1).date() == dt.date(2026, 1, 2)
