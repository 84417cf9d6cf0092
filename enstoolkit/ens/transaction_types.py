"""What each transaction type is: the one table the analyses read to know a page submission from the rest.

ENS names transaction types two ways: the export file's codes (``FCS``, ``PET``, ``EBC``, ``QCB``,
... one page per code in the vendor's export documentation) and the REST history's words (``dc``,
``nd``, ``et``, ``EMAIL``, ...). Only a **page submission** (a donation, a petition signature, a
data-capture form, an email to a target) can acquire a supporter. Broadcasts (``EBC``), automation
emails (``MBC``), question answers (``QCB``, ``CQS``, ``QMR``), unsubscribes (``UNS``), API creates
(``SSC``) and account-level rows (``PSTE``) cannot. A code in neither list is *unknown*: kept in
every frame, and never taken for a page or for a non-page (the analyses say they cannot tell).

Example:
    >>> type_kind("PET"), type_kind("EBC"), type_kind("XYZ")
    ('petition', 'email broadcast', None)
    >>> is_page_submission("FCS"), is_page_submission("QCB"), is_page_submission("XYZ") is None
    (True, False, True)
"""

from __future__ import annotations

import polars as pl

__all__ = ["ANSWER_TYPES", "DONATION_TYPES", "RECURRING_TYPES", "TRANSACTION_TYPES", "is_page_submission",
           "type_kind", "type_table"]

#: code -> (kind, page submission?, what the vendor documents). Export codes first, then the REST history's words.
TRANSACTION_TYPES: dict[str, tuple[str, bool, str]] = {
    # donations (export)
    "FCS": ("donation", True, "single credit card donation"),
    "FCR": ("donation", True, "recurring credit card donation"),
    "FBS": ("donation", True, "single bank donation"),
    "FBR": ("donation", True, "recurring bank donation"),
    "FUR": ("donation", True, "donation (recurring update)"),
    "FIM": ("donation", True, "donation (imported)"),
    # peer-to-peer (export)
    "ACS": ("peer-to-peer donation", True, "peer-to-peer single donation"),
    "ACC": ("peer-to-peer donation", True, "peer-to-peer donation"),
    "PFCS": ("peer-to-peer donation", True, "peer-to-peer fundraiser single donation"),
    "PFCR": ("peer-to-peer donation", True, "peer-to-peer fundraiser recurring donation"),
    "PFTC": ("peer-to-peer donation", True, "peer-to-peer team donation"),
    "PSTE": ("account-level row", False, "a peer-to-peer site: Supporter ID 0, no email"),
    # advocacy and data capture (export)
    "PET": ("petition", True, "petition signature"),
    "DCF": ("data capture", True, "data capture form"),
    "ETT": ("email to target", True, "email to target"),
    "EMS": ("email to target", True, "email to target (email message)"),
    # not page submissions (export)
    "UNS": ("unsubscribe", False, "unsubscribe form"),
    "EBC": ("email broadcast", False, "email broadcast: one row per engagement (received, open, click)"),
    "MBC": ("automation email", False, "marketing automation email: one row per engagement"),
    "QCB": ("question answer", False, "question checkbox: the answer (Y, N, P or D) in Campaign Status"),
    "CQS": ("question answer", False, "question with confirmation: Y, N or P (pending) in Campaign Status"),
    "QMR": ("question answer", False, "question answer (multiple choice or range) in Campaign Status"),
    "SSC": ("API create", False, "API service supporter create (POST /supporter): no page"),
    # the REST history's words (GET /supporter/{id}/transactions)
    "dc": ("data capture", True, "data capture page (petition, sign-up, survey)"),
    "nd": ("donation", True, "donation page"),
    "et": ("email to target", True, "email to target page"),
    "ec": ("page", True, "ecommerce page"),
    "ev": ("page", True, "event page"),
    "sp": ("page", True, "supporter hub page"),
    "cc": ("page", True, "click to call page"),
    "tp": ("page", True, "tweet to target page"),
    "EMAIL": ("email broadcast", False, "an email received (REST history)"),
    "UNSUB": ("unsubscribe", False, "unsubscribe page (data capture subtype)"),
}

#: Types whose rows are gifts: amount and currency in ``Campaign Data 4`` and ``5``.
DONATION_TYPES = frozenset(c for c, (kind, _, _) in TRANSACTION_TYPES.items()
                           if kind in ("donation", "peer-to-peer donation") and c.isupper())
#: Recurring gifts.
RECURRING_TYPES = frozenset({"FCR", "FBR", "PFCR"})
#: Question answers: the question's number in ``Campaign Number``, its name in ``Campaign ID``, the answer in
#: ``Campaign Status``.
ANSWER_TYPES = frozenset({"QCB", "CQS", "QMR"})


def type_kind(code: str | None) -> str | None:
    """What a type code is ("donation", "petition", "email broadcast", ...), or None for a code not in the table.

    Example:
        >>> type_kind("MBC"), type_kind("nd")
        ('automation email', 'donation')
    """
    entry = TRANSACTION_TYPES.get(str(code or "").strip())
    return entry[0] if entry else None


def is_page_submission(code: str | None) -> bool | None:
    """True for a page submission (can acquire a supporter), False for the rest, None for an unknown code.

    Example:
        >>> is_page_submission("DCF"), is_page_submission("SSC"), is_page_submission("SBC")
        (True, False, None)
    """
    entry = TRANSACTION_TYPES.get(str(code or "").strip())
    return entry[1] if entry else None


def type_table() -> pl.DataFrame:
    """The table as a frame: ``type``, ``kind``, ``page_submission``, ``description`` (for docs and notebooks).

    Example:
        >>> type_table().filter(pl.col("type") == "SSC").row(0)
        ('SSC', 'API create', False, 'API service supporter create (POST /supporter): no page')
    """
    return pl.DataFrame([(code, *entry) for code, entry in TRANSACTION_TYPES.items()],
                        schema={"type": pl.String, "kind": pl.String, "page_submission": pl.Boolean,
                                "description": pl.String}, orient="row")
