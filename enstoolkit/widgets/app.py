"""The page ``enstoolkit app`` serves: Search, Tag, Process and Consent for colleagues who do not write code.

With the accounts' keys in the environment the page is the :class:`~enstoolkit.widgets.Toolkit`;
without them it says exactly which settings are missing and how to set them (never a traceback,
and never a silent switch to synthetic data: the sandbox is used only when ``enstoolkit app
--sandbox`` put it in the environment).

Example:
    >>> page = AppPage(environ={})
    >>> page.missing, page.toolkit is None
    (['ENS_API_KEY', 'ENCHARGE_API_KEY'], True)
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..errors import EnstoolkitError
from .toolkit import Toolkit

__all__ = ["EXPORTS_VARIABLE", "REQUIRED", "SANDBOX_VARIABLE", "AppPage", "missing_settings", "setup_help"]

#: The settings the page needs (the base URLs have defaults).
REQUIRED = ("ENS_API_KEY", "ENCHARGE_API_KEY")
#: Where the app's CSV exports go (set by ``enstoolkit app --exports``).
EXPORTS_VARIABLE = "ENSTOOLKIT_APP_EXPORTS"
#: Set by ``enstoolkit app --sandbox``: the keys in the environment are the sandbox's.
SANDBOX_VARIABLE = "ENSTOOLKIT_APP_SANDBOX"

STYLE = (
    "<style>"
    ".enstk-app{max-width:1280px}"
    ".enstk-app h2{margin:0.2em 0 0.1em 0}"
    ".enstk-setup{border-left:4px solid #b26b00;background:#fff8e6;padding:0.6em 1.2em;max-width:900px}"
    ".enstk-setup pre{background:#f3f3f3;padding:0.5em 0.8em;white-space:pre-wrap;line-height:1.45}"
    ".enstk-banner{background:#eef4ff;border-left:4px solid #3869d4;padding:0.3em 0.9em}"
    "</style>"
)


def missing_settings(environ: Mapping[str, str] | None = None) -> list[str]:
    """The required settings that are not set (or are blank).

    Example:
        >>> missing_settings({"ENS_API_KEY": "k", "ENCHARGE_API_KEY": " "})
        ['ENCHARGE_API_KEY']
    """
    env = os.environ if environ is None else environ
    return [name for name in REQUIRED if not (env.get(name) or "").strip()]


def setup_help(missing: list[str]) -> str:
    """The HTML the page shows when settings are missing: what to set, where, and the sandbox alternative.

    Example:
        >>> "ENCHARGE_API_KEY" in setup_help(["ENCHARGE_API_KEY"])
        True
    """
    names = ", ".join(f"<code>{html.escape(n)}</code>" for n in missing)
    unix = "\n".join(f"export {n}=..." for n in missing)
    windows = "\n".join(f'$env:{n} = "..."' for n in missing)
    return f"""<div class="enstk-setup">
<h3>The app is not connected to your accounts yet</h3>
<p>Not set: {names}. The person who starts the app sets them on the computer that runs it,
then starts it again:</p>
<ol>
<li><b>ENS_API_KEY</b>: the key of an Engaging Networks API user. An account administrator sets the
user up, with the permissions the app needs and this computer's IP address whitelisted. If your account is
not on <code>www.e-activist.com</code>, also set <b>ENS_BASE_URL</b>, e.g.
<code>https://ca.engagingnetworks.app/ens/service</code>.</li>
<li><b>ENCHARGE_API_KEY</b>: your Encharge account's API key (in the account's settings).</li>
</ol>
<p>macOS or Linux (in the terminal that then runs <code>enstoolkit app</code>):</p>
<pre>{html.escape(unix)}
enstoolkit app</pre>
<p>Windows PowerShell:</p>
<pre>{html.escape(windows)}
enstoolkit app</pre>
<p>To try the app first on a synthetic account (nothing real is read or changed):
<code>enstoolkit app --sandbox</code>.</p>
</div>"""


class AppPage:
    """The app's page: a title, what it is connected to, and the panels; or what to set.

    Args:
        environ: the settings (default: the process's environment).

    Attributes:
        missing: required settings not set; ``toolkit``: the panels (None when they could not start);
        ``error``: why they could not start; ``widget``: what displays.

    Example:
        >>> AppPage(environ={"ENS_API_KEY": "k"}).missing
        ['ENCHARGE_API_KEY']
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = dict(os.environ if environ is None else environ)
        self.missing = missing_settings(env)
        self.toolkit: Toolkit | None = None
        self.error: str | None = None
        self.description = ""
        title = w.HTML(f"{STYLE}<h2>Engaging Networks toolkit</h2>")
        if self.missing:
            body: list[w.Widget] = [w.HTML(setup_help(self.missing))]
        else:
            body = self._panels(env)
        self.widget = w.VBox([title, *body])
        self.widget.add_class("enstk-app")

    def _panels(self, env: Mapping[str, str]) -> list[w.Widget]:
        from ..config.connect import connect

        try:
            conn = connect(environ=env)
        except EnstoolkitError as exc:  # e.g. a base URL that is not an ENS or Encharge address
            self.error = str(exc)
            return [w.HTML(f'<div class="enstk-setup"><h3>The app could not connect</h3>'
                           f"<p>{html.escape(self.error)}</p><p>Check the settings and start the app again.</p></div>")]
        self.toolkit = Toolkit(conn.ens, conn.encharge)
        exports = (env.get(EXPORTS_VARIABLE) or "").strip()
        if exports:
            for panel in (self.toolkit.search, self.toolkit.tag, self.toolkit.process):
                panel.export.folder.value = str(Path(exports))
        self.description = conn.describe()
        if env.get(SANDBOX_VARIABLE):
            self.description = ("Sandbox: a synthetic charity account on this computer. Nothing you do here reaches "
                                "a real ENS or Encharge account.")
        banner = w.HTML(f'<div class="enstk-banner">{html.escape(self.description)} Select people in '
                        "<b>Search</b>; <b>Tag</b> and <b>Process</b> act on them after a preview and your "
                        "confirmation.</div>")
        return [banner, self.toolkit.widget]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
