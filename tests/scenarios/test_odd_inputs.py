"""Odd inputs thrown at every public entry point that takes people, supporters or tags.

Each entry point either gives a clean result or raises :class:`ValidationError` naming the
argument (or, for a well-formed identifier of nobody, the API's own :class:`NotFoundError`);
never another exception (a ``TypeError`` from deep inside, a ``KeyError`` from a
frame, an HTTP error because something odd was sent). Entry points that talk to an API do so
to a sandbox of their own over loopback HTTP, which they may change.

The inputs: empty things, None, numbers, nested lists, dicts, emails with spaces or unicode,
Series of every kind, frames without an email column, and 10,000 rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enstoolkit import EnchargeClient, ENSClient, RetryPolicy, bulk
from enstoolkit.analysis import duplicate_supporters, invalid_emails, one_system_only, run_audit
from enstoolkit.bulk import Journal
from enstoolkit.encharge.payloads import check_tags, single_identifier
from enstoolkit.errors import BudgetExceeded, NotFoundError, ValidationError
from enstoolkit.inputs import people_args
from enstoolkit.sandbox import Sandbox
from enstoolkit.sync import apply_plan, check_plan, consent_plan
from enstoolkit.widgets import ProcessPanel, TagPanel, actions
from enstoolkit.widgets.grid import Grid, display_frame

ODD_EMAILS = ["  A@Example.org ", "josé@example.org", "a b@example.org", "名前@例え.jp", "a@example.org\n",
              "user@exämple.org", "@", "a@b", "\u200b", "", " ", "x" * 300 + "@example.org",
              "a@example.org;b@example.org"]
BIG = 10_000
BIG_EMAILS = [f"person{n}@example.org" for n in range(BIG)]

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40),
                    st.sampled_from(ODD_EMAILS), st.binary(max_size=8))
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner), max_leaves=8)
ROWS = st.lists(st.dictionaries(st.sampled_from(["email", "Email Address", "id", "userId", "First Name", "x"]),
                                SCALARS, max_size=4), max_size=6)
SERIES = st.one_of(
    st.lists(st.one_of(st.none(), st.sampled_from(ODD_EMAILS)), max_size=6).map(lambda v: pl.Series("email", v,
                                                                                                   dtype=pl.String)),
    st.lists(st.integers(min_value=-(2**31), max_value=2**31), max_size=6).map(lambda v: pl.Series("id", v,
                                                                                                  dtype=pl.Int64)),
    st.lists(st.floats(), max_size=4).map(lambda v: pl.Series("score", v, dtype=pl.Float64)),
    st.lists(st.booleans(), max_size=4).map(lambda v: pl.Series(v, dtype=pl.Boolean)),
)
FRAMES = st.one_of(
    st.just(pl.DataFrame()),
    st.just(pl.DataFrame({"email": []}, schema={"email": pl.String})),
    st.just(pl.DataFrame({"name": ["a", "b"]})),
    st.just(pl.DataFrame({"email": [1, 2]})),
    st.just(pl.DataFrame({"email": [None, None]}, schema={"email": pl.Null})),
    st.just(pl.DataFrame({"email": [["a@example.org"]]})),
    st.lists(st.one_of(st.none(), st.sampled_from(ODD_EMAILS)), min_size=1, max_size=6).map(
        lambda v: pl.DataFrame({"Email Address": v, "supporterId": list(range(len(v)))},
                               schema={"Email Address": pl.String, "supporterId": pl.Int64})),
)
ODD = st.one_of(SCALARS, NESTED, ROWS, SERIES, FRAMES, st.dictionaries(st.text(max_size=5), SCALARS, max_size=3),
                st.sets(st.sampled_from(ODD_EMAILS), max_size=4), st.frozensets(st.integers(), max_size=3),
                st.just(iter(["a@example.org"])), st.just(object()), st.just(b"a@example.org"))


@dataclass
class Setting:
    """Clients on a sandbox of this module's own (the entry points may write to it), and people it holds."""

    ens: ENSClient
    enc: EnchargeClient
    folder: Path
    person_email: str
    supporter_id: int


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    with Sandbox(supporters=200, seed=11) as sb:
        ens = ENSClient(sb.ens_api_key, sb.ens_url)
        enc = EnchargeClient(sb.encharge_api_key, sb.encharge_url)
        ens.retry = enc.retry = RetryPolicy(backoff=0.01)
        yield Setting(ens, enc, tmp_path_factory.mktemp("journals"), sorted(sb.encharge.by_email)[0],
                      sorted(sb.ens.records)[0])
        ens.close()
        enc.close()


def _journal(folder: Path) -> Journal:
    return Journal(folder / "journal.sqlite3")


#: A supporter file and Encharge people the consent sync takes, beside each odd value.
SUPPORTERS = pl.DataFrame({"supporterId": [1], "Email Address": ["a@example.org"], "suppressed": [False],
                           "Marketing Optin": ["N"], "Marketing Optin Date": [None]})
PEOPLE = pl.DataFrame({"id": ["p1"], "email": ["a@example.org"], "unsubscribed": [False]})


def entry_points(setting: Setting) -> dict[str, Callable[[Any], Any]]:
    """Every public entry point taking people, supporters or tags, as a function of the odd value."""
    ens, enc, folder = setting.ens, setting.enc, setting.folder
    form = actions.page_form(ens, 110)
    return {
        # the one rule for people arguments
        "people.people_emails": people_args.people_emails,
        "people.identifiers": people_args.identifiers,
        "people.people_records": people_args.people_records,
        "people.rows_frame": people_args.rows_frame,
        "encharge.payloads.check_tags": check_tags,
        "encharge.payloads.single_identifier": single_identifier,
        # the clients
        "EnchargeClient.get_people(emails=)": lambda x: enc.get_people(emails=x),
        "EnchargeClient.get_people(ids=)": lambda x: enc.get_people(ids=x),
        "EnchargeClient.add_tags(people)": lambda x: enc.add_tags(x, "odd-input"),
        "EnchargeClient.add_tags(tags)": lambda x: enc.add_tags(["ada@example.org"], x),
        "EnchargeClient.remove_tags(people)": lambda x: enc.remove_tags(x, "odd-input"),
        "EnchargeClient.delete_people(people)": lambda x: enc.delete_people(x),
        "EnchargeClient.delete_people(emails=)": lambda x: enc.delete_people(emails=x),
        "EnchargeClient.upsert_people(records)": lambda x: enc.upsert_people(x),
        "EnchargeClient.unsubscribe(person)": lambda x: enc.unsubscribe(x),
        "EnchargeClient.update_person(person)": lambda x: enc.update_person(x, {"firstName": "Odd"}),
        "EnchargeClient.update_person(fields)": lambda x: enc.update_person(setting.person_email, x),
        "EnchargeClient.status_from_segment(people)": lambda x: enc.status_from_segment(x),
        "ENSClient.get_supporters(ids=)": lambda x: ens.get_supporters(ids=x),
        "ENSClient.get_supporters(emails=)": lambda x: ens.get_supporters(emails=x),
        "ENSClient.get_supporter(email=)": lambda x: ens.get_supporter(email=x),
        "ENSClient.update_supporter(fields)": lambda x: ens.update_supporter(setting.supporter_id, x),
        "ENSClient.process_body(supporter)": lambda x: ens._process_body(x),
        "ENSClient.process_page(supporter)": lambda x: ens.process_page(110, x, demo=True),
        # bulk runs (recorded, not run: the records are what is checked)
        "bulk.tag_people(people)": lambda x: bulk.tag_people(enc, x, "odd", journal=_journal(folder), run=False),
        "bulk.tag_people(tags)": lambda x: bulk.tag_people(enc, ["a@example.org"], x, journal=_journal(folder),
                                                           run=False),
        "bulk.upsert_people(records)": lambda x: bulk.upsert_people(enc, x, journal=_journal(folder), run=False),
        "bulk.unsubscribe_people(people)": lambda x: bulk.unsubscribe_people(enc, x, journal=_journal(folder),
                                                                             run=False),
        "bulk.delete_people(people)": lambda x: bulk.delete_people(enc, x, journal=_journal(folder), run=False),
        "bulk.upsert_supporters(supporters)": lambda x: bulk.upsert_supporters(ens, x, journal=_journal(folder),
                                                                               run=False),
        "bulk.process_pages(supporters)": lambda x: bulk.process_pages(ens, 110, x, journal=_journal(folder),
                                                                       run=False),
        # what the panels call
        "actions.preview_tags(people)": lambda x: actions.preview_tags(enc, x, "odd", "add"),
        "actions.preview_tags(tags)": lambda x: actions.preview_tags(enc, ["a@example.org"], x, "add"),
        "actions.preview_process(frame)": lambda x: actions.preview_process(x, {"Email Address": "Email Address"},
                                                                            form),
        "actions.with_encharge(df)": lambda x: actions.with_encharge(x, enc),
        # the panels and the grid
        "TagPanel(people=)": lambda x: TagPanel(enc, people=x),
        "TagPanel.set_people": lambda x: TagPanel(enc).set_people(x),
        "ProcessPanel(batch=)": lambda x: ProcessPanel(ens, batch=x),
        "ProcessPanel.set_batch": lambda x: ProcessPanel(ens).set_batch(x),
        "Grid.set_frame": lambda x: Grid().set_frame(x),
        "grid.display_frame": display_frame,
        # the audit's frames
        "analysis.invalid_emails(ens)": invalid_emails,
        "analysis.duplicate_supporters(ens)": duplicate_supporters,
        "analysis.one_system_only(encharge)": lambda x: one_system_only(
            pl.DataFrame({"supporterId": [1], "Email Address": ["a@example.org"]}), x),
        "analysis.run_audit(ens)": run_audit,
        # the consent sync (a plan that is not one is refused before anything is sent)
        "sync.consent_plan(supporters)": lambda x: consent_plan(x, PEOPLE),
        "sync.consent_plan(people)": lambda x: consent_plan(SUPPORTERS, x),
        "sync.consent_plan(optins=)": lambda x: consent_plan(SUPPORTERS, PEOPLE, optins=x),
        "sync.consent_plan(erasures=)": lambda x: consent_plan(SUPPORTERS, PEOPLE, erasures=x),
        "sync.check_plan(plan)": check_plan,
        "sync.apply_plan(plan)": lambda x: apply_plan(x, ens=ens, encharge=enc, journal=_journal(folder)),
    }


#: What every entry point is fed first, whatever hypothesis draws after.
NAMED = [None, [], "", 0, 1.5, True, [[["a@example.org"]]], {"email": None}, [{"nothing": 1}],
         ["  A@Example.org "], ["josé@example.org"], ["a b@example.org"], pl.Series([1, 2]), pl.DataFrame(),
         pl.DataFrame({"name": ["a"]}), {"tags": ["a"]}, ("x", 1)]


def _problem(name: str, call: Callable[[Any], Any], value: Any) -> str | None:
    """What went wrong when ``call`` was given ``value``, or None when it behaved."""
    try:
        call(value)
    except ValidationError as exc:
        if not exc.argument or not exc.allowed:
            return f"{name}: a ValidationError naming no argument or nothing allowed: {exc}"
    except NotFoundError:
        pass  # a well-formed identifier of nobody: the API's own typed answer (a 400 would be a failure here)
    except BudgetExceeded as exc:
        # refused before sending: more lookups than the hour's ENS budget (10,000 rows, one request each)
        if "ENS requests" not in str(exc):
            return f"{name}: {exc}"
    except Exception as exc:  # the point of the test
        return f"{name}({value!r:.80}) raised {type(exc).__name__}: {str(exc)[:200]}"
    return None


def _check_all(points: dict[str, Callable[[Any], Any]], value: Any, names: list[str] | None = None) -> None:
    problems = [p for name in names or sorted(points) if (p := _problem(name, points[name], value))]
    assert not problems, "\n".join(problems)


def test_the_entry_points_are_all_walked(clients: Setting) -> None:
    names = set(entry_points(clients))
    for expected in ("TagPanel(people=)", "ProcessPanel(batch=)", "EnchargeClient.add_tags(people)",
                     "ENSClient.get_supporters(emails=)", "bulk.process_pages(supporters)", "people.people_emails"):
        assert expected in names
    assert len(names) >= 45


@pytest.mark.parametrize("value", NAMED, ids=[f"{type(v).__name__}-{n}" for n, v in enumerate(NAMED)])
def test_named_odd_inputs_give_a_result_or_a_validation_error(clients: Setting,
                                                            value: Any) -> None:
    _check_all(entry_points(clients), value)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_drawn_odd_inputs_give_a_result_or_a_validation_error(clients: Setting,
                                                            data: st.DataObject) -> None:
    points = entry_points(clients)
    name = data.draw(st.sampled_from(sorted(points)), label="entry point")
    _check_all(points, data.draw(ODD, label="value"), [name])


#: Entry points that send one request per person: their 10,000 valid rows are a case of their own.
PER_PERSON = ("EnchargeClient.add_tags(people)", "EnchargeClient.remove_tags(people)",
              "ENSClient.get_supporters(emails=)", "ENSClient.get_supporters(ids=)", "actions.preview_tags(people)",
              "EnchargeClient.upsert_people(records)", "EnchargeClient.get_people(emails=)",
              "EnchargeClient.delete_people(people)", "EnchargeClient.delete_people(emails=)",
              "actions.with_encharge(df)")


@pytest.mark.slow
@pytest.mark.parametrize("size", ["whole", "one-request-per-person"])
def test_ten_thousand_rows(clients: Setting, size: str) -> None:
    points = entry_points(clients)
    for value in _large_values():
        valid_rows = _valid(value)
        per_person = size == "one-request-per-person"
        names = [name for name in sorted(points) if (name in PER_PERSON and valid_rows) == per_person]
        if names:
            _check_all(points, value, names)


def _large_values() -> list[Any]:
    return [BIG_EMAILS, pl.Series("email", BIG_EMAILS), pl.DataFrame({"email": BIG_EMAILS}),
            [{"Email Address": e} for e in BIG_EMAILS], ["not an email"] * BIG, list(range(BIG)), [None] * BIG]


def _valid(value: Any) -> bool:
    try:
        return bool(people_args.people_emails(value))
    except ValidationError:
        return False
