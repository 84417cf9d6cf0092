"""The SQLite records: files written by 0.2.0 open with nothing lost; bad files stop with a typed error naming
the file and what to do, and are never replaced by a fresh empty store."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

import pytest

from conftest import CHAOS_FIGURES
from enstoolkit.bulk import Journal
from enstoolkit.bulk.journal import JOURNAL_SCHEMA
from enstoolkit.encharge.webhooks import Listener
from enstoolkit.errors import StoreError
from enstoolkit.http.budget import RequestLog
from enstoolkit.records.erasures import ERASURES_SCHEMA, ErasureLog
from enstoolkit.records.store import connect
from enstoolkit.sync.changelog import CHANGELOG_SCHEMA, ChangeLog
from enstoolkit.sync.unsubscribe_dates import UnsubscribeDates

FIXTURES = Path(__file__).parents[1] / "fixtures" / "v0_2_0"
OPENERS = {
    "journal.sqlite3": Journal,
    "erasures.sqlite3": ErasureLog,
    "consent-changes.sqlite3": ChangeLog,
    "unsubscribe-dates.sqlite3": UnsubscribeDates,
    "webhooks.sqlite3": lambda path: Listener(path, secret="fixture-secret-0123456789abcdef"),
    "requests.sqlite3": lambda path: RequestLog(path=path, scope="ens"),
}


def _rows(path: Path) -> dict[str, list[tuple]]:
    with closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                           "'sqlite_%' ORDER BY name")]
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


@pytest.mark.parametrize("name", ["journal.sqlite3", "erasures.sqlite3", "consent-changes.sqlite3",
                                  "unsubscribe-dates.sqlite3", "webhooks.sqlite3"])
def test_a_file_written_by_0_2_0_opens_with_nothing_lost(name: str, tmp_path: Path) -> None:
    path = _copy(name, tmp_path)
    before = _rows(path)
    assert sum(len(rows) for rows in before.values()) > 0
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (0,)  # as 0.2.0 left it: no version yet
    OPENERS[name](path)
    after = _rows(path)
    for table, rows in before.items():  # every row kept, every value as it was (new columns come after, empty)
        assert [row[:len(rows[0])] for row in after[table]] == rows, table
        assert all(value is None for row in after[table] for value in row[len(rows[0]):]), table
    current = 2 if name == "journal.sqlite3" else 1  # the journal's version 2: "not found" is a state of its own
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (current,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    CHAOS_FIGURES.append(f"0.2.0 {name} opened by this version: {sum(len(r) for r in before.values())} rows in "
                         f"{len(before)} tables, all kept; format version 0 -> {current}")


def test_a_0_2_0_journal_and_erasure_record_read_as_they_were(tmp_path: Path) -> None:
    journal = Journal(_copy("journal.sqlite3", tmp_path))
    runs = journal.runs()
    run_id = runs.filter(runs["kind"] == "process").item(0, "run_id")
    assert journal.counts(run_id) == {"done": 1, "unknown": 1, "failed": 1, "pending": 2}
    assert journal.window(run_id, 2) == (1_790_000_000_000, 1_790_000_001_500)
    assert journal.send_moment(run_id, 2) == (1_790_000_000_000, None, None)  # not recorded by 0.2.0
    assert set(journal.claimed(["ens:100001:7001"])) == {"ens:100001:7001"}
    assert "[not stored]" in journal.run(run_id)["params"]["transaction"]["ccnumber"]
    erasures = ErasureLog(_copy("erasures.sqlite3", tmp_path))
    assert erasures.read(account_id=7).get_column("email").to_list() == ["gone1@example.org", "gone2@example.org"]
    assert erasures.read(account_id=7, pending=True).get_column("email").to_list()[-1] == "going@example.org"
    assert erasures.confirm(["p3"], account_id=7) == 1  # a pending erasure from 0.2.0 is settled as before
    assert ErasureLog(tmp_path / "erasures.sqlite3").read(account_id=8, pending=True).height == 0  # cancelled
    changes = ChangeLog(_copy("consent-changes.sqlite3", tmp_path)).read()
    assert changes.height == 2 and changes.get_column("run_id").to_list() == [run_id, run_id]
    CHAOS_FIGURES.append(f"0.2.0 journal opened: run {run_id} counts {journal.counts(run_id)}, its window and "
                         f"claim kept; 0.2.0 erasure record opened: {erasures.read(pending=True).height} erasures "
                         "readable, its pending one confirmed")


def test_evidence_records_are_written_with_full_sync_and_others_normal(tmp_path: Path) -> None:
    ErasureLog(tmp_path / "e.sqlite3")
    ChangeLog(tmp_path / "c.sqlite3")
    Journal(tmp_path / "j.sqlite3")
    for name, schema, level in (("e", ERASURES_SCHEMA, 2), ("c", CHANGELOG_SCHEMA, 2), ("j", JOURNAL_SCHEMA, 1)):
        with closing(connect(tmp_path / f"{name}.sqlite3", schema)) as db:
            assert db.execute("PRAGMA synchronous").fetchone() == (level,)
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 30_000


# -- bad files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("opener", ["journal.sqlite3", "erasures.sqlite3", "consent-changes.sqlite3",
                                    "unsubscribe-dates.sqlite3", "webhooks.sqlite3", "requests.sqlite3"])
def test_a_file_from_a_newer_version_is_refused_and_left_as_it_is(opener: str, tmp_path: Path) -> None:
    path = tmp_path / opener
    OPENERS[opener](path)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 7")
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        OPENERS[opener](path)
    assert str(path) in str(caught.value) and "newer version" in str(caught.value)
    assert "pip install -U enstoolkit" in str(caught.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
@pytest.mark.parametrize("opener", ["journal.sqlite3", "erasures.sqlite3", "consent-changes.sqlite3"])
def test_a_damaged_or_truncated_record_is_an_error_never_a_fresh_store(opener: str, damage: str,
                                                                       tmp_path: Path) -> None:
    path = _copy(opener if opener != "requests.sqlite3" else "journal.sqlite3", tmp_path)
    OPENERS[opener](path)  # now in this version's format, WAL checkpointed when closed
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"this is not a database; it was overwritten by something else " * 100)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2 + 100])
    else:
        path.write_bytes(b"")
    damaged = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        OPENERS[opener](path)
        raise AssertionError("opened")  # some damage shows on the first read only
    message = str(caught.value)
    assert str(path) in message and ("damaged" in message or "empty" in message) and "backup" in message
    assert path.read_bytes() == damaged  # left as it was, never replaced by a new empty file


def test_a_read_only_folder_is_an_error_naming_the_file(tmp_path: Path) -> None:
    """A folder and a record the process may not write (as root: without the capabilities that let root
    ignore permissions, so it still reads its own checkout wherever that is): a new record cannot be made
    there, and an existing one cannot be written."""
    folder = Path(tempfile.mkdtemp(prefix="enstoolkit-ro-")) / "ro"  # a path another user can reach
    folder.mkdir()
    os.chmod(folder.parent, 0o755)
    ErasureLog(folder / "erasures.sqlite3").record([{"email": "a@example.org", "id": "p1"}], account_id=7)
    with closing(sqlite3.connect(folder / "erasures.sqlite3")) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    for extra in ("-wal", "-shm"):
        (folder / f"erasures.sqlite3{extra}").unlink(missing_ok=True)
    os.chmod(folder / "erasures.sqlite3", 0o444)
    os.chmod(folder, 0o555)
    script = (
        "import sys\n"
        "from enstoolkit.records import ErasureLog\n"
        "from enstoolkit.bulk import Journal\n"
        "from enstoolkit.errors import StoreError\n"
        "for make in (lambda: Journal(sys.argv[1] + '/journal.sqlite3'),\n"
        "             lambda: ErasureLog(sys.argv[1] + '/erasures.sqlite3').record([{'email': 'b@example.org'}])):\n"
        "    try:\n"
        "        make()\n"
        "        print('OPENED')\n"
        "    except StoreError as exc:\n"
        "        print('StoreError:', exc)\n")
    command, as_other = [sys.executable, "-c", script, str(folder)], {}
    if os.getuid() == 0 and shutil.which("setpriv"):  # util-linux, in every Debian
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
    elif os.getuid() == 0:  # another user: the checkout must be readable by it
        as_other = {"user": 65534, "group": 65534, "extra_groups": []}
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2], **as_other)  # type: ignore[call-overload]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2, done.stderr
    for line, name in zip(lines, ("journal.sqlite3", "erasures.sqlite3"), strict=True):
        assert line.startswith("StoreError:") and str(folder / name) in line and "writable" in line, line
    assert not (folder / "journal.sqlite3").exists()
    os.chmod(folder, 0o755)
    assert ErasureLog(folder / "erasures.sqlite3").read(account_id=7).height == 1


def test_an_unversioned_file_is_migrated_once_by_two_processes_at_the_same_moment(tmp_path: Path) -> None:
    paths = [_copy(name, tmp_path) for name in ("journal.sqlite3", "erasures.sqlite3")]
    before = [_rows(p) for p in paths]
    script = ("import sys\nfrom enstoolkit.bulk import Journal\nfrom enstoolkit.records import ErasureLog\n"
              "Journal(sys.argv[1]); ErasureLog(sys.argv[2]); print('ok')")
    procs = [subprocess.Popen([sys.executable, "-c", script, *map(str, paths)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).parents[2]) for _ in range(4)]
    assert [p.communicate(timeout=120)[0].strip() for p in procs] == ["ok"] * 4
    for path, rows in zip(paths, before, strict=True):
        after = _rows(path)
        assert {t: len(r) for t, r in after.items()} == {t: len(r) for t, r in rows.items()}


def test_moments_in_the_record_are_kept_to_the_millisecond(tmp_path: Path) -> None:
    log = ErasureLog(tmp_path / "e.sqlite3")
    when = dt.datetime(2026, 10, 1, 9, 0, 0, 123000, tzinfo=dt.UTC)
    log.record([{"email": "a@example.org", "id": "p1"}], when, account_id=7)
    assert log.read(account_id=7).item(0, "erasedAt") == when


def test_a_damaged_snapshot_report_is_an_error_naming_it(tmp_path: Path) -> None:
    from enstoolkit.ens import last_sync

    report = tmp_path / "supporters.parquet.json"
    report.write_text('{"mode": "full", "rows": 3')  # cut short by a crash of an earlier version
    with pytest.raises(StoreError) as caught:
        last_sync(tmp_path / "supporters.parquet")
    assert str(report) in str(caught.value) and "pulls the whole file again" in str(caught.value)
