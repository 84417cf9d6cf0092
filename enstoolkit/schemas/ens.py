"""The schemas of ENS's resources, declared once.

Every frame the ENS client returns gets its dtypes from here (through
:func:`enstoolkit.schemas.frames.read_frame`); nothing is inferred.

Example:
    >>> TRANSACTION["createdDate"]
    Datetime(time_unit='ms', time_zone='UTC')
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "FIELDS", "MEMBERSHIP_STRUCT", "PAGE", "PROCESS_RESULT", "QUERY_ROW", "QUESTIONS", "QUESTION_DETAIL",
    "QUESTION_STRUCT", "RECURRING", "SUPPORTER_BASE", "TRANSACTION", "UTC_MS",
]

UTC_MS = pl.Datetime("ms", "UTC")

#: GET /supporter: the two fixed keys; the account's fields follow as String.
SUPPORTER_BASE: dict[str, pl.DataType] = {"supporterId": pl.Int64(), "suppressed": pl.Boolean()}

QUESTION_STRUCT = pl.Struct({
    "id": pl.Int64, "componentId": pl.Int64, "name": pl.String, "type": pl.String, "response": pl.String,
    "modifiedOn": UTC_MS, "netdonorLogId": pl.Int64,
})

MEMBERSHIP_HISTORY_STRUCT = pl.Struct({
    "id": pl.Int64, "membershipName": pl.String, "termStartDate": UTC_MS, "termEndDate": UTC_MS,
    "membershipCost": pl.Float64, "membershipPaid": pl.Float64, "createdOn": UTC_MS,
})

MEMBERSHIP_STRUCT = pl.Struct({
    "id": pl.Int64, "clientId": pl.Int64, "membershipId": pl.String, "membershipName": pl.String,
    "donationId": pl.Int64, "termStartDate": UTC_MS, "termEndDate": UTC_MS, "expireDays": pl.Int64,
    "membershipPaid": pl.Float64, "membershipCost": pl.Float64, "membershipStatus": pl.String,
    "membershipState": pl.String, "members": pl.List(pl.Struct({"firstName": pl.String, "lastName": pl.String})),
    "history": pl.List(MEMBERSHIP_HISTORY_STRUCT),
})

FIELDS: dict[str, pl.DataType] = {"id": pl.Int64(), "name": pl.String(), "tag": pl.String(), "property": pl.String()}

QUESTIONS: dict[str, pl.DataType] = {"id": pl.Int64(), "questionId": pl.Int64(), "name": pl.String(),
                                     "type": pl.String()}

#: One choice of a question (checkbox, select, radio).
QUESTION_CHOICE = pl.Struct({"selected": pl.Boolean, "value": pl.String, "label": pl.String, "forId": pl.String,
                             "imageUrl": pl.String})
#: A range question's bounds (``content.rangeData``).
QUESTION_RANGE = pl.Struct({"min": pl.String, "max": pl.String, "step": pl.String, "minLabel": pl.String,
                            "maxLabel": pl.String, "showCurrent": pl.Boolean})

#: GET /supporter/questions/{id}: one row per locale; choices in ``content``, a range question's bounds in
#: ``range`` and its default in ``rangeValue``.
QUESTION_DETAIL: dict[str, pl.DataType] = {
    **QUESTIONS, "locale": pl.String(), "label": pl.String(), "htmlFieldType": pl.String(),
    "content": pl.List(QUESTION_CHOICE), "range": QUESTION_RANGE, "rangeValue": pl.String(),
}

TRANSACTION: dict[str, pl.DataType] = {
    "id": pl.Int64(), "type": pl.String(), "subtype": pl.String(), "name": pl.String(), "campaignId": pl.Int64(),
    "createdOn": pl.Date(), "createdDate": UTC_MS, "xref1": pl.String(), "xref2": pl.String(),
    "exportType": pl.String(), "txType": pl.String(), "recurringPayment": pl.Boolean(), "status": pl.String(),
    "amount": pl.Float64(), "currency": pl.String(), "broadcastId": pl.Int64(),
}

#: GET /supporter/{id}/transactions/recurring (keys from a published live answer).
RECURRING: dict[str, pl.DataType] = {
    "id": pl.Int64(), "transactionId": pl.String(), "campaignId": pl.Int64(), "amount": pl.Float64(),
    "currency": pl.String(), "paymentDay": pl.Int64(), "frequency": pl.String(), "status": pl.String(),
    "startDate": pl.Date(),
}

PAGE: dict[str, pl.DataType] = {
    "id": pl.Int64(), "campaignId": pl.Int64(), "name": pl.String(), "title": pl.String(), "type": pl.String(),
    "subType": pl.String(), "clientId": pl.Int64(), "createdOn": UTC_MS, "modifiedOn": UTC_MS,
    "campaignBaseUrl": pl.String(), "campaignStatus": pl.String(), "defaultLocale": pl.String(),
    "trackingParameters": pl.List(pl.String), "template": pl.String(),
}

#: GET /supporter/query rows (without an export group).
QUERY_ROW: dict[str, pl.DataType] = {"supporterId": pl.Int64(), "emailAddress": pl.String(), "createdOn": pl.Date(),
                                     "modifiedOn": pl.Date()}

PROCESS_RESULT: dict[str, pl.DataType] = {
    "status": pl.String(), "id": pl.Int64(), "supporterId": pl.Int64(), "supporterEmailAddress": pl.String(),
    "type": pl.String(), "transactionId": pl.String(), "error": pl.String(), "amount": pl.Float64(),
    "currency": pl.String(), "recurringPayment": pl.Boolean(), "paymentType": pl.String(),
    "recurringFrequency": pl.String(), "recurringDay": pl.Int64(), "createdOn": UTC_MS,
}
