"""Property-based tests: arbitrary and mixed-type JSON thrown at the frame builders."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enstoolkit import schemas
from enstoolkit.encharge import people_frame
from enstoolkit.errors import DataShapeError
from enstoolkit.records import neutralise
from enstoolkit.schemas.ens import QUESTION_STRUCT
from enstoolkit.schemas.frames import build_frame, parse_temporal

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Values shaped like what the APIs send, mixed with anything at all.
LIKELY = st.one_of(
    JSON,
    st.sampled_from(["1", "0", "Y", "N", "true", "false", "", "2024-01-02", "01/03/2018", "1487353181180",
                     "2025-11-20T19:05:09.385Z", "12.50", "a,b,c", "-", "=SUM(A1)"]),
    st.integers(min_value=0, max_value=2_000_000_000_000),
)
SCHEMAS = {
    "supporter": {**schemas.ens.SUPPORTER_BASE, "First Name": pl.String(), "questions": pl.List(QUESTION_STRUCT)},
    "transaction": schemas.ens.TRANSACTION,
    "page": schemas.ens.PAGE,
    "process": schemas.ens.PROCESS_RESULT,
    "question": schemas.ens.QUESTION_DETAIL,
    "person": schemas.encharge.PERSON,
}


def records_for(schema: dict) -> st.SearchStrategy:
    keys = st.sampled_from(list(schema)) | st.text(min_size=1, max_size=8)
    return st.lists(st.dictionaries(keys, LIKELY, max_size=len(schema) + 2), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(SCHEMAS)), extra=st.booleans())
def test_builders_never_crash_and_hold_the_schema(data: st.DataObject, name: str, extra: bool) -> None:
    schema = SCHEMAS[name]
    records = data.draw(records_for(schema))
    try:
        df = build_frame(records, schema, extra=extra)
    except DataShapeError as exc:
        column = exc.column.split(".")[0]
        assert column in schema or column.startswith("row "), exc  # names the field
        return
    assert list(df.schema.items())[: len(schema)] == [(k, v if not isinstance(v, type) else v()) for k, v in
                                                       schema.items()]
    assert df.height == len(records)
    if not extra:
        assert df.columns == list(schema)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(LIKELY, max_size=8))
def test_dates_parse_or_name_the_column(values: list) -> None:
    try:
        out = parse_temporal(values, pl.Datetime("ms", "UTC"), "when")
    except DataShapeError as exc:
        assert exc.column == "when"
        return
    assert out.dtype == pl.Datetime("ms", "UTC") and out.len() == len(values)


@settings(max_examples=80, deadline=None)
@given(records=st.lists(st.dictionaries(st.sampled_from(["id", "email", "tags", "leadScore", "unsubscribed",
                                                          "createdAt", "country"]), LIKELY, max_size=7), max_size=5))
def test_people_frames(records: list) -> None:
    try:
        df = people_frame(records)
    except DataShapeError as exc:
        assert exc.column.split(".")[0] in schemas.encharge.PERSON or exc.column.startswith("row ")
        return
    assert df.schema["tags"] == pl.List(pl.String) and df.height == len(records)


@settings(max_examples=100, deadline=None)
@given(cells=st.lists(st.text(max_size=20), min_size=1, max_size=10))
def test_exports_never_start_a_cell_with_a_formula(cells: list[str]) -> None:
    out = neutralise(pl.DataFrame({"text": cells, "n": list(range(len(cells)))}))
    for value in out.get_column("text").to_list():
        assert not value or value[0] not in "=+-@\t\r"
    assert out.get_column("n").to_list() == list(range(len(cells)))


def test_json_strategy_covers_mixed_types() -> None:
    example = json.loads('{"supporterId": "12", "suppressed": "Y", '
                         '"questions": [{"id": "4", "modifiedOn": "1700000000000"}]}')
    df = build_frame([example, {"supporterId": 13.0, "suppressed": 0}], SCHEMAS["supporter"])
    assert df.select("supporterId", "suppressed").rows() == [(12, True), (13, False)]
