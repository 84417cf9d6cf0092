"""The process panel: submit ENS pages (sign-ups, opt-ins, petitions, donations, advocacy)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import polars as pl

from ..ens import ENSClient
from ..errors import ValidationError
from ..inputs.people_args import rows_frame
from ._base import STYLE, Budget, ExportBar, Panel, ResumeBar
from .actions import PAGE_KINDS, PageForm, auto_mapping, outcome_summary, page_form, preview_process, process_rows
from .grid import Grid

SKIP = "(not sent)"


class ProcessPanel(Panel):
    """Process an ENS page for one supporter, or for a batch from a frame.

    The form follows the page: the account's fields, its opt-in questions as checkboxes
    (ticked ones are sent as "Y"; unticked ones are not sent), donation fields only on
    donation pages, the message only on advocacy pages. Preview, then confirm.

    Attributes:
        pages: The listed pages.
        form: The chosen page's form.
        batch: Rows for a batch.
        preview: The preview, one row per supporter.
        results: The results, one row per supporter.
        status: The status line's text.

    Example:
        >>> panel = ProcessPanel()
        >>> panel.page_type.value = "dcf"
        >>> panel.page.value = 100
        >>> panel.inputs["Email Address"].value = "joe.smith@noaddress.com"
        >>> panel.demo.value = True
        >>> panel.preview_button.click(); panel.confirm.click()
        >>> panel.results.item(0, "status")
        'done'
    """

    def __init__(self, ens: ENSClient | None = None, batch: Any = None) -> None:
        super().__init__()
        if ens is None:
            from ..config.connect import connect

            ens = connect().ens
        self.ens = ens
        self.pages = pl.DataFrame()
        self.form: PageForm | None = None
        self.batch = pl.DataFrame()
        self.preview = pl.DataFrame()
        self.results = pl.DataFrame()
        self.inputs: dict[str, w.Text] = {}
        self.optin_boxes: dict[str, w.Checkbox] = {}
        self.mapping_boxes: dict[str, w.Dropdown] = {}

        self.page_type = w.Dropdown(options=[(label, key) for key, label in PAGE_KINDS.items()], value="dcf",
                                    description="Page type")
        self.page_status = w.Dropdown(options=[("any", None), ("live", "live"), ("new", "new"), ("tested", "tested"),
                                               ("closed", "close")], value=None, description="Status")
        self.page = w.Dropdown(options=[], description="Page", layout=w.Layout(width="460px"))
        self.mode = w.ToggleButtons(options=[("One supporter", "single"), ("Batch from selection", "batch")],
                                    value="single")
        self.demo = w.Checkbox(value=False, description="Demo mode (nothing recorded as live)", indent=False)
        self.suppress = w.Checkbox(value=False, description="Suppress autoresponder email", indent=False)
        self.amount = w.FloatText(value=10.0, description="Amount")
        self.currency = w.Dropdown(options=["GBP", "USD", "EUR", "CAD", "AUD"], value="GBP", description="Currency")
        self.payment_type = w.Dropdown(options=["VISA", "MASTERCARD", "AMEX"], value="VISA", description="Card type")
        self.card_number = w.Password(description="Card no.")
        self.card_expiry = w.Text(placeholder="MM/YYYY", description="Expiry")
        self.card_cvv = w.Password(description="CVV")
        self.recurring = w.Checkbox(value=False, description="Monthly", indent=False)
        self.subject = w.Text(description="Subject", layout=w.Layout(width="460px"))
        self.message = w.Textarea(description="Message", layout=w.Layout(width="460px", height="90px"))
        self.preview_button = w.Button(description="Preview", icon="eye")
        self.confirm = w.Button(description="Confirm", button_style="warning", icon="check", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress",
                                      layout=w.Layout(visibility="hidden"))
        self.budget = Budget(ens)
        self.summary = w.HTML()
        self.resume = ResumeBar(self, lambda: {"ens": self.ens})
        self.form_box = w.VBox()
        self.batch_box = w.VBox()
        self.table = Grid(columns=["row", "email", "status", "supporterId", "error"])
        self.export = ExportBar(self, "process-results.csv", self._export_frame, scopes=("results", "preview"))

        self.page_type.observe(lambda _: self._run(None, self._load_pages, "Loading pages..."), names="value")
        self.page_status.observe(lambda _: self._run(None, self._load_pages, "Loading pages..."), names="value")
        self.page.observe(lambda _: self._run(None, self._load_form, "Building the form..."), names="value")
        self.mode.observe(lambda _: self._layout(), names="value")
        self.preview_button.on_click(lambda _: self._run(self.preview_button, self._preview, "Checking..."))
        self.confirm.on_click(lambda _: self._run(self.confirm, self._apply, "Submitting...", restore=False))
        # anything that changes what would be sent invalidates the preview (Confirm sends only what was previewed)
        for control in (self.demo, self.suppress, self.amount, self.mode, self.recurring, self.currency,
                        self.payment_type, self.card_number, self.card_expiry, self.card_cvv, self.subject,
                        self.message, self.page_type, self.page_status, self.page):
            control.observe(lambda _: self._invalidate(), names="value")
        self.widget = w.VBox([
            STYLE, w.HTML("<b>Process ENS pages</b>"), w.HBox([self.page_type, self.page_status]), self.page,
            self.mode, self.form_box, self.batch_box, w.HBox([self.demo, self.suppress]),
            w.HBox([self.preview_button, self.confirm, self.progress, self.budget.label]),
            self.status_html, self.summary, self.resume.widget, self.table.widget, self.export.widget,
        ])
        self._run(None, self._load_pages, "Loading pages...")
        self.set_batch(batch)

    # -- loading ----------------------------------------------------------------------------
    def _load_pages(self) -> None:
        pages = self.ens.get_pages(self.page_type.value, self.page_status.value)
        self.pages = pages
        options = [(f"{name} (#{pid}, {status})", pid)
                   for pid, name, status in pages.select("id", "name", "campaignStatus").iter_rows()]
        self.page.options = options
        self.page.value = options[0][1] if options else None
        if not options:
            self.form = None
            self.form_box.children = []
            self.show("No pages of this type and status.", "info")
        self.budget.refresh()

    def _load_form(self) -> None:
        self._invalidate()
        if self.page.value is None:
            self.form = None
            return
        self.form = page_form(self.ens, self.page.value)
        self.inputs = {name: self.inputs.get(name) or w.Text(description=name, style={"description_width": "120px"},
                                                             layout=w.Layout(width="420px"))
                       for name in self.form.fields}
        self.optin_boxes = {name: w.Checkbox(value=False, description=name, indent=False)
                            for name in self.form.optins}
        for box in [*self.inputs.values(), *self.optin_boxes.values()]:
            box.observe(lambda _: self._invalidate(), names="value")
        self._layout()
        self.show(f"Page #{self.form.page_id}: {self.form.name} ({self.form.status}).")

    def set_batch(self, frame: Any) -> None:
        """Use these rows for a batch (e.g. a search selection); columns are mapped to fields.

        A frame, or rows as :func:`enstoolkit.inputs.people_args.rows_frame` takes them (dicts, emails).

        Example:
            >>> panel = ProcessPanel()
            >>> panel.mode.value = "batch"
            >>> panel.set_batch(pl.DataFrame({"Email Address": ["a@x.org", "b@x.org"], "City": ["Leeds", "York"]}))
            >>> panel.batch.height, panel.mapping_boxes["City"].value
            (2, 'City')
        """
        self.batch = rows_frame(frame, argument="batch") if frame is not None else pl.DataFrame()
        self._layout()
        self._invalidate()

    def _layout(self) -> None:
        form = self.form
        if form is None:
            self.form_box.children = []
            self.batch_box.children = []
            return
        parts: list[w.Widget] = []
        if self.mode.value == "single":
            parts.append(w.VBox(list(self.inputs.values())))
        if self.optin_boxes:
            parts.append(w.HTML("Opt-ins (ticked ones are submitted as <b>Y</b>; unticked ones are not sent):"))
            parts.append(w.HBox(list(self.optin_boxes.values())))
        if form.donation:
            parts += [w.HBox([self.amount, self.currency, self.recurring]),
                      w.HBox([self.payment_type, self.card_number]), w.HBox([self.card_expiry, self.card_cvv])]
        if form.advocacy:
            parts += [self.subject, self.message]
        self.form_box.children = parts
        if self.mode.value == "batch":
            if self.batch.height == 0:
                self.batch_box.children = [w.HTML("<i>No rows: select supporters in Search first.</i>")]
            else:
                guess = auto_mapping(self.batch.columns, form.fields)
                self.mapping_boxes = {
                    column: w.Dropdown(options=[SKIP, *form.fields], value=guess[column] or SKIP,
                                       description=column, style={"description_width": "140px"})
                    for column in self.batch.columns
                }
                for box in self.mapping_boxes.values():
                    box.observe(lambda _: self._invalidate(), names="value")
                self.batch_box.children = [w.HTML(f"<b>{self.batch.height:,}</b> rows; map columns to fields:"),
                                           w.VBox(list(self.mapping_boxes.values()))]
        else:
            self.batch_box.children = []

    def _invalidate(self) -> None:
        if self.preview.height:
            self.preview = pl.DataFrame()
            self.summary.value = "<i>The input changed: preview again before confirming.</i>"
        self.confirm.disabled = True

    # -- preview and submit ------------------------------------------------------------------
    def _rows_and_mapping(self) -> tuple[pl.DataFrame, dict[str, str | None]]:
        assert self.form is not None
        if self.mode.value == "single":
            values = {name: box.value.strip() for name, box in self.inputs.items()}
            frame = pl.DataFrame({k: [v or None] for k, v in values.items()},
                                 schema={k: pl.String for k in values})
            return frame, {k: k for k in values}
        if self.batch.height == 0:
            raise ValidationError("batch", "no rows", "rows selected in Search (or set_batch(frame))")
        mapping = {c: (None if box.value == SKIP else box.value) for c, box in self.mapping_boxes.items()}
        return self.batch, mapping

    def transaction(self) -> dict[str, str] | None:
        """The donation fields of the form, or None on pages that take no donation.

        Example:
            >>> panel = ProcessPanel()
            >>> panel.transaction() is None   # a sign-up page takes no donation
            True
            >>> panel.page_type.value = "nd"
            >>> panel.amount.value = 10
            >>> panel.transaction()["donationAmt"]
            '10.00'
        """
        if self.form is None or not self.form.donation:
            return None
        if not self.amount.value or self.amount.value <= 0:
            raise ValidationError("amount", self.amount.value, "a positive amount")
        out = {"donationAmt": f"{self.amount.value:.2f}", "paymenttype": self.payment_type.value,
               "paycurrency": self.currency.value, "recurrpay": "Y" if self.recurring.value else "N"}
        if self.card_number.value.strip():
            out["ccnumber"] = self.card_number.value.replace(" ", "")
            out["ccexpire"] = self.card_expiry.value.strip()
            out["ccvv"] = self.card_cvv.value.strip()
        return out

    def _preview(self) -> None:
        if self.form is None:
            raise ValidationError("page", None, "a page (pick a page type and a page)")
        frame, mapping = self._rows_and_mapping()
        questions = {q: True for q, box in self.optin_boxes.items() if box.value}
        preview = preview_process(frame, mapping, self.form, questions=questions, ens=self.ens)
        if self.form.advocacy and not (self.subject.value.strip() and self.message.value.strip()):
            raise ValidationError("message", "", "a subject and a message for an advocacy page")
        self.transaction()  # checks the amount before anything is sent
        self.preview = preview
        self.results = pl.DataFrame()
        self.table.set_frame(preview)
        problems = int(preview.get_column("problem").is_not_null().sum())
        repeats = int(preview.get_column("problem").str.starts_with("same person as row").sum())
        ready = preview.height - problems
        what = "demo submissions (not recorded as live)" if self.demo.value else "LIVE submissions"
        money = ""
        if self.form.donation:
            money = f", each a donation of {self.amount.value:.2f} {self.currency.value}"
        ticked = ", ".join(questions) or "none"
        self.summary.value = (f"<b>{ready:,}</b> {what} to <b>{self.form.name}</b>{money}; opt-ins ticked: {ticked}; "
                              f"<b>{problems:,}</b> rows with problems will not be sent"
                              + (f" ({repeats:,} the same person as an earlier row)" if repeats else "")
                              + ". Press <b>Confirm</b>.")
        self.confirm.disabled = ready == 0
        self.show("Preview ready: nothing has been sent yet.", "info")

    def _apply(self) -> None:
        preview, self.preview = self.preview, pl.DataFrame()  # a second click finds nothing to do
        self.confirm.disabled = True
        if preview.height == 0 or self.form is None:
            raise ValidationError("confirm", "no preview", "a preview first (press Preview)")
        self.progress.layout.visibility = "visible"
        self.progress.max, self.progress.value = preview.height, 0

        def progress(done: int, total: int) -> None:
            self.progress.max, self.progress.value = total, done

        message = None
        if self.form.advocacy:
            message = {"subject": self.subject.value.strip(), "message": self.message.value.strip()}
        results = process_rows(self.ens, self.form, preview, transaction=self.transaction(), contact_message=message,
                               demo=self.demo.value, suppress_auto_responder=self.suppress.value,
                               on_progress=progress)
        self.results = results
        self.resume.track(results.get_column("run_id").drop_nulls().head(1).to_list()[0]
                          if results.get_column("run_id").drop_nulls().len() else None)
        self.table.set_frame(results)
        self.budget.refresh()
        counts = dict(results.group_by("status").len().iter_rows())
        self.summary.value = " · ".join(f"{k}: <b>{v:,}</b>" for k, v in sorted(counts.items()))
        text, attention = outcome_summary(results, "processed")
        self.show(text, "error" if attention else "success")

    def _export_frame(self, scope: str) -> pl.DataFrame:
        return self.results if scope == "results" else self.preview
