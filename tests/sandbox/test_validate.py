"""The behaviour of :mod:`enstoolkit.sandbox.validate` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.validate import accepts_email


def test_module() -> None:
    """enstoolkit.sandbox.validate: The sandbox's own input checks, written apart from the client's so that tests can
    catch a wrong one.
    """
    assert (accepts_email("jo@example.org"), accepts_email("jo@example"), accepts_email("jo @example.org")) == (
        True,
        False,
        False,
    )


def test_accepts_email() -> None:
    """accepts_email: Whether the emulated ENS and Encharge take ``value`` as an email address."""
    assert (accepts_email("jo.o'neill@example.org"), accepts_email("jo..x@example.org"), accepts_email(None)) == (
        True,
        False,
        False,
    )
