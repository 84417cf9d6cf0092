"""What time the server thinks it is, from the ``Date`` header of its answers (and any timestamp it sends).

Used to settle page submissions whose answer was lost: a transaction that ENS created for a
request must be dated at or after the server's clock when the request was sent. The server's
clock is only known within bounds: ``Date`` has whole seconds, and the answer was stamped
somewhere between sending and receiving. Each answer gives bounds on (server clock - this
machine's clock); :class:`ServerClock` keeps their intersection, which narrows as answers
come in, and starts again from the latest answer when they disagree (the server's clock was
set, or jumped).

Two clocks are kept apart: the ``Date`` header's (ENS's web servers) and ENS's own millisecond
stamps (a processed page's ``createdOn``: the clock its transactions are dated by). They may
disagree; once a stamp has been seen, :meth:`ServerClock.offset` is the stamps' (``basis()``
"stamp"), before that the ``Date`` headers' ("date"), which a reader of transaction dates must
widen by an allowance for that disagreement (see :mod:`enstoolkit.bulk.review`).

Example:
    >>> import httpx
    >>> clock = ServerClock()
    >>> request = httpx.Request("GET", "http://h/x", extensions={SENT_AT: 1_000.0})
    >>> clock.observe(httpx.Response(200, headers={"Date": "Thu, 01 Jan 1970 00:16:40 GMT"}, request=request),
    ...               received=1_000.2)
    >>> clock.offset()
    (-0.2, 1.0)
    >>> clock.calibrate(1_000.0, 1_000.1, 1_000_500)   # the server stamped 1,000.5 s within that exchange
    >>> clock.offset(), clock.basis()   # a stamp in whole milliseconds: up to 1 ms later
    ((0.4, 0.501), 'stamp')
"""

from __future__ import annotations

import email.utils
import math
import threading
import time

import httpx

__all__ = ["SENT_AT", "ServerClock"]

#: The request extension that carries this machine's clock when the request was sent.
SENT_AT = "enstoolkit.sent_at"


class ServerClock:
    """Bounds on (server clock - this machine's clock), in seconds, narrowed by every answer.

    Example:
        >>> clock = ServerClock()
        >>> clock.offset() is None, clock.now_ms() is None   # nothing is known before an answer
        (True, True)
        >>> clock.calibrate(100.0, 100.5, 160_000)   # the server wrote 160.0 s while this machine read 100.0-100.5
        >>> clock.offset()
        (59.5, 60.001)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bounds: dict[str, tuple[float, float]] = {}
        self.observed = 0
        self.resets = 0

    def _take(self, basis: str, low: float, high: float) -> None:
        with self._lock:
            self.observed += 1
            known = self._bounds.get(basis)
            if known is None:
                self._bounds[basis] = (low, high)
                return
            lo, hi = max(known[0], low), min(known[1], high)
            if lo > hi:  # the server's clock moved: believe the latest answer, and forget the other clock's
                self._bounds = {basis: (low, high)}
                self.resets += 1
            else:
                self._bounds[basis] = (lo, hi)

    def observe(self, response: httpx.Response, *, received: float | None = None) -> None:
        """Take the bounds from one answer's ``Date`` header (called for every response, as an event hook).

        Example:
            >>> clock = ServerClock()
            >>> request = httpx.Request("GET", "http://h/x", extensions={SENT_AT: 1_000.0})
            >>> answer = httpx.Response(200, headers={"Date": "Thu, 01 Jan 1970 00:16:40 GMT"}, request=request)
            >>> clock.observe(answer, received=1_000.2)
            >>> clock.offset(), clock.observed
            ((-0.2, 1.0), 1)
        """
        text = response.headers.get("date")
        try:
            sent = float(response.request.extensions.get(SENT_AT) or 0)
        except RuntimeError:  # a response built without a request
            return
        if not text or not sent:
            return
        try:
            stamped = email.utils.parsedate_to_datetime(text).timestamp()
        except (TypeError, ValueError, IndexError):
            return
        now = time.time() if received is None else received
        self._take("date", round(stamped - now, 6), round(stamped + 1.0 - sent, 6))

    def calibrate(self, sent: float, received: float, server_ms: int | float) -> None:
        """Narrow the bounds with a millisecond timestamp the server wrote while handling one request.

        ``sent`` and ``received`` are this machine's clock (seconds) around that request.

        Example:
            >>> clock = ServerClock()
            >>> clock.calibrate(1_000.0, 1_000.1, 1_000_500)
            >>> clock.offset()
            (0.4, 0.501)
        """
        stamped = float(server_ms) / 1000  # whole milliseconds: the moment was up to 1 ms later
        self._take("stamp", round(stamped - received, 6), round(stamped + 0.001 - sent, 6))

    def offset(self) -> tuple[float, float] | None:
        """``(low, high)``: the server's clock is this machine's plus between low and high seconds.

        Example:
            >>> clock = ServerClock()
            >>> clock.calibrate(100.0, 100.0, 40_000)   # the server's clock is a minute behind
            >>> clock.offset()
            (-60.0, -59.999)
        """
        with self._lock:
            return self._bounds.get("stamp") or self._bounds.get("date")

    def basis(self) -> str | None:
        """Which clock :meth:`offset` is of: "stamp" (ENS's millisecond stamps, the clock its transactions
        are dated by), "date" (``Date`` headers only), or None before any answer.

        Example:
            >>> clock = ServerClock()
            >>> clock.basis(), clock.calibrate(100.0, 100.0, 40_000), clock.basis()
            (None, None, 'stamp')
        """
        with self._lock:
            return "stamp" if "stamp" in self._bounds else "date" if "date" in self._bounds else None

    def now_ms(self) -> tuple[int, int] | None:
        """Bounds on the server's clock now, in epoch milliseconds, or None before any answer.

        Example:
            >>> clock = ServerClock()
            >>> clock.calibrate(100.0, 100.0, 160_000)   # the server's clock is a minute ahead
            >>> low, high = clock.now_ms()
            >>> round(low / 1000 - time.time()), 1 <= high - low <= 2   # 1 ms wide, on whole milliseconds
            (60, True)
        """
        return self.at_ms(time.time())

    def at_ms(self, moment: float) -> tuple[int, int] | None:
        """Bounds on the server's clock at ``moment`` (this machine's clock, in seconds), in epoch milliseconds.

        Example:
            >>> clock = ServerClock()
            >>> clock.calibrate(100.0, 100.0, 160_000)
            >>> clock.at_ms(200.0)
            (260000, 260001)
        """
        offset = self.offset()
        if offset is None:
            return None
        return math.floor(round((moment + offset[0]) * 1000, 3)), math.ceil(round((moment + offset[1]) * 1000, 3))
