"""Keep secrets in URL paths out of other libraries' log lines (httpx logs every URL at INFO):
ENS session tokens (``/authenticate/{token}``) and webhook listeners' secrets (``/hooks/{secret}``).

Example:
    >>> import logging
    >>> url = "http://h/ens/service/authenticate/abc"
    >>> record = logging.LogRecord("httpx", 20, "", 0, "HTTP Request: %s %s", ("GET", url), None)
    >>> RedactTokenPaths().filter(record), record.getMessage()
    (True, 'HTTP Request: GET http://h/ens/service/authenticate/***')
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactTokenPaths", "install_redaction"]

_TOKEN_IN_PATH = re.compile(r"(/authenticate/|/hooks/)[^/\s\"'?]+")


class RedactTokenPaths(logging.Filter):
    """Take ENS session tokens out of URL paths in other libraries' log lines.

    httpx logs every request's URL at INFO; ``/authenticate/{token}`` would show the token.

    Example:
        >>> url = "http://h/ens/service/authenticate/abc"
        >>> record = logging.LogRecord("httpx", 20, "", 0, "HTTP Request: %s %s", ("GET", url), None)
        >>> RedactTokenPaths().filter(record), record.getMessage()
        (True, 'HTTP Request: GET http://h/ens/service/authenticate/***')
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the secrets in the record's message and arguments with ``***``; keep the record.

        Example:
            >>> record = logging.LogRecord("httpcore", 10, "", 0, "POST /hooks/s3cret done", None, None)
            >>> RedactTokenPaths().filter(record), record.getMessage()
            (True, 'POST /hooks/*** done')
        """
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_TOKEN_IN_PATH.sub(r"\1***", a) if isinstance(a, str) else
                                _TOKEN_IN_PATH.sub(r"\1***", str(a)) if _TOKEN_IN_PATH.search(str(a)) else a
                                for a in args)
        if isinstance(record.msg, str) and _TOKEN_IN_PATH.search(record.msg):
            record.msg = _TOKEN_IN_PATH.sub(r"\1***", record.msg)
        return True


for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(RedactTokenPaths())


def install_redaction() -> None:
    """Add the filter to httpx's and httpcore's loggers (once).

    Example:
        >>> install_redaction(); install_redaction()
        >>> sum(isinstance(f, RedactTokenPaths) for f in logging.getLogger("httpx").filters)
        1
    """
    for name in ("httpx", "httpcore"):
        log = logging.getLogger(name)
        if not any(isinstance(f, RedactTokenPaths) for f in log.filters):
            log.addFilter(RedactTokenPaths())
