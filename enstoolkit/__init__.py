"""enstoolkit: Engaging Networks (ENS) and Encharge for analysts, as typed polars DataFrames.

Example:
    >>> from enstoolkit import ENSClient
    >>> from enstoolkit.sandbox import Sandbox
    >>> with Sandbox(supporters=50) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
    ...     ens.get_fields().height > 0
    True
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import errors, frames
from .encharge import EnchargeClient
from .ens import ENSClient

__all__ = ["ENSClient", "EnchargeClient", "__version__", "errors", "frames"]
