"""Frame builders: explicit schemas, coercion of mixed forms, opt-in widening."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enstoolkit import schemas
from enstoolkit.errors import AmbiguousDates, DataShapeError, ValidationError
from enstoolkit.schemas.ens import QUESTION_STRUCT
from enstoolkit.schemas.frames import OPTIN_ANSWERS, build_frame, empty_frame, optins, parse_temporal

UTC = dt.UTC


def test_temporal_forms_in_one_column() -> None:
    values = [1487353181180, 1519918699, "2018-12-04", "01/03/2018", "2025-11-20T19:05:09.385Z", "", None]
    out = parse_temporal(values, pl.Datetime("ms", "UTC"), "when", date_order="dmy")
    assert out.dtype == pl.Datetime("ms", "UTC")
    assert out.to_list() == [
        dt.datetime(2017, 2, 17, 17, 39, 41, 180000, tzinfo=UTC),
        dt.datetime(2018, 3, 1, 15, 38, 19, tzinfo=UTC),
        dt.datetime(2018, 12, 4, tzinfo=UTC),
        dt.datetime(2018, 3, 1, tzinfo=UTC),
        dt.datetime(2025, 11, 20, 19, 5, 9, 385000, tzinfo=UTC),
        None,
        None,
    ]


def test_slash_dates_are_read_in_the_proven_order_or_refused() -> None:
    assert parse_temporal(["25/03/2026", "01/04/2026"], pl.Date()).to_list() == [dt.date(2026, 3, 25),
                                                                                  dt.date(2026, 4, 1)]
    assert parse_temporal(["03/25/2026", "04/01/2026"], pl.Date()).to_list() == [dt.date(2026, 3, 25),
                                                                                  dt.date(2026, 4, 1)]
    with pytest.raises(AmbiguousDates, match="read as DD/MM and as MM/DD") as info:
        parse_temporal(["01/04/2026", "02/05/2026"], pl.Date(), "createdOn")
    assert info.value.column == "createdOn" and "date_order" in info.value.parameter
    with pytest.raises(AmbiguousDates, match="neither"):
        parse_temporal(["25/03/2026", "03/25/2026"], pl.Date(), "mixed")
    assert parse_temporal(["01/04/2026"], pl.Date(), date_order="mdy").to_list() == [dt.date(2026, 1, 4)]


def test_temporal_as_date_and_with_offsets() -> None:
    assert parse_temporal(["2025-11-20T23:30:00-02:00"], pl.Date()).to_list() == [dt.date(2025, 11, 21)]
    assert parse_temporal(["1698072391000"], pl.Date()).to_list() == [dt.date(2023, 10, 23)]


def test_bad_date_names_the_column() -> None:
    with pytest.raises(DataShapeError, match="createdOn"):
        parse_temporal(["not a date"], pl.Date(), "createdOn")


def test_strings_and_numbers_are_coerced_both_ways() -> None:
    # The ENS spec sends typed values; a public client's fixtures send strings throughout.
    records = [
        {"supporterId": "1234567890", "suppressed": "false", "Age": 32, "Phone Number": 2023456789},
        {"supporterId": 212200, "suppressed": True, "Age": "41", "Phone Number": "+44 20"},
    ]
    schema = {**schemas.ens.SUPPORTER_BASE, "Age": pl.String(), "Phone Number": pl.String()}
    df = build_frame(records, schema)
    assert df.schema == pl.Schema(schema)
    assert df.rows() == [(1234567890, False, "32", "2023456789"), (212200, True, "41", "+44 20")]


def test_late_float_in_an_int_column_is_an_error_not_a_truncation() -> None:
    with pytest.raises(DataShapeError, match="'id'"):
        build_frame([{"id": 1}, {"id": 2.5}], {"id": pl.Int64()})


def test_extra_keys_are_kept_as_strings_in_order() -> None:
    df = build_frame([{"a": 1, "zeta": 5}, {"a": 2, "beta": True}], {"a": pl.Int64()}, extra=True)
    assert df.columns == ["a", "zeta", "beta"]
    assert df.schema["zeta"] == pl.String
    assert df.row(1) == (2, None, "true")


def test_empty_results_keep_their_columns() -> None:
    for schema in (schemas.ens.PAGE, schemas.ens.TRANSACTION):
        df = build_frame([], schema)
        assert df.height == 0
        assert df.schema == pl.Schema(schema)
    assert empty_frame({"x": pl.Date()}).schema == pl.Schema({"x": pl.Date()})


def test_nested_questions_and_wrapped_lists() -> None:
    schema = {"questions": pl.List(QUESTION_STRUCT)}
    df = build_frame(
        [{"questions": [{"id": "279", "name": "Opt-in", "type": "OPTIN", "response": "Y",
                         "modifiedOn": 1709816235000}]}],
        schema,
    )
    q = df.item(0, "questions")[0]
    assert q["id"] == 279 and q["response"] == "Y"
    assert q["modifiedOn"] == dt.datetime(2024, 3, 7, 12, 57, 15, tzinfo=UTC)
    content = build_frame([{"c": {"data": [{"value": "Y"}]}}], {"c": pl.List(pl.Struct({"value": pl.String}))})
    assert content.item(0, "c").to_list() == [{"value": "Y"}]


def test_comma_string_to_list() -> None:
    df = build_frame([{"tags": "a, b,,c"}, {"tags": None}], {"tags": pl.List(pl.String)})
    assert df.get_column("tags").to_list() == [["a", "b", "c"], None]


def test_optins_widens_to_answers() -> None:
    schema = {**schemas.ens.SUPPORTER_BASE, "questions": pl.List(QUESTION_STRUCT)}
    df = build_frame(
        [
            {"supporterId": 1, "suppressed": False, "questions": [
                {"name": "Marketing Optin", "type": "OPTIN", "response": "Y", "modifiedOn": 1700000000000},
                {"name": "SMS Optin", "type": "OPTIN", "response": "N", "modifiedOn": 1700000000000},
                {"name": "Interests", "type": "GENERAL", "response": "daily", "modifiedOn": 1700000000000},
            ]},
            {"supporterId": 2, "suppressed": True, "questions": []},
            {"supporterId": 3, "suppressed": False, "questions": [
                {"name": "Email Opt-in (double)", "type": "CONFIRMATION", "response": "P"},
            ]},
        ],
        schema,
    )
    wide = optins(df, dates=True)
    assert wide.columns == [
        "supporterId", "suppressed",
        "Email Opt-in (double)", "Email Opt-in (double) date",
        "Marketing Optin", "Marketing Optin date",
        "SMS Optin", "SMS Optin date",
    ]
    assert wide.get_column("supporterId").to_list() == [1, 2, 3]
    assert wide.get_column("Marketing Optin").to_list() == ["Y", None, None]
    assert wide.get_column("SMS Optin").to_list() == ["N", None, None]
    assert wide.get_column("Email Opt-in (double)").to_list() == [None, None, "P"]  # pending is kept, not null
    assert wide.schema["Marketing Optin"] == OPTIN_ANSWERS
    odd = build_frame([{"supporterId": 4, "questions": [{"name": "Q", "type": "OPTIN", "response": "X"}]}], schema)
    with pytest.raises(DataShapeError, match=r"Y, N, P \(pending\) or D"):
        optins(odd)


def test_optins_match_the_account_questions_by_id() -> None:
    schema = {**schemas.ens.SUPPORTER_BASE, "questions": pl.List(QUESTION_STRUCT)}
    df = build_frame([
        {"supporterId": 1, "suppressed": False, "questions": [  # the record's names, not the list's
            {"id": 279, "name": "Opt-in", "type": "OPTIN", "response": "N"},
            {"id": 784, "name": "Email Opt-in", "type": "CONFIRMATION", "response": "P"}]},
        {"supporterId": 2, "suppressed": False, "questions": [  # no ids: matched by the list's name
            {"name": "Opt-in EMAIL (single)", "type": "OPTIN", "response": "Y"},
            {"name": "Opt-in", "type": "OPTIN", "response": "N"}]},
        {"supporterId": 3, "suppressed": False, "questions": [  # an id of another question, the list's name
            {"id": 9999, "name": "Opt-in EMAIL (single)", "type": "OPTIN", "response": "Y"}]},
    ], schema)
    listed = pl.DataFrame({"id": [1531, 15084, 42004], "questionId": [279, 784, 1064],
                           "name": ["Opt-in EMAIL (single)", "Email Opt-in (double)", "Feedback"],
                           "type": ["OPT", "CONF", "GEN"]})
    wide = optins(df, questions=listed)
    assert wide.columns == ["supporterId", "suppressed", "Opt-in EMAIL (single)", "Email Opt-in (double)"]
    assert wide.rows() == [(1, False, "N", "P"), (2, False, "Y", None), (3, False, None, None)]
    assert optins(df, questions={279: "Opt-in"}).get_column("Opt-in").to_list() == ["N", "N", None]
    # names alone keep matching by name, as before
    assert optins(df, questions=["Opt-in"]).get_column("Opt-in").to_list() == ["N", "N", None]
    assert optins(df, questions="Opt-in").columns[-1] == "Opt-in"
    for odd in ({"279": "Opt-in"}, {279: ""}, ["A", "A"], pl.DataFrame({"questionId": [279]}), 279):
        with pytest.raises(ValidationError, match="questions"):
            optins(df, questions=odd)  # type: ignore[arg-type]


def test_optins_needs_questions() -> None:
    with pytest.raises(ValueError, match="questions=True"):
        optins(pl.DataFrame({"supporterId": [1]}))


@pytest.mark.parametrize("value", ["21/03/18", "03/04/18", "20180321", 20180321])
def test_dates_that_could_be_read_wrongly_raise(value: object) -> None:
    from enstoolkit.errors import DataShapeError
    from enstoolkit.schemas.frames import parse_temporal

    with pytest.raises(DataShapeError):
        parse_temporal([value], pl.Date, name="createdOn", date_order="dmy")


@pytest.mark.parametrize("body", [b'[{"n": 5.7}]', b'[{"n": true}]'])
def test_numbers_never_lose_their_fraction_or_come_from_booleans(body: bytes) -> None:
    import json

    from enstoolkit.errors import DataShapeError
    from enstoolkit.schemas.frames import read_frame

    for data in (body, json.loads(body)):  # the fast reader and the tolerant one agree
        with pytest.raises(DataShapeError, match="column 'n'"):
            read_frame(data, {"n": pl.Int64()})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=" ,ab\u00a0\t\u00e9x"), st.text(max_size=12)), max_size=30),
       st.lists(st.one_of(st.none(), st.integers(-10**9, 10**9), st.floats(allow_nan=True)), max_size=30),
       st.lists(st.one_of(st.none(), st.booleans()), max_size=30))
def test_columns_built_at_once_equal_the_value_by_value_route(texts: list[Any], numbers: list[Any],
                                                               flags: list[Any]) -> None:
    # a last value of another Python type sends the column down the tolerant route, one value at a time
    for values, dtype, odd in ((texts, pl.List(pl.String), ["x"]), (texts, pl.String(), 7),
                               (numbers, pl.Float64(), "1.5"), (flags, pl.Boolean(), "true")):
        fast = build_frame([{"c": v} for v in values], {"c": dtype})
        slow = build_frame([{"c": v} for v in [*values, odd]], {"c": dtype}).head(len(values))
        assert fast.schema == slow.schema and fast.equals(slow, null_equal=True), (dtype, values)
