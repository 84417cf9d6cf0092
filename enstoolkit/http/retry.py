"""When to send a request again: a retry policy object, and ``Retry-After`` parsing.

Example:
    >>> policy = RetryPolicy(attempts=3, backoff=0.5, jitter=False)
    >>> [policy.wait(n, None) for n in range(3)]
    [0.5, 1.0, None]
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from dataclasses import dataclass, field

import httpx

__all__ = ["IDEMPOTENT_METHODS", "NO_RETRY", "RetryPolicy", "retry_after"]

#: Methods that may be sent again without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def retry_after(response: httpx.Response, *, now: dt.datetime | None = None) -> float | None:
    """Seconds the server asks to wait (``Retry-After``: seconds, or an HTTP date), or None.

    An HTTP date is measured from the answer's own ``Date`` header when it has one (the
    server's clock: a client whose clock is off still waits what the server meant), else
    from ``now``.

    Example:
        >>> retry_after(httpx.Response(429, headers={"Retry-After": "7"}))
        7.0
        >>> when = dt.datetime(2026, 1, 1, 12, 0, 30, tzinfo=dt.UTC)
        >>> retry_after(httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 2026 12:01:00 GMT"}), now=when)
        30.0
        >>> retry_after(httpx.Response(429, headers={"Retry-After": "Thu, 01 Jan 2026 12:01:00 GMT",
        ...                                          "Date": "Thu, 01 Jan 2026 12:00:58 GMT"}))
        2.0
    """
    text = response.headers.get("retry-after", "").strip()
    if not text:
        return None
    if text.replace(".", "", 1).isdigit():
        return max(0.0, float(text))
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if now is None:
        try:
            now = email.utils.parsedate_to_datetime(response.headers.get("date", ""))
        except (TypeError, ValueError, IndexError):
            now = None
        if now is not None and now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - (now or dt.datetime.now(dt.UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries a request that is safe to repeat.

    Transport errors and the answers in ``statuses`` are retried, up to ``attempts`` tries in
    all, with exponential backoff (``backoff * 2**n`` seconds, at most ``cap``, with jitter).
    When the server sends ``Retry-After`` (seconds or an HTTP date) the client waits that long
    instead, if it is at most ``max_wait`` seconds; a longer wait is not waited out: the error
    is raised with its ``retry_after``.

    Pass one to a client: ``ENSClient(..., retry=RetryPolicy(attempts=6))``.

    Example:
        >>> RetryPolicy().wait(0, httpx.Response(429, headers={"Retry-After": "2"}))
        2.0
        >>> RetryPolicy(max_wait=10).wait(0, httpx.Response(429, headers={"Retry-After": "120"})) is None
        True
    """

    attempts: int = 4
    backoff: float = 0.25
    cap: float = 4.0
    max_wait: float = 60.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts={self.attempts!r}: expected at least 1")
        if self.backoff < 0 or self.cap < 0 or self.max_wait < 0:
            raise ValueError("backoff, cap and max_wait must be 0 or more seconds")

    def wait(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before trying again after try number ``attempt`` (from 0), or None to stop.

        ``response`` is the answer that failed, or None for a transport error.

        Example:
            >>> policy = RetryPolicy(attempts=3, backoff=0.5, jitter=False)
            >>> policy.wait(0, None), policy.wait(1, httpx.Response(503)), policy.wait(2, None)
            (0.5, 1.0, None)
            >>> policy.wait(0, httpx.Response(404)) is None   # not an answer worth trying again
            True
        """
        if attempt + 1 >= self.attempts:
            return None
        if response is not None:
            if response.status_code not in self.statuses:
                return None
            asked = retry_after(response)
            if asked is not None:
                return asked if asked <= self.max_wait else None
        delay = float(min(self.cap, self.backoff * (2**attempt)))
        return delay * (0.5 + random.random() / 2) if self.jitter else delay


#: A policy that never retries.
NO_RETRY = RetryPolicy(attempts=1)
