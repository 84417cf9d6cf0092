"""Sorted orders the sandbox keeps between page requests, so a page costs the same at any offset.

A paged route (Encharge's ``/people/all`` and ``/segments/{id}/people``) asks :class:`Orders`
for the filtered, sorted list it pages through. The list is built once and kept, and every page
after the first is a slice of it, as a database index would serve it. A write drops every kept
order (the route's guard calls :meth:`Orders.written` before a non-GET request is served), so
the next page request sees the write; between writes the order is the same for every page.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["Orders"]


class Orders:
    """Kept orders by key, dropped on every write.

    Args:
        keep: how many orders to keep at once (sort field, direction and filter make a key);
            the oldest is dropped past that.

    Attributes:
        version: how many writes have dropped the kept orders.
        builds: how many orders were built (a page served from a kept order builds none).
    """

    def __init__(self, keep: int = 16) -> None:
        self.keep = keep
        self.version = 0
        self.builds = 0
        self._orders: dict[Hashable, list[Any]] = {}

    def written(self) -> None:
        """Forget every kept order: the data changed."""
        self.version += 1
        self._orders.clear()

    def get(self, key: Hashable, build: Callable[[], list[Any]]) -> list[Any]:
        """The order kept under ``key``, built (and kept) if there is none."""
        found = self._orders.get(key)
        if found is None:
            while len(self._orders) >= max(1, self.keep):
                self._orders.pop(next(iter(self._orders)))
            found = self._orders[key] = build()
            self.builds += 1
        return found

    def kept(self) -> int:
        """How many orders are kept now."""
        return len(self._orders)
