"""The emulated ENS account's configuration as a variant shapes it: field names, questions, dates, answers.

Inside, the sandbox keeps every supporter under canonical field names (those of
:data:`~enstoolkit.sandbox.data.FIELDS`); an :class:`Account` gives the names, questions and
formats the account shows to clients, and reads what clients send back in those names. The
synthetic people never change with the variant; only their shapes do.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

from .data import FIELDS, QUESTIONS, Question
from .variants import Variant

__all__ = ["PENDING_SHARE", "RANGE_QUESTION", "US_NAMES", "Account", "Draws"]

#: Per-supporter draws made so far, to hand to another copy of the account (range answers, pending opt-ins).
Draws = tuple[dict[int, str | None], dict[int, bool]]

#: The account's names for address fields on a US account (from a live integration's field list).
US_NAMES = {"Postcode": "ZIP or Postal Code", "Region": "State or Province", "Phone Number": "Mobile Phone"}
#: A range question (``content: {rangeData, value}`` in the spec), present in accounts that have one.
RANGE_QUESTION = Question(15210, 1210, "Likelihood to Recommend", "GEN", "How likely are you to recommend us?",
                          "range", tuple(str(n) for n in range(1, 11)), short_name="Recommend")
#: Of those who never answered the double opt-in, the share whose confirmation is pending.
PENDING_SHARE = 0.12
DOUBLE_OPTIN = 784


class Account:
    """Names, questions and formats of the emulated account under one :class:`Variant`."""

    def __init__(self, variant: Variant, seed: int = 0) -> None:
        self.variant = variant
        self.seed = seed
        renames = dict(US_NAMES) if variant.field_names == "us" else {}
        renames["Email Address"] = variant.email_field
        self._display = {name: renames.get(name, name) for _, name, _, _ in FIELDS}
        self._canonical = {shown.lower(): name for name, shown in self._display.items()}
        self._by_property = {prop.lower(): name for _, name, _, prop in FIELDS}
        self.questions: list[Question] = [*QUESTIONS, *([RANGE_QUESTION] if variant.range_questions else [])]
        self.question_by_id = {**{q.question_id: q for q in self.questions}, **{q.id: q for q in self.questions}}
        self.question_by_name = {q.name.lower(): q for q in self.questions}
        # Each supporter's own random draws (functions of the seed and the supporter id), kept once made.
        self._range_answers: dict[int, str | None] = {}
        self._pending: dict[int, bool] = {}

    # -- fields ------------------------------------------------------------------------------
    @property
    def email_field(self) -> str:
        """The name the account gives its email field."""
        return self._display["Email Address"]

    def display(self, canonical: str) -> str:
        """The account's name for a canonical field."""
        return self._display.get(canonical, canonical)

    def fields(self) -> list[dict[str, Any]]:
        """GET /supporter/fields: ``{id, name, tag, property}`` in the account's names."""
        return [{"id": i, "name": self.display(name), "tag": tag, "property": prop} for i, name, tag, prop in FIELDS]

    def canonical(self, key: str, *, standard: bool = False) -> str | None:
        """The canonical field a client's key names (by the account's name, or by property), or None."""
        lowered = str(key).lower()
        return self._by_property.get(lowered) if standard else self._canonical.get(lowered)

    def record_name(self, question: Question) -> str:
        """The name a supporter record gives ``question`` (its ``id`` is always the ``questionId``).

        The list's name, or with the variant ``question_names="short"`` another one, as ENS's own
        examples name question 279 "Opt-in" in a record and "Opt-in EMAIL (single)" in the list.
        """
        return question.short_name or question.name if self.variant.question_names == "short" else question.name

    def shown(self, values: Mapping[str, str]) -> dict[str, str]:
        """A supporter's canonical fields under the account's names."""
        return {self.display(name): value for name, value in values.items()}

    # -- dates ---------------------------------------------------------------------------------
    def date(self, day: dt.date) -> str:
        """A date as the account writes it (DD/MM/YYYY, or MM/DD/YYYY on a US-style account)."""
        return day.strftime("%m/%d/%Y" if self.variant.date_order == "mdy" else "%d/%m/%Y")

    # -- answers -------------------------------------------------------------------------------
    def answers(self, supporter_id: int, stored: Mapping[int, tuple[str, int]], created_ms: int
                ) -> dict[int, tuple[str, int]]:
        """The supporter's question answers as this account shows them.

        Pending double opt-ins ("P") and range answers are drawn from their own random stream
        (seeded by supporter), so the other answers are the same in every variant; an account
        with Y/N answers only does not show the pending ones at all.
        """
        out = dict(stored)
        if self.variant.optin_codes == "YNP" and DOUBLE_OPTIN not in out and self.pending(supporter_id):
            out[DOUBLE_OPTIN] = ("P", created_ms + 60_000)
        if self.variant.range_questions:
            answer = self._range_answers.get(supporter_id, "")
            if answer == "":  # drawn once per supporter: both export files and every lookup show the same
                rng = random.Random(f"range-{self.seed}-{supporter_id}")
                answer = self._range_answers[supporter_id] = str(rng.randint(1, 10)) if rng.random() < 0.25 else None
            if answer is not None:
                out[RANGE_QUESTION.question_id] = (answer, created_ms + 90_000)
        return out

    def draws(self) -> Draws:
        """The per-supporter draws made so far (range answers, pending double opt-ins), to hand to another copy
        of this account (see :meth:`keep_draws`).
        """
        return dict(self._range_answers), dict(self._pending)

    def keep_draws(self, draws: Draws) -> None:
        """Keep draws made by another copy of this account (a forked worker): the same values, not drawn again."""
        ranges, pending = draws
        self._range_answers.update(ranges)
        self._pending.update(pending)

    def pending(self, supporter_id: int) -> bool:
        """Whether this supporter's double opt-in is pending (never confirmed), in every variant."""
        found = self._pending.get(supporter_id)
        if found is None:
            found = self._pending[supporter_id] = \
                random.Random(f"pending-{self.seed}-{supporter_id}").random() < PENDING_SHARE
        return found
