"""The schemas of Encharge's resources, declared once.

Example:
    >>> PERSON["tags"]
    List(String)
"""

from __future__ import annotations

import polars as pl

from .ens import UTC_MS

__all__ = ["ACCOUNT", "EVENT", "FIELD", "PERSON", "SEGMENT", "SUBSCRIPTION", "TAG"]

#: People frames: these columns typed, then any custom field as String (custom fields Encharge nests
#: under ``data`` are brought to the top level). ``statusSource`` says where ``unsubscribed`` came from
#: (a :class:`~enstoolkit.schemas.status.StatusSource`); when it is "unknown", ``unsubscribed`` is null.
PERSON: dict[str, pl.DataType] = {
    "id": pl.String(), "email": pl.String(), "userId": pl.String(), "firstName": pl.String(),
    "lastName": pl.String(), "name": pl.String(), "createdAt": UTC_MS, "updatedAt": UTC_MS, "lastActivity": UTC_MS,
    "leadScore": pl.Float64(), "tags": pl.List(pl.String), "unsubscribed": pl.Boolean(), "statusSource": pl.String(),
    "validationResult": pl.String(), "validationConfidence": pl.Float64(), "isEmailDisposable": pl.Boolean(),
    "isEmailRole": pl.Boolean(),
}
TAG: dict[str, pl.DataType] = {"tag": pl.String(), "color": pl.String(), "count": pl.Int64(), "createdAt": UTC_MS,
                               "description": pl.String()}
FIELD: dict[str, pl.DataType] = {
    "name": pl.String(), "title": pl.String(), "type": pl.String(), "format": pl.String(),
    "displayType": pl.String(), "readOnly": pl.Boolean(), "array": pl.Boolean(), "enum": pl.List(pl.String),
    "tooltip": pl.String(), "firstClassField": pl.Boolean(),
}
SEGMENT: dict[str, pl.DataType] = {
    "id": pl.Int64(), "name": pl.String(), "version": pl.Int64(), "objectName": pl.String(),
    "readOnly": pl.Boolean(), "autoSegment": pl.Boolean(), "color": pl.String(), "templateId": pl.String(),
    "conditions": pl.String(),
}
ACCOUNT: dict[str, pl.DataType] = {
    "accountId": pl.Int64(), "name": pl.String(), "status": pl.String(), "peopleCount": pl.Int64(),
    "timezone": pl.String(), "site": pl.String(), "activeServices": pl.List(pl.String),
}
SUBSCRIPTION: dict[str, pl.DataType] = {"id": pl.Int64(), "eventType": pl.String(), "url": pl.String(),
                                        "eventName": pl.String()}
#: Webhook events as the listener keeps them (and changes as :mod:`enstoolkit.watch` finds them), one row
#: per person of a delivery's ``endUserData``: ``seq`` is the delivery's number (shared by its rows) and
#: ``personIndex`` the person's place in ``endUserData`` from 0 (None when the body names no one: one row);
#: (``seq``, ``personIndex``) identifies a row. ``emailSource`` says where the email came from ("event",
#: "lookup", "snapshot", or why it is missing); ``redelivery`` marks every row of a body equal to an earlier
#: one; ``body`` is the whole body as received (or, for a change a poll found, the webhook body Encharge
#: would have sent), so that no shape is lost.
EVENT: dict[str, pl.DataType] = {
    "seq": pl.Int64(), "personIndex": pl.Int64(), "receivedAt": UTC_MS, "eventType": pl.String(), "tag": pl.String(),
    "personId": pl.String(), "email": pl.String(), "emailSource": pl.String(), "userId": pl.String(),
    "unsubscribed": pl.Boolean(), "changedFields": pl.List(pl.String), "person": pl.String(),
    "eventPayload": pl.String(), "bodyHash": pl.String(), "redelivery": pl.Boolean(), "body": pl.String(),
}
