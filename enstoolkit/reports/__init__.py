"""Reports a trustee would read: self-contained HTML (no code, no network), CSV links, a findings workbook.

- :func:`audit_report` and :func:`optin_report` build one HTML page each from the frames of
  :mod:`enstoolkit.analysis`: tables formatted with great_tables, charts drawn to inline SVG with
  vl-convert, every table downloadable as CSV from the page, "synthetic data" on the sandbox's.
- :func:`findings_workbook` writes the findings as an Excel workbook, one sheet per check.
- :func:`pull`, :func:`analyse` and :func:`write_reports` are what ``enstoolkit audit`` runs (no
  notebook kernel), writing the folder whole or not at all.
- The chart functions (:func:`findings_chart`, ...) are the ones the notebooks show.

Example:
    >>> from enstoolkit.analysis import run_audit
    >>> page = audit_report(run_audit(pl.DataFrame({"supporterId": [1], "Email Address": ["a@x.org"]})),
    ...                     synthetic=False, source="a frame", encharge=False, erasures=False)
    >>> "Every supporter has a valid email address." in page
    True
"""

from .audit import AUDIT_CHECKS, CHANGES, audit_report, check_sentence, checks_run
from .build import AuditData, Results, analyse, pull, write_reports
from .charts import (
    Chart,
    acquisition_chart,
    chart_svg,
    findings_chart,
    monthly_chart,
    rates_chart,
    retention_chart,
    use_offline_charts,
)
from .folder import ReportFolderError, report_folder
from .optins import optin_report
from .workbook import findings_workbook

__all__ = [
    "AUDIT_CHECKS", "CHANGES", "AuditData", "Chart", "ReportFolderError", "Results", "acquisition_chart", "analyse",
    "audit_report", "chart_svg", "check_sentence", "checks_run", "findings_chart", "findings_workbook",
    "monthly_chart", "optin_report", "pull", "rates_chart", "report_folder", "retention_chart", "use_offline_charts",
    "write_reports",
]
