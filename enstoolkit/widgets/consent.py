"""The consent panel: bring consent in ENS and Encharge into agreement, with a plan, a preview and a confirmation.

The panel only wires buttons to :mod:`enstoolkit.sync` (``plan_from_accounts``, ``apply_plan``,
``plan_results``, ``read_changes``): the rules and the checks are there.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import polars as pl

from ..config.settings import SANDBOX_DEFAULTS
from ..encharge import EnchargeClient
from ..ens import ENSClient
from ..errors import ValidationError
from ..sync import (
    ACTION_ORDER,
    actionable,
    apply_plan,
    by_action,
    change_summary,
    operator,
    plan_counts,
    plan_results,
    read_changes,
)
from ..sync.live import DEFAULT_QUERY, plan_from_accounts
from ._base import STYLE, Budget, ExportBar, Panel, ResumeBar, clients
from .grid import Grid

#: The plan's columns shown at first (the evidence included; the rest are one click away).
SHOWN = ["email", "supporterId", "system", "action", "question", "reason", "ensAnswer", "ensAnswerDate",
         "suppressed", "enchargeUnsubscribed", "statusSource", "unsubscribedAt", "erasedAt", "status", "error"]


def _same_frame(a: pl.DataFrame, b: Any) -> bool:
    """Whether ``b`` is a frame with the same columns, types and rows as ``a`` (nulls equal)."""
    return isinstance(b, pl.DataFrame) and a.schema == b.schema and a.equals(b, null_equal=True)


class ConsentPanel(Panel):
    """Make ENS and Encharge agree on consent: build the plan from the current lists, look at it by action,
    preview what would be sent, confirm.

    Only unsubscribes (Encharge) and opt-outs (ENS) are ever sent; ``review`` and ``cannot check``
    rows are shown with their evidence, for a person to decide. Confirm stays disabled until the
    changes were previewed, and applies the plan exactly as it was previewed: if ``plan`` was
    changed since, it sends nothing and asks for a new preview. A second click does nothing.

    Attributes:
        plan: the last plan; ``preview``: the changes previewed (what Confirm sends);
        ``results``: one row per plan row after applying; ``run``: the journalled run; ``status``.

    Example:
        >>> panel = ConsentPanel()
        >>> panel.build_button.click()
        >>> panel.preview_button.click()
        >>> panel.confirm.disabled
        False
    """

    def __init__(self, ens: ENSClient | None = None, encharge: EnchargeClient | None = None, *,
                 query: str | None = None, optins: list[str] | None = None) -> None:
        super().__init__()
        ens, encharge = clients(ens, encharge)
        self.ens = ens
        self.encharge = encharge
        self.plan = pl.DataFrame()
        self.preview = pl.DataFrame()
        self._previewed = pl.DataFrame()  # the plan as it was previewed: what Confirm applies
        self.results = pl.DataFrame()
        self.run: Any = None

        self.query = w.Text(value=query or DEFAULT_QUERY, description="Export query",
                            style={"description_width": "100px"}, layout=w.Layout(width="380px"))
        self.optins = w.SelectMultiple(options=[], rows=4, description="Opt-ins", style={"description_width": "100px"},
                                       layout=w.Layout(width="380px"))
        self.by = w.Text(value=operator(), description="Changes by", style={"description_width": "100px"},
                         layout=w.Layout(width="380px"))
        self.build_button = w.Button(description="Build plan", icon="refresh", button_style="primary")
        self.building = w.IntProgress(value=0, min=0, max=3, description="Reading",
                                      layout=w.Layout(visibility="hidden"))
        self.counts = w.HTML()
        self.action = w.ToggleButtons(options=[("all", "all"), *[(str(a), str(a)) for a in ACTION_ORDER]],
                                      value="all", description="Show", style={"button_width": "110px"})
        self.preview_button = w.Button(description="Preview changes", icon="eye", disabled=True)
        self.confirm = w.Button(description="Confirm", button_style="warning", icon="check", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress",
                                      layout=w.Layout(visibility="hidden"))
        self.budget = Budget(ens)
        self.summary = w.HTML()
        self.resume = ResumeBar(self, lambda: {"ens": self.ens, "encharge": self.encharge})
        self.table = Grid(columns=SHOWN)
        self.export = ExportBar(self, "consent-plan.csv", self._export_frame, scopes=("plan", "results", "changes"))

        self.build_button.on_click(lambda _: self._run(self.build_button, self._build, "Building the plan..."))
        self.preview_button.on_click(lambda _: self._run(self.preview_button, self._preview, "Previewing..."))
        self.confirm.on_click(lambda _: self._run(self.confirm, self._apply, "Applying...", restore=False))
        self.action.observe(lambda _: self._show_rows(), names="value")
        for control in (self.query, self.optins):
            control.observe(lambda _: self._invalidate(), names="value")
        self.widget = w.VBox([
            STYLE, w.HTML("<b>Consent: make ENS and Encharge agree</b> <small>(only unsubscribes and opt-outs are "
                          "ever sent; never a subscribe or an opt-in)</small>"),
            w.HBox([w.VBox([self.query, self.by]), self.optins]),
            w.HBox([self.build_button, self.building, self.budget.label]), self.counts, self.action,
            w.HBox([self.preview_button, self.confirm, self.progress]),
            self.status_html, self.summary, self.resume.widget, self.table.widget, self.export.widget,
        ])
        self._run(None, lambda: self._load_optins(optins), "Loading the opt-in questions...")

    def _load_optins(self, wanted: list[str] | None) -> None:
        names = self.ens.optin_questions()
        self.optins.options = names
        chosen = wanted if wanted is not None else [q for q in SANDBOX_DEFAULTS["optins"] if q in names]
        unknown = [q for q in chosen if q not in names]
        if unknown:
            raise ValidationError("optins", unknown, "opt-in questions of this account: " + ", ".join(names))
        self.optins.value = tuple(chosen)
        self.show(f"{len(names)} opt-in questions in the account. Choose those governing Encharge's email, then "
                  "Build plan.")

    def _invalidate(self) -> None:
        """The settings changed: the plan must be built again before anything can be previewed or sent."""
        if self.preview.height or self.plan.height:
            self.summary.value = "<i>The settings changed: build the plan again.</i>"
        self.preview = pl.DataFrame()
        self._previewed = pl.DataFrame()
        self.confirm.disabled = True
        self.preview_button.disabled = True

    def _build(self) -> None:
        optins = list(self.optins.value)
        if not optins:
            raise ValidationError("optins", optins, "at least one opt-in question")
        self._invalidate()
        self.building.layout.visibility = "visible"
        self.building.value = 0

        def step(done: int, total: int, what: str) -> None:
            self.building.max, self.building.value = total, done
            self.show(what)

        self.plan = plan_from_accounts(self.ens, self.encharge, query=self.query.value.strip(), optins=optins,
                                       on_step=step)
        self.results = pl.DataFrame()
        self.run = None
        self.counts.value = self._counts_table()
        self._show_rows()
        self.preview_button.disabled = actionable(self.plan).height == 0
        self.budget.refresh()
        self.summary.value = html.escape(change_summary(self.plan))
        self.show("Plan ready: nothing has been sent. Look at it by action, then Preview changes.", "info")

    def _counts_table(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(a)}</td><td style='text-align:right'><b>{n:,}</b></td>"
                       f"<td><small>{html.escape(s)}</small></td></tr>"
                       for a, s, n in plan_counts(self.plan).iter_rows())
        return f"<table class='enstk-consent-counts'><tr><th>action</th><th>rows</th><th>in</th></tr>{rows}</table>"

    def _show_rows(self) -> None:
        frame = self.results if self.results.height else self.plan
        if frame.height:
            self.table.set_frame(by_action(frame, self.action.value))

    def _preview(self) -> None:
        if self.plan.height == 0:
            raise ValidationError("plan", "no plan", "a plan first (press Build plan)")
        changes = actionable(self.plan)
        if changes.height == 0:
            raise ValidationError("plan", "no changes", "a plan with unsubscribes or opt-outs to send")
        self.preview = changes
        self._previewed = self.plan.clone()  # Confirm applies exactly this plan, or nothing
        self.table.set_frame(changes)
        self.summary.value = f"{html.escape(change_summary(self.plan))} Press <b>Confirm</b> to send them."
        self.confirm.disabled = False
        self.show("Preview ready: nothing has been sent yet.", "info")

    def _apply(self) -> None:
        preview, self.preview = self.preview, pl.DataFrame()  # a second click finds nothing to do
        plan, self._previewed = self._previewed, pl.DataFrame()
        self.confirm.disabled = True
        if preview.height == 0 or plan.height == 0:
            raise ValidationError("confirm", "no preview", "a preview first (press Preview changes)")
        if not _same_frame(plan, self.plan):
            raise ValidationError("plan", "changed since the preview (nothing was sent)",
                                  "the plan that was previewed: press Preview changes again to send this one")
        self.progress.layout.visibility = "visible"
        self.progress.max, self.progress.value = plan.height, 0

        def progress(done: int, total: int) -> None:
            self.progress.max, self.progress.value = total, done

        self.run = apply_plan(plan, ens=self.ens, encharge=self.encharge, by=self.by.value.strip() or None,
                              progress=False, on_progress=progress)
        self.progress.value = self.progress.max
        results = plan_results(self.run).join(
            plan.with_row_index("row", offset=1).select(pl.col("row").cast(pl.Int64), *[
                c for c in plan.columns if c not in ("email", "supporterId", "personId", "system", "action",
                                                     "question", "reason")]), on="row", how="left")
        first = [c for c in SHOWN if c in results.columns]
        self.results = results.select(*first, *[c for c in results.columns if c not in first])
        self.resume.track(self.run.run_id)
        self._show_rows()
        self.budget.refresh()
        counts = dict(self.results.group_by("status").len().iter_rows())
        self.summary.value = " · ".join(f"{k}: <b>{v:,}</b>" for k, v in sorted(counts.items()))
        failed = sum(n for k, n in counts.items() if k not in ("done", "skipped"))
        self.show(f"Done: {counts.get('done', 0):,} changes made and logged, {counts.get('skipped', 0):,} rows "
                  f"left for review, {failed:,} not done.", "error" if failed else "success")

    def after_resume(self, run: Any) -> None:
        """After the Resume button: every row's outcome, and how the run ended.

        Example:
            >>> import tempfile, pathlib
            >>> from enstoolkit import EnchargeClient, ENSClient
            >>> from enstoolkit.bulk import Journal
            >>> from enstoolkit.sandbox import Sandbox
            >>> from enstoolkit.sync import apply_plan, consent_plan, current_lists
            >>> journal = Journal(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite3")
            >>> with Sandbox(supporters=100) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \\
            ...         EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            ...     run = apply_plan(consent_plan(*current_lists(ens, enc)), ens=ens, encharge=enc, journal=journal)
            ...     panel = ConsentPanel(ens, enc)
            ...     panel.after_resume(run)
            ...     panel.results.height == run.items().height
            True
        """
        self.run = run
        results = plan_results(run)
        first = [c for c in SHOWN if c in results.columns]
        self.results = results.select(*first, *[c for c in results.columns if c not in first])
        self._show_rows()
        counts = dict(self.results.group_by("status").len().iter_rows())
        self.summary.value = " · ".join(f"{k}: <b>{v:,}</b>" for k, v in sorted(counts.items()))
        left = sum(n for k, n in counts.items() if k not in ("done", "skipped"))
        self.show(f"Resumed run {run.run_id}: {counts.get('done', 0):,} changes made and logged, {left:,} not done.",
                  "error" if left else "success")

    def _export_frame(self, scope: str) -> pl.DataFrame:
        if scope == "results":
            results: pl.DataFrame = self.results
            return results
        if scope == "changes":
            return read_changes(run_id=self.run.run_id) if self.run is not None else pl.DataFrame()
        return self.plan
