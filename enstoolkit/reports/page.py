"""The page around a report: one self-contained HTML file (styles inline, charts as inline SVG, no script).

Nothing in a page refers to anything outside it: no stylesheet, font, script or image is
fetched, so the file opens the same from disk, from an email attachment, or with the network
off. A report on synthetic data carries a "synthetic data" banner at the top of the screen and on
every printed page.

Example:
    >>> page = render_page("Audit", ["<p>hello</p>"], synthetic=True, source="the sandbox")
    >>> "Synthetic data" in page and "<script" not in page and "https:" not in page
    True
"""

from __future__ import annotations

import datetime as dt
import html as _html
from collections.abc import Sequence

__all__ = ["SYNTHETIC_NOTE", "chart_block", "code_block", "render_page", "section"]

SYNTHETIC_NOTE = "Synthetic data: made up by the enstoolkit sandbox, not a real account"

_STYLE = """
:root { --high: #c0392b; --medium: #e67e22; --low: #7f8c8d; --ink: #222; --muted: #5d6d7e; }
* { box-sizing: border-box; }
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 0 24px 48px; }
header.report { padding: 18px 0 6px; border-bottom: 1px solid #ddd; margin-bottom: 14px; }
header.report h1 { margin: 0 0 4px; font-size: 26px; }
header.report p { margin: 0; color: var(--muted); }
.synthetic { position: sticky; top: 0; z-index: 10; background: #fff3cd; color: #7a5a00; border-bottom: 1px solid
             #e0c36a; text-align: center; font-weight: 600; padding: 6px; }
h2 { font-size: 20px; margin: 28px 0 8px; border-bottom: 1px solid #eee; padding-bottom: 4px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 10px 0 14px; }
.card { border: 1px solid #ddd; border-left: 6px solid var(--muted); border-radius: 4px; padding: 8px 14px;
        min-width: 150px; }
.card .n { font-size: 28px; font-weight: 700; display: block; }
.card.high { border-left-color: var(--high); } .card.medium { border-left-color: var(--medium); }
.card.low { border-left-color: var(--low); } .card.unknown { border-left-color: #34495e; }
ul.checks { list-style: none; padding: 0; margin: 6px 0; }
ul.checks li { padding: 4px 0 4px 12px; border-left: 4px solid transparent; margin: 2px 0; }
ul.checks li.high { border-left-color: var(--high); } ul.checks li.medium { border-left-color: var(--medium); }
ul.checks li.low { border-left-color: var(--low); } ul.checks li.clean { color: var(--muted); }
.sev { display: inline-block; min-width: 62px; font-size: 12px; font-weight: 700; text-transform: uppercase; }
.sev.high { color: var(--high); } .sev.medium { color: var(--medium); } .sev.low { color: var(--low); }
.notes { background: #fdecea; border: 1px solid #f5b7b1; border-radius: 4px; padding: 8px 14px; margin: 10px 0; }
.notes.info { background: #eef5fb; border-color: #aed6f1; }
.notes h3 { margin: 0 0 4px; font-size: 15px; }
.notes ul { margin: 4px 0; padding-left: 20px; }
.chart { margin: 12px 0; overflow-x: auto; } .chart svg { max-width: 100%; height: auto; }
.table { margin: 10px 0 18px; overflow-x: auto; }
.under { font-size: 13px; color: var(--muted); margin: 4px 0; }
a.csv { font-weight: 600; }
details.code { margin: 16px 0; } details.code pre { background: #f6f8fa; padding: 10px; overflow-x: auto;
               font-size: 12px; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); border-top: 1px solid #eee; padding-top: 8px; }
@media print {
  .synthetic { position: fixed; top: 0; left: 0; right: 0; }
  main { padding-top: 36px; }
  a.csv { display: none; }
}
"""


def render_page(title: str, blocks: Sequence[str], *, synthetic: bool, source: str,
                when: dt.datetime | None = None, subtitle: str | None = None) -> str:
    """The whole HTML document: banner (when ``synthetic``), title, where the data came from, the blocks.

    ``blocks`` are HTML fragments built by the report modules (already escaped).

    Example:
        >>> "<h1>Audit</h1>" in render_page("Audit", [], synthetic=False, source="your accounts")
        True
    """
    moment = (when or dt.datetime.now(dt.UTC)).strftime("%d %B %Y, %H:%M UTC")
    banner = f'<div class="synthetic" role="note">{_html.escape(SYNTHETIC_NOTE)}</div>' if synthetic else ""
    sub = f"<p>{_html.escape(subtitle)}</p>" if subtitle else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        f"<title>{_html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>{banner}<main>"
        f"<header class=\"report\"><h1>{_html.escape(title)}</h1>{sub}"
        f"<p>Data: {_html.escape(source.rstrip('.'))}. Made {moment} by enstoolkit.</p></header>\n"
        + "\n".join(blocks)
        + f"<footer>{_html.escape(title)}. {('Synthetic data. ' if synthetic else '')}Made with enstoolkit; "
          "the CSV links download each table whole.</footer></main></body></html>\n"
    )


def section(heading: str, *blocks: str, anchor: str | None = None) -> str:
    """A titled part of a report.

    Example:
        >>> section("Checks", "<p>x</p>", anchor="checks")
        '<section id="checks"><h2>Checks</h2><p>x</p></section>'
    """
    ident = f' id="{_html.escape(anchor)}"' if anchor else ""
    return f"<section{ident}><h2>{_html.escape(heading)}</h2>{''.join(blocks)}</section>"


def chart_block(svg: str, *, label: str) -> str:
    """An SVG chart, inline, with a text label for screen readers.

    Example:
        >>> chart_block("<svg></svg>", label="Findings")
        '<figure class="chart" role="img" aria-label="Findings"><svg></svg></figure>'
    """
    return f'<figure class="chart" role="img" aria-label="{_html.escape(label)}">{svg}</figure>'


def code_block(title: str, code: str) -> str:
    """Code shown on request (``--show-code``), folded under a heading.

    Example:
        >>> "<pre><code>x = 1</code></pre>" in code_block("Cell", "x = 1")
        True
    """
    return (f'<details class="code" open><summary>{_html.escape(title)}</summary>'
            f"<pre><code>{_html.escape(code)}</code></pre></details>")
