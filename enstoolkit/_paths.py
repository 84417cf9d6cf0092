"""Where the toolkit keeps its own files (webhook events, journals)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The user's data folder for enstoolkit (``ENSTOOLKIT_DATA_DIR``, else the platform's).

    Example:
        >>> data_dir().name
        'enstoolkit'
    """
    override = os.environ.get("ENSTOOLKIT_DATA_DIR")
    if override:
        path = Path(override).expanduser()
    elif os.name == "nt":
        path = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "enstoolkit"
    else:
        path = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "enstoolkit"
    if path.name != "enstoolkit":
        path = path / "enstoolkit"
    path.mkdir(parents=True, exist_ok=True)
    return path
