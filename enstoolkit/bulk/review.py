"""Settling page submissions whose answer was lost, by evidence that cannot match an earlier transaction.

A page submission (a sign-up, a petition signature, a gift) is never resent blindly: its
answer may have been lost *after* ENS acted on it. Such an item is ``unknown`` until
:func:`review` settles it, and the evidence is the supporter's transactions on that page.
A repeat donor already has transactions on the page, so "a transaction exists" proves
nothing; the rule is:

1. **When it could have happened.** Before each request the journal records, in ENS's own
   clock, the earliest moment the request could reach ENS (``window_lo``: this machine's
   clock plus the lower bound of the server-clock offset, which every answer's ``Date``
   header, and the millisecond ``createdOn`` of every processed page, narrow), and when the
   answer is lost, the moment this machine stopped waiting (``window_hi``, upper bound).
   ENS may still act on a request a little after that: ``grace`` seconds (60 by default).
2. **What it created, beyond doubt.** The moment it was sent is itself uncertain: ENS's clock
   then is known within bounds (``window_lo`` to ``sent_hi``: the offset bounds, a second wide
   when read from ``Date`` headers' whole seconds), ENS may date transactions in whole seconds
   (a ``createdDate`` ending in ``000``: 1 s either way), and before any processed page gave
   ENS's own millisecond stamp, the ``Date`` header's clock may differ from the one ENS dates
   transactions by (``skew``, 2 s by default). A transaction dated before ``window_lo`` minus
   that margin is an earlier one and never counts. One dated *inside* the margin of the send
   moment, up to ``sent_hi`` plus the margin, may be this submission or one made just before
   it: the items stay ``unknown``, with the evidence and the margin spelled out ("created 0.4 s
   before the earliest moment this could have arrived ... cannot tell"). Only a transaction
   dated after that, up to ``window_hi + grace``, can be this submission's.
3. **Each transaction settles at most one item** (across every run in the journal): the
   transactions that other items were settled by, or that processed pages answered with,
   are claimed already.

Then: exactly as many free transactions in the window as unknown items for that supporter
and page: those items are ``done``. None, and the window has closed (ENS's clock is past
``window_hi + grace``): ``pending``, to be sent again. None yet, but the window is still open:
still ``unknown`` ("review after ..."). More transactions than items, transactions dated
only by day (no ``createdDate``), or no server-clock reading when it was sent: still
``unknown``, saying why. Nothing is guessed.

Example:
    >>> from enstoolkit.bulk import Journal, process_pages
    >>> journal = Journal(folder / "j.sqlite3")
    >>> run = process_pages(ens, 110, [{"Email Address": "signer@example.org"}], journal=journal)
    >>> review(run).height      # nothing was unknown
    0
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import polars as pl

from ..errors import ValidationError
from ..schemas import ItemState, RunStatus
from .runner import BulkRun

__all__ = ["DEFAULT_GRACE", "DEFAULT_SKEW", "review"]

#: Seconds ENS may still act on a request after this machine stopped waiting for the answer.
DEFAULT_GRACE = 60.0
#: Seconds ENS's ``Date`` header and the clock it dates transactions by may disagree (allowed for when the
#: send moment was read from ``Date`` headers only, before any processed page gave ENS's own stamp).
DEFAULT_SKEW = 2.0
#: ENS's createdDate may be in whole seconds: a transaction may look up to this much earlier or later.
_ROUNDING_MS = 1000
#: The ``Date`` header's resolution: the width of a send moment read from it.
_DATE_RESOLUTION_MS = 1000


def _server_time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class _Verdict:
    __slots__ = ("evidence", "open_until", "ref", "state")

    def __init__(self, state: str, evidence: str, *, ref: str | None = None, open_until: int | None = None) -> None:
        self.state = state
        self.evidence = evidence
        self.ref = ref
        self.open_until = open_until


def _moment(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _judge_group(run: BulkRun, items: list[tuple[int, dict[str, Any]]], email: str, campaign: int,
                 grace_ms: int, skew_ms: int) -> dict[int, _Verdict]:
    """Verdicts for the unknown items of one supporter (same page): see the module's rules."""
    ens = run.ens_client()
    journal = run.journal
    windows = {seq: journal.window(run.run_id, seq) for seq, _ in items}
    missing = [seq for seq, (lo, hi) in windows.items() if lo is None or hi is None]
    verdicts: dict[int, _Verdict] = {
        seq: _Verdict(ItemState.UNKNOWN, "no server-clock reading was recorded when it was sent, so ENS's "
                      "transactions cannot be matched to it: check this supporter in ENS and mark it by hand")
        for seq in missing}
    items = [(seq, payload) for seq, payload in items if seq not in verdicts]
    if not items:
        return verdicts
    known = {seq: (int(lo or 0), int(hi or 0)) for seq, (lo, hi) in windows.items() if seq not in verdicts}
    low = min(lo for lo, _ in known.values())
    high = max(hi for _, hi in known.values()) + grace_ms
    # the send moment is known within [low, sent_hi] in the clock the windows were read in; a journal from
    # 0.2.0 kept the lower bound only (then: the Date header's second); a window read from Date headers may
    # differ from the clock ENS dates transactions by, up to the skew allowance
    moments = [journal.send_moment(run.run_id, seq) for seq in known]
    sent_hi = max(int(hi) if hi is not None else int(lo or 0) + _DATE_RESOLUTION_MS for lo, hi, _ in moments)
    allowance = 0 if all(basis == "stamp" for _, _, basis in moments) else skew_ms
    span = f"{_server_time(low)} and {_server_time(high)} (ENS's clock)"
    supporter = ens.get_supporter(email=email)
    now = ens.server_clock.now_ms()
    # read in another clock than the windows were (Date headers against ENS's stamps), now may be off by the skew
    same_clock = ens.server_clock.basis() == "stamp" and all(basis == "stamp" for _, _, basis in moments)
    closed = now is not None and now[0] - (0 if same_clock else skew_ms) > high
    if supporter.height == 0:
        for seq, _ in items:
            verdicts[seq] = (_Verdict(ItemState.PENDING, f"no supporter with this email in ENS by {span}: "
                                      "it did not arrive") if closed else
                             _Verdict(ItemState.UNKNOWN, f"no supporter with this email yet; ENS may still act on "
                                      f"it until {_server_time(high)}: review after that", open_until=high))
        return verdicts
    sid = int(supporter.item(0, "supporterId"))
    tx = ens.get_transactions(sid).filter(pl.col("campaignId") == campaign)
    dated = tx.filter(pl.col("createdDate").is_not_null()).with_columns(
        (pl.col("createdDate").dt.epoch("ms")).alias("__ms"))
    undated = tx.filter(pl.col("createdDate").is_null() & pl.col("createdOn").is_not_null()
                        & (pl.col("createdOn") >= dt.datetime.fromtimestamp(low / 1000, dt.UTC).date()))
    if undated.height:
        for seq, _ in items:
            verdicts[seq] = _Verdict(ItemState.UNKNOWN, f"supporter {sid} has {undated.height} transaction(s) on page "
                                     f"{campaign} dated only by day (no createdDate): cannot tell whether one is this "
                                     "submission; check in ENS and mark it by hand")
        return verdicts
    clear: list[tuple[str, int]] = []
    unclear: list[tuple[str, int, int]] = []
    for tx_id, ms in dated.sort("__ms").select("id", "__ms").iter_rows():
        rounding = _ROUNDING_MS if ms % 1000 == 0 else 0  # a date in whole seconds was up to 1 s off
        ref = f"ens:{sid}:{tx_id}"
        if ms < low - allowance - rounding or ms > high + allowance + rounding:
            continue  # before the earliest moment this could have arrived, or after the window: not this one
        if ms < sent_hi + allowance + rounding or ms > high:
            unclear.append((ref, int(ms), rounding))  # may be an earlier one made just before this was sent (or
            # one made just after the window, at its far edge)
        else:
            clear.append((ref, int(ms)))
    taken = journal.claimed([ref for ref, _ in clear] + [ref for ref, _, _ in unclear])
    free = [(ref, ms) for ref, ms in clear if ref not in taken]
    doubtful = [(ref, ms, rounding) for ref, ms, rounding in unclear if ref not in taken]
    late = [(ref, ms, rounding) for ref, ms, rounding in doubtful if ms > high]
    if late:
        ref, ms, _ = late[0]
        for seq, _ in items:
            verdicts[seq] = _Verdict(ItemState.UNKNOWN, f"transaction {ref.rsplit(':', 1)[1]} on page {campaign} was "
                                     f"created {_moment(ms)}, at the far edge of the window in which ENS could act "
                                     f"on it (until {_moment(high)}), within the margin of ENS's dates: cannot tell "
                                     "whether it is this submission or a later one; check this supporter in ENS and "
                                     "mark it by hand")
        return verdicts
    if doubtful:
        ref, ms, rounding = doubtful[0]
        gap = ms - low
        where = (f"{abs(gap) / 1000:.1f} s {'before' if gap < 0 else 'after'} the earliest moment this could "
                 f"have arrived ({_moment(low)})")
        parts = [f"ENS's clock when it was sent is known to {(sent_hi - low) / 1000:.1f} s"]
        if rounding:
            parts.append("ENS dates transactions in whole seconds (1 s)")
        if allowance:
            parts.append(f"its Date header and transaction clock may differ by up to {allowance / 1000:.1f} s")
        for seq, _ in items:
            verdicts[seq] = _Verdict(ItemState.UNKNOWN, f"transaction {ref.rsplit(':', 1)[1]} on page {campaign} was "
                                     f"created {_moment(ms)}, {where}, inside the margin of when it was sent "
                                     f"({'; '.join(parts)}): cannot tell whether it is this submission or an earlier "
                                     "one; check this supporter in ENS and mark it by hand")
        return verdicts
    if len(free) > len(items):
        for seq, _ in items:
            verdicts[seq] = _Verdict(ItemState.UNKNOWN, f"supporter {sid} has {len(free)} unclaimed transactions on "
                                     f"page {campaign} between {span} for {len(items)} lost submission(s): cannot "
                                     "tell which are this run's; check in ENS and mark them by hand")
        return verdicts
    ordered = sorted(items, key=lambda item: (known[item[0]][0], item[0]))
    for (seq, _), (ref, ms) in zip(ordered, free, strict=False):
        verdicts[seq] = _Verdict(ItemState.DONE, f"found in ENS: transaction {ref.rsplit(':', 1)[1]} on page "
                                 f"{campaign}, created {_moment(int(ms))}, {(ms - sent_hi) / 1000:.1f} s after the "
                                 f"latest moment it could have been sent, beyond the margin: after this was sent",
                                 ref=ref)
    for seq, _ in ordered[len(free):]:
        verdicts[seq] = (_Verdict(ItemState.PENDING, f"supporter {sid} has no transaction on page {campaign} created "
                                  f"between {span} beyond those already accounted for: it did not arrive")
                         if closed else
                         _Verdict(ItemState.UNKNOWN, f"no transaction on page {campaign} yet; ENS may still act on "
                                  f"it until {_server_time(high)}: review after that", open_until=high))
    return verdicts


def review(run: BulkRun, *, grace: float = DEFAULT_GRACE, wait: float = 0.0, skew: float = DEFAULT_SKEW,
           sleep: Callable[[float], None] = time.sleep) -> pl.DataFrame:
    """Settle the ``unknown`` items of a run; returns the reviewed items with their evidence.

    For page submissions (demo ones too: ENS records them like live ones, as test
    transactions), by the evidence described in the module's description. For requests that
    are safe to repeat, an unknown item is simply marked to be sent again. When some items can
    only be settled once ENS's window on them closes, and that is at most ``wait`` seconds
    away, the review waits (with ``sleep``) and looks again.

    Example:
        >>> from enstoolkit import EnchargeClient
        >>> from enstoolkit.bulk import BulkRun, Journal
        >>> journal = Journal(folder / "j.sqlite3")
        >>> run_id = journal.create_run("unsubscribe", {}, [{"kind": "email", "value": "a@example.org"}])
        >>> journal.mark(run_id, [1], "unknown", error="ReadTimeout: it may have been processed")
        >>> run = BulkRun(journal, run_id, encharge=EnchargeClient("key-1234", "http://127.0.0.1:9/v1"))
        >>> review(run).get_column("state").to_list(), run.status   # safe to repeat: sent again on resume
        (['retry'], 'stopped')
    """
    if not isinstance(skew, (int, float)) or not 0 <= skew <= 3600:
        raise ValidationError("skew", skew, "seconds from 0 to 3600 that ENS's Date header and its transaction "
                              "clock may differ by")
    unknown = run.journal.pending(run.run_id, (ItemState.UNKNOWN,))
    if not unknown:
        return run.items().filter(pl.lit(False))
    if not run.operation.settle_by_evidence:
        seqs = [seq for seq, _ in unknown]
        run.journal.mark(run.run_id, seqs, ItemState.RETRY, error="resent: the request is safe to repeat")
        run.journal.set_status(run.run_id, RunStatus.STOPPED, f"reviewed {len(seqs):,} unknown items: resume()")
        return run.items().filter(pl.col("seq").is_in(seqs))
    run.check_accounts()  # evidence is looked for in the run's own account only
    ens = run.ens_client()
    campaign = int(ens.get_page(run.params["page_id"]).item(0, "campaignId"))
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for seq, payload in unknown:
        supporter = payload["supporter"]
        email = supporter.get(ens.email_field) or supporter.get("emailAddress") or ""
        groups.setdefault(str(email).strip().lower(), []).append((seq, payload))
    grace_ms = int(grace * 1000)
    skew_ms = int(skew * 1000)
    verdicts: dict[int, _Verdict] = {}
    for email, items in groups.items():
        verdicts.update(_judge_group(run, items, email, campaign, grace_ms, skew_ms))
    left = wait
    for _ in range(3):  # a window still open, closing within ``wait``: wait for it, and look again
        still_open = [v.open_until for v in verdicts.values() if v.open_until is not None]
        now = ens.server_clock.now_ms()
        if not still_open or now is None or left <= 0:
            break
        needed = max(0.0, (max(still_open) - now[0] + skew_ms) / 1000 + 0.5)
        if needed > left:
            break
        sleep(needed)
        left -= needed
        for email, items in groups.items():
            if any(verdicts[seq].open_until is not None for seq, _ in items):
                verdicts.update(_judge_group(run, items, email, campaign, grace_ms, skew_ms))
    for seq, verdict in sorted(verdicts.items()):
        if verdict.ref is not None and not run.journal.claim_evidence(verdict.ref, run.run_id, seq):
            verdict = _Verdict(ItemState.UNKNOWN, f"{verdict.evidence}, but another item claimed that transaction "
                               "meanwhile: review again")
        error = None if verdict.state == ItemState.DONE else f"reviewed: {verdict.evidence}"
        run.journal.mark(run.run_id, [seq], verdict.state, result={"review": verdict.evidence}, error=error)
    counts = run.counts()
    waiting = sum(counts.get(state, 0) for state in (ItemState.PENDING, ItemState.RETRY, ItemState.SENDING))
    left = counts.get(ItemState.UNKNOWN, 0)
    note = f"reviewed {len(verdicts):,} unknown items"
    if left:
        run.journal.set_status(run.run_id, RunStatus.NEEDS_REVIEW, f"{note}; {left:,} still unknown (see their error)")
    elif waiting:
        run.journal.set_status(run.run_id, RunStatus.STOPPED, f"{note}; {waiting:,} items left to send: resume()")
    else:
        run.journal.set_status(run.run_id, RunStatus.COMPLETED, note)
    return run.items().filter(pl.col("seq").is_in(list(verdicts)))
