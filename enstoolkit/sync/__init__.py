"""Consent sync: from the audit's findings to fixes, journalled, with a change log.

- :func:`consent_plan` (:mod:`~enstoolkit.sync.plan`): what to change so that ENS and Encharge agree on
  consent, one row per change with the reason and the evidence. It never subscribes or opts anyone in.
- :func:`apply_plan` (:mod:`~enstoolkit.sync.apply`): the plan checked (a hand-edited row the rules
  would never propose is refused, naming it, before anything is sent), then carried out as one
  journalled, resumable bulk run; :func:`plan_results` reports every row.
- :func:`read_changes` / :func:`export_changes` (:mod:`~enstoolkit.sync.changelog`): every change made,
  who, when, why and on what evidence, for the organisation's data-protection records.
- :func:`plan_from_accounts` (:mod:`~enstoolkit.sync.live`): the plan from the current lists;
  :class:`ConsentWatch` (:mod:`~enstoolkit.sync.continuous`): keep consent in step, round after round.
- :func:`unsubscribe_dates` (:mod:`~enstoolkit.sync.unsubscribe_dates`): when people unsubscribed in Encharge, from
  recorded events (Encharge's records carry no date), for plans that may then opt out in ENS.

Example:
    >>> ens = pl.DataFrame({"supporterId": [1], "Email Address": ["a@x.org"], "suppressed": [True],
    ...                     "Marketing Optin": ["Y"], "Marketing Optin Date": [dt.date(2026, 1, 5)]})
    >>> enc = pl.DataFrame({"id": ["p1"], "email": ["a@x.org"], "unsubscribed": [False]})
    >>> consent_plan(ens, enc).select("system", "action", "reason").row(0)
    ('Encharge', 'unsubscribe', 'ENS: supporter 1 is suppressed; Encharge subscribed')
"""

from ..schemas import ACTIONABLE, ConsentAction
from .apply import DEFAULT_MAX_AGE, PLAN_COLUMNS, apply_plan, check_plan, execute_change, plan_results, read_plan
from .changelog import CHANGELOG_NAME, ChangeLog, changelog_path, export_changes, operator, read_changes
from .continuous import ConsentWatch, WatchRound
from .live import current_lists, known_statuses, plan_from_accounts
from .plan import (
    ACTION_ORDER,
    DEFAULT_OPTINS,
    SYSTEMS,
    UNSUBSCRIBED_AT,
    actionable,
    by_action,
    change_summary,
    check_optins,
    consent_plan,
    plan_counts,
    plan_summary,
)
from .unsubscribe_dates import (
    WEBHOOK_MARGIN,
    UnsubscribeDates,
    read_event_file,
    unsubscribe_changes,
    unsubscribe_dates,
    with_unsubscribe_dates,
)

__all__ = [
    "ACTIONABLE", "ACTION_ORDER", "CHANGELOG_NAME", "DEFAULT_MAX_AGE", "DEFAULT_OPTINS", "PLAN_COLUMNS", "SYSTEMS",
    "UNSUBSCRIBED_AT", "WEBHOOK_MARGIN", "ChangeLog", "ConsentAction", "ConsentWatch", "UnsubscribeDates",
    "WatchRound", "actionable", "apply_plan",
    "by_action", "change_summary", "changelog_path", "check_optins", "check_plan", "consent_plan", "current_lists",
    "execute_change", "export_changes", "known_statuses", "operator", "plan_counts", "plan_from_accounts",
    "plan_results", "plan_summary", "read_changes", "read_event_file", "read_plan", "unsubscribe_changes",
    "unsubscribe_dates", "with_unsubscribe_dates",
]
