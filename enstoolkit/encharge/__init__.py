"""The Encharge client: people, tags, fields, segments, the account, webhook subscriptions, and the listener.

Example:
    >>> from enstoolkit.encharge import EnchargeClient, EVENTS
    >>> EVENTS[0]
    'newUser'
"""

from .client import EnchargeClient
from .core import DEFAULT_BASE_URL, ENCHARGE_HOSTS, EnchargeAuth, normalise_base_url
from .payloads import (
    EVENTS,
    check_event,
    check_tag,
    check_tags,
    mask_url_secret,
    people_frame,
    person_payload,
    single_identifier,
)
from .polling import SnapshotError, poll_events, snapshot_info
from .webhooks import Listener, event_row, event_rows

__all__ = [
    "DEFAULT_BASE_URL", "ENCHARGE_HOSTS", "EVENTS", "EnchargeAuth", "EnchargeClient", "Listener", "SnapshotError",
    "check_event", "check_tag", "check_tags", "event_row", "event_rows", "mask_url_secret", "normalise_base_url",
    "people_frame", "person_payload", "poll_events", "single_identifier", "snapshot_info",
]
