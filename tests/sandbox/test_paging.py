"""The behaviour of :mod:`enstoolkit.sandbox.paging` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.paging import Orders


def test_module() -> None:
    """enstoolkit.sandbox.paging: Sorted orders the sandbox keeps between page requests, so a page costs the same at
    any offset.
    """
    orders = Orders()
    builds = []

    def build() -> list[int]:
        builds.append(1)
        return sorted([3, 1, 2])

    assert (orders.get(("all",), build)[1:], orders.get(("all",), build)[:1], len(builds)) == ([2, 3], [1], 1)
    orders.written()
    assert (orders.get(("all",), build) == [1, 2, 3], len(builds)) == (True, 2)


def test_orders() -> None:
    """Orders: Kept orders by key, dropped on every write."""
    orders = Orders(keep=1)
    assert (orders.get("a", lambda: [1]), orders.get("b", lambda: [2]), orders.kept(), orders.builds) == (
        [1],
        [2],
        1,
        2,
    )


def test_orders_written() -> None:
    """Orders.written: Forget every kept order: the data changed."""
    orders = Orders()
    _ = orders.get("a", list)
    orders.written()
    assert (orders.kept(), orders.version) == (0, 1)


def test_orders_get() -> None:
    """Orders.get: The order kept under ``key``, built (and kept) if there is none."""
    assert Orders().get(("people", "createdAt"), lambda: ["p1", "p2"]) == ["p1", "p2"]


def test_orders_kept() -> None:
    """Orders.kept: How many orders are kept now."""
    assert Orders().kept() == 0
