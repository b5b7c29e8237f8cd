"""Prompt caching as the Messages API bills it.

Each ``cache_control`` breakpoint (on a tool, a system block or a message's content block; a top-level
``cache_control`` puts one on the last block) marks the prefix up to it, in the API's order: tools, system,
messages. A prefix of at least the model's minimum (1,024 tokens; 2,048 for Haiku) is cached for its ``ttl``
(``5m`` or ``1h``) on the mock's clock, through the shared :class:`~mockserver.services.prompt_cache.PromptCache`:
the longest prefix still cached is read (``cache_read_input_tokens``), the rest up to the last breakpoint is
written (``cache_creation_input_tokens``, by time to live in ``cache_creation``), and ``input_tokens`` is what lies
after both. A hit starts the entry's life again, as the real cache's does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.determinism import digest
from mockserver.endpoints.anthropic.conversation import chat_request
from mockserver.generation.tokens import Tokenizer
from mockserver.services.prompt_cache import PromptCache

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
MIN_CACHED = 1024
MIN_CACHED_HAIKU = 2048


@dataclass
class CacheUse:
    read: int = 0
    written: dict[str, int] = field(default_factory=lambda: {"5m": 0, "1h": 0})

    @property
    def written_total(self) -> int:
        return sum(self.written.values())


@dataclass(frozen=True)
class _Breakpoint:
    prefix: dict[str, Any]  # the request cut after the marked block
    ttl: str


async def use(cache: PromptCache, body: dict[str, Any], tokenizer: Tokenizer, prompt_tokens: int,
              large: bool) -> CacheUse:
    """What this request reads from and writes to the cache (and the cache, updated); a ``large`` body's prefixes
    are counted in slices that let the event loop run between them."""
    marks = _breakpoints(body)
    if not marks:
        return CacheUse()
    least = MIN_CACHED_HAIKU if "haiku" in str(body.get("model")) else MIN_CACHED
    sized = []
    for mark in marks:
        chat = chat_request({**mark.prefix, "model": body.get("model")})
        counted = await tokenizer.count_prompt_yielding(chat["messages"], chat.get("tools")) if large else \
            tokenizer.count_prompt(chat["messages"], chat.get("tools"))
        tokens = min(counted, prompt_tokens)
        if tokens >= least:
            key = digest({"model": body.get("model"), "prefix": _unmarked(mark.prefix)}, 0)
            sized.append((tokens, key, mark.ttl))
    if not sized:
        return CacheUse()
    found = CacheUse()
    found.read = max((tokens for tokens, key, _ in sized if cache.cached(key)), default=0)
    for _, key, ttl in sized:
        cache.hit(key, TTL_SECONDS[ttl])
    longest, _, ttl = max(sized, key=lambda entry: entry[0])
    if longest > found.read:
        found.written[ttl] = longest - found.read
    return found


def _breakpoints(body: dict[str, Any]) -> list[_Breakpoint]:
    """Every cached prefix the request marks, shortest first."""
    tools = list(body.get("tools") or [])
    system = body.get("system")
    system_blocks = system if isinstance(system, list) else []
    messages = list(body.get("messages") or [])
    marks: list[_Breakpoint] = []
    for index, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("cache_control"):
            marks.append(_Breakpoint({"tools": tools[: index + 1], "messages": []}, _ttl(tool)))
    for index, block in enumerate(system_blocks):
        if isinstance(block, dict) and block.get("cache_control"):
            marks.append(_Breakpoint({"tools": tools, "system": system_blocks[: index + 1], "messages": []},
                                     _ttl(block)))
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for position, block in enumerate(content):
            if isinstance(block, dict) and block.get("cache_control"):
                cut = {**message, "content": content[: position + 1]}
                marks.append(_Breakpoint({"tools": tools, "system": system, "messages": [*messages[:index], cut]},
                                         _ttl(block)))
    if isinstance(body.get("cache_control"), dict) and messages:
        marks.append(_Breakpoint({"tools": tools, "system": system, "messages": messages},
                                 _ttl(body)))
    return marks


def _unmarked(value: Any) -> Any:
    """``value`` without its ``cache_control`` marks: the cache keys content, and a later turn moves the mark."""
    if isinstance(value, dict):
        return {key: _unmarked(item) for key, item in value.items() if key != "cache_control"}
    if isinstance(value, list):
        return [_unmarked(item) for item in value]
    return value


def _ttl(marked: dict[str, Any]) -> str:
    ttl = (marked.get("cache_control") or {}).get("ttl")
    return ttl if ttl in TTL_SECONDS else "5m"


__all__ = ["CacheUse", "use"]
