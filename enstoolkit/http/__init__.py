"""HTTP transport: the one send path of both clients, the retry policy, the request budget, the server clock.

Example:
    >>> from enstoolkit.http import RetryPolicy
    >>> RetryPolicy(attempts=6).attempts
    6
"""

from .budget import RequestLog
from .client import USER_AGENT, BaseClient, ErrorBody, json_or_none
from .retry import IDEMPOTENT_METHODS, NO_RETRY, RetryPolicy, retry_after
from .server_time import ServerClock

__all__ = ["IDEMPOTENT_METHODS", "NO_RETRY", "USER_AGENT", "BaseClient", "ErrorBody", "RequestLog", "RetryPolicy",
           "ServerClock", "json_or_none", "retry_after"]
