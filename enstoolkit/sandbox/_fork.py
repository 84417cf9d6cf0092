"""Work of the sandbox split with a forked copy of its process, so a large export file uses two cores.

The sandbox serves from one interpreter (one core at a time). Making a large export file is
pure Python over the account (each supporter's rows come from the supporter's own random
streams), so half of it can be made by a child forked from the sandbox's process: the child
sees the account exactly as it is at that moment, makes its half, sends it back pickled through
a pipe and exits; the parent makes the other half meanwhile. Off Linux, where ``os.fork`` is missing
or unsafe in a process with threads, or with one core, the work is done in this process. Work that
waits (for children, or for a lock) runs in a thread of its own (:func:`in_background`), off the loop
that serves the requests.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import partial
from typing import TypeVar

__all__ = ["forked", "halves", "in_background", "worth_forking"]

T = TypeVar("T")
Item = TypeVar("Item")

#: The smallest piece of work (supporters) worth a child process.
MIN_SUPPORTERS = 20_000


def worth_forking(supporters: int) -> bool:
    """Whether splitting the work for this many supporters with a child pays (two cores, fork, enough work)."""
    return supporters >= MIN_SUPPORTERS and _can_fork() and (os.cpu_count() or 1) > 1


def _can_fork() -> bool:
    """Linux only: elsewhere (macOS's system libraries, Windows) a forked copy of a process with threads is unsafe."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def forked(work: Callable[[], T]) -> Callable[[], T]:
    """Start ``work`` in a forked child; returns a function that waits for its result.

    The child only runs ``work`` (plain Python over data the parent already holds: no locks, no
    imports, no threads) and leaves with ``os._exit``. An error in the child is raised again by
    the returned function, naming it; a child that dies says so.
    """
    if not _can_fork():
        done = work()
        return lambda: done
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of forking with threads: the child runs no thread's code
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(read)
            try:
                data = pickle.dumps((True, work()), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # sent back to the parent, which raises it
                data = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)

    def result() -> T:
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if not data:
            raise RuntimeError(f"the sandbox's worker process ended without an answer (wait status {status})")
        ok, value = pickle.loads(data)
        if not ok:
            raise RuntimeError(f"the sandbox's worker process failed: {value}")
        return value  # type: ignore[no-any-return]

    return result


def halves(work: Callable[[Sequence[Item], int], T], items: Sequence[Item]) -> list[Callable[[], T]]:
    """``work(part, first)`` over ``items``: by two forked children, one per half (``first`` is where the half
    starts), when :func:`worth_forking` says so; else over all of them here, at once.

    Returns functions that wait for each part's result, in order.
    """
    if worth_forking(len(items)):
        half = len(items) // 2
        return [forked(partial(work, items[:half], 0)), forked(partial(work, items[half:], half))]
    done = work(items, 0)
    return [lambda: done]


def in_background(work: Callable[[], T], *, name: str = "enstoolkit-sandbox-work") -> Future[T]:
    """Run ``work`` in a daemon thread called ``name``; its future result (or error, raised where it is asked for).

    A daemon thread: a sandbox stopped before the result is asked for does not wait for it.
    """
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # raised again where the result is asked for
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
