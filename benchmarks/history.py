#!/usr/bin/env python3
"""enstoolkit history benchmark: the budgets of the history store, measured; exits 1 when one is missed.

    .venv/bin/python benchmarks/history.py            # 365 days of 100,000 supporters (about 3 minutes on 2 cores)
    .venv/bin/python benchmarks/history.py --quick    # 30 days of 20,000 (the budgets scaled down: a smoke run)

A supporter file in the export's layout (20 columns) is kept once a day for ``--days`` days, 0.5%
of the supporters changing each day (a field, an opt-in with its date, a new address; a few join
and a few leave), through :meth:`enstoolkit.history.History.record_snapshot`. Then, from the
store on disk: ``person(email)`` and ``as_of(day, email=...)`` for one person (best of 20, over
random people and days), ``as_of(day)`` for the whole list, and ``diff`` of two audit runs of
``--supporters`` findings each, 2% of them different. Budgets: the store <= 200 MB, one person
< 100 ms, the diff < 2 s (the store budget is scaled by the versions to keep in ``--quick``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from tqdm.auto import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from enstoolkit.history import History  # noqa: E402
from enstoolkit.history.database import close_stores  # noqa: E402

START = dt.date(2025, 10, 1)
CITIES = ["London", "Leeds", "Bristol", "Cardiff", "Glasgow", "Belfast", "York", "Bath", "Derby", "Hull"]
MB = 1024 * 1024


def supporters(n: int, seed: int = 1) -> pl.DataFrame:
    """A synthetic supporter file in the export's layout (fields by name, opt-ins with their dates)."""
    rng = random.Random(seed)
    ids = list(range(1_000_001, 1_000_001 + n))
    created = [START - dt.timedelta(days=rng.randint(0, 3000)) for _ in ids]
    return pl.DataFrame({
        "supporterId": ids,
        "Email Address": [f"person{i}@example.org" for i in ids],
        "First Name": [rng.choice(["Alex", "Sam", "Jo", "Priya", "Tom", "Aisha", "Li", "Maria"]) for _ in ids],
        "Last Name": [rng.choice(["Smith", "Jones", "Khan", "Brown", "Taylor", "Evans", "Wilson"]) for _ in ids],
        "Address 1": [f"{rng.randint(1, 300)} {rng.choice(['High St', 'Mill Lane', 'Park Rd'])}" for _ in ids],
        "City": [rng.choice(CITIES) for _ in ids],
        "Postcode": [f"AB{rng.randint(1, 99)} {rng.randint(1, 9)}CD" for _ in ids],
        "Country": ["GB"] * n,
        "Phone Number": [f"07{rng.randint(100000000, 999999999)}" for _ in ids],
        "Title": [rng.choice(["Mr", "Ms", "Dr", None]) for _ in ids],
        "Source": [rng.choice(["petition", "donation", "email signup", "event"]) for _ in ids],
        "suppressed": [rng.random() < 0.02 for _ in ids],
        "Marketing Optin": [rng.choice(["Y", "N", "Y", "P"]) for _ in ids],
        "Marketing Optin Date": created,
        "SMS Optin": [rng.choice(["Y", "N", "N"]) for _ in ids],
        "SMS Optin Date": created,
        "Post Optin": [rng.choice(["Y", "N"]) for _ in ids],
        "Post Optin Date": created,
        "createdOn": created,
        "modifiedOn": created,
    }, schema_overrides={"supporterId": pl.Int64})


def change(frame: pl.DataFrame, day: dt.date, rate: float, rng: random.Random, next_id: list[int]) -> pl.DataFrame:
    """``rate`` of the supporters changed on ``day`` (a field or an opt-in), and a few joining and leaving."""
    count = max(1, int(frame.height * rate))
    picked = rng.sample(range(frame.height), count)
    rows = pl.DataFrame({"__i": picked, "__what": [rng.randrange(3) for _ in picked]}, schema={"__i": pl.UInt32,
                                                                                            "__what": pl.Int64})
    indexed = frame.with_row_index("__i").join(rows, on="__i", how="left")
    what = pl.col("__what")
    out = indexed.with_columns(
        pl.when(what == 0).then(pl.lit(rng.choice(CITIES))).otherwise(pl.col("City")).alias("City"),
        pl.when(what == 1).then(pl.when(pl.col("Marketing Optin") == "Y").then(pl.lit("N")).otherwise(pl.lit("Y")))
        .otherwise(pl.col("Marketing Optin")).alias("Marketing Optin"),
        pl.when(what == 1).then(pl.lit(day)).otherwise(pl.col("Marketing Optin Date")).alias("Marketing Optin Date"),
        pl.when(what == 2).then(pl.format("{} New Road", pl.lit(rng.randint(1, 99)))).otherwise(pl.col("Address 1"))
        .alias("Address 1"),
        pl.when(what.is_not_null()).then(pl.lit(day)).otherwise(pl.col("modifiedOn")).alias("modifiedOn"),
    ).drop("__i", "__what")
    leaving = rng.sample(range(out.height), max(1, count // 50))
    out = out.with_row_index("__i").filter(~pl.col("__i").is_in(leaving)).drop("__i")
    joining = supporters(max(1, count // 50), seed=next_id[0]).with_columns(
        (pl.col("supporterId") + next_id[0]).alias("supporterId"),
        pl.format("new{}@example.org", pl.col("supporterId") + next_id[0]).alias("Email Address"),
        pl.lit(day).alias("createdOn"), pl.lit(day).alias("modifiedOn"))
    next_id[0] += joining.height
    return pl.concat([out, joining])


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def findings(frame: pl.DataFrame, share_changed: float, seed: int) -> pl.DataFrame:
    """One finding per supporter over six checks, ``share_changed`` of them swapped for others."""
    rng = random.Random(seed)
    checks = ["invalid email", "missing fields", "stale record", "only in ENS", "duplicate email",
              "opted out, subscribed in Encharge"]
    ids = frame.get_column("supporterId").to_list()
    moved = set(rng.sample(range(len(ids)), int(len(ids) * share_changed)))
    sid = [i + 10_000_000 if n in moved else i for n, i in enumerate(ids)]
    return pl.DataFrame({"supporterId": sid, "email": [f"person{i}@example.org" for i in sid],
                         "check": [checks[i % len(checks)] for i in sid], "severity": ["medium"] * len(sid),
                         "detail": ["synthetic finding"] * len(sid)}, schema_overrides={"supporterId": pl.Int64})


def main() -> int:
    parser = argparse.ArgumentParser(description="enstoolkit history benchmark")
    parser.add_argument("--supporters", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rate", type=float, default=0.005, help="share of supporters changing each day")
    parser.add_argument("--quick", action="store_true", help="30 days of 20,000 supporters")
    parser.add_argument("--store", type=Path, help="keep the store here (default: a temporary folder)")
    args = parser.parse_args()
    if args.quick:
        args.supporters, args.days = 20_000, 30
    path = args.store or Path(tempfile.mkdtemp(prefix="enstoolkit-history-bench-")) / "history.duckdb"
    path.unlink(missing_ok=True)
    history = History("benchmark account", path)
    rng = random.Random(7)
    frame = supporters(args.supporters)
    next_id = [5_000_000]
    started = time.perf_counter()
    versions = 0
    for n in tqdm(range(args.days), desc="daily snapshots", unit="day"):
        day = START + dt.timedelta(days=n)
        if n:
            frame = change(frame, day, args.rate, rng, next_id)
        counts = history.record_snapshot("ens", frame, day, toolkit_keys=())
        versions += counts["added"] + counts["changed"]
    keeping = time.perf_counter() - started
    close_stores()  # written out: the file's size as it stays on disk
    size = path.stat().st_size
    last = START + dt.timedelta(days=args.days - 1)
    emails = frame.get_column("Email Address").sample(20, seed=3).to_list()
    days = [START + dt.timedelta(days=rng.randrange(args.days)) for _ in emails]
    cold_started = time.perf_counter()
    history.person(emails[0])  # the first question of a process opens the store
    t_cold = time.perf_counter() - cold_started
    t_person, _ = best(lambda: history.person(emails[rng.randrange(len(emails))]), 20)
    t_as_of_one, _ = best(lambda: history.as_of(days[rng.randrange(len(days))], "ens",
                                                email=emails[rng.randrange(len(emails))]), 20)
    t_as_of_all, whole = best(lambda: history.as_of(last, "ens"), 3)
    assert whole.height == frame.height, (whole.height, frame.height)
    history.record_audit(findings(frame, 0.0, 1), parameters={"STALE_DAYS": 730}, day=last)
    history.record_audit(findings(frame, 0.02, 2), parameters={"STALE_DAYS": 730}, day=last)
    t_diff, table = best(lambda: history.diff(), 3)
    close_stores()
    with_runs = path.stat().st_size
    new, resolved = int(table["new"].sum()), int(table["resolved"].sum())
    full_copies = frame.estimated_size() * args.days
    scale = args.supporters * (1 + args.days * args.rate) / (100_000 * (1 + 365 * 0.005))  # versions to keep
    store_budget = 200 * MB * min(1.0, scale)
    budgets = [
        ("store size", size / MB, store_budget / MB, "MB"),
        ("person(email)", t_person * 1000, 100.0, "ms"),
        ("as_of(day, email=...)", t_as_of_one * 1000, 100.0, "ms"),
        (f"diff of two runs ({frame.height:,} findings each)", t_diff, 2.0, "s"),
    ]
    print(f"\nenstoolkit history benchmark on {platform.machine()}, Python {platform.python_version()}, "
          f"polars {pl.__version__}, duckdb {__import__('duckdb').__version__}")
    print(f"{args.days} daily snapshots of {args.supporters:,} supporters ({len(frame.columns)} columns), "
          f"{args.rate:.1%} changing a day: {versions:,} versions kept ({versions / frame.height:.2f} per supporter)"
          f" in {keeping:.0f} s ({keeping / args.days * 1000:.0f} ms a day)")
    print(f"store {size / MB:.1f} MB on disk after the snapshots ({with_runs / MB:.1f} MB with the two "
          "runs); the same days as whole copies in memory would be "
          f"{full_copies / MB:,.0f} MB ({full_copies / size:,.0f}x)")
    print(f"person(email), first question of a process (opening the store): {t_cold * 1000:.0f} ms; then best of 20")
    print(f"as_of(day) for the whole list ({whole.height:,} rows): {t_as_of_all:.2f} s; diff found {new:,} new and "
          f"{resolved:,} resolved (2% of findings swapped: {int(frame.height * 0.02):,} expected each)")
    print(f"\n| {'measure':<44} | {'measured':>10} | {'budget':>10} | ok |")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 12}|----|")
    failed = []
    for name, value, budget, unit in budgets:
        ok = value <= budget
        failed += [] if ok else [name]
        print(f"| {name:<44} | {value:>7.1f} {unit:<2} | {budget:>7.1f} {unit:<2} | {'yes' if ok else 'NO':<2} |")
    if new != int(frame.height * 0.02) or resolved != int(frame.height * 0.02):
        failed.append("diff counts")
        print(f"diff counts wrong: {new} new, {resolved} resolved")
    if failed:
        print(f"\nMISSED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
