"""The behaviour of :mod:`enstoolkit.sandbox.ens_transactions` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import datetime as dt

from enstoolkit.sandbox.ens_transactions import (
    api_transactions_csv,
    documented_header,
    documented_transactions_csv,
    eastern,
    export_type,
)


def test_module() -> None:
    """enstoolkit.sandbox.ens_transactions: The ENS half of the sandbox, its "Transaction" export file: the vendor's
    documented layout, and variants.
    """
    from enstoolkit.sandbox import Sandbox

    assert documented_transactions_csv(Sandbox(supporters=3).ens, "All supporters").split(b",")[:3] == [
        b"Account ID",
        b"Supporter ID",
        b"Supporter Email",
    ]


def test_eastern() -> None:
    """eastern: An instant (epoch ms) as the export writes it: ``Campaign Date`` and ``Campaign Time`` in US/Eastern."""
    assert eastern(int(dt.datetime(2024, 12, 1, 18, 53, 2, tzinfo=dt.UTC).timestamp() * 1000)) == (
        "2024-12-01",
        "13:53:02",
    )  # EST, UTC-5
    assert eastern(int(dt.datetime(2025, 7, 1, 18, 53, 2, tzinfo=dt.UTC).timestamp() * 1000)) == (
        "2025-07-01",
        "14:53:02",
    )  # EDT, UTC-4


def test_export_type() -> None:
    """export_type: The export's type code for a transaction the sandbox keeps in the REST list's shape."""
    assert (export_type({"type": "dc", "subtype": "PET"}), export_type({"type": "EMAIL"})) == ("PET", "EBC")
    assert (export_type({"type": "nd", "txType": "CREDIT_RECURRING"}), export_type({"type": "et"})) == ("FCR", "ETT")


def test_documented_header() -> None:
    """documented_header: The header the variant's transaction file has."""
    from enstoolkit.sandbox import Sandbox

    assert documented_header(Sandbox(supporters=1, variant="renamed-export-columns").ens)[:3] == [
        "Account ID",
        "Supporter ID",
        "Email",
    ]
    assert documented_header(Sandbox(supporters=1, variant="user-data-transactions").ens)[:2] == ["Account ID", "Email"]


def test_documented_transactions_csv() -> None:
    """documented_transactions_csv: The "Transaction" export file in the documented layout (or its ``renamed``/``user-
    data`` variants).
    """
    from enstoolkit.sandbox import Sandbox

    rows = documented_transactions_csv(Sandbox(supporters=3).ens, "All supporters").decode().splitlines()
    assert rows[1].split(",")[5:11] == ["10110", "PET", "Save Our Rivers", "2024-05-12", "01:35:27", ""]


def test_api_transactions_csv() -> None:
    """api_transactions_csv: The "Transaction" export in this project's older style: the transaction list's keys, ISO
    ``createdOn``.
    """
    from enstoolkit.sandbox import Sandbox

    assert api_transactions_csv(Sandbox(supporters=3).ens, "All supporters").split(b",")[:3] == [
        b"supporterId",
        b"id",
        b"type",
    ]
