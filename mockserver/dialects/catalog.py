"""Model catalogs and Serika characters, read once at start-up from ``fixtures/``.

A catalog answers two questions on the hot path with a dict lookup: does this
dialect know the model, and what can the model do (reasoning, limits). Models a
catalog does not list are judged by their name, the way people read model ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.resources import fixtures_dir, read_yaml

_REASONING_NAME = re.compile(r"(^|[/\-_.])(r1|o1|o3|o4|gpt-5|reasoner|reasoning|thinking|think)([/\-_.:]|$)|^o\d", re.I)


@dataclass(frozen=True)
class ModelInfo:
    id: str
    owned_by: str
    created: int
    reasoning: bool = False
    kind: str = "chat"
    context_window: int | None = None
    max_output_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    snapshot: str | None = None  # the dated model an alias answers as (gpt-4o-mini-2024-07-18), where it says so

    def as_model_object(self) -> dict[str, Any]:
        """The official ``Model`` object, plus the catalog's descriptive extras."""
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": self.owned_by, **self.extra}


def looks_like_reasoning(model: str) -> bool:
    """Judge a model the catalog does not know by its name (r1, o3, gpt-5, thinking…)."""
    name = model.rsplit("/", 1)[-1]
    if "chat" in name.lower() and "gpt-5" in name.lower():
        return False
    return bool(_REASONING_NAME.search(name))


_DESCRIPTIVE = ("name", "description", "provider", "tier", "released")


class Catalog:
    """The models of one dialect."""

    def __init__(self, dialect: str, owned_by: str, models: list[ModelInfo]) -> None:
        self.dialect = dialect
        self.owned_by = owned_by
        self.models = {model.id: model for model in models}

    @classmethod
    def from_file(cls, path: Path) -> Catalog:
        data = read_yaml(path)
        created = int(data.get("created", 0))
        owned_by = data.get("owned_by", data["dialect"])
        models = [
            ModelInfo(
                id=entry["id"],
                owned_by=entry.get("owned_by", owned_by),
                created=int(entry.get("created", created)),
                reasoning=bool(entry.get("reasoning", False)),
                kind=entry.get("kind", "chat"),
                context_window=entry.get("context_window"),
                max_output_tokens=entry.get("max_output_tokens"),
                extra={key: entry[key] for key in _DESCRIPTIVE if key in entry},
                snapshot=entry.get("snapshot"),
            )
            for entry in data["models"]
        ]
        return cls(data["dialect"], owned_by, models)

    def get(self, model_id: str) -> ModelInfo | None:
        return self.models.get(model_id)

    def describe(self, model_id: str, created: int) -> ModelInfo:
        """The catalog entry, or a plausible one for a model the catalog does not list."""
        known = self.models.get(model_id)
        if known is not None:
            return known
        return ModelInfo(id=model_id, owned_by=self.owned_by, created=created, reasoning=looks_like_reasoning(model_id))

    def list_objects(self) -> list[dict[str, Any]]:
        return [model.as_model_object() for model in self.models.values()]


def load_catalogs(directory: Path | None = None) -> dict[str, Catalog]:
    directory = directory or fixtures_dir() / "models"
    catalogs = (Catalog.from_file(path) for path in sorted(directory.glob("*.yaml")))
    return {catalog.dialect: catalog for catalog in catalogs}


@dataclass(frozen=True)
class Character:
    id: str
    name: str
    description: str
    personality: str
    openers: tuple[str, ...]
    free: bool

    def as_object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "character",
            "name": self.name,
            "description": self.description,
            "personality": self.personality,
            "free": self.free,
        }


def load_characters(path: Path | None = None) -> dict[str, Character]:
    data = read_yaml(path or fixtures_dir() / "characters.yaml")
    return {
        str(entry["id"]): Character(
            id=str(entry["id"]),
            name=entry["name"],
            description=entry["description"],
            personality=entry.get("personality", ""),
            openers=tuple(entry.get("openers") or (f"*{entry['name']} smiles*",)),
            free=bool(entry.get("free", False)),
        )
        for entry in data["characters"]
    }
