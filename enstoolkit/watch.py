"""Watch Encharge without a public URL: :func:`poll_events` (see :mod:`enstoolkit.encharge.watch`).

Example:
    >>> from enstoolkit.watch import poll_events
    >>> poll_events.__name__
    'poll_events'
"""

from .encharge.watch import DEFAULT_IGNORE, FORMAT, SnapshotError, poll_events, snapshot_info

__all__ = ["DEFAULT_IGNORE", "FORMAT", "SnapshotError", "poll_events", "snapshot_info"]
