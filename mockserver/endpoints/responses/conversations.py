"""Conversations: one created with ``items`` holds them, ids given, for responses to continue."""

from __future__ import annotations

from mockserver.endpoints.engine.lifecycle import Lifecycle, Progress
from mockserver.endpoints.responses.items import append_items


async def begin(progress: Progress) -> None:
    given = progress.request.body.get("items")
    items = [item for item in given if isinstance(item, dict)] if isinstance(given, list) else []
    append_items(progress.request, progress.resource["id"], items)


LIFECYCLE = Lifecycle("/conversations", (), begin=begin)
