"""The ENS client: session (auth), payload checks, supporters, queries, pages and export jobs.

Example:
    >>> from enstoolkit.ens import ENSClient, PAGE_TYPES
    >>> "pet" in PAGE_TYPES
    True
"""

from .auth import ENSAuth
from .client import ENSClient
from .core import DEFAULT_BASE_URL, ENS_HOSTS, normalise_base_url
from .export import EXPORT_FILE_TYPES, EXPORT_FORMATS
from .pages import PAGE_STATUSES, PAGE_TYPES
from .query import QUERY_TYPES, search_filter
from .readers import (
    export_layout,
    read_supporter_export,
    read_transaction_export,
    supporter_ids_by_email,
    transaction_dates,
)
from .snapshot import SyncReport, last_sync, refresh_supporters

__all__ = [
    "DEFAULT_BASE_URL",
    "ENS_HOSTS",
    "EXPORT_FILE_TYPES",
    "EXPORT_FORMATS",
    "PAGE_STATUSES",
    "PAGE_TYPES",
    "QUERY_TYPES",
    "ENSAuth",
    "ENSClient",
    "SyncReport",
    "export_layout",
    "last_sync",
    "normalise_base_url",
    "read_supporter_export",
    "read_transaction_export",
    "refresh_supporters",
    "search_filter",
    "supporter_ids_by_email",
    "transaction_dates",
]
