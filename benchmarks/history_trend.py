#!/usr/bin/env python3
"""Audits of a sandbox on successive days, changed through the API between them: the figures of docs/history.md.

    .venv/bin/python benchmarks/history_trend.py                 # 2,000 supporters, 5 days
    .venv/bin/python benchmarks/history_trend.py --png docs/images/history-trend.png

Each day: 15 people who opted out in ENS are unsubscribed in Encharge (resolving
consent conflicts) and 10 supporters lose their postcode (new "missing fields"). The audit runs
as the notebook runs it (with staleness by activity) and is kept with the day's lists; the diff of
each pair of runs is printed beside what was changed, then one person's history across both
systems, and the trend chart is written (PNG through vl-convert).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from enstoolkit import EnchargeClient, ENSClient  # noqa: E402
from enstoolkit.analysis import run_audit  # noqa: E402
from enstoolkit.config.connect import Connection  # noqa: E402
from enstoolkit.history import History  # noqa: E402
from enstoolkit.history.activity import stale_by_activity  # noqa: E402
from enstoolkit.sandbox import Sandbox  # noqa: E402

DAY = dt.date(2026, 10, 1)
PARAMETERS = {"QUERY_NAME": "All supporters", "OPTINS": ["Marketing Optin"], "STALE_DAYS": 730}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supporters", type=int, default=2000)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--png", type=Path, help="write the trend chart here (PNG, through vl-convert)")
    args = parser.parse_args()
    store = Path(tempfile.mkdtemp()) / "history.duckdb"
    with Sandbox(supporters=args.supporters, seed=11) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        history = History.for_connection(Connection(ens, enc, None, False, False), store)
        followed = None
        changed = ""  # what was changed through the API before each audit after the first
        for n in range(args.days):
            day = DAY + dt.timedelta(days=n)
            supporters, people = ens.export_supporters("All supporters"), enc.list_people()
            transactions = ens.export_transactions("All supporters")
            stale = stale_by_activity(supporters, people, transactions=transactions,
                                      history=history if history.kept else None, today=day)
            findings = run_audit(supporters, people, optins=["Marketing Optin"], today=day, stale=stale)
            run = history.record_audit(findings, parameters=PARAMETERS, day=day, supporters=supporters,
                                       people=people)
            if n:
                table = history.diff()
                print(f"\n{day}: changed through the API since {day - dt.timedelta(days=1)}: {changed}")
                print(table.filter((pl.col("new") > 0) | (pl.col("resolved") > 0)).select(
                    "check", "new", "resolved", "still_open"))
                print(history.summary_line(run))
            if n == args.days - 1:
                break
            # the changes for the next day, through the API
            conflicts = findings.filter(pl.col("check") == "opted out, subscribed in Encharge",
                                        pl.col("supporterId").is_not_null()).get_column("email").to_list()
            fixed = conflicts[:15]
            for email in fixed:
                enc.unsubscribe(email.strip())
            followed = followed or fixed[0].strip()
            flagged = findings.filter(pl.col("supporterId").is_not_null()).get_column("supporterId").unique()
            clean = supporters.filter(~pl.col("supporterId").is_in(flagged.implode())).get_column("supporterId")
            emptied = clean.slice(n * 10, 10).to_list()
            for sid in emptied:
                ens.update_supporter(sid, {"Postcode": ""})
            changed = f"{len(fixed)} opted-out people unsubscribed in Encharge, {len(emptied)} postcodes emptied"
    print(f"\nOne person across both systems ({followed}):")
    with pl.Config(fmt_str_lengths=90, tbl_width_chars=200):
        print(history.person(str(followed)).drop("record"))
    trend = history.trend()
    with pl.Config(tbl_rows=50):
        print(trend.pivot("check", index="day", values="findings"))
    if args.png:
        import vl_convert as vlc

        args.png.parent.mkdir(parents=True, exist_ok=True)
        args.png.write_bytes(vlc.vegalite_to_png(history.trend_chart().to_json(), scale=2))
        print(f"chart: {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
