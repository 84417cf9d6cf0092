"""The behaviour of :mod:`enstoolkit.sandbox.variants` (pinned here; its docstrings are prose)."""

from __future__ import annotations

from enstoolkit.sandbox.variants import Variant


def test_module() -> None:
    """enstoolkit.sandbox.variants: Account variants: the shapes real ENS and Encharge accounts may send, where the
    evidence is uncertain.
    """
    assert Variant.of("us-account").date_order == "mdy"
    assert Variant.of("api-headers, optin_codes=YNP").optin_codes == "YNP"


def test_variant() -> None:
    """Variant: How the emulated accounts shape what they send."""
    variant = Variant(date_order="mdy", optin_codes="YNP")
    assert (variant.date_order, variant.headers, variant.describe()) == (
        "mdy",
        "api",
        "default: date_order='mdy', optin_codes='YNP'",
    )


def test_variant_of() -> None:
    """Variant.of: A variant from preset names and ``name=value`` settings (comma-separated, or a list)."""
    assert Variant.of(["dashboard-headers", "date_order=mdy"]).headers == "dashboard"


def test_variant_describe() -> None:
    """Variant.describe: One line naming what differs from the default."""
    assert Variant.of("us-account").describe() == "us-account: date_order='mdy', email_field='Email', field_names='us'"
