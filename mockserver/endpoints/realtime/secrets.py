"""``POST /v1/realtime/client_secrets``: ephemeral keys (``ek_…``) a browser may open a session with.

A secret lives ``expires_after.seconds`` (600 by default, 10 to 7,200) on the mock's clock and carries the session
it was minted for (its ``model``, ``instructions``, ``output_modalities``, ``tools``, ``audio``…), which a session
opened with it starts from. Secrets are resources of the store (collection :data:`COLLECTION`), so a reset forgets
them and ``--state-dir`` keeps them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.determinism import Identity
from mockserver.endpoints.engine.request import SpecRequest
from mockserver.endpoints.realtime import events

if TYPE_CHECKING:
    from mockserver.app.state import AppState

COLLECTION = "/realtime/client_secrets"
PREFIX = "ek_"
DEFAULT_SECONDS = 600
SESSION_FIELDS = ("model", "instructions", "output_modalities", "tools", "tool_choice", "audio", "max_output_tokens",
                  "tracing", "truncation", "prompt", "include")


async def create_client_secret(request: SpecRequest) -> Response:
    state = request.state
    given_after, given_session = request.body.get("expires_after"), request.body.get("session")
    after: dict[str, Any] = given_after if isinstance(given_after, dict) else {}
    seconds = int(after.get("seconds") or DEFAULT_SECONDS)
    asked: dict[str, Any] = given_session if isinstance(given_session, dict) else {}
    salt = state.identity.salt(request.seed)
    expires_at = state.clock.created() + seconds
    if asked.get("type") == "transcription":  # a transcription session's secret: its own shape
        session: dict[str, Any] = {"type": "transcription", "id": Identity.make_id("sess_", salt, 21),
                                   "object": "realtime.transcription_session", "expires_at": expires_at}
        if isinstance(asked.get("audio"), dict):
            session["audio"] = asked["audio"]
    else:
        session = events.session_object(Identity.make_id("sess_", salt, 21),
                                        str(asked.get("model") or "gpt-realtime"), expires_at)
        session.update({name: asked[name] for name in SESSION_FIELDS if name in asked and name != "model"})
    value = Identity.make_id(PREFIX, salt, 40)
    state.stores.resources.put(COLLECTION, value, {"value": value, "expires_at": expires_at, "session": session})
    return json_response({"value": value, "expires_at": expires_at, "session": session})


def minted(state: AppState, key: str) -> dict[str, Any] | None:
    """The secret ``key`` is, while it has not expired on the mock's clock; None for any other key."""
    if not key.startswith(PREFIX):
        return None
    secret = state.stores.resources.get(COLLECTION, key)
    if secret is None or state.clock.now() >= secret["expires_at"]:
        return None
    return secret


RESPONDERS = {"create-realtime-client-secret": create_client_secret}

__all__ = ["COLLECTION", "RESPONDERS", "create_client_secret", "minted"]
