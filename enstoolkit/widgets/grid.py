"""The data grid behind every result and preview table: itables' DataTables widget, paged with polars.

The browser gets a *window* of the frame (all of it when it fits, ``page_size`` rows otherwise), so a
100,000-row frame never becomes a 14 MB widget and is never downsampled: every row stays reachable
(through the window controls, which search and sort **all** rows with polars) and selectable. In the
window, sorting by a column, the global search, per-column filters, column visibility and the
"Select all" / "Deselect all" buttons are the grid's own (DataTables with its Select, Buttons and
ColumnControl extensions). Rows are selected in the page with a click, shift-click (a range) and
ctrl/cmd-click (one more); from Python with :meth:`Grid.select_rows`. Positions are always positions
in the full frame, whatever the sort or filter.

Example:
    >>> grid = Grid(page_size=1_000)
    >>> grid.set_frame(pl.DataFrame({"n": range(2_500)}))
    >>> grid.pages, grid.window_rows
    (3, 1000)
    >>> grid.select_rows([0, 2_499])
    >>> grid.selection.get_column("n").to_list()
    [0, 2499]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
import polars as pl
from itables.widget import ITable

from ..errors import ValidationError

__all__ = ["GRID_OPTIONS", "Grid", "display_frame", "row_filter"]

_ROW = "__enstoolkit_row"

#: The DataTables options every grid uses (sorting, search, per-column filters and menus, selection).
GRID_OPTIONS: dict[str, Any] = {
    "select": {"style": "os", "info": False},  # click, shift-click (range), ctrl/cmd-click (add)
    "buttons": [
        {"extend": "pageLength"},
        {"extend": "colvis", "text": "Columns"},
        # "Select all" selects what the search and filters show, not rows they hide
        {"extend": "selectAll", "text": "Select all", "selectorModifier": {"search": "applied"},
         "titleAttr": "Select every row that matches the search and the column filters"},
        {"extend": "selectNone", "text": "Deselect all"},
    ],
    "layout": {"topStart": "buttons", "topEnd": "search", "bottomStart": "info", "bottomEnd": "paging"},
    "columnControl": [
        {"target": 0, "content": ["order", ["orderAsc", "orderDesc", "orderClear", "spacer", "colVisDropdown"]]},
        {"target": 1, "content": ["search"]},
    ],
    "ordering": {"indicators": False, "handler": False},
    "order": [],
    "lengthMenu": [10, 15, 25, 50, 100],
    "pageLength": 15,
    "scrollX": True,
    "autoWidth": False,
    "deferRender": True,
    "language": {"search": "Filter:", "searchPlaceholder": "text in any column", "emptyTable": "No rows",
                 "zeroRecords": "No matching rows"},
    "classes": "display compact nowrap cell-border",
    "style": "width:100%;margin:0;table-layout:auto",
    "show_dtypes": False,
    "allow_html": False,  # cell text is escaped: supporter data is never markup
    # never downsample: every row of the window, and every column, is sent
    "maxBytes": 0,
    "maxRows": 0,
    "maxColumns": 0,
    "warn_on_selected_rows_not_rendered": True,
}


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column as the text the grid shows (lists joined, structs as JSON, dates in ISO form)."""
    col = pl.col(name)
    if isinstance(dtype, pl.List | pl.Array):
        return col.cast(pl.List(pl.String)).list.join(", ")
    if isinstance(dtype, pl.Struct):
        return col.struct.json_encode()
    if isinstance(dtype, pl.Datetime):
        return col.dt.to_string("%Y-%m-%d %H:%M:%S")
    if dtype == pl.Date:
        return col.dt.to_string("%Y-%m-%d")
    return col.cast(pl.String)


def _kept(dtype: pl.DataType) -> bool:
    """Whether the grid gets the column's values as they are (and sorts them by value)."""
    return dtype.is_numeric() or dtype in (pl.Boolean, pl.String, pl.Null)


def display_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the grid shows it: lists joined, structs as JSON, dates as ISO text; nulls stay empty.

    Numbers, booleans and text are kept, so the grid sorts them as numbers or text.

    Example:
        >>> df = pl.DataFrame({"tags": [["a", "b"], None], "day": [dt.date(2026, 1, 2), None]})
        >>> display_frame(df).rows()
        [('a, b', '2026-01-02'), (None, None)]
    """
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError("frame", type(frame).__name__, "a polars DataFrame")
    return frame.select([pl.col(n) if _kept(t) else _as_text(n, t).alias(n) for n, t in frame.schema.items()])


def row_filter(frame: pl.DataFrame, text: str) -> pl.Expr:
    """An expression keeping the rows where any column's shown text contains ``text`` (ignoring case).

    Example:
        >>> df = pl.DataFrame({"email": ["Ann@Example.org", "bo@x.org"], "n": [1, 22]})
        >>> df.filter(row_filter(df, "example")).height, df.filter(row_filter(df, "22")).height
        (1, 1)
    """
    needle = text.strip().lower()
    if not needle or not frame.columns:
        return pl.lit(True)
    return pl.any_horizontal([
        _as_text(name, dtype).str.to_lowercase().str.contains(needle, literal=True).fill_null(False)
        for name, dtype in frame.schema.items()
    ])


def _sortable(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype.is_temporal() or dtype in (pl.Boolean, pl.String, pl.Categorical)


class Grid:
    """A polars frame in a data grid, a window of rows at a time, with rows selectable across windows.

    Args:
        page_size: the most rows sent to the browser at once (the window). A frame this size or
            smaller is sent whole and the grid alone sorts, searches and filters it; a larger one
            gets window controls that search and sort *all* rows with polars.
        columns: the columns shown at first (the others stay one click away, under "Columns");
            names the frame lacks are passed over, and with none of them present all columns show.
        on_select: called with :attr:`selection` whenever the selection changes.

    Attributes:
        frame: the whole frame; ``grid``: the itables widget showing the current window;
        ``view``: frame positions in the window controls' search and order; ``widget``: what displays.

    Example:
        >>> grid = Grid()
        >>> grid.set_frame(pl.DataFrame({"email": ["a@x.org", "b@x.org", "c@x.org"]}))
        >>> grid.select_rows([2, 0])
        >>> grid.selection.get_column("email").to_list(), grid.selected_positions
        (['a@x.org', 'c@x.org'], [0, 2])
    """

    def __init__(self, *, page_size: int = 5_000, columns: Sequence[str] | None = None,
                 on_select: Callable[[pl.DataFrame], None] | None = None) -> None:
        if not isinstance(page_size, int) or page_size < 1:
            raise ValidationError("page_size", page_size, "a positive number of rows")
        self.page_size = page_size
        self.columns = list(columns) if columns else None
        self.on_select = on_select
        self.frame = pl.DataFrame()
        self.page = 0
        self.view = pl.Series(_ROW, [], dtype=pl.UInt32)
        self._window: list[int] = []
        self._where: dict[int, int] = {}
        self._selected: set[int] = set()
        self._pushing = False
        self.grid = ITable(pl.DataFrame(), **GRID_OPTIONS)
        self.grid.add_class("enstk-grid")
        self.grid.observe(self._from_page, names="selected_rows")
        self.info = w.HTML()
        self.info.add_class("enstk-grid-info")
        self.find = w.Text(placeholder="text in any column", description="Search all", continuous_update=False,
                           layout=w.Layout(width="300px"))
        self.sort_by = w.Dropdown(options=[("(as loaded)", None)], value=None, description="Sort all by",
                                  layout=w.Layout(width="280px"))
        self.descending = w.Checkbox(value=False, description="descending", indent=False,
                                     layout=w.Layout(width="110px"))
        self.prev = w.Button(description="◀ Previous rows", layout=w.Layout(width="auto"))
        self.next = w.Button(description="Next rows ▶", layout=w.Layout(width="auto"))
        self.all_button = w.Button(description="Select all", icon="check-square", layout=w.Layout(width="auto"))
        self.none_button = w.Button(description="Clear selection", icon="square-o", layout=w.Layout(width="auto"))
        self.window_note = w.HTML()
        for control in (self.find, self.sort_by, self.descending):
            control.observe(lambda _: self._reorder(), names="value")
        self.prev.on_click(lambda _: self.go(self.page - 1))
        self.next.on_click(lambda _: self.go(self.page + 1))
        self.all_button.on_click(lambda _: self.select_all())
        self.none_button.on_click(lambda _: self.clear_selection())
        self.window_bar = w.VBox([
            w.HBox([self.find, self.sort_by, self.descending]),
            w.HBox([self.prev, self.next, self.all_button, self.none_button]),
            self.window_note,
        ], layout=w.Layout(display="none"))
        self.widget = w.VBox([self.window_bar, self.grid, self.info], layout=w.Layout(width="100%"))
        self._show()

    # -- what is shown -------------------------------------------------------------------------
    @property
    def windowed(self) -> bool:
        """Whether the frame is larger than one window (the window controls show).

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.windowed
            True
        """
        return self.frame.height > self.page_size

    @property
    def pages(self) -> int:
        """How many windows the current search has (at least 1).

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.pages
            3
        """
        return max(1, -(-self.view.len() // self.page_size))

    @property
    def window_rows(self) -> int:
        """How many rows the browser has now.

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.go(2)
            >>> grid.window_rows   # the last window holds the last 50 rows
            50
        """
        return len(self._window)

    @property
    def window_positions(self) -> list[int]:
        """The frame positions of the rows in the browser, in the order sent.

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.go(2)
            >>> grid.window_positions[:3]
            [200, 201, 202]
        """
        return list(self._window)

    def set_frame(self, frame: pl.DataFrame) -> None:
        """Show a new frame from its first window, with nothing selected and no search or sort.

        Example:
            >>> grid = Grid()
            >>> grid.set_frame(pl.DataFrame({"email": ["a@x.org", "b@x.org"]}))
            >>> grid.frame.height, grid.windowed, grid.selected_positions
            (2, False, [])
        """
        if not isinstance(frame, pl.DataFrame):
            raise ValidationError("frame", type(frame).__name__, "a polars DataFrame")
        self.frame = frame
        self._selected = set()
        self._pushing = True
        try:
            self.find.value = ""
            self.descending.value = False
            self.sort_by.options = [("(as loaded)", None),
                                    *[(n, n) for n, t in frame.schema.items() if _sortable(t)]]
            self.sort_by.value = None
        finally:
            self._pushing = False
        self.window_bar.layout.display = "" if self.windowed else "none"
        self._reorder()
        self._changed()

    def _reorder(self) -> None:
        """Apply the window controls' search and sort to all rows, and show the first window."""
        if self._pushing:
            return
        frame = self.frame
        text, by = self.find.value, self.sort_by.value
        if not text.strip() and by is None:
            self.view = pl.Series(_ROW, range(frame.height), dtype=pl.UInt32)
        else:
            ordered = frame.with_row_index(_ROW).filter(row_filter(frame, text))
            if by is not None:
                ordered = ordered.sort(by, descending=self.descending.value, nulls_last=True, maintain_order=True)
            self.view = ordered.get_column(_ROW)
        self.go(0)

    def go(self, page: int) -> None:
        """Send window ``page`` (0-based, clamped) of the current search and order to the browser.

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.go(1)
            >>> grid.page, grid.window_positions[0]
            (1, 100)
            >>> grid.go(99)   # clamped to the last window
            >>> grid.page
            2
        """
        self.page = min(max(0, page), self.pages - 1)
        start = self.page * self.page_size
        window = self.view.slice(start, self.page_size)
        self._window = window.to_list()
        self._where = {position: i for i, position in enumerate(self._window)}
        whole = len(self._window) == self.frame.height and self._window == list(range(self.frame.height))
        shown = display_frame(self.frame if whole else self.frame[window])
        hidden = []
        if self.columns and any(c in shown.columns for c in self.columns):
            hidden = [i for i, c in enumerate(shown.columns) if c not in self.columns]
        options = {**GRID_OPTIONS, "columnDefs": [{"targets": hidden, "visible": False}] if hidden else []}
        self._pushing = True
        try:
            with self.grid.hold_sync():
                self.grid.update(shown, selected_rows=self._selected_in_window(), **options)
        finally:
            self._pushing = False
        state = self.grid.get_state("_dt_args")["_dt_args"]
        if state.get("downsampling_warning") or state.get("filtered_row_count"):  # never a partial table
            raise RuntimeError(f"the grid dropped rows: {state.get('downsampling_warning')}")
        self._show()

    def _show(self) -> None:
        total, chosen = self.frame.height, len(self._selected)
        text = f"<b>{total:,}</b> rows · <b>{chosen:,}</b> selected"
        if self.windowed:
            first = self.page * self.page_size
            matching = f" matching “{self.find.value.strip()}”" if self.find.value.strip() else ""
            shown = (f"rows {first + 1:,}–{first + len(self._window):,} of {self.view.len():,}{matching}"
                     if self._window else f"no rows{matching}")
            text += f" · the grid has {shown} (window {self.page + 1} of {self.pages})"
            self.window_note.value = (
                f"<small>{total:,} rows are too many to send to the browser at once: the grid below has "
                f"{self.page_size:,} at a time. <b>Search all</b> and <b>Sort all by</b> work on every row; "
                "the grid's own search, filters, sorting and Select all work on the rows it has.</small>")
            self.all_button.description = f"Select all {self.view.len():,}" + (" matching" if matching else "")
            self.prev.disabled = self.page == 0
            self.next.disabled = self.page >= self.pages - 1
        self.info.value = f"<small>{text}</small>"

    # -- selection -----------------------------------------------------------------------------
    @property
    def selected_positions(self) -> list[int]:
        """The selected rows' positions in the frame, ascending.

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.select_rows([240, 3])
            >>> grid.selected_positions
            [3, 240]
        """
        return sorted(self._selected)

    @property
    def selection(self) -> pl.DataFrame:
        """The selected rows, in frame order (keeps the columns when empty).

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.selection.columns, grid.selection.height   # nothing selected: no rows, same columns
            (['n'], 0)
            >>> grid.select_rows([5, 7])
            >>> grid.selection.get_column("n").to_list()
            [5, 7]
        """
        if not self._selected:
            return self.frame.clear()
        return self.frame[self.selected_positions]

    def select_rows(self, indexes: Sequence[int]) -> None:
        """Select rows by position in the frame, in addition to those selected.

        Raises:
            ValidationError: a position that is not a row of the frame (nothing is selected then).

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.select_rows([1])
            >>> grid.select_rows([249])   # in another window: added to the selection
            >>> grid.selected_positions
            [1, 249]
        """
        chosen = list(indexes)
        bad = [i for i in chosen if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.frame.height]
        if bad:
            allowed = (f"row positions from 0 to {self.frame.height - 1:,}" if self.frame.height
                       else "no positions: the table is empty")
            raise ValidationError("rows", bad[:5], allowed)
        self._set_selection(self._selected | set(chosen))

    def deselect_rows(self, indexes: Sequence[int]) -> None:
        """Deselect rows by position in the frame (positions not selected are ignored).

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.select_rows([1, 2, 3])
            >>> grid.deselect_rows([2, 200])
            >>> grid.selected_positions
            [1, 3]
        """
        self._set_selection(self._selected - set(indexes))

    def select_all(self) -> None:
        """Select every row the window controls' search keeps (every row when there is no search).

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.find.value = "24"   # search all rows: 24, 124, 224 and 240-249
            >>> grid.select_all()
            >>> len(grid.selected_positions)
            13
        """
        self._set_selection(self._selected | set(self.view.to_list()))

    def clear_selection(self) -> None:
        """Deselect every row, in every window.

        Example:
            >>> grid = Grid(page_size=100)
            >>> grid.set_frame(pl.DataFrame({"n": range(250)}))
            >>> grid.select_all()
            >>> grid.clear_selection()
            >>> grid.selected_positions
            []
        """
        self._set_selection(set())

    def _selected_in_window(self) -> list[int]:
        return sorted(self._where[p] for p in self._selected if p in self._where)

    def _set_selection(self, rows: set[int]) -> None:
        if rows == self._selected:
            return
        self._selected = rows
        self._pushing = True
        try:
            self.grid.selected_rows = self._selected_in_window()
        finally:
            self._pushing = False
        self._changed()

    def _from_page(self, change: dict[str, Any]) -> None:
        """The browser changed the selection of the rows it has (indexes into the window)."""
        if self._pushing:
            return
        window = self._window
        chosen = {window[i] for i in change["new"] if 0 <= i < len(window)}
        rows = (self._selected - set(window)) | chosen
        if rows != self._selected:
            self._selected = rows
            self._changed()

    def _changed(self) -> None:
        self._show()
        if self.on_select:
            self.on_select(self.selection)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
