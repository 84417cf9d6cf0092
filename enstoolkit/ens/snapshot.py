"""A local Parquet snapshot of the supporter file, refreshed with only what changed.

The first run pulls the whole file through the export job (a handful of requests). Later
runs ask ENS which supporters were modified since (``latestModified``), fetch just those
(with their opt-ins, several at a time) and merge them into the snapshot. ENS cannot list
deleted supporters this way, so a full refresh is made when the snapshot is older than
ENS's 32-day window, or on request.

Example:
    >>> path = folder / "supporters.parquet"
    >>> first = refresh_supporters(ens, path)
    >>> _ = ens.upsert_supporter({"Email Address": "moved@example.org", "City": "Leeds"})
    >>> again = refresh_supporters(ens, path)
    >>> again.height - first.height, again.filter(pl.col("City") == "Leeds").height >= 1
    (1, True)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..records.store import read_json, write_whole
from ..schemas.frames import OPTIN_TYPES, answers_to, optins
from .client import ENSClient

__all__ = ["SyncReport", "last_sync", "refresh_supporters"]

MAX_DAYS_BACK = 32

logger = logging.getLogger("enstoolkit.ens.snapshot")


class SyncReport(dict[str, Any]):
    """What the last sync did: mode ("full" or "incremental"), changed rows, requests used.

    Example:
        >>> report = SyncReport(mode="incremental", rows=200, changed=1, requests=3)
        >>> report["mode"], report["changed"]
        ('incremental', 1)
    """


_META_FIX = "delete it: the next sync then pulls the whole file again"


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _stray_optins(answers: pl.DataFrame, questions: pl.DataFrame) -> list[str]:
    """Opt-in answers (as "name (id N)") that match no question of the account's list, by id or by name."""
    known = [answers_to(qid, name) for qid, name in zip(questions["questionId"], questions["name"], strict=True)]
    stray = answers.filter(pl.col("type").str.to_uppercase().is_in(sorted(OPTIN_TYPES))
                           & ~(pl.any_horizontal(known) if known else pl.lit(False)))
    return sorted({f"{name!r} (id {qid})" for qid, name in stray.select("id", "name").iter_rows()})


def _as_export_rows(ens: ENSClient, changed: pl.DataFrame, dates: pl.DataFrame,
                    layout: pl.Schema) -> pl.DataFrame | str:
    """Supporters fetched one by one, in the export file's layout (opt-ins as columns with dates).

    Answers are matched to the account's questions by id (a record may name a question otherwise than
    ``/supporter/questions`` does), by name where ids are absent. Instead of rows, the reason to pull
    the whole file again: when the lookups cannot give every column of the file (an export group's
    field, say), or a changed supporter has an opt-in answer that matches no question of the account
    (the file's columns could not say it). Never rows with those answers left empty.
    """
    questions = ens.get_questions()
    answers = changed.select("supporterId", "questions").explode("questions").drop_nulls("questions").unnest(
        "questions")
    stray = _stray_optins(answers, questions)
    if stray:
        return f"opt-in answers that match no question of the account by id or name: {', '.join(stray[:5])}"
    wide = optins(changed, dates=True, questions=questions.filter(pl.col("type").is_in(["OPT", "CONF"])))
    general = questions.filter(pl.col("type") == "GEN")
    extra = []
    for qid, name in zip(general["questionId"], general["name"], strict=True):
        one = answers.filter(answers_to(qid, name)).unique("supporterId", keep="last")
        extra.append(one.select("supporterId", pl.col("response").alias(name),
                                pl.col("modifiedOn").dt.date().alias(f"{name} Date")))
    for frame in extra:
        wide = wide.join(frame, on="supporterId", how="left")
    renamed = {c: c[:-5] + " Date" for c in wide.columns if c.endswith(" date")}
    wide = wide.rename(renamed).with_columns(pl.col(list(renamed.values())).dt.date())
    wide = wide.join(dates.select("supporterId", "createdOn", "modifiedOn"), on="supporterId", how="left")
    if any(c not in wide.columns for c in layout):
        return "the file has columns lookups cannot give"
    return wide.select([pl.col(c).cast(t) for c, t in layout.items()])


def refresh_supporters(ens: ENSClient, path: str | Path, *, query_name: str = "All supporters", full: bool = False,
                    today: dt.date | None = None) -> pl.DataFrame:
    """Bring the Parquet snapshot at ``path`` up to date and return it.

    Args:
        query_name: the export query (dashboard) for full pulls.
        full: pull the whole file even if an incremental refresh is possible.
        today: the date to measure the snapshot's age from (default: today).

    The report of the last sync (mode, rows changed, requests) is written beside the file
    as ``<name>.json``; see :func:`last_sync`. A changed supporter's answers are matched to the
    account's questions by id (a supporter record may name a question otherwise than
    ``/supporter/questions`` and the file do), by name only where ids are absent. When the file has
    columns that supporter lookups cannot give, or a changed supporter has an opt-in answer that
    matches no question of the account, the whole file is pulled again, the reason logged (logger
    ``enstoolkit.ens.snapshot``) and given in the report's mode: never a row merged with those left empty.

    Example:
        >>> path = folder / "supporters.parquet"
        >>> refresh_supporters(ens, path).height == len(sb.ens.records), last_sync(path)["mode"]
        (True, 'full')
    """
    if not isinstance(path, (str, Path)) or Path(path).suffix.lower() != ".parquet":
        raise ValidationError("path", path, "a .parquet file path (the snapshot is written as Parquet)")
    if today is not None and (not isinstance(today, dt.date) or isinstance(today, dt.datetime)):
        raise ValidationError("today", today, "a date, e.g. datetime.date(2026, 10, 1)")
    if not isinstance(query_name, str) or not query_name.strip():
        raise ValidationError("query_name", query_name, "the name of a query saved in the ENS dashboard")
    target = Path(path)
    meta_file = _meta_path(target)
    day = today or dt.date.today()
    meta: dict[str, Any] = read_json(meta_file, _META_FIX) if meta_file.exists() else {}
    used_before = ens.requests_last_hour
    synced = dt.date.fromisoformat(meta["synced_on"]) if meta.get("synced_on") else None
    age = (day - synced).days if synced else None
    if full or not target.exists() or age is None or age >= MAX_DAYS_BACK or meta.get("query_name") != query_name:
        snapshot = ens.export_supporters(query_name)
        mode, changed_rows = "full", snapshot.height
    else:
        snapshot = pl.read_parquet(target)
        changes = ens.query_supporters("latestModified", days_back=max(1, min(MAX_DAYS_BACK, age + 1)),
                                       progress=False)
        ids = changes.get_column("supporterId").to_list()
        changed_rows = len(ids)
        mode = "incremental"
        if ids:
            fetched = ens.get_supporters(ids=ids, questions=True, progress=False)
            rows = _as_export_rows(ens, fetched, changes, snapshot.schema)
            if isinstance(rows, str):  # the lookups cannot give the file's rows: the whole file again
                logger.warning("snapshot %s: pulling the whole file again, not merging %d changed supporters: %s",
                               target, len(ids), rows)
                snapshot = ens.export_supporters(query_name)
                mode, changed_rows = f"full ({rows})", snapshot.height
            else:
                snapshot = pl.concat([snapshot.filter(~pl.col("supporterId").is_in(ids)), rows]).sort("supporterId")
    write_whole(target, snapshot.write_parquet)  # the old snapshot or the new one, never half of one
    report = SyncReport(mode=mode, rows=snapshot.height, changed=changed_rows, synced_on=day.isoformat(),
                        query_name=query_name, requests=ens.requests_last_hour - used_before)
    write_whole(meta_file, lambda tmp: tmp.write_text(json.dumps(report, indent=2)))
    return snapshot


def last_sync(path: str | Path) -> SyncReport:
    """The report of the last :func:`refresh_supporters` for this snapshot.

    Example:
        >>> last_sync("/nonexistent/supporters.parquet")
        {}
    """
    meta_file = _meta_path(Path(path))
    return SyncReport(read_json(meta_file, _META_FIX)) if meta_file.exists() else SyncReport()
