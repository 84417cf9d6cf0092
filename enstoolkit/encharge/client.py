"""The Encharge REST client, put together from its parts.

Reads return polars DataFrames with explicit schemas (see :mod:`enstoolkit.schemas`). Bulk
writes (upserting people, tagging, untagging, deleting) work in chunks and report what
happened to each person; nothing is silently dropped.

Example:
    >>> encharge.get_account().item(0, "status")
    'active'
"""

from __future__ import annotations

from .people import PeopleMethods

__all__ = ["EnchargeClient"]


class EnchargeClient(PeopleMethods):
    """A client for the Encharge REST API.

    Args:
        api_key: the account's API key; defaults to ``ENCHARGE_API_KEY``.
        base_url: defaults to ``ENCHARGE_BASE_URL``, else ``https://api.encharge.io/v1``.
        timeout: seconds per request.
        transport: an ``httpx`` transport.
        retry: a :class:`~enstoolkit.http.RetryPolicy` for requests that are safe to repeat
            (429 answers are waited out as ``Retry-After`` says, within the policy's bound).

    The people methods come from :mod:`~enstoolkit.encharge.people`; metadata,
    subscriptions and errors from :mod:`~enstoolkit.encharge.core`.

    Example:
        >>> "donor" in encharge.get_tags().get_column("tag").to_list()
        True
    """
