"""The exception tree shared by every enstoolkit client.

Everything the toolkit raises on purpose derives from :class:`EnstoolkitError`.
API errors carry the vendor's own ``message`` (and ENS's ``messageId``), with
any API key or session token replaced by ``***`` so that an exception can be
printed, logged or saved in a notebook without leaking a secret.

Example:
    >>> from enstoolkit.errors import InvalidAPIKey, AuthenticationError
    >>> issubclass(InvalidAPIKey, AuthenticationError)
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "APIError",
    "AmbiguousDates",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceeded",
    "ConfigurationError",
    "DataShapeError",
    "EnstoolkitError",
    "InactiveUser",
    "InvalidAPIKey",
    "InvalidSessionToken",
    "MissingExtra",
    "NotFoundError",
    "PageProcessingError",
    "PermissionDenied",
    "RateLimitExceeded",
    "ServerError",
    "StoreError",
    "TransportError",
    "UnmappedColumns",
    "UnregisteredSourceAddress",
    "UserNotFound",
    "ValidationError",
]


class EnstoolkitError(Exception):
    """Base class of every error the toolkit raises.

    Example:
        >>> try:
        ...     raise ValidationError("rows", 500, "an integer from 1 to 100")
        ... except EnstoolkitError as e:
        ...     print(type(e).__name__)
        ValidationError
    """


class ValidationError(EnstoolkitError, ValueError):
    """Bad input, found before any request was sent.

    Attributes:
        argument: the name of the offending argument (or field).
        value: what was given (never a secret).
        allowed: a description of the allowed values.

    Example:
        >>> e = ValidationError("days_back", 40, "an integer from 1 to 32")
        >>> str(e)
        'days_back=40 is not valid: expected an integer from 1 to 32'
    """

    def __init__(self, argument: str, value: Any, allowed: str, detail: str | None = None) -> None:
        self.argument = argument
        self.value = value
        self.allowed = allowed
        self.detail = detail
        text = f"{argument}={value!r} is not valid: expected {allowed}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)


class DataShapeError(EnstoolkitError):
    """An API sent a value that does not fit the frame's schema; names the column.

    Example:
        >>> str(DataShapeError("supporterId", "abc", "an integer"))
        "column 'supporterId': 'abc' is not an integer"
    """

    def __init__(self, column: str, value: Any, expected: str) -> None:
        self.column = column
        self.value = value
        self.expected = expected
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"column {column!r}: {shown} is not {expected}")


class UnmappedColumns(EnstoolkitError):
    """Data without the columns the toolkit needs: names what is missing, what was there, and how to map it.

    Attributes:
        what: the data (e.g. "the supporter export").
        missing: the columns needed and not found.
        seen: the columns that were there.
        parameter: how to map them (e.g. ``columns={"Their ID": "supporterId"}``).

    Example:
        >>> e = UnmappedColumns("the export", ["supporterId"], ["ID", "Mail"], "columns={'ID': 'supporterId'}")
        >>> print(e)
        the export has no supporterId column (its columns: 'ID', 'Mail'); map yours with columns={'ID': 'supporterId'}
    """

    def __init__(self, what: str, missing: list[str], seen: list[str], parameter: str) -> None:
        self.what = what
        self.missing = missing
        self.seen = seen
        self.parameter = parameter
        shown = ", ".join(repr(c) for c in seen[:15]) + (f", ... ({len(seen)} in all)" if len(seen) > 15 else "")
        super().__init__(f"{what} has no {' or '.join(missing)} column (its columns: {shown}); "
                         f"map yours with {parameter}")


class AmbiguousDates(DataShapeError):
    """Day-first and month-first readings of a date column both fit, or neither does: nothing is guessed.

    Attributes:
        column: the column; examples: a few of its values; parameter: how to say which order.

    Example:
        >>> print(AmbiguousDates("createdOn", ["03/04/2026"], "date_order='dmy'"))
        column 'createdOn': dates such as '03/04/2026' read as DD/MM and as MM/DD; say which with date_order='dmy'
    """

    def __init__(self, column: str, examples: list[str], parameter: str, *, conflicting: bool = False) -> None:
        self.column = column
        self.value = examples[0] if examples else None
        self.expected = "dates in one known order"
        self.examples = examples
        self.parameter = parameter
        shown = ", ".join(repr(e) for e in examples[:3])
        reading = ("fit neither DD/MM nor MM/DD consistently" if conflicting
                   else "read as DD/MM and as MM/DD")
        text = f"column {column!r}: dates such as {shown} {reading}; say which with {parameter}"
        EnstoolkitError.__init__(self, text)


class BudgetExceeded(EnstoolkitError):
    """A job was not started: it needs more ENS requests than the rolling hour has left.

    Example:
        >>> str(BudgetExceeded("tagging 300 people", 300, 120, 5000))
        'tagging 300 people needs 300 ENS requests but only 120 of 5,000 are left this hour; resume later'
    """

    def __init__(self, what: str, needed: int, left: int, limit: int) -> None:
        self.what = what
        self.needed = needed
        self.left = left
        self.limit = limit
        super().__init__(f"{what} needs {needed:,} ENS requests but only {left:,} of {limit:,} are left this hour; "
                         "resume later")


class ConfigurationError(EnstoolkitError):
    """The client is missing configuration, for example an API key.

    Example:
        >>> str(ConfigurationError("no ENS API key"))
        'no ENS API key'
    """


class StoreError(EnstoolkitError):
    """A record file (journal, erasure record, consent change log, ...) cannot be used as it is; names the file
    and what to do. The file is left untouched: never replaced by a fresh empty one.

    Attributes:
        path: the file.
        problem: what is wrong ("written by a newer version", "damaged", "read-only", ...).
        fix: what to do about it.

    Example:
        >>> error = StoreError("/data/journal.sqlite3", "it is damaged", "restore it from a backup")
        >>> str(error)
        '/data/journal.sqlite3: it is damaged; restore it from a backup. The file was left as it is.'
    """

    def __init__(self, path: Any, problem: str, fix: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}; {fix}. The file was left as it is.")


class MissingExtra(EnstoolkitError, ImportError):
    """A part of the toolkit needs an optional extra that is not installed; names the pip command.

    Example:
        >>> str(MissingExtra("sandbox", "the local sandbox"))
        "the local sandbox needs the [sandbox] extra: pip install 'enstoolkit[sandbox]'"
    """

    def __init__(self, extra: str, what: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs the [{extra}] extra: pip install 'enstoolkit[{extra}]'")


class TransportError(EnstoolkitError):
    """The server could not be reached, or the connection failed, after any retries.

    Attributes:
        maybe_sent: False when the request certainly never reached the server (the connection
            could not be made), True when it may have been acted on (the answer was lost).

    Example:
        >>> str(TransportError("ENS", "GET", "/supporter/1", "connection refused", maybe_sent=False))
        'ENS GET /supporter/1 failed: connection refused'
    """

    def __init__(self, service: str, method: str, path: str, reason: str, *, maybe_sent: bool = True) -> None:
        self.service = service
        self.method = method
        self.path = path
        self.reason = reason
        self.maybe_sent = maybe_sent
        super().__init__(f"{service} {method} {path} failed: {reason}")


class APIError(EnstoolkitError):
    """The API answered with an error.

    Attributes:
        service: ``"ENS"`` or ``"Encharge"``.
        status_code: the HTTP status.
        message: the vendor's own message (secrets redacted).
        message_id: ENS's ``messageId`` or Encharge's ``errorCode``, if given.
        developer_message: ENS's ``developerMessage``, if given.
        method, path: the request (path with secrets redacted).

    Example:
        >>> e = APIError("ENS", 400, "Failed to get pages", message_id=-1767273746)
        >>> str(e)
        'ENS answered 400: Failed to get pages (messageId -1767273746)'
    """

    def __init__(
        self,
        service: str,
        status_code: int,
        message: str,
        *,
        message_id: int | str | None = None,
        developer_message: str | None = None,
        method: str = "",
        path: str = "",
        body: Any = None,
    ) -> None:
        self.service = service
        self.status_code = status_code
        self.message = message
        self.message_id = message_id
        self.developer_message = developer_message or None
        self.method = method
        self.path = path
        self.body = body
        text = f"{service} answered {status_code}: {message}"
        if message_id is not None:
            text += f" (messageId {message_id})" if service == "ENS" else f" (errorCode {message_id})"
        super().__init__(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.service!r}, {self.status_code}, {self.message!r})"


class AuthenticationError(APIError):
    """ENS or Encharge refused the credentials or the session.

    Example:
        >>> issubclass(InvalidSessionToken, AuthenticationError)
        True
    """


class InvalidAPIKey(AuthenticationError):
    """ENS: "Invalid api key [...]" (the key is wrong, or sent to the wrong datacenter).

    Example:
        >>> str(InvalidAPIKey("ENS", 401, "Invalid api key [***]", message_id=10000000))
        'ENS answered 401: Invalid api key [***] (messageId 10000000)'
    """


class UserNotFound(AuthenticationError):
    """ENS: "A user was not found for api key[...]. Please contact support".

    Example:
        >>> str(UserNotFound("ENS", 401, "A user was not found for api key[***]. Please contact support"))
        'ENS answered 401: A user was not found for api key[***]. Please contact support'
    """


class UnregisteredSourceAddress(AuthenticationError):
    """ENS: "Authentication call is being made from an unregistered source address...".

    Example:
        >>> e = UnregisteredSourceAddress("ENS", 401, "Authentication call ... unregistered source address")
        >>> e.status_code, isinstance(e, AuthenticationError)
        (401, True)
    """


class InactiveUser(AuthenticationError):
    """ENS: "The user specified by api key [...] is not active or does not have access to EN services".

    Example:
        >>> e = InactiveUser("ENS", 401, "The user specified by api key [***] is not active", message_id=10000003)
        >>> str(e)
        'ENS answered 401: The user specified by api key [***] is not active (messageId 10000003)'
    """


class RateLimitExceeded(APIError):
    """The request limit is used up (after waiting out any ``Retry-After`` the API allowed).

    ENS sends its hourly limit ("... has exceeded its api limit") as a 401; Encharge and
    most other APIs send a 429, often with ``Retry-After``.

    Attributes:
        retry_after: seconds to wait, when the API says so (else ``None``).

    Example:
        >>> e = RateLimitExceeded("Encharge", 429, "Too many requests", retry_after=30.0)
        >>> str(e), e.retry_after
        ('Encharge answered 429: Too many requests', 30.0)
    """

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class InvalidSessionToken(AuthenticationError):
    """ENS: "Invalid ens-auth-token" (expired or retired); the client re-authenticates once.

    Example:
        >>> str(InvalidSessionToken("ENS", 401, "Invalid ens-auth-token", message_id=10000006))
        'ENS answered 401: Invalid ens-auth-token (messageId 10000006)'
    """


class PermissionDenied(APIError):
    """The API user lacks a permission for this request ("ApiUser does not have adequate permissions", 403).

    Not an authentication error: the credentials are good, and other requests may succeed,
    so a bulk run fails the one item rather than stopping.

    Example:
        >>> str(PermissionDenied("ENS", 403, "ApiUser does not have adequate permissions"))
        'ENS answered 403: ApiUser does not have adequate permissions'
    """


class NotFoundError(APIError):
    """The resource does not exist (for example an unknown page id).

    Example:
        >>> str(NotFoundError("ENS", 404, "Unable to find an page with pageId 999", message_id=353979450))
        'ENS answered 404: Unable to find an page with pageId 999 (messageId 353979450)'
    """


class BadRequestError(APIError):
    """The API rejected the request as malformed (HTTP 400/422).

    Example:
        >>> str(BadRequestError("Encharge", 400, "Person not found.", message_id=10082))
        'Encharge answered 400: Person not found. (errorCode 10082)'
    """


class ServerError(APIError):
    """The API failed (HTTP 5xx) and retries, where allowed, did not help.

    Example:
        >>> str(ServerError("Encharge", 503, "The service is temporarily unavailable"))
        'Encharge answered 503: The service is temporarily unavailable'
    """


class PageProcessingError(APIError):
    """ENS processed a page request and answered ``status: ERROR`` (for example a declined card).

    Attributes:
        result: the full response body ENS sent.

    Example:
        >>> e = PageProcessingError("Transaction declined by the payment gateway: card declined", {"status": "ERROR"})
        >>> str(e), e.result["status"]
        ('ENS answered 200: Transaction declined by the payment gateway: card declined', 'ERROR')
    """

    def __init__(self, message: str, result: dict[str, Any], **kwargs: Any) -> None:
        super().__init__("ENS", 200, message, body=result, **kwargs)
        self.result = result


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every secret found in ``text`` with ``***``.

    Example:
        >>> redact("Invalid api key [abc-123]", ["abc-123"])
        'Invalid api key [***]'
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            # also the escaped forms a library may print (repr of str or bytes)
            for form in {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "replace"))[2:-1]}:
                text = text.replace(form, "***")
    return text
