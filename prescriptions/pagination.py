"""Pages of long lists that stay fast at a million rows: keyset (cursor) links and a bounded count.

A list is ordered by ``(prescribed_at, id)`` (newest first, or oldest first for the dispensing queue), which an
index covers. ``?page=N`` still works (an OFFSET: cheap for the first pages), but every ``next``/``previous``
link carries a *cursor* — the position of the row it continues from — so the database seeks straight to it and
page 2000 costs what page 2 costs. The cursor also carries the page's number, so a page can say "page 7 of 40".

The count is exact up to ``EXACT_COUNT_UP_TO`` rows; above that, PostgreSQL's planner estimate (EXPLAIN) stands in
for an exact ``COUNT(*)`` that would read every matching row on every page (``count_is_estimate`` then says so).
"""

import base64
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

EXACT_COUNT_UP_TO = 10_000
ORDER_FIELD = "prescribed_at"


# The largest OFFSET/LIMIT the databases take (a signed 64-bit integer): a page number past it can hold no row, and
# asking for it would be a database error (PostgreSQL: "bigint out of range"), not an empty page.
MAX_OFFSET = 2**63 - 1


# ``?page=N`` reads the N-1 pages before its own by OFFSET, whole rows and their joins: cheap for the first pages.
# The pages send a deeper number to the cursor of that page (``cursor_of_page``), found in the index alone.
OFFSET_PAGES_UP_TO = 10


class PageNotFound(Exception):
    """A ``?page=N`` past the last page (API: 404; a page shows an empty list)."""


class BadCursor(ValueError):
    """A cursor that this module did not write (API: 400 on ``cursor``)."""


@dataclass(frozen=True)
class Window:
    """One page of rows and where the pages around it start."""

    rows: list
    number: int
    size: int
    count: int
    count_is_estimate: bool
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.size))

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def _encode(row, direction: str, number: int) -> str:
    moment = getattr(row, ORDER_FIELD)
    payload = json.dumps({"at": moment.isoformat(), "id": str(row.pk), "d": direction, "n": number})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, uuid.UUID, str, int]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(payload["at"])
        row_id = uuid.UUID(payload["id"])
        direction, number = payload["d"], int(payload["n"])
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise BadCursor(_("Not a cursor of this list: follow the next and previous links.")) from None
    if direction not in ("next", "prev") or moment.tzinfo is None or number < 1:
        raise BadCursor(_("Not a cursor of this list: follow the next and previous links."))
    return moment, row_id, direction, number


def _after(moment, row_id, *, descending: bool) -> Q:
    """Rows that come after ``(moment, row_id)`` in the list's order.

    ``at <= moment AND (at < moment OR id < row_id)`` rather than the bare ``OR``: the first term is a range the
    index seeks to, so a page deep in the list reads its own rows, not every row before the cursor.
    """
    if descending:
        return Q(**{f"{ORDER_FIELD}__lte": moment}) & (Q(**{f"{ORDER_FIELD}__lt": moment}) | Q(pk__lt=row_id))
    return Q(**{f"{ORDER_FIELD}__gte": moment}) & (Q(**{f"{ORDER_FIELD}__gt": moment}) | Q(pk__gt=row_id))


def _order(descending: bool) -> tuple[str, str]:
    sign = "-" if descending else ""
    return f"{sign}{ORDER_FIELD}", f"{sign}pk"


def bounded_count(queryset: QuerySet) -> tuple[int, bool]:
    """``(count, is_estimate)``: exact up to ``EXACT_COUNT_UP_TO`` rows, else the planner's estimate on PostgreSQL."""
    narrow = queryset.order_by().values("pk")
    postgresql = connections[queryset.db].vendor == "postgresql"
    estimate = _planner_estimate(narrow) if postgresql else None
    # Well above the limit by the planner's reckoning (twice it: room for the estimate's error): not even the
    # capped count is worth reading (it reads EXACT_COUNT_UP_TO rows, tens of milliseconds, on every page).
    if estimate is not None and estimate > 2 * EXACT_COUNT_UP_TO:
        return estimate, True
    capped = narrow[: EXACT_COUNT_UP_TO + 1].count()
    if capped <= EXACT_COUNT_UP_TO:
        return capped, False
    if estimate is None:
        return narrow.count(), False
    return max(estimate, EXACT_COUNT_UP_TO + 1), True


def _planner_estimate(queryset: QuerySet) -> int | None:
    """The rows PostgreSQL's planner expects ``queryset`` to return (EXPLAIN: no row is read).

    ``None`` when there is no plan to read: a queryset known to be empty (``.none()``, a scope with no centre)
    is never sent to the database, and EXPLAIN then gives nothing; the exact count takes over.
    """
    plan = queryset.explain(format="json")
    if not plan:
        return None
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def cursor_of_page(queryset: QuerySet, number: int, *, size: int, descending: bool = True) -> str:
    """The cursor that page ``number``'s link would carry (as the next link of page ``number - 1``).

    It needs the key of the last row before the page: read by its position, but only ``(prescribed_at, id)``,
    no other column and no join, which the ``(prescribed_at, id)`` index gives without reading the rows.
    Raises ``PageNotFound`` for a page past the end.
    """
    if number < 2 or (number - 1) * size > MAX_OFFSET:
        raise PageNotFound
    position = (number - 1) * size - 1
    keys = queryset.order_by(*_order(descending)).values_list(ORDER_FIELD, "pk")[position : position + 1]
    key = next(iter(keys), None)
    if key is None:
        raise PageNotFound
    moment, row_id = key
    return _encode(SimpleNamespace(**{ORDER_FIELD: moment, "pk": row_id}), "next", number)


def paginate(
    queryset: QuerySet, *, page: str | None = None, cursor: str | None = None, size: int, descending: bool = True
) -> Window:
    """One page of ``queryset`` (re-ordered by ``(prescribed_at, id)``): by ``cursor`` when given, else ``page``.

    Raises ``BadCursor`` for a cursor it did not write and ``PageNotFound`` for a page number past the end
    (or not a number).
    """
    forward = queryset.order_by(*_order(descending))
    if cursor:
        moment, row_id, direction, number = _decode(cursor)
        if direction == "next":
            rows = list(forward.filter(_after(moment, row_id, descending=descending))[: size + 1])
            more_after, more_before = len(rows) > size, True
            rows = rows[:size]
        else:
            backward = queryset.order_by(*_order(not descending))
            rows = list(backward.filter(_after(moment, row_id, descending=not descending))[: size + 1])
            more_before, more_after = len(rows) > size, True
            rows = rows[:size][::-1]
            if not more_before:
                number = 1
    else:
        try:
            number = int(page or 1)
        except ValueError:
            raise PageNotFound from None
        if number < 1 or number * size + 1 > MAX_OFFSET:
            raise PageNotFound
        rows = list(forward[(number - 1) * size : number * size + 1])
        if not rows and number > 1:
            raise PageNotFound
        more_after, more_before = len(rows) > size, number > 1
        rows = rows[:size]
    count, estimated = bounded_count(queryset)
    return Window(
        rows=rows,
        number=number,
        size=size,
        count=count,
        count_is_estimate=estimated,
        next_cursor=_encode(rows[-1], "next", number + 1) if rows and more_after else None,
        previous_cursor=_encode(rows[0], "prev", max(1, number - 1)) if rows and more_before else None,
    )


class KeysetPagination(BasePagination):
    """DRF pagination of the lists: ``{"count", "count_is_estimate", "next", "previous", "results"}``.

    ``?page=N`` (50 a page) as documented; ``next``/``previous`` are ``?cursor=…`` links.
    """

    page_size = api_settings.PAGE_SIZE or 50
    descending = True

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        try:
            self.window = paginate(
                queryset,
                page=request.query_params.get("page"),
                cursor=request.query_params.get("cursor"),
                size=self.page_size,
                descending=self.descending,
            )
        except BadCursor as exc:
            raise ValidationError({"cursor": [str(exc)]}) from None
        except PageNotFound:
            raise NotFound(_("Invalid page.")) from None
        return self.window.rows

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), "page")
        return replace_query_param(url, "cursor", cursor)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.window.count,
                "count_is_estimate": self.window.count_is_estimate,
                "next": self._link(self.window.next_cursor),
                "previous": self._link(self.window.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "count_is_estimate": {
                    "type": "boolean",
                    "description": f"true when more than {EXACT_COUNT_UP_TO} rows match and count is the "
                    "database's estimate",
                },
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "page", "in": "query", "required": False, "schema": {"type": "integer"}},
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "the position a next/previous link continues from (opaque)",
                "schema": {"type": "string"},
            },
        ]


class OldestFirstPagination(KeysetPagination):
    descending = False
