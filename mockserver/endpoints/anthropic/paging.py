"""How Anthropic's lists page: ``limit`` (1 to 1,000, 20 by default), ``after_id`` and ``before_id``."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams

from mockserver.config import whole_number
from mockserver.endpoints.anthropic.conversation import invalid

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
LIST_QUERY: tuple[dict[str, Any], ...] = (
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
    {"name": "after_id", "in": "query", "schema": {"type": "string"}},
    {"name": "before_id", "in": "query", "schema": {"type": "string"}},
)


def page_limit(query: QueryParams) -> int:
    """The page size a list request asks for; a 400 naming ``limit`` for one out of range."""
    raw = query.get("limit")
    limit = DEFAULT_LIMIT if raw is None else whole_number(raw)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"limit: Input should be a whole number from 1 to {MAX_LIMIT}")
    return limit


__all__ = ["LIST_QUERY", "page_limit"]
