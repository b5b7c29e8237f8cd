"""Items of a conversation (and a response's input items) as the API keeps them: each with an id, a message
with its status and its content as parts."""

from __future__ import annotations

from typing import Any

from mockserver.conformance import official_errors
from mockserver.determinism import Identity
from mockserver.endpoints.engine.request import SpecRequest
from mockserver.errors import invalid_request


def append_items(request: SpecRequest, conversation: str, items: list[dict[str, Any]],
                 *, refuse: bool = True) -> list[dict[str, Any]]:
    """Items added to a conversation, each with an id and (for messages) its status and content parts. An
    item the conversation cannot hold as one of its item types is a 400 (``refuse``) or left out (a response's
    turn, already answered)."""
    resources = request.state.stores.resources
    collection = f"/conversations/{conversation}/items"
    existing = resources.items(collection)
    start = len(existing)
    known = {item["id"]: item for item in existing}
    added = []
    for index, item in enumerate(items, start):
        if item.get("type") == "item_reference":  # an item the conversation holds, named again
            referenced = known.get(str(item.get("id")))
            if referenced is None:
                continue
            item = {key: value for key, value in referenced.items() if key != "id"}
        kept = as_item(item, Identity.make_id("msg_", f"{conversation}:{index}".encode(), 48))
        if not _keepable(kept):
            if not refuse:
                continue
            raise invalid_request(f"The mock keeps message, function call and output items in conversations; it "
                                  f"cannot keep an item of type '{kept.get('type')}' as one.",
                                  param=f"items[{index - start}].type", code="unsupported_value")
        resources.put(collection, kept["id"], kept)
        added.append(kept)
    return added


def _keepable(item: dict[str, Any]) -> bool:
    candidate = item if "status" in item else {**item, "status": "completed"}
    if not official_errors("ConversationItem", candidate):
        item.update(candidate)
        return True
    return False


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
