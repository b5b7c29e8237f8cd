"""Readers of prompt text the generators share: how much a tool is about a question, where a bracket closes."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["balanced_end", "most_relevant", "question_words", "relevance"]

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset({
    "the", "and", "for", "with", "what", "how", "who", "when", "where", "which", "this", "that", "from",
    "into", "about", "are", "was", "were", "you", "your", "get", "set", "please", "can", "could", "would",
    "should", "will", "tell", "give", "show", "find", "current", "latest", "tool", "tools", "use",
})
_BRACKETS: dict[str, re.Pattern[str]] = {"(": re.compile(r"[()]"), "{": re.compile(r"[{}]"), "[": re.compile(r"[\[\]]")}


def question_words(text: str) -> frozenset[str]:
    """The words of a question that can tie it to a tool: longer than two letters, not stop words."""
    return frozenset(word for word in _WORD.findall(text.lower()) if len(word) > 2 and word not in _STOPWORDS)


def relevance(words: frozenset[str], name: str, description: str) -> int:
    """How many of a question's ``words`` a tool's name (its ``_`` read as spaces) and description share."""
    return len(words.intersection(_WORD.findall(f"{name.replace('_', ' ')} {description}".lower())))


def most_relevant(question: str, tools: Sequence[tuple[str, str]]) -> int:
    """The index of the (name, description) the question is most about; the first of equals, so 0 with no overlap."""
    words = question_words(question)
    scores = [relevance(words, name, description) for name, description in tools]
    return scores.index(max(scores))


def balanced_end(text: str, start: int, limit: int) -> int | None:
    """Where the bracket that opens just before ``start`` closes (the index of its closing bracket), looked for
    within ``limit`` characters; None when it does not close there. ``text[start - 1]`` is ``(``, ``{`` or ``[``."""
    depth = 1
    opening = text[start - 1]
    for bracket in _BRACKETS[opening].finditer(text, start, min(len(text), start + limit)):
        depth += 1 if bracket.group() == opening else -1
        if depth == 0:
            return bracket.start()
    return None
