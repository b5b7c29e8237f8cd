"""The mock's own OpenAPI 3.1 document, served without a key at ``GET /openapi.json``.

It is built once at start-up from the very tables the app mounts: every
(prefix, dialect) pair of ``AppState.mounts()`` times the dialect's groups of
``ENDPOINT_GROUPS``, plus the root routes (:data:`mockserver.app.admin.ADMIN_ROUTES`). Request
bodies are the schemas the server validates with (``schemas/requests`` plus the
dialect overlay, as ``AppState.validator`` compiled them); response bodies are
OpenAI's official schemas (``conformance.official_document()``), and the few
shapes OpenAI has no schema for (Serika's jobs, characters and legacy text, the
admin API) are written here. The root routes are described by the same rows
they are mounted from, so the document cannot fall behind them; a test also
walks the router and checks every route against it.

Statuses are listed per operation as the pipeline produces them. Injected
faults (``X-Mock-Fault``, scripts, rules, ``--fault``) can answer any status in
the same error envelope; the control headers are described in ``info`` rather
than as parameters, so a generic fuzzer does not ask the mock to hang.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from mockserver._version import __version__
from mockserver.app.admin import ADMIN_ROUTES, IMAGE_MEDIA, Access, AdminRoute
from mockserver.asgi.outgoing import JSON_MEDIA_TYPE, OPENAI_VERSION, SSE_MEDIA_TYPE
from mockserver.config import Config
from mockserver.conformance import official_document
from mockserver.endpoints import endpoints_for
from mockserver.endpoints.base import Endpoint, Stream
from mockserver.endpoints.forms import MULTIPART_MEDIA_TYPE
from mockserver.endpoints.images.edits import form_validator
from mockserver.generation import media
from mockserver.journal import LISTED_FIELDS
from mockserver.resources import schemas_dir

if TYPE_CHECKING:
    from mockserver.app.state import AppState

SPEC_TAG = "spec-engine"
# The admin routes --no-control turns off (they answer 404): left out of the document then.
CONTROL_ROUTES = frozenset(row.path for row in ADMIN_ROUTES if row.access in (Access.CONTROL, Access.OWN_VIEW))
OPENAPI = "3.1.0"
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON_MEDIA_TYPE: {"schema": schema}}}


def _sse_event(stream: Stream) -> dict[str, Any]:
    """One server-sent event as OpenAPI 3.1 tooling reads a ``text/event-stream`` schema.

    ``data`` is JSON (``contentMediaType``) valid against one of the stream's
    components, or the literal ``[DONE]`` that ends a chat stream.
    """
    event = _event_envelope({"anyOf": [ref(name) for name in stream.data]})
    if stream.events is not None:
        event["properties"]["event"] = {"type": "string", "enum": list(stream.events)}
    return event


def _event_envelope(data_schema: dict[str, Any]) -> dict[str, Any]:
    payload = {"type": "string", "contentMediaType": JSON_MEDIA_TYPE, "contentSchema": data_schema}
    return {"type": "object", "required": ["data"], "properties": {"data": {"anyOf": [{"const": "[DONE]"}, payload]}}}


def _ok(endpoint: Endpoint) -> dict[str, Any]:
    """The 200 an endpoint answers: its JSON component, and its event stream where it streams (no content for an
    endpoint that answers none: ``response=""``)."""
    if not endpoint.response:
        return {"description": "OK, with no body"}
    if endpoint.media_type is not None:  # JSON lines, each one a ``response``
        return {"description": f"OK: one {endpoint.response} (as JSON) a line", "content": {endpoint.media_type: {
            "schema": {"type": "string"}}}}
    response = _json(ref(endpoint.response))
    stream = endpoint.stream
    if stream is not None and stream.media_type != SSE_MEDIA_TYPE:
        kinds = " or ".join(stream.data)
        response["content"][stream.media_type] = {"schema": {
            "type": "string", "description": f"JSON lines, each line one {kinds}"}}
        response["description"] = "OK: JSON, or a stream of JSON lines"
    elif stream is not None:
        response["content"][SSE_MEDIA_TYPE] = {"schema": _sse_event(stream)}
        response["description"] = "OK: JSON, or server-sent events with `stream: true`"
    return response


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



def build_document(state: AppState) -> dict[str, Any]:
    """The document for this server: its mounts, its configuration, its routes."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for prefix, dialect in state.mounts():
        for endpoint in endpoints_for(dialect.endpoints):
            item = paths.setdefault(openapi_path(prefix + endpoint.path), {})
            item[endpoint.method.lower()] = _operation(state, prefix, dialect.name, endpoint, schemas)
    for dialect in state.dialects.values():  # what a provider also serves on the default mount (Anthropic's SDK)
        if not dialect.on_default_mount or dialect.name == state.config.dialect:
            continue
        for endpoint in endpoints_for(dialect.on_default_mount):
            item = paths.setdefault(openapi_path("/v1" + endpoint.path), {})
            taken = item.get(endpoint.method.lower())
            if taken is None:
                item[endpoint.method.lower()] = _operation(state, "/v1", dialect.name, endpoint, schemas)
            else:
                taken["description"] = (f"With the `{dialect.version_header}` header, {dialect.title}'s "
                                        f"{endpoint.name} instead (as at {dialect.mount_path}{endpoint.path}).")
    for row in ADMIN_ROUTES:
        if state.config.control or row.access in (Access.PUBLIC, Access.TOKEN):
            paths.setdefault(openapi_path(row.path), {})[row.method.lower()] = _root_operation(state.config, row)
    schemas.update(_official_schemas())
    schemas.update(mock_components())
    schemas.update(vendored_answers(state))
    schemas["Exchange"] = fields_schema(LISTED_FIELDS)
    schemas["ExchangeDetail"] = {"allOf": [ref("Exchange"), {
        "type": "object", "required": ["response", "response_cut", "frames", "marks"],
        "properties": {"response": {"type": "string"}, "response_cut": {"type": "boolean"},
                       "frames": {"type": "array", "items": {"type": "object", "required": ["ms", "data"]}},
                       "marks": {"type": "array", "items": {"type": "object", "required": ["fault", "chunk", "ms"]}}},
    }]}
    schemas["Explanation"] = {"type": "object", "required": ["id", "decided_by", "nearest"], "properties": {
        "id": {"type": "integer"}, "decided_by": {"type": ["string", "null"]},
        "nearest": {"type": "array", "items": {"type": "object", "required": ["source", "failed"]}}}}
    schemas["RateLimits"] = {"type": "object", "required": ["rpm", "tpm", "buckets"], "properties": {
        "rpm": {"type": ["integer", "null"]}, "tpm": {"type": ["integer", "null"]},
        "buckets": {"type": "array", "items": {"type": "object"}}}}
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
                "keyHeader": {"type": "apiKey", "in": "header", "name": "x-api-key",
                              "description": "Anthropic's key header, on its endpoints"},
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


def _spec_media(media: dict[str, Any]) -> dict[str, Any]:
    """A spec operation's media types and schemas, references made document-wide."""
    text = orjson.dumps({name: {"schema": schema} for name, schema in media.items()})
    converted: dict[str, Any] = orjson.loads(text.replace(b'"#/$defs/', b'"#/components/schemas/'))
    if SSE_MEDIA_TYPE in converted:  # the spec's stream schema is of an event's data
        converted[SSE_MEDIA_TYPE]["schema"] = _event_envelope(converted[SSE_MEDIA_TYPE]["schema"])
    return converted


def _operation(
    state: AppState, prefix: str, dialect: str, endpoint: Endpoint, schemas: dict[str, Any]
) -> dict[str, Any]:
    if endpoint.operation is not None:
        return _spec_operation(state, prefix, dialect, endpoint)
    ok = _ok(endpoint)
    statuses = ["400", "401", "404"]
    if endpoint.reads_body or endpoint.form is not None:
        statuses += ["413", "415"]
    if endpoint.generation:
        statuses.append("429")
    if state.dialects[dialect].tiers:
        statuses.append("403")
    responses = {"200": ok}
    _on_wire(state, dialect, endpoint, responses, statuses)
    operation: dict[str, Any] = {
        "operationId": f"{prefix.strip('/').replace('/', '_')}:{endpoint.name}",
        "tags": [dialect],
        "summary": f"{endpoint.name} ({dialect})",
        "security": _security(state, dialect),
        "responses": responses,
    }
    parameters = _path_parameters(endpoint.path) + copy.deepcopy(list(endpoint.query)) + _version(state, dialect)
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(state, dialect, endpoint, schemas)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _spec_operation(state: AppState, prefix: str, dialect: str, endpoint: Endpoint) -> dict[str, Any]:
    """An operation the spec engine answers, documented with the spec's own parameters and schemas."""
    operation = endpoint.operation
    assert operation is not None
    statuses = ["400", "401", "404", *(["413", "415"] if operation.request else []),
                *(["429"] if endpoint.generation else [])]
    content = _spec_media(operation.response_media)
    if operation.id == "createSpeech":  # the live API labels the audio by its format, not as octet-stream
        content.update((mime, {"schema": {"type": "string", "format": "binary"}}) for mime in media.audio_mimes())
    responses = {str(operation.status): {"description": "OK", "content": content}}
    _on_wire(state, dialect, endpoint, responses, statuses)
    documented: dict[str, Any] = {
        "operationId": f"{prefix.strip('/').replace('/', '_')}:{endpoint.name}",
        "tags": [dialect, SPEC_TAG],
        "summary": f"{operation.id} ({dialect}, answered by the spec engine)",
        "security": _security(state, dialect),
        "responses": responses,
    }
    query = [copy.deepcopy(parameter) for parameter in operation.parameters if parameter["in"] == "query"]
    documented["parameters"] = _path_parameters(endpoint.path) + orjson.loads(
        orjson.dumps(query).replace(b'"#/$defs/', b'"#/components/schemas/')) + _version(state, dialect)
    if operation.request:
        documented["requestBody"] = {"required": True, "content": _spec_media(operation.request)}
    return documented


def _on_wire(state: AppState, dialect: str, endpoint: Endpoint, responses: dict[str, Any], statuses: list[str]) -> None:
    """The error answers of ``statuses`` in the endpoint's envelope, and on every answer the headers its wire
    stamps (errors included)."""
    wire = endpoint.wire
    error = "ErrorResponse" if wire.name == "openai" else f"{wire.name}.ErrorResponse"
    responses.update((status, _json(ref(error), ERROR_STATUSES[status])) for status in sorted(statuses))
    common = COMMON_HEADERS if wire.name == "openai" else {wire.request_id_header: {
        "required": True, "schema": {"type": "string", "pattern": "^req_[0-9a-f]{32}$"}}}
    for response in responses.values():
        response["headers"] = copy.deepcopy(common)


def _security(state: AppState, dialect: str) -> list[dict[str, list[str]]]:
    schemes = ["bearer", "keyHeader"] if state.dialects[dialect].key_header else ["bearer"]
    return [{scheme: []} for scheme in schemes]


def _version(state: AppState, dialect: str) -> list[dict[str, Any]]:
    """The version header the dialect's API requires (``anthropic-version``), as a parameter."""
    header = state.dialects[dialect].version_header
    return [{"name": header, "in": "header", "required": True,
             "schema": {"type": "string", "const": "2023-06-01"}}] if header else []


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"\{(\w+)", path)
    ]


def _request_body(state: AppState, dialect: str, endpoint: Endpoint, schemas: dict[str, Any]) -> dict[str, Any] | None:
    if endpoint.schema is not None:
        name = f"{endpoint.schema.replace('/', '.')}.{dialect}"
        schemas[name] = _component(state.validator(endpoint.schema, dialect).schema, name, state, dialect)
        return _json_body(name)
    if endpoint.derived_from is not None and endpoint.derive_body is not None:
        name = f"{endpoint.name}.{dialect}"
        derived = _component(state.validator(endpoint.derived_from, dialect).schema, name, state, dialect)
        endpoint.derive_body(derived)
        schemas[name] = derived
        return _json_body(name)
    if endpoint.form is not None:
        form = copy.deepcopy(form_validator(endpoint.form, ignore_unknown=state.checks.ignore_unknown).schema)
        for key in ("$schema", "$id", "additionalProperties"):
            form.pop(key, None)
        for field in ("image", "mask"):
            if field in form["properties"]:
                form["properties"][field] = {"type": "string", "contentMediaType": "image/png"}
        schemas[endpoint.form] = form
        return {"required": True, "content": {MULTIPART_MEDIA_TYPE: {"schema": ref(endpoint.form)}}}
    if endpoint.request_component is not None:
        return _json_body(endpoint.request_component)
    return None


def _json_body(component: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON_MEDIA_TYPE: {"schema": ref(component)}}}


def vendored_answers(state: AppState) -> dict[str, Any]:
    """The answer components of the families on another provider's wire (``anthropic.Message``), from the schemas
    vendored from that provider's SDK (``schemas/anthropic/Message.json``), their errors' envelope included."""
    names = {f"{endpoint.wire.name}.ErrorResponse" for _, dialect in state.mounts()
             for endpoint in endpoints_for(dialect.endpoints) if endpoint.wire.name != "openai"}
    for _, dialect in state.mounts():
        for endpoint in endpoints_for(dialect.endpoints):
            named = [endpoint.response, *(endpoint.stream.data if endpoint.stream else ())]
            names.update(name for name in named if "." in name)
    components: dict[str, Any] = {}
    for name in sorted(names):
        provider, kind = name.split(".", 1)
        schema = orjson.loads((schemas_dir() / provider / f"{kind}.json").read_bytes())
        schema.pop("$schema", None)
        text = orjson.dumps(schema).decode().replace('"#/$defs/', f'"#/components/schemas/{name}/$defs/')
        components[name] = orjson.loads(text)
    return components


def mock_components() -> dict[str, Any]:
    """The mock's own components (``schemas/mock/components.json``), read afresh for each document."""
    components: dict[str, Any] = orjson.loads((schemas_dir() / "mock" / "components.json").read_bytes())["components"]
    return components


def _component(schema: dict[str, Any], name: str, state: AppState, dialect: str) -> dict[str, Any]:
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


def _official_schemas() -> dict[str, Any]:
    text = orjson.dumps(official_document()["$defs"]).decode().replace('"#/$defs/', '"#/components/schemas/')
    schemas: dict[str, Any] = orjson.loads(text)
    return schemas


_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}


def dataclass_schema(cls: type) -> dict[str, Any]:
    """The JSON shape of a dataclass's ``asdict``, read off its annotations (so it follows the class)."""
    return fields_schema([(item.name, str(item.type)) for item in dataclasses.fields(cls)])


def fields_schema(annotated: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The JSON shape of an object with these (name, annotation) fields, all of them present."""
    properties = {name: _annotation_schema(annotation) for name, annotation in annotated}
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


def _root_operation(config: Config, row: AdminRoute) -> dict[str, Any]:
    """The operation of one row of the admin table: its security and error statuses follow from its access."""
    if row.access is Access.PUBLIC:
        security: list[dict[str, list[str]]] = []
        statuses = row.statuses
    elif row.access is Access.TOKEN:
        security = [{"adminToken": []}, {"bearer": []}] if config.admin_token else []
        statuses = row.statuses
    else:
        security = [{"adminToken": []}] if config.admin_token else []
        if row.access is Access.OWN_VIEW and config.api_key:
            security.append({"bearer": []})
        statuses = ("400", "401", "404", *row.statuses)
    operation: dict[str, Any] = {"tags": ["admin"], "summary": row.summary, "security": security,
                                 "responses": {"200": _answer(row.answers),
                                               **{status: ERROR_RESPONSE for status in statuses}}}
    parameters = _path_parameters(row.path) + copy.deepcopy(list(row.query))
    if parameters:
        operation["parameters"] = parameters
    if row.body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON_MEDIA_TYPE: {"schema": ref(row.body)}}}
        operation["responses"].update({status: ERROR_RESPONSE for status in ("413", "415")})
    return operation


def _answer(answers: str) -> dict[str, Any]:
    if answers == IMAGE_MEDIA:
        return copy.deepcopy(IMAGE_FILE)
    if answers == "object":
        return _json({"type": "object"})
    if "/" in answers:
        return {"description": "OK", "content": {answers: {"schema": {"type": "string"}}}}
    return _json(ref(answers))


IMAGE_FILE = {
    "description": "The picture an image URL points to",
    "content": {media: {"schema": {"type": "string", "contentMediaType": media}}
                for media in ("image/png", "image/jpeg", "image/webp")},
}


class OpenApiDocument:
    """The document of one app, built on first use: building it costs more than the rest of start-up."""

    def __init__(self, state: AppState) -> None:
        self._state = state

    @cached_property
    def document(self) -> dict[str, Any]:
        return build_document(self._state)

    @cached_property
    def encoded(self) -> bytes:
        return orjson.dumps(self.document)


    async def serve(self, request: Request) -> Response:
        """``GET /openapi.json``: the document, built and encoded on the first request."""
        return Response(self.encoded, media_type=JSON_MEDIA_TYPE)
