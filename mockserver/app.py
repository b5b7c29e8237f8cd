"""The application factory: ``create_app(config)`` builds the whole mock.

All state lives in one :class:`AppState` owned by the app (no module
globals), so several servers can run in one process, e.g. under pytest.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from mockserver.endpoints.serika import characters, jobs, legacy

from mockserver.endpoints.chat import completions as endpoints, stored

from mockserver.endpoints.images import edits as image_edits, generations as images

from mockserver import openapi
from mockserver.admin import admin_routes
from mockserver.dialects.catalog import load_catalogs, load_characters
from mockserver.generation.chat import ChatGenerator, ChatSettings
from mockserver.config import Config
from mockserver.control.plane import Control, install
from mockserver.control.decision import NOTHING, Decision
from mockserver.determinism import Identity
from mockserver.asgi.dispatch import Dispatcher
from mockserver.dialects.dialect import Dialect, load_dialects
from mockserver.errors import ApiError
from mockserver.journal import Journal
from mockserver.storage.sqlite import open_stores
from mockserver.pipeline import OPENAI_VERSION, Call, Endpoint, add_headers, error_response, make_route_handler
from mockserver.validation import BodyValidator, validator_for
from mockserver.asgi.wire import WireLayer

log = logging.getLogger("mockserver")

SCHEMA_KINDS = ("chat_completion", "embeddings", "image_generation")

# Endpoint groups a dialect can document: path, methods, endpoint.
ENDPOINT_GROUPS: dict[str, list[tuple[str, list[str], Endpoint]]] = {
    "chat": [("/chat/completions", ["POST"], endpoints.CHAT)],
    "models": [
        ("/models", ["GET"], endpoints.MODELS),
        ("/models/{model:path}", ["GET"], endpoints.MODEL),
        ("/models/{model:path}", ["DELETE"], endpoints.MODEL_DELETE),
    ],
    "embeddings": [("/embeddings", ["POST"], endpoints.EMBEDDINGS)],
    "stored_completions": [
        ("/chat/completions", ["GET"], stored.LIST),
        ("/chat/completions/{completion_id}", ["GET"], stored.RETRIEVE),
        ("/chat/completions/{completion_id}", ["POST"], stored.UPDATE),
        ("/chat/completions/{completion_id}", ["DELETE"], stored.DELETE),
        ("/chat/completions/{completion_id}/messages", ["GET"], stored.MESSAGES),
    ],
    "images": [("/images/generations", ["POST"], images.GENERATIONS)],
    "image_edits": [
        ("/images/edits", ["POST"], image_edits.EDITS),
        ("/images/variations", ["POST"], image_edits.VARIATIONS),
    ],
    "jobs": [("/jobs/image", ["POST"], jobs.CREATE_IMAGE_JOB), ("/jobs/{job_id}", ["GET"], jobs.RETRIEVE_JOB)],
    "legacy": [("/generate/text", ["POST"], legacy.TEXT), ("/generate/image", ["POST"], legacy.IMAGE)],
    "characters": [
        ("/characters", ["GET"], characters.CHARACTERS),
        ("/characters/{character_id}", ["GET"], characters.CHARACTER),
    ],
}


class AppState:
    """Everything one mock server knows: config, catalogs, validators, journal, control plane."""

    control: Control  # set by control.install(), which needs the finished state

    def __init__(self, config: Config) -> None:
        self.config = config
        self.identity = Identity(config.seed, config.freeze_time)
        self.catalogs = load_catalogs()
        self.dialects = load_dialects(self.catalogs)
        if config.dialect not in self.dialects:
            raise ValueError(f"unknown dialect {config.dialect!r}; known: {', '.join(self.dialects)}")
        self.characters = load_characters()
        self.chat = ChatGenerator(self.identity, ChatSettings(config.reply_range))
        self.journal = Journal(config.journal_size)
        # Stored completions and async jobs: in memory, or on disk with --state-dir (they survive a restart).
        self.stored, self.jobs = open_stores(config.state_dir)
        # Contract-test mode: unknown stored completions and models are synthesized, not 404.
        self.synthesize_missing = config.validation == "schema"
        self.deleted_models: set[str] = set()
        self.decide: Callable[[Call, Any], Decision] = lambda call, body: NOTHING
        self._validators: dict[tuple[str, str], BodyValidator] = {
            (kind, name): validator_for(kind, name, ignore_unknown=config.validation == "schema")
            for kind in SCHEMA_KINDS
            for name in self.dialects
        }
        self._keys = set(config.api_key) | set(config.free_key) | set(config.premium_key)
        self._free_keys = set(config.free_key)

    def validator(self, kind: str, dialect: str) -> BodyValidator:
        return self._validators[(kind, dialect)]

    def authenticate(self, call: Call) -> None:
        """401 without a usable key; 403 for free-tier keys on generation endpoints."""
        key = call.api_key
        if not key:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if self.config.api_key and key not in self._keys:
            raise ApiError(
                401,
                f"Incorrect API key provided: {_mask(key)}. Use one of the keys the mock was started with (--api-key).",
                code="invalid_api_key",
            )
        if call.endpoint.generation and self.is_free_tier(call):
            raise ApiError(
                403,
                "Free tier keys cannot use AI generation endpoints; the free tier only includes character "
                "information. Upgrade to the premium tier to call this endpoint.",
                type="insufficient_tier",
                code="premium_required",
            )

    def is_free_tier(self, call: Call) -> bool:
        """A configured free-tier key on a dialect with tiers (Serika); unknown keys are treated as premium."""
        return call.dialect.tiers and call.api_key in self._free_keys

    def mounts(self) -> list[tuple[str, Dialect]]:
        """Every (path prefix, dialect) pair the app serves, default dialect first at /v1."""
        pairs = [("/v1", self.dialects[self.config.dialect])]
        for dialect in self.dialects.values():
            pairs.append((dialect.mount_path, dialect))
            pairs.extend((path, dialect) for path in dialect.also_at)
        return pairs


def _mask(key: str) -> str:
    return key[:3] + "*" * 8 + key[-4:] if len(key) > 10 else "*" * len(key)


def dialect_routes(state: AppState, dialect: Dialect) -> list[BaseRoute]:
    return [
        Route(path, make_route_handler(state, dialect, endpoint), methods=methods, name=endpoint.name)
        for group in sorted(dialect.endpoints)
        for path, methods, endpoint in ENDPOINT_GROUPS.get(group, ())
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = ApiError(404, f"Invalid URL ({request.method} {request.url.path})", code="unknown_url")
    elif exc.status_code == 405:
        error = ApiError(
            405,
            f"Method {request.method} is not allowed for {request.url.path}.",
            code="method_not_allowed",
            headers=dict(exc.headers or {}),
        )
    else:
        error = ApiError(exc.status_code, str(exc.detail))
    return _with_provider_headers(request, error_response(error))


def _with_provider_headers(request: Request, response: Response) -> Response:
    """The headers every answer of the real API carries; the pipeline adds them to the endpoints' own answers,
    this to the router's (an unknown URL, a wrong method), so no answer of a dialect path lacks them."""
    identity = request.app.state.mock.identity
    request_id = identity.request_id(identity.salt(request.url.path.encode()))
    add_headers(response, {"openai-version": OPENAI_VERSION, "openai-processing-ms": "0", "x-request-id": request_id})
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        ApiError(500, f"The mock server had an internal error: {type(exc).__name__}. This is a mockserver bug; "
                 "please report it with the request.", type="server_error", code="internal_error")
    )


def create_app(config: Config | None = None) -> WireLayer:
    """Build the mock for ``config`` (defaults if None). ``app.state.mock`` is its :class:`AppState`,
    ``app.state.openapi`` the document it serves at ``/openapi.json``.

    The Starlette app is wrapped in the wire layer, which journals every
    request and carries out stream and socket faults.
    """
    state = AppState(config or Config())
    control = install(state)
    routes: list[BaseRoute] = [Mount(prefix, routes=dialect_routes(state, dialect)) for prefix, dialect in state.mounts()]
    # Image URLs point here: public like a provider's signed CDN link, so no key is needed.
    routes.insert(0, Route("/_mock/files/images/{name}", images.serve_file, methods=["GET"], name=images.FILE_ROUTE))
    routes[:0] = admin_routes(control)
    # The self-description is built from the same tables, once, so it cannot drift from the routes.
    document = openapi.build_document(state, ENDPOINT_GROUPS, routes)
    routes.insert(0, openapi.openapi_route(document))
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.mock = state
    app.state.openapi = document
    return WireLayer(Dispatcher(app), state)
