#!/usr/bin/env python3
"""enstoolkit benchmark: reading a large ENS export file, part by part.

    .venv/bin/python benchmarks/export_reader.py                       # 100,000 supporters (makes the files first)
    .venv/bin/python benchmarks/export_reader.py --keep /tmp/exports   # make them once, keep them there
    .venv/bin/python benchmarks/export_reader.py --keep /tmp/exports --repeats 5   # reuse the kept files

Side by side in one run: the csv module's row-by-row check (what the reader ran on every file
before; now only when something is irregular, to name the line), its count at C speed (what runs
now), polars' read of the same file, and the two readers whole (``read_transaction_export``,
``read_supporter_export``). Wall clock and CPU seconds of this process (all its threads), best of
the repeats; the load average is printed beside them, as the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from enstoolkit import ENSClient  # noqa: E402
from enstoolkit.ens import read_supporter_export, read_transaction_export  # noqa: E402
from enstoolkit.ens.export_rows import line_check, line_shapes  # noqa: E402
from enstoolkit.ens.readers import csv_header  # noqa: E402
from enstoolkit.sandbox import Sandbox  # noqa: E402


def make_files(supporters: int, folder: Path) -> tuple[Path, Path]:
    """The sandbox's transaction and supporter export files at ``supporters``, made once into ``folder``."""
    transactions, people = folder / f"transactions-{supporters}.csv", folder / f"supporters-{supporters}.csv"
    if transactions.exists() and people.exists():
        return transactions, people
    folder.mkdir(parents=True, exist_ok=True)
    with Sandbox(supporters=supporters) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        shutil.move(ens._run_export_job("All supporters", format="Transaction"), transactions)
        shutil.move(ens._run_export_job("All supporters"), people)
    return transactions, people


def best(work: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """The best wall-clock and CPU seconds of ``repeats`` runs of ``work``."""
    walls, cpus = [], []
    for _ in range(repeats):
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        work()
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        walls.append(wall)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supporters", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="make the files into this folder once and reuse them")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="enstoolkit-reader-"))
    transactions, people = make_files(args.supporters, folder)
    header = csv_header(transactions)
    id_column = header.index("Supporter ID")
    width = len(header)
    rows = read_transaction_export(transactions).height
    print(f"{transactions.name}: {rows:,} rows, {transactions.stat().st_size / 1e6:.0f} MB; "
          f"{people.name}: {people.stat().st_size / 1e6:.0f} MB; load average {os.getloadavg()[0]:.2f}")
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("csv module, row by row (line_check)", lambda: line_check(transactions, "utf-8-sig", header, 1, id_column)),
        ("csv module, count at C speed (line_shapes)", lambda: line_shapes(transactions, "utf-8-sig", 1)),
        ("polars' read of the cells", lambda: pl.read_csv(
            transactions, has_header=False, skip_lines=1, schema={f"c{i}": pl.String() for i in range(width)})),
        ("read_transaction_export", lambda: read_transaction_export(transactions)),
        ("read_supporter_export", lambda: read_supporter_export(people, email_field="Email Address")),
    ]
    print(f"\n{'part':<46}{'wall s':>8}{'CPU s':>8}")
    for name, work in parts:
        wall, cpu = best(work, args.repeats)
        print(f"{name:<46}{wall:>8.2f}{cpu:>8.2f}")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
