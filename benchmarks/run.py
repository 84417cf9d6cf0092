#!/usr/bin/env python3
"""enstoolkit benchmark: the public client methods and the ``enstoolkit audit`` command, against the naive ways.

    .venv/bin/python benchmarks/run.py                 # everything (about 5 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --skip-million  # without the 1,000,000-supporter audit
    .venv/bin/python benchmarks/run.py --quick         # smaller sizes, one repeat: under 2 minutes

Each section times what analysts call (``ENSClient.export_supporters``, ``query_supporters``,
``get_supporters``, ``EnchargeClient.list_people`` and the ``enstoolkit audit`` command) beside
the way it is done by hand (a sequential loop with plain ``httpx``, rows made into a frame with
``pandas.json_normalize``) and beside the floor (the latency that cannot be avoided). The sandbox
runs in its own process with a simulated round trip (``--latency``, default 25 ms) and no hourly
limit, so its work is not counted as the client's. The audit command runs as users run it
(``enstoolkit audit --sandbox``: its own sandbox, no simulated latency); its time is the wall
clock, its memory the peak of the whole process tree (the command, its sandbox and the notebook
kernels, sampled every 50 ms) and the largest single process. Times are wall-clock seconds,
best of the repeats.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 10, 1)  # the sandbox's clock starts here


class CountingTransport(httpx.HTTPTransport):
    """A real transport that counts the requests it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return super().handle_request(request)


@contextmanager
def sandbox(supporters: int, latency: float) -> Iterator[dict[str, str]]:
    """``enstoolkit sandbox`` in its own process; yields its URLs and keys."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "enstoolkit.cli", "sandbox", "--supporters", str(supporters), "--latency", str(latency),
         "--hourly-limit", "100000000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        if not lines[4]:
            raise SystemExit("the sandbox did not start:\n" + "".join(lines))
        values = [line.split(":", 1)[1].strip() for line in lines[1:5]]
        yield dict(zip(("ens_url", "ens_key", "encharge_url", "encharge_key"), values, strict=True))
    finally:
        proc.terminate()
        proc.wait(timeout=120)


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


def encharge_client(info: dict[str, str], transport: httpx.BaseTransport | None = None) -> Any:
    from enstoolkit import EnchargeClient

    return EnchargeClient(info["encharge_key"], info["encharge_url"], transport=transport)


def plain_ens(info: dict[str, str]) -> tuple[httpx.Client, dict[str, str]]:
    """What an analyst writes by hand: one httpx client, a session token, requests one after another."""
    client = httpx.Client(timeout=60)
    token = client.post(info["ens_url"] + "/authenticate", content=info["ens_key"],
                        headers={"Content-Type": "application/json"}).json()["ens-auth-token"]
    return client, {"ens-auth-token": token}


def plain_query_loop(info: dict[str, str], params: dict[str, Any], *, frame: bool = True) -> Any:
    """Page GET /supporter/query one page after another, then ``pandas.json_normalize`` the rows (or not)."""
    import pandas as pd

    client, headers = plain_ens(info)
    rows: list[dict[str, Any]] = []
    start = 1
    try:
        while True:
            body = client.get(info["ens_url"] + "/supporter/query", headers=headers,
                              params={**params, "rows": 100, "start": start}).json()
            rows.extend(body["data"])
            start += len(body["data"])
            if len(body["data"]) < 100 or len(rows) >= body["pagination"]["total"]:
                return pd.json_normalize(rows) if frame else rows
    finally:
        client.close()


def ratio(slow: float, fast: float) -> str:
    return f"{slow / fast:.1f}x" if fast > 0 else "-"


# -- 1. the audit command, end to end ----------------------------------------------------------


def tree_rss(pid: int) -> tuple[int, int]:
    """(sum, largest) resident memory of a process and all its descendants, in bytes."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    sizes = []
    for proc in procs:
        try:
            sizes.append(proc.memory_info().rss)
        except psutil.Error:
            continue
    return sum(sizes), max(sizes, default=0)


def audit_command(supporters: int, timeout: float, *, notebooks: bool = False, data: str | None = None
                  ) -> dict[str, Any]:
    """``enstoolkit audit --sandbox`` as a user runs it: wall time, peak memory of the process tree.

    ``notebooks``: the way the command built its reports before (``--notebooks``: both notebooks in
    kernels, exported with nbconvert), measured in the same run for the side-by-side figures.
    ``data``: the data folder (``ENSTOOLKIT_DATA_DIR``: the history store, the logs) the command uses,
    so that the figures do not depend on what the user's own folder holds.
    """
    with tempfile.TemporaryDirectory(prefix="enstoolkit-bench-") as out:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ENS_", "ENCHARGE_"))}
        if data is not None:
            env["ENSTOOLKIT_DATA_DIR"] = data
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.Popen([sys.executable, "-m", "enstoolkit.cli", "audit", "--sandbox", "--supporters",
                                 str(supporters), "--out", out, "--timeout", str(int(timeout)),
                                 *(["--notebooks"] if notebooks else [])],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        peak_tree, peak_one = 0, 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_tree, peak_one
            while not stop.is_set():
                total, largest = tree_rss(proc.pid)
                peak_tree, peak_one = max(peak_tree, total), max(peak_one, largest)
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            output, _ = proc.communicate(timeout=timeout)
        finally:
            stop.set()
            sampler.join()
            if proc.poll() is None:
                proc.kill()
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        maxrss = after.ru_maxrss * 1024  # the largest child waited for
        # CPU of the command and everything it waited for (its sandbox, the sandbox's workers, kernels): on a
        # shared machine a steadier measure of the work than the wall clock
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"enstoolkit audit --supporters {supporters} failed:\n{output[-3000:]}")
        steps = [line.strip() for line in output.splitlines()
                 if " ready in " in line or ": ok in " in line or " written in " in line]
        steps.append(f"CPU {cpu:.1f} s (the command and its sandbox), load average {os.getloadavg()[0]:.1f}")
        return {"supporters": supporters, "notebooks": notebooks, "seconds": seconds, "peak_tree_mb": peak_tree / 2**20,
                "peak_process_mb": max(peak_one, maxrss) / 2**20, "steps": steps, "cpu": cpu}


def audit_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    built = [r for r in results if not r["notebooks"]]
    base = built[0] if built else results[0]
    rows = []
    for result in results:
        growth = ""
        if result["notebooks"]:
            same = [r for r in built if r["supporters"] == result["supporters"]]
            growth = (f"; the way before this release (two notebook kernels): "
                      f"{ratio(result['seconds'], same[0]['seconds'])} the time of the kernel-free build"
                      if same else "")
        elif result is not base:
            growth = (f"; {ratio(result['seconds'], base['seconds'])} the time of {base['supporters']:,} for "
                      f"{result['supporters'] / base['supporters']:.0f}x the supporters")
        how = " --notebooks" if result["notebooks"] else ""
        rows.append({"method": f"enstoolkit audit --sandbox{how}, {result['supporters']:,} supporters",
                     "requests": None,
                     "seconds": result["seconds"],
                     "note": f"peak memory {result['peak_tree_mb']:,.0f} MB (all processes), largest process "
                             f"{result['peak_process_mb']:,.0f} MB; CPU {result['cpu']:.1f} s{growth}"})
    return rows


# -- 2. the whole file ----------------------------------------------------------------------------


def whole_file(info: dict[str, str], supporters: int, repeat: int) -> list[dict[str, Any]]:
    from enstoolkit.analysis import run_audit

    transport = CountingTransport()
    ens = ens_client(info, transport)

    def export_and_audit() -> tuple[int, int]:
        frame = ens.export_supporters("All supporters", poll_interval=0.2)
        return frame.height, run_audit(frame, today=TODAY).height

    t_export, (rows, findings) = timed(export_and_audit)
    export_requests = transport.count
    pager_transport = CountingTransport()
    pager = ens_client(info, pager_transport)
    every_country = {"country": ["GB", "US", "IE", "CA", "AU", "DE", "FR", "NL", "NZ"]}
    t_paging, paged = timed(lambda: pager.query_supporters("search", filter=every_country, progress=False))
    t_loop, naive = timed(lambda: plain_query_loop(info, {"type": "search",
                                                          "filter": "country:" + "||".join(every_country["country"])}))
    client, headers = plain_ens(info)
    ids = paged.get_column("supporterId").head(200).to_list()

    def one_by_one() -> None:
        for sid in ids:
            client.get(f"{info['ens_url']}/supporter/{sid}", headers=headers).json()

    t_sample, _ = timed(one_by_one)
    client.close()
    per_get = t_sample / len(ids)
    pages = -(-supporters // 100)
    return [
        {"method": "enstoolkit export_supporters + run_audit", "requests": export_requests, "seconds": t_export,
         "note": f"{rows:,} rows, {findings:,} findings; {ratio(t_loop, t_export)} faster than the loop"},
        {"method": "enstoolkit query_supporters (12 pages at a time)", "requests": pager_transport.count,
         "seconds": t_paging, "note": f"{paged.height:,} rows; {ratio(t_loop, t_paging)} faster than the loop"},
        {"method": "httpx loop over the query pages + pandas.json_normalize", "requests": pages + 1,
         "seconds": t_loop, "note": f"{len(naive):,} rows"},
        {"method": "one GET per supporter (from 200 timed)", "requests": supporters, "seconds": per_get * supporters,
         "note": f"{per_get * 1000:.1f} ms each; {supporters / 5000:.0f} h under the 5,000/hour limit"},
    ]


# -- 3. paging ~10,000 query rows -------------------------------------------------------------------


def paging(info: dict[str, str], latency: float, repeat: int, concurrency: int = 12) -> list[dict[str, Any]]:
    transport = CountingTransport()
    ens = ens_client(info, transport)
    ens.get_fields()  # the filter is checked against the account's fields once per client
    transport.count = 0
    t_ours, frame = timed(lambda: ens.query_supporters("search", filter={"country": ["IE", "NZ"]}, progress=False,
                                                       concurrency=concurrency), repeat=repeat)
    pages = -(-frame.height // 100)
    query = {"type": "search", "filter": "country:IE||NZ"}
    t_loop, naive = timed(lambda: plain_query_loop(info, query))
    t_bare, bare = timed(lambda: plain_query_loop(info, query, frame=False))
    floor = latency + (pages - 1) * latency / concurrency
    return [
        {"method": f"enstoolkit query_supporters ({concurrency} at a time)", "requests": pages, "seconds": t_ours,
         "note": f"{frame.height:,} rows; {ratio(t_loop, t_ours)} faster than the loop with a frame, "
                 f"{ratio(t_bare, t_ours)} than the bare loop; {t_ours / floor:.2f}x the floor"},
        {"method": "httpx loop + pandas.json_normalize", "requests": pages, "seconds": t_loop,
         "note": f"{len(naive):,} rows"},
        {"method": "httpx loop alone (rows as dicts, no frame)", "requests": pages, "seconds": t_bare,
         "note": f"{len(bare):,} rows"},
        {"method": f"latency floor (first page, then pages x latency / {concurrency})", "requests": pages,
         "seconds": floor, "note": ""},
    ]


# -- 4. looking up 2,000 emails -----------------------------------------------------------------------


def lookups(info: dict[str, str], latency: float, repeat: int, count: int,
            concurrency: int = 16) -> list[dict[str, Any]]:
    import pandas as pd

    from enstoolkit.inputs.arguments import is_valid_email

    ens = ens_client(info)
    frame = ens.query_supporters("search", filter={"country": "GB"}, progress=False)
    emails = [e for e in frame.get_column("emailAddress").str.strip_chars().str.to_lowercase().unique(
        maintain_order=True).to_list() if is_valid_email(e)][:count]
    t_ours, found = timed(lambda: ens.get_supporters(emails=emails, concurrency=concurrency, progress=False),
                          repeat=repeat)
    client, headers = plain_ens(info)

    def loop() -> Any:
        rows = []
        for email in emails:
            response = client.get(f"{info['ens_url']}/supporter", params={"email": email}, headers=headers)
            if response.status_code == 200:
                rows.append(response.json())
        return pd.json_normalize(rows)

    t_loop, hits = timed(loop)
    client.close()
    floor = len(emails) * latency / concurrency
    return [
        {"method": f"enstoolkit get_supporters ({concurrency} at a time)", "requests": len(emails), "seconds": t_ours,
         "note": f"{found.height:,} found; {ratio(t_loop, t_ours)} faster than the loop, "
                 f"{t_ours / floor:.2f}x the floor"},
        {"method": "httpx loop + pandas.json_normalize", "requests": len(emails), "seconds": t_loop,
         "note": f"{len(hits):,} found"},
        {"method": f"latency floor (lookups x latency / {concurrency})", "requests": len(emails), "seconds": floor,
         "note": ""},
    ]


# -- 5. Encharge people at two sizes --------------------------------------------------------------------


def encharge_people(info: dict[str, str], latency: float, repeat: int, concurrency: int = 4) -> dict[str, Any]:
    import pandas as pd

    transport = CountingTransport()
    enc = encharge_client(info, transport)
    t_ours, people = timed(lambda: enc.list_people(progress=False, concurrency=concurrency), repeat=repeat)
    requests = transport.count // repeat

    def loop() -> Any:
        rows: list[dict[str, Any]] = []
        with httpx.Client(timeout=60, headers={"X-Encharge-Token": info["encharge_key"]}) as client:
            while True:
                page = client.get(info["encharge_url"] + "/people/all",
                                  params={"limit": 100, "offset": len(rows)}).json()["people"]
                rows.extend(page)
                if len(page) < 100:
                    return pd.json_normalize(rows)

    t_loop, naive = timed(loop)
    pages = people.height // 100 + 1
    return {"people": people.height, "seconds": t_ours, "requests": requests, "loop": t_loop, "naive": len(naive),
            "floor": latency + (pages - 1) * latency / concurrency, "pages": pages}


def encharge_rows(results: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    base = results[0][1]["seconds"] / results[0][1]["people"]
    for supporters, r in results:
        per = r["seconds"] / r["people"]
        growth = "" if supporters == results[0][0] else f"; {per / base:.2f}x the cost per person of the smaller list"
        rows.append({"method": f"enstoolkit list_people (4 pages in flight), {supporters:,} supporters",
                     "requests": r["requests"], "seconds": r["seconds"],
                     "note": f"{r['people']:,} people, {per * 1e6:.0f} µs each{growth}; "
                             f"{ratio(r['loop'], r['seconds'])} faster than the loop, "
                             f"{r['seconds'] / r['floor']:.2f}x the floor"})
        rows.append({"method": f"httpx offset loop + pandas.json_normalize, {supporters:,} supporters",
                     "requests": r["pages"], "seconds": r["loop"],
                     "note": f"{r['naive']:,} people, {r['loop'] / max(r['naive'], 1) * 1e6:.0f} µs each"})
    return rows


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


def report(sections: list[tuple[str, list[dict[str, Any]]]], header: str, figures: list[str],
           out: Path | None) -> int:
    """Print the tables and the figures; write the tables to ``out`` when given."""
    text = table(sections)
    print("\n" + header + "\n\n" + text + "\n\n" + "\n".join(figures))
    if out:
        out.write_text(header + "\n\n" + text + "\n")
    return 0


def compile_package() -> Path:
    """The package's modules compiled to bytecode, as pip does when it installs the wheel.

    An editable install run with ``PYTHONDONTWRITEBYTECODE=1`` (as on CI machines) would otherwise
    compile every module again in the command and in its sandbox on every run: time users do not spend.
    """
    import compileall

    import enstoolkit

    folder = Path(enstoolkit.__file__).resolve().parent
    if not compileall.compile_dir(folder, quiet=1):
        raise SystemExit(f"could not compile {folder}")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description="enstoolkit benchmark")
    parser.add_argument("--latency", type=float, default=0.025, help="simulated round trip in seconds")
    parser.add_argument("--supporters", type=int, default=100_000, help="size of the whole-file section")
    parser.add_argument("--skip-million", action="store_true", help="leave out the 1,000,000-supporter audit")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and one repeat (no 1,000,000 audit): the shape in a few minutes")
    parser.add_argument("--audit-timeout", type=float, default=3600, help="seconds allowed for one audit run")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    parser.add_argument("--audit-only", action="store_true",
                        help="only the audit command: the report built in-process beside the notebook kernels")
    parser.add_argument("--no-notebooks", action="store_true",
                        help="leave out the audit command's --notebooks runs (the kernels)")
    parser.add_argument("--audit-repeat", type=int, default=1,
                        help="run each audit this many times and keep the quickest (the machine may be shared)")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    whole = 20_000 if args.quick else args.supporters
    audit_sizes = [5_000, 20_000] if args.quick else [5_000, 100_000]
    if not (args.quick or args.skip_million):
        audit_sizes.append(1_000_000)
    encharge_sizes = [5_000, 20_000] if args.quick else [5_000, 40_000]
    sections: list[tuple[str, list[dict[str, Any]]]] = []
    figures: list[str] = []
    print(f"bytecode of {compile_package()} compiled (as pip does at install)", flush=True)

    audits = []
    for n in audit_sizes:
        for notebooks in ((False, True) if n <= 100_000 and not args.no_notebooks else (False,)):
            how = " --notebooks" if notebooks else ""
            print(f"audit command{how}, {n:,} supporters ...", flush=True)
            # a data folder of its own per series: the first run starts the history store, the next ones
            # compare with what it kept (as a scheduled audit does)
            with tempfile.TemporaryDirectory(prefix="enstoolkit-bench-data-") as data:
                runs = [audit_command(n, args.audit_timeout, notebooks=notebooks, data=data)
                        for _ in range(max(1, args.audit_repeat))]
            if len(runs) > 1:
                print("  each run: " + ", ".join(f"{r['seconds']:.1f} s (CPU {r['cpu']:.1f} s)" for r in runs),
                      flush=True)
            audits.append(min(runs, key=lambda r: r["seconds"]))
            figures.append(f"audit{how} {n:,}: {audits[-1]['seconds']:.1f} s; " + "; ".join(audits[-1]["steps"]))
            print("  " + figures[-1], flush=True)
    sections.append(("The audit command, end to end", audit_rows(audits)))
    if args.audit_only:
        return report(sections, f"Measured on {machine()}; the audit command only.", figures, args.out)

    print(f"sandbox with {whole:,} supporters and {args.latency * 1000:.0f} ms latency ...", flush=True)
    with sandbox(whole, args.latency) as info:
        print("whole file ...", flush=True)
        sections.append((f"Whole file, {whole:,} supporters", whole_file(info, whole, repeat)))
        print("paging the query rows of two countries (~10,000 of 100,000) ...", flush=True)
        rows = paging(info, args.latency, repeat)
        sections.append((f"Paging {rows[1]['note'].split()[0]} query rows", rows))  # ~10,000 at 100,000
        count = 500 if args.quick else 2_000
        print(f"looking up {count:,} emails ...", flush=True)
        sections.append((f"Looking up {count:,} emails", lookups(info, args.latency, repeat, count)))

    people = []
    for n in encharge_sizes:
        print(f"Encharge people, {n:,} supporters ...", flush=True)
        with sandbox(n, args.latency) as info:
            people.append((n, encharge_people(info, args.latency, repeat)))
    sections.append(("Encharge people, cost per person at two sizes", encharge_rows(people)))

    header = f"Measured on {machine()}; simulated latency {args.latency * 1000:.0f} ms (the audit command: none)."
    return report(sections, header, figures, args.out)


if __name__ == "__main__":
    sys.exit(main())
