"""Every endpoint the mock serves, declared once (:class:`~mockserver.endpoints.base.Endpoint`), by family.

One module (or subpackage) per API family; no family imports another (they share
:mod:`mockserver.services` and the spec engine, :mod:`mockserver.endpoints.engine`). The app mounts, for each
dialect, the endpoints of the groups its data lists (``fixtures/dialects.yaml``); the route table and the
OpenAPI document are built from the same tuple. A family whose operations are in OpenAI's spec declares them
through the engine with its responders; a dialect listing the ``spec`` group also serves every other operation
of the spec, through the engine's fallback, and one listing ``anthropic_api`` every operation of Anthropic's
API beyond the Messages family, on the wire that family gives the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mockserver.endpoints import (
    anthropic,
    audio,
    chat,
    completions,
    embeddings,
    gemini,
    images,
    models,
    ollama,
    openai_rest,
    realtime,
    responses,
    serika,
)
from mockserver.endpoints.base import Call, Endpoint, Socket, Stream
from mockserver.endpoints.engine import API_GROUPS, Engine
from mockserver.endpoints.engine.operations import ANTHROPIC

if TYPE_CHECKING:
    from mockserver.app.state import AppState

ENGINE = Engine([*responses.LIFECYCLES, *openai_rest.LIFECYCLES], wires={ANTHROPIC: anthropic.WIRE})
ENDPOINTS: tuple[Endpoint, ...] = (
    *chat.ENDPOINTS,
    *models.ENDPOINTS,
    *embeddings.ENDPOINTS,
    *images.ENDPOINTS,
    *serika.ENDPOINTS,
    *anthropic.ENDPOINTS,
    *gemini.ENDPOINTS,
    *ollama.ENDPOINTS,
    *ENGINE.declare("responses", responses.RESPONDERS),
    *ENGINE.declare("audio", audio.RESPONDERS),
    *ENGINE.declare("completions", completions.RESPONDERS),
    *ENGINE.declare("realtime", realtime.RESPONDERS),
)
SOCKETS: tuple[Socket, ...] = realtime.SOCKETS
GROUPS: frozenset[str] = frozenset(endpoint.group for endpoint in ENDPOINTS) | {socket.group for socket in SOCKETS} \
    | set(API_GROUPS)


def endpoints_for(groups: Iterable[str]) -> list[Endpoint]:
    """The endpoints of ``groups``, group by group (sorted), each group in declaration order; with an API's group
    (``spec``, ``anthropic_api``), after the families' operations, every other operation of that API (the
    fallback)."""
    wanted = sorted(set(groups))
    declared = [endpoint for group in wanted for endpoint in ENDPOINTS if endpoint.group == group]
    for group in wanted:
        if group in API_GROUPS:
            declared += ENGINE.fallback(group, declared)
    return declared


def sockets_for(groups: Iterable[str]) -> list[Socket]:
    """The WebSocket operations of ``groups``."""
    return [socket for socket in SOCKETS if socket.group in groups]


def install(state: AppState) -> None:
    """Let each family register what it gives the shared services of ``state`` (models it makes)."""
    openai_rest.install(state)


__all__ = ["ENDPOINTS", "ENGINE", "GROUPS", "SOCKETS", "Call", "Endpoint", "Socket", "Stream", "endpoints_for",
           "install", "sockets_for"]
