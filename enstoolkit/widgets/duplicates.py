"""The Duplicates panel: probable duplicate pairs side by side with their evidence, marks kept, a worklist export.

The panel only wires buttons to :mod:`enstoolkit.analysis` (``probable_duplicates``, ``mark_pairs``,
``read_marks``, ``duplicates_worklist``): the matching and the store are there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as w
import polars as pl

from ..analysis import (
    NOT_SAME,
    SAME,
    duplicates_from_accounts,
    duplicates_worklist,
    mark_pairs,
    probable_duplicates,
    read_marks,
)
from ..encharge import EnchargeClient
from ..ens import ENSClient
from ..records.paths import data_dir
from ._base import Panel, clients
from .grid import Grid

#: The pair's columns shown side by side.
SHOWN = ["band", "match_probability", "name_1", "name_2", "evidence", "email_1", "email_2", "postcode_1", "postcode_2",
         "keeper_system", "keeper_id", "mark", "system_1", "id_1", "system_2", "id_2", "keeper_reason"]


class DuplicatesPanel(Panel):
    """Find probable duplicates in ENS (and across ENS and Encharge), look at each pair's evidence, mark pairs
    "same person" or "not the same person" (kept between runs; a pair marked not the same is never shown
    again), and export the worklist as CSV.

    Attributes:
        pairs: the pairs found (after the marks); ``exported``: the path of the last worklist.

    Example:
        >>> panel = DuplicatesPanel()
        >>> panel.find_button.click()
        >>> panel.pairs.height > 0
        True
    """

    def __init__(self, ens: ENSClient | None = None, encharge: EnchargeClient | None = None, *,
                 query: str = "All supporters", supporters: pl.DataFrame | None = None,
                 people: pl.DataFrame | None = None) -> None:
        super().__init__()
        if supporters is None:
            ens, encharge = clients(ens, encharge)
        self.ens, self.encharge, self.query = ens, encharge, query
        self.supporters, self.people = supporters, people
        self.pairs = pl.DataFrame()
        self.exported: Path | None = None
        self.band = w.Dropdown(options=["high and review", "high", "review"], value="high and review",
                               description="Band")
        self.find_button = w.Button(description="Find duplicates", button_style="primary")
        self.same_button = w.Button(description="Same person", disabled=True)
        self.not_same_button = w.Button(description="Not the same", disabled=True)
        self.export_button = w.Button(description="Export worklist", disabled=True)
        self.grid = Grid(columns=SHOWN, on_select=self._selected)
        self.find_button.on_click(lambda _: self._run(self.find_button, self.find, "Finding duplicates..."))
        self.same_button.on_click(lambda _: self._run(self.same_button, lambda: self.mark(SAME)))
        self.not_same_button.on_click(lambda _: self._run(self.not_same_button, lambda: self.mark(NOT_SAME)))
        self.export_button.on_click(lambda _: self._run(self.export_button, self._export))
        self.band.observe(lambda _: self._show(), names="value")
        self.widget = w.VBox([
            w.HBox([self.find_button, self.band, self.same_button, self.not_same_button, self.export_button]),
            self.status_html, self.grid.widget])

    def find(self) -> None:
        """Read both accounts (or the frames given) and find the pairs."""
        if self.supporters is None:
            self.supporters, self.people, self.pairs = duplicates_from_accounts(
                self.ens, self.encharge, query=self.query, marks=read_marks())
        else:
            self.pairs = probable_duplicates(self.supporters, self.people, marks=read_marks())
        self._show()
        high = self.pairs.filter(pl.col("band") == "high").height
        self.show(f"{self.pairs.height:,} probable duplicate pairs ({high:,} high).", "success")

    def _shown(self) -> pl.DataFrame:
        """The pairs of the band chosen, the two records' names and the evidence first."""
        pairs = self.pairs.select(SHOWN) if not self.pairs.is_empty() else self.pairs
        if self.pairs.is_empty() or self.band.value == "high and review":
            return pairs
        return pairs.filter(pl.col("band") == self.band.value)

    def _show(self) -> None:
        self.grid.set_frame(self._shown())
        self.export_button.disabled = self.pairs.is_empty()

    def _selected(self, selection: pl.DataFrame) -> None:
        chosen = selection.height == 0
        self.same_button.disabled = self.not_same_button.disabled = chosen

    def mark(self, mark: str) -> None:
        """Mark the selected pairs and keep the marks; pairs marked not the same leave the list."""
        chosen = self.grid.selection
        if chosen.is_empty():
            self.show("Select pairs first.", "error")
            return
        mark_pairs(chosen, mark)
        key = ["system_1", "id_1", "system_2", "id_2"]
        if mark == NOT_SAME:
            self.pairs = self.pairs.join(chosen.select(key), on=key, how="anti", maintain_order="left")
        else:
            picked = chosen.select(key).with_columns(pl.lit(mark).alias("__m"))
            self.pairs = self.pairs.join(picked, on=key, how="left", maintain_order="left").with_columns(
                pl.coalesce("__m", "mark").alias("mark")).drop("__m")
        self._show()
        self.show(f"Marked {chosen.height:,} pair{'s' * (chosen.height != 1)} {mark!r}; kept for the next run.",
                  "success")

    def _export(self) -> None:
        self.export()

    def export(self, path: str | Path | None = None) -> Path:
        """Write the pairs shown as a CSV worklist (in the data folder unless ``path`` is given)."""
        target = Path(path) if path is not None else data_dir() / "duplicates-worklist.csv"
        self.exported = duplicates_worklist(self._shown(), target)
        self.show(f"Worklist written: {self.exported}", "success")
        return self.exported

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
