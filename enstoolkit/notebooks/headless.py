"""Running the ready-made notebooks headless: parameters injected the way papermill does, outputs without secrets."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["NOTEBOOKS", "NOTEBOOK_DIR", "execute", "inject_parameters", "main", "notebook_path"]

NOTEBOOK_DIR = Path(__file__).resolve().parent
NOTEBOOKS = ("quickstart.ipynb", "supporter_audit.ipynb", "optin_analysis.ipynb", "actions.ipynb",
             "consent_sync.ipynb")


def notebook_path(name: str) -> Path:
    """The path of one of the ready-made notebooks (package data, read with ``importlib.resources``).

    Example:
        >>> notebook_path("quickstart.ipynb").name
        'quickstart.ipynb'
    """
    from importlib.resources import files

    if name not in NOTEBOOKS:
        raise ValueError(f"notebook {name!r}: expected one of {', '.join(NOTEBOOKS)}")
    return Path(str(files("enstoolkit.notebooks").joinpath(name)))


def inject_parameters(nb: Any, parameters: Mapping[str, object]) -> Any:
    r"""Put ``parameters`` in a new cell after the one tagged ``parameters``, as papermill does.

    The new cell is tagged ``injected-parameters``; a cell injected before is replaced. A
    notebook without a ``parameters`` cell gets the new cell first.

    Example:
        >>> import nbformat
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("N = 1", metadata={"tags": ["parameters"]})])
        >>> [c.source for c in inject_parameters(nb, {"N": 2}).cells]
        ['N = 1', '# Parameters\nN = 2']
    """
    import nbformat

    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    lines = ["# Parameters", *(f"{name} = {value!r}" for name, value in parameters.items())]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    at = next((i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    nb.cells.insert(at, cell)
    return nb


def execute(path: Path, *, cwd: Path | None = None, timeout: int = 600,
            parameters: Mapping[str, object] | None = None, save: bool = True) -> Any:
    """Execute one notebook top to bottom, with ``parameters`` injected after its ``parameters`` cell.

    Returns the executed notebook (``nbformat.NotebookNode``); raises on a failing cell. The
    kernel logs errors only (not ipykernel's notice about its local TCP transport).

    Example:
        >>> import nbformat
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
        >>> nbformat.write(nb, folder / "tiny.ipynb")
        >>> execute(folder / "tiny.ipynb", save=False).cells[0].outputs[0].text.strip()
        '42'
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if parameters:
        inject_parameters(nb, parameters)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(cwd or path.parent)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client.execute()
    if save:
        nbformat.write(nb, path)
    return nb


def main(argv: Sequence[str] | None = None) -> int:
    """Re-run notebooks in place.

    Example:
        >>> import nbformat
        >>> path = folder / "sum.ipynb"
        >>> nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), path)
        >>> main([str(path)])
        running sum.ipynb ...
        0
        >>> nbformat.read(path, as_version=4).cells[0].outputs[0]["data"]["text/plain"]
        '2'
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in notebooks/")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        execute(path)
    return 0

