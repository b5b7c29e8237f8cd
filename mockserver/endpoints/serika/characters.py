"""Serika's characters: ``GET /characters`` and ``GET /characters/{id}``.

The personas of ``fixtures/characters.yaml``, the same ones ``character_id`` makes
a chat reply speak as. These are not generation endpoints, so free-tier keys may
call them; per Serika's docs ("only limited character information is free") they
see only the characters marked ``free``, and a premium character is a 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint
from mockserver.errors import ApiError

if TYPE_CHECKING:
    from mockserver.app.state import AppState


def character_not_found(character_id: str, param: str | None = None) -> ApiError:
    return ApiError(
        404,
        f"Character '{character_id}' not found. List the available ids with GET /characters.",
        param=param,
        code="character_not_found",
    )


async def list_characters(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    free_only = state.keys.is_free_tier(call.api_key, call.dialect)
    data = [character.as_object() for character in state.characters.values() if character.free or not free_only]
    return json_response({"object": "list", "data": data})


async def retrieve_character(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    character_id = call.request.path_params["character_id"]
    character = state.characters.get(character_id)
    if character is None:
        raise character_not_found(character_id)
    if not character.free and state.keys.is_free_tier(call.api_key, call.dialect):
        raise ApiError(
            403,
            f"Character '{character_id}' is only available to premium keys; the free tier includes only the "
            "characters marked free.",
            type="insufficient_tier",
            code="premium_required",
        )
    return json_response(character.as_object())


ENDPOINTS = (
    Endpoint("characters.list", "characters", "GET", "/characters", list_characters, response="CharacterList",
             reads_body=False),
    Endpoint("characters.retrieve", "characters", "GET", "/characters/{character_id}", retrieve_character,
             response="Character", reads_body=False),
)
