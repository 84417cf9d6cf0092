"""Pieces the panels share: a status area, busy buttons, the request budget, a paged table."""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w
import polars as pl

from ..ens import ENSClient
from ..errors import APIError, EnstoolkitError, ValidationError
from ..exports import export_csv

STYLE = w.HTML(
    "<style>"
    ".enstk-table select{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}"
    ".enstk-head{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;"
    "white-space:pre;font-weight:600}"
    ".enstk-status-error{color:#b00020}.enstk-status-success{color:#1b7f3b}"
    "</style>"
)

class Panel:
    """Base of the panels: a status area, and actions that never run twice at once.

    Attributes:
        status: the last message shown (plain text).
        status_kind: "info", "success" or "error".
    """

    widget: w.Widget

    def __init__(self) -> None:
        self.status = ""
        self.status_kind = "info"
        self.status_html = w.HTML(layout=w.Layout(min_height="1.6em"))
        self.status_html.add_class("enstk-status")
        self._running = False

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def after_resume(self, run: Any) -> None:
        """After a resumed run: its items become the panel's results, and the status says how it ended."""
        counts = run.counts()
        table = getattr(self, "table", None)
        if table is not None:
            items = run.items()
            self.results = items
            table.set_frame(items.select("seq", "key", "state", "error", "attempts"))
        summary = getattr(self, "summary", None)
        if summary is not None:
            summary.value = " · ".join(f"{k}: <b>{v:,}</b>" for k, v in sorted(counts.items()))
        self.show(f"Resumed run {run.run_id}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())),
                  "success" if set(counts) == {"done"} else "error")

    def show(self, message: str, kind: str = "info") -> None:
        """Show a message in the panel's status area."""
        self.status = message
        self.status_kind = kind
        icon = {"error": "&#9888; ", "success": "&#10003; "}.get(kind, "")
        self.status_html.value = (f'<span class="enstk-status-{kind}">{icon}{html.escape(message)}</span>')

    def _run(self, button: w.Button | None, action: Callable[[], None], busy: str = "Working...",
             *, restore: bool = True) -> None:
        """Run an action: the button is disabled meanwhile, every error lands in the status area.

        With ``restore=False`` the button stays disabled afterwards (a Confirm button, whose
        preview the action used up). A user action while another runs is refused; an internal follow-up
        (no button, e.g. a list refreshing when a dropdown changes) runs inside the current one.
        """
        if self._running:
            if button is None:
                action()
                return
            self.show("Still working on the previous action; wait for it to finish.", "error")
            return
        self._running = True
        was_disabled = button.disabled if button is not None else False
        if button is not None:
            button.disabled = True
        self.show(busy)
        try:
            action()
        except ValidationError as exc:
            self.show(f"Check the input: {exc}", "error")
        except APIError as exc:
            self.show(f"{exc.service} said: {exc.message}", "error")
        except EnstoolkitError as exc:
            self.show(str(exc), "error")
        except Exception as exc:  # shown, never lost in the log console
            self.show(f"Unexpected error: {type(exc).__name__}: {exc}", "error")
            traceback.print_exc()
        finally:
            if button is not None and restore:
                button.disabled = was_disabled
            self._running = False


class ResumeBar:
    """A "Resume" button for a panel's last journalled run, shown while that run is unfinished."""

    def __init__(self, panel: Panel, clients: Callable[[], dict[str, Any]]) -> None:
        self.panel = panel
        self.clients = clients
        self.run_id: str | None = None
        self.run: Any = None
        self.button = w.Button(description="Resume run", icon="play", button_style="info",
                               layout=w.Layout(display="none"))
        self.note = w.HTML()
        self.button.on_click(lambda _: panel._run(self.button, self.resume, "Resuming..."))
        self.widget = w.HBox([self.button, self.note])

    def track(self, run_id: str | None) -> None:
        """Follow this run; the button shows if it is unfinished."""
        from ..bulk import BulkRun, Journal

        self.run_id = run_id
        self.run = BulkRun(Journal(), run_id, **self.clients()) if run_id else None
        self.refresh()

    def refresh(self) -> None:
        """Show or hide the button and the run's state."""
        if self.run is None:
            self.button.layout.display = "none"
            self.note.value = ""
            return
        counts = self.run.counts()
        unfinished = any(counts.get(k) for k in ("pending", "retry", "unknown", "sending"))
        self.button.layout.display = "" if unfinished else "none"
        shown = ", ".join(f"{k}: {v:,}" for k, v in sorted(counts.items()))
        self.note.value = f"<small>journal run <code>{self.run.run_id}</code> ({self.run.status}; {shown})</small>"

    def resume(self) -> None:
        """Review what is unknown, then send only what is left."""
        if self.run is None:
            raise ValidationError("run", None, "a run to resume")
        self.run.complete()
        self.refresh()
        self.panel.after_resume(self.run)


class Budget:
    """A line showing how much of the hourly ENS request allowance (the client's ``hourly_limit``) is used."""

    def __init__(self, ens: ENSClient | None) -> None:
        self.ens = ens
        self.label = w.HTML()
        self.refresh()

    @property
    def remaining(self) -> int | None:
        """Requests left this hour, as the client counts them."""
        return None if self.ens is None else self.ens.budget_remaining

    def refresh(self) -> None:
        """Update the line."""
        if self.ens is None:
            self.label.value = ""
            return
        used = self.ens.requests_last_hour
        self.label.value = (f"<small>ENS requests this hour: {used:,} of {self.ens.hourly_limit:,} "
                            f"({self.ens.budget_remaining:,} left)</small>")


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    text = text.replace("\n", " ")
    return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)


class PagedTable:
    """A frame shown a page at a time, with rows selectable across pages.

    Stays responsive for any number of rows: only one page is ever rendered. Rows are
    selected in a multi-select list (click, shift-click, ctrl-click); the selection is
    kept while paging.

    Attributes:
        frame: everything shown; ``selection``: the selected rows, in frame order.
    """

    def __init__(self, *, page_size: int = 20, columns: Sequence[str] | None = None,
                 on_select: Callable[[pl.DataFrame], None] | None = None) -> None:
        self.page_size = page_size
        self.columns = list(columns) if columns else None
        self.on_select = on_select
        self.frame = pl.DataFrame()
        self.page = 0
        self.selected: set[int] = set()
        self.header = w.HTML()
        self.header.add_class("enstk-head")
        self.rows = w.SelectMultiple(options=[], rows=page_size, layout=w.Layout(width="100%"))
        self.rows.add_class("enstk-table")
        self.prev = w.Button(description="◀ Previous", layout=w.Layout(width="auto"))
        self.next = w.Button(description="Next ▶", layout=w.Layout(width="auto"))
        self.select_page = w.Button(description="Select page", layout=w.Layout(width="auto"))
        self.select_all = w.Button(description="Select all", layout=w.Layout(width="auto"))
        self.clear = w.Button(description="Clear selection", layout=w.Layout(width="auto"))
        self.info = w.Label()
        self._updating = False
        self.prev.on_click(lambda _: self.go(self.page - 1))
        self.next.on_click(lambda _: self.go(self.page + 1))
        self.select_page.on_click(lambda _: self._select(set(self._page_rows())))
        self.select_all.on_click(lambda _: self._select(set(range(self.frame.height))))
        self.clear.on_click(lambda _: self._select(set(), replace=True))
        self.rows.observe(self._changed, names="value")
        self.widget = w.VBox([
            self.header, self.rows,
            w.HBox([self.prev, self.next, self.info, self.select_page, self.select_all, self.clear]),
        ])
        self.set_frame(pl.DataFrame())

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1)."""
        return max(1, -(-self.frame.height // self.page_size))

    @property
    def selection(self) -> pl.DataFrame:
        """The selected rows, in frame order (keeps the columns when empty)."""
        if not self.selected:
            return self.frame.clear()
        return self.frame.with_row_index("__i").filter(pl.col("__i").is_in(sorted(self.selected))).drop("__i")

    def _widths(self) -> list[tuple[str, int]]:
        shown = self.columns or self.frame.columns[:6]
        shown = [c for c in shown if c in self.frame.columns]
        widths = []
        sample = self.frame.head(200)
        for name in shown:
            longest = max([len(name)] + [len(_cell(v, 60).rstrip()) for v in sample.get_column(name).to_list()])
            widths.append((name, min(max(longest, 4), 32)))
        return widths

    def set_frame(self, frame: pl.DataFrame) -> None:
        """Show a new frame from its first page, with nothing selected."""
        self.frame = frame
        self.selected = set()
        self.page = 0
        self._layout = self._widths()
        self.header.value = html.escape("     " + "  ".join(_cell(n, wd) for n, wd in self._layout))
        self.go(0)
        if self.on_select:
            self.on_select(self.selection)

    def _page_rows(self) -> list[int]:
        start = self.page * self.page_size
        return list(range(start, min(start + self.page_size, self.frame.height)))

    def go(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped)."""
        self.page = min(max(0, page), self.pages - 1)
        rows = self._page_rows()
        labels = []
        if rows:
            page_frame = self.frame.slice(rows[0], len(rows))
            data = {n: page_frame.get_column(n).to_list() for n, _ in self._layout}
            for k, i in enumerate(rows):
                labels.append((f"{i + 1:>4} " + "  ".join(_cell(data[n][k], wd) for n, wd in self._layout), i))
        self._updating = True
        try:
            self.rows.rows = max(3, min(self.page_size, len(labels)))
            self.rows.options = labels
            self.rows.value = tuple(i for i in rows if i in self.selected)
        finally:
            self._updating = False
        self.prev.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1
        self._info()

    def _info(self) -> None:
        self.info.value = (f"page {self.page + 1} of {self.pages} · {self.frame.height:,} rows · "
                           f"{len(self.selected):,} selected")

    def _changed(self, change: dict[str, Any]) -> None:
        if self._updating:
            return
        page = set(self._page_rows())
        self.selected = (self.selected - page) | set(change["new"])
        self._info()
        if self.on_select:
            self.on_select(self.selection)

    def _select(self, rows: set[int], replace: bool = False) -> None:
        self.selected = rows if replace else self.selected | rows
        self.go(self.page)
        if self.on_select:
            self.on_select(self.selection)

    def select_rows(self, indexes: Sequence[int]) -> None:
        """Select rows by position in the frame (in addition to those selected)."""
        self._select({i for i in indexes if 0 <= i < self.frame.height})


class ExportBar:
    """"Export CSV" for a panel's results or selection; shows the path written."""

    def __init__(self, panel: Panel, default_name: str,
                 frames: Callable[[str], pl.DataFrame], scopes: Sequence[str] = ("results", "selection")) -> None:
        self.panel = panel
        self.frames = frames
        self.folder = w.Text(value="exports", description="Folder", layout=w.Layout(width="220px"))
        self.name = w.Text(value=default_name, description="File", layout=w.Layout(width="260px"))
        self.scope = w.ToggleButtons(options=list(scopes), value=scopes[0], style={"button_width": "80px"})
        self.button = w.Button(description="Export CSV", icon="download")
        self.link = w.HTML()
        self.path: Path | None = None
        self.button.on_click(lambda _: panel._run(self.button, self.export, "Writing the CSV..."))
        self.widget = w.VBox([w.HBox([self.scope, self.folder, self.name, self.button]), self.link])

    def export(self) -> None:
        """Write the chosen rows to the CSV file and show where."""
        df = self.frames(self.scope.value)
        if df.height == 0:
            raise ValidationError("export", f"0 {self.scope.value} rows", "at least one row to export")
        name = self.name.value.strip() or "export.csv"
        if not name.endswith(".csv"):
            name += ".csv"
        self.path = export_csv(df, Path(self.folder.value.strip() or ".") / name)
        shown = html.escape(str(self.path))
        self.link.value = f'Saved {df.height:,} rows to <a href="{shown}" target="_blank" download>{shown}</a>'
        self.panel.show(f"Exported {df.height:,} {self.scope.value} rows to {self.path}", "success")
