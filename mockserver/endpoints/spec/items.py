"""Items of a conversation (and a response's input items) as the API keeps them: each with an id, a message
with its status and its content as parts."""

from __future__ import annotations

from typing import Any

from mockserver.determinism import Identity
from mockserver.endpoints.spec.request import SpecRequest


def append_items(request: SpecRequest, conversation: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items added to a conversation, each with an id and (for messages) its status and content parts."""
    resources = request.state.stores.resources
    collection = f"/conversations/{conversation}/items"
    start = len(resources.items(collection))
    added = []
    for index, item in enumerate(items, start):
        kept = as_item(item, Identity.make_id("msg_", f"{conversation}:{index}".encode(), 48))
        resources.put(collection, kept["id"], kept)
        added.append(kept)
    return added


def as_item(item: dict[str, Any], made_id: str) -> dict[str, Any]:
    kept = {"id": item.get("id") or made_id, **item}
    kept["id"] = kept["id"] or made_id
    if kept.get("type", "message") == "message":
        kept.setdefault("type", "message")
        kept.setdefault("status", "completed")
        kept["content"] = _content_parts(kept.get("content"))
    return kept


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    return [part for part in content if isinstance(part, dict)] if isinstance(content, list) else []
