"""The audit notebooks' charts in JupyterLab, and the Voila app, with every request off this machine blocked.

Altair's default renderer loads Vega from a CDN; the notebooks' charts draw themselves as SVG in the
kernel instead, so they show with no network. Counted: the chart outputs drawn, the requests blocked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from .conftest import ROOT, App, Lab, record_counts

TIMEOUT = 180_000
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class LoopbackOnly:
    """Lets requests to this machine (and data:/blob: URIs) through, blocks and counts every other one."""

    def __init__(self, page: Page) -> None:
        self.blocked: list[str] = []
        page.route("**/*", self.handle)

    def handle(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "file://")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


@pytest.mark.parametrize(("notebook", "charts", "last"), [
    ("supporter_audit.ipynb", 1, "audit_summary.csv:"),
    ("optin_analysis.ipynb", 4, "optin_cohorts.csv:"),
])
def test_the_notebooks_draw_their_charts_with_no_network(page: Page, lab: Lab, notebook: str, charts: int,
                                                         last: str) -> None:
    offline = LoopbackOnly(page)
    name = lab.notebook(ROOT / "notebooks" / notebook)
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{lab.url}/lab/tree/{name}?reset")
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=TIMEOUT)
    page.evaluate("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    done = page.locator(".jp-OutputArea-output.jp-RenderedText").filter(has_text=last)
    expect(done).to_have_count(1, timeout=TIMEOUT)
    drawn = page.locator(".jp-OutputArea-output.jp-RenderedSVG")
    expect(drawn).to_have_count(charts)
    marks = page.locator(".jp-RenderedSVG svg path, .jp-RenderedSVG svg rect, .jp-RenderedSVG img")
    assert marks.count() >= charts
    text = page.locator(".jp-Notebook").inner_text()
    assert "Error loading script" not in text and "Traceback" not in text
    assert offline.blocked == []
    record_counts(f"JupyterLab {notebook}", {"charts_drawn": drawn.count(), "blocked_requests": len(offline.blocked)})


def test_the_voila_app_fetches_nothing_off_this_machine(page: Page, sandbox_app: App) -> None:
    offline = LoopbackOnly(page)
    page.set_default_timeout(TIMEOUT)
    page.goto(sandbox_app.url, timeout=TIMEOUT)
    expect(page.get_by_role("tab").filter(has_text="Search").first).to_be_visible(timeout=TIMEOUT)
    page.wait_for_load_state("networkidle")
    assert "Error loading script" not in page.locator("body").inner_text()
    assert offline.blocked == []
    record_counts("Voila app", {"blocked_requests": len(offline.blocked)})


def test_the_counts_can_fail(page: Page, tmp_path: Path) -> None:
    """A request off this machine is caught by the same blocker."""
    offline = LoopbackOnly(page)
    html = tmp_path / "p.html"
    html.write_text('<img src="https://cdn.jsdelivr.net/npm/vega@5/logo.png">')
    page.goto(html.as_uri())
    assert offline.blocked == ["https://cdn.jsdelivr.net/npm/vega@5/logo.png"]
