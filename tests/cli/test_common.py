"""The commands' exit codes tell failed rows and failed polls; webhook secrets and the app's token stay hidden.

Also: the behaviour of :mod:`enstoolkit.cli.common` (pinned here; its docstrings are prose).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from enstoolkit import EnchargeClient
from enstoolkit.cli import build_parser, main
from enstoolkit.cli.common import (
    CREDENTIALS,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTLY_FAILED,
    add_sandbox_options,
    free_port,
    may_poll_again,
    sandbox_from,
    shown,
    stop_process,
    wait_for_stop,
)
from enstoolkit.cli.sync import run_sync
from enstoolkit.encharge import Listener, SnapshotError
from enstoolkit.errors import (
    BadRequestError,
    InvalidAPIKey,
    RateLimitExceeded,
    ServerError,
    TransportError,
)
from enstoolkit.http import RetryPolicy
from enstoolkit.sandbox import Sandbox


def test_module() -> None:
    """enstoolkit.cli.common: What the commands share: stopping on Ctrl-C, free ports, credentials, the sandbox from
    command-line options.
    """
    assert free_port() > 0


def test_shown() -> None:
    """shown: An error as the commands print it: any webhook URL's secret (``.../hooks/<secret>``) masked."""
    assert (
        shown(ValueError("cannot reach https://hooks.example.org/hooks/s3cr3t-s3cr3t-s3cr3t"))
        == "cannot reach https://hooks.example.org/hooks/***"
    )


def test_free_port() -> None:
    """free_port: A free TCP port on 127.0.0.1."""
    assert 0 < free_port() < 65536


def test_wait_for_stop() -> None:
    """wait_for_stop: Block until Ctrl-C or SIGTERM."""
    before = signal.getsignal(signal.SIGTERM)

    def stop_soon() -> None:  # what `kill <pid>` does, once the command waits
        if signal.getsignal(signal.SIGTERM) is not before:
            signal.raise_signal(signal.SIGTERM)

    threading.Timer(0.2, stop_soon).start()
    wait_for_stop()
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back


def test_add_sandbox_options() -> None:
    """add_sandbox_options: The options that describe a sandbox: port, size, seed, limit, latency, faults."""
    parser = argparse.ArgumentParser()
    add_sandbox_options(parser)
    assert parser.parse_args(["--supporters", "50"]).supporters == 50


def test_sandbox_from() -> None:
    """sandbox_from: A sandbox as the command-line options describe it (not started)."""
    from enstoolkit.cli import build_parser

    args = build_parser().parse_args(["sandbox", "--supporters", "20", "--variant", "us-account"])
    sb = sandbox_from(args)
    assert (len(sb.ens.records), sb.variant.date_order) == (20, "mdy")


@pytest.mark.parametrize(("error", "again"), [
    (TransportError("Encharge", "GET", "/v1/people", "connection refused"), True),
    (ServerError("Encharge", 503, "The service is temporarily unavailable"), True),
    (RateLimitExceeded("ENS", 401, "has exceeded its api limit"), True),
    (InvalidAPIKey("ENS", 401, "Invalid api key [***]"), False),
    (BadRequestError("Encharge", 400, "Person not found."), False),
    (SnapshotError("people.parquet", "it is not a Parquet file"), False),
])
def test_may_poll_again(error: Exception, again: bool, capsys: pytest.CaptureFixture[str]) -> None:
    """may_poll_again: Print why a round of a watching command failed; ``True`` where the next round may work."""
    assert may_poll_again(error, "this poll failed") is again
    said = capsys.readouterr().out
    assert said == f"{'this poll failed' if again else 'stopped'}: {error}\n"


def test_stop_process_ends_a_child_that_ignores_sigterm() -> None:
    """stop_process: Stop a child process (a server the command started): SIGTERM, and SIGKILL after ``timeout``
    seconds."""
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); " \
           "time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    stop_process(proc, timeout=0.5)
    assert proc.returncode == -signal.SIGKILL
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_process(polite)
    assert polite.returncode == -signal.SIGTERM
    stop_process(polite)  # an ended process: nothing to do
    assert polite.returncode == -signal.SIGTERM


pytestmark = pytest.mark.slow  # commands run in processes of their own, and the app: with the slow tests

UNSUBSCRIBE = "/v1/people/unsubscribe"


@pytest.fixture
def on_sandbox(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    """The commands pointed at the test's sandbox through the environment, as on a real machine."""
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ENSTOOLKIT_DATA_DIR", str(tmp_path / "data"))
    return sandbox


# -- exit codes -------------------------------------------------------------------------------------
def test_sync_apply_with_failed_rows_exits_3_and_names_them(on_sandbox: Sandbox, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    sb = on_sandbox
    sb.fail_next(2, status=403, method="POST", path=UNSUBSCRIBE)  # two people refused by Encharge
    code = main(["sync", "--out", str(tmp_path / "plan.csv"), "--apply", "--yes",
                 "--journal", str(tmp_path / "j.sqlite3")])
    printed = capsys.readouterr().out
    assert code == EXIT_PARTLY_FAILED == 3, printed
    assert sb.received[("POST", UNSUBSCRIBE)] >= 3 and sum(sb.encharge.unsubscribes.values()) >= 1
    assert re.search(r"Applied: done \d+, failed 2", printed) and "2 of " in printed
    named = re.findall(r"^  failed: unsubscribe (\S+) \(Encharge\): (.+)$", printed, re.M)
    assert len(named) == 2 and all(message for _, message in named)  # the API's message, per row
    results = pl.read_csv(tmp_path / "consent-results.csv")
    failed = results.filter(pl.col("status") == "failed")
    assert failed.height == 2 and sorted(failed.get_column("email").to_list()) == sorted(e for e, _ in named)
    # the failed two are not unsubscribed; everyone done is, once
    done = results.filter(pl.col("status") == "done").get_column("personId").to_list()
    assert all(sb.encharge.unsubscribes[p] == 1 for p in done if p)
    assert all(sb.encharge.unsubscribes[p] == 0 for p in failed.get_column("personId").to_list())


def test_sync_apply_with_every_row_done_exits_0(on_sandbox: Sandbox, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sync", "--out", str(tmp_path / "plan.csv"), "--apply", "--yes",
                 "--journal", str(tmp_path / "j.sqlite3")])
    printed = capsys.readouterr().out
    assert code == EXIT_OK, printed
    assert "not carried out" not in printed and sum(on_sandbox.encharge.unsubscribes.values()) > 0
    assert set(pl.read_csv(tmp_path / "consent-results.csv").get_column("status")) <= {"done", "skipped"}


def test_watch_once_exits_1_when_its_poll_failed(on_sandbox: Sandbox, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sb = on_sandbox
    out = tmp_path / "events.csv"
    attempts = RetryPolicy().attempts
    sb.fail_next(attempts, status=503, method="GET", path="/v1/people/all")  # down for the poll and its retries
    assert main(["watch", "--once", "--out", str(out)]) == EXIT_FAILED
    assert "this poll failed" in capsys.readouterr().out
    assert sb.received[("GET", "/v1/people/all")] == attempts and not (tmp_path / "encharge-people.parquet").exists()
    assert main(["watch", "--once", "--out", str(out)]) == EXIT_OK  # Encharge is back
    assert (tmp_path / "encharge-people.parquet").exists()


def _watch_args(tmp_path: Path, rounds: int) -> list[str]:
    return ["sync", "--watch", "--rounds", str(rounds), "--interval", "10", "--yes",
            "--out", str(tmp_path / "plan.csv"), "--journal", str(tmp_path / "j.sqlite3")]


def test_sync_watch_rounds_exit_1_when_a_round_failed(on_sandbox: Sandbox, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    sb = on_sandbox
    before: list[int] = []

    def between_rounds(seconds: float) -> bool:
        before.append(sb.received[("GET", "/v1/people/all")])
        sb.fail_next(10, status=503, method="GET", path="/v1/people/all")  # the next round's poll fails
        sb.advance(seconds=seconds)
        return False

    code = run_sync(build_parser().parse_args(_watch_args(tmp_path, 2)), wait=between_rounds)
    printed = capsys.readouterr().out
    assert code == EXIT_FAILED, printed
    assert "round 1:" in printed and "this round failed" in printed and "round 2:" not in printed
    assert sb.received[("GET", "/v1/people/all")] > before[0]  # the second round did poll, and failed


def test_sync_watch_rounds_exit_3_when_rows_of_a_round_failed(on_sandbox: Sandbox, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    sb = on_sandbox
    sb.fail_next(1, status=403, method="POST", path=UNSUBSCRIBE)
    code = run_sync(build_parser().parse_args(_watch_args(tmp_path, 1)), wait=lambda seconds: False)
    printed = capsys.readouterr().out
    assert code == EXIT_PARTLY_FAILED, printed
    assert re.search(r"round 1: .*failed 1", printed)
    assert len(re.findall(r"^  failed: unsubscribe \S+ \(Encharge\): \S", printed, re.M)) == 1
    assert sb.received[("POST", UNSUBSCRIBE)] >= 2 and sum(sb.encharge.unsubscribes.values()) >= 1


@pytest.mark.parametrize(("command", "said"), [("sync", "3 partly failed"), ("watch", "1 when it failed")])
def test_the_exit_codes_are_in_the_help(command: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert said in " ".join(capsys.readouterr().out.split())


# -- webhook secrets ----------------------------------------------------------------------------------
def test_an_encharge_error_echoing_a_hook_url_hides_its_secret(sandbox: Sandbox, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hooks = Listener(tmp_path / "events.sqlite3", port=0, public_url="https://hooks.example.org")  # behind a proxy
    secret = hooks.url.rsplit("/", 1)[1]
    with EnchargeClient(sandbox.encharge_api_key, sandbox.encharge_url) as enc:
        with pytest.raises(BadRequestError) as info:
            enc.create_subscription("unsubscribedUser", hooks.url)  # the sandbox quotes the URL back
        error = info.value
        shown = [str(error), repr(error), error.message, str(error.body), error.path, str(error.developer_message),
                 caplog.text]
        assert not [text for text in shown if secret in text]
        assert "hooks.example.org/hooks/***" in str(error)  # the rest of the message is kept
        assert sandbox.received[("POST", "/v1/event-subscriptions")] == 1 and not sandbox.encharge.subscriptions
        # the secret in any other form an answer might carry it (alone, JSON-escaped) is kept out too
        for body in ({"error": {"message": f"secret {secret} refused"}},
                     {"error": f'{{"url": "https:\\/\\/hooks.example.org\\/hooks\\/{secret}"}}'}):
            echoed = enc._error(httpx.Response(400, json=body), "POST", "/event-subscriptions")
            assert secret not in str(echoed) and secret not in repr(echoed) and secret not in echoed.message


def test_sync_listen_never_prints_the_secret_to_a_pipe(on_sandbox: Sandbox, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "e.sqlite3"
    args = build_parser().parse_args([*_watch_args(tmp_path, 1), "--listen", "--events", str(events),
                                      "--public-url", "https://hooks.example.org"])
    code = run_sync(args)
    printed = capsys.readouterr().out
    secret = events.with_name(events.name + ".secret").read_text().strip()
    assert code == EXIT_FAILED and secret not in printed, printed
    assert "hooks.example.org/hooks/***" in printed  # the error is still told
    assert not on_sandbox.encharge.subscriptions and "round 1:" not in printed


# -- the app's token ----------------------------------------------------------------------------------
def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(proc.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_the_app_token_is_on_no_command_line_and_still_required(tmp_path: Path) -> None:
    pytest.importorskip("voila")
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS and k != "JUPYTER_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "enstoolkit.cli", "app", "--sandbox", "--supporters", "50",
                             "--no-browser", "--port", "0", "--exports", str(tmp_path / "exports")],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    printed = []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and "Press Ctrl-C to stop." not in "".join(printed):
            line = proc.stdout.readline()
            if not line:
                break
            printed.append(line)
        found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", "".join(printed))
        assert found, "".join(printed)
        base, token = found.groups()
        children = _descendants(proc.pid)
        assert children  # Voilà, at least
        seen = []
        for pid in Path("/proc").iterdir():
            if pid.name.isdigit():
                try:
                    seen.append((int(pid.name), (pid / "cmdline").read_bytes().decode(errors="replace")))
                except OSError:
                    continue
        assert not [cmd for _, cmd in seen if token in cmd]  # what `ps aux` shows any local user
        voila = [pid for pid, cmd in seen if pid in children and "voila" in cmd]
        assert voila and (f"JUPYTER_TOKEN={token}".encode() in Path(f"/proc/{voila[0]}/environ").read_bytes())
        assert oct(Path(f"/proc/{voila[0]}/environ").stat().st_mode & 0o777) == "0o400"  # its owner's only
        # the token is still required, and accepted
        assert httpx.get(base + "/", follow_redirects=False, timeout=60).status_code in (302, 403)
        assert httpx.get(base + "/", params={"token": "wrong"}, follow_redirects=False,
                         timeout=60).status_code in (302, 403)
        assert httpx.get(base + "/", params={"token": token}, follow_redirects=False, timeout=120).status_code == 200
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert "app stopped" in rest and "".join(printed).count(token) == 1
