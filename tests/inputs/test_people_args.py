"""Regressions found by review: people dropped by the email column rule, a person charged twice in one batch,
and the consent panel confirming a plan other than the one previewed.

Each test counts what the sandbox acted on (unsubscribes, tag requests, page submissions and
gifts), over real loopback HTTP.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from enstoolkit import EnchargeClient, ENSClient
from enstoolkit.bulk import Journal, delete_people, process_pages, resume, tag_people, unsubscribe_people
from enstoolkit.errors import ValidationError
from enstoolkit.inputs.people_args import identifiers, people_emails
from enstoolkit.sandbox import Sandbox
from enstoolkit.widgets import actions

CARD = {"donationAmt": "25.00", "paymenttype": "VISA", "paycurrency": "GBP", "ccnumber": "4222222222222220",
        "ccexpire": "12/2030", "ccvv": "123"}


@pytest.fixture
def clients() -> Iterator[tuple[Sandbox, ENSClient, EnchargeClient]]:
    with Sandbox(supporters=60, seed=1) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens, \
            EnchargeClient(sb.encharge_api_key, sb.encharge_url) as enc:
        yield sb, ens, enc


def _joined(people: list[str]) -> pl.DataFrame:
    """ENS supporters left-joined to Encharge people: Encharge's ``email`` is null where the join found nobody."""
    return pl.DataFrame({"Email Address": people, "email": [people[0], people[1], None, None]})


# -- one email rule for frames and dicts ----------------------------------------------------------


def test_a_frame_and_its_dicts_give_the_same_people() -> None:
    from enstoolkit.inputs.people_args import row_identifiers

    people = ["a@example.org", "b@example.org", "c@example.org", "d@example.org"]
    frame = _joined(people)
    assert people_emails(frame) == people_emails(frame.to_dicts()) == people
    assert identifiers(frame) == identifiers(frame.to_dicts()) == [("email", e) for e in people]
    # blank cells are passed over too, not only nulls; the first non-empty column wins, in EMAIL_COLUMNS order
    spaced = pl.DataFrame({"email": ["  ", "X@example.org"], "Email Address": ["y@example.org", "z@example.org"]})
    assert people_emails(spaced) == people_emails(spaced.to_dicts()) == ["y@example.org", "x@example.org"]
    # a row with no email at all is counted the same way whatever its shape
    empty = pl.DataFrame({"email": ["a@example.org", None], "Email Address": [None, " "], "First Name": ["A", "B"]})
    assert row_identifiers(empty) == row_identifiers(empty.to_dicts()) == [("email", "a@example.org"), None]


def test_unsubscribing_a_joined_frame_acts_on_every_row(clients: tuple[Sandbox, ENSClient, EnchargeClient],
                                                        tmp_path: Path) -> None:
    sb, _, enc = clients
    people = enc.list_people(max_people=4).get_column("email").to_list()
    before = sum(sb.encharge.unsubscribes.values())
    run = unsubscribe_people(enc, _joined(people), journal=Journal(tmp_path / "j.sqlite3"))
    assert sum(sb.encharge.unsubscribes.values()) - before == 4
    assert run.counts() == {"done": 4} and sorted(run.items()["key"]) == sorted(people)


def test_rows_without_an_email_are_reported_not_dropped(clients: tuple[Sandbox, ENSClient, EnchargeClient],
                                                        tmp_path: Path) -> None:
    sb, _, enc = clients
    people = enc.list_people(max_people=2).get_column("email").to_list()
    frame = pl.DataFrame({"email": [people[0], None, people[1], "  "], "Email Address": [None, None, None, None],
                          "First Name": ["A", "B", "C", "D"]}, schema_overrides={"Email Address": pl.String})
    journal = Journal(tmp_path / "j.sqlite3")
    before = sum(sb.encharge.unsubscribes.values())
    run = unsubscribe_people(enc, frame, journal=journal)
    assert sum(sb.encharge.unsubscribes.values()) - before == 2
    items = run.items()
    assert items.height == 4 and run.counts() == {"done": 2, "skipped": 2} and run.status == "completed"
    assert items.filter(pl.col("state") == "skipped")["error"].to_list() == ["row 2 has no email",
                                                                            "row 4 has no email"]
    # the same rows as dicts: the same run
    again = unsubscribe_people(enc, frame.to_dicts(), journal=journal, run=False)
    assert again.items().select("key", "state").rows() == [(people[0], "pending"), ("row 2", "skipped"),
                                                          (people[1], "pending"), ("row 4", "skipped")]
    # resuming sends only what is pending: never the skipped rows
    sent = sum(sb.encharge.unsubscribes.values())
    assert resume(again.run_id, encharge=enc, journal=journal).counts() == {"done": 2, "skipped": 2}
    assert sum(sb.encharge.unsubscribes.values()) - sent == 2


def test_tagging_and_deleting_report_rows_without_an_email(clients: tuple[Sandbox, ENSClient, EnchargeClient],
                                                           tmp_path: Path) -> None:
    sb, _, enc = clients
    person = enc.list_people(max_people=1).item(0, "email")
    rows = [{"email": None, "Email Address": person}, {"email": None, "Email Address": None}]
    journal = Journal(tmp_path / "j.sqlite3")
    tagged = tag_people(enc, rows, "people-safety", journal=journal)
    assert tagged.counts() == {"done": 1, "skipped": 1}
    assert sum(n for (_, tag, _), n in sb.encharge.tag_requests.items() if tag == "people-safety") == 1
    direct = enc.add_tags(pl.DataFrame(rows), "people-safety-2")
    assert direct.select("email", "status", "error").rows() == [(person, "done", None),
                                                                (None, "skipped", "row 2 has no email")]
    deleted = delete_people(enc, pl.DataFrame(rows), journal=journal)
    assert deleted.counts() == {"done": 1, "skipped": 1}
    assert enc.get_people(emails=[person]).height == 0


def test_a_selection_with_no_emails_at_all_is_refused_before_anything_is_sent(
        clients: tuple[Sandbox, ENSClient, EnchargeClient], tmp_path: Path) -> None:
    sb, _, enc = clients
    frame = pl.DataFrame({"email": [None, " "], "First Name": ["A", "B"]})
    before = sum(sb.received.values())
    with pytest.raises(ValidationError) as info:
        unsubscribe_people(enc, frame, journal=Journal(tmp_path / "j.sqlite3"))
    assert info.value.argument == "people" and "none with an email" in str(info.value)
    assert sum(sb.received.values()) == before


def test_the_tag_panel_says_how_many_rows_had_no_email(clients: tuple[Sandbox, ENSClient, EnchargeClient]) -> None:
    from enstoolkit.widgets import TagPanel

    _, _, enc = clients
    panel = TagPanel(enc, people=pl.DataFrame({"email": ["a@example.org", None, None],
                                               "Email Address": [None, "b@example.org", None]}))
    assert panel.people["email"].to_list() == ["a@example.org", "b@example.org"]
    assert "<b>2</b> people from the selection; <b>1</b> row has no email" in panel.source.value
    panel.set_people(pl.DataFrame({"email": [None, None]}, schema={"email": pl.String}))
    assert "<b>2</b> rows have no email" in panel.source.value and panel.people.height == 0


# -- one person, one submission -----------------------------------------------------------------


def _gifts(sb: Sandbox, email: str) -> int:
    record = sb.ens.find_email(email)
    return len(sb.ens.transactions(record)) if record is not None else 0


def test_a_person_twice_in_a_batch_is_charged_once(clients: tuple[Sandbox, ENSClient, EnchargeClient],
                                                    tmp_path: Path) -> None:
    sb, ens, _ = clients
    form = actions.page_form(ens, 130)
    batch = pl.DataFrame({"email": ["Jo.Donor@example.org", " jo.donor@example.org", "ann@example.org",
                                    "JO.DONOR@example.org"]})
    preview = actions.preview_process(batch, {"email": "Email Address"}, form)
    assert preview["problem"].to_list() == [None, "same person as row 1", None, "same person as row 1"]
    results = actions.process_rows(ens, form, preview, transaction=CARD, journal=Journal(tmp_path / "j.sqlite3"))
    assert results["status"].to_list() == ["done", "invalid", "done", "invalid"]
    assert _gifts(sb, "jo.donor@example.org") == 1 and _gifts(sb, "ann@example.org") == 1


def test_a_deliberate_second_gift_is_sent_when_asked_for(clients: tuple[Sandbox, ENSClient, EnchargeClient],
                                                         tmp_path: Path) -> None:
    sb, ens, _ = clients
    form = actions.page_form(ens, 130)
    batch = pl.DataFrame({"email": ["twice@example.org", "Twice@example.org"]})
    preview = actions.preview_process(batch, {"email": "Email Address"}, form, allow_repeats=True)
    assert preview["problem"].to_list() == [None, None]
    # a preview allowing repeats is still not charged twice unless process_rows is told too
    journal = Journal(tmp_path / "j.sqlite3")
    once = actions.process_rows(ens, form, preview, transaction=CARD, journal=journal)
    assert once.select("status", "error").rows() == [("done", None), ("invalid", "same person as row 1")]
    assert _gifts(sb, "twice@example.org") == 1
    both = actions.process_rows(ens, form, preview, transaction=CARD, journal=journal, allow_repeats=True)
    assert both["status"].to_list() == ["done", "done"] and _gifts(sb, "twice@example.org") == 3


def test_process_pages_skips_repeats_unless_allowed(clients: tuple[Sandbox, ENSClient, EnchargeClient],
                                                    tmp_path: Path) -> None:
    sb, ens, _ = clients
    rows = [{"Email Address": "Sam@example.org"}, {"Email Address": "kim@example.org"},
            {"Email Address": " sam@EXAMPLE.org "}]
    journal = Journal(tmp_path / "j.sqlite3")
    run = process_pages(ens, 110, rows, journal=journal)
    assert run.counts() == {"done": 2, "skipped": 1} and run.status == "completed"
    assert run.items().item(2, "error") == "same person as row 1; not sent (allow_repeats=True sends it)"
    sent = Counter(p["body"]["supporter"]["Email Address"].strip().lower() for p in sb.ens.processed)
    assert sent == Counter({"sam@example.org": 1, "kim@example.org": 1})
    allowed = process_pages(ens, 110, rows, journal=journal, allow_repeats=True)
    assert allowed.counts() == {"done": 3}
    with pytest.raises(ValidationError, match="allow_repeats"):
        process_pages(ens, 110, rows, journal=journal, allow_repeats="yes")  # type: ignore[arg-type]


def test_the_process_panel_counts_repeats(clients: tuple[Sandbox, ENSClient, EnchargeClient]) -> None:
    from enstoolkit.widgets import ProcessPanel

    sb, ens, _ = clients
    panel = ProcessPanel(ens, batch=pl.DataFrame({"email": ["pat@example.org", "Pat@example.org", "lee@example.org"]}))
    panel.page_type.value = "pet"
    panel.page.value = 110
    panel.mode.value = "batch"
    panel.preview_button.click()
    assert "<b>2</b> " in panel.summary.value and "1 the same person as an earlier row" in panel.summary.value
    before = len(sb.ens.processed)
    panel.confirm.click()
    assert len(sb.ens.processed) - before == 2
    assert panel.results["status"].to_list() == ["done", "invalid", "done"]


# -- the consent panel confirms what was previewed ----------------------------------------------


@pytest.fixture
def consent_panel(clients: tuple[Sandbox, ENSClient, EnchargeClient], tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[Sandbox, object]:
    from enstoolkit.widgets import ConsentPanel

    monkeypatch.setenv("ENSTOOLKIT_DATA_DIR", os.fspath(tmp_path))
    sb, ens, enc = clients
    panel = ConsentPanel(ens, enc)
    panel.build_button.click()
    return sb, panel


def test_confirm_refuses_a_plan_changed_since_the_preview(consent_panel: tuple[Sandbox, object]) -> None:
    sb, panel = consent_panel
    plan = panel.plan  # type: ignore[attr-defined]
    assert plan.filter(pl.col("action") == "unsubscribe").height > 1
    panel.plan = plan.filter(pl.col("action") == "unsubscribe").head(1)  # type: ignore[attr-defined]
    panel.preview_button.click()  # type: ignore[attr-defined]
    panel.plan = plan  # type: ignore[attr-defined]
    before = sum(sb.received.values())
    panel.confirm.click()  # type: ignore[attr-defined]
    assert sum(sb.received.values()) == before and sum(sb.encharge.unsubscribes.values()) == 0
    assert "changed since the preview" in panel.status and "nothing was sent" in panel.status  # type: ignore
    assert panel.confirm.disabled and panel.run is None  # type: ignore[attr-defined]


def test_confirm_applies_exactly_the_previewed_plan(consent_panel: tuple[Sandbox, object]) -> None:
    sb, panel = consent_panel
    plan = panel.plan  # type: ignore[attr-defined]
    one = plan.filter(pl.col("action") == "unsubscribe").head(1)
    panel.plan = one  # type: ignore[attr-defined]
    panel.preview_button.click()  # type: ignore[attr-defined]
    panel.plan = one.clone()  # the same rows: not a change  # type: ignore[attr-defined]
    panel.confirm.click()  # type: ignore[attr-defined]
    assert sum(sb.encharge.unsubscribes.values()) == 1
    assert panel.results["status"].to_list() == ["done"]  # type: ignore[attr-defined]
