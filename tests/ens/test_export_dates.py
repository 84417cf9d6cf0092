"""An export file's dates and times are read once per distinct value: the same answers as value by value, and the
first bad value in the file is the one named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from enstoolkit.ens import read_supporter_export, read_transaction_export
from enstoolkit.errors import DataShapeError

UTC = dt.UTC
HEADER = "Supporter ID,Date Created,Campaign Number,Campaign Type,Campaign ID,Campaign Date,Campaign Time,\n"


def transactions(tmp_path: Path, cells: list[tuple[str, str, str]]) -> Path:
    """A transaction file with one row per (Date Created, Campaign Date, Campaign Time)."""
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "".join(f"{n},{c},10100,DCF,Sign up,{d},{t},\n" for n, (c, d, t) in enumerate(cells, 1)))
    return path


def test_repeated_times_read_as_each_would_alone(tmp_path: Path) -> None:
    cells = [("2026-01-15", "2026-01-15", "07:00:00"), ("2026-01-15", "2026-01-15", "9:30"),
             ("", "2026-11-01", "01:30:00"),  # US/Eastern has 01:30 twice that night: the first one
             ("2026-01-15", "2026-01-15", "23:59:60"),  # a leap second: the next midnight, as before
             ("2026-01-15", "", "07:00:00"), ("2026-01-15", "2026-01-15", "")] * 4
    df = read_transaction_export(transactions(tmp_path, cells))
    expected = [dt.datetime(2026, 1, 15, 12, tzinfo=UTC), dt.datetime(2026, 1, 15, 14, 30, tzinfo=UTC),
                dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC), dt.datetime(2026, 1, 16, 5, tzinfo=UTC), None, None] * 4
    assert df.get_column("createdDate").to_list() == expected
    day = dt.date(2026, 1, 15)
    assert df.get_column("supporterCreated").to_list() == [day, day, None, day, day, day] * 4
    alone = [read_transaction_export(transactions(tmp_path, [c])).item(0, "createdDate") for c in cells[:6]]
    assert alone == expected[:6]


def test_the_first_bad_time_or_date_in_the_file_is_named(tmp_path: Path) -> None:
    good = [("2026-01-15", "2026-01-15", "07:00:00")] * 6
    times = [*good, ("2026-01-15", "2026-01-15", "7 am"), *good, ("2026-01-15", "2026-01-15", "25:00")]
    with pytest.raises(DataShapeError, match=r"'Campaign Time': '7 am'"):
        read_transaction_export(transactions(tmp_path, times))
    dates = [*good, ("2026-01-15", "2026-02-30", "07:00:00"), *good, ("2026-01-15", "soon", "07:00:00")]
    with pytest.raises(DataShapeError, match="2026-02-30"):
        read_transaction_export(transactions(tmp_path, dates))
    path = tmp_path / "s.csv"
    created = {5: "31/02/2026", 9: "30/02/2026"}
    path.write_text("supporterId,Email Address,createdOn\n" + "".join(
        f"{n},{n}@x.org,{created.get(n, '01/02/2026')}\n" for n in range(1, 13)))
    with pytest.raises(DataShapeError, match="31/02/2026"):
        read_supporter_export(path, email_field="Email Address", date_order="dmy")
