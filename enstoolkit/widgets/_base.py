"""Pieces the panels share: a status area, busy buttons, the request budget, CSV export.

The result and preview tables are :class:`enstoolkit.widgets.grid.Grid`.
"""

from __future__ import annotations

import base64
import html
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import polars as pl

from ..ens import ENSClient
from ..errors import APIError, EnstoolkitError, ValidationError
from ..records.exports import export_csv

STYLE = w.HTML(
    "<style>"
    ".enstk-grid table.dataTable{font-size:12.5px}"
    ".enstk-status-error{color:#b00020}.enstk-status-success{color:#1b7f3b}"
    "</style>"
)
if TYPE_CHECKING:
    from ..encharge import EnchargeClient


def clients(ens: ENSClient | None, encharge: EnchargeClient | None) -> tuple[ENSClient, EnchargeClient]:
    """The clients a panel was given; a missing one from :func:`~enstoolkit.config.connect.connect` (the
    environment's credentials, else the sandbox), which is called only when one is missing.

    Example:
        >>> clients(ens, encharge) == (ens, encharge)
        True
    """
    if ens is None or encharge is None:
        from ..config.connect import connect

        conn = connect()
        ens = ens or conn.ens
        encharge = encharge or conn.encharge
    return ens, encharge


class Panel:
    """Base of the panels: a status area, and actions that never run twice at once.

    Attributes:
        status: the last message shown (plain text).
        status_kind: "info", "success" or "error".

    Example:
        >>> panel = Panel()
        >>> panel.show("Nothing sent yet.")
        >>> panel.status, panel.status_kind
        ('Nothing sent yet.', 'info')
    """

    widget: w.Widget

    def __init__(self) -> None:
        self.status = ""
        self.status_kind = "info"
        self.status_html = w.HTML(layout=w.Layout(min_height="1.6em"))
        self.status_html.add_class("enstk-status")
        self._running = False

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def after_resume(self, run: Any) -> None:
        """After a resumed run: its items become the panel's results, and the status says how it ended.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> from enstoolkit.bulk import BulkRun, Journal
            >>> journal = Journal(folder / "j.sqlite3")
            >>> run_id = journal.create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])
            >>> journal.mark(run_id, [1], "done")
            >>> panel = Panel()
            >>> panel.after_resume(BulkRun(journal, run_id, encharge=EnchargeClient("key-1234", "http://127.0.0.1:9/v1")))
            >>> panel.status_kind, panel.status.endswith(": done 1")
            ('success', True)
        """
        counts = run.counts()
        table = getattr(self, "table", None)
        if table is not None:
            items = run.items()
            self.results = items
            table.set_frame(items.select("seq", "key", "state", "error", "attempts"))
        summary = getattr(self, "summary", None)
        if summary is not None:
            summary.value = " · ".join(f"{k}: <b>{v:,}</b>" for k, v in sorted(counts.items()))
        self.show(f"Resumed run {run.run_id}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())),
                  "success" if set(counts) == {"done"} else "error")

    def show(self, message: str, kind: str = "info") -> None:
        """Show a message in the panel's status area.

        Example:
            >>> panel = Panel()
            >>> panel.show("Tagged 12 people.", "success")
            >>> panel.status_kind, "Tagged 12 people." in panel.status_html.value
            ('success', True)
        """
        self.status = message
        self.status_kind = kind
        icon = {"error": "&#9888; ", "success": "&#10003; "}.get(kind, "")
        self.status_html.value = (f'<span class="enstk-status-{kind}">{icon}{html.escape(message)}</span>')

    def _run(self, button: w.Button | None, action: Callable[[], None], busy: str = "Working...",
             *, restore: bool = True) -> None:
        """Run an action: the button is disabled meanwhile, every error lands in the status area.

        With ``restore=False`` the button stays disabled afterwards (a Confirm button, whose
        preview the action used up). A user action while another runs is refused; an internal follow-up
        (no button, e.g. a list refreshing when a dropdown changes) runs inside the current one.
        """
        if self._running:
            if button is None:
                action()
                return
            self.show("Still working on the previous action; wait for it to finish.", "error")
            return
        self._running = True
        was_disabled = button.disabled if button is not None else False
        if button is not None:
            button.disabled = True
        self.show(busy)
        try:
            action()
        except ValidationError as exc:
            self.show(f"Check the input: {exc}", "error")
        except APIError as exc:
            self.show(f"{exc.service} said: {exc.message}", "error")
        except EnstoolkitError as exc:
            self.show(str(exc), "error")
        except Exception as exc:  # shown, never lost in the log console
            self.show(f"Unexpected error: {type(exc).__name__}: {exc}", "error")
            traceback.print_exc()
        finally:
            if button is not None and restore:
                button.disabled = was_disabled
            self._running = False


class ResumeBar:
    """A "Resume" button for a panel's last journalled run, shown while that run is unfinished.

    Example:
        >>> bar = ResumeBar(Panel(), lambda: {})
        >>> bar.run is None, bar.button.layout.display   # no run to resume: the button is hidden
        (True, 'none')
    """

    def __init__(self, panel: Panel, clients: Callable[[], dict[str, Any]]) -> None:
        self.panel = panel
        self.clients = clients
        self.run_id: str | None = None
        self.run: Any = None
        self.button = w.Button(description="Resume run", icon="play", button_style="info",
                               layout=w.Layout(display="none"))
        self.note = w.HTML()
        self.button.on_click(lambda _: panel._run(self.button, self.resume, "Resuming..."))
        self.widget = w.HBox([self.button, self.note])

    def track(self, run_id: str | None) -> None:
        """Follow this run; the button shows if it is unfinished.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> from enstoolkit.bulk import Journal
            >>> enc = EnchargeClient("key-1234", "http://127.0.0.1:9/v1")
            >>> bar = ResumeBar(Panel(), lambda: {"encharge": enc})
            >>> bar.track(Journal().create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}]))
            >>> bar.run.kind, bar.button.layout.display   # unfinished: the button shows
            ('unsubscribe', '')
        """
        from ..bulk import BulkRun, Journal

        self.run_id = run_id
        self.run = BulkRun(Journal(), run_id, **self.clients()) if run_id else None
        self.refresh()

    def refresh(self) -> None:
        """Show or hide the button and the run's state.

        Example:
            >>> from enstoolkit import EnchargeClient
            >>> from enstoolkit.bulk import Journal
            >>> enc = EnchargeClient("key-1234", "http://127.0.0.1:9/v1")
            >>> bar = ResumeBar(Panel(), lambda: {"encharge": enc})
            >>> bar.track(Journal().create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}]))
            >>> bar.run.journal.mark(bar.run_id, [1], "done")   # finished elsewhere, say in another kernel
            >>> bar.refresh()
            >>> bar.button.layout.display
            'none'
        """
        if self.run is None:
            self.button.layout.display = "none"
            self.note.value = ""
            return
        counts = self.run.counts()
        unfinished = any(counts.get(k) for k in ("pending", "retry", "unknown", "sending"))
        self.button.layout.display = "" if unfinished else "none"
        shown = ", ".join(f"{k}: {v:,}" for k, v in sorted(counts.items()))
        self.note.value = f"<small>journal run <code>{self.run.run_id}</code> ({self.run.status}; {shown})</small>"

    def resume(self) -> None:
        """Review what is unknown, then send only what is left, through the panel's clients (of the run's accounts).

        A submission whose outcome is unknown is never sent again blindly: it is settled by
        :func:`~enstoolkit.bulk.review` first, as :meth:`~enstoolkit.bulk.BulkRun.complete` does.

        Example:
            >>> from enstoolkit.bulk import Journal
            >>> email = "resumed@example.org"
            >>> _ = encharge.upsert_people([{"email": email}])
            >>> bar = ResumeBar(Panel(), lambda: {"encharge": encharge})
            >>> bar.track(Journal().create_run("unsubscribe", {}, [{"kind": "email", "value": email}]))
            >>> bar.resume()
            >>> bar.run.counts(), bar.button.layout.display
            ({'done': 1}, 'none')
        """
        if self.run is None:
            raise ValidationError("run", None, "a run to resume")
        from ..bulk import BulkRun

        # the panel's clients now: a client of another account than the run's is refused before anything is sent
        self.run = BulkRun(self.run.journal, self.run.run_id, **self.clients())
        self.run.complete()
        self.refresh()
        self.panel.after_resume(self.run)


class Budget:
    """A line showing how much of the hourly ENS request allowance (the client's ``hourly_limit``) is used.

    Example:
        >>> from enstoolkit import ENSClient
        >>> budget = Budget(ENSClient("key-1234", "http://127.0.0.1:9/ens/service", hourly_limit=100))
        >>> budget.label.value
        '<small>ENS requests this hour: 0 of 100 (100 left)</small>'
    """

    def __init__(self, ens: ENSClient | None) -> None:
        self.ens = ens
        self.label = w.HTML()
        self.refresh()

    @property
    def remaining(self) -> int | None:
        """Requests left this hour, as the client counts them.

        Example:
            >>> from enstoolkit import ENSClient
            >>> Budget(ENSClient("key-1234", "http://127.0.0.1:9/ens/service", hourly_limit=100)).remaining
            100
            >>> Budget(None).remaining is None
            True
        """
        return None if self.ens is None else self.ens.budget_remaining

    def refresh(self) -> None:
        """Update the line.

        Example:
            >>> from enstoolkit.config import connect
            >>> budget = Budget(connect(environ={}).ens)
            >>> _ = budget.ens.get_fields()
            >>> budget.refresh()
            >>> "ENS requests this hour" in budget.label.value
            True
        """
        if self.ens is None:
            self.label.value = ""
            return
        used = self.ens.requests_last_hour
        self.label.value = (f"<small>ENS requests this hour: {used:,} of {self.ens.hourly_limit:,} "
                            f"({self.ens.budget_remaining:,} left)</small>")


#: Files up to this size also get a link that downloads them through the browser (the app's users
#: may not see the folder the file was written to).
DOWNLOAD_LIMIT = 20 * 1024 * 1024


class ExportBar:
    """"Export CSV" for a panel's results or selection: writes the file, shows its path and a download link.

    Example:
        >>> bar = ExportBar(Panel(), "people.csv", lambda scope: pl.DataFrame({"email": ["a@example.org"]}))
        >>> bar.scope.options, bar.name.value, bar.path is None
        (('results', 'selection'), 'people.csv', True)
    """

    def __init__(self, panel: Panel, default_name: str,
                 frames: Callable[[str], pl.DataFrame], scopes: Sequence[str] = ("results", "selection")) -> None:
        self.panel = panel
        self.frames = frames
        self.folder = w.Text(value="exports", description="Folder", layout=w.Layout(width="320px"))
        self.name = w.Text(value=default_name, description="File", layout=w.Layout(width="260px"))
        self.scope = w.ToggleButtons(options=list(scopes), value=scopes[0], style={"button_width": "80px"})
        self.button = w.Button(description="Export CSV", icon="download")
        self.link = w.HTML()
        self.path: Path | None = None
        self.button.on_click(lambda _: panel._run(self.button, self.export, "Writing the CSV..."))
        self.widget = w.VBox([w.HBox([self.scope, self.folder, self.name, self.button]), self.link])

    def export(self) -> None:
        """Write the chosen rows to the CSV file and show where.

        Example:
            >>> import tempfile
            >>> panel = Panel()
            >>> bar = ExportBar(panel, "people.csv", lambda scope: pl.DataFrame({"email": ["a@example.org"]}))
            >>> bar.folder.value = tempfile.mkdtemp()
            >>> bar.export()
            >>> bar.path.name, panel.status_kind, "download people.csv" in bar.link.value
            ('people.csv', 'success', True)
        """
        df = self.frames(self.scope.value)
        if df.height == 0:
            raise ValidationError("export", f"0 {self.scope.value} rows", "at least one row to export")
        name = self.name.value.strip() or "export.csv"
        if not name.endswith(".csv"):
            name += ".csv"
        self.path = export_csv(df, Path(self.folder.value.strip() or ".") / name)
        shown = html.escape(str(self.path.resolve()))
        text = f"Saved {df.height:,} rows to <code>{shown}</code>"
        size = self.path.stat().st_size
        if size <= DOWNLOAD_LIMIT:
            data = base64.b64encode(self.path.read_bytes()).decode("ascii")
            text += (f' · <a class="enstk-download" href="data:text/csv;base64,{data}" '
                     f'download="{html.escape(self.path.name)}">download {html.escape(self.path.name)}</a>')
        else:
            text += f" ({size / 1024 / 1024:,.0f} MB: too large to download through the page; open the file)"
        self.link.value = text
        self.panel.show(f"Exported {df.height:,} {self.scope.value} rows to {self.path}", "success")
