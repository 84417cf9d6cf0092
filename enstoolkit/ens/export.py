"""ENS export jobs: the whole supporter file (or every transaction) in a handful of requests.

POST /exportjob for a query saved in the dashboard, poll GET /exportjob/{id} until it
completes, download the CSV (streamed to a temporary file), then read it with dtypes
computed once from its header (:func:`export_layout`) and cast column by column
(:func:`enstoolkit.frames.cast_text`): no value is guessed, a value that does not fit its
column raises naming the column.

Example:
    >>> export_layout(["supporterId", "Email Address", "createdOn", "Marketing Optin"], optins={"Marketing Optin"})
    {'supporterId': Int64, 'Email Address': String, 'createdOn': Date, 'Marketing Optin': Boolean}
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import APIError, EnstoolkitError, ValidationError
from ..frames import cast_text, empty_frame
from ..http import json_or_none
from ..schemas import ens as schema
from ..validate import check_choice
from .core import ENSCore

__all__ = ["EXPORT_FILE_TYPES", "EXPORT_FORMATS", "ExportMethods", "export_layout", "read_export_csv"]

EXPORT_FORMATS = ("User data", "Transaction", "Hybrid")
EXPORT_FILE_TYPES = ("csv", "standardcsv")
ID_COLUMNS = frozenset({"supporterId", "Supporter ID"})
BOOLEAN_COLUMNS = frozenset({"suppressed", "Suppressed"})
DATE_COLUMNS = frozenset({"createdOn", "modifiedOn", "Created On", "Modified On", "Date Created", "Date Modified"})


def export_layout(header: Sequence[str], *, optins: Iterable[str] = (), questions: Iterable[str] = ()
                  ) -> dict[str, pl.DataType]:
    """The dtype of each column of a supporter export, decided once from the header.

    Supporter ids are Int64; ``suppressed`` and the opt-in questions Boolean; creation and
    modification dates, and each question's ``"<question> Date"``, Date; the rest String.

    Example:
        >>> export_layout(["Supporter ID", "Date Created", "Q", "Q Date"], questions=["Q"])
        {'Supporter ID': Int64, 'Date Created': Date, 'Q': String, 'Q Date': Date}
    """
    optin = set(optins)
    dated = {f"{q} Date" for q in [*questions, *optin]}
    layout: dict[str, pl.DataType] = {}
    for name in header:
        if name in ID_COLUMNS:
            layout[name] = pl.Int64()
        elif name in BOOLEAN_COLUMNS or name in optin:
            layout[name] = pl.Boolean()
        elif name in DATE_COLUMNS or name in dated:
            layout[name] = pl.Date()
        else:
            layout[name] = pl.String()
    return layout


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file (an empty list for an empty file)."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(csv.reader(handle), [])


def read_export_csv(path: Path, layout: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Read an export CSV as text, then cast each column to its dtype in ``layout`` (others stay String).

    Example:
        >>> import tempfile
        >>> f = Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = f.write_text("supporterId,suppressed\\n7,false\\n")
        >>> read_export_csv(f, {"supporterId": pl.Int64(), "suppressed": pl.Boolean()}).row(0)
        (7, False)
    """
    header = csv_header(path)
    if not header:
        return empty_frame(dict(layout))
    raw = pl.read_csv(path, schema={name: pl.String() for name in header}, has_header=True, encoding="utf8-lossy")
    return pl.DataFrame([cast_text(raw.get_column(name), layout.get(name, pl.String()), name) for name in header])


class ExportMethods(ENSCore):
    """Export-job methods of :class:`enstoolkit.ENSClient`."""

    def run_export_job(self, query_name: str, *, format: str = "User data", field_group: str | None = None,
                       file_type: str = "csv", poll_interval: float = 0.5, timeout: float = 600.0) -> Path:
        """POST /exportjob, poll until it completes (less often as it waits), download the file.

        Returns the path of a temporary file, which the caller deletes.

        Example:
            >>> from enstoolkit import ENSClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=20) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     path = ens.run_export_job("All supporters")
            ...     path.read_text().splitlines()[0].split(",")[0]
            'supporterId'
        """
        if not isinstance(query_name, str) or not query_name.strip():
            raise ValidationError("query_name", query_name, "the name of a query saved in the ENS dashboard")
        check_choice("format", format, EXPORT_FORMATS)
        check_choice("file_type", file_type, EXPORT_FILE_TYPES)
        if not poll_interval > 0 or not timeout > 0:
            raise ValidationError("poll_interval/timeout", (poll_interval, timeout), "positive seconds")
        body: dict[str, Any] = {"displayUserDataInTransactionExport": False, "applyCustomReferenceNames": False,
                                "fileType": file_type, "queryName": query_name, "format": format}
        if field_group is not None:
            body["fieldGroup"] = field_group
        job = json_or_none(self.send("POST", "/exportjob", json=body, retry=True))
        if not isinstance(job, Mapping) or job.get("id") is None:
            raise APIError("ENS", 200, "export job answered without an id", method="POST", path="/exportjob")
        job_id = int(job["id"])
        deadline = time.monotonic() + timeout
        status: Mapping[str, Any] = job
        wait = poll_interval
        while str(status.get("status")) != "completed":
            if time.monotonic() > deadline:
                raise EnstoolkitError(f"ENS export job {job_id} did not complete within {timeout:.0f} s")
            time.sleep(wait)
            wait = min(wait * 1.5, 10.0)  # each poll is a request from the hourly budget
            answer = json_or_none(self.send("GET", f"/exportjob/{job_id}"))
            status = answer if isinstance(answer, Mapping) else {}
        download = f"/exportjob/{job_id}/download"
        url = str(status.get("url") or "")
        if "/ens/service/" in url:
            download = "/" + url.split("/ens/service/", 1)[1]
        with tempfile.NamedTemporaryFile(prefix="enstoolkit-export-", suffix=".csv", delete=False) as spool:
            target = Path(spool.name)
        try:
            self.send("GET", download, stream_to=target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    def export_supporters(self, query_name: str, *, field_group: str | None = None, format: str = "User data",
                          file_type: str = "csv", poll_interval: float = 0.5, timeout: float = 600.0) -> pl.DataFrame:
        """Pull a whole supporter file through an export job, in a handful of requests.

        The CSV is read with an explicit layout (:func:`export_layout`): ``supporterId``
        Int64, ``suppressed`` Boolean, dates as Date, opt-in question columns as Boolean,
        everything else String.

        Example:
            >>> from enstoolkit import ENSClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=300) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.export_supporters("All supporters").height
            300
        """
        path = self.run_export_job(query_name, format=format, field_group=field_group, file_type=file_type,
                                   poll_interval=poll_interval, timeout=timeout)
        try:
            if path.stat().st_size == 0:
                return empty_frame({"supporterId": pl.Int64()})
            questions = self.get_questions()
            layout = export_layout(csv_header(path), optins=self.optin_questions(),
                                   questions=questions.get_column("name").to_list())
            return read_export_csv(path, layout)
        finally:
            path.unlink(missing_ok=True)

    def export_transactions(self, query_name: str, *, file_type: str = "csv", poll_interval: float = 0.5,
                            timeout: float = 600.0) -> pl.DataFrame:
        """Every transaction of a saved query's supporters, through a "Transaction" export job.

        One row per transaction: ``supporterId`` and the columns of :meth:`get_transactions`
        (``createdOn`` as a Date). The way to see acquisition pages for a whole file.

        Example:
            >>> from enstoolkit import ENSClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=50) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     ens.export_transactions("All supporters").get_column("supporterId").n_unique()
            50
        """
        path = self.run_export_job(query_name, format="Transaction", file_type=file_type,
                                   poll_interval=poll_interval, timeout=timeout)
        columns = {"supporterId": pl.Int64(), **schema.TRANSACTION}
        try:
            if path.stat().st_size == 0:
                return empty_frame(columns)
            frame = read_export_csv(path, columns)
        finally:
            path.unlink(missing_ok=True)
        missing = [pl.lit(None, dtype).alias(name) for name, dtype in columns.items() if name not in frame.columns]
        known = [name for name in columns if name in frame.columns]
        extra = [name for name in frame.columns if name not in columns]
        return frame.with_columns(missing).select(*columns, *extra) if missing else frame.select(*known, *extra)
