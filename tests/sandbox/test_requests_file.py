"""The behaviour of :mod:`enstoolkit.sandbox.requests_file` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.requests_file import request_file


def test_module() -> None:
    """enstoolkit.sandbox.requests_file: FPS-style suppression request files made from a sandbox's people: exact
    matches, fuzzy ones, and nobody.
    """
    from enstoolkit.sandbox import Sandbox

    sb = Sandbox(supporters=200)
    data, truth = request_file(sb, exact=3, fuzzy=2, not_found=2)
    assert (data.splitlines()[0], [t["kind"] for t in truth]) == (
        b"Email,Name,Address,Postcode,Channel,Date Received",
        ["exact", "exact", "exact", "fuzzy", "fuzzy", "not found", "not found"],
    )
