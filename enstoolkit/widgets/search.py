"""The search panel: find supporters, look at them, select some, export them."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w
import polars as pl

from ..encharge import EnchargeClient
from ..ens import ENSClient
from ..errors import ValidationError
from ._base import STYLE, Budget, ExportBar, Panel, clients
from .actions import SEARCH_MODES, build_filter, search_supporters, with_encharge
from .grid import Grid


class SearchPanel(Panel):
    """Find supporters by email, id or query; optionally beside their Encharge record.

    Args:
        ens: the ENS client (default: the environment's account, else the sandbox).
        encharge: the Encharge client for the side-by-side lookup (same default).

    Attributes:
        results: the last search's frame; ``selection``: the selected rows; ``status``.

    Example:
        >>> panel = SearchPanel()
        >>> panel.mode.value = "latest created"
        >>> panel.days_back.value = 7
        >>> panel.search.click()
        >>> panel.results.height > 0, panel.status_kind
        (True, 'success')
    """

    def __init__(self, ens: ENSClient | None = None, encharge: EnchargeClient | None = None) -> None:
        super().__init__()
        ens, encharge = clients(ens, encharge)
        self.ens = ens
        self.encharge = encharge
        self.results = pl.DataFrame()
        self._listeners: list[Callable[[pl.DataFrame], None]] = []

        self.mode = w.Dropdown(options=list(SEARCH_MODES), value="latest created", description="Find by")
        self.value = w.Text(placeholder="email address or supporter id", description="Value")
        self.days_back = w.IntSlider(value=7, min=1, max=32, description="Days back")
        self.profile_id = w.Text(placeholder="e.g. 333", description="Profile id")
        self.filter_field = w.Dropdown(options=[], description="Field")
        self.filter_value = w.Text(placeholder="values, comma-separated (any of)", description="Is")
        self.include_encharge = w.Checkbox(value=False, description="Look up in Encharge too", indent=False)
        self.search = w.Button(description="Search", button_style="primary", icon="search")
        self.budget = Budget(ens)
        self.table = Grid(on_select=self._selected)
        self.export = ExportBar(self, "supporters.csv", self._export_frame)
        self.search.on_click(lambda _: self._run(self.search, self._search, "Searching..."))
        self.mode.observe(lambda _: self._visible(), names="value")
        self.inputs = w.VBox()
        self.widget = w.VBox([
            STYLE, w.HTML("<b>Search supporters</b>"),
            w.HBox([self.mode, self.include_encharge]), self.inputs,
            w.HBox([self.search, self.budget.label]), self.status_html, self.table.widget, self.export.widget,
        ])
        self._visible()

    @property
    def selection(self) -> pl.DataFrame:
        """The selected result rows.

        Example:
            >>> panel = SearchPanel()
            >>> panel.search.click()
            >>> panel.table.select_rows([0])
            >>> panel.selection.columns[:2], panel.selection.height
            (['supporterId', 'email'], 1)
        """
        return self.table.selection

    def on_selection(self, callback: Callable[[pl.DataFrame], None]) -> None:
        """Call ``callback(selection)`` whenever the selection changes.

        Example:
            >>> panel = SearchPanel()
            >>> seen = []
            >>> panel.on_selection(lambda selection: seen.append(selection.height))
            >>> panel.search.click()
            >>> panel.table.select_rows([0, 1])
            >>> seen[-1]
            2
        """
        self._listeners.append(callback)

    def _selected(self, selection: pl.DataFrame) -> None:
        for callback in getattr(self, "_listeners", []):
            callback(selection)

    def _visible(self) -> None:
        mode = self.mode.value
        parts: list[w.Widget] = []
        if mode in ("email", "supporter id"):
            self.value.placeholder = "name@example.org" if mode == "email" else "e.g. 100123"
            parts.append(self.value)
        else:
            parts.append(self.days_back)
        if mode == "profile":
            parts.append(self.profile_id)
        if mode == "search":
            if not self.filter_field.options:
                self._run(None, self._load_fields, "Loading the account's fields...")
            parts.append(w.HBox([self.filter_field, self.filter_value]))
        self.inputs.children = parts

    def _load_fields(self) -> None:
        fields = self.ens.get_fields()
        self.filter_field.options = [(f"{n} ({p})", p) for n, p in fields.select("name", "property").iter_rows()]
        if "country" in fields.get_column("property").to_list():
            self.filter_field.value = "country"
        self.show("")

    def _search(self) -> None:
        mode = self.mode.value
        kwargs: dict[str, object] = {"days_back": self.days_back.value}
        if mode in ("email", "supporter id"):
            kwargs["value"] = self.value.value.strip()
        if mode == "profile":
            if not self.profile_id.value.strip():
                raise ValidationError("profile id", self.profile_id.value, "a profile id (a number)")
            kwargs["profile_id"] = self.profile_id.value.strip()
        if mode == "search":
            kwargs["filter"] = build_filter([(self.filter_field.value, self.filter_value.value)])
        df = search_supporters(self.ens, mode, **kwargs)  # type: ignore[arg-type]
        if self.include_encharge.value and df.height:
            df = with_encharge(df, self.encharge)
        self.results = df
        self.table.set_frame(df)
        self.budget.refresh()
        if df.height == 0:
            self.show("No supporters found.", "info")
        else:
            extra = ""
            if "in_encharge" in df.columns:
                extra = f"; {int(df.get_column('in_encharge').sum()):,} also in Encharge"
            self.show(f"Found {df.height:,} supporters{extra}.", "success")

    def _export_frame(self, scope: str) -> pl.DataFrame:
        return self.selection if scope == "selection" else self.results
