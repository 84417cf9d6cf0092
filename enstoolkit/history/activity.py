"""Staleness by activity: the last thing a person did in either system, never ``modifiedOn`` alone.

``modifiedOn`` moves with every write through the API, the toolkit's own consent sync included, so
a list the toolkit keeps tidy would never look stale. :func:`last_activity` takes, per supporter,
the latest of: their last ENS transaction (a donation, a petition, an email click...), Encharge's
``lastActivity`` for their email, a change in the kept history that the toolkit did not make
(:mod:`enstoolkit.history`: a version whose change the bulk journal did not write), and the day
they joined. :func:`stale_by_activity` turns it into the audit's "stale record" findings, saying
which source gave each date.

Example:
    >>> ens = pl.DataFrame({"supporterId": [1, 2], "Email Address": ["a@x.org", "b@x.org"],
    ...                     "createdOn": [dt.date(2020, 1, 1)] * 2, "modifiedOn": [dt.date(2026, 9, 1)] * 2})
    >>> tx = pl.DataFrame({"supporterId": [2], "createdOn": [dt.date(2026, 5, 1)]})
    >>> stale_by_activity(ens, transactions=tx, older_than_days=365, today=dt.date(2026, 10, 1)).item(0, "detail")
    'no activity for 2465 days (last: 2020-01-01, joined ENS)'
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import check_frame, check_int
from ..inputs.people_args import email_key_expr, find_email_column
from ..schemas.results import FINDINGS

if TYPE_CHECKING:
    from .core import History

__all__ = ["ACTIVITY", "kept_changes", "last_activity", "stale_by_activity"]

ACTIVITY: dict[str, pl.DataType] = {"supporterId": pl.Int64(), "email": pl.String(), "last_activity": pl.Date(),
                                    "source": pl.String(), "sources_used": pl.String()}


def kept_changes(history: History) -> pl.DataFrame:
    """Changes in the kept history not made by the toolkit: ``system``, ``record_key``, ``email_key``, ``day``.

    A record's first version on the first day its system was kept is not a change (it was already
    there); a record that appeared later is one (it joined), as is every later version whose change
    the toolkit's bulk journal did not write.

    Example:
        >>> from enstoolkit.history import History
        >>> h = History("acct", folder / "h.duckdb")
        >>> p = pl.DataFrame({"id": ["p1", "p2"], "email": ["a@x.org", "b@x.org"], "city": ["X", "Y"]})
        >>> _ = h.record_snapshot("encharge", p, "2026-03-01")
        >>> _ = h.record_snapshot("encharge", p.with_columns(city=pl.lit("Z")), "2026-03-05", toolkit_keys=["b@x.org"])
        >>> kept_changes(h).select("email_key", "day").rows()
        [('a@x.org', datetime.date(2026, 3, 5))]
    """
    from .database import open_store

    with open_store(history.path, read_only=True) as db:
        rows = db.execute(
            "SELECT v.system, v.record_key, v.email_key, v.valid_from FROM versions v JOIN (SELECT system, min(day) "
            "AS first FROM snapshots WHERE account = ? GROUP BY system) s USING (system) WHERE v.account = ? AND "
            "v.valid_from > s.first AND NOT v.by_toolkit ORDER BY v.valid_from, v.record_key",
            [history.account, history.account]).fetchall()
    schema = {"system": pl.String(), "record_key": pl.String(), "email_key": pl.String(), "day": pl.Date()}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame([], schema=schema)


def last_activity(ens: pl.DataFrame, encharge: pl.DataFrame | None = None, *,
                  transactions: pl.DataFrame | None = None, history: History | None = None) -> pl.DataFrame:
    """Per supporter, the latest activity in either system and where it was seen (:data:`ACTIVITY`).

    ``source`` is one of "ENS transaction", "Encharge activity", "change in ENS (kept history)",
    "change in Encharge (kept history)", "joined ENS"; ``sources_used`` lists the sources that were
    given, so a reader knows what "no activity" was judged on. ``modifiedOn`` is never used.
    A supporter with no date from any source has a null ``last_activity``.

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1], "Email Address": ["a@x.org"], "createdOn": [dt.date(2021, 1, 1)]})
        >>> enc = pl.DataFrame({"id": ["p1"], "email": [" A@x.org"],
        ...                     "lastActivity": [dt.datetime(2026, 2, 3, 10, tzinfo=dt.UTC)]})
        >>> last_activity(ens, enc).select("last_activity", "source").row(0)
        (datetime.date(2026, 2, 3), 'Encharge activity')
    """
    ens = check_frame("ens", ens, ("supporterId",), what="a supporter frame (export_supporters)")
    email = find_email_column(ens.columns, argument="ens")
    base = ens.select(pl.col("supporterId").cast(pl.Int64), pl.col(email).cast(pl.String).alias("email"),
                      email_key_expr(email).alias("__k"))
    candidates: list[pl.DataFrame] = []
    used: list[str] = []

    def by_id(frame: pl.DataFrame, source: str) -> None:
        candidates.append(frame.select(pl.col("supporterId").cast(pl.Int64), pl.col("day").cast(pl.Date),
                                       pl.lit(source).alias("source")))

    def by_email(frame: pl.DataFrame, source: str) -> None:
        joined = base.join(frame.select("__k", "day"), on="__k", how="inner")
        by_id(joined, source)

    if "createdOn" in ens.columns:
        by_id(ens.select("supporterId", pl.col("createdOn").alias("day")), "joined ENS")
        used.append("joined ENS")
    if transactions is not None:
        transactions = check_frame("transactions", transactions, ("supporterId", "createdOn"),
                                   what="ENS transactions (export_transactions)")
        latest = transactions.select(pl.col("supporterId").cast(pl.Int64), pl.col("createdOn").cast(pl.Date)
                                     .alias("day")).group_by("supporterId").agg(pl.col("day").max())
        by_id(latest, "ENS transaction")  # each supporter's last: the only one of theirs that can be the latest
        used.append("ENS transactions")
    if encharge is not None and "lastActivity" in encharge.columns:
        enc_email = find_email_column(encharge.columns, argument="encharge")
        by_email(encharge.select(email_key_expr(enc_email).alias("__k"),
                                 pl.col("lastActivity").cast(pl.Date).alias("day")), "Encharge activity")
        used.append("Encharge lastActivity")
    elif encharge is not None:
        raise ValidationError("encharge", "no 'lastActivity' column", "Encharge people with lastActivity "
                              "(list_people gives it)")
    if history is not None:
        changes = kept_changes(history)
        ens_changes = changes.filter(pl.col("system") == "ens").with_columns(
            pl.col("record_key").cast(pl.Int64, strict=False).alias("supporterId"))
        by_id(ens_changes.filter(pl.col("supporterId").is_not_null()).select("supporterId", "day"),
              "change in ENS (kept history)")
        by_email(changes.filter(pl.col("system") == "encharge").select(pl.col("email_key").alias("__k"), "day"),
                 "change in Encharge (kept history)")
        used.append("kept history")
    every = pl.concat(candidates) if candidates else pl.DataFrame([], schema={"supporterId": pl.Int64,
                                                                              "day": pl.Date, "source": pl.String})
    latest = (every.drop_nulls("day").sort("day", "source").group_by("supporterId")
              .agg(pl.col("day").last().alias("last_activity"), pl.col("source").last()))
    return (base.join(latest, on="supporterId", how="left").drop("__k")
            .with_columns(pl.lit(", ".join(used)).alias("sources_used")).select(list(ACTIVITY)))


def stale_by_activity(ens: pl.DataFrame, encharge: pl.DataFrame | None = None, *,
                      transactions: pl.DataFrame | None = None, history: History | None = None,
                      older_than_days: int = 730, today: dt.date | None = None) -> pl.DataFrame:
    """"stale record" findings: supporters with no activity in either system for more than ``older_than_days``.

    When no source of activity beyond the join date is given (no transactions, no Encharge
    ``lastActivity``, no kept history), one "cannot check" row says so instead: the join date alone
    would call everyone who joined long ago stale.

    Example:
        >>> ens = pl.DataFrame({"supporterId": [1], "Email Address": ["a@x.org"], "createdOn": [dt.date(2020, 1, 1)]})
        >>> stale_by_activity(ens, today=dt.date(2026, 10, 1)).item(0, "detail")[:40]
        'cannot check: no source of activity was '
    """
    older_than_days = check_int("older_than_days", older_than_days, 1, None)
    if today is not None and (not isinstance(today, dt.date) or isinstance(today, dt.datetime)):
        raise ValidationError("today", today, "a date")
    day = today or dt.date.today()
    if transactions is None and encharge is None and history is None:
        return pl.DataFrame([{"supporterId": None, "email": None, "check": "stale record", "severity": "low",
                              "detail": "cannot check: no source of activity was given (ENS transactions, Encharge "
                                        "people with lastActivity, or a kept history); modifiedOn alone moves with "
                                        "every write through the API"}], schema=FINDINGS)
    activity = last_activity(ens, encharge, transactions=transactions, history=history)
    age = (pl.lit(day) - pl.col("last_activity")).dt.total_days()
    stale = activity.filter(age > older_than_days)
    unknown = activity.filter(pl.col("last_activity").is_null())
    found = stale.select(
        "supporterId", "email", pl.lit("stale record").alias("check"), pl.lit("low").alias("severity"),
        pl.format("no activity for {} days (last: {}, {})", age, pl.col("last_activity").cast(pl.String),
                  pl.col("source")).alias("detail"))
    missing = unknown.select(
        "supporterId", "email", pl.lit("stale record").alias("check"), pl.lit("low").alias("severity"),
        pl.lit("no activity known in any source (no join date, transaction, Encharge activity or kept change)")
        .alias("detail"))
    return pl.concat([found, missing]).cast(FINDINGS).sort("supporterId")  # type: ignore[arg-type]
