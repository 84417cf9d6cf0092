"""The analyst's marks on duplicate pairs ("same person", "not the same person"), kept between runs.

The marks live in one CSV file under the data folder (:func:`enstoolkit.records.paths.data_dir`), one row
per pair, the latest mark winning. :func:`~enstoolkit.analysis.duplicates.probable_duplicates`
reads them: a pair marked "not the same person" is never proposed again, and one marked "same
person" carries the mark.

Example:
    >>> store = folder / "marks.csv"
    >>> pair = pl.DataFrame({"system_1": ["ENS"], "id_1": ["1"], "system_2": ["ENS"], "id_2": ["2"]})
    >>> mark_pairs(pair, NOT_SAME, path=store).height
    1
    >>> read_marks(store).select("id_1", "id_2", "mark").row(0)
    ('1', '2', 'not the same person')
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from ..errors import ValidationError
from ..inputs.arguments import check_frame
from ..records.paths import data_dir

__all__ = ["MARKS", "NOT_SAME", "SAME", "apply_marks", "duplicates_worklist", "mark_pairs", "marks_path", "read_marks"]

SAME = "same person"
NOT_SAME = "not the same person"
MARKS: dict[str, pl.DataType] = {"system_1": pl.String(), "id_1": pl.String(), "system_2": pl.String(),
                                 "id_2": pl.String(), "mark": pl.String(), "markedAt": pl.String()}
_KEY = ["system_1", "id_1", "system_2", "id_2"]


def marks_path() -> Path:
    """Where the marks are kept: ``duplicate_marks.csv`` in the data folder.

    Example:
        >>> marks_path().name
        'duplicate_marks.csv'
    """
    return data_dir() / "duplicate_marks.csv"


def read_marks(path: str | Path | None = None) -> pl.DataFrame:
    """The marks kept (the latest per pair), or none.

    Example:
        >>> read_marks(folder / "none.csv").height
        0
    """
    target = Path(path) if path is not None else marks_path()
    if not target.exists():
        return pl.DataFrame([], schema=MARKS)
    marks = pl.read_csv(target, schema=MARKS)
    return marks.unique(_KEY, keep="last", maintain_order=True)


def _both_ways(frame: pl.DataFrame) -> pl.DataFrame:
    swapped = frame.rename({"system_1": "system_2", "id_1": "id_2", "system_2": "system_1", "id_2": "id_1"})
    return pl.concat([frame, swapped.select(frame.columns)])


def mark_pairs(pairs: pl.DataFrame, mark: str, *, path: str | Path | None = None,
               at: dt.datetime | None = None) -> pl.DataFrame:
    """Keep ``mark`` ("same person", "not the same person", or "" to clear it) for each pair of ``pairs``
    (rows with ``system_1``, ``id_1``, ``system_2``, ``id_2``); returns the marks now kept.

    Example:
        >>> store = folder / "m.csv"
        >>> pair = pl.DataFrame({"system_1": ["ENS"], "id_1": ["1"], "system_2": ["Encharge"], "id_2": ["p"]})
        >>> mark_pairs(pair, SAME, path=store).item(0, "mark")
        'same person'
    """
    if mark not in (SAME, NOT_SAME, ""):
        raise ValidationError("mark", mark, f"{SAME!r}, {NOT_SAME!r}, or '' to clear")
    pairs = check_frame("pairs", pairs, _KEY, what="pairs from probable_duplicates")
    target = Path(path) if path is not None else marks_path()
    moment = (at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    new = pairs.select([pl.col(c).cast(pl.String) for c in _KEY]).with_columns(
        pl.lit(mark).alias("mark"), pl.lit(moment).alias("markedAt"))
    kept = pl.concat([read_marks(target), new]).unique(_KEY, keep="last", maintain_order=True)
    kept = kept.filter(pl.col("mark") != "")
    target.parent.mkdir(parents=True, exist_ok=True)
    kept.write_csv(target)
    return kept


def apply_marks(pairs: pl.DataFrame, marks: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` with their ``mark`` column set from ``marks`` (either way round).

    Example:
        >>> pairs = pl.DataFrame({"system_1": ["ENS"], "id_1": ["1"], "system_2": ["ENS"], "id_2": ["2"]})
        >>> marks = pl.DataFrame({"system_1": ["ENS"], "id_1": ["2"], "system_2": ["ENS"], "id_2": ["1"],
        ...                       "mark": [SAME]})
        >>> apply_marks(pairs, marks).item(0, "mark")
        'same person'
    """
    marks = check_frame("marks", marks, [*_KEY, "mark"], what="marks (read_marks)")
    lookup = _both_ways(marks.select(*_KEY, pl.col("mark").alias("__mark"))).unique(_KEY, keep="last")
    joined = pairs.join(lookup, on=_KEY, how="left", maintain_order="left")
    current = pl.col("mark") if "mark" in pairs.columns else pl.lit(None, pl.String)
    return joined.with_columns(pl.coalesce("__mark", current).alias("mark")).drop("__mark")


def duplicates_worklist(pairs: pl.DataFrame, path: str | Path) -> Path:
    """Write duplicate pairs as a CSV worklist a person (or an ENS import, by ``Supporter ID``) can act on: the
    record to keep and the one to merge into it, side by side, with the evidence and the mark.

    Example:
        >>> pairs = pl.DataFrame({"system_1": ["ENS"], "id_1": ["1"], "email_1": ["a@x.org"], "system_2": ["ENS"],
        ...                       "id_2": ["2"], "email_2": ["b@x.org"], "match_probability": [0.99],
        ...                       "band": ["high"], "evidence": ["last name exact"], "keeper_system": ["ENS"],
        ...                       "keeper_id": ["2"], "mark": [None]})
        >>> out = duplicates_worklist(pairs, folder / "d.csv")
        >>> out.read_text().splitlines()[1]
        'ENS,2,b@x.org,ENS,1,a@x.org,0.990,high,last name exact,'
    """
    pairs = check_frame("pairs", pairs, [*_KEY, "email_1", "email_2", "match_probability", "band", "evidence",
                                         "keeper_system", "keeper_id"], what="pairs from probable_duplicates")
    first_keeps = (pl.col("keeper_system") == pl.col("system_1")) & (pl.col("keeper_id") == pl.col("id_1"))
    mark = pl.col("mark") if "mark" in pairs.columns else pl.lit(None, pl.String)

    def pick(one: str, two: str) -> pl.Expr:
        return pl.when(first_keeps).then(pl.col(one)).otherwise(pl.col(two))

    out = pairs.select(
        pick("system_1", "system_2").alias("Keep system"), pick("id_1", "id_2").alias("Keep ID"),
        pick("email_1", "email_2").alias("Keep email"), pick("system_2", "system_1").alias("Merge system"),
        pick("id_2", "id_1").alias("Merge ID"), pick("email_2", "email_1").alias("Merge email"),
        pl.col("match_probability").round(3).map_elements(lambda v: f"{v:.3f}", return_dtype=pl.String)
        .alias("Match probability"),
        pl.col("band").alias("Band"), pl.col("evidence").alias("Evidence"), mark.alias("Mark"))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(target)
    return target
