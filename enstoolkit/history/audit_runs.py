"""Audit runs kept with every finding, compared per check: new, resolved, still open.

A finding's key is its check and whom it is about (the supporter id, else the email key, else
the detail), so the same problem found again is "still open", however its detail is worded. A
check that could not run in one of the two runs is said to be not comparable, never counted as
all resolved or all new.

Example:
    >>> from enstoolkit.history.database import open_store
    >>> f1 = pl.DataFrame({"supporterId": [1, 2], "email": ["a@x.org", "b@x.org"], "check": ["invalid email"] * 2,
    ...                    "severity": ["high"] * 2, "detail": ["", ""]})
    >>> f2 = f1.slice(1).vstack(f1.slice(0, 1).with_columns(supporterId=pl.lit(3, pl.Int64)))
    >>> with open_store(folder / "h.duckdb", create=True) as db:
    ...     r1 = record_run(db, "acct", f1, {"STALE_DAYS": 730}, dt.date(2026, 3, 1))
    ...     r2 = record_run(db, "acct", f2, {"STALE_DAYS": 730}, dt.date(2026, 3, 2))
    ...     diff_runs(db, "acct").select("check", "new", "resolved", "still_open").rows()
    [('invalid email', 1, 1, 1)]
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import check_frame
from ..schemas.results import FINDINGS
from .database import loading
from .errors import AccountMismatch, NoSuchRun, NotComparable, ParametersMismatch

__all__ = ["DIFF", "IGNORED_PARAMETERS", "RUNS", "diff_runs", "finding_keys", "list_runs", "new_run_id", "record_run",
           "run_findings", "trend"]

#: Parameters that do not change what an audit finds (where reports go, the sandbox's size is kept: see below).
IGNORED_PARAMETERS = frozenset({"OUT_DIR", "TIMEOUT"})

RUNS: dict[str, pl.DataType] = {"run_id": pl.String(), "started_at": pl.Datetime("us"), "day": pl.Date(),
                                "findings": pl.Int64(), "checks_not_run": pl.Int64(), "parameters": pl.String()}
DIFF: dict[str, pl.DataType] = {"check": pl.String(), "severity": pl.String(), "new": pl.Int64(),
                                "resolved": pl.Int64(), "still_open": pl.Int64(), "note": pl.String()}
_CANNOT = "cannot check: "


def finding_keys(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings with ``finding_key`` (check, then supporter id, else email key, else detail; repeats numbered)
    and ``cannot_check``.

    Example:
        >>> f = pl.DataFrame({"supporterId": [7, None], "email": ["a@x.org", " B@x.org"], "check": ["c", "c"],
        ...                   "severity": ["low", "low"], "detail": ["", ""]})
        >>> finding_keys(f).get_column("finding_key").to_list()
        ['c|e:b@x.org', 'c|s:7']
    """
    findings = check_frame("findings", findings, tuple(FINDINGS), what="audit findings (run_audit)")
    cannot = pl.col("detail").fill_null("").str.starts_with(_CANNOT)
    who = (pl.when(cannot).then(pl.lit("cannot check"))
           .when(pl.col("supporterId").is_not_null()).then(pl.format("s:{}", pl.col("supporterId")))
           .when(pl.col("email").is_not_null()).then(pl.format("e:{}", pl.col("email").str.strip_chars()
                                                                .str.to_lowercase()))
           .otherwise(pl.format("d:{}", pl.col("detail").fill_null(""))))
    base = pl.format("{}|{}", pl.col("check"), who)
    keyed = findings.with_columns(base.alias("__base"), cannot.alias("cannot_check")).sort("__base", "detail",
                                                                                          nulls_last=True)
    n = pl.int_range(pl.len()).over("__base")
    return keyed.with_columns(pl.when(n == 0).then(pl.col("__base")).otherwise(pl.format("{}#{}", pl.col("__base"),
                                                                                       n + 1)).alias("finding_key")
                              ).drop("__base")


def _jsonable(parameters: Mapping[str, Any]) -> str:
    if not isinstance(parameters, Mapping):
        raise ValidationError("parameters", parameters, "a mapping of the audit's parameters, e.g. {'STALE_DAYS': 730}")
    return json.dumps({str(k): v for k, v in parameters.items()}, sort_keys=True, default=str)


def new_run_id(started: dt.datetime) -> str:
    """A new audit run's id: when it started (UTC), then six random hex digits.

    Example:
        >>> new_run_id(dt.datetime(2026, 3, 1, 9, 30))[:16]
        '20260301T093000-'
    """
    return f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def record_run(db: Any, account: str, findings: pl.DataFrame, parameters: Mapping[str, Any], day: dt.date, *,
               run_id: str | None = None, started_at: dt.datetime | None = None) -> str:
    """Keep an audit run (its parameters, summary and every finding with its key); returns its id."""
    from ..analysis import summarise

    keyed = finding_keys(findings)
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise ValidationError("day", day, "the date the audit ran, e.g. datetime.date(2026, 3, 1)")
    started = started_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rid = run_id or new_run_id(started)
    summary = summarise(findings).write_json()
    rows = keyed.select(pl.lit(account).alias("account"), pl.lit(rid).alias("run_id"),
                        pl.col("check").alias("check_name"), "severity", "finding_key",
                        pl.col("supporterId").alias("supporter_id"), "email", "detail", "cannot_check")
    with loading(db, "incoming_findings", rows):
        db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [account, rid, started, day, _jsonable(parameters), summary, keyed.height])
        db.execute("INSERT INTO findings SELECT * FROM incoming_findings")
    return rid


def list_runs(db: Any, account: str) -> pl.DataFrame:
    """The account's runs, oldest first (:data:`RUNS`)."""
    rows = db.execute(
        "SELECT r.run_id, r.started_at, r.day, r.findings, "
        "(SELECT count(DISTINCT check_name) FROM findings f WHERE f.account = r.account AND f.run_id = r.run_id "
        " AND f.cannot_check), r.parameters FROM runs r WHERE r.account = ? ORDER BY r.started_at, r.run_id",
        [account]).fetchall()
    return pl.DataFrame(rows, schema=RUNS, orient="row") if rows else pl.DataFrame([], schema=RUNS)


def _run(db: Any, account: str, run_id: str) -> tuple[str, str]:
    """The run's parameters, checking it is this account's (a run of another account raises AccountMismatch)."""
    row = db.execute("SELECT account, parameters FROM runs WHERE run_id = ?", [run_id]).fetchall()
    row = row[0] if row else None
    if row is None:
        raise NoSuchRun(run_id, list_runs(db, account).get_column("run_id").to_list())
    if row[0] != account:
        raise AccountMismatch(run_id, row[0], "(this history)", account)
    return run_id, row[1]


def _differences(before: str, after: str) -> dict[str, tuple[object, object]]:
    one, two = json.loads(before), json.loads(after)
    return {k: (one.get(k), two.get(k)) for k in sorted(set(one) | set(two))
            if k not in IGNORED_PARAMETERS and one.get(k) != two.get(k)}


def _pick(db: Any, account: str, before: str | None, after: str | None) -> tuple[str, str]:
    ids = list_runs(db, account).get_column("run_id").to_list()
    if after is None:
        if not ids:
            raise NotComparable("this account has no run kept yet")
        after = ids[-1]
    if before is None:
        if after not in ids:
            _run(db, account, after)
        earlier = ids[:ids.index(after)]
        if not earlier:
            raise NotComparable(f"run {after!r} is this account's first")
        before = earlier[-1]
    return before, after


def diff_runs(db: Any, account: str, before: str | None = None, after: str | None = None, *,
              rows: bool = False) -> pl.DataFrame:
    """Per check: findings ``new`` in ``after``, ``resolved`` since ``before``, ``still_open`` in both.

    Defaults: the account's last two runs. Runs of another account raise :class:`AccountMismatch`;
    runs made with other parameters :class:`ParametersMismatch`. A check that could not run in
    either run has null counts and a ``note`` saying so. With ``rows=True``: every finding of either
    run with its ``status`` ("new", "resolved", "still open") instead of the counts.
    """
    before, after = _pick(db, account, before, after)
    (_, p1), (_, p2) = _run(db, account, before), _run(db, account, after)
    differences = _differences(p1, p2)
    if differences:
        raise ParametersMismatch(before, after, differences)
    joined = ("WITH a AS (SELECT * FROM findings WHERE account = $acc AND run_id = $before AND NOT cannot_check), "
              "b AS (SELECT * FROM findings WHERE account = $acc AND run_id = $after AND NOT cannot_check), "
              "j AS (SELECT coalesce(b.check_name, a.check_name) AS check_name, "
              "coalesce(b.severity, a.severity) AS severity, coalesce(b.supporter_id, a.supporter_id) AS supporter_id, "
              "coalesce(b.email, a.email) AS email, coalesce(b.detail, a.detail) AS detail, "
              "CASE WHEN a.finding_key IS NULL THEN 'new' WHEN b.finding_key IS NULL THEN 'resolved' "
              "ELSE 'still open' END AS status FROM a FULL OUTER JOIN b USING (finding_key)) ")
    unable = dict(db.execute(
        "SELECT check_name, string_agg(DISTINCT CASE WHEN run_id = $before THEN 'before' ELSE 'after' END, ' and ' "
        "ORDER BY CASE WHEN run_id = $before THEN 'before' ELSE 'after' END DESC) FROM findings "
        "WHERE account = $acc AND run_id IN ($before, $after) AND cannot_check GROUP BY check_name",
        {"acc": account, "before": before, "after": after}).fetchall())
    if rows:
        found = db.execute(joined + "SELECT check_name, severity, supporter_id, email, detail, status FROM j "
                           "ORDER BY check_name, status, supporter_id, email",
                           {"acc": account, "before": before, "after": after}).fetchall()
        schema = {"check": pl.String(), "severity": pl.String(), "supporterId": pl.Int64(), "email": pl.String(),
                  "detail": pl.String(), "status": pl.String()}
        frame = pl.DataFrame(found, schema=schema, orient="row") if found else pl.DataFrame([], schema=schema)
        return frame.filter(~pl.col("check").is_in(sorted(unable)))
    counts = db.execute(
        joined + "SELECT check_name, any_value(severity), count(*) FILTER (status = 'new'), "
        "count(*) FILTER (status = 'resolved'), count(*) FILTER (status = 'still open'), NULL FROM j "
        "GROUP BY check_name", {"acc": account, "before": before, "after": after}).fetchall()
    table = {r[0]: list(r) for r in counts}
    for check, when in unable.items():
        severity = table.get(check, [check, None])[1] or db.execute(
            "SELECT any_value(severity) FROM findings WHERE account = ? AND run_id IN (?, ?) AND check_name = ?",
            [account, before, after, check]).fetchall()[0][0]
        table[check] = [check, severity, None, None, None,
                        f"not comparable: the check could not run in the {when} run"]
    frame = pl.DataFrame(list(table.values()), schema=DIFF, orient="row") if table else pl.DataFrame([], schema=DIFF)
    from ..analysis import SEVERITY_ORDER

    order = pl.col("severity").replace_strict(SEVERITY_ORDER, default=9, return_dtype=pl.Int64)
    return frame.sort(order, "check").with_columns(pl.lit(before).alias("before"), pl.lit(after).alias("after"))


def run_findings(db: Any, account: str, run_id: str) -> pl.DataFrame:
    """Every finding of one of the account's runs, as :func:`enstoolkit.analysis.run_audit` gave them."""
    _run(db, account, run_id)
    rows = db.execute("SELECT supporter_id, email, check_name, severity, detail FROM findings WHERE account = ? AND "
                      "run_id = ? ORDER BY check_name, supporter_id, email", [account, run_id]).fetchall()
    return pl.DataFrame(rows, schema=FINDINGS, orient="row") if rows else pl.DataFrame([], schema=FINDINGS)


def trend(db: Any, account: str) -> pl.DataFrame:
    """Findings per check per run, oldest first: ``run_id``, ``started_at``, ``day``, ``check``, ``severity``,
    ``findings`` (null where the check could not run)."""
    rows = db.execute(
        "SELECT r.run_id, r.started_at, r.day, f.check_name, any_value(f.severity), "
        "CASE WHEN bool_or(f.cannot_check) THEN NULL ELSE count(*) END "
        "FROM runs r JOIN findings f ON f.account = r.account AND f.run_id = r.run_id WHERE r.account = ? "
        "GROUP BY ALL ORDER BY r.started_at, f.check_name", [account]).fetchall()
    schema = {"run_id": pl.String(), "started_at": pl.Datetime("us"), "day": pl.Date(), "check": pl.String(),
              "severity": pl.String(), "findings": pl.Int64()}
    found = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame([], schema=schema)
    runs = list_runs(db, account).select("run_id", "started_at", "day")
    checks = found.group_by("check").agg(pl.col("severity").first())
    grid = runs.join(checks, how="cross")  # a check with no finding in a run is 0 there, not missing
    counted = grid.join(found.select("run_id", "check", "findings", pl.lit(True).alias("__seen")),
                        on=["run_id", "check"], how="left")
    return (counted.with_columns(pl.when(pl.col("__seen")).then(pl.col("findings")).otherwise(pl.lit(0, pl.Int64))
                                 .alias("findings")).drop("__seen").select(list(schema)).sort("started_at", "check"))
