"""Notebook panels for the everyday actions: search supporters, tag in Encharge, process ENS pages, consent.

Each panel is a plain class whose ``.widget`` displays in JupyterLab (the panel object
displays itself too). Panels keep their state in attributes (``results``, ``selection``,
``status``) and call the plain functions of :mod:`enstoolkit.widgets.actions`. Their tables are
:class:`Grid` (:mod:`enstoolkit.widgets.grid`); :mod:`enstoolkit.widgets.app` is the page
``enstoolkit app`` serves.

Example:
    >>> from enstoolkit.widgets import Toolkit
    >>> kit = Toolkit()            # the environment's accounts, else the sandbox
    >>> type(kit.widget).__name__
    'Tab'
"""

from ..errors import MissingExtra

try:
    import ipywidgets  # noqa: F401
    import itables.widget  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise MissingExtra("notebook", "the notebook panels") from exc

from .consent import ConsentPanel
from .duplicates import DuplicatesPanel
from .grid import Grid
from .process import ProcessPanel
from .protection import SubjectAccessPanel
from .search import SearchPanel
from .tag import TagPanel
from .toolkit import Toolkit

__all__ = ["ConsentPanel", "DuplicatesPanel", "Grid", "ProcessPanel", "SearchPanel", "SubjectAccessPanel", "TagPanel",
           "Toolkit"]
