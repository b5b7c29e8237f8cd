"""The mock's own OpenAPI 3.1 document, served without a key at ``GET /openapi.json``.

It is built once at start-up from the very tables the app mounts: every
(prefix, dialect) pair of ``AppState.mounts()`` times the dialect's groups of
``ENDPOINT_GROUPS``, plus the root routes (admin API, image files). Request
bodies are the schemas the server validates with (``schemas/requests`` plus the
dialect overlay, as ``AppState.validator`` compiled them); response bodies are
OpenAI's official schemas (``conformance.official_document()``), and the few
shapes OpenAI has no schema for (Serika's jobs, characters and legacy text, the
admin API) are written here. An endpoint or root route without a description
here fails at start-up, so the document cannot fall behind the routes; a test
also walks the router and checks every route against it.

Statuses are listed per operation as the pipeline produces them. Injected
faults (``X-Mock-Fault``, scripts, rules, ``--fault``) can answer any status in
the same error envelope; the control headers are described in ``info`` rather
than as parameters, so a generic fuzzer does not ask the mock to hang.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import TYPE_CHECKING, Any, Iterable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mockserver import __version__
from mockserver.config import Config
from mockserver.conformance import official_document
from mockserver.endpoints.images.edits import form_validator
from mockserver.journal import Exchange
from mockserver.pipeline import JSON_MEDIA_TYPE, OPENAI_VERSION, Endpoint

if TYPE_CHECKING:
    from mockserver.app import AppState

OPENAPI_PATH = "/openapi.json"
OPENAPI = "3.1.0"
SSE_MEDIA_TYPE = "text/event-stream"
MULTIPART_MEDIA_TYPE = "multipart/form-data"
MULTIPART_ENDPOINTS = {"images.edit": "image_edit", "images.create_variation": "image_variation"}
_CONVERTER = re.compile(r"\{(\w+):\w+\}")

Group = list[tuple[str, list[str], Endpoint]]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON_MEDIA_TYPE: {"schema": schema}}}


def _sse_event(data: Iterable[dict[str, Any]], event: list[str] | None = None) -> dict[str, Any]:
    """One server-sent event as OpenAPI 3.1 tooling reads a ``text/event-stream`` schema.

    ``data`` is JSON (``contentMediaType``) valid against one of ``data``'s
    schemas, or the literal ``[DONE]`` that ends a chat stream.
    """
    payload = {"type": "string", "contentMediaType": JSON_MEDIA_TYPE, "contentSchema": {"anyOf": list(data)}}
    properties: dict[str, Any] = {"data": {"anyOf": [{"const": "[DONE]"}, payload]}}
    if event is not None:
        properties["event"] = {"type": "string", "enum": event}
    return {"type": "object", "required": ["data"], "properties": properties}


def _with_stream(response: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    response["content"][SSE_MEDIA_TYPE] = {"schema": event}
    response["description"] = "OK: JSON, or server-sent events with `stream: true`"
    return response


def _image_events(kind: str) -> dict[str, Any]:
    name = "ImageGenStreamEvent" if kind == "image_generation" else "ImageEditStreamEvent"
    return _sse_event([ref(name)], [f"{kind}.partial_image", f"{kind}.completed"])


CHAT_STREAM = _sse_event([ref("CreateChatCompletionStreamResponse"), ref("ErrorResponse")])

# What each endpoint answers with 200, by Endpoint.name (see ENDPOINT_GROUPS); built afresh for each
# operation, which then gets its own headers.
RESPONSES: dict[str, Any] = {
    "chat.completions": lambda: _with_stream(_json(ref("CreateChatCompletionResponse")), CHAT_STREAM),
    "models.list": lambda: _json(ref("ListModelsResponse")),
    "models.retrieve": lambda: _json(ref("Model")),
    "models.delete": lambda: _json(ref("DeleteModelResponse")),
    "embeddings": lambda: _json(ref("CreateEmbeddingResponse")),
    "chat.completions.list": lambda: _json(ref("ChatCompletionList")),
    "chat.completions.retrieve": lambda: _json(ref("CreateChatCompletionResponse")),
    "chat.completions.update": lambda: _json(ref("CreateChatCompletionResponse")),
    "chat.completions.delete": lambda: _json(ref("ChatCompletionDeleted")),
    "chat.completions.messages.list": lambda: _json(ref("ChatCompletionMessageList")),
    "images.generate": lambda: _with_stream(_json(ref("ImagesResponse")), _image_events("image_generation")),
    "images.edit": lambda: _with_stream(_json(ref("ImagesResponse")), _image_events("image_edit")),
    "images.create_variation": lambda: _json(ref("ImagesResponse")),
    "jobs.create_image": lambda: _json(ref("Job")),
    "jobs.retrieve": lambda: _json(ref("Job")),
    "legacy.generate_text": lambda: _json(ref("TextGeneration")),
    "legacy.generate_image": lambda: _with_stream(_json(ref("ImagesResponse")), _image_events("image_generation")),
    "characters.list": lambda: _json(ref("CharacterList")),
    "characters.retrieve": lambda: _json(ref("Character")),
}

LIST_QUERY = [
    {"name": "after", "in": "query", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 100}},
    {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
]
QUERY: dict[str, list[dict[str, Any]]] = {
    "chat.completions.list": [
        {"name": "model", "in": "query", "schema": {"type": "string"}},
        {"name": "metadata", "in": "query", "style": "deepObject", "explode": True,
         "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
        *LIST_QUERY,
    ],
    "chat.completions.messages.list": LIST_QUERY,
}

COMMON_HEADERS = {
    "x-request-id": {"required": True, "schema": {"type": "string", "pattern": "^req_[0-9a-f]{32}$"}},
    "openai-version": {"required": True, "schema": {"type": "string", "const": OPENAI_VERSION}},
    "openai-processing-ms": {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}

USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
ERROR_RESPONSE = {"$ref": "#/components/responses/Error"}
ERROR_STATUSES = {
    "400": "Bad request: the body or a parameter is invalid (`param` names it)",
    "401": "Missing or unknown API key",
    "403": "A Serika free-tier key on a generation endpoint, or a premium character",
    "404": "Unknown model, stored completion, job or character",
    "413": "Request body above --max-body",
    "415": "Wrong content type",
    "429": "Rate limited (--rpm / --tpm)",
}

MOCK_SCHEMAS: dict[str, Any] = {
    "Job": {
        "type": "object",
        "required": ["id", "object", "type", "status", "created_at", "started_at", "completed_at", "result", "error"],
        "properties": {
            "id": {"type": "string", "pattern": "^job_"},
            "object": {"const": "job"},
            "type": {"const": "image"},
            "status": {"enum": ["queued", "processing", "completed"]},
            "created_at": {"type": "integer"},
            "started_at": {"type": ["integer", "null"]},
            "completed_at": {"type": ["integer", "null"]},
            "model": {"type": ["string", "null"]},
            "prompt": {"type": ["string", "null"]},
            "result": {"anyOf": [ref("ImagesResponse"), {"type": "null"}]},
            "error": {"type": "null"},
        },
    },
    "TextGeneration": {
        "type": "object",
        "required": ["id", "object", "created", "model", "text", "finish_reason", "usage"],
        "properties": {
            "id": {"type": "string", "pattern": "^gen-"},
            "object": {"const": "text_generation"},
            "created": {"type": "integer"},
            "model": {"type": "string"},
            "text": {"type": "string"},
            "finish_reason": {"enum": ["stop", "length", "tool_calls", "content_filter"]},
            "usage": {
                "type": "object",
                "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
                "properties": {key: {"type": "integer"} for key in USAGE_KEYS},
            },
        },
    },
    "Character": {
        "type": "object",
        "required": ["id", "object", "name", "description", "personality", "free"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "character"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "personality": {"type": "string"},
            "free": {"type": "boolean"},
        },
    },
    "CharacterList": {
        "type": "object",
        "required": ["object", "data"],
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": ref("Character")}},
    },
    "ExchangeList": {
        "type": "object",
        "required": ["object", "data"],
        "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": ref("Exchange")}},
    },
    "ScriptList": {
        "type": "object",
        "required": ["behaviors"],
        "properties": {
            "behaviors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "test_id", "remaining", "behavior"],
                    "properties": {
                        "id": {"type": "integer"},
                        "test_id": {"type": ["string", "null"]},
                        "remaining": {"anyOf": [{"type": "integer", "minimum": 0}, {"const": "unlimited"}]},
                        "behavior": {"type": "object"},
                    },
                },
            }
        },
    },
    "Script": {
        "type": "object",
        "additionalProperties": False,
        "required": ["behaviors"],
        "properties": {
            "behaviors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "fault": {"type": "string"},
                        "reply": {"type": "string"},
                        "tool_call": {"type": "object"},
                        "tool_calls": {"type": "array", "items": {"type": "object"}},
                        "error": {"type": "object"},
                        "match": {"type": "object"},
                        "times": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": "unlimited"}]},
                    },
                },
            }
        },
    },
    "Reset": {
        "type": "object",
        "required": ["reset"],
        "properties": {
            "reset": {"anyOf": [{"const": "all"}, {"type": "object", "required": ["test_id"],
                                                   "properties": {"test_id": {"type": "string"}}}]}
        },
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
}


def build_document(state: "AppState", groups: dict[str, Group], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The document for this server: its mounts, its configuration, its routes."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for prefix, dialect in state.mounts():
        for group in sorted(dialect.endpoints):
            for path, methods, endpoint in groups.get(group, ()):
                item = paths.setdefault(openapi_path(prefix + path), {})
                for method in methods:
                    item[method.lower()] = _operation(state, prefix, dialect.name, path, endpoint, schemas)
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                operation = ROOT_OPERATIONS[(route.path, method)](state)
                parameters = _path_parameters(route.path) + operation.get("parameters", [])
                if parameters:
                    operation["parameters"] = parameters
                paths.setdefault(openapi_path(route.path), {})[method.lower()] = operation
    paths[OPENAPI_PATH] = {"get": ROOT_OPERATIONS[(OPENAPI_PATH, "GET")](state)}
    schemas.update(_official_schemas())
    schemas.update(copy.deepcopy(MOCK_SCHEMAS))
    schemas["Exchange"] = dataclass_schema(Exchange)
    schemas["Config"] = dataclass_schema(Config)
    return {
        "openapi": OPENAPI,
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "mockserver", "version": __version__, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Error": _json(ref("ErrorResponse"), "An error in the OpenAI envelope")},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": _key_description(state.config)},
                "adminToken": {"type": "apiKey", "in": "header", "name": "X-Mock-Admin-Token"},
            },
        },
    }


DESCRIPTION = (
    "A deterministic, fault-injecting emulator of OpenAI-compatible Chat Completions APIs. Every dialect is "
    "served under its own prefix (and the default one under /v1). Control headers, on every dialect endpoint "
    "unless the server runs with --no-control: `X-Mock-Fault` (e.g. `rate_limit;retry_after_ms=10`), "
    "`X-Mock-Reply`, `X-Mock-Tool-Call` + `X-Mock-Tool-Args`, `X-Mock-Test-Id`. An injected fault may answer "
    "any status, in the same error envelope, or cut the connection."
)


def _key_description(config: Config) -> str:
    if config.api_key:
        return "One of the keys the server was started with (--api-key)."
    return "Any non-empty key (the server was started without --api-key)."


def openapi_path(path: str) -> str:
    """``/models/{model:path}`` (Starlette) -> ``/models/{model}`` (OpenAPI)."""
    return _CONVERTER.sub(r"{\1}", path)


def _operation(
    state: "AppState", prefix: str, dialect: str, path: str, endpoint: Endpoint, schemas: dict[str, Any]
) -> dict[str, Any]:
    ok = RESPONSES[endpoint.name]()
    statuses = ["400", "401", "404"]
    if endpoint.reads_body or endpoint.name in MULTIPART_ENDPOINTS:
        statuses += ["413", "415"]
    if endpoint.generation:
        statuses.append("429")
    if state.dialects[dialect].tiers:
        statuses.append("403")
    responses = {"200": ok}
    responses.update((status, _json(ref("ErrorResponse"), ERROR_STATUSES[status])) for status in sorted(statuses))
    for response in responses.values():  # the pipeline puts these on every answer, errors included
        response["headers"] = copy.deepcopy(COMMON_HEADERS)
    operation: dict[str, Any] = {
        "operationId": f"{prefix.strip('/').replace('/', '_')}:{endpoint.name}",
        "tags": [dialect],
        "summary": f"{endpoint.name} ({dialect})",
        "security": [{"bearer": []}],
        "responses": responses,
    }
    parameters = _path_parameters(path) + copy.deepcopy(QUERY.get(endpoint.name, []))
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(state, dialect, endpoint, schemas)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"\{(\w+)", path)
    ]


def _request_body(
    state: "AppState", dialect: str, endpoint: Endpoint, schemas: dict[str, Any]
) -> dict[str, Any] | None:
    if endpoint.schema is not None:
        name = f"{endpoint.schema}.{dialect}"
        schemas[name] = _component(state.validator(endpoint.schema, dialect).schema, name, state, dialect)
        return {"required": True, "content": {JSON_MEDIA_TYPE: {"schema": ref(name)}}}
    if endpoint.name == "legacy.generate_text":
        name = f"generate_text.{dialect}"
        chat = _component(state.validator("chat_completion", dialect).schema, name, state, dialect)
        chat["properties"]["prompt"] = {"type": "string"}
        chat["properties"]["stream"] = {"type": ["boolean", "null"], "enum": [False, None]}
        chat["required"] = [key for key in chat["required"] if key != "messages"]
        chat["oneOf"] = [{"required": ["prompt"], "not": {"required": ["messages"]}},
                         {"required": ["messages"], "not": {"required": ["prompt"]}}]
        schemas[name] = chat
        return {"required": True, "content": {JSON_MEDIA_TYPE: {"schema": ref(name)}}}
    if endpoint.name in MULTIPART_ENDPOINTS:
        kind = MULTIPART_ENDPOINTS[endpoint.name]
        form = copy.deepcopy(form_validator(kind, ignore_unknown=state.config.validation == "schema").schema)
        for key in ("$schema", "$id", "additionalProperties"):
            form.pop(key, None)
        for field in ("image", "mask"):
            if field in form["properties"]:
                form["properties"][field] = {"type": "string", "contentMediaType": "image/png"}
        schemas[kind] = form
        return {"required": True, "content": {MULTIPART_MEDIA_TYPE: {"schema": ref(kind)}}}
    if endpoint.name == "chat.completions.update":
        schemas["UpdateChatCompletion"] = {
            "type": "object",
            "required": ["metadata"],
            "properties": {"metadata": {"anyOf": [ref("Metadata"), {"type": "null"}]}},
        }
        return {"required": True, "content": {JSON_MEDIA_TYPE: {"schema": ref("UpdateChatCompletion")}}}
    return None


def _component(schema: dict[str, Any], name: str, state: "AppState", dialect: str) -> dict[str, Any]:
    """A request schema as a component: no ``$id`` (it would rebase refs), local refs made document-wide.

    Where the dialect serves only its catalog's models, ``model`` lists them: any
    other id is a 404, which the document says, and a fuzzer reaches the 200s.
    """
    component = copy.deepcopy(schema)
    component.pop("$id", None)
    component.pop("$schema", None)
    text = orjson.dumps(component).decode().replace('"#/$defs/', f'"#/components/schemas/{name}/$defs/')
    component = orjson.loads(text)
    served = state.dialects[dialect]
    if not served.accept_any_model and "model" in component.get("properties", {}):
        component["properties"]["model"] = {"type": "string", "enum": sorted(served.catalog.models)}
    return component


# Where the live API is known to answer outside the official schema, and the mock answers as the API does.
NULLABLE_ID = {"type": ["string", "null"]}
OFFICIAL_PATCHES: dict[str, dict[str, Any]] = {
    # An empty page has no first or last item: the API sends null for both.
    "ChatCompletionList": {"first_id": NULLABLE_ID, "last_id": NULLABLE_ID},
    "ChatCompletionMessageList": {"first_id": NULLABLE_ID, "last_id": NULLABLE_ID},
    # encoding_format=base64 answers the vector as a base64 string of float32s (the SDK decodes it).
    "Embedding": {"embedding": {"anyOf": [{"type": "array", "items": {"type": "number"}},
                                          {"type": "string", "contentEncoding": "base64"}]}},
}


def _official_schemas() -> dict[str, Any]:
    text = orjson.dumps(official_document()["$defs"]).decode().replace('"#/$defs/', '"#/components/schemas/')
    schemas: dict[str, Any] = orjson.loads(text)
    for name, fields in OFFICIAL_PATCHES.items():
        schemas[name]["properties"].update(copy.deepcopy(fields))
    return schemas


_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}


def dataclass_schema(cls: type) -> dict[str, Any]:
    """The JSON shape of a dataclass's ``asdict``, read off its annotations (so it follows the class)."""
    properties = {}
    for item in dataclasses.fields(cls):
        properties[item.name] = _annotation_schema(str(item.type))
    return {"type": "object", "required": list(properties), "properties": properties}


def _annotation_schema(annotation: str) -> dict[str, Any]:
    if annotation == "Any":
        return {}
    kinds = [part.strip() for part in annotation.split("|")]
    types = []
    for kind in kinds:
        if kind == "None":
            types.append("null")
        elif kind.startswith("list["):
            types.append("array")
        elif kind.startswith("dict["):
            types.append("object")
        else:
            types.append(_TYPES[kind])
    return {"type": types[0] if len(types) == 1 else types}


def _admin_security(config: Config, own_view: bool) -> list[dict[str, list[str]]]:
    """The admin token when one is set; a route with a per-key view also takes an API key under --api-key."""
    schemes = [{"adminToken": []}] if config.admin_token else []
    if own_view and config.api_key:
        schemes.append({"bearer": []})
    return schemes


def _admin(summary: str, ok: dict[str, Any], *, body: str | None = None,
           query: list[dict[str, Any]] | None = None, own_view: bool = False) -> Any:
    def build(state: "AppState") -> dict[str, Any]:
        operation: dict[str, Any] = {
            "tags": ["admin"],
            "summary": summary,
            "security": _admin_security(state.config, own_view),
            "responses": {"200": copy.deepcopy(ok), **{status: ERROR_RESPONSE for status in ("400", "401", "404")}},
        }
        if query:
            operation["parameters"] = copy.deepcopy(query)
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {JSON_MEDIA_TYPE: {"schema": ref(body)}}}
            operation["responses"].update({status: ERROR_RESPONSE for status in ("413", "415")})
        return operation

    return build


def _public(summary: str, ok: dict[str, Any], statuses: tuple[str, ...] = ()) -> Any:
    def build(state: "AppState") -> dict[str, Any]:
        responses = {"200": copy.deepcopy(ok), **{status: ERROR_RESPONSE for status in statuses}}
        return {"tags": ["admin"], "summary": summary, "security": [], "responses": responses}

    return build


IMAGE_FILE = {
    "description": "The picture an image URL points to",
    "content": {media: {"schema": {"type": "string", "contentMediaType": media}}
                for media in ("image/png", "image/jpeg", "image/webp")},
}
ROOT_OPERATIONS: dict[tuple[str, str], Any] = {
    ("/_mock/requests", "GET"): _admin(
        "The journal, oldest first (only the caller's key's requests when --api-key is set, unless the admin "
        "token is sent)",
        _json(ref("ExchangeList")),
        query=[
            {"name": "path", "in": "query", "schema": {"type": "string"}},
            {"name": "model", "in": "query", "schema": {"type": "string"}},
            {"name": "status", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            {"name": "test_id", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        ],
        own_view=True,
    ),
    ("/_mock/script", "GET"): _admin("Pending scripted behaviours", _json(ref("ScriptList"))),
    ("/_mock/script", "POST"): _admin("Append scripted behaviours (all or none)", _json(ref("ScriptList")),
                                      body="Script"),
    ("/_mock/reset", "POST"): _admin("Forget scripts, journal, rate-limit buckets; restart chaos", _json(ref("Reset"))),
    ("/_mock/health", "GET"): _public("Liveness; always on, never needs a token", _json(ref("Health"))),
    ("/_mock/config", "GET"): _admin("The running configuration, secrets masked", _json(ref("Config"))),
    ("/_mock/files/images/{name}", "GET"): _public("An image a URL in an images response points to", IMAGE_FILE,
                                                   ("404",)),
    (OPENAPI_PATH, "GET"): _public("This document", _json({"type": "object"})),
}


def openapi_route(document: dict[str, Any]) -> Route:
    """``GET /openapi.json``: the document, encoded once."""
    encoded = orjson.dumps(document)

    async def serve(request: Request) -> Response:
        return Response(encoded, media_type=JSON_MEDIA_TYPE)

    return Route(OPENAPI_PATH, serve, methods=["GET"], name="openapi")
