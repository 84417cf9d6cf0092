"""Settling lost page submissions by evidence: a transaction dated inside the uncertainty of the send moment
never settles an item. Every figure is counted at the sandbox (the transactions it holds), so each can fail."""

from __future__ import annotations

import email.utils
import random
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enstoolkit import ENSClient
from enstoolkit.bulk import Journal, process_pages, review
from enstoolkit.sandbox import Faults, Sandbox

from .test_chaos import APPEAL, APPEAL_CAMPAIGN, CARD, FAST, PETITION, PETITION_CAMPAIGN, advancer, figure


def on_page(sb: Sandbox, email: str, campaign: int) -> int:
    rec = sb.ens.find_email(email)
    return sum(t["campaignId"] == campaign for t in sb.ens.transactions(rec)) if rec else 0


def test_repeat_donors_who_gave_moments_before_lose_no_gift_when_connections_drop(tmp_path: Path) -> None:
    """40 donors gave on the page moments before (a first run); a second run, with its own journal, while 30% of
    connections drop before ENS acts. Version 0.2.0 settled the dropped ones by the earlier gifts: 40 done in
    the journal, 15 gifts fewer in the sandbox (seed 5)."""
    drops = Faults(seed=5, methods=("POST",), routes=("/ens/service/page/",))
    with Sandbox(supporters=50, seed=3, faults=drops) as sb:
        ens = ENSClient(sb.ens_api_key, sb.ens_url, retry=FAST)
        rows = [{"Email Address": f"donor{n}@example.org"} for n in range(40)]
        process_pages(ens, APPEAL, rows, transaction=CARD, journal=Journal(tmp_path / "first.sqlite3"))
        drops.drop_before_rate = 0.3
        run = process_pages(ens, APPEAL, rows, transaction=CARD, journal=Journal(tmp_path / "second.sqlite3"))
        unknown = run.counts().get("unknown", 0)
        run.complete(transaction=CARD, sleep=advancer(sb))
        gifts = Counter(on_page(sb, r["Email Address"], APPEAL_CAMPAIGN) for r in rows)
        lost, twice = sum(n for k, n in gifts.items() if k < 2), sum(n for k, n in gifts.items() if k > 2)
        figure(f"40 repeat donors again, 30% drops before acting: unknown after the first pass {unknown}, drops "
               f"{drops.counts['drop_before']}; journal {run.counts()}; gifts per donor at the sandbox "
               f"{dict(sorted(gifts.items()))}: lost {lost}, twice {twice} (0.2.0, same seed: journal 40 done, "
               "15 lost)")
        assert unknown > 5 and lost == 0 and twice == 0 and run.counts() == {"done": 40}


def _drop_first_submission(sb: Sandbox, tmp_path: Path, email: str, *, skew: float = 0.0
                           ) -> tuple[Any, Journal, ENSClient]:
    faults = Faults(drop_before_rate=1.0, methods=("POST",), routes=("/ens/service/page/",))
    sb.faults[:] = [faults]
    ens = ENSClient(sb.ens_api_key, sb.ens_url, retry=FAST)
    journal = Journal(tmp_path / "j.sqlite3")
    run = process_pages(ens, APPEAL, [{"Email Address": email}], transaction=CARD, journal=journal)
    sb.faults[:] = []
    assert run.counts() == {"unknown": 1}
    return run, journal, ens


@pytest.mark.parametrize("rounding", [None, "floor"])
def test_a_gift_inside_the_margin_leaves_the_item_unknown_and_says_why(tmp_path: Path, rounding: str | None
                                                                       ) -> None:
    with Sandbox(supporters=10, round_dates=rounding) as sb:
        sb.ens.add_transaction("close.call@example.org", APPEAL, sb.clock.now_ms() - 60_000)  # long before
        run, journal, _ = _drop_first_submission(sb, tmp_path, "close.call@example.org")
        low, sent_hi, basis = journal.send_moment(run.run_id, 1)
        assert basis == "date" and low is not None and sent_hi is not None and 900 <= sent_hi - low <= 1_100
        gift = low - 400 if rounding is None else (low - 400) - (low - 400) % 1000  # ENS in whole seconds
        sb.ens.add_transaction("close.call@example.org", APPEAL, gift)  # given moments before, ENS's dates
        reviewed = review(run, wait=120, sleep=advancer(sb))
        error = reviewed.item(0, "error")
        assert reviewed.item(0, "state") == "unknown", error
        assert f"{(low - gift) / 1000:.1f} s before the earliest moment this could have arrived" in error
        assert ("whole seconds" in error) == (rounding is not None) and "up to 2.0 s" in error
        assert "cannot tell" in error
        assert on_page(sb, "close.call@example.org", APPEAL_CAMPAIGN) == 2  # nothing sent again, nothing settled
        figure(f"a gift {(low - gift) / 1000:.1f} s before the send moment: unknown, \"{error[:150]}...\"")


def test_a_gift_long_before_is_not_evidence_and_the_lost_one_is_sent_again(tmp_path: Path) -> None:
    with Sandbox(supporters=10, round_dates="floor") as sb:
        run, journal, _ = _drop_first_submission(sb, tmp_path, "earlier@example.org")
        low, _, _ = journal.send_moment(run.run_id, 1)
        assert low is not None
        sb.ens.add_transaction("earlier@example.org", APPEAL, low - 5_000 - low % 1000)
        run.complete(transaction=CARD, sleep=advancer(sb))
        assert run.counts() == {"done": 1} and on_page(sb, "earlier@example.org", APPEAL_CAMPAIGN) == 2


def test_a_transaction_at_the_far_edge_of_the_window_is_not_taken_for_pending(tmp_path: Path) -> None:
    with Sandbox(supporters=10) as sb:
        run, journal, _ = _drop_first_submission(sb, tmp_path, "edge@example.org")
        _, high = journal.window(run.run_id, 1)
        assert high is not None
        sb.ens.add_transaction("edge@example.org", APPEAL, high + 60_000 + 500)  # the grace's end, plus 0.5 s
        reviewed = review(run, wait=120, sleep=advancer(sb))
        assert reviewed.item(0, "state") == "unknown" and "far edge" in reviewed.item(0, "error")


def test_the_sandbox_skews_its_date_header_against_the_transaction_clock() -> None:
    with Sandbox(supporters=5, date_skew=-4.0) as sb, ENSClient(sb.ens_api_key, sb.ens_url) as ens:
        result = ens.process_page(PETITION, {"Email Address": "skew@example.org"})
        created = max(t["createdDate"] for t in sb.ens.transactions(sb.ens.find_email("skew@example.org")))
        stated = email.utils.parsedate_to_datetime(httpx.get(sb.url).headers["date"]).timestamp()
        assert round(created / 1000 - stated) == 4  # the Date header is 4 s behind ENS's transaction dates
        assert result.height == 1


# -- the property: every verdict is right or unknown, never wrong -------------------------------------

BANDS = [(-10, -6), (-6, -3), (-3, -1), (-1, 0), (0, 1), (1, 3), (3, 6), (6, 10)]
SKEWS = [(-5, -3), (-3, -1), (-1, 1), (1, 3), (3, 5)]
TALLY: dict[str, Counter] = defaultdict(Counter)


def skew_band(skew: float) -> str:
    lo, hi = next((lo, hi) for lo, hi in SKEWS if lo <= skew < hi or (hi == 5 and skew == 5))
    return f"Date header skew [{lo:+d},{hi:+d}) s"


def band(offset: float) -> str:
    for lo, hi in BANDS:
        if lo <= offset < hi or (hi == 10 and offset == 10):
            return f"[{lo:+d},{hi:+d}) s"
    raise AssertionError(offset)


@pytest.fixture(scope="module")
def shared_sandbox() -> Any:
    with Sandbox(supporters=20, seed=9) as sb:
        yield sb


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    rng = random.Random(draw(st.integers(0, 2**32)))  # spread evenly over the ranges (not only at their edges)
    skew = round(rng.uniform(-5.0, 5.0), 2)
    # an earlier gift: made before the submission was sent, in ENS's own clock (offset + skew <= 0); the offset
    # is its date against the send moment as the toolkit reads it (the Date header's clock)
    offset = round(rng.uniform(-10.0, min(10.0, -skew)), 2)
    return {"skew": skew, "offset": offset,
            "rounding": draw(st.sampled_from([None, "floor", "nearest"])),
            "fault": draw(st.sampled_from(["drop_before", "drop_after", "timeout"])),
            "page": draw(st.sampled_from([APPEAL, PETITION])),
            "calibrated": draw(st.booleans())}


@pytest.mark.slow
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_settlement_is_right_or_unknown_never_wrong(shared_sandbox: Sandbox, case: dict[str, Any]) -> None:
    sb = shared_sandbox
    n = sum(sum(c.values()) for c in TALLY.values()) + 1
    email, campaign = f"prop{n}.{id(case)}@example.org", APPEAL_CAMPAIGN if case["page"] == APPEAL else \
        PETITION_CAMPAIGN
    sb.clock.date_skew, sb.clock.round_dates = case["skew"], case["rounding"]
    ens = ENSClient(sb.ens_api_key, sb.ens_url, retry=FAST, timeout=0.5)
    journal = Journal(Path(tempfile.mkdtemp()) / "j.sqlite3")
    card = CARD if case["page"] == APPEAL else None
    if case["calibrated"]:  # a page processed first: the window is read in ENS's own (stamp) clock
        process_pages(ens, PETITION, [{"Email Address": f"warm{n}@example.org"}], journal=journal)
        assert ens.server_clock.basis() == "stamp"
    else:
        ens._session_token()
    start = sb.clock.now_ms()  # ENS's transaction clock, a few ms before the submission is sent
    gift = sb.clock.created_ms(int(start + (case["offset"] + case["skew"]) * 1000))
    sb.ens.add_transaction(email, case["page"], gift)
    sb.faults[:] = [Faults(**{f"{case['fault']}_rate": 1.0}, hang=1.0, methods=("POST",),
                           routes=("/ens/service/page/",))]
    try:
        run = process_pages(ens, case["page"], [{"Email Address": email}], transaction=card, journal=journal)
    finally:
        sb.faults[:] = []
    assert run.counts() == {"unknown": 1}, run.items().rows()
    acted = on_page(sb, email, campaign) - 1
    reviewed = review(run, skew=5.0, wait=120, sleep=advancer(sb))
    verdict = reviewed.item(0, "state")
    if verdict == "unknown":
        TALLY["why unknown"][f"{case['fault']}: " + str(reviewed.item(0, "error"))[10:60]] += 1
    right = (verdict == "done" and acted == 1) or (verdict == "pending" and acted == 0)
    outcome = "right" if right else "unknown" if verdict == "unknown" else "WRONG"
    run.complete(transaction=card, skew=5.0, sleep=advancer(sb))
    made = on_page(sb, email, campaign) - 1
    final = run.counts()
    lost = final == {"done": 1} and made == 0
    twice = made > 1
    clock = "send moment from ENS's own stamps" if case["calibrated"] else "send moment from Date headers only"
    for key in (band(case["offset"]), skew_band(case["skew"]), clock, case["fault"], "all"):
        TALLY[key].update({outcome: 1, "lost": int(lost), "twice": int(twice),
                           f"{'donation' if case['page'] == APPEAL else 'petition'}": 1})
    assert outcome != "WRONG" and not lost and not twice, (case, verdict, acted, final, made,
                                                            run.items().item(0, "error"))


@pytest.mark.slow
def test_settlement_property_figures() -> None:
    """Prints the property test's counts per offset band and skew (runs after it in file order)."""
    print(dict(TALLY["why unknown"]))
    if not TALLY:
        pytest.skip("the property test did not run")
    for key in [band(lo) for lo, _ in BANDS] + [skew_band(lo) for lo, _ in SKEWS] + [
            "send moment from ENS's own stamps", "send moment from Date headers only", "drop_before", "drop_after",
            "timeout", "all"]:
        if key in TALLY:
            c = TALLY[key]
            name = f"gift offset {key}" if key.startswith("[") else key
            figure(f"settlement property, {name}: {c['right'] + c['unknown'] + c['WRONG']} cases "
                   f"({c['donation']} donations, {c['petition']} petitions): right {c['right']}, unknown "
                   f"{c['unknown']}, wrong {c['WRONG']}; at the sandbox lost {c['lost']}, twice {c['twice']}")
    assert TALLY["all"]["WRONG"] == 0 and TALLY["all"]["lost"] == 0 and TALLY["all"]["twice"] == 0
    assert TALLY["all"]["right"] > 0 and TALLY["all"]["unknown"] > 0
