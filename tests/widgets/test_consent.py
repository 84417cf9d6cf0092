"""The Consent panel driven from Python: build, look by action, preview, confirm once, results, export, resume."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from enstoolkit.errors import ValidationError
from enstoolkit.sandbox import Sandbox
from enstoolkit.sync import actionable
from enstoolkit.widgets import ConsentPanel, Toolkit

from .conftest import click_refused


def test_build_filter_preview_and_confirm_once(clients, sandbox: Sandbox, tmp_path: Path) -> None:
    panel = ConsentPanel(*clients)
    assert panel.optins.value == ("Marketing Optin",) and panel.confirm.disabled and panel.preview_button.disabled
    panel.build_button.click()
    assert panel.status_kind == "info" and "nothing has been sent" in panel.status
    assert sum(sandbox.encharge.unsubscribes.values()) == 0
    counts = dict(zip(*[panel.plan.group_by("action").len().sort("action").get_column(c) for c in ("action", "len")],
                      strict=True))
    for action, n in counts.items():
        assert f"<td>{action}</td><td style='text-align:right'><b>{n:,}</b>" in panel.counts.value
    panel.action.value = "review"
    assert set(panel.table.frame.get_column("action")) == {"review"}
    assert {"ensAnswer", "ensAnswerDate", "enchargeUnsubscribed", "statusSource"} <= set(panel.table.frame.columns)
    panel.action.value = "all"
    assert panel.table.frame.height == panel.plan.height
    assert panel.confirm.disabled  # not before a preview
    panel.preview_button.click()
    todo = actionable(panel.plan)
    assert panel.preview.height == todo.height > 0 and not panel.confirm.disabled
    assert f"{todo.height:,} changes would be sent" in panel.summary.value
    panel.confirm.click()
    assert panel.status_kind == "success", panel.status
    assert set(sandbox.encharge.unsubscribes) == set(todo.get_column("personId"))
    panel.confirm.click()  # a second click: nothing to confirm
    assert sum(sandbox.encharge.unsubscribes.values()) == todo.height and panel.confirm.disabled
    statuses = dict(panel.results.group_by("status").len().iter_rows())
    assert statuses == {"done": todo.height, "skipped": panel.plan.height - todo.height}
    assert "ensAnswerDate" in panel.results.columns  # the evidence stays beside each result
    panel.action.value = "review"
    assert set(panel.table.frame.get_column("status")) == {"skipped"}
    panel.export.folder.value = str(tmp_path)
    panel.export.scope.value = "changes"
    panel.export.button.click()
    written = pl.read_csv(tmp_path / "consent-plan.csv")
    assert written.height == todo.height and set(written.get_column("action")) == {"unsubscribe"}
    assert panel.resume.button.layout.display == "none"  # the run is finished


def test_changed_settings_need_a_new_plan_and_bad_ones_are_shown(clients) -> None:
    panel = ConsentPanel(*clients)
    panel.build_button.click()
    panel.preview_button.click()
    panel.optins.value = ("Marketing Optin", "Newsletter Optin")
    assert panel.confirm.disabled and panel.preview_button.disabled and panel.preview.height == 0
    panel.optins.value = ()
    click_refused(panel, panel.build_button, "optins")
    panel.optins.value = ("Marketing Optin",)
    panel.query.value = "No such query"
    panel.build_button.click()
    assert panel.status_kind == "error" and panel.preview_button.disabled
    with pytest.raises(ValidationError, match="Nope"):
        ConsentPanel(*clients, optins=["Nope"])._load_optins(["Nope"])


def test_the_toolkit_has_a_consent_tab(clients) -> None:
    kit = Toolkit(*clients)
    assert kit.widget.get_title(3) == "Consent" and kit.widget.children[3] is kit.consent.widget


def test_an_interrupted_run_resumes_from_the_panel(clients, sandbox: Sandbox) -> None:
    panel = ConsentPanel(*clients)
    panel.build_button.click()
    panel.preview_button.click()
    todo = panel.preview.height
    sandbox.fail_next(1, status=401, method="POST", path="/v1/people/unsubscribe")  # the key refused midway
    panel.confirm.click()
    assert panel.status_kind == "error" and panel.run.status == "stopped"
    assert set(panel.results.get_column("status")) == {"not attempted", "skipped"}
    assert panel.resume.button.layout.display == ""  # the Resume button shows
    panel.resume.button.click()
    assert panel.status_kind == "success", panel.status
    assert dict(panel.results.group_by("status").len().iter_rows())["done"] == todo
    assert set(sandbox.encharge.unsubscribes) == set(actionable(panel.plan).get_column("personId"))
    panel.action.value = "unsubscribe"
    assert set(panel.table.frame.get_column("status")) == {"done"}
