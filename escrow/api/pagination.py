"""Pagination. Most lists: page numbers (?page= from 1 or ``last``, anything else a 400 naming
``page``; a page past the last is DRF's 404, documented on every paged list; ?page_size= 1 to
100). The ledger (/transactions/): a cursor (?cursor=&page_size=), since it grows without bound —
no COUNT, no OFFSET, each page an index range read next to the row where the previous one ended.
Its answer has the shape of the timeline's (DRF's cursor pagination): ``next``, ``previous``,
``results``."""

import base64
from datetime import datetime
from uuid import UUID

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

INVALID_CURSOR = "Invalid cursor: use a next or previous link as given."


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param) or 1
        if number in self.last_page_strings:
            return paginator.num_pages
        if str(number).isdigit() and int(number) >= 1:
            return number
        raise ValidationError({self.page_query_param: ["A page number: a whole number from 1, or last."]})

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class KeysetPagination(BasePagination):
    """``{"next": url|null, "previous": url|null, "results": [...]}``. A link's ``cursor`` is opaque
    (a row's position and a direction). The view reads ``position``, ``backwards`` and ``fetch``
    (the page size plus one: the extra row only says that there is more), fetches the rows with a
    keyset query, and hands them to ``page``."""

    page_size = 20
    max_page_size = 100

    def prepare(self, request) -> None:
        self.request = request
        self.size = self.page_size
        if raw := request.query_params.get("page_size"):
            try:
                self.size = min(max(int(raw), 1), self.max_page_size)
            except ValueError:
                raise ValidationError({"page_size": ["A whole number."]}) from None
        self.fetch = self.size + 1
        self.backwards, self.position = self.decode(request.query_params.get("cursor"))

    @staticmethod
    def decode(cursor: str | None) -> tuple[bool, tuple[datetime, UUID] | None]:
        if not cursor:
            return False, None
        try:
            direction, created_at, row_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
            position = datetime.fromisoformat(created_at), UUID(row_id)
        except (ValueError, UnicodeError):
            raise ValidationError({"cursor": [INVALID_CURSOR]}) from None
        if direction not in ("n", "p") or position[0].tzinfo is None:
            raise ValidationError({"cursor": [INVALID_CURSOR]})
        return direction == "p", position

    def link(self, direction: str, row) -> str:
        cursor = base64.urlsafe_b64encode(f"{direction}|{row.created_at.isoformat()}|{row.pk}".encode()).decode()
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor.rstrip("="))

    def page(self, rows: list) -> list:
        more = len(rows) > self.size
        if self.backwards:  # rows are newest first: the extra one is the newest
            rows = rows[1:] if more else rows
            self.previous_url = self.link("p", rows[0]) if more else None
            self.next_url = self.link("n", rows[-1]) if rows else None  # back to where one came from
        else:
            rows = rows[: self.size]
            self.next_url = self.link("n", rows[-1]) if more else None
            self.previous_url = self.link("p", rows[0]) if self.position is not None and rows else None
        return rows

    def get_paginated_response(self, data):
        return Response({"next": self.next_url, "previous": self.previous_url, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri",
                         "description": "Older rows; null on the last page."},
                "previous": {"type": "string", "nullable": True, "format": "uri",
                             "description": "Newer rows; null on the first page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "cursor", "required": False, "in": "query", "schema": {"type": "string"},
             "description": "From a next or previous link; absent: the newest rows."},
            {"name": "page_size", "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
             "description": f"Rows per page ({self.page_size} by default)."},
        ]
