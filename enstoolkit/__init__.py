"""enstoolkit: Engaging Networks (ENS) and Encharge for analysts, as typed polars DataFrames.

Where things are (a map of the package):

- a request is sent: :mod:`enstoolkit.http` (one send path; auth in :mod:`enstoolkit.ens.auth`);
- a frame gets its schema: :mod:`enstoolkit.schemas` (declared once; :mod:`enstoolkit.schemas.frames`
  is the one typing path);
- the clients: :mod:`enstoolkit.ens` and :mod:`enstoolkit.encharge`;
- bulk writes, journalled and resumable: :mod:`enstoolkit.bulk`;
- audit checks and opt-in analysis: :mod:`enstoolkit.analysis`;
- the sandbox answers: :mod:`enstoolkit.sandbox` (the ``[sandbox]`` extra);
- a click goes: :mod:`enstoolkit.widgets` wires it to :mod:`enstoolkit.widgets.actions` (``[notebook]``).

Example:
    >>> ens.get_fields().height > 0
    True
"""

from __future__ import annotations

import logging

from . import errors, schemas
from ._version import __version__
from .encharge import EnchargeClient
from .ens import ENSClient
from .http import RetryPolicy

logging.getLogger("enstoolkit").addHandler(logging.NullHandler())  # a library: the application decides

__all__ = ["ENSClient", "EnchargeClient", "RetryPolicy", "__version__", "errors", "schemas"]
