"""Encharge webhooks: the :class:`Listener` (see :mod:`enstoolkit.encharge.webhooks`).

Example:
    >>> from enstoolkit.webhooks import Listener
    >>> Listener.__name__
    'Listener'
"""

from .encharge.webhooks import HOOK_PREFIX, Listener, event_row, event_rows, flatten_person

__all__ = ["HOOK_PREFIX", "Listener", "event_row", "event_rows", "flatten_person"]
