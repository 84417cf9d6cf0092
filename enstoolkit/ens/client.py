"""The Engaging Networks Services (ENS) REST client, put together from its parts.

Every read returns a polars DataFrame with an explicit schema (see :mod:`enstoolkit.schemas`).
The client authenticates lazily with the API key (:class:`~enstoolkit.ens.auth.ENSAuth`),
keeps the session token and its time to live, and re-authenticates once, transparently,
when ENS answers "Invalid ens-auth-token".

Example:
    >>> ens.get_supporter(email="nobody@example.org").height
    0
"""

from __future__ import annotations

from .export import ExportMethods
from .pages import PageMethods
from .query import QueryMethods
from .supporters import SupporterMethods

__all__ = ["ENSClient"]


class ENSClient(SupporterMethods, QueryMethods, PageMethods, ExportMethods):
    """A client for the Engaging Networks Services REST API.

    Args:
        api_key: the ENS API user's key; defaults to ``ENS_API_KEY``.
        base_url: defaults to ``ENS_BASE_URL``, else ``https://www.e-activist.com/ens/service``.
            The regional hosts ``ca``/``us``/``us2.engagingnetworks.app`` are accepted.
        timeout: seconds per request.
        transport: an ``httpx`` transport (for example a recording one in tests).
        retry: a :class:`~enstoolkit.http.RetryPolicy` for requests that are safe to repeat.
        hourly_limit: ENS's requests per rolling hour for this API user (5,000).
        date_order: how the account writes slash dates, "dmy" (DD/MM/YYYY, the EU datacentre) or
            "mdy" (MM/DD/YYYY); by default the order is proven from the data, and a file or
            transaction whose dates read both ways raises :class:`~enstoolkit.errors.AmbiguousDates`.

    The methods come from :mod:`~enstoolkit.ens.supporters`, :mod:`~enstoolkit.ens.query`,
    :mod:`~enstoolkit.ens.pages` and :mod:`~enstoolkit.ens.export`; the session, budget and
    account metadata from :mod:`~enstoolkit.ens.core`.

    Example:
        >>> with ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        ...     ens.get_questions().get_column("name").to_list()[0]
        'Marketing Optin'
    """
