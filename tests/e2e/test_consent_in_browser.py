"""The Consent tab in a real JupyterLab, in headless Chromium: build the plan, look at the review rows, preview,
confirm once; the screenshot of the tab is kept in docs/."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Page, expect

from .conftest import ROOT, Lab
from .grid_page import GridOnPage
from .test_panels_in_browser import open_tab, status, visible

DOCS = ROOT / "docs" / "images"


@pytest.mark.e2e
@pytest.mark.slow
def test_consent_tab_plan_review_preview_and_confirm(page: Page, lab: Lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_tab(page, lab, "Consent", ready="opt-in questions in the account")
    visible(page, "button", "Build plan").click()
    expect(status(page)).to_contain_text("Plan ready: nothing has been sent", timeout=120_000)
    counts = page.locator(".enstk-consent-counts").filter(visible=True).first
    expect(counts).to_contain_text("unsubscribe")
    unsubscribes = int(re.search(r"unsubscribe\s+([\d,]+)", counts.inner_text()).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert unsubscribes > 0
    visible(page, "button", "review").click()
    grid = GridOnPage(page)
    grid.wait_for_rows()
    grid.wait_for_column("action", {"review"})
    assert "ensAnswerDate" in grid.titles() and "enchargeUnsubscribed" in grid.titles()
    confirm = visible(page, "button", "Confirm")
    expect(confirm).to_be_disabled()  # not before a preview
    visible(page, "button", "Preview changes").click()
    summary = page.locator(".widget-html").filter(has_text="Press Confirm to send them").filter(visible=True).first
    expect(summary).to_contain_text(f"{unsubscribes:,} unsubscribes in Encharge")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(status(page)).to_contain_text(f"Done: {unsubscribes:,} changes made and logged", timeout=120_000)
    expect(confirm).to_be_disabled()  # a second click has nothing to send
    visible(page, "button", "unsubscribe").click()
    grid.wait_for_rows()
    grid.wait_for_column("action", {"unsubscribe"})  # the rows of that action, not the ones shown before
    assert set(grid.column("status")) == {"done"}
    visible(page, "button", "review").click()
    grid.wait_for_rows()
    grid.wait_for_column("action", {"review"})
    assert set(grid.column("status")) == {"skipped"}
    screenshot(page)
    shot = screenshot(page.locator(".widget-tab").filter(visible=True).first, "-panel")
    DOCS.mkdir(exist_ok=True)
    shutil.copy(shot, DOCS / "consent-tab.png")
