"""The audit's and the opt-in analysis's charts, and ways to draw them with no network.

Each chart function takes the frame an analysis function returns and gives a :class:`Chart`: a
Vega-Lite spec that shows itself as SVG drawn in the kernel (in JupyterLab, Voila and exported
notebooks alike), and turns into an altair chart with ``to_altair()``. The HTML reports draw them
with :func:`chart_svg` (``vl-convert-python``: Vega-Lite compiled and drawn in-process, no browser,
no CDN), so a report opened from disk with the network off shows every chart; building a report
needs no altair import (a second and more on 2 cores).

For altair charts of your own, :func:`use_offline_charts` switches altair to a renderer that needs no
network: static SVG (the default; also right for exported notebooks), or altair's own
``JupyterChart`` widget with the Vega JavaScript bundled from ``vl-convert`` (``interactive=True``:
tooltips, but it needs the widget to be live).

Example:
    >>> summary = pl.DataFrame({"check": ["invalid email"], "severity": ["high"], "findings": [3]})
    >>> chart_svg(findings_chart(summary)).startswith("<svg")
    True
"""

from __future__ import annotations

from typing import Any

import polars as pl

__all__ = ["SEVERITY_COLOURS", "VEGALITE_VERSION", "Chart", "acquisition_chart", "chart_svg", "findings_chart",
           "monthly_chart", "rates_chart", "retention_chart", "use_offline_charts"]

#: The Vega-Lite version the specs are written for (one that vl-convert draws).
VEGALITE_VERSION = "5.20"

#: Severity to colour, most severe first (the same in every chart and report).
SEVERITY_COLOURS = {"high": "#c0392b", "medium": "#e67e22", "low": "#7f8c8d"}


def _alt() -> Any:
    try:
        import altair as alt
    except ImportError as exc:
        from ..errors import MissingExtra

        raise MissingExtra("report", "drawing charts") from exc
    return alt


def _values(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows for a Vega-Lite ``data.values`` (dates as ISO text)."""
    temporal = [c for c, t in df.schema.items() if t.is_temporal()]
    return df.with_columns(pl.col(c).cast(pl.String) for c in temporal).to_dicts()


def _tip(field: str, kind: str = "quantitative", fmt: str | None = None) -> dict[str, Any]:
    return {"field": field, "type": kind, **({"format": fmt} if fmt else {})}


class Chart(dict[str, Any]):
    """A Vega-Lite chart (the spec, a dict) that shows itself as SVG drawn in the kernel: no script, no network.

    ``to_altair()`` gives the same chart as an altair object, to change it further.

    Example:
        >>> c = Chart({"mark": "bar", "data": {"values": [{"a": 1}]}, "encoding": {"x": {"field": "a"}}})
        >>> sorted(c._repr_mimebundle_())
        ['image/svg+xml']
    """

    def to_dict(self, validate: bool = False) -> dict[str, Any]:  # the name altair and vl-convert use
        """The Vega-Lite spec."""
        return dict(self)

    def to_altair(self) -> Any:
        """The chart as an altair chart.

        Example:
            >>> type(Chart({"mark": "bar", "data": {"values": []}}).to_altair()).__name__
            'Chart'
        """
        return _alt().Chart.from_dict(dict(self), validate=False)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"image/svg+xml": chart_svg(self)}


def findings_chart(summary: pl.DataFrame) -> Chart:
    """Findings per check, coloured by severity (``summary`` as :func:`enstoolkit.analysis.summarise` gives it).

    Example:
        >>> s = pl.DataFrame({"check": ["a", "b"], "severity": ["high", "low"], "findings": [3, 1]})
        >>> findings_chart(s)["mark"]["type"]
        'bar'
    """
    return Chart({
        "title": "Audit findings by check", "width": 480,
        "data": {"values": _values(summary.select("check", "severity", "findings"))},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "findings", "type": "quantitative", "title": "findings"},
            "y": {"field": "check", "type": "nominal", "sort": "-x", "title": None},
            "color": {"field": "severity", "type": "nominal",
                      "scale": {"domain": list(SEVERITY_COLOURS), "range": list(SEVERITY_COLOURS.values())}},
            "tooltip": [_tip("check", "nominal"), _tip("severity", "nominal"), _tip("findings", fmt=",")],
        },
    })


def rates_chart(rates: pl.DataFrame) -> Chart:
    """Opt-in rate per question (``rates`` from :func:`enstoolkit.analysis.optin_rates`).

    Example:
        >>> r = pl.DataFrame({"question": ["Q"], "opted_in": [2], "answered": [3], "rate": [0.4]})
        >>> rates_chart(r)["encoding"]["x"]["field"]
        'rate'
    """
    return Chart({
        "title": "Opt-in rate by question", "width": 420,
        "data": {"values": _values(rates.select("question", "opted_in", "answered", "rate"))},
        "mark": {"type": "bar", "color": "#2e86de"},
        "encoding": {
            "x": {"field": "rate", "type": "quantitative", "axis": {"format": "%"},
                  "title": "opted in (share of all supporters)"},
            "y": {"field": "question", "type": "nominal", "sort": "-x", "title": None},
            "tooltip": [_tip("question", "nominal"), _tip("opted_in", fmt=","), _tip("answered", fmt=","),
                        _tip("rate", fmt=".1%")],
        },
    })


def monthly_chart(trend: pl.DataFrame, question: str) -> Chart:
    """Opt-ins and opt-outs per month for one question (``trend`` from :func:`enstoolkit.analysis.monthly_trend`).

    Example:
        >>> t = pl.DataFrame({"question": ["Q"], "month": [dt.date(2026, 1, 1)], "opt_ins": [2], "opt_outs": [1]})
        >>> monthly_chart(t, "Q")["mark"]["type"]
        'line'
    """
    one = trend.filter(pl.col("question") == question).unpivot(
        index=["question", "month"], on=["opt_ins", "opt_outs"], variable_name="kind", value_name="people")
    return Chart({
        "title": f"{question}: opt-ins and opt-outs per month", "width": 560,
        "data": {"values": _values(one)},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "month", "type": "temporal", "title": None},
            "y": {"field": "people", "type": "quantitative"},
            "color": {"field": "kind", "type": "nominal",
                      "scale": {"domain": ["opt_ins", "opt_outs"], "range": ["#27ae60", "#c0392b"]}},
            "tooltip": [_tip("month", "temporal"), _tip("kind", "nominal"), _tip("people", fmt=",")],
        },
    })


def acquisition_chart(pages: pl.DataFrame, question: str) -> Chart:
    """Opt-in rate by acquisition page (``pages`` from :func:`enstoolkit.analysis.by_acquisition`).

    Example:
        >>> p = pl.DataFrame({"campaignId": [1], "page": ["Sign up"], "supporters": [4], "opted_in": [1],
        ...                   "rate": [0.25]})
        >>> acquisition_chart(p, "Q")["encoding"]["y"]["field"]
        'page'
    """
    placed = pages.filter(pl.col("campaignId").is_not_null()).select("page", "supporters", "opted_in", "rate")
    return Chart({
        "title": "Opt-in rate by acquisition page", "width": 420,
        "data": {"values": _values(placed)},
        "mark": {"type": "bar", "color": "#8e44ad"},
        "encoding": {
            "x": {"field": "rate", "type": "quantitative", "axis": {"format": "%"}, "title": f"{question} rate"},
            "y": {"field": "page", "type": "nominal", "sort": "-x", "title": None},
            "tooltip": [_tip("page", "nominal"), _tip("supporters", fmt=","), _tip("opted_in", fmt=","),
                        _tip("rate", fmt=".1%")],
        },
    })


def retention_chart(cohort: pl.DataFrame, question: str) -> Chart:
    """Share still opted in, by sign-up month (``cohort`` from :func:`enstoolkit.analysis.cohorts`).

    Example:
        >>> c = pl.DataFrame({"cohort": [dt.date(2026, 1, 1)], "signed_up": [3], "joined_opted_in": [2],
        ...                   "still_opted_in": [1], "retention": [0.5]})
        >>> retention_chart(c, "Q")["encoding"]["y"]["field"]
        'retention'
    """
    return Chart({
        "title": f"{question}: retention by sign-up month", "width": 560,
        "data": {"values": _values(cohort)},
        "mark": {"type": "bar", "color": "#16a085"},
        "encoding": {
            "x": {"field": "cohort", "type": "temporal", "title": "sign-up month"},
            "y": {"field": "retention", "type": "quantitative", "axis": {"format": "%"}, "title": "still opted in"},
            "tooltip": [_tip("cohort", "temporal"), _tip("signed_up", fmt=","), _tip("joined_opted_in", fmt=","),
                        _tip("still_opted_in", fmt=","), _tip("retention", fmt=".1%")],
        },
    })


def chart_svg(chart: Any) -> str:
    """The chart drawn as an SVG document (text), in-process: no browser, no network.

    Example:
        >>> s = pl.DataFrame({"check": ["a"], "severity": ["low"], "findings": [1]})
        >>> "Audit findings by check" in chart_svg(findings_chart(s))
        True
    """
    try:
        import vl_convert as vlc
    except ImportError as exc:
        from ..errors import MissingExtra

        raise MissingExtra("report", "drawing charts without a browser") from exc
    spec = dict(chart.to_dict(validate=False) if hasattr(chart, "to_dict") else chart)
    # Text is measured here but drawn by the reader's browser, in its own font: Arial's metrics (Liberation
    # Sans is metric-compatible) where it exists, and room on the left for a wider fallback font.
    spec.setdefault("padding", {"left": 48, "right": 12, "top": 8, "bottom": 8})
    spec.setdefault("config", {"font": "Arial, 'Liberation Sans', Helvetica, sans-serif"})
    return str(vlc.vegalite_to_svg(spec, vl_version=VEGALITE_VERSION))


def use_offline_charts(*, interactive: bool = False) -> str:
    """Make altair draw charts with no network (JupyterLab, Voila, exported notebooks); returns the renderer's name.

    Altair's default renderer loads Vega from a CDN: with no network every chart shows "Error
    loading script". The default here draws each chart to SVG in the kernel (``vl-convert``).
    ``interactive=True`` uses altair's ``jupyter`` renderer offline instead: the JupyterChart
    widget with the Vega JavaScript inlined from ``vl-convert`` (tooltips, but a live widget).

    Example:
        >>> use_offline_charts()
        'svg'
    """
    alt = _alt()
    if interactive:
        alt.renderers.enable("jupyter", offline=True)
        return "jupyter"
    alt.renderers.enable("svg")
    return "svg"
