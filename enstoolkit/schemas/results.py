"""The schemas of the toolkit's own frames: per-row results, previews, journal rows, findings, erasures,
consent sync plans and the consent change log.

Status columns hold the values of :mod:`enstoolkit.schemas.status`.

Example:
    >>> list(PERSON_RESULT)[:3]
    ['email', 'id', 'userId']
"""

from __future__ import annotations

import polars as pl

from .ens import UTC_MS

__all__ = ["CONSENT_CHANGE", "CONSENT_EVIDENCE", "CONSENT_PLAN", "CONSENT_RESULT", "ERASURE", "FINDINGS", "ITEM",
           "PERSON_RESULT", "PROCESS_ROW_RESULT", "RUN", "TAG_PREVIEW"]

#: One row per person of an Encharge action (tagging, deleting); ``status`` is an Outcome.
PERSON_RESULT: dict[str, pl.DataType] = {
    "email": pl.String(), "id": pl.String(), "userId": pl.String(), "action": pl.String(),
    "tags": pl.List(pl.String), "status": pl.String(), "http_status": pl.Int64(), "error": pl.String(),
}
TAG_PREVIEW: dict[str, pl.DataType] = {
    "email": pl.String(), "id": pl.String(), "in_encharge": pl.Boolean(), "current_tags": pl.List(pl.String),
    "action": pl.String(), "tags": pl.List(pl.String), "change": pl.String(),
}
#: One row per input row of a page-processing batch; ``status`` is an Outcome, ``ens_status`` ENS's own.
PROCESS_ROW_RESULT: dict[str, pl.DataType] = {
    "row": pl.Int64(), "email": pl.String(), "status": pl.String(), "ens_status": pl.String(),
    "supporterId": pl.Int64(), "transactionId": pl.String(), "amount": pl.Float64(), "error": pl.String(),
    "run_id": pl.String(),
}
PROCESS_PREVIEW: dict[str, pl.DataType] = {"row": pl.Int64(), "email": pl.String(), "supporter": pl.String(),
                                           "questions": pl.String(), "problem": pl.String()}
RUN: dict[str, pl.DataType] = {
    "run_id": pl.String(), "kind": pl.String(), "status": pl.String(), "note": pl.String(), "items": pl.Int64(),
    "done": pl.Int64(), "pending": pl.Int64(), "unknown": pl.Int64(), "failed": pl.Int64(), "created_at": UTC_MS,
    "updated_at": UTC_MS, "params": pl.String(),
}
ITEM: dict[str, pl.DataType] = {
    "run_id": pl.String(), "seq": pl.Int64(), "key": pl.String(), "state": pl.String(), "attempts": pl.Int64(),
    "payload": pl.String(), "result": pl.String(), "error": pl.String(), "updated_at": UTC_MS,
}
FINDINGS: dict[str, pl.DataType] = {"supporterId": pl.Int64(), "email": pl.String(), "check": pl.String(),
                                    "severity": pl.String(), "detail": pl.String()}
ERASURE: dict[str, pl.DataType] = {"email": pl.String(), "id": pl.String(), "userId": pl.String(),
                                   "erasedAt": UTC_MS, "accountId": pl.Int64(),
                                   "pending": pl.Boolean()}

#: What a consent decision rests on: the ENS answer and its date (the export's "<question> Date"), the
#: suppression, Encharge's status and where it came from, when Encharge's unsubscribe happened (when
#: known) and when the toolkit erased the person from Encharge.
CONSENT_EVIDENCE: dict[str, pl.DataType] = {
    "ensAnswer": pl.String(), "ensAnswerDate": pl.Date(), "suppressed": pl.Boolean(),
    "enchargeUnsubscribed": pl.Boolean(), "statusSource": pl.String(), "unsubscribedAt": UTC_MS,
    "erasedAt": UTC_MS,
}
#: One row per change a consent sync proposes (``action`` is a :class:`~enstoolkit.schemas.status.ConsentAction`,
#: ``system`` "ENS" or "Encharge"), with the evidence; ``plannedAt`` is when the plan was made.
CONSENT_PLAN: dict[str, pl.DataType] = {
    "email": pl.String(), "supporterId": pl.Int64(), "personId": pl.String(), "system": pl.String(),
    "action": pl.String(), "question": pl.String(), "reason": pl.String(), **CONSENT_EVIDENCE,
    "plannedAt": UTC_MS,
}
#: One row per plan row after applying it: ``status`` an Outcome, the journal's ``run_id`` and item ``seq``.
CONSENT_RESULT: dict[str, pl.DataType] = {
    "row": pl.Int64(), "email": pl.String(), "supporterId": pl.Int64(), "personId": pl.String(),
    "system": pl.String(), "action": pl.String(), "question": pl.String(), "status": pl.String(),
    "error": pl.String(), "reason": pl.String(), "run_id": pl.String(), "seq": pl.Int64(),
}
#: The consent change log: one row per change made (never per change planned): who was changed and by whom,
#: when (UTC, the changed system's clock), where, what, why and on what evidence.
CONSENT_CHANGE: dict[str, pl.DataType] = {
    "changedAt": UTC_MS, "by": pl.String(), "email": pl.String(), "supporterId": pl.Int64(),
    "personId": pl.String(), "system": pl.String(), "action": pl.String(), "question": pl.String(),
    "reason": pl.String(), **CONSENT_EVIDENCE, "run_id": pl.String(), "plan_id": pl.String(), "row": pl.Int64(),
}
