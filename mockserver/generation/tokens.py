"""Token counting with the real BPE vocabularies.

``bpe-openai`` ships OpenAI's ``o200k_base`` and ``cl100k_base`` vocabularies
inside its wheel, so counts are exact and need no network. Replies are built
from token pieces, so ``usage.completion_tokens`` is exactly the number of
tokens the client receives, streamed or not.

The mock loads only what it uses of ``bpe-openai``: its Rust tokenizer for one vocabulary and that vocabulary's
token bytes, on the first request that counts with it (see :func:`_bindings`).

Prompt tokens follow OpenAI's published accounting for chat messages (3 tokens
of framing per message, 1 per ``name``, 3 to prime the reply). Images, audio
and tool definitions are approximations: see :func:`Tokenizer.count_prompt`.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import importlib.util
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
IMAGE_TOKENS = {"low": 85, "high": 765, "auto": 765}
AUDIO_PART_TOKENS = 100
TOOLS_OVERHEAD = 12
ENCODE_SLICE = 40_000  # characters: at most 4 tokens each, well under bpe-openai's 200,000 tokens per call
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
SPECIAL_TOKENS = {  # as OpenAI's tiktoken defines them; the vocabulary files hold the ordinary tokens only
    "o200k_base": {"<|endoftext|>": 199_999, "<|endofprompt|>": 200_018},
    "cl100k_base": {"<|endoftext|>": 100_257, "<|fim_prefix|>": 100_258, "<|fim_middle|>": 100_259,
                    "<|fim_suffix|>": 100_260, "<|endofprompt|>": 100_276},
}
_BINDINGS = "bpe_openai._bindings"
FIXED_TEXTS = 256
FIXED_TEXT_CHARACTERS = 4_096


class Tokenizer:
    """One BPE vocabulary with the helpers the generator needs."""

    def __init__(self, encoding_name: str) -> None:
        self.name = encoding_name
        self._backend = _bindings().tokenizer_for_encoding(encoding_name)
        # The bytes of every token, indexed by token id: a list index per token instead of a method call.
        self._token_bytes = _token_bytes(encoding_name)
        # Every message names its role: counted once here rather than encoded for each message.
        self._role_tokens = {role: self.count(role) for role in ROLES}
        self._fixed: dict[str, tuple[list[str], list[int]]] = {}

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``; long texts are encoded in slices.

        ``bpe-openai`` refuses a string of a million characters or one that
        makes more than 200,000 tokens in one call. Slices of at most
        ``ENCODE_SLICE`` characters end before a space where there is one, which
        is where the o200k/cl100k pre-tokenizer splits anyway, so counts stay
        exact for prose and within a token per slice otherwise.
        """
        if len(text) <= ENCODE_SLICE:
            return self._encode_slice(text)
        tokens: list[int] = []
        for piece in _slices(text):
            tokens += self._encode_slice(piece)
        return tokens

    def _encode_slice(self, text: str) -> list[int]:
        try:
            return list(self._backend.encode(text))
        except UnicodeEncodeError:
            return list(self._backend.encode(_replaced_surrogates(text)))

    def decode(self, tokens: list[int]) -> str:
        """The text of token ids; an id outside the vocabulary raises ``IndexError``."""
        token_bytes = self._token_bytes
        if any(token < 0 for token in tokens):
            raise IndexError("negative token id")
        return b"".join(token_bytes[token] for token in tokens).decode("utf-8", "replace")

    def count(self, text: str) -> int:
        """``len(self.encode(text))``, counted by the tokenizer without making the list of ids."""
        if not text:
            return 0
        if len(text) <= ENCODE_SLICE:
            return self._count_slice(text)
        return sum(self._count_slice(piece) for piece in _slices(text))

    def _count_slice(self, text: str) -> int:
        try:
            return int(self._backend.count(text))
        except UnicodeEncodeError:
            return int(self._backend.count(_replaced_surrogates(text)))

    def pieces(self, text: str) -> tuple[list[str], list[int]]:
        """Split ``text`` into the strings of its tokens.

        Returns the pieces and, for each piece, how many tokens it holds: a
        token that ends inside a multi-byte character is merged with the
        next one so every piece is valid UTF-8 (what real streams do).
        """
        pieces: list[str] = []
        counts: list[int] = []
        pending = b""
        pending_tokens = 0
        token_bytes = self._token_bytes
        for token in self.encode(text):
            pending += token_bytes[token]
            pending_tokens += 1
            try:
                piece = pending.decode("utf-8")
            except UnicodeDecodeError:
                continue
            pieces.append(piece)
            counts.append(pending_tokens)
            pending, pending_tokens = b"", 0
        if pending:
            pieces.append(pending.decode("utf-8", "replace"))
            counts.append(pending_tokens)
        return pieces, counts

    def fixed_pieces(self, text: str) -> tuple[list[str], list[int]]:
        """:meth:`pieces` of a text that recurs (a scripted or fixture reply), remembered: the last
        :data:`FIXED_TEXTS` of at most :data:`FIXED_TEXT_CHARACTERS` characters. The lists are the caller's."""
        known = self._fixed.pop(text, None)
        if known is None:
            known = self.pieces(text)
            if len(text) > FIXED_TEXT_CHARACTERS:
                return known
            if len(self._fixed) >= FIXED_TEXTS:
                del self._fixed[next(iter(self._fixed))]  # the least recently used
        self._fixed[text] = known  # last in the dict: the most recently used
        return list(known[0]), list(known[1])

    def count_prompt(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> int:
        """Prompt tokens for a chat request, as OpenAI counts them for text.

        Image parts count as OpenAI's tile estimate for a 1024px image (85
        tokens at ``detail: low``, 765 otherwise), audio parts as a flat 100,
        and tool definitions as the tokens of their compact JSON plus a small
        fixed overhead. Text is exact.
        """
        total = 0
        for part in self._prompt_parts(messages, tools):
            total += part if isinstance(part, int) else self.count(part)
        return total

    async def count_prompt_yielding(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> int:
        """:meth:`count_prompt` for a large prompt: it lets the event loop run after every slice it encodes (a
        few milliseconds each), so counting millions of tokens never holds the loop."""
        total = 0
        for part in self._prompt_parts(messages, tools):
            if isinstance(part, int):
                total += part
                continue
            for piece in _slices(part):
                total += self.count(piece)
                await asyncio.sleep(0)
        return total

    def _prompt_parts(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Iterator[int | str]:
        """What a prompt's count is made of: token counts known without encoding, and texts to encode."""
        yield REPLY_PRIMING
        for message in messages:
            yield TOKENS_PER_MESSAGE
            role = str(message.get("role", ""))
            known = self._role_tokens.get(role)
            yield known if known is not None else role
            if message.get("name"):
                yield TOKENS_PER_NAME
                yield str(message["name"])
            yield from _content_parts(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                yield str(function.get("name", ""))
                yield str(function.get("arguments", ""))
            if message.get("tool_call_id"):
                yield str(message["tool_call_id"])
        if tools:
            yield TOOLS_OVERHEAD
            yield orjson.dumps(tools).decode()


def _replaced_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (which the tokenizer refuses) as the replacement character a client's JSON
    encoder would send in its place."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _slices(text: str) -> Iterator[str]:
    """``text`` in slices of at most ``ENCODE_SLICE`` characters, each ending before a space where there is one."""
    start = 0
    while start < len(text):
        end = min(start + ENCODE_SLICE, len(text))
        if end < len(text):
            space = text.rfind(" ", start + 1, end)
            end = space if space > start else end
        yield text[start:end]
        start = end


def _content_parts(content: Any) -> Iterator[int | str]:
    if isinstance(content, str):
        yield content
        return
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            yield str(part.get("text", ""))
        elif kind == "refusal":
            yield str(part.get("refusal", ""))
        elif kind == "image_url":
            detail = (part.get("image_url") or {}).get("detail", "auto")
            yield IMAGE_TOKENS.get(detail, IMAGE_TOKENS["auto"])
        elif kind == "input_audio":
            yield AUDIO_PART_TOKENS


def _bindings() -> ModuleType:
    """bpe-openai's Rust tokenizer, ``bpe_openai._bindings``, loaded from its file without running the package's
    ``__init__``: that one reads all three of its vocabularies into Python dicts at import (0.36 s of CPU and
    61 MiB the mock never uses), and the pinned release has no lighter entry point. Registered under its own name,
    so the package, if anything imports it later, uses this same module."""
    loaded = sys.modules.get(_BINDINGS)
    if loaded is not None:
        return loaded
    binary = next(_package_directory().glob("_bindings*.so"))
    spec = importlib.util.spec_from_file_location(_BINDINGS, binary)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[_BINDINGS] = module
    return module


def _package_directory() -> Path:
    """Where bpe-openai is installed, found without importing it."""
    package = importlib.util.find_spec("bpe_openai")
    if package is None or package.origin is None:
        raise ModuleNotFoundError("bpe-openai is not installed: pip install mockserver installs it")
    return Path(package.origin).parent


def _token_bytes(encoding_name: str) -> list[bytes]:
    """The bytes of every token of the vocabulary, indexed by id, from the file bpe-openai ships (one
    ``base64-bytes rank`` line a token), with the special tokens' text at their ids."""
    data = _package_directory() / "data" / f"{encoding_name}.tiktoken.gz"
    specials = SPECIAL_TOKENS[encoding_name]
    table: list[bytes] = [b""] * (max(specials.values()) + 1)
    with gzip.open(data, "rb") as lines:
        for line in lines:
            encoded, rank = line.split()
            table[int(rank)] = base64.b64decode(encoded)
    for text, special in specials.items():
        table[special] = text.encode()
    return table


@cache
def tokenizer(encoding_name: str) -> Tokenizer:
    """The shared tokenizer for ``encoding_name``, loaded once per process."""
    return Tokenizer(encoding_name)


def encoding_for_model(model: str) -> str:
    """OpenAI's vocabulary for ``model``; ``o200k_base`` for everything newer or foreign."""
    name = model.rsplit("/", 1)[-1].lower()
    if name.startswith(("gpt-4-", "gpt-3.5")) or name == "gpt-4" or name.startswith("text-embedding"):
        return "cl100k_base"
    return "o200k_base"
