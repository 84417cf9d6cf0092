"""ENS supporters: look up one or many, add or update, change, delete, and their transactions.

Example:
    >>> ens.get_supporter(email="nobody@example.org").height
    0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import polars as pl

from ..errors import APIError, ValidationError
from ..http import json_or_none
from ..inputs.arguments import check_email, check_id, check_int
from ..inputs.people_args import listed, listed_emails
from ..protection.tombstones import check_writes
from ..schemas.ens import MEMBERSHIP_STRUCT, QUESTION_STRUCT, RECURRING, SUPPORTER_BASE, TRANSACTION
from ..schemas.frames import empty_frame, read_frame
from .core import ENSCore
from .payloads import one_record
from .readers import transaction_dates

__all__ = ["SupporterMethods"]


def _id_from(response: httpx.Response, what: str) -> int:
    """The id in an answer; an APIError (with the answer's status) when there is none that reads as one.

    Raised after ENS acted: the bulk runner does not count it as a refusal (see ``BulkRun``).
    """
    body = json_or_none(response)
    if isinstance(body, Mapping) and body.get("id") is not None:
        value = body["id"]
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise APIError("ENS", response.status_code, f"{what} answered with an id that is not a number: {value!r}")
    raise APIError("ENS", response.status_code, f"{what} answered without an id")


def _lookup_params(questions: bool, memberships: bool) -> dict[str, str]:
    params: dict[str, str] = {}
    if questions:
        params["includeQuestions"] = "true"
    if memberships:
        params["includeMemberships"] = "true"
    return params


class SupporterMethods(ENSCore):
    """Supporter methods of :class:`enstoolkit.ENSClient`.

    Example:
        >>> isinstance(ens, SupporterMethods), ens.get_supporter(sb.ens.first_supporter_id()).height
        (True, 1)
    """

    def _supporter_schema(self, *, questions: bool = False, memberships: bool = False) -> dict[str, pl.DataType]:
        """The columns of a supporter frame: ``supporterId``, ``suppressed``, the account's fields, then
        ``questions`` and ``memberships`` when asked for.

        Example:
            >>> list(ens._supporter_schema(questions=True))[-1]
            'questions'
        """
        columns: dict[str, pl.DataType] = dict(SUPPORTER_BASE)
        for name in self.get_fields().get_column("name").to_list():
            columns.setdefault(name, pl.String())
        if questions:
            columns["questions"] = pl.List(QUESTION_STRUCT)
        if memberships:
            columns["memberships"] = pl.List(MEMBERSHIP_STRUCT)
        return columns

    def _supporter_record(self, response: httpx.Response, questions: bool, memberships: bool) -> dict[str, Any] | None:
        body = json_or_none(response) if response.status_code == 200 else None
        if not isinstance(body, Mapping) or not body:
            return None  # ENS answers 204 (or 404) for "not found"
        record = dict(body)
        if not questions:
            record.pop("questions", None)
        if not memberships:
            record.pop("memberships", None)
        return record

    def get_supporter(
        self,
        supporter_id: int | str | None = None,
        *,
        email: str | None = None,
        questions: bool = False,
        memberships: bool = False,
    ) -> pl.DataFrame:
        """One supporter by id or by email, as a frame of 0 or 1 row.

        Columns: ``supporterId``, ``suppressed``, then the account's fields (String) in
        the order GET /supporter/fields gives, then ``questions`` and ``memberships``
        (lists of structs; memberships with their ``history``) when asked for. Not found
        gives an empty frame.

        Example:
            >>> ens.get_supporter(sb.ens.first_supporter_id(), questions=True).height
            1
        """
        if (supporter_id is None) == (email is None):
            raise ValidationError("supporter_id/email", (supporter_id, email), "exactly one of supporter_id or email")
        params = _lookup_params(questions, memberships)
        if supporter_id is not None:
            path = f"/supporter/{check_id('supporter_id', supporter_id)}"
        else:
            path = "/supporter"
            params["email"] = check_email("email", email)
        columns = self._supporter_schema(questions=questions, memberships=memberships)
        record = self._supporter_record(self._send("GET", path, params=params, ok=(200, 204, 404)), questions,
                                        memberships)
        return empty_frame(columns) if record is None else read_frame([record], columns, extra=True)

    def get_supporters(
        self,
        *,
        ids: Iterable[int | str] | None = None,
        emails: Iterable[str] | None = None,
        questions: bool = False,
        memberships: bool = False,
        concurrency: int = 16,
        progress: bool | None = None,
    ) -> pl.DataFrame:
        """Look up many supporters by id and/or email, up to ``concurrency`` requests at a time.

        ENS has no batch lookup, so this is one request per supporter, overlapped; the job
        is refused up front if the hourly budget cannot cover it. Supporters not found are
        absent from the frame (which has :meth:`get_supporter`'s columns).

        Example:
            >>> wanted = sorted(sb.ens.records)[:5]
            >>> ens.get_supporters(ids=wanted, emails=["nobody@example.org"])["supporterId"].to_list() == wanted
            True
        """
        lookups: list[tuple[str, Any]] = []
        if ids is not None:
            lookups += [("id", check_id("ids", i)) for i in listed(ids, argument="ids")]
        if emails is not None:
            lookups += [("email", e) for e in listed_emails(emails, argument="emails")]
        workers = check_int("concurrency", concurrency, 1, 32)
        columns = self._supporter_schema(questions=questions, memberships=memberships)
        if not lookups:
            return empty_frame(columns)
        self._ensure_budget(len(lookups), f"looking up {len(lookups):,} supporters")
        bar = None
        if progress if progress is not None else len(lookups) > 50:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(lookups), desc="ENS supporters", unit="supporter")
        params = _lookup_params(questions, memberships)

        def one(lookup: tuple[str, Any]) -> dict[str, Any] | None:
            kind, value = lookup
            path = f"/supporter/{value}" if kind == "id" else "/supporter"
            query = params if kind == "id" else {**params, "email": value}
            response = self._send("GET", path, params=query, ok=(200, 204, 404))
            if bar is not None:
                bar.update(1)
            return self._supporter_record(response, questions, memberships)

        records = [r for r in self._concurrently(one, lookups, workers) if r is not None]
        if bar is not None:
            bar.close()
        return read_frame(records, columns, extra=True)  # one frame for all: no per-row frame cost

    def upsert_supporter(self, record: Mapping[str, Any] | pl.DataFrame, *, override: str | None = None) -> int:
        """Add a supporter, or update the one with the same email (POST /supporter).

        An erased or suppressed address (a tombstone, see :mod:`enstoolkit.protection.tombstones`)
        is refused with :class:`~enstoolkit.protection.Tombstoned` before anything is sent, unless
        ``override`` gives the reason (logged).

        ``record`` is a dict (or a one-row frame) keyed by the account's field names,
        with an optional ``questions`` mapping of question name -> "Y"/"N" (True/False
        accepted). Field names are matched without case. Returns the supporter id.

        Example:
            >>> sid = ens.upsert_supporter({"Email Address": "joe.smith@noaddress.com",
            ...                             "First Name": "Joe",
            ...                             "questions": {"Marketing Optin": "Y"}})
            >>> ens.get_supporter(sid).item(0, "First Name")
            'Joe'
        """
        body = self._supporter_body(one_record(record, "record"), "record")
        check_writes([body[self.email_field]], path="ENS POST /supporter", override=override, client=self)
        return _id_from(self._send("POST", "/supporter", json=body, retry=True), "POST /supporter")

    def _supporter_body(self, data: Mapping[str, Any], argument: str) -> dict[str, Any]:
        """The body of an upsert: checked fields (the email required) and questions.

        Example:
            >>> ens._supporter_body({"email address": "a@example.org", "questions": {"SMS Optin": False}}, "r")
            {'Email Address': 'a@example.org', 'questions': {'SMS Optin': 'N'}}
        """
        body = self._check_record(data, argument)
        email_field = self.email_field
        if email_field not in body:
            raise ValidationError(argument, sorted(data), f"a record that includes {email_field!r}",
                                  detail="ENS matches supporters by email address")
        questions = self._check_questions(data.get("questions"), f"{argument}['questions']")
        if questions:
            body["questions"] = questions
        return body

    def update_supporter(self, supporter_id: int | str, fields: Mapping[str, Any], *,
                         override: str | None = None) -> int:
        """Change fields of one supporter (PUT /supporter/{id}), including their email.

        A change to an erased or suppressed address, or an opt-in answered "Y" for a supporter
        whose address is tombstoned, is refused (:class:`~enstoolkit.protection.Tombstoned`)
        unless ``override`` gives the reason (logged); opting out is always allowed.

        Example:
            >>> sid = ens.upsert_supporter({"Email Address": "old.address@example.org"})
            >>> ens.update_supporter(sid, {"Email Address": "new.address@example.org"}) == sid
            True
        """
        sid = check_id("supporter_id", supporter_id)
        data = one_record(fields, "fields")
        body = self._check_record(data, "fields")
        questions = self._check_questions(data.get("questions"), "fields['questions']")
        if questions:
            body["questions"] = questions
        if not body:
            raise ValidationError("fields", dict(data), "at least one field to change")
        if self.email_field in body:
            check_writes([body[self.email_field]], path="ENS PUT /supporter", override=override, client=self)
        if any(answer == "Y" for answer in (questions or {}).values()):
            held = self.get_supporter(sid)
            if held.height and self.email_field in held.columns:
                check_writes([held.item(0, self.email_field)], path="ENS PUT /supporter", override=override,
                             client=self)
        return _id_from(self._send("PUT", f"/supporter/{sid}", json=body), "PUT /supporter")

    def delete_supporter(self, supporter_id: int | str) -> int:
        """Delete one supporter (DELETE /supporter/{id}); returns the id.

        Raises :class:`~enstoolkit.errors.NotFoundError` when there is no such supporter.

        Example:
            >>> sid = ens.upsert_supporter({"Email Address": "leaving@example.org"})
            >>> ens.delete_supporter(sid) == sid, ens.get_supporter(sid).height
            (True, 0)
        """
        sid = check_id("supporter_id", supporter_id)
        response = self._send("DELETE", f"/supporter/{sid}", ok=(200, 204))
        return _id_from(response, "DELETE /supporter") if response.content else sid

    def get_transactions(self, supporter_id: int | str) -> pl.DataFrame:
        """A supporter's transactions (GET /supporter/{id}/transactions).

        ``createdDate`` (epoch) is a Datetime(UTC); ``createdOn`` (a slash date, where ENS sends
        it: not on live donations) a Date, read in the account's order (see
        :func:`~enstoolkit.ens.readers.transaction_dates`); columns a type does not have are
        null; keys this schema does not know are kept as String columns.

        Example:
            >>> ens.get_transactions(sb.ens.first_supporter_id()).columns[:3]
            ['id', 'type', 'subtype']
        """
        content = self._supporter_rows(supporter_id, "transactions")
        if content is None:
            return empty_frame(TRANSACTION)
        raw = read_frame(content, {**TRANSACTION, "createdOn": pl.String()}, extra=True)
        return transaction_dates(raw, self.date_order)

    def get_recurring(self, supporter_id: int | str) -> pl.DataFrame:
        """A supporter's recurring schedules (GET /supporter/{id}/transactions/recurring).

        Columns: ``id``, ``transactionId``, ``campaignId``, ``amount`` (Float64: live answers
        send it as text, "40.00"), ``currency``, ``paymentDay``, ``frequency``, ``status``
        (ACTIVE, SUSPENDED, ...), ``startDate`` (Date); keys this schema does not know are kept.

        Example:
            >>> ens.get_recurring(sb.ens.first_supporter_id()).columns[:3]
            ['id', 'transactionId', 'campaignId']
        """
        content = self._supporter_rows(supporter_id, "transactions/recurring")
        return empty_frame(RECURRING) if content is None else read_frame(content, RECURRING, extra=True)

    def _supporter_rows(self, supporter_id: int | str, path: str) -> bytes | None:
        """The body of GET /supporter/{id}/``path``; ``None`` where ENS has none (204, 404 or an empty body)."""
        sid = check_id("supporter_id", supporter_id)
        response = self._send("GET", f"/supporter/{sid}/{path}", ok=(200, 204, 404))
        return response.content if response.status_code == 200 and response.content else None

    def suppress_supporters(self, emails: Iterable[str], *, suppressed: bool = True) -> int:
        """Set supporters' ``suppressed`` flag by email (PUT /supporter/bulk, 200 a request); how many ENS changed.

        ENS documents this endpoint as "currently limited to the field 'suppressed'": a
        suppressed supporter receives no email. ``suppressed=False`` lifts it, which re-subscribes
        a person: an address that is tombstoned (erased or suppressed on request) is refused then.

        Example:
            >>> email = "quiet@example.org"
            >>> _ = ens.upsert_supporter({"Email Address": email})
            >>> ens.suppress_supporters([email, "nobody@example.org"])
            1
        """
        if not isinstance(suppressed, bool):
            raise ValidationError("suppressed", suppressed, "True or False")
        wanted = [check_email("emails", e) for e in listed(emails, argument="emails")]
        if not wanted:
            raise ValidationError("emails", emails, "at least one email address")
        if not suppressed:
            check_writes(wanted, path="ENS PUT /supporter/bulk", client=self)
        affected = 0
        for start in range(0, len(wanted), 200):
            body = {"field": "suppressed", "value": "Y" if suppressed else "N",
                    "campaigners": wanted[start:start + 200]}
            answer = json_or_none(self._send("PUT", "/supporter/bulk", json=body, retry=True))
            if isinstance(answer, bool) or not isinstance(answer, int | float):
                raise APIError("ENS", 200, f"PUT /supporter/bulk answered {answer!r}, not the number of supporters")
            affected += int(answer)
        return affected

