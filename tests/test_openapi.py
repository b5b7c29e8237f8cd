"""The mock's own OpenAPI 3.1 document (``GET /openapi.json``): valid, complete, and the same tables as the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import schemathesis
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver import MockServer
from mockserver.app.assembly import create_app
from mockserver.app.openapi import CONTROL_ROUTES, openapi_path
from mockserver.asgi.dispatch import WEBSOCKET
from mockserver.config import Config
from mockserver.conformance import official_document
from mockserver.validation import validator_for

METHODS = {"get", "post", "delete", "put", "patch"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Config()).state.openapi.document


def routed(app: Any) -> set[tuple[str, str]]:
    """Every (path, method) the app's route table answers over HTTP, in OpenAPI spelling (OpenAPI has no words for
    a WebSocket session: the Realtime API's is documented in docs/realtime.md)."""
    return {(openapi_path(route.path), route.method.lower()) for route in app.app.table.routes
            if route.method != WEBSOCKET}


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_served_without_a_key_and_equal_to_the_built_document() -> None:
    with MockServer(api_key=["sk-only"]) as server:
        response = httpx2.get(server.origin + "/openapi.json")
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert response.json() == server.app.state.openapi.document


@pytest.mark.server_thread_coverage  # the validators walk the document (built in the fixture, traced)
def test_valid_openapi_31(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI 3.1 meta-schema
    # Every schema compiles and every $ref resolves inside the document.
    registry = Registry().with_resource("urn:doc", Resource.from_contents(document, default_specification=DRAFT202012))
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        Draft202012Validator({"$ref": f"urn:doc#/components/schemas/{name}"}, registry=registry).is_valid({})


@pytest.mark.parametrize("settings", [{}, {"dialect": "samurai"}, {"control": False}, {"admin_token": "t"}])
def test_every_route_is_documented_and_nothing_else(settings: dict[str, Any]) -> None:
    """Every route that answers is documented; under --no-control the admin routes only say they are off (404)."""
    app = create_app(Config(**settings))
    answering = {(path, method) for path, method in routed(app) if settings.get("control", True)
                 or path not in CONTROL_ROUTES}
    assert answering == documented(app.state.openapi.document)


def test_every_dialect_mount_is_described(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for prefix in ("/v1", "/openai/v1", "/serika/api/openai/v1", "/api/openai/v1", "/openserv/v1", "/samurai/v1"):
        assert "post" in paths[prefix + "/chat/completions"] and "get" in paths[prefix + "/models/{model}"]
    assert "/serika/api/openai/v1/jobs/{job_id}" in paths and "/openserv/v1/embeddings" not in paths
    assert {"/_mock/requests", "/_mock/script", "/_mock/reset", "/_mock/health", "/_mock/config"} <= set(paths)
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values() if "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))


def test_request_schemas_are_the_validators_schemas(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    chat = paths_body(document, "/samurai/v1/chat/completions")
    assert chat == {"$ref": "#/components/schemas/chat_completion.samurai"}
    samurai = schemas["chat_completion.samurai"]
    assert samurai["properties"]["n"]["maximum"] == 128  # the samurai overlay, as the server validates it
    expected = validator_for("chat_completion", "samurai").schema
    assert set(samurai["properties"]) == set(expected["properties"])
    # Closed catalogs list their models; the open openai dialect takes any id.
    assert "gpt-4o" in schemas["chat_completion.samurai"]["properties"]["model"]["enum"]
    assert "enum" not in schemas["chat_completion.openai"]["properties"]["model"]
    assert "character_id" in schemas["chat_completion.serika"]["properties"]
    edit = document["paths"]["/openai/v1/images/edits"]["post"]["requestBody"]["content"]
    assert set(edit) == {"multipart/form-data"}


def paths_body(document: dict[str, Any], path: str) -> dict[str, Any]:
    return document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


def test_response_schemas_are_the_official_ones(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    official = official_document()["$defs"]
    assert set(official) <= set(schemas)
    assert schemas["CreateChatCompletionResponse"]["required"] == official["CreateChatCompletionResponse"]["required"]
    chat = document["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert chat["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateChatCompletionResponse"
    }
    assert "text/event-stream" in chat["200"]["content"] and "x-request-id" in chat["200"]["headers"]
    assert chat["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "429" in chat and "x-request-id" in chat["404"]["headers"]
    assert "403" in document["paths"]["/serika/api/openai/v1/chat/completions"]["post"]["responses"]


def test_security_follows_the_configuration() -> None:
    plain = create_app(Config()).state.openapi.document["paths"]
    assert plain["/v1/models"]["get"]["security"] == [{"bearer": []}]
    assert plain["/_mock/config"]["get"]["security"] == [] and plain["/openapi.json"]["get"]["security"] == []
    guarded = create_app(Config(admin_token="t", api_key=["k"])).state.openapi.document["paths"]
    assert guarded["/_mock/config"]["get"]["security"] == [{"adminToken": []}]
    assert guarded["/_mock/requests"]["get"]["security"] == [{"adminToken": []}, {"bearer": []}]
    assert guarded["/_mock/health"]["get"]["security"] == []


@pytest.fixture(scope="module")
def served() -> Iterator[MockServer]:
    with MockServer(seed=2) as server:
        yield server


def test_real_responses_validate_against_the_document(served: MockServer, document: dict[str, Any]) -> None:
    """A few real answers, checked with the document as the only schema source (schemathesis does the rest)."""
    registry = Registry().with_resource("urn:doc", Resource.from_contents(document, default_specification=DRAFT202012))

    def check(path: str, method: str, response: httpx2.Response) -> None:
        spec = document["paths"][path][method]["responses"][str(response.status_code)]
        if "$ref" in spec:  # the admin routes share one error response
            spec = document["components"]["responses"]["Error"]
        schema = spec["content"]["application/json"]["schema"]
        ref = {"$ref": "urn:doc" + schema["$ref"]}
        errors = list(Draft202012Validator(ref, registry=registry).iter_errors(response.json()))
        assert not errors, f"{method.upper()} {path}: {errors[0].message}"

    with httpx2.Client(base_url=served.origin, headers={"Authorization": "Bearer sk-doc"}) as http:
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}], "store": True}
        check("/v1/chat/completions", "post", http.post("/v1/chat/completions", json=chat))
        check("/v1/chat/completions", "get", http.get("/v1/chat/completions"))
        check("/v1/models/{model}", "get", http.get("/v1/models/nope"))
        check("/serika/api/openai/v1/characters", "get", http.get("/serika/api/openai/v1/characters"))
        job = http.post("/serika/api/openai/v1/jobs/image", json={"prompt": "a fox", "size": "256x256"})
        check("/serika/api/openai/v1/jobs/image", "post", job)
        check("/serika/api/openai/v1/generate/text", "post",
              http.post("/serika/api/openai/v1/generate/text", json={"prompt": "Hi", "model": "openai/gpt-4o-mini"}))
        check("/_mock/requests", "get", http.get("/_mock/requests"))
        check("/_mock/config", "get", http.get("/_mock/config"))


def test_router_errors_carry_the_documented_headers(served: MockServer) -> None:
    """An id with a '/' matches no route: the router's 404 still has the headers every answer documents."""
    headers = {"Authorization": "Bearer sk-doc"}
    for response in (
        httpx2.post(served.url + "/chat/completions/a%2Fb", json={"metadata": {}}, headers=headers),
        httpx2.put(served.url + "/chat/completions", headers=headers),
    ):
        assert response.status_code in (404, 405) and response.json()["error"]["code"] in ("unknown_url",
                                                                                             "method_not_allowed")
        assert response.headers["x-request-id"].startswith("req_") and response.headers["openai-version"]
