"""The HTML reports opened from disk in headless Chromium with every request outside ``file://`` blocked.

Each report must draw all its charts (inline SVG), fetch nothing, show no "Error loading script"
and no code unless ``--show-code`` asked for it; the first screen of each is saved to docs/images.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route

from enstoolkit.config import audit_settings, connect
from enstoolkit.reports import analyse, pull, write_reports

from .conftest import record_counts

ROOT = Path(__file__).resolve().parents[2]
#: The docs' screenshots are rewritten only when asked (ENSTOOLKIT_DOC_IMAGES=1),
#: otherwise they go with the test artifacts.
IMAGES = (ROOT / "docs" / "images" if os.environ.get("ENSTOOLKIT_DOC_IMAGES")
          else ROOT / "test-artifacts" / "screenshots")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    base = tmp_path_factory.mktemp("reports")
    conn = connect(supporters=1500, environ={})
    results = analyse(pull(conn, audit_settings(conn)))
    write_reports(base / "plain", results)
    write_reports(base / "code", results, show_code=True)
    conn.close()
    yield {"plain": base / "plain", "code": base / "code"}


class Offline:
    """Blocks every request that is not for a local file (or data: URI), and counts them and failures."""

    def __init__(self, page: Page) -> None:
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.console: list[str] = []
        page.route("**/*", self.handle)
        page.on("requestfailed", lambda request: self.failed.append(request.url))
        page.on("console", lambda message: self.console.append(message.text))

    def handle(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


def open_offline(page: Page, path: Path) -> Offline:
    offline = Offline(page)
    page.goto(path.as_uri(), wait_until="load")
    return offline


@pytest.mark.parametrize(("report", "charts", "image"), [
    ("supporter_audit.html", 1, "report-audit-first-screen.png"),
    ("optin_analysis.html", 4, "report-optins-first-screen.png"),
])
def test_report_draws_every_chart_offline_with_no_request(page: Page, reports: dict[str, Path], report: str,
                                                          charts: int, image: str) -> None:
    offline = open_offline(page, reports["plain"] / report)
    figures = page.locator("figure.chart")
    drawn = page.locator("figure.chart svg, figure.chart canvas")
    marks = page.locator("figure.chart svg path, figure.chart svg rect, figure.chart svg line")
    assert figures.count() == charts
    assert drawn.count() == charts  # every chart drew
    assert marks.count() > 10 * charts  # with marks in it, not an empty frame
    text = page.locator("body").inner_text()
    assert "Error loading script" not in text
    assert page.locator("pre code, .jp-InputArea, .input_area, details.code").count() == 0  # no code
    assert page.locator(".synthetic").first.is_visible() and "Synthetic data" in text
    tables = page.locator("div.table")
    links = page.locator('div.table a.csv[download][href^="data:text/csv"]')
    assert tables.count() >= 2 and links.count() == tables.count()  # every table downloadable
    assert "shape: (" not in text and "…" not in text.replace("–", "")  # no polars repr, no cut text
    assert offline.blocked == [] and offline.failed == []
    assert not [m for m in offline.console if "error" in m.lower()]
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / image))  # the first screen, as a reader sees it
    record_counts(report, {"charts_drawn": drawn.count(), "tables": tables.count(), "csv_links": links.count(),
                    "blocked_requests": len(offline.blocked), "failed_requests": len(offline.failed)})


def test_audit_first_screen_answers_the_question(page: Page, reports: dict[str, Path]) -> None:
    open_offline(page, reports["plain"] / "supporter_audit.html")
    cards = page.locator("#by-severity .card")
    assert cards.count() >= 3
    assert page.locator("#by-severity").is_visible() and page.locator("#checks").is_visible()
    first = page.locator("#checks li").first
    assert "Encharge would still email them" in first.inner_text()  # the most urgent check first
    assert page.locator("#checks li").count() >= 9  # one sentence per check, found something or not


def test_a_csv_link_downloads_the_whole_table(page: Page, reports: dict[str, Path]) -> None:
    open_offline(page, reports["plain"] / "supporter_audit.html")
    link = page.locator('[data-table="audit_summary"] a.csv')
    with page.expect_download() as info:
        link.click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    summary = (reports["plain"] / "audit_summary.csv").read_text()
    assert text.splitlines() == summary.splitlines()


def test_code_is_shown_only_when_asked(page: Page, reports: dict[str, Path]) -> None:
    offline = open_offline(page, reports["code"] / "supporter_audit.html")
    assert page.locator("details.code pre code").count() >= 5
    assert "run_audit(" in page.locator("#code").inner_text()
    assert offline.blocked == [] and offline.failed == []


def test_the_blocker_counts_what_a_page_would_fetch(page: Page, tmp_path: Path) -> None:
    """The counts above can fail: a page that loads vega from a CDN is caught (blocked, failed, not drawn)."""
    page_with_cdn = tmp_path / "cdn.html"
    page_with_cdn.write_text('<html><body><script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
                             '<figure class="chart"></figure></body></html>')
    offline = open_offline(page, page_with_cdn)
    assert offline.blocked == ["https://cdn.jsdelivr.net/npm/vega@5"]
    assert len(offline.failed) == 1
    assert page.locator("figure.chart svg, figure.chart canvas").count() == 0
