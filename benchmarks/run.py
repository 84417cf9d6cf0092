#!/usr/bin/env python3
"""enstoolkit benchmark: request economy and speed, side by side, against the sandbox.

    .venv/bin/python benchmarks/run.py                 # everything (about 5 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --skip-million  # without the 1,000,000-supporter memory run

The sandbox runs in its own process with a simulated round trip (``--latency``, default
25 ms) and no hourly limit. Each section compares enstoolkit with the way analysts do it by
hand (a plain sequential loop with ``requests``) and with the floor (the latency that
cannot be avoided, or decoding alone). Times are wall-clock seconds, best of the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
ALL_COUNTRIES = "country:GB||US||IE||CA||AU||DE||FR||NL||NZ"


class CountingTransport(httpx.HTTPTransport):
    """A real transport that counts the requests it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return super().handle_request(request)


def start_sandbox(supporters: int, latency: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The sandbox in its own process (so that its work is not counted as the client's)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "enstoolkit.cli", "sandbox", "--supporters", str(supporters), "--latency", str(latency),
         "--hourly-limit", "100000000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(5)]
    info = {"ens_url": lines[1].split(":", 1)[1].strip(), "ens_key": lines[2].split(":", 1)[1].strip(),
            "encharge_url": lines[3].split(":", 1)[1].strip(), "encharge_key": lines[4].split(":", 1)[1].strip()}
    return proc, info


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def ens_client(info: dict[str, str], transport: httpx.BaseTransport | None = None) -> Any:
    from enstoolkit import ENSClient

    return ENSClient(info["ens_key"], info["ens_url"], transport=transport, hourly_limit=100_000_000)


def plain_token(info: dict[str, str]) -> tuple[Any, str]:
    import requests

    session = requests.Session()
    token = session.post(info["ens_url"] + "/authenticate", data=info["ens_key"],
                         headers={"Content-Type": "application/json"}).json()["ens-auth-token"]
    return session, token


# -- 1. whole-file audit ------------------------------------------------------------------------


def whole_file(info: dict[str, str], supporters: int, latency: float) -> list[dict[str, Any]]:
    from enstoolkit.analysis import run_audit

    transport = CountingTransport()
    ens = ens_client(info, transport)

    def audit() -> int:
        frame = ens.export_supporters("All supporters", poll_interval=0.2)
        findings = run_audit(frame, today=dt_today())
        return frame.height + 0 * findings.height

    t_export, rows = timed(audit)
    export_requests = transport.count

    paging_transport = CountingTransport()
    pager = ens_client(info, paging_transport)
    t_paging, paged = timed(lambda: pager.query_supporters("search", filter=ALL_COUNTRIES, rows=100,
                                                           progress=False))
    session, token = plain_token(info)
    ids = paged.get_column("supporterId").head(200).to_list()

    def one_by_one() -> None:
        for sid in ids:
            session.get(f"{info['ens_url']}/supporter/{sid}", headers={"ens-auth-token": token}).json()

    t_sample, _ = timed(one_by_one)
    per_get = t_sample / len(ids)
    hours_limit = supporters / 5000
    return [
        {"method": "enstoolkit: export job + audit", "requests": export_requests, "seconds": t_export,
         "note": f"{rows:,} rows"},
        {"method": "paging the query endpoint (12 at a time)", "requests": paging_transport.count,
         "seconds": t_paging, "note": f"{paged.height:,} rows, {-(-supporters // 100):,} pages"},
        {"method": "one GET per supporter (from 200 timed)", "requests": supporters,
         "seconds": per_get * supporters,
         "note": f"{per_get * 1000:.1f} ms each; {hours_limit:.0f} h under the 5,000/hour limit"},
    ]


def dt_today() -> Any:
    import datetime as dt

    return dt.date(2026, 10, 1)


# -- 2. paging 10,000 rows ------------------------------------------------------------------------


def paging(info: dict[str, str], latency: float, concurrency: int = 12) -> list[dict[str, Any]]:
    transport = CountingTransport()
    ens = ens_client(info, transport)
    filt = "country:IE||NZ"
    ens.get_fields()  # the filter is checked against the account's fields once per client

    t_ours, frame = timed(lambda: ens.query_supporters("search", filter=filt, rows=100, progress=False,
                                                       concurrency=concurrency), repeat=3)
    pages = -(-frame.height // 100)
    session, token = plain_token(info)

    def loop() -> int:
        rows, start = [], 1
        while True:
            body = session.get(f"{info['ens_url']}/supporter/query", headers={"ens-auth-token": token},
                               params={"type": "search", "filter": filt, "rows": 100, "start": start}).json()
            rows.extend(body["data"])
            start += len(body["data"])
            if len(body["data"]) < 100 or len(rows) >= body["pagination"]["total"]:
                return len(rows)

    t_loop, n = timed(loop)
    floor = pages * latency / concurrency
    return [
        {"method": f"enstoolkit (pages {concurrency} at a time)", "requests": pages, "seconds": t_ours,
         "note": f"{frame.height:,} rows; {t_loop / t_ours:.1f}x faster than the loop, "
                 f"{t_ours / floor:.2f}x the floor"},
        {"method": "sequential loop with requests", "requests": pages, "seconds": t_loop, "note": f"{n:,} rows"},
        {"method": f"latency floor (pages x latency / {concurrency})", "requests": pages, "seconds": floor, "note": ""},
    ]


# -- 3. looking up 2,000 emails ---------------------------------------------------------------------


def lookups(info: dict[str, str], emails: list[str], latency: float, concurrency: int = 16) -> list[dict[str, Any]]:
    ens = ens_client(info)
    ens.get_fields()
    t_ours, found = timed(lambda: ens.get_supporters(emails=emails, concurrency=concurrency, progress=False),
                          repeat=2)
    session, token = plain_token(info)

    def loop() -> int:
        hits = 0
        for email in emails:
            r = session.get(f"{info['ens_url']}/supporter", params={"email": email},
                            headers={"ens-auth-token": token})
            hits += r.status_code == 200
        return hits

    t_loop, hits = timed(loop)
    floor = len(emails) * latency / concurrency
    return [
        {"method": f"enstoolkit get_supporters ({concurrency} at a time)", "requests": len(emails), "seconds": t_ours,
         "note": f"{found.height:,} found; {t_loop / t_ours:.1f}x faster than the loop, "
                 f"{t_ours / floor:.2f}x the floor"},
        {"method": "sequential loop with requests", "requests": len(emails), "seconds": t_loop,
         "note": f"{hits:,} found"},
        {"method": f"latency floor (lookups x latency / {concurrency})", "requests": len(emails), "seconds": floor,
         "note": ""},
    ]


# -- 4. building a frame from 100,000 supporter records ------------------------------------------------


def frames(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import pandas as pd

    from enstoolkit.frames import read_json_records

    content = json.dumps(records).encode()
    schema = {"supporterId": pl.Int64(), "suppressed": pl.Boolean(),
              **{k: pl.String() for k in records[0] if k not in ("supporterId", "suppressed")}}
    t_ours, frame = timed(lambda: read_json_records(content, schema), repeat=3)
    t_pandas, _ = timed(lambda: pd.json_normalize(json.loads(content)), repeat=3)
    t_decode, _ = timed(lambda: json.loads(content), repeat=3)
    mb = len(content) / 1e6
    return [
        {"method": "enstoolkit read_json_records (explicit schema)", "requests": None, "seconds": t_ours,
         "note": f"{frame.height:,} rows x {frame.width} columns; {t_pandas / t_ours:.1f}x faster than "
                 f"json_normalize, {t_ours / t_decode:.2f}x the decode floor"},
        {"method": "json.loads + pandas.json_normalize", "requests": None, "seconds": t_pandas, "note": ""},
        {"method": "decode only (json.loads)", "requests": None, "seconds": t_decode, "note": f"{mb:.0f} MB of JSON"},
    ]


# -- 5. peak memory of a 1,000,000-supporter audit ------------------------------------------------------


def child_audit(url: str, key: str) -> None:
    """Run in a separate process: export 1M supporters, audit them, report time and peak memory."""
    from enstoolkit import ENSClient
    from enstoolkit.analysis import run_audit

    started = time.perf_counter()
    ens = ENSClient(key, url, hourly_limit=100_000_000)
    frame = ens.export_supporters("All supporters", poll_interval=0.5, timeout=1800)
    findings = run_audit(frame, today=dt_today())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": frame.height, "findings": findings.height, "seconds": time.perf_counter() - started,
                      "peak_mb": peak_mb, "requests": ens.requests_last_hour}))


def million(latency: float) -> list[dict[str, Any]]:
    proc, info = start_sandbox(1_000_000, latency)
    try:
        done = subprocess.run([sys.executable, __file__, "--child-audit", info["ens_url"], info["ens_key"]],
                              capture_output=True, text=True, timeout=3600)
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return [{"method": "enstoolkit: export job + audit, 1,000,000 supporters", "requests": None,
             "seconds": result["seconds"],
             "note": f"peak memory {result['peak_mb']:,.0f} MB; {result['rows']:,} rows; "
                     f"{result['findings']:,} findings"}]


# -- the table --------------------------------------------------------------------------------------------


def table(sections: list[tuple[str, list[dict[str, Any]]]]) -> str:
    lines = ["| # | what | method | requests | seconds | notes |", "|---|---|---|---:|---:|---|"]
    for n, (title, rows) in enumerate(sections, start=1):
        for i, row in enumerate(rows):
            requests = "" if row["requests"] is None else f"{row['requests']:,}"
            seconds = row["seconds"]
            shown = f"{seconds:,.0f}" if seconds >= 100 else f"{seconds:.2f}"
            lines.append(f"| {n if i == 0 else ''} | {title if i == 0 else ''} | {row['method']} | {requests} | "
                         f"{shown} | {row['note']} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, "
            f"polars {pl.__version__}, httpx {httpx.__version__}")


def main() -> int:
    parser = argparse.ArgumentParser(description="enstoolkit benchmark")
    parser.add_argument("--latency", type=float, default=0.025, help="simulated round trip in seconds")
    parser.add_argument("--supporters", type=int, default=100_000)
    parser.add_argument("--skip-million", action="store_true", help="skip the 1,000,000-supporter memory run")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    parser.add_argument("--child-audit", nargs=2, metavar=("URL", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_audit:
        child_audit(*args.child_audit)
        return 0
    print(f"starting the sandbox with {args.supporters:,} supporters and {args.latency * 1000:.0f} ms latency ...",
          flush=True)
    proc, info = start_sandbox(args.supporters, args.latency)
    sections = []
    try:
        print("1/5 whole-file audit ...", flush=True)
        sections.append((f"Whole-file audit, {args.supporters:,} supporters", whole_file(info, args.supporters,
                                                                                     args.latency)))
        print("2/5 paging 10,000 rows ...", flush=True)
        sections.append(("Paging ~10,000 query rows", paging(info, args.latency)))
        print("3/5 looking up 2,000 emails ...", flush=True)
        ens = ens_client(info)
        frame = ens.query_supporters("search", filter="country:GB", progress=False)
        from enstoolkit._validate import is_valid_email

        emails = [e for e in frame.get_column("emailAddress").str.strip_chars().str.to_lowercase().unique(
            maintain_order=True).to_list() if is_valid_email(e)][:2000]
        sections.append(("Looking up 2,000 emails", lookups(info, emails, args.latency)))
        print("4/5 building a frame from 100,000 records ...", flush=True)
        export = ens.export_supporters("All supporters")
        records = (export.select("supporterId", "suppressed", *[c for c in export.columns if c not in (
            "supporterId", "suppressed") and export.schema[c] == pl.String]).head(100_000).to_dicts())
        sections.append(("Building a frame from 100,000 supporter records", frames(records)))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    if not args.skip_million:
        print("5/5 auditing 1,000,000 supporters (the sandbox takes a minute to build them) ...", flush=True)
        sections.append(("Peak memory, audit of 1,000,000 supporters", million(args.latency)))
    text = table(sections)
    header = f"Measured on {machine()}; simulated latency {args.latency * 1000:.0f} ms."
    print("\n" + header + "\n\n" + text)
    if args.out:
        args.out.write_text(header + "\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
