"""The Responses API's built-in tools, answered with their output items, deterministically.

Each built-in tool a request offers (unless ``tool_choice`` is ``none``) is called once, before the answer,
as the hosted tools are: ``web_search`` searches the user's words (one source URL per search), ``file_search``
searches the offered vector stores (with ``include: ["file_search_call.results"]``, their files as results,
text from their uploaded bytes), ``code_interpreter`` runs a line of Python in its container (its logs with
``include: ["code_interpreter_call.outputs"]``), ``image_generation`` draws a 256x256 PNG (base64 in
``result``). Other tool types (``mcp``, ``computer_use_preview``…) are accepted and not called.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from mockserver.determinism import Identity, rng
from mockserver.endpoints.spec.request import SpecRequest
from mockserver.generation import media

IMAGE_SIDE = 256
RESULT_TEXT = 200
"""Characters of a file's text a ``file_search`` result carries."""


def calls(request: SpecRequest, query: str, salt: bytes) -> list[dict[str, Any]]:
    body = request.body
    if body.get("tool_choice") == "none":
        return []
    include = set(body.get("include") or [])
    made: list[dict[str, Any]] = []
    for position, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict):
            continue
        kind = str(tool.get("type", ""))
        item_salt = salt + f"builtin{position}".encode()
        if kind.startswith("web_search"):
            made.append({"type": "web_search_call", "id": Identity.make_id("ws_", item_salt, 48), "status": "completed",
                         "action": {"type": "search", "query": query, "queries": [query], "sources": [
                             {"type": "url", "url": f"https://search.example/?q={quote(query[:200])}"}]}})
        elif kind == "file_search":
            made.append({"type": "file_search_call", "id": Identity.make_id("fs_", item_salt, 48),
                         "status": "completed", "queries": [query],
                         "results": _results(request, tool, item_salt) if "file_search_call.results" in include
                         else None})
        elif kind == "code_interpreter":
            container = tool.get("container")
            container_id = container if isinstance(container, str) else Identity.make_id("cntr_", item_salt, 48)
            code = f"print({query[:80]!r})"
            made.append({"type": "code_interpreter_call", "id": Identity.make_id("ci_", item_salt, 48),
                         "status": "completed", "container_id": container_id, "code": code,
                         "outputs": [{"type": "logs", "logs": query[:80] + "\n"}]
                         if "code_interpreter_call.outputs" in include else None})
        elif kind == "image_generation":
            picture = media.png_image(item_salt, IMAGE_SIDE, IMAGE_SIDE)
            made.append({"type": "image_generation_call", "id": Identity.make_id("ig_", item_salt, 48),
                         "status": "completed", "result": base64.b64encode(picture).decode()})
    return made


def _results(request: SpecRequest, tool: dict[str, Any], salt: bytes) -> list[dict[str, Any]]:
    resources = request.state.stores.resources
    draw = rng(salt, "scores")
    found: list[dict[str, Any]] = []
    for store_id in tool.get("vector_store_ids") or []:
        for attached in resources.items(f"/vector_stores/{store_id}/files"):
            file_id = str(attached.get("id"))
            uploaded = resources.get("/files", file_id) or {}
            text = (resources.content(file_id) or b"").decode("utf-8", "replace")[:RESULT_TEXT]
            found.append({"file_id": file_id, "filename": str(uploaded.get("filename", file_id)), "text": text,
                          "score": round(draw.uniform(0.5, 0.99), 4), "attributes": attached.get("attributes") or {}})
    found.sort(key=lambda result: float(result["score"]), reverse=True)
    return found[: int(tool.get("max_num_results") or 10)]
