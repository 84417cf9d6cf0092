"""``enstoolkit app`` (Voilà) in headless Chromium: open the page, search, select, tag with confirmation."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import polars as pl
import pytest
from playwright.sync_api import Page, expect

from enstoolkit.sandbox import Sandbox

from .conftest import App, start_app
from .grid_page import TIMEOUT, GridOnPage


def visible_button(page: Page, name: str):  # type: ignore[no-untyped-def]
    exact = re.compile(rf"^\s*{re.escape(name)}\s*$")
    return page.locator("button.jupyter-button").filter(has_text=exact).filter(visible=True).first


def status(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".enstk-status").filter(visible=True).first


def open_app(page: Page, app: App) -> None:
    page.set_default_timeout(TIMEOUT)
    page.goto(app.url, timeout=TIMEOUT)
    expect(page.get_by_role("tab").filter(has_text="Search").first).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("body")).not_to_contain_text("Traceback")


@pytest.mark.e2e
@pytest.mark.slow
def test_app_search_select_and_tag_with_confirmation(page: Page, sandbox_app: App, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_app(page, sandbox_app)
    expect(page).to_have_title("enstoolkit: Search, Tag, Process and Consent")
    expect(page.locator(".enstk-banner")).to_contain_text("Nothing you do here reaches a real ENS or Encharge account")
    page.locator(".widget-dropdown").filter(has_text="Find by").first.locator("select").select_option(
        label="latest modified")
    visible_button(page, "Search").click()
    expect(status(page)).to_contain_text(re.compile(r"Found \d+ supporters"))
    grid = GridOnPage(page)
    grid.wait_for_rows()
    grid.sort("supporterId", descending=True)
    grid.filter("email", ".org")
    grid.click_row(0)
    grid.click_row(2, shift=True)
    grid.expect_selected(3)
    chosen = sorted(e.strip().lower() for e in grid.column("email")[:3])
    screenshot(page, "-search")
    # export the selection: written to the --exports folder, and downloadable from the page
    page.locator(".widget-toggle-buttons").filter(visible=True).first.get_by_text("selection", exact=True).click()
    visible_button(page, "Export CSV").click()
    link = page.locator("a.enstk-download").filter(visible=True).first
    expect(link).to_have_text("download supporters.csv")
    with page.expect_download() as download:
        link.click()
    saved = pl.read_csv(download.value.path())
    assert sorted(e.strip().lower() for e in saved.get_column("email").to_list()) == chosen
    assert sandbox_app.exports is not None
    written = sorted(sandbox_app.exports.glob("supporters.csv"))
    assert written and pl.read_csv(written[0]).height == 3
    # tag them, after a preview and a confirmation
    page.get_by_role("tab").filter(has_text="Tag").first.click()
    expect(page.get_by_text("3 people from the selection").filter(visible=True).first).to_be_visible()
    page.get_by_placeholder("new tags, comma-separated").filter(visible=True).first.fill("app-test")
    visible_button(page, "Preview").click()
    summary = page.locator(".widget-html").filter(has_text="Press Confirm to send").filter(visible=True).first
    expect(summary).to_contain_text("will get app-test")
    expect(status(page)).to_contain_text("nothing has been sent yet")
    preview = GridOnPage(page)
    preview.wait_for_rows(r"^3 rows")
    assert sorted(e.lower() for e in preview.column("email")) == chosen
    confirm = visible_button(page, "Confirm")
    confirm.click()
    expect(status(page)).to_contain_text(re.compile(r"Done: \d+ tagged"))
    expect(confirm).to_be_disabled()
    assert "done" in preview.column("status")
    screenshot(page)
    screenshot(page.locator(".enstk-app").first, "-panel")


@pytest.mark.e2e
@pytest.mark.slow
def test_app_with_nothing_selected_sends_nothing(page: Page, sandbox_app: App) -> None:
    open_app(page, sandbox_app)
    page.get_by_role("tab").filter(has_text="Tag").first.click()
    expect(page.get_by_text("No people selected").filter(visible=True).first).to_be_visible()
    page.get_by_placeholder("new tags, comma-separated").filter(visible=True).first.fill("nobody")
    visible_button(page, "Preview").click()
    expect(status(page)).to_contain_text("at least one person")
    expect(visible_button(page, "Confirm")).to_be_disabled()


@pytest.mark.e2e
@pytest.mark.slow
def test_app_without_credentials_says_what_to_set(page: Page, tmp_path: Path, screenshot) -> None:  # type: ignore[no-untyped-def]
    app = start_app(cwd=tmp_path)
    try:
        printed = "".join(app.printed)
        assert "Not set: ENS_API_KEY, ENCHARGE_API_KEY" in printed and "enstoolkit app --sandbox" in printed
        page.set_default_timeout(TIMEOUT)
        page.goto(app.url, timeout=TIMEOUT)
        setup = page.locator(".enstk-setup")
        expect(setup).to_contain_text("The app is not connected to your accounts yet", timeout=TIMEOUT)
        expect(setup).to_contain_text("Not set: ENS_API_KEY, ENCHARGE_API_KEY")
        expect(setup).to_contain_text("export ENCHARGE_API_KEY=...")
        expect(setup).to_contain_text("enstoolkit app --sandbox")
        expect(page.locator("body")).not_to_contain_text("Traceback")
        expect(page.get_by_role("tab").filter(has_text="Search")).to_have_count(0)  # no sandbox in disguise
        screenshot(page)
        screenshot(page.locator(".enstk-app").first, "-panel")
    finally:
        rest = app.stop()
    assert "app stopped" in rest and app.proc.returncode == 0


@pytest.mark.e2e
@pytest.mark.slow
def test_app_on_configured_accounts_behind_a_token_never_prints_keys(page: Page, tmp_path: Path) -> None:
    with Sandbox(supporters=300, seed=3) as sb:  # the "configured accounts": keys and base URLs in the environment
        app = start_app(env=sb.environment(), cwd=tmp_path)
        try:
            base = app.url.split("?", 1)[0]
            token = app.url.split("token=", 1)[1]
            assert httpx.get(base, follow_redirects=False, timeout=30).status_code in (302, 403)  # no token, no page
            open_app(page, app)
            visible_button(page, "Search").click()
            expect(status(page)).to_contain_text(re.compile(r"Found \d+ supporters"))
        finally:
            app.stop()
        printed = "".join(app.printed)
    assert printed.count(token) == 1  # the link, printed once
    assert sb.ens_api_key not in printed and sb.encharge_api_key not in printed
    assert "your accounts (ENS at http://127.0.0.1" in printed and "app stopped" in printed
