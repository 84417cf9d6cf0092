"""The sandbox's own input checks, written apart from the client's so that tests can catch a wrong one.

The emulated services accept an address with exactly one ``@``, a local part of 1 to 64
characters and a domain of dot-separated labels (letters, digits, hyphens, not at either
end), without spaces.
"""

from __future__ import annotations

import string

__all__ = ["accepts_email"]

_LOCAL = set(string.ascii_letters + string.digits + ".!#$%&'*+/=?^_`{|}~-")
_LABEL = set(string.ascii_letters + string.digits + "-")


def accepts_email(value: object) -> bool:
    """Whether the emulated ENS and Encharge take ``value`` as an email address."""
    if not isinstance(value, str) or value.count("@") != 1 or len(value) > 254:
        return False
    local, domain = value.split("@")
    if not 1 <= len(local) <= 64 or not set(local) <= _LOCAL or local[0] == "." or local[-1] == "." or ".." in local:
        return False
    labels = domain.split(".")
    if len(labels) < 2:
        return False
    return all(label and set(label) <= _LABEL and label[0] != "-" and label[-1] != "-" for label in labels)
