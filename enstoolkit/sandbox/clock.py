"""The sandbox's clock: a deterministic start, then real time, and jumps on request.

The synthetic account is generated as of :attr:`SandboxClock.start` (the same seed and start
give the same data). From then on the clock runs with real time, so two gifts made 1.2 s
apart carry different times, and :meth:`SandboxClock.advance` jumps it forward (an hour for
the rate limit, a token's lifetime, a review window) without waiting. The ENS side (tokens,
the hourly limit, transactions, export jobs), the Encharge side (people's dates) and the
``Date`` header of every answer all read this clock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

__all__ = ["SandboxClock"]


class SandboxClock:
    """A clock that starts at ``start``, runs with real time and can be moved forward."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        self.start = start
        self._t0 = time.monotonic()
        self._jumped = 0.0
        self._lock = threading.Lock()
        #: Seconds the ``Date`` header of every answer is ahead of this clock (negative: behind), as when
        #: ENS's web servers and the clock its transactions are dated by disagree.
        self.date_skew = 0.0
        #: How transactions' ``createdDate`` is written: to the millisecond (None), or in whole seconds,
        #: rounded down ("floor") or to the nearest second ("nearest"), as live ENS accounts show them.
        self.round_dates: str | None = None

    def elapsed(self) -> float:
        """Seconds since the start (real time plus every jump): a monotonic reading for timeouts and windows."""
        with self._lock:
            return time.monotonic() - self._t0 + self._jumped

    def now(self) -> dt.datetime:
        """The sandbox's current time (UTC)."""
        return self.start + dt.timedelta(seconds=self.elapsed())

    def time(self) -> float:
        """The sandbox's current time in seconds since the epoch (as ``time.time``)."""
        return self.start.timestamp() + self.elapsed()

    def now_ms(self) -> int:
        """The sandbox's current time in epoch milliseconds."""
        return int(self.time() * 1000)

    def date_header_time(self) -> float:
        """The time an answer's ``Date`` header states: this clock plus :attr:`date_skew` (seconds since the epoch)."""
        return self.time() + self.date_skew

    def created_ms(self, moment_ms: int) -> int:
        """A transaction's ``createdDate`` for a moment (epoch ms), written as :attr:`round_dates` says."""
        if self.round_dates == "floor":
            return moment_ms - moment_ms % 1000
        if self.round_dates == "nearest":
            return (moment_ms + 500) // 1000 * 1000
        if self.round_dates is not None:
            raise ValueError(f"round_dates={self.round_dates!r}: expected None, 'floor' or 'nearest'")
        return moment_ms

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0
                ) -> dt.datetime:
        """Move the clock forward; returns the new time."""
        step = seconds + 60 * minutes + 3600 * hours + 86_400 * days
        if step < 0:
            raise ValueError(f"advance({step} s): the clock only moves forward")
        with self._lock:
            self._jumped += step
        return self.now()

    def __repr__(self) -> str:
        return f"SandboxClock(now={self.now().isoformat(timespec='seconds')})"
