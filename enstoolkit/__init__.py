"""enstoolkit: Engaging Networks (ENS) and Encharge for analysts, as typed polars DataFrames.

Example:
    >>> from enstoolkit import ENSClient
    >>> from enstoolkit.sandbox import Sandbox
    >>> with Sandbox(supporters=50) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
    ...     ens.get_fields().height > 0
    True
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger("enstoolkit").addHandler(logging.NullHandler())  # a library: the application decides

from . import errors, frames  # noqa: E402
from .encharge import EnchargeClient  # noqa: E402
from .ens import ENSClient  # noqa: E402

__all__ = ["ENSClient", "EnchargeClient", "__version__", "errors", "frames"]
