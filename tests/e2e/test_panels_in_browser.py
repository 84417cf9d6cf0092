"""The panels in a real JupyterLab, in headless Chromium: run the actions notebook, then use it."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT, Lab

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


def visible(page: Page, role: str, name: str):  # type: ignore[no-untyped-def]
    """The visible widget button (or tab) with exactly this text."""
    exact = re.compile(rf"^\s*{re.escape(name)}\s*$")
    if role == "tab":
        return page.get_by_role("tab").filter(has_text=exact).filter(visible=True).first
    return page.locator("button.jupyter-button").filter(has_text=exact).filter(visible=True).first


def status(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".enstk-status").filter(visible=True).first


@pytest.mark.e2e
def test_search_and_select(page: Page, lab: Lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_and_run(page, lab)
    visible(page, "tab", "Search").click()
    visible(page, "button", "Search").click()
    expect(status(page)).to_contain_text(re.compile(r"Found \d+ supporters"))
    rows = page.locator(".enstk-table select").filter(visible=True).first
    rows.select_option(index=[0, 2])
    expect(page.get_by_text(re.compile(r"2 selected")).filter(visible=True).first).to_be_visible()
    screenshot(page)


@pytest.mark.e2e
def test_tag_with_confirmation(page: Page, lab: Lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_and_run(page, lab)
    visible(page, "button", "Search").click()
    expect(status(page)).to_contain_text(re.compile(r"Found \d+ supporters"))
    page.locator(".enstk-table select").filter(visible=True).first.select_option(index=[0, 1, 2, 3])
    visible(page, "tab", "Tag").click()
    expect(page.get_by_text("people from the selection").filter(visible=True).first).to_be_visible()
    page.get_by_placeholder("new tags, comma-separated").filter(visible=True).first.fill("browser-test")
    visible(page, "button", "Preview").click()
    summary = page.locator(".widget-html").filter(has_text="Press Confirm to send").filter(visible=True).first
    expect(summary).to_contain_text("will get browser-test")
    confirm = visible(page, "button", "Confirm")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(status(page)).to_contain_text(re.compile(r"Done: \d+ tagged"))
    expect(confirm).to_be_disabled()
    screenshot(page)


@pytest.mark.e2e
def test_process_a_data_capture_page(page: Page, lab: Lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_and_run(page, lab)
    visible(page, "tab", "Process").click()
    expect(status(page)).to_contain_text("Newsletter Sign Up")
    email = page.locator(".widget-text").filter(has_text="Email Address").filter(visible=True).first.locator("input")
    email.fill("browser.signup@example.org")
    page.locator(".widget-text").filter(has_text="First Name").filter(visible=True).first.locator("input").fill("Bea")
    page.get_by_text("Marketing Optin", exact=True).filter(visible=True).first.click()
    visible(page, "button", "Preview").click()
    expect(page.locator(".widget-html").filter(has_text="LIVE submissions").filter(visible=True).first).to_be_visible()
    visible(page, "button", "Confirm").click()
    expect(status(page)).to_contain_text("Done: 1 processed, 0 not.")
    expect(page.locator(".enstk-table select").filter(visible=True).first).to_contain_text("done")
    screenshot(page)
