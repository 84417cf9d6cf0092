"""The panels in tabs (Search, Tag, Process, Consent, Duplicates, Subject access); a search selection flows into
the tag and process tabs."""

from __future__ import annotations

import ipywidgets as w
import polars as pl

from ..encharge import EnchargeClient
from ..ens import ENSClient
from ..errors import ValidationError
from ._base import clients
from .consent import ConsentPanel
from .duplicates import DuplicatesPanel
from .process import ProcessPanel
from .protection import SubjectAccessPanel
from .search import SearchPanel
from .tag import TagPanel


class Toolkit:
    """Search, Tag, Process, Consent, Duplicates and Subject access in one tabbed panel.

    Example:
        >>> kit = Toolkit()
        >>> kit.search.mode.value = "latest created"; kit.search.search.click()
        >>> kit.search.table.select_rows([0, 1])
        >>> kit.tag.people.height, kit.process.batch.height
        (2, 2)
    """

    def __init__(self, ens: ENSClient | None = None, encharge: EnchargeClient | None = None) -> None:
        ens, encharge = clients(ens, encharge)
        self.search = SearchPanel(ens, encharge)
        self.tag = TagPanel(encharge)
        self.process = ProcessPanel(ens)
        self.consent = ConsentPanel(ens, encharge)
        self.duplicates = DuplicatesPanel(ens, encharge)
        self.subject_access = SubjectAccessPanel(ens, encharge)
        self.search.on_selection(self._selection)
        self.widget = w.Tab(children=[self.search.widget, self.tag.widget, self.process.widget, self.consent.widget,
                                    self.duplicates.widget, self.subject_access.widget])
        for i, title in enumerate(("Search", "Tag", "Process", "Consent", "Duplicates", "Subject access")):
            self.widget.set_title(i, title)

    def _selection(self, selection: pl.DataFrame) -> None:
        self.process.set_batch(selection)
        try:
            self.tag.set_people(selection)
        except ValidationError as exc:
            # never keep acting on the previous selection: clear it, and say why in the Tag panel
            self.tag.set_people(None)
            self.tag.show(f"The selection cannot be tagged: {exc}", "error")

    def _repr_mimebundle_(self, **kwargs: object) -> object:
        return self.widget._repr_mimebundle_(**kwargs)
