"""The behaviour of :mod:`enstoolkit.cli.common` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import argparse
import signal
import threading

from enstoolkit.cli.common import add_sandbox_options, free_port, sandbox_from, shown, wait_for_stop


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
