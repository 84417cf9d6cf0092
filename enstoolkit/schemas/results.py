"""The schemas of the toolkit's own frames: per-row results, previews, journal rows, findings, erasures.

Status columns hold the values of :mod:`enstoolkit.schemas.status`.

Example:
    >>> list(PERSON_RESULT)[:3]
    ['email', 'id', 'userId']
"""

from __future__ import annotations

import polars as pl

from .ens import UTC_MS

__all__ = ["ERASURE", "FINDINGS", "ITEM", "PERSON_RESULT", "PROCESS_ROW_RESULT", "RUN", "TAG_PREVIEW"]

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
                                   "erasedAt": UTC_MS, "accountId": pl.Int64()}
