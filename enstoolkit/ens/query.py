"""ENS supporter queries (GET /supporter/query): every page into one frame, pages overlapped.

Example:
    >>> ens.query_supporters("latestCreated", days_back=32).columns
    ['supporterId', 'emailAddress', 'createdOn', 'modifiedOn']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from ..errors import APIError, ValidationError
from ..inputs.arguments import check_choice, check_id, check_int, unknown_names
from ..schemas.ens import QUERY_ROW
from ..schemas.frames import read_frame
from .core import ENSCore

__all__ = ["QUERY_TYPES", "QueryMethods", "search_filter"]

QUERY_TYPES = ("latestCreated", "latestModified", "suppressed", "profile", "search")


def search_filter(value: str | Mapping[str, Any], properties: list[str]) -> str:
    """An ENS search filter, checked against the account's field properties.

    A string is ENS's own syntax (``country:GB||IE~firstName:Jo``); a mapping is field
    property -> value or list of values (values ORed, fields ANDed).

    Example:
        >>> search_filter({"country": ["GB", "IE"], "firstName": "Jo"}, ["country", "firstName"])
        'country:GB||IE~firstName:Jo'
    """
    if isinstance(value, str):
        if not value.strip() or ":" not in value:
            raise ValidationError("filter", value, "ENS filter syntax such as 'country:GB||IE~firstName:Jo'")
        terms = {part.split(":", 1)[0] for part in value.split("~")}
        text = value
    elif isinstance(value, Mapping) and value:
        parts = []
        for prop, wanted in value.items():
            values = [wanted] if isinstance(wanted, (str, int, float)) else list(wanted)
            if not values or any("~" in str(v) or "||" in str(v) for v in values):
                raise ValidationError(f"filter[{prop!r}]", wanted, "values without '~' or '||'")
            parts.append(f"{prop}:" + "||".join(str(v) for v in values))
        terms = set(value)
        text = "~".join(parts)
    else:
        raise ValidationError("filter", value, "a filter string or a non-empty mapping")
    unknown = unknown_names(terms, properties)
    if unknown:
        raise ValidationError("filter", value, "field properties of this account: " + ", ".join(properties),
                              detail="unknown: " + ", ".join(sorted(unknown)))
    return text


class QueryMethods(ENSCore):
    """Query methods of :class:`enstoolkit.ENSClient`.

    Example:
        >>> isinstance(ens, QueryMethods), ens.query_supporters("search", filter={"country": "GB"}).columns[0]
        (True, 'supporterId')
    """

    def query_supporters(
        self,
        type: str,
        *,
        days_back: int = 1,
        profile_id: int | str | None = None,
        filter: str | Mapping[str, Any] | None = None,
        export_group: str | None = None,
        rows: int = 100,
        limit: int | None = None,
        progress: bool | None = None,
        concurrency: int = 12,
    ) -> pl.DataFrame:
        """Run GET /supporter/query and fetch every page into one frame.

        The first page tells the total; the other pages are then fetched in parallel (up to
        ``concurrency`` at a time), within the hourly request budget.

        Args:
            type: latestCreated, latestModified, suppressed, profile or search.
            days_back: 1 to 32 (ENS's limit).
            profile_id: required for ``type="profile"``.
            filter: required for ``type="search"``: ENS syntax (``country:GB||IE~firstName:Jo``)
                or a mapping of field property -> value or list of values (ANDed).
            export_group: the dashboard export group whose fields the rows carry.
            rows: page size, 1 to 100.
            limit: stop after this many supporters (only the pages needed are fetched).
            progress: show a progress bar (default: when there is more than one page).

        Example:
            >>> df = ens.query_supporters("search", filter={"country": "GB"})
            >>> df.columns
            ['supporterId', 'emailAddress', 'createdOn', 'modifiedOn']
        """
        qtype = check_choice("type", type, QUERY_TYPES)
        params: dict[str, Any] = {"type": qtype, "daysBack": check_int("days_back", days_back, 1, 32),
                                  "rows": check_int("rows", rows, 1, 100)}
        if qtype == "profile":
            if profile_id is None:
                raise ValidationError("profile_id", None, "a profile id (required when type='profile')")
            params["profileId"] = check_id("profile_id", profile_id)
        elif profile_id is not None:
            raise ValidationError("profile_id", profile_id, "None unless type='profile'")
        if qtype == "search":
            if filter is None:
                raise ValidationError("filter", None, "a filter (required when type='search')")
            params["filter"] = search_filter(filter, self.get_fields().get_column("property").drop_nulls().to_list())
        elif filter is not None:
            raise ValidationError("filter", filter, "None unless type='search'")
        if export_group is not None:
            if not isinstance(export_group, str) or not export_group.strip() or len(export_group) > 100:
                raise ValidationError("export_group", export_group, "a non-empty name of at most 100 characters")
            params["exportGroup"] = export_group
        workers = check_int("concurrency", concurrency, 1, 32)
        cap = None if limit is None else check_int("limit", limit, 1, None)
        records = self._query_rows(params, qtype, progress, workers, cap)
        if cap is not None:
            records = records[:cap]
        if export_group is None:
            # one typed read of every page's rows (polars' reader, dates parsed once), not one per page
            return read_frame(json.dumps(records).encode(), QUERY_ROW)
        # Export-group rows carry the group's fields by name; keep emailAddress filled from the email field.
        email_field = self.email_field
        for row in records:
            if "emailAddress" not in row and email_field in row:
                row["emailAddress"] = row[email_field]
        return read_frame(records, QUERY_ROW, extra=True)

    def _query_rows(self, params: dict[str, Any], qtype: str, progress: bool | None,
                    workers: int, cap: int | None = None) -> list[dict[str, Any]]:
        """Every page's rows, in order: the first page gives the total, the others go out ``workers`` at a time."""
        size = int(params["rows"])
        body = self._send("GET", "/supporter/query", params={**params, "start": 1}).json()
        if not isinstance(body, Mapping):
            raise APIError("ENS", 200, "query answered without a result object", method="GET",
                           path="/supporter/query")
        total = int((body.get("pagination") or {}).get("total") or 0)
        first = _rows(body)
        got = len(first)
        last = total if cap is None else min(total, cap)
        starts = list(range(1 + got, last + 1, size)) if got == size else []
        if starts:
            self._ensure_budget(len(starts), f"paging {total:,} query results")
        bar = None
        if progress if progress is not None else last > size:
            from tqdm.auto import tqdm

            bar = tqdm(total=last, initial=min(got, last), desc=f"ENS query {qtype}", unit="supporter")

        def fetch(start: int) -> list[dict[str, Any]]:
            # decoded in the worker, while the other pages are still on their way
            rows = _rows(self._send("GET", "/supporter/query", params={**params, "start": start}).json())
            if bar is not None:
                bar.update(len(rows))
            return rows

        pages = [first, *self._concurrently(fetch, starts, workers)]
        if bar is not None:
            bar.close()
        rows = [row for page in pages for row in page]
        if len(rows) < last or (cap is None and len(rows) != total):
            # never a short list in silence: a page came back short or empty, or the list changed while paging
            raise APIError("ENS", 200, f"the query said {total:,} supporters but its pages held {len(rows):,} "
                           f"(pages of {size} from start=1); run it again, and if it happens every time, use "
                           "export_supporters", method="GET", path="/supporter/query")
        return rows


def _rows(body: Any) -> list[dict[str, Any]]:
    """A query page's ``data``: a list of objects (none when absent), else the API answered with a shape we do not know.

    An absent ``data`` on a page that should hold rows is caught by the row count in ``_query_rows``.
    """
    data = body.get("data") if isinstance(body, Mapping) else None
    if data is None:
        data = []
    if not isinstance(data, list) or not all(isinstance(row, Mapping) for row in data):
        raise APIError("ENS", 200, "query answered with a non-list 'data'", method="GET", path="/supporter/query")
    return data
