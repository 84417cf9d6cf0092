"""Audit checks and opt-in analysis: plain functions, frames in and frames out.

:mod:`~enstoolkit.analysis.audit` holds the checks (each returns *findings*: ``supporterId``,
``email``, ``check``, ``severity``, ``detail``) and :func:`run_audit`;
:mod:`~enstoolkit.analysis.optins` the opt-in rates and trends; :mod:`~enstoolkit.analysis.duplicates` the
probable duplicates (with :mod:`~enstoolkit.analysis.marks`, the analyst's marks) and
:mod:`~enstoolkit.analysis.contacts` the contact-quality checks.

Example:
    >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["A@x.org ", "a@x.org"]})
    >>> duplicate_supporters(ens).get_column("supporterId").to_list()
    [1, 2]
"""

from .answer_history import answer_history
from .audit import (
    CANNOT_CHECK,
    SEVERITY_ORDER,
    cannot_check,
    cannot_check_rows,
    duplicate_supporters,
    encharge_duplicates,
    erased_still_in_ens,
    invalid_emails,
    missing_fields,
    one_system_only,
    optin_state_conflicts,
    run_audit,
    stale_records,
    summarise,
    suppressed_with_optin,
)
from .contacts import contact_quality, worklist_csv
from .duplicates import duplicates_from_accounts, probable_duplicates
from .marks import NOT_SAME, SAME, duplicates_worklist, mark_pairs, read_marks
from .optins import by_acquisition, by_country, cohorts, monthly_trend, optin_rates

__all__ = [
    "CANNOT_CHECK", "NOT_SAME", "SAME", "SEVERITY_ORDER", "answer_history", "by_acquisition", "by_country",
    "cannot_check", "cannot_check_rows", "cohorts", "contact_quality", "duplicate_supporters",
    "duplicates_from_accounts", "duplicates_worklist", "encharge_duplicates", "erased_still_in_ens", "invalid_emails",
    "mark_pairs", "missing_fields", "monthly_trend", "one_system_only", "optin_rates", "optin_state_conflicts",
    "probable_duplicates", "read_marks", "run_audit", "stale_records", "summarise", "suppressed_with_optin",
    "worklist_csv",
]
