"""Anthropic's server tools, run by the mock: web search.

When a request offers the ``web_search`` tool (any of its versions), ``tool_choice`` is not ``none``, and the turn
answers a user's question (not tool results), the model searches once before it answers, as Claude does: a
``server_tool_use`` block (``srvtoolu_01…``, ``input: {"query"}``, the question's words) and a
``web_search_tool_result`` block with three results (title, URL on ``example.org``, ``encrypted_content``,
``page_age``), made from the query and the seed, so the same request finds the same pages. ``usage`` counts it in
``server_tool_use.web_search_requests``. Other server tools are accepted and not run.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from mockserver.determinism import Identity
from mockserver.endpoints.anthropic.conversation import text_of

RESULTS = 3
_WORD = re.compile(r"[A-Za-z0-9]+")


def searches(body: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """The blocks of the searches this turn makes (a ``server_tool_use`` and its result a search), or none."""
    offered = any(isinstance(tool, dict) and str(tool.get("type", "")).startswith("web_search_")
                  for tool in body.get("tools") or [])
    if not offered or (body.get("tool_choice") or {}).get("type") == "none":
        return []
    last = (body.get("messages") or [{}])[-1]
    content = last.get("content")
    if last.get("role") != "user" or (isinstance(content, list) and any(
            isinstance(block, dict) and block.get("type") == "tool_result" for block in content)):
        return []
    question = text_of(content)
    query = " ".join(_WORD.findall(question)[:12]) or "latest news"
    material = hashlib.sha256(f"{seed}\n{query}".encode()).digest()
    call_id = Identity.make_id("srvtoolu_01", material, 22)
    slug = "-".join(query.lower().split()[:6])
    found = [{"type": "web_search_result", "title": f"{query.title()}: {topic}",
              "url": f"https://www.example.org/{slug}/{index + 1}",
              "encrypted_content": base64.b64encode(hashlib.sha256(material + bytes([index])).digest() * 3).decode(),
              "page_age": f"{1 + material[index] % 28} days ago"}
             for index, topic in enumerate(("an overview", "the latest", "questions and answers")[:RESULTS])]
    return [{"type": "server_tool_use", "id": call_id, "name": "web_search", "input": {"query": query}},
            {"type": "web_search_tool_result", "tool_use_id": call_id, "content": found}]


__all__ = ["searches"]
