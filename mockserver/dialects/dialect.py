"""Dialects: the providers the mock speaks, as data from ``fixtures/dialects.yaml``.

A dialect never brings its own route code. It selects a base path, a model
catalog, a request-schema overlay (``schemas/dialects/<name>.json``) and a few
switches that the one shared pipeline consults:

- ``accept_any_model``: models outside the catalog are served (else 404
  ``model_not_found``);
- ``require_system_message``: a system or developer message must be present;
- ``persona``: ``character_id`` makes the reply speak as a catalog character;
- ``tiers``: free-tier keys may read characters but not generate;
- ``endpoints``: which endpoint groups the dialect documents;
- ``reasoning_content``: reasoning models send their thinking as
  ``reasoning_content`` (the providers that document it); elsewhere they only
  count it in ``reasoning_tokens``, as OpenAI does;
- ``obfuscation``: stream chunks carry an ``obfuscation`` pad unless
  ``stream_options.include_obfuscation`` is false, as OpenAI's do;
- ``snapshots``: an answer names the dated snapshot the catalog gives the alias asked for
  (``gpt-4o-mini`` answers as ``gpt-4o-mini-2024-07-18``), as OpenAI's do;
- ``key_header``: a header the provider also takes the API key in (Anthropic's
  ``x-api-key``), besides ``Authorization: Bearer``;
- ``json_mode_unprompted``: JSON mode needs no mention of JSON in the prompt
  (Gemini's ``responseMimeType``, Ollama's ``format: json``; OpenAI's needs one);
- ``any_content_type``: a body is read as JSON whatever its ``Content-Type``
  (Ollama's server ignores it; OpenAI's answers a 415);
- ``versioned_paths``: the API version is part of each path the SDK writes
  (Gemini's ``/v1beta/models/…``, ``/v1/models/…``): a recording keeps it, and the
  upstream is the API's host;
- ``streams_by_default``: a body without ``stream`` streams (Ollama's);
- ``truncates_prompts``: a prompt longer than the model's window is cut to fit,
  not refused (Ollama keeps the last ``num_ctx`` tokens);
- ``key_query``: a query parameter the provider also takes the key in (Gemini's
  ``key=``);
- ``keyless``: requests need no key unless the mock was started with ``--api-key``
  (Ollama's API has no authentication);
- ``version_header``: a header every request must carry (``anthropic-version``);
- ``on_default_mount``: groups also served on the default mount (``/v1``) beside
  the default dialect's; where both serve a path, a request carrying
  ``divert_header`` (by default ``version_header``; Gemini's ``x-goog-api-key``)
  takes this dialect's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mockserver.dialects.catalog import Catalog
from mockserver.resources import fixtures_dir, read_yaml


@dataclass(frozen=True)
class Dialect:
    name: str
    title: str
    base_path: str
    catalog: Catalog
    endpoints: frozenset[str]
    also_at: tuple[str, ...] = ()
    accept_any_model: bool = False
    require_system_message: bool = False
    persona: bool = False
    tiers: bool = False
    reasoning_content: bool = False
    obfuscation: bool = False
    snapshots: bool = False
    key_header: str | None = None
    key_query: str | None = None
    json_mode_unprompted: bool = False
    any_content_type: bool = False
    versioned_paths: bool = False
    streams_by_default: bool = False
    truncates_prompts: bool = False
    keyless: bool = False
    version_header: str | None = None
    divert_header: str | None = None
    on_default_mount: frozenset[str] = frozenset()

    @property
    def mount_path(self) -> str:
        """Where the dialect is always reachable, whatever the default dialect is."""
        return f"/{self.name}{self.base_path}"


SWITCHES = tuple(item.name for item in fields(Dialect) if item.type == "bool")
"""The dialect's yes/no switches, each ``false`` unless its entry says otherwise."""
NAMES = ("key_header", "key_query", "version_header")
"""The headers and query parameter a dialect may name, none unless its entry does."""


def load_dialects(catalogs: dict[str, Catalog], path: Path | None = None) -> dict[str, Dialect]:
    data = read_yaml(path or fixtures_dir() / "dialects.yaml")
    dialects = {}
    for name, entry in data["dialects"].items():
        settings: dict[str, Any] = {switch: bool(entry.get(switch, False)) for switch in SWITCHES}
        settings.update({named: entry.get(named) for named in NAMES})
        dialects[name] = Dialect(
            name=name,
            title=entry["title"],
            base_path=entry["base_path"],
            catalog=catalogs[name],
            endpoints=frozenset(entry["endpoints"]),
            also_at=tuple(entry.get("also_at") or ()),
            divert_header=entry.get("divert_header") or entry.get("version_header"),
            on_default_mount=frozenset(entry.get("on_default_mount") or ()),
            **settings,
        )
    return dialects
