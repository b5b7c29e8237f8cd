"""The Responses API's built-in tools, answered with their output items, deterministically.

Each built-in tool a request offers (unless ``tool_choice`` is ``none``) is called once, before the answer,
as the hosted tools are: ``web_search`` searches the user's words (one source URL per search), ``file_search``
searches the offered vector stores (with ``include: ["file_search_call.results"]``, their files as results,
text from their uploaded bytes), ``code_interpreter`` runs a line of Python in its container (its logs with
``include: ["code_interpreter_call.outputs"]``), ``image_generation`` draws a 256x256 PNG (base64 in
``result``). An ``mcp`` server (never contacted: the mock has no network) lists its tools
(``mcp_list_tools``: the ``allowed_tools`` names, else one ``search`` tool) and calls the first: with
``require_approval: "never"`` an ``mcp_call`` with its output, else an ``mcp_approval_request`` that ends the
response until an ``mcp_approval_response`` (``approve: true``) comes back, then the ``mcp_call``. Other
tool types (``computer_use_preview``…) are accepted and not called.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import orjson

from mockserver.determinism import Identity, rng
from mockserver.endpoints.engine.request import SpecRequest
from mockserver.generation import media

IMAGE_SIDE = 256
RESULT_TEXT = 200
"""Characters of a file's text a ``file_search`` result carries."""


MCP_INPUT = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}


class Hosted:
    """The hosted tools' items of one response, and whether it waits for an approval (and so ends there)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.waiting = False


def calls(request: SpecRequest, query: str, salt: bytes, earlier: list[dict[str, Any]]) -> Hosted:
    hosted = Hosted()
    body = request.body
    if body.get("tool_choice") == "none":
        return hosted
    approvals = [item for item in body.get("input") or [] if isinstance(item, dict)
                 and item.get("type") == "mcp_approval_response" and item.get("approve")]
    if approvals:  # an approved call runs now, and only it
        asked = {item.get("id"): item for item in earlier if item.get("type") == "mcp_approval_request"}
        for approval in approvals:
            request_item = asked.get(approval.get("approval_request_id"))
            if request_item is not None:
                hosted.items.append(_mcp_call(request_item, query, salt, approval["approval_request_id"]))
        return hosted
    hosted.items = _calls(request, query, salt)
    hosted.waiting = any(item["type"] == "mcp_approval_request" for item in hosted.items)
    return hosted


def _calls(request: SpecRequest, query: str, salt: bytes) -> list[dict[str, Any]]:
    body = request.body
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
        elif kind == "mcp":
            made += _mcp(tool, query, item_salt)
        elif kind == "image_generation":
            picture = media.png_image(item_salt, IMAGE_SIDE, IMAGE_SIDE)
            made.append({"type": "image_generation_call", "id": Identity.make_id("ig_", item_salt, 48),
                         "status": "completed", "result": base64.b64encode(picture).decode()})
    return made


def _mcp(tool: dict[str, Any], query: str, salt: bytes) -> list[dict[str, Any]]:
    label = str(tool.get("server_label", "mcp"))
    allowed = tool.get("allowed_tools")
    names = allowed if isinstance(allowed, list) else (allowed or {}).get("tool_names") if isinstance(allowed, dict) \
        else None
    names = [str(name) for name in names or ["search"]]
    listed = {"type": "mcp_list_tools", "id": Identity.make_id("mcpl_", salt, 48), "server_label": label,
              "tools": [{"name": name, "description": f"{name} on {label}", "input_schema": MCP_INPUT}
                        for name in names], "error": None}
    call = {"server_label": label, "name": names[0], "arguments": orjson.dumps({"query": query}).decode(),
            "id": Identity.make_id("mcpr_", salt, 48)}
    approval = tool.get("require_approval", "always")
    never = approval == "never" or (isinstance(approval, dict) and names[0] in
                                    ((approval.get("never") or {}).get("tool_names") or []))
    if never:
        return [listed, _mcp_call(call, query, salt, None)]
    return [listed, {"type": "mcp_approval_request", **call}]


def _mcp_call(asked: dict[str, Any], query: str, salt: bytes, approval: str | None) -> dict[str, Any]:
    draw = rng(salt, "mcp")
    return {"type": "mcp_call", "id": Identity.make_id("mcp_", salt + b"call", 48),
            "server_label": asked["server_label"], "name": asked["name"], "arguments": asked["arguments"],
            "output": f"{asked['name']} found {draw.randint(1, 9)} results for {query[:80]!r}.", "error": None,
            "status": "completed", "approval_request_id": approval}


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
