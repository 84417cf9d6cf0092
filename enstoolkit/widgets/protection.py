"""The subject access panel: one address in, one zip out, with what it holds listed."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..protection.sar import SubjectAccess, subject_access
from ._base import STYLE, Panel, clients


class SubjectAccessPanel(Panel):
    """Export everything held about one person (see :func:`enstoolkit.protection.subject_access`).

    The export reads only; it is recorded (who, when, which zip).

    Attributes:
        result: the last :class:`~enstoolkit.protection.sar.SubjectAccess` (None before one); ``status``.

    Example:
        >>> import tempfile
        >>> panel = SubjectAccessPanel(out=tempfile.mkdtemp())
        >>> panel.email.value = "nobody@example.org"
        >>> panel.export_button.click()
        >>> panel.result.manifest["sources"]["ens_supporter"]["rows"], panel.status_kind
        (0, 'success')
    """

    def __init__(self, ens: Any = None, encharge: Any = None, *, out: Any = None) -> None:
        super().__init__()
        ens, encharge = clients(ens, encharge)
        self.ens, self.encharge, self.out = ens, encharge, out
        self.result: SubjectAccess | None = None
        self.email = w.Text(placeholder="the person's email address", description="Email")
        self.by = w.Text(placeholder="your name (recorded)", description="By")
        self.duplicates = w.Checkbox(value=False, description="Flag probable duplicates (reads both lists)")
        self.export_button = w.Button(description="Export", icon="download", button_style="primary")
        self.summary = w.HTML()
        self.export_button.on_click(lambda _: self._run(self.export_button, self._export, "Exporting..."))
        self.widget = w.VBox([STYLE, w.HTML("<b>Subject access request</b>"), self.email, self.by, self.duplicates,
                              self.export_button, self.status_html, self.summary])

    def _export(self) -> None:
        frames: dict[str, Any] = {}
        if self.duplicates.value:
            frames = {"supporters": self.ens.export_supporters("All supporters"),
                      "people": self.encharge.list_people(progress=False)}
        self.result = subject_access(self.email.value, ens=self.ens, encharge=self.encharge, out=self.out,
                                     by=self.by.value.strip() or None, **frames)
        manifest = self.result.manifest
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{s['rows']}</td></tr>"
                       for name, s in manifest["sources"].items())
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in manifest["notes"])
        self.summary.value = (f"<p>{html.escape(str(self.result.path))}</p><table><tr><th>source</th><th>rows</th>"
                              f"</tr>{rows}</table><ul>{notes}</ul>")
        self.show(f"Exported {sum(s['rows'] for s in manifest['sources'].values())} rows from "
                  f"{len(manifest['sources'])} sources ({sum(manifest['requests'].values())} requests).", "success")
