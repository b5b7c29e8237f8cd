"""What some spec operations mean beyond their schema: hooks that finish the engine's generated answer.

A hook takes the request body, the seed material and the generated (already shaped) answer, and returns
the answer the operation gives. Only operations whose users read the values, not just the shapes, have one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.determinism import rng

Hook = Callable[[dict[str, Any], bytes, dict[str, Any]], dict[str, Any]]

FLAG_MARKER = "flag:"
"""``flag:violence`` (or any category name: ``flag:self-harm/intent``) in an input flags that category."""
MODERATION_CATEGORIES = (
    "hate", "hate/threatening", "harassment", "harassment/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
IMAGE_CATEGORIES = frozenset({"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence",
                              "violence/graphic"})
"""The categories the omni moderation model also scores images for (the spec's ``category_applied_input_types``)."""
DEFAULT_MODERATION_MODEL = "omni-moderation-latest"


def moderate(body: dict[str, Any], seed: bytes, answer: dict[str, Any]) -> dict[str, Any]:
    """``POST /moderations``: one result per input, flagged exactly where the input names a category.

    A flagged category scores 0.90-0.99 and every other 0.0001-0.05, so a threshold of 0.5 (or any between)
    agrees with ``flagged``; a category is applied to the input types it covers that the input has.
    """
    inputs = body.get("input", "")
    items = inputs if isinstance(inputs, list) else [inputs]
    if items and all(isinstance(item, dict) for item in items):
        items = [items]  # one multi-modal input: a list of content parts
    results = [_moderation_result(item, rng(seed, f"moderation{index}")) for index, item in enumerate(items)]
    model = body.get("model") if isinstance(body.get("model"), str) else DEFAULT_MODERATION_MODEL
    return {**answer, "model": model, "results": results}


def _moderation_result(item: Any, draw: Any) -> dict[str, Any]:
    parts = item if isinstance(item, list) else [item]
    texts = [part if isinstance(part, str) else part.get("text", "") for part in parts
             if isinstance(part, str) or (isinstance(part, dict) and part.get("type") == "text")]
    has_image = any(isinstance(part, dict) and part.get("type") == "image_url" for part in parts)
    text = " ".join(text for text in texts if isinstance(text, str)).lower()
    flagged = {category for category in MODERATION_CATEGORIES if FLAG_MARKER + category in text}
    categories = {category: category in flagged for category in MODERATION_CATEGORIES}
    scores = {
        category: round(draw.uniform(0.90, 0.99), 6) if category in flagged else round(draw.uniform(0.0001, 0.05), 6)
        for category in MODERATION_CATEGORIES
    }
    applied = {
        category: (["text"] if texts else []) + (["image"] if has_image and category in IMAGE_CATEGORIES else [])
        for category in MODERATION_CATEGORIES
    }
    return {"flagged": bool(flagged), "categories": categories, "category_scores": scores,
            "category_applied_input_types": applied}


HOOKS: dict[str, Hook] = {"createModeration": moderate}
"""The hooks, by operation id."""
