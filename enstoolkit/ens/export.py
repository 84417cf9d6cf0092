"""ENS export jobs: the whole supporter file (or every transaction) in a handful of requests.

POST /exportjob for a query saved in the dashboard, poll GET /exportjob/{id} until it
completes, download the CSV (streamed to a temporary file), then read it with
:mod:`enstoolkit.ens.readers` (either known header style, the account's date order, dtypes
decided once from the header; a file it cannot map raises naming the columns).

Example:
    >>> from enstoolkit import ENSClient
    >>> from enstoolkit.sandbox import Sandbox
    >>> with Sandbox(supporters=20, variant="dashboard-headers") as sb:
    ...     with ENSClient(sb.ens_api_key, sb.ens_url) as ens:
    ...         ens.export_supporters("All supporters").columns[:2]
    ['supporterId', 'Email Address']
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import APIError, DataShapeError, EnstoolkitError, ValidationError
from ..http import json_or_none
from ..inputs.arguments import check_choice, check_names_map
from .core import ENSCore
from .readers import csv_header, read_supporter_export, read_transaction_export

#: Seconds the download of an export file may wait for the server between bytes (a large file can take a
#: while to start coming): longer than the client's own timeout for other requests.
DOWNLOAD_READ_TIMEOUT = 600.0

#: Export-job statuses that mean it will never complete (said at once, not after the timeout).
_FAILED_STATES = frozenset({"failed", "failure", "error", "errored", "cancelled", "canceled", "expired", "aborted"})

__all__ = ["EXPORT_FILE_TYPES", "EXPORT_FORMATS", "ExportMethods"]

EXPORT_FORMATS = ("User data", "Transaction", "Hybrid")
EXPORT_FILE_TYPES = ("csv", "standardcsv")


class ExportMethods(ENSCore):
    """Export-job methods of :class:`enstoolkit.ENSClient`.

    A client runs its export jobs one after the other, whichever threads ask (nothing says ENS runs
    two of an account's jobs at once); each file is read once it is downloaded, while the next job runs.

    Example:
        >>> isinstance(ens, ExportMethods), ens.export_supporters("All supporters").height == len(sb.ens.records)
        (True, True)
    """

    def _run_export_job(self, query_name: str, *, format: str = "User data", field_group: str | None = None,
                       file_type: str = "csv", poll_interval: float = 0.5, timeout: float = 600.0,
                       max_polls: int | None = None, head_bytes: int | None = None) -> Path:
        """POST /exportjob, poll until it completes (less often as it waits), download the file.

        Returns the path of a temporary file, which the caller deletes. ``max_polls`` bounds the
        status requests (each one counts against the hourly budget); ``head_bytes`` downloads
        only the start of the file (enough for its header).

        Example:
            >>> path = ens._run_export_job("All supporters")
            >>> path.read_text().splitlines()[0].split(",")[0]
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
            if not isinstance(field_group, str) or not field_group.strip():
                raise ValidationError("field_group", field_group, "the name of a field group in the ENS dashboard")
            body["fieldGroup"] = field_group
        # one job at a time, whichever threads ask (nothing says ENS runs two of an account's jobs at once);
        # the file is read after the turn ends, while the next job runs
        with self._export_turn:
            job = json_or_none(self._send("POST", "/exportjob", json=body, retry=True))
            if not isinstance(job, Mapping) or job.get("id") is None:
                raise APIError("ENS", 200, "export job answered without an id", method="POST", path="/exportjob")
            job_id = int(job["id"])
            deadline = time.monotonic() + timeout
            status: Mapping[str, Any] = job
            wait = poll_interval
            polls = 0
            while str(status.get("status")) != "completed":
                state = str(status.get("status") or "").strip().lower()
                if state in _FAILED_STATES:
                    raise APIError("ENS", 200, f"export job {job_id} ended with status {status.get('status')!r}: "
                                   "check the query in the ENS dashboard", method="GET", path=f"/exportjob/{job_id}")
                if time.monotonic() > deadline or (max_polls is not None and polls >= max_polls):
                    raise EnstoolkitError(f"ENS export job {job_id} did not complete within {timeout:.0f} s"
                                          + (f" and {max_polls} status checks" if max_polls is not None else "")
                                          + f" (last status: {status.get('status')!r})")
                polls += 1
                time.sleep(wait)
                wait = min(wait * 1.5, 10.0)  # each poll is a request from the hourly budget
                answer = json_or_none(self._send("GET", f"/exportjob/{job_id}"))
                status = answer if isinstance(answer, Mapping) else {}
            download = f"/exportjob/{job_id}/download"
            url = str(status.get("url") or "")
            if "/ens/service/" in url:
                download = "/" + url.split("/ens/service/", 1)[1]
            with tempfile.NamedTemporaryFile(prefix="enstoolkit-export-", suffix=".csv", delete=False) as spool:
                target = Path(spool.name)
            try:
                self._send("GET", download, stream_to=target, head_bytes=head_bytes, read_timeout=DOWNLOAD_READ_TIMEOUT)
                if target.stat().st_size == 0:  # even a query with no supporters has a header line
                    raise APIError("ENS", 200, f"export job {job_id} downloaded an empty file (not even a header)",
                                   method="GET", path=download)
                try:  # ENS's error text in place of the file ("\n\nERROR: ..."), or blank lines only, raise here
                    csv_header(target)
                except APIError as error:
                    raise APIError("ENS", 200, f"export job {job_id}: {error.message}", method="GET", path=download,
                                   body=error.body) from None
                except DataShapeError:
                    raise APIError("ENS", 200, f"export job {job_id} downloaded blank lines only (not even a header): "
                                   "run the export again", method="GET", path=download) from None
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        return target

    def export_columns(self, query_name: str, *, format: str = "User data", field_group: str | None = None,
                       poll_interval: float = 0.5, timeout: float = 600.0, max_polls: int | None = None) -> list[str]:
        """The column names of a saved query's export file, as ENS writes them (runs an export job, reads its start).

        What ``enstoolkit doctor`` shows, to see which header style the account uses.

        Example:
            >>> from enstoolkit import ENSClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=5, variant="dashboard-headers") as sb:
            ...     with ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...         ens.export_columns("All supporters")[:2]
            ['Supporter ID', 'Supporter Email']
        """
        path = self._run_export_job(query_name, format=format, field_group=field_group, poll_interval=poll_interval,
                                   timeout=timeout, max_polls=max_polls, head_bytes=1 << 16)
        try:
            return csv_header(path)
        finally:
            path.unlink(missing_ok=True)

    def export_supporters(self, query_name: str, *, field_group: str | None = None, format: str = "User data",
                          file_type: str = "csv", columns: Mapping[str, str] | None = None, poll_interval: float = 0.5,
                          timeout: float = 600.0) -> pl.DataFrame:
        """Pull a whole supporter file through an export job, in a handful of requests.

        Read with :func:`~enstoolkit.ens.readers.read_supporter_export`: ``supporterId`` Int64,
        ``suppressed`` Boolean, dates as Date (in the account's order), opt-in questions as
        "Y"/"N"/"P", everything else String, whichever header style the account uses.
        ``columns`` maps a file's own column names to the toolkit's (``{"Their ID": "supporterId"}``).

        Example:
            >>> ens.export_supporters("All supporters").height == len(sb.ens.records)   # every supporter
            True
        """
        columns = check_names_map("columns", columns)
        path = self._run_export_job(query_name, format=format, field_group=field_group, file_type=file_type,
                                   poll_interval=poll_interval, timeout=timeout)
        try:
            return read_supporter_export(path, email_field=self.email_field, optins=self.optin_questions(),
                                         questions=self.get_questions().get_column("name").to_list(),
                                         columns=columns, date_order=self.date_order)
        finally:
            path.unlink(missing_ok=True)

    def export_transactions(self, query_name: str, *, file_type: str = "csv", columns: Mapping[str, str] | None = None,
                            poll_interval: float = 0.5, timeout: float = 600.0) -> pl.DataFrame:
        """Every transaction of a saved query's supporters, through a "Transaction" export job.

        One row per transaction, engagement and answer: ``supporterId`` and the columns of
        :meth:`get_transactions`, ``isSupporter`` (False on account-level rows), then the columns the
        file adds. Read with :func:`~enstoolkit.ens.readers.read_transaction_export`: the vendor's
        documented layout (``Campaign Number`` the number, ``Campaign ID`` the name, times in the
        account's reporting zone, :attr:`timezone`, turned into UTC ``createdDate``), with renamed
        columns or without ``Supporter ID``, or this project's older style. The way to see acquisition
        pages and the dated history of opt-in answers for a whole file.

        Example:
            >>> from enstoolkit import ENSClient
            >>> from enstoolkit.sandbox import Sandbox
            >>> with Sandbox(supporters=50) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
            ...     tx = ens.export_transactions("All supporters")
            >>> tx.filter("isSupporter").get_column("supporterId").n_unique(), tx.filter(~pl.col("isSupporter")).height
            (50, 3)
        """
        columns = check_names_map("columns", columns)
        path = self._run_export_job(query_name, format="Transaction", file_type=file_type,
                                   poll_interval=poll_interval, timeout=timeout)
        try:
            return read_transaction_export(path, columns=columns, date_order=self.date_order, timezone=self.timezone)
        finally:
            path.unlink(missing_ok=True)
