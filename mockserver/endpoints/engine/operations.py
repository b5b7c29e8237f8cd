"""The operations of the vendored API documents, as data: what each one is, and which one a request path names.

``schemas/openai/operations.json`` (vendored, see its README) lists every operation of OpenAI's spec with its
parameters, request and response media types and schemas; ``schemas/openai/sdk-operations.json`` those
openai-python calls beyond it, and ``schemas/anthropic/operations.json`` Anthropic's API beyond the Messages
family, both from the SDKs' types (``schemas/tools/vendor_sdk_operations.py``). An :class:`Operation` adds
what the engine infers from the path and the other operations of its API on it: its :attr:`~Operation.kind`
(create, list, retrieve, update, delete, an action on one resource, or a stateless call), the collection its
resources live in, and the resource it acts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import orjson

from mockserver.conformance import official_document
from mockserver.resources import schemas_dir

JSON = "application/json"
MULTIPART = "multipart/form-data"
SSE = "text/event-stream"

OPENAI, ANTHROPIC = "openai", "anthropic"
DOCUMENTS = {OPENAI: ("operations.json", "sdk-operations.json"), ANTHROPIC: ("operations.json",)}
"""Each API the engine answers, and its vendored operation files under ``schemas/<api>/``."""

CREATE, LIST, RETRIEVE, UPDATE, DELETE, ACTION, CONTENT, CALL = (
    "create", "list", "retrieve", "update", "delete", "action", "content", "call"
)


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, and what the engine makes of it."""

    id: str
    method: str
    path: str
    parameters: tuple[dict[str, Any], ...]
    request: dict[str, Any]  # media type -> schema
    responses: dict[str, dict[str, Any]]  # status -> media type -> schema
    id_prefix: str | None
    example_object: str | None = None  # the ``object`` of the documented example answer
    kind: str = CALL
    collection: str = ""  # the path template of the collection the resource lives in
    api: str = OPENAI  # the API whose document lists it

    @property
    def store(self) -> str:
        """Where the collections of its API are kept: OpenAI's under their path, another API's apart
        (Anthropic's ``/files`` are not OpenAI's)."""
        return "" if self.api == OPENAI else f"{self.api}:"

    @property
    def segments(self) -> list[str]:
        return self.path.strip("/").split("/")

    @cached_property
    def status(self) -> int:
        return int(min(self.responses, default="200"))

    @property
    def response_media(self) -> dict[str, Any]:
        return self.responses.get(str(self.status), {})

    @property
    def response_schema(self) -> dict[str, Any] | None:
        """The JSON answer's schema (None for an answer that is only bytes or text)."""
        schema = self.response_media.get(JSON)
        return schema if schema not in (None, {}, {"type": "string"}) else None

    @property
    def json_request(self) -> dict[str, Any] | None:
        return self.request.get(JSON)

    @property
    def form_request(self) -> dict[str, Any] | None:
        return self.request.get(MULTIPART)

    @property
    def streams(self) -> bool:
        return SSE in self.response_media

    def query(self, name: str) -> dict[str, Any] | None:
        return next((p for p in self.parameters if p["in"] == "query" and p["name"] == name), None)


@cache
def load_operations(api: str = OPENAI) -> tuple[Operation, ...]:
    """Every operation of ``api``'s vendored documents, each with its kind and collection inferred."""
    folder = schemas_dir() / api
    raw = [entry for name in DOCUMENTS[api] for entry in orjson.loads((folder / name).read_bytes())["operations"]]
    by_path: dict[str, set[str]] = {}
    for entry in raw:
        by_path.setdefault(entry["path"], set()).add(entry["method"])
    operations = []
    for entry in raw:
        kind, collection = _infer(entry, by_path)
        operations.append(Operation(
            id=entry["id"],
            method=entry["method"],
            path=entry["path"],
            parameters=tuple(entry["parameters"]),
            request=entry["request"],
            responses=entry["responses"],
            id_prefix=entry["id_prefix"],
            example_object=entry.get("example_object"),
            kind=kind,
            collection=collection,
            api=api,
        ))
    return tuple(operations)


@cache
def every_operation() -> tuple[Operation, ...]:
    return tuple(operation for api in DOCUMENTS for operation in load_operations(api))


def _infer(entry: dict[str, Any], by_path: dict[str, set[str]]) -> tuple[str, str]:
    """(kind, collection) from the path's shape and the operations beside it.

    A path ending in a parameter names one resource of the collection before it. A GET of ``.../{id}/content``
    is that resource's content. A path ending in a word is a collection when the spec also lists it (GET),
    reads one of its items (GET ``path/{id}``) or acts on them (``/uploads/{id}/complete``); otherwise a POST
    there is an action on the resource before it (``/batches/{id}/cancel``), or a call (``/moderations``).
    """
    path, method = entry["path"], entry["method"]
    segments = path.strip("/").split("/")
    last_is_parameter = segments[-1].startswith("{")
    if last_is_parameter:
        collection = "/" + "/".join(segments[:-1])
        return {"GET": RETRIEVE, "POST": UPDATE, "DELETE": DELETE}.get(method, CALL), collection
    after_parameter = len(segments) >= 2 and segments[-2].startswith("{")
    if after_parameter and method == "GET" and segments[-1] == "content":
        return CONTENT, "/" + "/".join(segments[:-2])
    items = [other for other in by_path if other.startswith(path + "/{") and other.count("/") == path.count("/") + 1]
    below = any(other.startswith(path + "/{") for other in by_path)
    is_collection = "GET" in by_path.get(path, set()) or any("GET" in by_path[item] for item in items)
    if method == "GET" and is_collection and _lists(entry):
        return LIST, path
    if method == "POST" and ((is_collection and items) or below):
        return CREATE, path
    if after_parameter and method == "POST":
        return ACTION, "/" + "/".join(segments[:-2])
    return CALL, path


def _lists(entry: dict[str, Any]) -> bool:
    """Whether the answer is a page: an object with a ``data`` array."""
    first: dict[str, Any] = next(iter(entry["responses"].values()), {})
    schema = first.get(JSON, {})
    defs = official_document()["$defs"]
    while isinstance(schema, dict) and "$ref" in schema:
        schema = defs.get(schema["$ref"].removeprefix("#/$defs/"), {})
    data = schema.get("properties", {}).get("data") if isinstance(schema, dict) else None
    return isinstance(data, dict) and (data.get("type") == "array" or "items" in data)
