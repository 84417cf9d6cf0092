"""The data grid as a person uses it in the browser: sort by a column, filter, click and shift-click rows."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, Page, expect

TIMEOUT = 90_000


class GridOnPage:
    """The visible grid of a page (the one in the open tab), and its selection line."""

    def __init__(self, page: Page, nth: int = 0) -> None:
        self.page = page
        self.root = page.locator(".enstk-grid").filter(visible=True).nth(nth)
        self.info = page.locator(".enstk-grid-info").filter(visible=True).nth(nth)

    @property
    def rows(self) -> Locator:
        """The body rows on the grid's current page."""
        return self.root.locator(".dt-scroll-body tbody tr")

    def titles(self) -> list[str]:
        """The column titles, in the order shown."""
        head = self.root.locator(".dt-scroll-head thead tr").first
        return [t.strip() for t in head.locator(".dt-column-title").all_inner_texts()]

    def column(self, name: str) -> list[str]:
        """The texts of a column on the grid's current page."""
        at = self.titles().index(name)
        return [cells[at] for cells in (r.split("\t") for r in self.rows.all_inner_texts())]

    def wait_for_rows(self, pattern: str = r"^[1-9][\d,]* rows") -> None:
        """Wait until the selection line shows a frame (by default: at least one row)."""
        expect(self.info).to_have_text(re.compile(pattern), timeout=TIMEOUT)

    def wait_for_column(self, name: str, values: set[str], timeout: float = TIMEOUT / 1000) -> None:
        """Wait until the column's texts on the current page are exactly ``values`` (a new frame has replaced
        the one shown before)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                seen = set(self.column(name))
            except (ValueError, IndexError):  # the column is not shown yet, or the rows are still the old frame's
                seen = set()
            if seen == values:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"column {name!r} shows {sorted(seen)}, expected {sorted(values)}")
            self.page.wait_for_timeout(100)

    def sort(self, name: str, *, descending: bool = False) -> None:
        """Click the column's sort button (once: ascending; twice: descending)."""
        head = self.root.locator(".dt-scroll-head thead tr").first.locator("th").nth(self.titles().index(name))
        button = head.locator("button.dtcc-button_order")
        button.click()
        expect(head).to_have_class(re.compile(r"dt-ordering-asc"))
        if descending:
            button.click()
            expect(head).to_have_class(re.compile(r"dt-ordering-desc"))

    def filter(self, name: str, text: str) -> None:
        """Type into the column's filter (under its title): rows whose value contains the text stay."""
        cell = self.root.locator(".dt-scroll-head thead tr").nth(1).locator("td").nth(self.titles().index(name))
        cell.locator("input").fill(text)
        expect(self.root.locator(".dt-info")).to_contain_text("filtered from")

    def click_row(self, index: int, *, shift: bool = False, ctrl: bool = False) -> None:
        """Click a row of the grid's current page (shift: a range from the last click; ctrl: one more)."""
        modifiers = (["Shift"] if shift else []) + (["Control"] if ctrl else [])
        self.rows.nth(index).locator("td").first.click(modifiers=modifiers)  # type: ignore[arg-type]

    def expect_selected(self, count: int) -> None:
        """The Python side (the selection line under the grid) has ``count`` rows selected."""
        expect(self.info).to_contain_text(re.compile(rf"(^|\s){count:,} selected"), timeout=TIMEOUT)

    def button(self, text: str) -> Locator:
        """One of the grid's own buttons (Columns, Select all, Deselect all)."""
        return self.root.locator("button.dt-button").filter(has_text=text).first
