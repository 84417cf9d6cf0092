"""The consent watch on a sandbox with a webhook listener, as several tests set it up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.bulk import Journal
from enstoolkit.encharge import Listener
from enstoolkit.sandbox import Sandbox
from enstoolkit.sync import ConsentWatch


@dataclass
class Watched:
    """A sandbox, its clients, a listener subscribed to unsubscribes, a journal and a watch reading them."""

    sb: Sandbox
    ens: ENSClient
    enc: EnchargeClient
    hooks: Listener
    journal: Journal
    watch: ConsentWatch


@contextmanager
def watched(folder: Path, *, seed: int = 12) -> Iterator[Watched]:
    """Start everything a watch with a listener needs; stop it all afterwards."""
    with Sandbox(supporters=300, seed=seed) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc, Listener(folder / "hooks.sqlite3") as hooks:
        enc.create_subscription("unsubscribedUser", hooks.url)
        journal = Journal(folder / "j.sqlite3")
        watch = ConsentWatch(ens, enc, snapshot=folder / "people.parquet", listener=hooks, journal=journal)
        yield Watched(sb, ens, enc, hooks, journal, watch)
