"""Every schema of the toolkit, declared once: ENS's and Encharge's resources, and the toolkit's own frames.

Frames get their dtypes from here and nowhere else: the clients hand these schemas to
:func:`enstoolkit.schemas.frames.read_frame`, the result frames to :func:`enstoolkit.schemas.frames.build_frame`.
:data:`SCHEMAS` lists them all by name.

Example:
    >>> from enstoolkit.schemas import SCHEMAS
    >>> SCHEMAS["ens.query_row"]["supporterId"]
    Int64
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from . import encharge, ens, results
from .status import ACTIONABLE, ConsentAction, ItemState, Outcome, RunStatus, Severity, StatusSource

__all__ = ["ACTIONABLE", "SCHEMAS", "ConsentAction", "ItemState", "Outcome", "RunStatus", "Severity", "StatusSource",
           "encharge", "ens", "results"]

SCHEMAS: Mapping[str, Mapping[str, pl.DataType]] = {
    "ens.supporter": ens.SUPPORTER_BASE, "ens.fields": ens.FIELDS, "ens.questions": ens.QUESTIONS,
    "ens.question_detail": ens.QUESTION_DETAIL, "ens.transaction": ens.TRANSACTION, "ens.page": ens.PAGE,
    "ens.query_row": ens.QUERY_ROW, "ens.process_result": ens.PROCESS_RESULT,
    "encharge.person": encharge.PERSON, "encharge.tag": encharge.TAG, "encharge.field": encharge.FIELD,
    "encharge.segment": encharge.SEGMENT, "encharge.account": encharge.ACCOUNT,
    "encharge.subscription": encharge.SUBSCRIPTION, "encharge.event": encharge.EVENT,
    "result.person": results.PERSON_RESULT, "result.tag_preview": results.TAG_PREVIEW,
    "result.process_row": results.PROCESS_ROW_RESULT, "result.process_preview": results.PROCESS_PREVIEW,
    "journal.run": results.RUN, "journal.item": results.ITEM, "audit.findings": results.FINDINGS,
    "erasure": results.ERASURE, "sync.plan": results.CONSENT_PLAN, "sync.result": results.CONSENT_RESULT,
    "sync.change": results.CONSENT_CHANGE,
}
