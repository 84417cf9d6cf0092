"""Data protection: subject access, suppression requests, tombstones and retention.

- :func:`subject_access` (``enstoolkit sar EMAIL``): everything held about a person, in one zip;
- :func:`load_requests`, :func:`match_requests`, :func:`suppress` and :func:`request_report`:
  suppression requests (FPS, deceased screening, phone or post) met per channel, on time;
- :class:`Tombstones`: erased and suppressed addresses, kept as salted hashes, that every write checks;
- :func:`load_policy`, :func:`retention_preview`, :func:`erase_people`: a retention policy applied.

The modules that talk to the APIs load when first used, so the clients can import the
tombstones without a cycle.

Example:
    >>> from enstoolkit.protection import Tombstones
    >>> Tombstones.__name__
    'Tombstones'
"""

from __future__ import annotations

import importlib
from typing import Any

from .tombstones import Tombstoned, Tombstones, check_writes, default_tombstones

__all__ = [
    "SubjectAccess", "Tombstoned", "Tombstones", "check_writes", "default_tombstones", "erase_people",
    "exact_band", "fuzzy_band", "load_policy", "load_requests", "match_requests", "request_report",
    "retention_preview", "subject_access", "suppress",
]

_LAZY = {
    "SubjectAccess": "sar", "subject_access": "sar",
    "load_requests": "requests", "request_report": "requests",
    "match_requests": "matching", "exact_band": "matching", "fuzzy_band": "matching",
    "suppress": "suppression",
    "load_policy": "retention", "retention_preview": "retention", "erase_people": "erase",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
