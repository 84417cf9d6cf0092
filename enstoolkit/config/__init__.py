"""Which accounts the toolkit talks to, and what it needs to know about them.

- :func:`connect`: the real accounts when credentials are set, else the embedded sandbox;
- :func:`audit_settings`: the account's export query, opt-ins and field names for the audit and the
  opt-in analysis;
- :func:`diagnose`: ``enstoolkit doctor``'s read-only look at the configured accounts.

Example:
    >>> from enstoolkit.config import connect
    >>> connect(environ={}).describe()   # no credentials: the sandbox
    'ENS: the enstoolkit sandbox (synthetic data). Encharge: the enstoolkit sandbox (synthetic data).'
"""

from .connect import Connection, connect, default_sandbox
from .doctor import Report, diagnose
from .settings import AuditSettings, audit_settings

__all__ = ["AuditSettings", "Connection", "Report", "audit_settings", "connect", "default_sandbox", "diagnose"]
