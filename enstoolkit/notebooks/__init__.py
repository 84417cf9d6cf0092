"""The ready-made notebooks (package data, beside this module), and running them headless.

The notebooks ship inside the package, so ``pip install 'enstoolkit[notebook]'`` brings them
(the repository's ``notebooks/`` points here). :func:`execute` runs one with nbclient,
parameters injected the way papermill does; ``python -m enstoolkit.notebooks [NOTEBOOK ...]``
re-executes them in place against the sandbox unless credentials are set. Outputs carry no
secrets, ports or timings.

Example:
    >>> from enstoolkit.notebooks import NOTEBOOK_DIR
    >>> (NOTEBOOK_DIR / "actions.ipynb").exists()
    True
"""

from .headless import NOTEBOOK_DIR, NOTEBOOKS, execute, inject_parameters, main, notebook_path

__all__ = ["NOTEBOOKS", "NOTEBOOK_DIR", "execute", "inject_parameters", "main", "notebook_path"]
