"""The app's one route table: every route by (method, path template), matched the same way for every family."""

from __future__ import annotations

import re
import threading
from types import FrameType

import httpx2
import pytest
from starlette.responses import Response

from mockserver import MockServer
from mockserver.app import create_app
from mockserver.asgi.dispatch import RouteTable
from mockserver.config import Config
from mockserver.endpoints.chat.completions import chat_completions
from mockserver.endpoints.engine.handler import handle
from mockserver.endpoints.responses.api import create_response


async def nothing(request: object) -> Response:
    return Response()


def table(*routes: tuple[str, str]) -> RouteTable:
    made = RouteTable()
    for method, path in routes:
        made.add(method, path, nothing, f"{method} {path}")
    return made


def test_a_literal_segment_wins_over_a_parameter_in_its_place() -> None:
    routes = table(("GET", "/v1/agents/{agent_id}"), ("GET", "/v1/agents/sessions"), ("POST", "/v1/agents/{agent_id}"))
    route, params, _ = routes.match("GET", "/v1/agents/sessions")
    assert route is not None and route.path == "/v1/agents/sessions" and params == {}
    route, params, _ = routes.match("GET", "/v1/agents/ag_1")
    assert route is not None and route.path == "/v1/agents/{agent_id}" and params == {"agent_id": "ag_1"}
    # The literal path has no POST: the parameter's route takes it, as the operation it is.
    route, params, _ = routes.match("POST", "/v1/agents/sessions")
    assert route is not None and route.path == "/v1/agents/{agent_id}" and params == {"agent_id": "sessions"}


def test_a_path_parameter_takes_the_rest_of_the_path() -> None:
    routes = table(("GET", "/v1/models/{model:path}"), ("GET", "/v1/models"))
    route, params, _ = routes.match("GET", "/v1/models/ft:gpt-4o:org:x/ckpt/1")
    assert route is not None and params == {"model": "ft:gpt-4o:org:x/ckpt/1"}
    assert routes.match("GET", "/v1/models/")[0] is None  # an empty rest is no model


def test_a_wrong_method_says_which_are_allowed_and_head_is_a_get() -> None:
    routes = table(("POST", "/v1/chat/completions"), ("GET", "/v1/files/{file_id}"), ("DELETE", "/v1/files/{file_id}"))
    assert routes.match("PUT", "/v1/chat/completions") == (None, {}, ("POST",))
    assert routes.match("PATCH", "/v1/files/f") == (None, {}, ("DELETE", "GET"))
    assert routes.match("GET", "/v1/nowhere") == (None, {}, ())
    route, _, _ = routes.match("HEAD", "/v1/files/f")
    assert route is not None and route.method == "GET"


def test_a_route_declared_twice_is_refused() -> None:
    routes = table(("GET", "/v1/files/{file_id}"))
    with pytest.raises(ValueError, match="declared twice"):
        routes.add("GET", "/v1/files/{file_id}", nothing, "again")
    with pytest.raises(ValueError, match="where another route names it"):
        routes.add("GET", "/v1/files/{id}/content", nothing, "renamed")


def test_every_family_shares_one_table_and_every_template_is_reachable() -> None:
    """Chat, the Responses API, a spec-engine operation and the admin API are all entries of the same table,
    and each entry is what the table gives back for a path made from its own template."""
    app = create_app(Config())
    routes = app.app.table.routes
    names = {route.name for route in routes}
    assert {"chat.completions", "responses.createResponse", "spec.createBatch", "health"} <= names
    for route in routes:
        concrete = re.sub(r"\{[^}]*\}", "x", route.path)  # a parameter's literal suffix stays: {model}:countTokens
        found, _, _ = app.app.table.match(route.method, concrete)
        assert found is not None, route
        assert found.method == route.method


def test_chat_responses_and_batches_reach_their_handler_through_the_same_frames() -> None:
    """From the protocol's ``run_asgi`` to the endpoint's handler over a real socket: the wire layer, the dispatcher
    and the pipeline, the same frames for chat, ``POST /v1/responses`` and a spec-engine operation (batches).
    The Responses API's responder is called by the engine's handler, one frame further."""
    targets = {chat_completions.__code__: "chat", handle.__code__: "engine", create_response.__code__: "responses"}
    stacks: dict[str, list[str]] = {}

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or frame.f_code not in targets or targets[frame.f_code] in stacks:
            return
        kind, names = targets[frame.f_code], []
        caller: FrameType | None = frame
        while caller is not None and caller.f_code.co_name != "run_asgi":
            names.append(caller.f_code.co_name)
            caller = caller.f_back
        stacks[kind] = names

    threading.setprofile(profile)
    try:
        with MockServer() as server:
            headers = {"Authorization": "Bearer sk"}
            httpx2.post(server.url + "/chat/completions", headers=headers,
                        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
            httpx2.post(server.url + "/responses", headers=headers, json={"model": "gpt-4o-mini", "input": "hi"})
            httpx2.post(server.url + "/batches", headers=headers, json={
                "input_file_id": "file-x", "endpoint": "/v1/chat/completions", "completion_window": "24h"})
    finally:
        threading.setprofile(None)
    path = ["run", "__call__", "__call__"]  # pipeline, dispatcher, wire layer: nothing of uvicorn's between
    assert stacks["chat"] == ["chat_completions", *path]
    assert stacks["engine"] == ["handle", *path]
    assert stacks["responses"] == ["create_response", "handle", *path]


def test_a_family_on_another_wire_answers_in_its_envelope_with_its_headers() -> None:
    """The recipe for a provider family: its endpoints name its Wire, and the pipeline answers errors in that
    envelope and stamps its headers, with no branch of its own."""
    from starlette.requests import Request as StarletteRequest

    from mockserver.app.pipeline import make_route_handler
    from mockserver.asgi.outgoing import Wire, json_response
    from mockserver.endpoints.base import Endpoint
    from mockserver.errors import ApiError

    def acme_error(error: ApiError) -> Response:
        return json_response({"type": "error", "error": {"type": error.type, "message": error.message}}, error.status)

    acme = Wire("acme", acme_error, "request-id", lambda ms: {"acme-version": "2023-06-01"})

    async def refuse(*args: object) -> Response:
        raise ApiError(529, "Overloaded", type="overloaded_error")

    app = create_app(Config(seed=1))
    state = app.state.mock
    endpoint = Endpoint("acme.messages", "acme", "POST", "/acme/messages", refuse, response="", wire=acme)
    handler = make_route_handler(state, state.dialects["openai"], endpoint)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    async def run() -> None:
        scope = {"type": "http", "method": "POST", "path": "/acme/messages", "headers": [
            (b"content-type", b"application/json"), (b"authorization", b"Bearer k")], "query_string": b"",
            "root_path": "", "scheme": "http", "server": ("127.0.0.1", 80)}
        response = await handler(StarletteRequest(scope, receive, send))
        await response(scope, receive, send)

    import asyncio

    asyncio.run(run())
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 529 and headers[b"acme-version"] == b"2023-06-01"
    assert headers[b"request-id"].startswith(b"req_") and b"x-request-id" not in headers
    assert b"openai-version" not in headers
    assert sent[1]["body"] == b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
