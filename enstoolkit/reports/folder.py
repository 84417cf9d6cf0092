"""Writing a report folder whole or not at all.

:func:`report_folder` checks the target before any work is done (a folder holding other files is
refused, never mixed into or overwritten; one that cannot be written to is named), gives a
staging folder beside it to write into, and only when everything was written puts the staging
folder in place (a rename). A failed build leaves no folder that looks like a complete report.

Example:
    >>> out = folder / "report"
    >>> with report_folder(out) as staging:
    ...     _ = (staging / "a.csv").write_text("a")
    >>> sorted(p.name for p in out.iterdir())
    ['.enstoolkit-report', 'a.csv']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import EnstoolkitError

__all__ = ["MARKER", "ReportFolderError", "check_folder", "report_folder"]

#: The file that marks a folder as written by ``enstoolkit audit`` (such a folder may be replaced).
MARKER = ".enstoolkit-report"


class ReportFolderError(EnstoolkitError):
    """The report folder cannot be used: it holds other files, or cannot be written to.

    Example:
        >>> str(ReportFolderError("no"))
        'no'
    """


def check_folder(out: Path) -> None:
    """Refuse a target that is a file, a folder with files of something else, or a place that cannot be written.

    An empty folder, or one an earlier report wrote (it holds :data:`MARKER`), may be replaced.

    Example:
        >>> _ = (folder / "notes.txt").write_text("mine")
        >>> try:
        ...     check_folder(folder)
        ... except ReportFolderError as e:
        ...     print(str(e).split(" holds ")[1][:23])
        other files (notes.txt)
    """
    if out.exists() and not out.is_dir():
        raise ReportFolderError(f"--out {out}: is a file, not a folder: name a new or empty folder")
    if out.is_dir():
        try:
            names = sorted(p.name for p in out.iterdir())
        except PermissionError:
            raise ReportFolderError(f"--out {out}: cannot be read (no permission): name a folder you can write"
                                    ) from None
        if names and MARKER not in names:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise ReportFolderError(f"--out {out} holds other files ({shown}): name a new or empty folder, or one "
                                    "an earlier report wrote (nothing was changed)")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ReportFolderError(f"--out {out}: {parent} is a file, not a folder: name a folder you can write")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportFolderError(f"--out {out}: cannot write in {parent} (no permission): name a folder you can "
                                "write")


@contextmanager
def report_folder(out: Path) -> Iterator[Path]:
    """A staging folder to write the report into; put in place of ``out`` only if the block ends without error.

    Raises :class:`ReportFolderError` before the block runs when ``out`` cannot be used (see
    :func:`check_folder`). On an error in the block the staging folder is removed and ``out`` is
    left as it was.
    """
    out = Path(out).absolute()
    check_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except PermissionError:
        raise ReportFolderError(f"--out {out}: cannot write in {out.parent} (no permission)") from None
    try:
        yield staging
        (staging / MARKER).write_text("written by enstoolkit audit; the folder may be replaced by the next run\n")
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
        try:
            os.replace(staging, out)
        except OSError:
            if old is not None:
                os.replace(old / out.name, out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
