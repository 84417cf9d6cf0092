"""``enstoolkit audit``: the audit and the opt-in analysis as self-contained HTML reports, CSVs (and a workbook).

The command pulls the data once and builds both reports in this process from the library
functions the notebooks call (:mod:`enstoolkit.reports`): no notebook kernel is started. Without
credentials (or with ``--sandbox``) it starts one sandbox itself, as ``enstoolkit demo`` does.
``--notebooks`` runs the two notebooks in kernels and exports them with their code instead (the
way this command worked before; slower). The folder is written whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import CREDENTIALS, stop_process

if TYPE_CHECKING:
    from ..config.connect import Connection
    from ..history import History
    from ..reports.build import AuditData
    from ..sandbox import Sandbox

__all__ = ["AUDIT_NOTEBOOKS", "PARAMETERS", "build_reports", "environment", "register", "run_audit", "run_notebooks",
           "sandbox_process", "shared_sandbox"]

AUDIT_NOTEBOOKS = ("supporter_audit.ipynb", "optin_analysis.ipynb")
#: The notebooks' parameters ``-p`` may set.
PARAMETERS = ("STALE_DAYS", "QUERY_NAME", "OPTINS", "REQUIRED_FIELDS", "SUPPORTERS", "SANDBOX_VARIANT", "OUT_DIR",
              "KEEP_HISTORY")


def register(sub: Any) -> None:
    """Add the ``audit`` command."""
    audit = sub.add_parser("audit", help="the audit and opt-in analysis: HTML reports, CSVs, a findings workbook",
                           description="Pull the supporter data once, run the audit's checks and the opt-in "
                                       "analysis, and write two self-contained HTML reports (they open offline, "
                                       "without code), the findings as CSV and, with --excel, a workbook into --out; "
                                       "print a summary.")
    audit.add_argument("--out", type=Path, default=Path("audit-report"),
                       help="output folder: new, empty, or written by an earlier run (default: audit-report)")
    audit.add_argument("--excel", action="store_true",
                       help="also write audit_findings.xlsx: one sheet per check, the columns to fix first")
    audit.add_argument("--show-code", action="store_true",
                       help="add the notebooks' code at the end of each report (readers get none by default)")
    audit.add_argument("--notebooks", action="store_true",
                       help="run the notebooks in kernels and export them with their code instead (slower)")
    audit.add_argument("--sandbox", action="store_true",
                       help="use the sandbox even when ENS_API_KEY / ENCHARGE_API_KEY are set")
    audit.add_argument("--supporters", type=int, default=5000, help="sandbox size (with no credentials or --sandbox)")
    audit.add_argument("--variant", action="append", default=[], metavar="PRESET|NAME=VALUE",
                       help="the sandbox's account shapes, e.g. us-account (repeatable; see enstoolkit sandbox --help)")
    audit.add_argument("--timeout", type=int, default=1800, help="seconds allowed per notebook cell (--notebooks)")
    audit.add_argument("--query", help="the export query saved in your ENS dashboard (QUERY_NAME)")
    audit.add_argument("--optin", action="append", metavar="QUESTION",
                       help="an opt-in question Encharge's subscription should agree with (OPTINS; repeatable)")
    audit.add_argument("--required", action="append", metavar="FIELD",
                       help="a field every supporter should have (REQUIRED_FIELDS; repeatable)")
    audit.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="a notebook parameter, as papermill takes it (the value is read as Python if it can be, "
                            f"else as text), e.g. -p STALE_DAYS 365; one of {', '.join(PARAMETERS)}")
    audit.set_defaults(handler=run_audit)


def notebook_parameters(args: argparse.Namespace) -> dict[str, object]:
    """The notebooks' parameters from the command line (the explicit options win over ``-p``)."""
    import ast

    parameters: dict[str, object] = {}
    for name, value in args.parameter:
        if name not in PARAMETERS:
            raise SystemExit(f"-p {name!r}: expected one of the notebooks' parameters: {', '.join(PARAMETERS)}")
        try:
            parameters[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parameters[name] = value
    parameters.update({"OUT_DIR": str(args.out), "SUPPORTERS": args.supporters})
    if args.variant:
        parameters["SANDBOX_VARIANT"] = ",".join(args.variant)
    if args.query is not None:
        parameters["QUERY_NAME"] = args.query
    if args.optin:
        parameters["OPTINS"] = list(args.optin)
    if args.required:
        parameters["REQUIRED_FIELDS"] = list(args.required)
    return parameters


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables (for the kernels started meanwhile), and put the old values back after."""
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def shared_sandbox(args: argparse.Namespace) -> Iterator[Sandbox | None]:
    """One sandbox for every notebook when no credentials are set: started here, handed over by environment.

    Each kernel would otherwise generate the account again and serve it from its own process,
    competing with the analysis for the interpreter. Yields ``None`` (and starts nothing) when
    either API key is set: the notebooks then connect as they would on their own.
    """
    if os.environ.get("ENS_API_KEY") or os.environ.get("ENCHARGE_API_KEY"):
        yield None
        return
    from ..sandbox import Sandbox, Variant

    try:
        variant = Variant.of(args.variant)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    started = time.perf_counter()
    sandbox = Sandbox(supporters=args.supporters, variant=variant).start()
    print(f"  sandbox: {args.supporters:,} synthetic supporters ready in {time.perf_counter() - started:.0f} s",
          flush=True)
    try:
        with environment(sandbox.environment()):
            yield sandbox
    finally:
        sandbox.stop()


@contextmanager
def sandbox_process(args: argparse.Namespace, meanwhile: Callable[[], object] | None = None
                    ) -> Iterator[Callable[[], None] | None]:
    """The sandbox in a process of its own (``enstoolkit sandbox``) when no credentials are set, by environment.

    The report is built in this process: a sandbox served from here would share its interpreter
    with the client reading the exports (one lock, so one core). In its own process it serves on
    the other core, and generates the account while ``meanwhile`` runs here (imports, warm-up).
    Yields a function that lets the sandbox stop once the data is pulled (it then stops while the
    reports are written; the block's end waits for it), or ``None`` when either API key is set.
    """
    if os.environ.get("ENS_API_KEY") or os.environ.get("ENCHARGE_API_KEY"):
        if meanwhile is not None:
            meanwhile()
        yield None
        return
    import subprocess

    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    command = [sys.executable, "-m", "enstoolkit.cli", "sandbox", "--supporters", str(args.supporters)]
    for variant in args.variant:
        command += ["--variant", variant]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        if meanwhile is not None:
            meanwhile()
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        if not lines[4].strip():
            rest = "".join(lines) + (proc.stdout.read() if proc.poll() is not None else "")
            raise SystemExit(f"enstoolkit audit: the sandbox did not start:\n{rest.strip()}")
        values = dict(line.split(":", 1) for line in lines[1:5])
        settings = {"ENS_BASE_URL": values["  ENS base URL      "].strip(),
                    "ENS_API_KEY": values["  ENS API key       "].strip(),
                    "ENCHARGE_BASE_URL": values["  Encharge base URL "].strip(),
                    "ENCHARGE_API_KEY": values["  Encharge API key  "].strip()}
        print(f"  sandbox: {args.supporters:,} synthetic supporters ready in {time.perf_counter() - started:.0f} s",
              flush=True)
        with environment(settings):
            yield proc.terminate
    finally:
        stop_process(proc, timeout=30)


def run_notebooks(out: Path, parameters: Mapping[str, object], *, timeout: int) -> list[str]:
    """Execute the audit notebooks into ``out`` (HTML beside the CSVs they write); returns the ones that failed.

    The kernels connect as :func:`enstoolkit.config.connect.connect` does: to the accounts or the sandbox the
    environment names (see :func:`shared_sandbox`).
    """
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    from ..notebooks import execute, notebook_path

    failed = []
    exporter = HTMLExporter()
    for name in AUDIT_NOTEBOOKS:
        source = notebook_path(name)
        if not source.exists():
            print(f"  {name}: missing at {source}", flush=True)
            failed.append(name)
            continue
        started = time.perf_counter()
        try:
            nb = execute(source, cwd=out, timeout=timeout, save=False, parameters={**parameters, "OUT_DIR": str(out)})
        except CellExecutionError as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            print(f"  {name}: FAILED: {first}", flush=True)
            failed.append(name)
            continue
        html, _ = exporter.from_notebook_node(nb)
        target = out / name.replace(".ipynb", ".html")
        target.write_text(html, encoding="utf-8")
        print(f"  {name}: ok in {time.perf_counter() - started:.0f} s -> {target.name}", flush=True)
    return failed


def _print_summary(out: Path) -> None:
    import polars as pl

    summary = out / "audit_summary.csv"
    if summary.exists():
        print("\nAudit findings:")
        table = pl.read_csv(summary, schema_overrides={"note": pl.String})
        notes = table.get_column("note") if "note" in table.columns else pl.Series([None] * table.height)
        for (check, severity, count), note in zip(table.select("check", "severity", "findings").iter_rows(),
                                                  notes, strict=True):
            print(f"  {severity:<6}  {count:>7,}  {check}" + (f"  ({note})" if note else ""))
    rates = out / "optin_rates.csv"
    if rates.exists():
        print("\nOpt-in rates:")
        for question, rate in pl.read_csv(rates).select("question", "rate").iter_rows():
            print(f"  {question:<24} " + ("cannot tell" if rate is None else f"{rate:.1%}"))


def prepare() -> None:
    """What building the reports needs, loaded (and the chart renderer started) while the sandbox starts."""
    import importlib
    from contextlib import suppress

    from ..reports.build import warm_up

    warm_up()
    # the libraries the reports, the history store and the frames' hand-over use: loaded now rather than
    # on the way from the pulled data to the reports (a missing extra is said where it is needed)
    for name in ("great_tables", "duckdb", "pyarrow"):
        with suppress(ImportError):
            importlib.import_module(name)


class _SnapshotKeeper:
    """The day's supporter file and people kept in the history in a thread, under a run id made beforehand."""

    def __init__(self) -> None:
        import datetime as dt
        import threading

        from ..history.audit_runs import new_run_id

        self.started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.run_id = new_run_id(self.started_at)
        self.started = False
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def start(self, history: History, data: AuditData) -> None:
        import threading

        from ..reports.build import keep_snapshots

        def work() -> None:
            try:
                keep_snapshots(history, data, self.run_id)
            except BaseException as exc:  # raised again by wait(), in the command's thread
                self._failure = exc

        self.started = True
        self._thread = threading.Thread(target=work, name="enstoolkit-keep-snapshots", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def wait(self) -> None:
        """Wait for the snapshots; their error, if they failed, is raised here."""
        self.join()
        if self._failure is not None:
            raise self._failure


def _open_history(conn: Connection, parameters: Mapping[str, object], args: argparse.Namespace) -> History:
    """The history of the accounts ``conn`` works on (the sandbox's size and variant name it on the sandbox)."""
    from ..history import History

    return History.for_connection(conn, sandbox=f"{parameters.get('SUPPORTERS', args.supporters)} supporters, "
                                  f"variant {parameters.get('SANDBOX_VARIANT') or 'default'}")


def build_reports(out: Path, args: argparse.Namespace, parameters: Mapping[str, object],
                  release: Callable[[], None] | None = None) -> None:
    """Pull the data once and write both reports into ``out`` (whole or not at all), in this process."""
    from ..config.connect import connect
    from ..config.settings import audit_settings
    from ..reports.build import analyse, keep_run, pull, warm_up, write_reports

    keeping = _SnapshotKeeper()

    started = time.perf_counter()
    warm_up()
    conn = connect(supporters=int(str(parameters.get("SUPPORTERS", args.supporters))),
                   variant=parameters.get("SANDBOX_VARIANT"))  # type: ignore[arg-type]
    try:
        settings = audit_settings(conn, query=parameters.get("QUERY_NAME"),  # type: ignore[arg-type]
                                  optins=parameters.get("OPTINS"),  # type: ignore[arg-type]
                                  required=parameters.get("REQUIRED_FIELDS"))  # type: ignore[arg-type]
        stale_days = int(str(parameters.get("STALE_DAYS", 730)))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="enstoolkit-history") as pool:
            # the history is keyed by the accounts (Encharge's id is one request): opened beside the pull
            opened = pool.submit(_open_history, conn, parameters, args) if parameters.get("KEEP_HISTORY", True) \
                else None
            data = pull(conn, settings)
            history = None if opened is None else opened.result()
        # the day's lists are kept (DuckDB, in a thread) while the checks and analyses that do not read the
        # history run; the run itself is kept under the same id once its findings are made
        results = analyse(data, stale_days=stale_days, history=history,
                          then=None if history is None else partial(keeping.start, history, data))
        conn.close()
        if release is not None:
            release()  # the data is in: the sandbox may stop while the reports are written
        analysed = time.perf_counter()

        def keep() -> None:  # the run and the day's lists kept; the change since the previous run
            if history is not None:
                keeping.wait()
                keep_run(history, data, results, {"QUERY_NAME": settings.query, "OPTINS": settings.optins,
                                                  "REQUIRED_FIELDS": settings.required, "STALE_DAYS": stale_days},
                         run_id=keeping.run_id, snapshots=not keeping.started, started_at=keeping.started_at)

        # the CSVs and the opt-in report are made while the day's lists are still being kept; the audit
        # report (it shows the change since the last run) once the run is kept; no folder if keeping fails
        written = write_reports(out, results, excel=args.excel, show_code=args.show_code, history=history,
                                kept=keep)
    finally:
        keeping.join()  # never leave the store half written
        conn.close()
    done = time.perf_counter()
    print(f"  data pulled and analysed in {analysed - started:.1f} s; {len(written)} files: "
          f"reports written in {done - analysed:.1f} s", flush=True)


def run_audit(args: argparse.Namespace) -> int:
    """``enstoolkit audit``: both reports, the CSVs (and a workbook) into ``--out``; a summary on screen."""
    from ..reports.folder import ReportFolderError, check_folder, report_folder

    out = args.out.absolute()
    try:
        check_folder(out)
    except ReportFolderError as exc:
        print(f"enstoolkit audit: {exc}", file=sys.stderr)
        return 2
    if args.sandbox:
        for name in CREDENTIALS:
            os.environ.pop(name, None)
    if bool(os.environ.get("ENS_API_KEY")) != bool(os.environ.get("ENCHARGE_API_KEY")):
        given, missing = (("ENS_API_KEY", "ENCHARGE_API_KEY") if os.environ.get("ENS_API_KEY")
                          else ("ENCHARGE_API_KEY", "ENS_API_KEY"))
        print(f"enstoolkit audit: {given} is set but {missing} is not: set {missing} too, or use --sandbox",
              file=sys.stderr)
        return 2
    parameters = notebook_parameters(args)
    using = "your accounts" if os.environ.get("ENS_API_KEY") and os.environ.get("ENCHARGE_API_KEY") else "the sandbox"
    print(f"enstoolkit audit on {using}; reports go to {out}", flush=True)
    failed: list[str] = []
    try:
        with sandbox_process(args, meanwhile=None if args.notebooks else prepare) as release:
            if args.notebooks:
                with report_folder(out) as staging:
                    failed = run_notebooks(staging, {**parameters, "OUT_DIR": str(staging)}, timeout=args.timeout)
                    if failed:
                        raise ReportFolderError(f"notebooks failed: {', '.join(failed)}")
            else:
                build_reports(out, args, parameters, release)
    except ReportFolderError as exc:
        print(f"FAILED: {exc}; no report was written to {out}", flush=True)
        return 1
    except Exception as exc:  # a failed build: said plainly, nothing left that looks complete
        print(f"FAILED: {type(exc).__name__}: {exc}; no report was written to {out}", flush=True)
        return 1
    _print_summary(out)
    from ..history.report import audit_changes

    print("\n" + audit_changes(out))
    csvs = sorted(p.name for p in out.glob("*.csv"))
    htmls = sorted(p.name for p in out.glob("*.html"))
    print(f"\n{len(csvs)} CSV files and {len(htmls)} HTML reports in {out}"
          + (" (and audit_findings.xlsx)" if (out / "audit_findings.xlsx").exists() else ""))
    return 0
