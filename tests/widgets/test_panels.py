"""The panels driven from Python: set widget values, click, read the panel's state."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.errors import ValidationError
from enstoolkit.sandbox import Sandbox
from enstoolkit.widgets import ProcessPanel, SearchPanel, TagPanel, Toolkit
from enstoolkit.widgets.app import EXPORTS_VARIABLE, SANDBOX_VARIABLE, AppPage
from enstoolkit.widgets.grid import Grid, display_frame

from .conftest import click_refused

# -- search ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["latest created", "latest modified", "suppressed"])
def test_search_by_query_type(shared_ens: ENSClient, shared_enc: EnchargeClient, mode: str) -> None:
    panel = SearchPanel(shared_ens, shared_enc)
    panel.mode.value = mode
    panel.days_back.value = 32
    panel.search.click()
    assert panel.status_kind == "success", panel.status
    assert panel.results.height > 0 and panel.results.columns[:2] == ["supporterId", "email"]
    assert f"Found {panel.results.height:,} supporters" in panel.status
    assert "ENS requests this hour" in panel.budget.label.value


def test_search_by_email_and_id(clients, sandbox: Sandbox) -> None:
    rec = sandbox.ens.records[sandbox.ens.first_supporter_id()]
    panel = SearchPanel(*clients)
    panel.mode.value = "email"
    panel.value.value = rec.email.upper()
    panel.search.click()
    assert panel.results.get_column("supporterId").to_list() == [rec.supporter_id]
    panel.mode.value = "supporter id"
    panel.value.value = str(rec.supporter_id)
    panel.search.click()
    assert panel.results.item(0, "email") == rec.email
    assert panel.search.disabled is False  # re-enabled after the action


def test_search_profile_and_filter_built_from_fields(clients, sandbox: Sandbox) -> None:
    panel = SearchPanel(*clients)
    panel.mode.value = "profile"
    panel.profile_id.value = "333"
    panel.search.click()
    assert panel.results.height == sum(r.fields["Country"] == "GB" for r in sandbox.ens.records.values())
    panel.mode.value = "search"
    assert "country" in [value for _, value in panel.filter_field.options]  # the account's fields
    panel.filter_field.value = "country"
    panel.filter_value.value = "IE, NZ"
    panel.search.click()
    expected = {r.supporter_id for r in sandbox.ens.records.values() if r.fields["Country"] in ("IE", "NZ")}
    assert set(panel.results.get_column("supporterId")) == expected


def test_empty_results_and_bad_input(clients) -> None:
    panel = SearchPanel(*clients)
    panel.mode.value = "email"
    panel.value.value = "nobody@example.org"
    panel.search.click()
    assert panel.results.height == 0 and panel.status == "No supporters found."
    panel.value.value = "not an email"
    click_refused(panel, panel.search, "email")
    panel.mode.value = "profile"
    panel.profile_id.value = ""
    click_refused(panel, panel.search, "profile id")


def test_api_errors_show_the_vendor_message(clients, sandbox: Sandbox) -> None:
    panel = SearchPanel(*clients)
    sandbox.fail_next(10, status=503, path="/ens/service/supporter/query")
    panel.mode.value = "latest created"
    panel.search.click()
    assert panel.status_kind == "error"
    assert panel.status == "ENS said: The service is temporarily unavailable"


def test_search_with_encharge_side_by_side(clients) -> None:
    panel = SearchPanel(*clients)
    panel.mode.value = "latest modified"
    panel.days_back.value = 32
    panel.include_encharge.value = True
    panel.search.click()
    assert {"in_encharge", "encharge_id", "encharge_unsubscribed", "encharge_tags"} <= set(panel.results.columns)
    assert 0 < panel.results.get_column("in_encharge").sum() < panel.results.height
    assert "also in Encharge" in panel.status


def page_selects(grid: Grid, rows: list[int]) -> None:
    """What the browser sends when rows of its window are (de)selected: click, shift-click, Select all."""
    grid.grid.set_state({"selected_rows": rows})


def test_selection_from_the_page_and_csv_export(clients, tmp_path: Path) -> None:
    panel = SearchPanel(*clients)
    panel.mode.value = "latest modified"
    panel.days_back.value = 32
    panel.search.click()
    table = panel.table
    assert table.frame is not None and table.window_rows == panel.results.height  # all sent: the grid sorts
    page_selects(table, [2, 0])  # a click, then ctrl-click; the page lists them in its (sorted) display order
    page_selects(table, [2, 0, table.window_rows - 1])
    assert panel.selection.height == 3
    assert panel.selection.get_column("supporterId").to_list() == \
        panel.results.get_column("supporterId").gather([0, 2, panel.results.height - 1]).to_list()
    assert "<b>3</b> selected" in table.info.value
    panel.export.folder.value = str(tmp_path)
    panel.export.name.value = "chosen"
    panel.export.scope.value = "selection"
    panel.export.button.click()
    written = pl.read_csv(tmp_path / "chosen.csv")
    assert written.height == 3 and str(tmp_path / "chosen.csv") in panel.export.link.value
    assert 'download="chosen.csv"' in panel.export.link.value and "data:text/csv;base64," in panel.export.link.value
    panel.export.scope.value = "results"
    panel.export.button.click()
    assert pl.read_csv(tmp_path / "chosen.csv").height == panel.results.height
    page_selects(table, [])  # "Deselect all"
    panel.export.scope.value = "selection"
    (tmp_path / "chosen.csv").unlink()
    click_refused(panel, panel.export.button, "at least one row")
    assert not (tmp_path / "chosen.csv").exists()  # 0 selected: nothing written


def big_frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "supporterId": range(n),
        "email": [f"p{i}@example.org" for i in range(n)],
        "score": [(i * 7919) % 1000 for i in range(n)],
        "tags": [["a", "b"] if i % 2 else [] for i in range(n)],
    })


def sent_rows(grid: Grid) -> list[list[object]]:
    """The rows the browser received for the current window (the widget's synced state)."""
    return json.loads(grid.grid.get_state("_dt_args")["_dt_args"]["data_json"])


def test_grid_reaches_and_selects_all_100_000_rows() -> None:
    frame = big_frame(100_000)
    seen: list[int] = []
    grid = Grid(on_select=lambda sel: seen.append(sel.height))
    grid.set_frame(frame)
    assert grid.windowed and grid.pages == 20 and grid.window_bar.layout.display == ""
    reached: list[int] = []
    for page in range(grid.pages):
        grid.go(page)
        rows = sent_rows(grid)
        assert len(rows) == grid.window_rows == 5_000  # nothing downsampled
        assert [r[0] for r in rows] == grid.window_positions  # supporterId == position here
        reached += grid.window_positions
    assert reached == list(range(100_000))
    # select in the last window from the page, then in the first from Python: both kept
    page_selects(grid, [4_999, 0])
    assert grid.selected_positions == [95_000, 99_999]
    grid.next.click()  # clamped: still the last window
    assert grid.page == 19
    grid.select_rows([0, 50_000])
    grid.go(10)
    assert grid.grid.selected_rows == [0]  # row 50,000 is the first of window 11
    assert grid.selection.get_column("supporterId").to_list() == [0, 50_000, 95_000, 99_999]
    grid.all_button.click()
    assert grid.selection.height == 100_000 and len(grid.grid.selected_rows) == 5_000
    assert "<b>100,000</b> selected" in grid.info.value
    page_selects(grid, list(range(10, 5_000)))  # "Deselect" 10 rows of this window in the page
    assert len(grid.selected_positions) == 99_990 and 50_004 not in grid.selected_positions
    grid.none_button.click()
    assert grid.selection.height == 0 and grid.selection.columns == frame.columns
    assert seen[-1] == 0 and 100_000 in seen


def test_grid_without_windows_sends_100_000_rows_whole() -> None:
    grid = Grid(page_size=100_000)
    grid.set_frame(big_frame(100_000))
    assert not grid.windowed and grid.window_bar.layout.display == "none"
    rows = sent_rows(grid)
    assert len(rows) == 100_000 and rows[50_000][:2] == [50_000, "p50000@example.org"]
    page_selects(grid, [99_999, 50_000, 0])
    assert grid.selected_positions == [0, 50_000, 99_999]


def test_grid_searches_and_sorts_all_rows_and_maps_the_page_back() -> None:
    frame = big_frame(30_000)
    grid = Grid(page_size=1_000)
    grid.set_frame(frame)
    grid.find.value = "p2999"  # p2999, p29990..p29999
    assert grid.view.to_list() == [2_999, *range(29_990, 30_000)]
    assert "of 11 matching “p2999”" in grid.info.value and grid.all_button.description == "Select all 11 matching"
    grid.sort_by.value = "score"
    grid.descending.value = True
    scores = frame.get_column("score").gather(grid.window_positions).to_list()
    assert scores == sorted(scores, reverse=True)
    page_selects(grid, [0])  # the top row of the sorted, searched window
    assert grid.selected_positions == [grid.window_positions[0]]
    grid.all_button.click()
    assert grid.selected_positions == sorted(grid.view.to_list())
    grid.find.value = "nothing like this"
    assert grid.window_rows == 0 and "no rows matching" in grid.info.value
    assert len(grid.selected_positions) == 11  # a search hides rows, it does not deselect them
    grid.find.value = ""
    grid.sort_by.value = None
    assert grid.window_positions[:2] == [0, 1] and grid.pages == 30
    assert "tags" not in [v for _, v in grid.sort_by.options]  # lists do not sort; the grid shows them as text


def test_grid_bad_positions_and_empty_frames() -> None:
    grid = Grid(page_size=10)
    grid.set_frame(big_frame(25))
    with pytest.raises(ValidationError, match="rows=\\[25, -1\\] is not valid: expected row positions from 0 to 24"):
        grid.select_rows([3, 25, -1])
    assert grid.selected_positions == []  # nothing selected by a bad call
    grid.set_frame(pl.DataFrame({"email": []}, schema={"email": pl.String}))
    assert grid.selection.columns == ["email"] and sent_rows(grid) == []
    with pytest.raises(ValidationError, match="the table is empty"):
        grid.select_rows([0])
    with pytest.raises(ValidationError, match="page_size"):
        Grid(page_size=0)


def test_grid_display_keeps_numbers_and_shows_nested_values_as_text() -> None:
    frame = pl.DataFrame({"n": [2, None], "when": [dt.datetime(2026, 1, 2, 3, 4, 5), None],
                          "tags": [["x", "y"], None], "html": ["<b>bold</b>", None]})
    assert display_frame(frame).rows() == [(2, "2026-01-02 03:04:05", "x, y", "<b>bold</b>"), (None, None, None, None)]
    grid = Grid(columns=["n", "tags", "missing"])
    grid.set_frame(frame)
    state = grid.grid.get_state("_dt_args")["_dt_args"]
    assert sent_rows(grid)[0][3] == "&lt;b&gt;bold&lt;/b&gt;"  # escaped: cell text is never markup
    assert {"targets": [1, 3], "visible": False} in state["columnDefs"]  # under "Columns", not gone


# -- tag ------------------------------------------------------------------------------------


def test_tag_preview_then_confirm(clients, sandbox: Sandbox) -> None:
    _, enc = clients
    known = [p for p in sandbox.encharge.people.values() if not p["archived"]][:3]
    panel = TagPanel(enc)
    assert "donor" in [v for _, v in panel.account_tags.options]
    panel.emails.value = "\n".join([p["email"] for p in known] + ["stranger@example.org"])
    panel.account_tags.value = ("vip",)
    panel.new_tags.value = "spring-2026"
    assert panel.confirm.disabled
    panel.preview_button.click()
    assert panel.preview.height == 4 and panel.results.height == 0
    assert panel.preview.filter(~pl.col("in_encharge")).get_column("email").to_list() == ["stranger@example.org"]
    assert "not in Encharge" in panel.summary.value and not panel.confirm.disabled
    assert all("spring-2026" not in sandbox.encharge.people[p["id"]]["tags"] for p in known)  # nothing sent yet
    panel.confirm.click()
    assert panel.results.get_column("status").to_list() == ["done", "done", "done", "skipped"]
    assert all({"vip", "spring-2026"} <= set(sandbox.encharge.people[p["id"]]["tags"]) for p in known)
    assert panel.progress.value == panel.progress.max == 4
    assert panel.confirm.disabled
    before = len(sandbox.encharge.deliveries), panel.results
    click_refused(panel, panel.confirm, "preview first")  # a second click: nothing to confirm
    assert panel.results is before[1]


def test_tag_confirm_reports_people_gone_since_the_preview(clients, sandbox: Sandbox) -> None:
    _, enc = clients
    known = [p for p in sandbox.encharge.people.values() if not p["archived"]][:3]
    panel = TagPanel(enc, people=[p["email"] for p in known])
    panel.new_tags.value = "autumn"
    panel.preview_button.click()
    assert panel.preview.get_column("in_encharge").to_list() == [True, True, True]
    enc.delete_people(emails=[p["email"] for p in known[1:]], force=True)  # gone between preview and confirm
    panel.confirm.click()
    assert sorted(panel.results.get_column("status").to_list()) == ["done", "not found", "not found"]
    assert panel.status_kind == "error"
    assert panel.status.startswith("Done: 1 tagged, 0 skipped, 2 not (2 not found).")


def test_tag_input_change_invalidates_preview_and_remove(clients, sandbox: Sandbox) -> None:
    _, enc = clients
    person = next(p for p in sandbox.encharge.people.values() if not p["archived"] and p["tags"])
    tag = person["tags"][0]
    panel = TagPanel(enc, people=pl.DataFrame({"email": [person["email"]]}))
    panel.account_tags.value = (tag,)
    panel.action.value = "remove"
    panel.preview_button.click()
    assert panel.preview.item(0, "change") == f"remove {tag}"
    panel.new_tags.value = "other"
    assert panel.confirm.disabled and panel.preview.height == 0
    panel.new_tags.value = ""
    panel.preview_button.click()
    panel.confirm.click()
    assert panel.results.item(0, "status") == "done"
    assert tag not in sandbox.encharge.people[person["id"]]["tags"]


def test_tag_bad_input(clients) -> None:
    _, enc = clients
    panel = TagPanel(enc)
    panel.emails.value = "a@example.org"
    click_refused(panel, panel.preview_button, "at least one tag")
    panel.new_tags.value = "ok"
    panel.emails.value = "not-an-email"
    click_refused(panel, panel.preview_button, "valid email")


# -- process -----------------------------------------------------------------------------------


def test_process_single_sign_up_with_opt_in(clients, sandbox: Sandbox) -> None:
    ens, _ = clients
    panel = ProcessPanel(ens)
    panel.page_type.value = "dcf"
    panel.page.value = 100
    assert panel.form is not None and not panel.form.donation
    assert set(panel.optin_boxes) == {"Marketing Optin", "Newsletter Optin", "SMS Optin", "Email Opt-in (double)"}
    panel.inputs["Email Address"].value = "panel.signup@example.org"
    panel.inputs["First Name"].value = "Pat"
    panel.optin_boxes["Marketing Optin"].value = True
    panel.preview_button.click()
    assert "LIVE submissions" in panel.summary.value and sandbox.ens.find_email("panel.signup@example.org") is None
    panel.confirm.click()
    assert panel.results.item(0, "status") == "done", panel.status
    rec = sandbox.ens.find_email("panel.signup@example.org")
    assert rec is not None and rec.fields["First Name"] == "Pat"
    assert rec.questions[4512][0] == "Y" and 4513 not in rec.questions  # unticked: not sent


def test_process_confirm_sends_only_what_was_previewed(clients, sandbox: Sandbox) -> None:
    ens, _ = clients
    panel = ProcessPanel(ens)
    panel.page_type.value = "dcf"
    panel.page.value = 100
    panel.inputs["Email Address"].value = "previewed@example.org"
    panel.preview_button.click()
    assert not panel.confirm.disabled
    before = len(sandbox.ens.processed)
    panel.page_type.value = "pet"  # another page after the preview
    assert panel.confirm.disabled and panel.preview.height == 0
    click_refused(panel, panel.confirm, "preview first")
    assert sandbox.ens.find_email("previewed@example.org") is None  # nothing was submitted anywhere
    assert len(sandbox.ens.processed) == before
    panel.page_type.value = "nd"
    panel.page.value = panel.page.options[0][1]
    panel.inputs["Email Address"].value = "donor@example.org"
    panel.preview_button.click()
    assert not panel.confirm.disabled
    panel.currency.value = "USD"  # the card details are part of what is sent
    assert panel.confirm.disabled


def test_process_donation_and_advocacy_forms(clients, sandbox: Sandbox) -> None:
    ens, _ = clients
    panel = ProcessPanel(ens)
    panel.page_type.value = "nd"
    panel.page.value = 130
    assert panel.form.donation and panel.amount in panel.form_box.children[-3].children
    panel.inputs["Email Address"].value = "donor.panel@example.org"
    panel.amount.value = 25
    panel.card_number.value = "4222 2222 2222 2220"
    panel.card_expiry.value = "12/2030"
    panel.preview_button.click()
    assert "25.00 GBP" in panel.summary.value
    panel.confirm.click()
    assert panel.results.select("status", "amount").row(0) == ("done", 25.0)
    assert "4222" not in str(panel.results.to_dicts()) + panel.summary.value + panel.status
    panel.page_type.value = "et"
    assert panel.form.advocacy and panel.subject in panel.form_box.children
    panel.inputs["Email Address"].value = "advocate@example.org"
    click_refused(panel, panel.preview_button, "subject and a message")
    panel.subject.value, panel.message.value = "Rivers", "Please act"
    panel.preview_button.click()
    panel.confirm.click()
    assert panel.results.item(0, "status") == "done"


def test_process_batch_with_mapping(clients, sandbox: Sandbox) -> None:
    ens, _ = clients
    batch = pl.DataFrame({"email": ["b1@example.org", "bad-email", "b3@example.org"],
                          "first_name": ["B1", "B2", "B3"], "notes": ["x", "y", "z"]})
    panel = ProcessPanel(ens, batch=batch)
    panel.page_type.value = "pet"
    panel.page.value = 110
    panel.mode.value = "batch"
    assert panel.mapping_boxes["email"].value == "Email Address"
    assert panel.mapping_boxes["first_name"].value == "First Name"
    assert panel.mapping_boxes["notes"].value == "(not sent)"
    panel.preview_button.click()
    assert "<b>2</b> LIVE submissions" in panel.summary.value
    panel.confirm.click()
    assert panel.results.get_column("status").to_list() == ["done", "invalid", "done"]
    assert panel.progress.value == 3
    assert sandbox.ens.find_email("b3@example.org").fields["First Name"] == "B3"
    assert panel.status_kind == "error" and "invalid email" in panel.status


def test_process_errors_and_hourly_limit(clients, sandbox: Sandbox) -> None:
    ens, _ = clients
    panel = ProcessPanel(ens, batch=pl.DataFrame({"email": [f"r{i}@example.org" for i in range(5)]}))
    panel.page_status.value = "close"
    panel.page_type.value = "pet"
    assert panel.page.value == 112
    panel.mode.value = "batch"
    panel.preview_button.click()
    panel.confirm.click()
    assert set(panel.results.get_column("status")) == {"failed"}
    assert "closed" in panel.results.item(0, "error")
    panel.page_status.value = None
    panel.page.value = 110
    panel.preview_button.click()
    sandbox.ens.hourly_limit = len(sandbox.ens.requests) + 2
    panel.confirm.click()
    statuses = panel.results.get_column("status").to_list()
    assert statuses[:2] == ["done", "done"] and set(statuses[2:]) == {"not attempted"}
    assert "hourly limit" in panel.results.item(4, "error")
    assert panel.resume.button.layout.display == ""  # the unfinished run can be resumed
    sandbox.ens.hourly_limit = 5000
    panel.resume.button.click()
    assert panel.results.get_column("state").to_list() == ["done"] * 5, panel.status
    assert panel.resume.button.layout.display == "none"
    processed = [p["body"]["supporter"]["Email Address"] for p in sandbox.ens.processed if p["pageId"] == 110]
    assert sorted(processed) == [f"r{i}@example.org" for i in range(5)]  # each once


# -- all together --------------------------------------------------------------------------------


def test_toolkit_selection_flows_into_tag_and_process(clients) -> None:
    kit = Toolkit(*clients)
    assert [kit.widget.get_title(i) for i in range(4)] == ["Search", "Tag", "Process", "Consent"]
    kit.search.mode.value = "latest modified"
    kit.search.days_back.value = 32
    kit.search.search.click()
    page_selects(kit.search.table, [0, 1, 2])
    assert kit.tag.people.height == 3 and kit.process.batch.height == 3
    assert "3</b> people from the selection" in kit.tag.source.value


def test_a_selection_that_cannot_be_tagged_replaces_the_previous_one(clients) -> None:
    kit = Toolkit(*clients)
    kit.search.mode.value = "latest modified"
    kit.search.days_back.value = 32
    kit.search.search.click()
    page_selects(kit.search.table, [0, 1])
    assert kit.tag.people.height == 2
    odd = kit.search.results.head(2).with_columns(
        pl.Series(c, ["not an email", "b@example.org"]) for c in kit.search.results.columns
        if c in ("email", "Email Address", "emailAddress"))
    kit.search.table.set_frame(odd)
    kit.search.table.select_rows([0, 1])
    assert kit.tag.people.height == 0  # never the previous two
    assert kit.tag.status_kind == "error" and "cannot be tagged" in kit.tag.status
    assert kit.process.batch.height == 2


def test_zero_rows_selected_sends_nothing(ens: ENSClient, enc: EnchargeClient, recorder, sandbox: Sandbox) -> None:
    kit = Toolkit(ens, enc)
    kit.search.mode.value = "latest modified"
    kit.search.days_back.value = 32
    kit.search.search.click()
    page_selects(kit.search.table, [0, 1])
    page_selects(kit.search.table, [])  # deselected again
    assert kit.tag.people.height == 0 and "No people selected" in kit.tag.source.value
    kit.process.page_type.value = "pet"
    kit.process.mode.value = "batch"
    assert "No rows: select supporters in Search first" in kit.process.batch_box.children[0].value
    sent = len(recorder.exchanges)
    kit.tag.new_tags.value = "nobody-gets-this"
    click_refused(kit.tag, kit.tag.preview_button, "at least one person")
    assert kit.tag.confirm.disabled
    kit.tag.confirm.click()
    assert kit.tag.results.height == 0
    click_refused(kit.process, kit.process.preview_button, "rows selected in Search")
    kit.process.confirm.click()
    assert kit.process.results.height == 0
    assert len(recorder.exchanges) == sent  # not one request to ENS or Encharge
    assert sum(sandbox.encharge.tag_requests.values()) == 0 and sandbox.ens.processed == []


# -- the app's page ------------------------------------------------------------------------------


def test_app_page_says_what_to_set_without_credentials() -> None:
    page = AppPage(environ={"ENCHARGE_API_KEY": "enc-key"})
    assert page.missing == ["ENS_API_KEY"] and page.toolkit is None
    shown = page.widget.children[1].value
    assert "Not set: <code>ENS_API_KEY</code>" in shown and "export ENS_API_KEY=..." in shown
    assert "enstoolkit app --sandbox" in shown and "ENCHARGE_API_KEY=" not in shown
    assert "enc-key" not in shown


def test_app_page_shows_the_panels_on_the_configured_accounts(sandbox: Sandbox, tmp_path: Path) -> None:
    env = {**sandbox.environment(), EXPORTS_VARIABLE: str(tmp_path / "out")}
    page = AppPage(environ=env)
    assert page.missing == [] and page.toolkit is not None and page.error is None
    assert page.toolkit.search.export.folder.value == str(tmp_path / "out")
    page.toolkit.search.search.click()
    assert page.toolkit.search.status_kind == "success"
    assert "Sandbox" not in page.description  # told apart only by --sandbox
    assert "Nothing you do here reaches" in AppPage(environ={**env, SANDBOX_VARIABLE: "1"}).description


def test_app_page_reports_a_bad_setting_without_a_traceback() -> None:
    page = AppPage(environ={"ENS_API_KEY": "k", "ENCHARGE_API_KEY": "e",
                            "ENS_BASE_URL": "https://ens.example.com/ens/service"})
    assert page.toolkit is None and page.error is not None and "base_url" in page.error
    assert "The app could not connect" in page.widget.children[1].value


def test_with_encharge_never_says_absent_for_an_email_it_could_not_look_up(clients, sandbox: Sandbox) -> None:
    from enstoolkit.widgets.actions import with_encharge

    _, enc = clients
    known = next(p for p in sandbox.encharge.people.values() if not p["archived"])
    df = pl.DataFrame({"supporterId": [1, 2, 3, 4],
                       "Email Address": [known["email"], "nobody@example.org", "a@münchen.de", None]})
    assert with_encharge(df, enc).get_column("in_encharge").to_list() == [True, False, None, None]
