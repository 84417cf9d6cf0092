"""The panels in a real JupyterLab, in headless Chromium: run the actions notebook, then use it and its grids."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT, Lab
from .grid_page import GridOnPage

TIMEOUT = 90_000
NOTEBOOK = ROOT / "notebooks" / "actions.ipynb"


def open_and_run(page: Page, lab: Lab) -> None:
    name = lab.notebook(NOTEBOOK)
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{lab.url}/lab/tree/{name}?reset")  # a fresh workspace: only this notebook open
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=TIMEOUT)
    cells = len(json.loads(NOTEBOOK.read_text())["cells"])
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(cells)
    saved = page.locator(".jp-OutputArea-output.jp-RenderedText").filter(has_text="Preview ready")
    expect(saved).to_have_count(1)  # the saved outputs are on screen: the notebook is fully rendered
    page.evaluate("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    expect(page.locator(".jp-OutputArea-output")).to_have_count(0)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # the last cell prints the tag preview's status once everything ran
    printed = page.locator(".jp-OutputArea-output.jp-RenderedText").filter(has_text="Preview ready")
    expect(printed).to_have_count(1, timeout=TIMEOUT)
    expect(page.get_by_role("tab", name="Search")).to_be_visible()


def open_tab(page: Page, lab: Lab, tab: str, ready: str) -> None:
    """Run the notebook, then open one of its tabs: its status says ``ready`` once the tab has loaded."""
    open_and_run(page, lab)
    visible(page, "tab", tab).click()
    expect(status(page)).to_contain_text(ready)


def visible(page: Page, role: str, name: str):  # type: ignore[no-untyped-def]
    """The visible widget button (or tab) with exactly this text."""
    exact = re.compile(rf"^\s*{re.escape(name)}\s*$")
    if role == "tab":
        return page.get_by_role("tab").filter(has_text=exact).filter(visible=True).first
    return page.locator("button.jupyter-button").filter(has_text=exact).filter(visible=True).first


def status(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".enstk-status").filter(visible=True).first


def search(page: Page, mode: str = "latest modified") -> GridOnPage:
    """Run a search in the Search tab (the last 7 days); return its grid once the results are in."""
    visible(page, "tab", "Search").click()
    page.locator(".widget-dropdown").filter(has_text="Find by").filter(visible=True).first.locator("select") \
        .select_option(label=mode)
    visible(page, "button", "Search").click()
    expect(status(page)).to_contain_text(re.compile(r"Found \d+ supporters"))
    grid = GridOnPage(page)
    grid.wait_for_rows()
    return grid


@pytest.mark.e2e
@pytest.mark.slow
def test_sort_filter_and_select_in_the_grid(page: Page, lab: Lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_and_run(page, lab)
    grid = search(page)
    assert grid.titles()[:2] == ["supporterId", "email"]
    grid.sort("supporterId", descending=True)
    ids = [int(v) for v in grid.column("supporterId")]
    assert ids == sorted(ids, reverse=True) and len(ids) == 15
    grid.filter("email", "example.org")
    assert all("example.org" in e for e in grid.column("email"))
    grid.click_row(0)
    grid.expect_selected(1)
    grid.click_row(2, shift=True)  # a range: rows 1 to 3 of the sorted, filtered page
    grid.expect_selected(3)
    grid.click_row(5, ctrl=True)
    grid.expect_selected(4)
    expect(grid.rows.locator("xpath=self::tr[contains(@class,'selected')]")).to_have_count(4)
    screenshot(page)
    screenshot(page.locator(".widget-tab").filter(visible=True).first, "-panel")
    grid.button("Select all").click()  # what the filter shows, not the rows it hides
    expect(grid.info).to_contain_text(re.compile(r"(\d+) selected"))
    shown = int(re.search(r"of ([\d,]+) entries", grid.root.locator(".dt-info").inner_text()).group(1))
    grid.expect_selected(shown)
    grid.button("Deselect all").click()
    grid.expect_selected(0)


@pytest.mark.e2e
@pytest.mark.slow
def test_tag_sorted_filtered_selection_with_confirmation(page: Page, lab: Lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_and_run(page, lab)
    grid = search(page)
    grid.sort("supporterId", descending=True)
    grid.filter("email", "example.com")
    grid.click_row(0)
    grid.click_row(3, shift=True)
    grid.expect_selected(4)
    chosen = sorted(grid.column("email")[:4])
    screenshot(page, "-search")
    visible(page, "tab", "Tag").click()
    expect(page.get_by_text("4 people from the selection").filter(visible=True).first).to_be_visible()
    page.get_by_placeholder("new tags, comma-separated").filter(visible=True).first.fill("browser-test")
    visible(page, "button", "Preview").click()
    summary = page.locator(".widget-html").filter(has_text="Press Confirm to send").filter(visible=True).first
    expect(summary).to_contain_text("will get browser-test")
    preview = GridOnPage(page)
    preview.wait_for_rows(r"^4 rows")
    assert sorted(e.lower() for e in preview.column("email")) == [e.strip().lower() for e in chosen]
    confirm = visible(page, "button", "Confirm")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(status(page)).to_contain_text(re.compile(r"Done: \d+ tagged"))
    expect(confirm).to_be_disabled()
    assert set(preview.column("status")) <= {"done", "skipped"} and "done" in preview.column("status")
    screenshot(page)


@pytest.mark.e2e
@pytest.mark.slow
def test_process_a_data_capture_page(page: Page, lab: Lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_tab(page, lab, "Process", ready="Newsletter Sign Up")
    email = page.locator(".widget-text").filter(has_text="Email Address").filter(visible=True).first.locator("input")
    email.fill("browser.signup@example.org")
    page.locator(".widget-text").filter(has_text="First Name").filter(visible=True).first.locator("input").fill("Bea")
    page.get_by_text("Marketing Optin", exact=True).filter(visible=True).first.click()
    visible(page, "button", "Preview").click()
    expect(page.locator(".widget-html").filter(has_text="LIVE submissions").filter(visible=True).first).to_be_visible()
    visible(page, "button", "Confirm").click()
    expect(status(page)).to_contain_text("Done: 1 processed, 0 skipped, 0 not.")
    results = GridOnPage(page)
    results.wait_for_rows(r"^1 rows")
    assert results.column("status") == ["done"] and results.column("email") == ["browser.signup@example.org"]
    screenshot(page)


BIG = """\
import polars as pl
import ipywidgets as w
from enstoolkit.widgets.grid import Grid

N = 100_000
frame = pl.DataFrame({"n": range(N), "email": [f"p{i}@example.org" for i in range(N)]})
picked = w.Label(value="none")
picked.add_class("picked")
grid = Grid(on_select=lambda sel: setattr(picked, "value", ",".join(map(str, sel.get_column("n").to_list()))))
grid.set_frame(frame)
w.VBox([picked, grid.widget])
"""


@pytest.mark.e2e
@pytest.mark.slow
def test_100_000_rows_reachable_and_selectable(page: Page, lab: Lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BIG)])
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    source = lab.root / "big-source.ipynb"
    nbformat.write(nb, source)
    name = lab.notebook(source)
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{lab.url}/lab/tree/{name}?reset")
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=TIMEOUT)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    grid = GridOnPage(page)
    grid.wait_for_rows(r"^100,000 rows")
    expect(grid.info).to_contain_text("rows 1–5,000 of 100,000 (window 1 of 20)")
    picked = page.locator(".picked").first
    # the last row: the window controls reach it; a click in the grid selects it
    visible(page, "button", "Next rows ▶").click()
    expect(grid.info).to_contain_text("window 2 of 20")
    page.locator(".widget-text").filter(has_text="Search all").first.locator("input").fill("p99999@")
    page.keyboard.press("Enter")
    expect(grid.info).to_contain_text("rows 1–1 of 1 matching “p99999@”")
    grid.click_row(0)
    expect(picked).to_have_text("99999")
    # a row in the middle, found by sorting all rows, and shift-click in the grid
    page.locator(".widget-text").filter(has_text="Search all").first.locator("input").fill("")
    page.keyboard.press("Enter")
    page.locator(".widget-dropdown").filter(has_text="Sort all by").first.locator("select").select_option("n")
    page.get_by_text("descending", exact=True).first.click()
    expect(grid.rows.first).to_contain_text("99999")
    for window in range(2, 12):  # one window at a time: a click while the grid is busy would be lost
        visible(page, "button", "Next rows ▶").click()
        expect(grid.info).to_contain_text(f"(window {window} of 20)")
    expect(grid.info).to_contain_text("rows 50,001–55,000 of 100,000 (window 11 of 20)")
    expect(grid.rows.first).to_contain_text("49999")
    grid.click_row(0, ctrl=True)
    grid.click_row(2, shift=True)
    expect(picked).to_have_text("49997,49998,49999,99999")
    visible(page, "button", "Select all 100,000").click()
    grid.expect_selected(100_000)
    screenshot(page)
