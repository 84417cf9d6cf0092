"""The cyclic garbage collector paused while the sandbox builds many objects at once.

Generating an account or writing an export file makes millions of small objects (records,
dicts, tuples) and none of them form cycles; the collector would walk the growing heap again
and again as they are made (about a quarter of the generation's time at 100,000 supporters).
Reference counting still frees what is dropped; the collector runs as before afterwards.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["freeze_heap", "paused_gc"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (nested and threaded uses count: the last one out
    turns it back on, if it was on before the first came in)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def freeze_heap() -> None:
    """Leave every object made so far out of the collector's future walks (``gc.freeze``).

    For a process that only serves the sandbox: its account is millions of long-lived objects
    without cycles, and every full collection would walk them all again while the sandbox serves
    (seconds at 100,000 supporters, in the middle of making an export file). Reference counting
    still frees whatever is dropped. Not for a process shared with other work: a cycle of garbage
    made before the call would never be collected.
    """
    gc.freeze()
