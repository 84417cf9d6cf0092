"""The behaviour of :mod:`enstoolkit.sandbox.truth` (pinned here; its docstrings are prose)."""

from __future__ import annotations

import polars as pl

from enstoolkit.sandbox.truth import anchor_pairs, labelled_pairs, same_person, score_pairs, seed_labelled


def test_module() -> None:
    """enstoolkit.sandbox.truth: Ground truth for duplicate detection: labelled true duplicate pairs of each kind, and
    labelled look-alikes.
    """
    from enstoolkit.sandbox import Sandbox

    box = Sandbox(supporters=400, variant="labelled-duplicates")
    assert sorted(set(labelled_pairs(box).get_column("kind")))[:3] == ["changed email", "cross-system", "domain typo"]


def test_seed_labelled() -> None:
    """seed_labelled: labelled pairs of each kind appended to the records, with new supporter ids."""
    from enstoolkit.sandbox.data import DEFAULT_NOW, generate_supporters

    records = generate_supporters(50, 0, DEFAULT_NOW)
    truth = seed_labelled(records, 0, DEFAULT_NOW, per_kind=2)
    assert (len(records), len(truth.pairs), len(truth.encharge)) == (88, 18, 2)


def test_labelled_pairs() -> None:
    """labelled_pairs: the labelled pairs of a sandbox made with the labelled-duplicates variant."""
    from enstoolkit.sandbox import Sandbox

    box = Sandbox(supporters=400, variant="labelled-duplicates")
    assert labelled_pairs(box).filter(~pl.col("duplicate")).get_column("kind").unique().sort().to_list() == [
        "household",
        "parent and child",
    ]


def test_same_person() -> None:
    """same_person: Every record of the labelled sandbox with the person it is: ``system``, ``id`` and ``person``."""
    from enstoolkit.sandbox import Sandbox

    box = Sandbox(supporters=400, variant="labelled-duplicates")
    assert same_person(box).group_by("person").len().get_column("len").max() >= 2


def test_anchor_pairs() -> None:
    """anchor_pairs: the simple anchor rule that duplicate checks are measured against."""
    ens = pl.DataFrame(
        {
            "supporterId": [1, 2],
            "Email Address": ["a@x.org", "b@x.org"],
            "First Name": ["Robert", "Roberta"],
            "Last Name": ["Lee", "Lee"],
            "Postcode": ["N1 9GU", "N1 9GU"],
        }
    )
    assert anchor_pairs(ens).rows() == [("ENS", "1", "ENS", "2")]


def test_score_pairs() -> None:
    """score_pairs: precision and recall of pairs against the labelled truth."""
    from enstoolkit.sandbox import Sandbox

    box = Sandbox(supporters=400, variant="labelled-duplicates")
    labels, persons = labelled_pairs(box), same_person(box)
    perfect = labels.filter(pl.col("duplicate"))
    assert score_pairs(perfect, labels, persons, band=None).filter(pl.col("kind") == "all").row(0)[1:] == (
        1.0,
        1.0,
        19,
        19,
        0,
    )
