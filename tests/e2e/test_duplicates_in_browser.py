"""The Duplicates tab in a real JupyterLab, in headless Chromium, on the sandbox with labelled duplicates: find the
pairs, read their evidence side by side, mark one "not the same", export the worklist; the screenshot of the tab is
kept in docs/."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT, Lab
from .grid_page import GridOnPage
from .test_panels_in_browser import TIMEOUT, status, visible

#: The docs' screenshots are rewritten only when asked (ENSTOOLKIT_DOC_IMAGES=1),
#: otherwise they go with the test artifacts.
DOCS = (ROOT / "docs" / "images" if os.environ.get("ENSTOOLKIT_DOC_IMAGES")
        else ROOT / "test-artifacts" / "screenshots")
SETUP = """from enstoolkit.config import connect
from enstoolkit.widgets import Toolkit

conn = connect(supporters=1500, variant="labelled-duplicates")
kit = Toolkit(conn.ens, conn.encharge)
kit.widget.selected_index = 4
print("panel ready")
kit"""


def _notebook(folder: Path) -> Path:
    path = folder / "duplicates.ipynb"
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP)])
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, path)
    return path


@pytest.mark.e2e
@pytest.mark.slow
def test_duplicates_tab_find_mark_and_export(page: Page, lab: Lab, screenshot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name = lab.notebook(_notebook(tmp_path))
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{lab.url}/lab/tree/{name}?reset")
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=TIMEOUT)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    expect(page.locator(".jp-OutputArea-output.jp-RenderedText").filter(has_text="panel ready")).to_have_count(
        1, timeout=TIMEOUT)
    visible(page, "tab", "Duplicates").click()
    visible(page, "button", "Find duplicates").click()
    expect(status(page)).to_contain_text(re.compile(r"[\d,]+ probable duplicate pairs \([\d,]+ high\)"),
                                         timeout=120_000)
    found = int(re.search(r"([\d,]+) probable", status(page).inner_text()).group(1).replace(",", ""))  # type: ignore[union-attr]
    grid = GridOnPage(page)
    grid.wait_for_rows()
    titles = grid.titles()
    assert {"name_1", "email_1", "name_2", "email_2", "evidence"} <= set(titles)
    evidence = grid.column("evidence")
    assert any("nickname" in e for e in evidence) or any("typo" in e for e in evidence)
    grid.click_row(0)
    grid.expect_selected(1)
    visible(page, "button", "Not the same").click()
    expect(status(page)).to_contain_text("Marked 1 pair 'not the same person'")
    expect(page.locator(".enstk-status").filter(visible=True).first).to_be_visible()
    visible(page, "button", "Export worklist").click()
    expect(status(page)).to_contain_text("Worklist written")
    grid.wait_for_rows(rf"^{found - 1:,} rows" if found - 1 else r"^0 rows")
    screenshot(page)
    shot = screenshot(page.locator(".widget-tab").filter(visible=True).first, "-panel")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, DOCS / "duplicates-tab.png")
