"""The tag panel: tag or untag people in Encharge, with a preview and a confirmation."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import polars as pl

from ..encharge import EnchargeClient
from ..errors import ValidationError
from ..inputs.people_args import people_emails
from ._base import STYLE, ExportBar, Panel, ResumeBar
from .actions import apply_tags, outcome_summary, preview_tags, selected_people
from .grid import Grid


class TagPanel(Panel):
    """Add or remove Encharge tags for people from a search, pasted emails or a frame.

    Nothing is sent until the preview is confirmed; a second click on Confirm does nothing.

    Attributes:
        people: the people to act on (a frame with an ``email`` column).
        preview: the last preview; ``results``: the per-person outcome; ``status``.

    Example:
        >>> panel = TagPanel()
        >>> panel.emails.value = "nobody@example.org"
        >>> panel.new_tags.value = "spring-appeal"
        >>> panel.preview_button.click()
        >>> panel.preview.item(0, "change")
        'skip: not in Encharge'
    """

    def __init__(self, encharge: EnchargeClient | None = None, people: Any = None) -> None:
        super().__init__()
        if encharge is None:
            from ..config.connect import connect

            encharge = connect().encharge
        self.encharge = encharge
        self.people = pl.DataFrame({"email": []}, schema={"email": pl.String})
        self.preview = pl.DataFrame()
        self.results = pl.DataFrame()

        self.source = w.HTML()
        self.emails = w.Textarea(placeholder="or paste email addresses, one per line",
                                 layout=w.Layout(width="420px", height="80px"))
        self.account_tags = w.SelectMultiple(options=[], rows=6, description="Tags")
        self.new_tags = w.Text(placeholder="new tags, comma-separated", description="New tags")
        self.refresh_tags = w.Button(description="Reload tags", icon="refresh", layout=w.Layout(width="auto"))
        self.action = w.ToggleButtons(options=[("Add tags", "add"), ("Remove tags", "remove")], value="add")
        self.preview_button = w.Button(description="Preview", icon="eye")
        self.confirm = w.Button(description="Confirm", button_style="warning", icon="check", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress",
                                      layout=w.Layout(visibility="hidden"))
        self.summary = w.HTML()
        self.resume = ResumeBar(self, lambda: {"encharge": self.encharge})
        self.table = Grid(columns=["email", "current_tags", "change", "status", "error"])
        self.export = ExportBar(self, "tag-results.csv", self._export_frame, scopes=("results", "preview"))

        self.refresh_tags.on_click(lambda _: self._run(self.refresh_tags, self._load_tags, "Loading tags..."))
        self.preview_button.on_click(lambda _: self._run(self.preview_button, self._preview, "Looking people up..."))
        self.confirm.on_click(lambda _: self._run(self.confirm, self._apply, "Tagging...", restore=False))
        for control in (self.emails, self.account_tags, self.new_tags, self.action):
            control.observe(lambda _: self._invalidate(), names="value")
        self.widget = w.VBox([
            STYLE, w.HTML("<b>Tag people in Encharge</b>"), self.source, self.emails,
            w.HBox([self.account_tags, w.VBox([self.new_tags, self.refresh_tags])]),
            self.action, w.HBox([self.preview_button, self.confirm, self.progress]),
            self.status_html, self.summary, self.resume.widget, self.table.widget, self.export.widget,
        ])
        self._run(None, self._load_tags, "Loading tags...")
        self.set_people(people)

    def set_people(self, people: Any) -> None:
        """Act on these people, e.g. a search selection: any shape :func:`enstoolkit.inputs.people_emails` takes.

        A frame with an email column, a Series or list of emails, dicts with an email, or
        pasted text; anything else raises :class:`ValidationError` naming ``people``. The
        summary says how many rows had no email (each row's email is its first non-empty
        email column), since they are left out.

        Example:
            >>> panel = TagPanel()
            >>> panel.set_people(pl.DataFrame({"Email Address": ["a@example.org", "b@example.org"]}))
            >>> panel.people.get_column("email").to_list()
            ['a@example.org', 'b@example.org']
            >>> panel.set_people(pl.DataFrame({"email": ["a@example.org", None], "Email Address": [None, None]}))
            >>> panel.source.value
            '<b>1</b> people from the selection; <b>1</b> row has no email (left out)'
        """
        found, no_email = ([], 0) if people is None else selected_people(people)
        left_out = f"<b>{no_email:,}</b> {'row has' if no_email == 1 else 'rows have'} no email (left out)"
        if not found:
            self.people = pl.DataFrame({"email": []}, schema={"email": pl.String})
            self.source.value = ("<i>No people selected: select rows in Search, or paste emails.</i>" if not no_email
                                 else f"<i>No people selected</i>: {left_out}.")
        else:
            self.people = pl.DataFrame({"email": found}, schema={"email": pl.String})
            self.source.value = f"<b>{self.people.height:,}</b> people from the selection" + (
                f"; {left_out}" if no_email else "")
        self._invalidate()

    def _load_tags(self) -> None:
        tags = self.encharge.get_tags()
        self.account_tags.options = [(f"{t} ({c:,})", t) for t, c in tags.select("tag", "count").iter_rows()]
        self.show(f"{tags.height} tags in the account.")

    def _invalidate(self) -> None:
        if self.preview.height:
            self.preview = pl.DataFrame()
            self.summary.value = "<i>The input changed: preview again before confirming.</i>"
        self.confirm.disabled = True

    def chosen_tags(self) -> list[str]:
        """The tags picked from the account plus the new ones typed.

        Example:
            >>> panel = TagPanel()
            >>> panel.new_tags.value = "spring-appeal, vip, spring-appeal"
            >>> panel.chosen_tags()
            ['spring-appeal', 'vip']
        """
        typed = [t.strip() for t in self.new_tags.value.split(",") if t.strip()]
        return list(dict.fromkeys([*self.account_tags.value, *typed]))

    def _targets(self) -> list[str]:
        pasted = people_emails(self.emails.value) if self.emails.value.strip() else []
        return list(dict.fromkeys([*self.people.get_column("email").to_list(), *pasted]))

    def _preview(self) -> None:
        tags = self.chosen_tags()
        if not tags:
            raise ValidationError("tags", tags, "at least one tag, picked or typed")
        targets = self._targets()
        if not targets:
            raise ValidationError("people", targets, "at least one person: select in Search or paste emails")
        preview = preview_tags(self.encharge, targets, tags, self.action.value)
        self.preview = preview
        self.results = pl.DataFrame()
        self.table.set_frame(preview)
        unknown = int((~preview.get_column("in_encharge")).sum())
        changing = int(preview.get_column("change").str.starts_with(self.action.value).sum())
        verb = "get" if self.action.value == "add" else "lose"
        self.summary.value = (
            f"<b>{changing:,}</b> of {preview.height:,} people will {verb} <b>{', '.join(tags)}</b>; "
            f"{preview.height - changing - unknown:,} unchanged; "
            f"<b>{unknown:,}</b> not in Encharge (skipped). Press <b>Confirm</b> to send."
        )
        self.confirm.disabled = changing == 0
        self.show("Preview ready: nothing has been sent yet.", "info")

    def _apply(self) -> None:
        preview, self.preview = self.preview, pl.DataFrame()  # a second click finds nothing to do
        self.confirm.disabled = True
        if preview.height == 0:
            raise ValidationError("confirm", "no preview", "a preview first (press Preview)")
        self.progress.layout.visibility = "visible"
        self.progress.max, self.progress.value = preview.height, 0

        def progress(done: int, total: int) -> None:
            self.progress.max, self.progress.value = total, done

        results = apply_tags(self.encharge, preview, on_progress=progress)
        self.results = results
        self.resume.track(results.get_column("run_id").drop_nulls().head(1).to_list()[0]
                          if results.get_column("run_id").drop_nulls().len() else None)
        self.table.set_frame(results.join(preview.select("email", "change"), on="email", how="left"))
        counts = dict(results.group_by("status").len().iter_rows())
        self.summary.value = " · ".join(f"{k}: <b>{v:,}</b>" for k, v in sorted(counts.items()))
        text, attention = outcome_summary(results, "tagged")
        self.show(text, "error" if attention else "success")

    def _export_frame(self, scope: str) -> pl.DataFrame:
        return self.results if scope == "results" else self.preview
