"""``enstoolkit audit``: the audit and opt-in notebooks run headless, HTML reports and CSVs into a folder.

Without credentials (or with ``--sandbox``) the command starts one sandbox itself and points both
notebooks' kernels at it through the environment, as ``enstoolkit demo`` does: the synthetic account
is generated once, and served from this process while the kernels work in theirs.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["audit", "--sandbox"]).sandbox
    True
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import CREDENTIALS

if TYPE_CHECKING:
    from ..sandbox import Sandbox

__all__ = ["AUDIT_NOTEBOOKS", "environment", "register", "run_audit", "run_notebooks", "shared_sandbox"]

AUDIT_NOTEBOOKS = ("supporter_audit.ipynb", "optin_analysis.ipynb")


def register(sub: Any) -> None:
    """Add the ``audit`` command.

    Example:
        >>> from enstoolkit.cli import build_parser
        >>> args = build_parser().parse_args(["audit", "--out", "reports", "--optin", "Marketing Optin"])
        >>> str(args.out), args.optin, args.timeout, args.handler is run_audit
        ('reports', ['Marketing Optin'], 1800, True)
    """
    audit = sub.add_parser("audit", help="run the audit and opt-in notebooks headless; HTML reports and CSVs",
                           description="Run supporter_audit and optin_analysis headless, write the executed "
                                       "notebooks as HTML and the findings as CSV into --out, print a summary.")
    audit.add_argument("--out", type=Path, default=Path("audit-report"), help="output folder (default: audit-report)")
    audit.add_argument("--sandbox", action="store_true",
                       help="use the sandbox even when ENS_API_KEY / ENCHARGE_API_KEY are set")
    audit.add_argument("--supporters", type=int, default=5000, help="sandbox size (with no credentials or --sandbox)")
    audit.add_argument("--variant", action="append", default=[], metavar="PRESET|NAME=VALUE",
                       help="the sandbox's account shapes, e.g. us-account (repeatable; see enstoolkit sandbox --help)")
    audit.add_argument("--timeout", type=int, default=1800, help="seconds allowed per notebook cell")
    audit.add_argument("--query", help="the export query saved in your ENS dashboard (QUERY_NAME)")
    audit.add_argument("--optin", action="append", metavar="QUESTION",
                       help="an opt-in question Encharge's subscription should agree with (OPTINS; repeatable)")
    audit.add_argument("--required", action="append", metavar="FIELD",
                       help="a field every supporter should have (REQUIRED_FIELDS; repeatable)")
    audit.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="any notebook parameter, as papermill takes it (the value is read as Python if it can be, "
                            "else as text), e.g. -p STALE_DAYS 365")
    audit.set_defaults(handler=run_audit)


def notebook_parameters(args: argparse.Namespace) -> dict[str, object]:
    """The notebooks' parameters from the command line (the explicit options win over ``-p``).

    Example:
        >>> from enstoolkit.cli import build_parser
        >>> args = build_parser().parse_args(["audit", "--query", "Q", "--optin", "A", "-p", "STALE_DAYS", "365"])
        >>> sorted(notebook_parameters(args).items())[:3]
        [('OPTINS', ['A']), ('OUT_DIR', 'audit-report'), ('QUERY_NAME', 'Q')]
    """
    import ast

    parameters: dict[str, object] = {}
    for name, value in args.parameter:
        if not name.isidentifier():
            raise SystemExit(f"-p {name!r}: expected a notebook parameter name such as STALE_DAYS")
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
    """Set environment variables (for the kernels started meanwhile), and put the old values back after.

    Example:
        >>> with environment({"ENSTOOLKIT_EXAMPLE": "1"}):
        ...     os.environ["ENSTOOLKIT_EXAMPLE"]
        '1'
        >>> "ENSTOOLKIT_EXAMPLE" in os.environ
        False
    """
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

    Example:
        >>> from enstoolkit.cli import build_parser
        >>> args = build_parser().parse_args(["audit", "--supporters", "20"])
        >>> with environment({"ENS_API_KEY": ""}), shared_sandbox(args) as sb:  # doctest: +ELLIPSIS
        ...     os.environ["ENS_BASE_URL"] == sb.ens_url
          sandbox: 20 synthetic supporters ready in ... s
        True
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


def run_notebooks(out: Path, parameters: Mapping[str, object], *, timeout: int) -> list[str]:
    """Execute the audit notebooks into ``out`` (HTML beside the CSVs they write); returns the ones that failed.

    The kernels connect as :func:`enstoolkit.connect.connect` does: to the accounts or the sandbox the
    environment names (see :func:`shared_sandbox`).

    Example:
        >>> import tempfile
        >>> from enstoolkit.cli import build_parser
        >>> out = Path(tempfile.mkdtemp())
        >>> args = build_parser().parse_args(["audit", "--supporters", "100"])
        >>> with environment({"ENS_API_KEY": "", "ENCHARGE_API_KEY": ""}), shared_sandbox(args):  # doctest: +ELLIPSIS
        ...     failed = run_notebooks(out, {"OUT_DIR": str(out)}, timeout=300)
          sandbox: 100 synthetic supporters ready in ... s
          supporter_audit.ipynb: ok in ... s -> supporter_audit.html
          optin_analysis.ipynb: ok in ... s -> optin_analysis.html
        >>> failed, (out / "audit_findings.csv").exists()
        ([], True)
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


def run_audit(args: argparse.Namespace) -> int:
    """``enstoolkit audit``: execute the audit notebooks headless; HTML and CSVs into ``--out``.

    Example:
        >>> from enstoolkit.cli import build_parser
        >>> build_parser().parse_args(["audit", "--sandbox", "--supporters", "500"]).handler is run_audit
        True
    """
    import polars as pl

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
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
    with shared_sandbox(args):
        failed = run_notebooks(out, parameters, timeout=args.timeout)
    summary = out / "audit_summary.csv"
    if summary.exists():
        print("\nAudit findings:")
        table = pl.read_csv(summary, schema_overrides={"note": pl.String})
        notes = table.get_column("note") if "note" in table.columns else pl.Series([None] * table.height)
        for (check, severity, count), note in zip(table.select("check", "severity", "findings").iter_rows(),
                                                  notes, strict=True):
            shown = f"{count:>7,}" if count is not None else " " * 7  # could not check: no count, not 0
            print(f"  {severity:<6}  {shown}  {check}" + (f"  ({note})" if note else ""))
    rates = out / "optin_rates.csv"
    if rates.exists():
        print("\nOpt-in rates:")
        for question, rate in pl.read_csv(rates).select("question", "rate").iter_rows():
            print(f"  {question:<24} {rate:.1%}")
    csvs = sorted(p.name for p in out.glob("*.csv"))
    print(f"\n{len(csvs)} CSV files and {len(AUDIT_NOTEBOOKS) - len(failed)} HTML reports in {out}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", flush=True)
        return 1
    return 0


