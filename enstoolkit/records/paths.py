"""Where the toolkit keeps its own files (journals, webhook events, erasures, request counts).

The folder is the platform's user data folder for enstoolkit (from ``platformdirs``), or
``ENSTOOLKIT_DATA_DIR`` when that is set.

Example:
    >>> data_dir().name
    'enstoolkit'
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["data_dir"]


def data_dir() -> Path:
    """The user's data folder for enstoolkit (``ENSTOOLKIT_DATA_DIR``, else the platform's), created if needed.

    Example:
        >>> data_dir().is_dir()
        True
    """
    override = os.environ.get("ENSTOOLKIT_DATA_DIR")
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir("enstoolkit", appauthor=False))
    if path.name != "enstoolkit":
        path = path / "enstoolkit"
    path.mkdir(parents=True, exist_ok=True)
    return path
