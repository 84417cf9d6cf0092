"""ENS pages: list them, read one, and process one as a supporter would (sign-up, petition, donation, advocacy).

Example:
    >>> ens.get_page(100).item(0, "name")
    'Newsletter Sign Up'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, Unpack

import polars as pl

from ..errors import APIError, BadRequestError, DataShapeError, NotFoundError, PageProcessingError, ValidationError
from ..http import json_or_none
from ..inputs.arguments import check_choice, check_id
from ..schemas.ens import PAGE, PROCESS_RESULT
from ..schemas.frames import read_frame
from .core import ENSCore
from .payloads import check_transaction, one_record, standard_supporter, txn_fields

__all__ = ["PAGE_STATUSES", "PAGE_TYPES", "PageMethods"]

#: Page types the ENS spec lists for GET /page (the overview names dcf, mem, ems, unsub, pet, et, nd).
PAGE_TYPES = ("dcf", "mem", "ems", "unsub", "pet", "et", "nd", "premium", "ecommerce", "survey", "sp", "ss", "sh",
              "cc", "tp", "ev", "ec", "leadgen")
PAGE_STATUSES = ("new", "live", "close", "tested", "block", "delete")

logger = logging.getLogger("enstoolkit.ens")


def _partial_result(result: Mapping[str, Any], first: DataShapeError) -> tuple[pl.DataFrame, list[str]]:
    """A SUCCESS answer with values that do not fit the schema: those columns left empty, and what they held."""
    answer = dict(result)
    problems: list[str] = []
    problem = first
    for _ in range(len(answer) + 1):
        if answer.get(problem.column) is None:  # not one value that can be set aside: nothing is guessed
            raise first
        problems.append(str(problem))
        answer[problem.column] = None
        try:
            return read_frame([answer], PROCESS_RESULT, extra=True), problems
        except DataShapeError as again:
            problem = again
    raise first



class _ProcessOptions(TypedDict, total=False):
    """The options of a page submission beside the supporter (see :meth:`ENSClient.process_page`)."""

    questions: Mapping[str, Any] | None
    transaction: Mapping[str, Any] | None
    contact_message: Mapping[str, str] | None
    standard_field_names: bool
    demo: bool
    suppress_auto_responder: bool
    tracking_id: str | None
    appeal_code: str | None
    txn: Mapping[int, str] | Iterable[str] | None


class PageMethods(ENSCore):
    """Page methods of :class:`enstoolkit.ENSClient`.

    Example:
        >>> isinstance(ens, PageMethods), ens.get_page(100).item(0, "type")
        (True, 'dc')
    """

    def get_pages(self, type: str, status: str | None = None) -> pl.DataFrame:
        """Pages of one type (GET /page), optionally of one status.

        ``type`` is the query type (dcf, mem, ems, unsub, pet, et, nd, ...); ENS answers
        with its own ``type``/``subType`` (a dcf page is type ``dc``, subType ``DCF``).

        Example:
            >>> ens.get_pages("dcf", "live").select("type", "subType").row(0)
            ('dc', 'DCF')
        """
        params = {"type": check_choice("type", type, PAGE_TYPES)}
        if status is not None:
            params["status"] = check_choice("status", status, PAGE_STATUSES)
        return read_frame(self._send("GET", "/page", params=params).content, PAGE, extra=True)

    def page_names(self, types: Iterable[str] = PAGE_TYPES) -> pl.DataFrame:
        """Every page's ``campaignId``, ``name`` and ``type``, over the page types (one GET /page each).

        Transaction exports in the dashboard style carry campaign ids but no page names: this
        gives the names (pass it to :func:`enstoolkit.analysis.by_acquisition` as ``pages``). A
        type the account's ENS refuses ("Failed to get pages") is skipped.

        Example:
            >>> ens.page_names(["pet"]).get_column("name").to_list()[0]
            'Save Our Rivers'
        """
        frames = []
        for kind in types:
            try:
                frames.append(self.get_pages(kind).select("campaignId", "name", "type"))
            except (NotFoundError, BadRequestError):
                continue
        if not frames:
            return pl.DataFrame([], schema={"campaignId": pl.Int64(), "name": pl.String(), "type": pl.String()})
        return pl.concat(frames).unique("campaignId", keep="first", maintain_order=True).sort("campaignId")

    def get_page(self, page_id: int | str) -> pl.DataFrame:
        """One page's attributes (GET /page/{id}) as a one-row frame.

        Raises :class:`~enstoolkit.errors.NotFoundError` for an unknown page.

        Example:
            >>> ens.get_page(100).item(0, "name")
            'Newsletter Sign Up'
        """
        pid = check_id("page_id", page_id)
        body = json_or_none(self._send("GET", f"/page/{pid}"))
        if not isinstance(body, Mapping):
            raise APIError("ENS", 200, "page answered without a page object", method="GET", path=f"/page/{pid}")
        return read_frame([body], PAGE, extra=True)

    def _process_body(self, supporter: Mapping[str, Any] | pl.DataFrame, **options: Unpack[_ProcessOptions]
                      ) -> dict[str, Any]:
        """The body of a page submission, checked (see :meth:`process_page` for the options); nothing is sent.

        Example:
            >>> ens._process_body({"Email Address": "a@example.org"}, demo=True)
            {'supporter': {'Email Address': 'a@example.org'}, 'demo': True}
        """
        questions, transaction = options.get("questions"), options.get("transaction")
        contact_message, txn = options.get("contact_message"), options.get("txn")
        standard_field_names = options.get("standard_field_names", False)
        demo, suppress_auto_responder = options.get("demo", False), options.get("suppress_auto_responder", False)
        tracking_id, appeal_code = options.get("tracking_id"), options.get("appeal_code")
        data = one_record(supporter, "supporter")
        # checks that need no request first: nothing goes out when the input is wrong
        checked_transaction = None
        if transaction is not None:
            checked_transaction = check_transaction(transaction, live_card_host=demo or self._live_card_host)
        if contact_message is not None and not (isinstance(contact_message, Mapping) and all(
                isinstance(contact_message.get(k), str) and str(contact_message.get(k, "")).strip()
                for k in ("subject", "message"))):
            raise ValidationError("contact_message", contact_message,
                                  "a mapping with non-empty 'subject' and 'message'")
        extra_txn = txn_fields(txn)
        if standard_field_names:
            sup = standard_supporter(data, self.get_fields().get_column("property").drop_nulls().to_list())
        else:
            sup = self._check_record(data, "supporter")
            if self.email_field not in sup:
                raise ValidationError("supporter", sorted(data), f"a supporter with {self.email_field!r}")
        merged: dict[str, Any] = dict(data.get("questions") or {})
        merged.update(questions or {})
        if merged:
            sup["questions"] = self._check_questions(merged, "questions")
        body: dict[str, Any] = {"supporter": sup}
        for flag, key in ((standard_field_names, "standardFieldNames"), (demo, "demo"),
                          (suppress_auto_responder, "suppressAutoResponder")):
            if flag:
                body[key] = True
        if tracking_id is not None:
            body["trackingId"] = str(tracking_id)
        if appeal_code is not None:
            body["appealCode"] = str(appeal_code)
        if checked_transaction is not None:
            body["transaction"] = checked_transaction
        if contact_message is not None:
            body["contactMessage"] = dict(contact_message)
        body.update(extra_txn)
        return body

    def process_page(
        self,
        page_id: int | str,
        supporter: Mapping[str, Any] | pl.DataFrame,
        *,
        questions: Mapping[str, Any] | None = None,
        transaction: Mapping[str, Any] | None = None,
        contact_message: Mapping[str, str] | None = None,
        standard_field_names: bool = False,
        demo: bool = False,
        suppress_auto_responder: bool = False,
        tracking_id: str | None = None,
        appeal_code: str | None = None,
        txn: Mapping[int, str] | Iterable[str] | None = None,
        override: str | None = None,
    ) -> pl.DataFrame:
        """Submit a page as a supporter would (POST /page/{id}/process).

        An erased or suppressed address (a tombstone) is refused before anything is sent
        (:class:`~enstoolkit.protection.Tombstoned`), unless ``override`` gives the reason (logged).

        Works for data capture (sign-up, opt-in, petition), donation and advocacy (email
        to target) pages. Never retried automatically: a repeat would sign a petition or
        charge a card twice. ENS's ``status: ERROR`` raises
        :class:`~enstoolkit.errors.PageProcessingError`.

        Args:
            page_id: the page.
            supporter: field name -> value (property names with ``standard_field_names``).
            questions: question name -> "Y"/"N" (``question.{id}`` keys also work).
            transaction: donation fields (donationAmt, paymenttype, ccnumber, ...).
            contact_message: ``{"subject": ..., "message": ...}`` for advocacy pages.
            txn: external references txn1..txn10, as a list or a mapping of number -> value.

        Example:
            >>> ens.process_page(100, {"Email Address": "joe.smith@noaddress.com", "First Name": "Joe"},
            ...                  questions={"Marketing Optin": "Y"}).item(0, "status")
            'SUCCESS'
        """
        pid = check_id("page_id", page_id)
        body = self._process_body(
            supporter, questions=questions, transaction=transaction, contact_message=contact_message,
            standard_field_names=standard_field_names, demo=demo, suppress_auto_responder=suppress_auto_responder,
            tracking_id=tracking_id, appeal_code=appeal_code, txn=txn)
        from ..protection.tombstones import check_writes

        held = body.get("supporter")
        supporter_part: Mapping[str, Any] = held if isinstance(held, Mapping) else {}
        check_writes([next((v for k, v in supporter_part.items() if k in (self.email_field, "emailAddress")), None)],
                     path="ENS page submission", override=override, client=self)
        return self._send_process(pid, body)

    def _send_process(self, page_id: int, body: Mapping[str, Any]) -> pl.DataFrame:
        """POST a checked body (from :meth:`process_body`) to a page, once; the result as a one-row frame.

        A SUCCESS answer is never lost to a value that does not fit its column (an ``amount``
        written "10.00 GBP", say): ENS has acted on it. Such values are left empty, and two
        more columns say so: ``warning`` (which field held what) and ``answer`` (ENS's whole
        answer as JSON). Any other answer that cannot be read raises.

        Example:
            >>> body = ens._process_body({"Email Address": "a@example.org"}, demo=True)
            >>> ens._send_process(110, body).item(0, "status")
            'SUCCESS'
        """
        path = f"/page/{check_id('page_id', page_id)}/process"
        result = json_or_none(self._send("POST", path, json=dict(body), retry=False))
        if not isinstance(result, Mapping):
            raise APIError("ENS", 200, "page processing answered without a result object", method="POST", path=path)
        if str(result.get("status", "")).upper() == "ERROR":
            raise PageProcessingError(self._redact(str(result.get("error") or result.get("message")
                                                      or "processing failed")), dict(result), method="POST", path=path)
        try:
            return read_frame([result], PROCESS_RESULT, extra=True)
        except DataShapeError as exc:
            if str(result.get("status", "")).upper() != "SUCCESS":
                raise
            # ENS has acted (a gift charged, a petition signed): the answer is kept, never lost to an odd value
            frame, problems = _partial_result(result, exc)
        note = (f"ENS processed it (SUCCESS), but its answer could not be read in full: {'; '.join(problems)} "
                "(left empty; ENS's whole answer is in 'answer')")
        logger.warning("POST %s: %s", path, note)
        return frame.with_columns(pl.lit(note).alias("warning"),
                                  pl.lit(self._redact(json.dumps(result, default=str))).alias("answer"))
