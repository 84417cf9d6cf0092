"""The checks every argument passes before a request is sent, each error naming the argument.

:mod:`enstoolkit.inputs.arguments` checks single values (ids, choices, emails, frames);
:mod:`enstoolkit.inputs.people_args` is the one rule for "people" arguments (which column holds
the email, which shapes are accepted) that every method taking people follows.

Example:
    >>> from enstoolkit.inputs import people_emails
    >>> people_emails("A@example.org; b@example.org")
    ['a@example.org', 'b@example.org']
"""

from .arguments import check_choice, is_valid_email
from .people_args import EMAIL_COLUMNS, find_email_column, people_emails, people_records, rows_frame

__all__ = ["EMAIL_COLUMNS", "check_choice", "find_email_column", "is_valid_email", "people_emails",
           "people_records", "rows_frame"]
