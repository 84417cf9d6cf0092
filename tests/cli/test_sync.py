"""``enstoolkit sync``: the plan as CSV, --apply --yes, refusing without --yes off a terminal, --watch rounds.

Also: the behaviour of :mod:`enstoolkit.cli.sync` (pinned here; its docstrings are prose).
"""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.cli import build_parser, main
from enstoolkit.cli.sync import confirm, register, run_sync
from enstoolkit.sandbox import Sandbox
from enstoolkit.sync import read_changes, read_plan


def test_module() -> None:
    """``enstoolkit sync`` parses its options: the optins, apply off by default, its handler."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sync", "--sandbox", "--optin", "Marketing Optin", "--apply", "--yes"])
    assert (args.apply, args.yes, args.optin) == (True, True, ["Marketing Optin"])


def test_register() -> None:
    """register: Add the ``sync`` command."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["sync", "--sandbox", "--optin", "Marketing Optin"])
    assert (args.optin, args.apply, args.handler is run_sync) == (["Marketing Optin"], False, True)


def test_confirm(capsys: pytest.CaptureFixture[str]) -> None:
    """confirm: Whether to go ahead: ``yes``, or "y" typed at a terminal; never when the input is not a terminal."""
    import io

    assert not confirm("Apply 3 changes?", yes=False, stdin=io.StringIO("y\n"))  # not a terminal: refused
    assert capsys.readouterr().out == "refusing to go ahead without --yes: the input is not a terminal\n"


def test_run_sync() -> None:
    """run_sync: ``enstoolkit sync``: print the plan's counts, write it as CSV; ``--apply`` or ``--watch`` after a
    "yes".
    """
    import contextlib
    import io
    import pathlib
    import tempfile

    from enstoolkit.cli import build_parser

    out = pathlib.Path(tempfile.mkdtemp()) / "plan.csv"
    args = build_parser().parse_args(["sync", "--sandbox", "--supporters", "200", "--out", str(out)])
    with contextlib.redirect_stdout(io.StringIO()):
        code = run_sync(args)
    assert (code, out.exists()) == (0, True)


pytestmark = pytest.mark.slow  # the command run end to end, rounds and webhooks: with the slow tests

MARKETING = 4512


@pytest.fixture
def on_sandbox(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The command pointed at the test's sandbox, as ``enstoolkit demo`` points notebooks at its own."""
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    return sandbox


def counts(printed: str) -> dict[str, int]:
    return {a: int(n.replace(",", "")) for a, n in re.findall(r"^\s+(unsubscribe|opt out|review|cannot check)\s+"
                                                              r"([\d,]+)", printed, re.M)}


def test_the_plan_is_printed_and_written_and_nothing_is_sent(on_sandbox: Sandbox, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.csv"
    assert main(["sync", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    plan = read_plan(out)
    shown = counts(printed)
    assert shown == {a: plan.filter(pl.col("action") == a).height for a in ("unsubscribe", "opt out", "review",
                                                                           "cannot check")}
    assert shown["unsubscribe"] > 0 and "Nothing was sent" in printed
    assert sum(on_sandbox.encharge.unsubscribes.values()) == 0 and not any(m == "PUT" for m, _ in on_sandbox.received)
    assert on_sandbox.ens_api_key not in printed and on_sandbox.encharge_api_key not in printed


def test_apply_with_yes_sends_the_planned_changes_and_writes_the_change_log(
        on_sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, journal = tmp_path / "plan.csv", tmp_path / "journal" / "j.sqlite3"
    assert main(["sync", "--out", str(out), "--apply", "--yes", "--by", "cli tester", "--journal", str(journal)]) == 0
    printed = capsys.readouterr().out
    shown = counts(printed)
    applied = re.search(r"Applied: done (\d+), skipped (\d+)", printed)
    assert applied and int(applied.group(1)) == shown["unsubscribe"] + shown["opt out"]
    assert int(applied.group(2)) == shown["review"] + shown["cannot check"]
    wanted = set(read_plan(out).filter(pl.col("action") == "unsubscribe").get_column("personId"))
    assert set(on_sandbox.encharge.unsubscribes) == wanted
    changes = pl.read_csv(tmp_path / "consent-changes.csv")
    assert changes.height == len(wanted) and set(changes.get_column("by")) == {"cli tester"}
    assert read_changes(journal.with_name("consent-changes.sqlite3")).height == len(wanted)
    assert main(["sync", "--out", str(out), "--apply", "--yes", "--journal", str(journal)]) == 0  # plan again
    again = capsys.readouterr().out
    assert counts(again)["unsubscribe"] == 0 and "Nothing to apply" in again


def test_apply_is_refused_without_yes_when_the_input_is_not_a_terminal(
        on_sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # a "y" piped in is not a person's answer
    assert main(["sync", "--out", str(tmp_path / "plan.csv"), "--apply"]) == 2
    printed = capsys.readouterr().out
    assert "refusing to go ahead without --yes" in printed and "Nothing was sent" in printed
    assert sum(on_sandbox.encharge.unsubscribes.values()) == 0 and not any(m == "PUT" for m, _ in on_sandbox.received)
    assert main(["sync", "--out", str(tmp_path / "plan.csv"), "--watch", "--rounds", "1"]) == 2
    assert sum(on_sandbox.encharge.unsubscribes.values()) == 0


def test_an_opt_in_the_account_does_not_have_is_refused(on_sandbox: Sandbox, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "--out", str(tmp_path / "plan.csv"), "--optin", "Nonsense Optin"]) == 2
    assert "Nonsense Optin" in capsys.readouterr().out and not (tmp_path / "plan.csv").exists()


def test_watch_two_rounds_with_changes_in_between(on_sandbox: Sandbox, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sb = on_sandbox
    with ENSClient(sb.ens_api_key, sb.ens_url) as ens, EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        supporters = ens.export_supporters("All supporters")
        people = enc.list_people()
    both = supporters.join(people, left_on=pl.col("Email Address").str.to_lowercase(), right_on="email")
    agreeing = both.filter((pl.col("Marketing Optin") == "Y") & ~pl.col("unsubscribed") & ~pl.col("suppressed"))
    leaver, changer = agreeing.row(0, named=True), agreeing.row(1, named=True)
    waits: list[float] = []

    def between_rounds(seconds: float) -> bool:
        """Instead of sleeping: the people change their minds, and the sandbox's clock moves on."""
        waits.append(seconds)
        with ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
                EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
            enc.unsubscribe(leaver["id"])  # unsubscribes in Encharge: to be opted out in ENS
            ens.update_supporter(changer["supporterId"], {"questions": {"Marketing Optin": "N"}})  # opts out in ENS
        sb.advance(seconds=seconds)
        return False

    args = build_parser().parse_args(["sync", "--watch", "--rounds", "2", "--interval", "10", "--yes",
                                      "--out", str(tmp_path / "plan.csv"), "--journal", str(tmp_path / "j.sqlite3")])
    assert run_sync(args, wait=between_rounds) == 0
    printed = capsys.readouterr().out
    rounds = [line for line in printed.splitlines() if " round " in line]
    assert len(rounds) == 2 and waits == [600.0]
    assert "round 1: snapshot recorded" in rounds[0]
    assert "1 unsubscribe dated" in rounds[1] and "unsubscribe 1, opt out 1" in rounds[1]
    assert "applied: done 2" in rounds[1]
    assert sb.ens.records[leaver["supporterId"]].questions[MARKETING][0] == "N"
    assert sb.encharge.people[changer["id"]]["unsubscribed"] is True
    assert sb.encharge.unsubscribes[leaver["id"]] == 1  # the person's own, not repeated by the watch
    changes = read_changes(tmp_path / "consent-changes.sqlite3")
    assert changes.filter(pl.col("supporterId") == leaver["supporterId"]).get_column("action").to_list() == ["opt out"]
    assert changes.filter(pl.col("personId") == changer["id"]).get_column("action").to_list() == ["unsubscribe"]


def test_watch_from_webhooks(on_sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["sync", "--watch", "--listen", "--rounds", "1", "--yes",
                                      "--events", str(tmp_path / "hooks.sqlite3"), "--out", str(tmp_path / "p.csv")])
    assert run_sync(args) == 0
    printed = capsys.readouterr().out
    assert "listening for the sandbox's unsubscribedUser webhooks" in printed and "round 1:" in printed
    assert on_sandbox.encharge.subscriptions and sum(on_sandbox.encharge.unsubscribes.values()) > 0
    assert "/hooks/" not in printed  # the URL's secret is never printed here


@pytest.mark.slow
def test_sandbox_size_and_variant_from_the_command_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENS_", "ENCHARGE_"))}
    env["ENSTOOLKIT_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run([sys.executable, "-m", "enstoolkit.cli", "sync", "--sandbox", "--supporters", "300",
                           "--variant", "encharge-no-status", "--out", str(tmp_path / "plan.csv")],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "300 ENS supporters" in done.stdout and "Nothing was sent" in done.stdout
    plan = read_plan(tmp_path / "plan.csv")
    # the records carry no status: it is read from the account's "Unsubscribed" segment, so nothing is unknown
    assert set(plan.get_column("statusSource")) == {"the account's Unsubscribed segment"}
    assert counts(done.stdout)["cannot check"] == 0 and counts(done.stdout)["unsubscribe"] == plan.filter(
        pl.col("action") == "unsubscribe").height > 0
